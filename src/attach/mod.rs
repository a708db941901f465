//! Attachments (`chat -a PATH`): what a file is (by its bytes, not its
//! name), the limits checked before anything is sent, the input tokens an
//! image or PDF is estimated to cost, and the store that keeps each
//! attachment's bytes once, by hash, in the data dir's `attachments/`.
//!
//! Text files become fenced, labelled context in the message itself (and
//! are screened with it); images and PDFs travel as
//! [`crate::llm::Attachment`]s, and a conversation file records them by
//! name, type, size and hash.

pub mod estimate;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::llm::provider::ProviderKind;
use crate::llm::Attachment;

/// The largest attachment read at all (the largest PDF the APIs take).
pub const MAX_ATTACHMENT_BYTES: u64 = 32 * 1024 * 1024;
/// The largest text file attached as context.
pub const MAX_TEXT_BYTES: u64 = 1024 * 1024;
/// The most attachments on one message.
pub const MAX_ATTACHMENTS: usize = 20;
/// The most pages of a PDF (Anthropic's limit).
pub const MAX_PDF_PAGES: u64 = 100;

/// What an attached file turned out to be.
#[derive(Clone, Debug)]
pub enum Loaded {
    /// UTF-8 text, sent as fenced context in the message.
    Text {
        /// The path as given.
        name: String,
        /// The text.
        text: String,
    },
    /// An image or PDF, sent as its own part.
    Binary {
        /// The attachment (with its data).
        attachment: Attachment,
        /// Its bytes, for the store.
        bytes: Arc<Vec<u8>>,
    },
}

/// Why a file cannot be attached.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// It could not be read.
    #[error("reading {name}: {source}")]
    Read {
        /// The path as given.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// It is larger than the limit for its kind.
    #[error("{name} is {size} bytes; {what} may be at most {limit} bytes")]
    TooLarge {
        /// The path as given.
        name: String,
        /// Its size (or a lower bound).
        size: u64,
        /// The limit.
        limit: u64,
        /// What kind of attachment the limit is for.
        what: String,
    },
    /// It is not text, a known image format or a PDF.
    #[error("{name} is neither UTF-8 text, an image (PNG, JPEG, WebP, GIF) nor a PDF")]
    UnknownType {
        /// The path as given.
        name: String,
    },
    /// The image header could not be read.
    #[error("{name} looks like {media_type} but its size cannot be read: {message}")]
    BadImage {
        /// The path as given.
        name: String,
        /// What the first bytes say it is.
        media_type: &'static str,
        /// The decoder's complaint.
        message: String,
    },
    /// The provider's API cannot take this kind of attachment.
    #[error("{name}: {reason}")]
    Unsupported {
        /// The path as given.
        name: String,
        /// Why not, and what would.
        reason: String,
    },
    /// Too many files on one message.
    #[error("{count} attachments; one message takes at most {MAX_ATTACHMENTS}")]
    TooMany {
        /// How many were given.
        count: usize,
    },
    /// The store could not keep the bytes.
    #[error("keeping {name} in {}: {source}", dir.display())]
    Store {
        /// The path as given.
        name: String,
        /// The store's directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The media type the first bytes announce, if they are an image or PDF.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// Reads `name` (a path, or `-` for stdin) within the size limit.
pub fn read(name: &str) -> Result<Vec<u8>, AttachError> {
    let read_error = |source| AttachError::Read {
        name: name.to_string(),
        source,
    };
    let mut bytes = Vec::new();
    let limit = MAX_ATTACHMENT_BYTES + 1;
    if name == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    } else {
        let file = std::fs::File::open(name).map_err(read_error)?;
        if file.metadata().map_err(read_error)?.is_dir() {
            return Err(read_error(std::io::Error::other(
                "it is a directory; attach the files in it one by one",
            )));
        }
        file.take(limit)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    }
    within(name, &bytes, MAX_ATTACHMENT_BYTES, "an attachment")?;
    Ok(bytes)
}

/// Reads and checks `name` for a request to a `kind` API at `host`.
pub fn load(name: &str, kind: ProviderKind, host: &str) -> Result<Loaded, AttachError> {
    let bytes = read(name)?;
    let Some((media_type, estimated_tokens)) = estimate(name, &bytes, kind, host)? else {
        return text(name, bytes);
    };
    let attachment = Attachment {
        name: name.to_string(),
        media_type: media_type.to_string(),
        bytes: bytes.len() as u64,
        sha256: hex(&Sha256::digest(&bytes)),
        estimated_tokens,
        data: Some(
            base64::engine::general_purpose::STANDARD
                .encode(&bytes)
                .into(),
        ),
    };
    Ok(Loaded::Binary {
        attachment,
        bytes: Arc::new(bytes),
    })
}

/// For an image or PDF (`None` for anything else): its media type and
/// estimated input tokens on a `kind` API at `host`, once it passes that
/// API's limits.
pub fn estimate(
    name: &str,
    bytes: &[u8],
    kind: ProviderKind,
    host: &str,
) -> Result<Option<(&'static str, u64)>, AttachError> {
    let Some(media_type) = sniff(bytes) else {
        return Ok(None);
    };
    let tokens = if media_type == "application/pdf" {
        check_pdf(name, bytes, kind, host)?
    } else {
        check_image(name, bytes, media_type, kind)?
    };
    Ok(Some((media_type, tokens)))
}

/// An error when `bytes` are over `limit` for `what`.
fn within(name: &str, bytes: &[u8], limit: u64, what: &str) -> Result<(), AttachError> {
    if bytes.len() as u64 > limit {
        return Err(AttachError::TooLarge {
            name: name.to_string(),
            size: bytes.len() as u64,
            limit,
            what: what.to_string(),
        });
    }
    Ok(())
}

fn text(name: &str, bytes: Vec<u8>) -> Result<Loaded, AttachError> {
    within(name, &bytes, MAX_TEXT_BYTES, "a text attachment")?;
    match String::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => Ok(Loaded::Text {
            name: name.to_string(),
            text,
        }),
        _ => Err(AttachError::UnknownType {
            name: name.to_string(),
        }),
    }
}

