//! Conversation files, `conversations/<id>.jsonl` in the data directory: a
//! header line (id, created, title, model, system prompt), then one line per
//! message, marks for interrupted replies, and compaction records that say
//! which messages a summary stands for. Append-only; see [`crate::jsonl`]
//! for the crash and concurrency rules.

pub mod compaction;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::jsonl::{self, JsonlError};
use compaction::Summary;

/// The current record format version.
pub const RECORD_VERSION: u32 = 1;

pub use crate::llm::Role;

/// One line of a conversation file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConversationRecord {
    /// The first line.
    Header {
        /// Format version.
        v: u32,
        /// The conversation id (also the file name).
        id: String,
        /// When it was created, RFC 3339.
        created: String,
        /// A title for listings.
        title: String,
        /// The model it was started with.
        model: String,
        /// The system prompt, if any.
        #[serde(default)]
        system: Option<String>,
        /// The conversation this one replays on another model, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replay_of: Option<String>,
        /// This conversation's compaction threshold (`--compact-at`), if set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compact_at: Option<f32>,
    },
    /// A message.
    Message {
        /// Format version.
        v: u32,
        /// When it was written, RFC 3339.
        ts: String,
        /// Who wrote it.
        role: Role,
        /// The text.
        content: String,
        /// The model that wrote an assistant message.
        #[serde(default)]
        model: Option<String>,
        /// The usage-log call id of the call that produced it.
        #[serde(default)]
        call_id: Option<String>,
        /// True when the reply stopped part-way and only what arrived is kept.
        #[serde(default)]
        interrupted: bool,
        /// True when screening flagged this user message and it is sent
        /// fenced as data (`[guard] user_input = "fence"`), on every turn.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        fenced: bool,
    },
    /// Settings changed for the rest of the conversation.
    Settings {
        /// Format version.
        v: u32,
        /// When they were changed, RFC 3339.
        ts: String,
        /// The new compaction threshold (`--compact-at`).
        #[serde(default)]
        compact_at: Option<f32>,
    },
    /// A summary that stands for the first `covers` messages in requests
    /// from now on; the messages themselves stay in the file.
    Compaction {
        /// Format version.
        v: u32,
        /// When it was written, RFC 3339.
        ts: String,
        /// How many messages, counted from the first, the summary covers.
        covers: usize,
        /// The summary (of the previous summary plus the newly covered messages).
        summary: String,
        /// The model that wrote it.
        #[serde(default)]
        model: Option<String>,
        /// The usage-log call id of the summary call.
        #[serde(default)]
        call_id: Option<String>,
    },
}

/// Errors of conversation files.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// Reading or writing failed.
    #[error(transparent)]
    Store(#[from] JsonlError),
    /// No conversation has this id.
    #[error("no conversation `{0}`")]
    NotFound(String),
    /// The id has characters that cannot be in a file name.
    #[error("`{0}` is not a conversation id")]
    BadId(String),
    /// The file has no header line.
    #[error("{0} has no header line")]
    NoHeader(PathBuf),
}

/// The conversations of one data directory.
#[derive(Clone, Debug)]
pub struct ConversationStore {
    dir: PathBuf,
}

/// An open conversation file: the one way records are appended to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationHandle {
    id: String,
    path: PathBuf,
}

impl ConversationHandle {
    /// The conversation's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends one record.
    pub fn append(&self, record: &ConversationRecord) -> Result<(), ConversationError> {
        Ok(jsonl::append(&self.path, record)?)
    }

    /// The file's length in bytes, to tell whether someone appended.
    pub fn file_length(&self) -> Result<u64, ConversationError> {
        std::fs::metadata(&self.path)
            .map(|m| m.len())
            .map_err(|source| {
                ConversationError::Store(JsonlError::Io {
                    action: "reading",
                    path: self.path.clone(),
                    source,
                })
            })
    }

    /// Takes the conversation's turn lock (see [`FileLock::acquire`]).
    pub fn lock_turn(
        &self,
        waiting: impl FnOnce(),
        give_up: impl Fn() -> bool,
    ) -> Result<Option<crate::private_files::FileLock>, ConversationError> {
        let path = lock_path(&self.path);
        crate::private_files::FileLock::acquire(&path, waiting, give_up).map_err(|source| {
            ConversationError::Store(JsonlError::Io {
                action: "locking",
                path,
                source,
            })
        })
    }
}

/// Where the turn lock of the conversation file at `path` is: beside the
/// conversations directory, in `locks/`, so the directory holds only
/// conversations.
fn lock_path(path: &Path) -> PathBuf {
    let name = path.with_extension("lock");
    let name = name.file_name().unwrap_or_default();
    match path.parent().and_then(Path::parent) {
        Some(data_dir) => data_dir.join("locks").join(name),
        None => PathBuf::from(name),
    }
}

/// A conversation as read from its file.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    /// Every record in order, the header first.
    pub records: Vec<ConversationRecord>,
    /// Warnings about skipped lines.
    pub warnings: Vec<String>,
}

impl ConversationStore {
    /// The store in `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> ConversationStore {
        ConversationStore {
            dir: data_dir.join("conversations"),
        }
    }

    /// The file of conversation `id`.
    pub fn path(&self, id: &str) -> Result<PathBuf, ConversationError> {
        let valid = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(ConversationError::BadId(id.to_string()));
        }
        Ok(self.dir.join(format!("{id}.jsonl")))
    }

    /// Starts a new conversation: a fresh id whose file is created (never
    /// an existing one, never through a link) with `header(id)` as its
    /// first line. Nothing is left behind when that write fails.
    pub fn create(
        &self,
        header: impl Fn(&str) -> ConversationRecord,
    ) -> Result<ConversationHandle, ConversationError> {
        loop {
            let id = new_conversation_id();
            let path = self.path(&id)?;
            match jsonl::create(&path, &header(&id)) {
                Ok(()) => return Ok(ConversationHandle { id, path }),
                Err(JsonlError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// A handle on the existing conversation `id`, to append to it.
    pub fn open(&self, id: &str) -> Result<ConversationHandle, ConversationError> {
        let path = self.path(id)?;
        if std::fs::symlink_metadata(&path).is_err() {
            return Err(ConversationError::NotFound(id.to_string()));
        }
        crate::private_files::refuse_link(&path).map_err(|source| JsonlError::Io {
            action: "opening",
            path: path.clone(),
            source,
        })?;
        Ok(ConversationHandle {
            id: id.to_string(),
            path,
        })
    }

    /// Reads conversation `id` (never through a link); a file without a
    /// header line is an error.
    pub fn read(&self, id: &str) -> Result<Conversation, ConversationError> {
        let conversation = self.read_what_is_there(id)?;
        if !matches!(
            conversation.records.first(),
            Some(ConversationRecord::Header { .. })
        ) {
            return Err(ConversationError::NoHeader(self.path(id)?));
        }
        Ok(conversation)
    }
}

/// What [`ConversationStore::latest_usable`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatestUsable {
    /// The newest conversation that can be continued, if any.
    pub id: Option<String>,
    /// Newer files that could not be, newest first.
    pub passed_over: Vec<BrokenConversation>,
}

/// A conversation file that cannot be continued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenConversation {
    /// Its id.
    pub id: String,
    /// What is wrong with it.
    pub problem: String,
}

/// A line of `confab history list`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConversationSummary {
    /// The id.
    pub id: String,
    /// When it was created.
    pub created: String,
    /// Its title.
    pub title: String,
    /// The model it was started with.
    pub model: String,
    /// How many messages it holds.
    pub messages: usize,
    /// Why the file cannot be continued, when it can't.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl ConversationStore {
    /// Every conversation, newest first. A file that cannot be used (empty,
    /// no header, unreadable, a link) is listed too, with its problem, so
    /// that it can be shown and deleted.
    pub fn list(&self) -> Result<Vec<ConversationSummary>, ConversationError> {
        let mut ids = self.ids()?;
        ids.reverse();
        Ok(ids.iter().map(|id| self.summary(id)).collect())
    }

    /// The line of `history list` for `id`.
    fn summary(&self, id: &str) -> ConversationSummary {
        let broken = |problem: String| ConversationSummary {
            id: id.to_string(),
            created: String::new(),
            title: String::new(),
            model: String::new(),
            messages: 0,
            problem: Some(problem),
        };
        match self.read(id) {
            Ok(conversation) => match conversation.records.first() {
                Some(ConversationRecord::Header {
                    created,
                    title,
                    model,
                    ..
                }) => ConversationSummary {
                    id: id.to_string(),
                    created: created.clone(),
                    title: title.clone(),
                    model: model.clone(),
                    messages: conversation.records.len() - 1,
                    problem: None,
                },
                _ => broken("no header line".into()),
            },
            Err(err) => broken(self.problem_of(id, &err)),
        }
    }

    /// What is wrong with conversation `id`, in words.
    fn problem_of(&self, id: &str, err: &ConversationError) -> String {
        let empty = self
            .path(id)
            .ok()
            .and_then(|p| std::fs::symlink_metadata(p).ok())
            .is_some_and(|m| m.is_file() && m.len() == 0);
        if empty {
            "the file is empty (a first write that failed)".to_string()
        } else {
            err.to_string()
        }
    }

    /// The newest conversation that can be continued, and the newer ones
    /// passed over because their files are broken.
    pub fn latest_usable(&self) -> Result<LatestUsable, ConversationError> {
        let mut passed_over = Vec::new();
        for id in self.ids()?.into_iter().rev() {
            match self.summary(&id).problem {
                None => {
                    return Ok(LatestUsable {
                        id: Some(id),
                        passed_over,
                    })
                }
                Some(problem) => passed_over.push(BrokenConversation { id, problem }),
            }
        }
        Ok(LatestUsable {
            id: None,
            passed_over,
        })
    }

    /// Every record of `id` that can be read, header or not, for `history
    /// show` of a broken file.
    pub fn read_what_is_there(&self, id: &str) -> Result<Conversation, ConversationError> {
        let path = self.path(id)?;
        if std::fs::symlink_metadata(&path).is_err() {
            return Err(ConversationError::NotFound(id.to_string()));
        }
        crate::private_files::refuse_link(&path).map_err(|source| JsonlError::Io {
            action: "reading",
            path: path.clone(),
            source,
        })?;
        let outcome = jsonl::read::<ConversationRecord>(&path)?;
        Ok(Conversation {
            records: outcome.records.into_iter().map(|(_, r)| r).collect(),
            warnings: outcome.warnings,
        })
    }

    /// The ids of every conversation, oldest first (ids sort by creation time).
    pub fn ids(&self) -> Result<Vec<String>, ConversationError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ConversationError::Store(JsonlError::Io {
                    action: "listing",
                    path: self.dir.clone(),
                    source,
                }))
            }
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".jsonl").map(str::to_string)
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Deletes conversation `id`.
    pub fn delete(&self, id: &str) -> Result<(), ConversationError> {
        let path = self.path(id)?;
        let _ = std::fs::remove_file(lock_path(&path));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                Err(ConversationError::NotFound(id.to_string()))
            }
            Err(source) => Err(ConversationError::Store(JsonlError::Io {
                action: "deleting",
                path,
                source,
            })),
        }
    }
}