/// Checks an image against the API's limits; returns its token estimate.
fn check_image(
    name: &str,
    bytes: &[u8],
    media_type: &'static str,
    kind: ProviderKind,
) -> Result<u64, AttachError> {
    let limit = match kind {
        ProviderKind::Anthropic => 5 * 1024 * 1024,
        // The local model is told only the attachment's name.
        ProviderKind::Openai | ProviderKind::OpenaiResponses | ProviderKind::Local => {
            20 * 1024 * 1024
        }
    };
    within(
        name,
        bytes,
        limit,
        &format!("an image for the {} API", kind_name(kind)),
    )?;
    let size = imagesize::blob_size(bytes).map_err(|err| AttachError::BadImage {
        name: name.to_string(),
        media_type,
        message: err.to_string(),
    })?;
    let (width, height) = (size.width as u64, size.height as u64);
    if width == 0 || height == 0 || width > 8000 || height > 8000 {
        return Err(AttachError::Unsupported {
            name: name.to_string(),
            reason: format!(
                "the image is {width}x{height} pixels; the APIs take 1 to 8000 on each side"
            ),
        });
    }
    Ok(match kind {
        ProviderKind::Anthropic => estimate::anthropic_image(width, height),
        ProviderKind::Openai | ProviderKind::OpenaiResponses | ProviderKind::Local => {
            estimate::openai_image(width, height)
        }
    })
}

/// Checks a PDF: the API must take documents, and the page count must be
/// within the limit; returns its token estimate.
fn check_pdf(name: &str, bytes: &[u8], kind: ProviderKind, host: &str) -> Result<u64, AttachError> {
    if kind.is_openai_style() && host != "api.openai.com" {
        return Err(AttachError::Unsupported {
            name: name.to_string(),
            reason: format!(
                "PDFs go to Anthropic's API or OpenAI's own; {host} is an OpenAI-compatible \
                 server that may not take them (convert it to text, e.g. with pdftotext, and attach that)"
            ),
        });
    }
    let pages = estimate::pdf_pages(bytes);
    if pages > MAX_PDF_PAGES {
        return Err(AttachError::Unsupported {
            name: name.to_string(),
            reason: format!(
                "the PDF has about {pages} pages; the APIs take at most {MAX_PDF_PAGES}"
            ),
        });
    }
    Ok(estimate::pdf(pages))
}

fn kind_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Anthropic => "Anthropic",
        ProviderKind::Openai | ProviderKind::OpenaiResponses => "OpenAI-style",
        ProviderKind::Local => "local model's",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A text attachment as fenced, labelled context: a fence longer than any
/// run of backticks in the text, so the text cannot close it.
pub fn fenced_text(name: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body = text.strip_suffix('\n').unwrap_or(text);
    format!("[attached file: {name}]\n{fence}\n{body}\n{fence}")
}

/// The attachments of one data dir: each one's bytes once, named by hash.
#[derive(Clone, Debug)]
pub struct AttachmentStore {
    dir: PathBuf,
}