/// One exchange: a user message and the reply to it, if one was recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    /// What the user sent.
    pub user: String,
    /// The reply, if any.
    pub reply: Option<Reply>,
}

/// An assistant reply as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The text.
    pub content: String,
    /// The model that wrote it.
    pub model: Option<String>,
    /// The usage-log call that produced it.
    pub call_id: Option<String>,
    /// Whether it stopped part-way.
    pub interrupted: bool,
}

impl Conversation {
    /// The conversation as turns: each user message with the assistant
    /// message that follows it (none when the call failed).
    pub fn turns(&self) -> Vec<Turn> {
        let mut turns: Vec<Turn> = Vec::new();
        for record in &self.records {
            if let ConversationRecord::Message {
                role,
                content,
                model,
                call_id,
                interrupted,
                ..
            } = record
            {
                match role {
                    Role::User => turns.push(Turn {
                        user: content.clone(),
                        reply: None,
                    }),
                    Role::Assistant => {
                        if let Some(turn) = turns.last_mut().filter(|t| t.reply.is_none()) {
                            turn.reply = Some(Reply {
                                content: content.clone(),
                                model: model.clone(),
                                call_id: call_id.clone(),
                                interrupted: *interrupted,
                            });
                        }
                    }
                    Role::System => {}
                }
            }
        }
        turns
    }

    /// The header's title, creation time and the conversation it replays.
    pub fn header_details(&self) -> (&str, &str, Option<&str>) {
        match self.records.first() {
            Some(ConversationRecord::Header {
                title,
                created,
                replay_of,
                ..
            }) => (title.as_str(), created.as_str(), replay_of.as_deref()),
            _ => ("", "", None),
        }
    }

    /// The header's system prompt and model.
    pub fn header(&self) -> (Option<&str>, &str) {
        match self.records.first() {
            Some(ConversationRecord::Header { system, model, .. }) => {
                (system.as_deref(), model.as_str())
            }
            _ => (None, ""),
        }
    }

    /// The messages to resend to a model, oldest first.
    pub fn messages(&self) -> Vec<crate::llm::Message> {
        self.records
            .iter()
            .filter_map(|record| match record {
                ConversationRecord::Message {
                    role,
                    content,
                    fenced,
                    ..
                } => Some(crate::llm::Message::new(
                    *role,
                    if *fenced {
                        crate::guard::fence(content, "user input")
                    } else {
                        content.clone()
                    },
                )),
                _ => None,
            })
            .collect()
    }

    /// The newest summary, if the conversation was compacted.
    pub fn latest_summary(&self) -> Option<Summary> {
        self.records.iter().rev().find_map(|record| match record {
            ConversationRecord::Compaction {
                covers, summary, ..
            } => Some(Summary {
                text: summary.clone(),
                covers: *covers,
            }),
            _ => None,
        })
    }

    /// The conversation's compaction threshold: the latest settings
    /// record's, else the header's, if either set one.
    pub fn compact_at(&self) -> Option<f32> {
        self.records.iter().rev().find_map(|record| match record {
            ConversationRecord::Settings { compact_at, .. } => Some(*compact_at),
            ConversationRecord::Header { compact_at, .. } => Some(*compact_at),
            _ => None,
        })?
    }
}

/// A new conversation id: the UTC time it was made, so ids sort by age,
/// then 64 bits from the operating system's random source, so nobody can
/// guess the next one (`20261127-101500-3fa2c41b09e7d655`).
pub fn new_conversation_id() -> String {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let mut random = [0u8; 8];
    // Without an OS random source, fall back to the seeded generator: the
    // file is still created exclusively, never through a link.
    if getrandom::fill(&mut random).is_err() {
        random = fastrand::u64(..).to_le_bytes();
    }
    format!(
        "{}-{:016x}",
        now.strftime("%Y%m%d-%H%M%S"),
        u64::from_le_bytes(random)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_a_conversation() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ConversationStore::in_data_dir(dir.path());
        let header = |id: &str| ConversationRecord::Header {
            v: RECORD_VERSION,
            id: id.to_string(),
            created: "2026-11-27T10:00:00Z".into(),
            title: "test".into(),
            model: "gpt-4o".into(),
            system: Some("be brief".into()),
            replay_of: None,
            compact_at: None,
        };
        let message = ConversationRecord::Message {
            v: RECORD_VERSION,
            ts: "2026-11-27T10:00:01Z".into(),
            role: Role::Assistant,
            content: "partial rep".into(),
            model: Some("gpt-4o".into()),
            call_id: None,
            interrupted: true,
            fenced: false,
        };
        let handle = store.create(header).expect("create");
        handle.append(&message).expect("append");
        let read = store.read(handle.id()).expect("read");
        assert_eq!(read.records, [header(handle.id()), message]);
        assert_eq!(store.open(handle.id()).expect("open"), handle);
        assert!(matches!(
            store.open("nope"),
            Err(ConversationError::NotFound(_))
        ));
        assert!(matches!(
            store.read("nope"),
            Err(ConversationError::NotFound(_))
        ));
        assert!(matches!(
            store.read("../etc/passwd"),
            Err(ConversationError::BadId(_))
        ));
    }
}