impl AttachmentStore {
    /// The store of `data_dir/attachments/`.
    pub fn in_data_dir(data_dir: &Path) -> AttachmentStore {
        AttachmentStore {
            dir: data_dir.join("attachments"),
        }
    }

    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| self.dir.join(sha256))
    }

    /// Keeps `bytes` (whose hash `attachment` names), once.
    pub fn keep(&self, attachment: &Attachment, bytes: &[u8]) -> Result<(), AttachError> {
        let store_error = |source| AttachError::Store {
            name: attachment.name.clone(),
            dir: self.dir.clone(),
            source,
        };
        let path = self
            .path_of(&attachment.sha256)
            .ok_or_else(|| store_error(std::io::Error::other("not a SHA-256")))?;
        crate::private_files::ensure_dir(&self.dir).map_err(store_error)?;
        match crate::private_files::create_new(&path) {
            Ok(mut file) => {
                use std::io::Write as _;
                let written = file.write_all(bytes).and_then(|()| file.sync_data());
                if let Err(err) = written {
                    let _ = std::fs::remove_file(&path);
                    return Err(store_error(err));
                }
                Ok(())
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(err) => Err(store_error(err)),
        }
    }

    /// The attachment with its bytes from the store, for sending again
    /// (`replay`); `None` when they are missing or altered.
    pub fn reload(&self, attachment: &Attachment) -> Option<(Attachment, Arc<Vec<u8>>)> {
        let path = self.path_of(&attachment.sha256)?;
        let file = std::fs::File::open(path).ok()?;
        let mut bytes = Vec::new();
        file.take(MAX_ATTACHMENT_BYTES + 1)
            .read_to_end(&mut bytes)
            .ok()?;
        if hex(&Sha256::digest(&bytes)) != attachment.sha256 {
            return None;
        }
        let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
        Some((
            Attachment {
                data: Some(data.into()),
                ..attachment.clone()
            },
            Arc::new(bytes),
        ))
    }

    /// Loads the bytes of every attachment in `messages` that has none;
    /// one that is missing, unreadable or altered (its hash differs) is
    /// left without, and is sent as a note.
    pub fn fill(&self, messages: &mut [crate::llm::Message]) {
        for attachment in messages.iter_mut().flat_map(|m| m.attachments.iter_mut()) {
            if attachment.data.is_some() {
                continue;
            }
            if let Some((loaded, _)) = self.reload(attachment) {
                attachment.data = loaded.data;
            }
        }
    }
}

/// Loads every `-a` name, at most [`MAX_ATTACHMENTS`].
pub fn load_all(
    names: &[String],
    kind: ProviderKind,
    host: &str,
) -> Result<Vec<Loaded>, AttachError> {
    if names.len() > MAX_ATTACHMENTS {
        return Err(AttachError::TooMany { count: names.len() });
    }
    names.iter().map(|name| load(name, kind, host)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1x1 PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];

    #[test]
    fn files_are_told_apart_by_their_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let png = dir.path().join("shot.txt");
        std::fs::write(&png, PNG).expect("write");
        let text = dir.path().join("notes.png");
        std::fs::write(&text, "just text\n").expect("write");
        let binary = dir.path().join("blob");
        std::fs::write(&binary, [0u8, 159, 146, 150]).expect("write");
        let name = |p: &Path| p.display().to_string();
        match load(&name(&png), ProviderKind::Anthropic, "api.anthropic.com").expect("png") {
            Loaded::Binary { attachment, .. } => {
                assert_eq!(attachment.media_type, "image/png");
                assert_eq!(attachment.bytes, PNG.len() as u64);
                assert_eq!(attachment.sha256.len(), 64);
                assert_eq!(attachment.estimated_tokens, 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            load(&name(&text), ProviderKind::Openai, "x"),
            Ok(Loaded::Text { .. })
        ));
        assert!(matches!(
            load(&name(&binary), ProviderKind::Openai, "x"),
            Err(AttachError::UnknownType { .. })
        ));
        assert!(matches!(
            load(&name(dir.path()), ProviderKind::Openai, "x"),
            Err(AttachError::Read { .. })
        ));
    }

    #[test]
    fn pdfs_need_an_api_that_takes_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pdf = dir.path().join("a.pdf");
        std::fs::write(&pdf, b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n%%EOF\n")
            .expect("write");
        let name = pdf.display().to_string();
        assert!(load(&name, ProviderKind::Anthropic, "api.anthropic.com").is_ok());
        assert!(load(&name, ProviderKind::Openai, "api.openai.com").is_ok());
        let local = load(&name, ProviderKind::Openai, "127.0.0.1").unwrap_err();
        assert!(local.to_string().contains("pdftotext"), "{local}");
    }

    #[test]
    fn a_fence_outlasts_the_backticks_inside() {
        let fenced = fenced_text("a.md", "code:\n```\nx\n```\n");
        assert!(
            fenced.starts_with("[attached file: a.md]\n````\n"),
            "{fenced}"
        );
        assert!(fenced.ends_with("\n````"), "{fenced}");
    }

    #[test]
    fn the_store_keeps_bytes_once_and_refuses_altered_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("p.png");
        std::fs::write(&file, PNG).expect("write");
        let Loaded::Binary { attachment, bytes } =
            load(&file.display().to_string(), ProviderKind::Openai, "x").expect("png")
        else {
            panic!("not binary");
        };
        let store = AttachmentStore::in_data_dir(dir.path());
        store.keep(&attachment, &bytes).expect("keep");
        store.keep(&attachment, &bytes).expect("keep again");
        let stored = Attachment {
            data: None,
            ..attachment.clone()
        };
        let mut messages = vec![crate::llm::Message {
            attachments: vec![stored.clone()],
            ..crate::llm::Message::new(crate::llm::Role::User, "look")
        }];
        store.fill(&mut messages);
        assert_eq!(messages[0].attachments[0].data, attachment.data);
        std::fs::write(
            dir.path().join("attachments").join(&attachment.sha256),
            b"tampered",
        )
        .expect("write");
        let mut messages = vec![crate::llm::Message {
            attachments: vec![stored],
            ..crate::llm::Message::new(crate::llm::Role::User, "look")
        }];
        store.fill(&mut messages);
        assert_eq!(messages[0].attachments[0].data, None);
    }
}
