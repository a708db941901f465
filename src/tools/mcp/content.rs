//! What an MCP tool result becomes for the model: text blocks, embedded
//! text resources and resource links as text, structured content as JSON
//! when no text came with it, images passed on (the wire format decides
//! whether it can carry them), everything else named in a note, and the
//! text capped at the output limit.

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

pub use crate::llm::ToolImage;
pub use crate::tools::ToolOutput;

/// The image types both wire formats know.
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
/// The largest image passed on, decoded (Anthropic's limit per image).
pub const IMAGE_LIMIT_BYTES: usize = 5 * 1024 * 1024;
/// The most images passed on from one result.
pub const MAX_IMAGES: usize = 8;

/// The parts of a result, before capping.
#[derive(Default)]
struct Parts {
    texts: Vec<String>,
    images: Vec<ToolImage>,
}

impl Parts {
    /// Keeps an image when it is a known type, valid base64, small
    /// enough, and not one too many; otherwise says why in the text.
    fn image(&mut self, what: &str, media_type: &str, data: &str) {
        let decoded = base64::engine::general_purpose::STANDARD.decode(data.trim());
        let problem = match &decoded {
            Err(_) => Some("it is not valid base64".to_string()),
            Ok(_) if !IMAGE_TYPES.contains(&media_type) => {
                Some(format!("{media_type} is not an image type the API takes"))
            }
            Ok(bytes) if bytes.len() > IMAGE_LIMIT_BYTES => Some(format!(
                "it is {} bytes, over the {IMAGE_LIMIT_BYTES}-byte limit",
                bytes.len()
            )),
            Ok(_) if self.images.len() >= MAX_IMAGES => {
                Some(format!("only the first {MAX_IMAGES} images are passed on"))
            }
            Ok(_) => None,
        };
        match problem {
            Some(problem) => self
                .texts
                .push(format!("[{what} ({media_type}) left out: {problem}]")),
            None => self.images.push(ToolImage {
                media_type: media_type.to_string(),
                data: data.trim().to_string(),
            }),
        }
    }

    fn block(&mut self, block: &ContentBlock) {
        match block {
            ContentBlock::Text(text) => self.texts.push(text.text.clone()),
            ContentBlock::Image(image) => self.image("an image", &image.mime_type, &image.data),
            ContentBlock::Audio(audio) => self.texts.push(format!(
                "[audio ({}, {} base64 bytes) left out: tool results carry no audio]",
                audio.mime_type,
                audio.data.len()
            )),
            ContentBlock::Resource(embedded) => match &embedded.resource {
                ResourceContents::TextResourceContents { uri, text, .. } => {
                    self.texts.push(format!("resource {uri}:\n{text}"))
                }
                ResourceContents::BlobResourceContents {
                    uri,
                    mime_type,
                    blob,
                    ..
                } => {
                    let media_type = mime_type.as_deref().unwrap_or("application/octet-stream");
                    if media_type.starts_with("image/") {
                        self.image(&format!("resource {uri}"), media_type, blob);
                    } else {
                        self.texts.push(format!(
                            "[resource {uri} ({media_type}, {} base64 bytes) left out: binary]",
                            blob.len()
                        ));
                    }
                }
                _ => self
                    .texts
                    .push("[a resource of a kind confab does not know, left out]".into()),
            },
            ContentBlock::ResourceLink(link) => {
                let mut line = format!("resource link: {} ({})", link.uri, link.name);
                if let Some(media_type) = &link.mime_type {
                    line.push_str(&format!(", {media_type}"));
                }
                if let Some(description) = &link.description {
                    line.push_str(&format!(": {description}"));
                }
                self.texts.push(line);
            }
            _ => self
                .texts
                .push("[content of a kind confab does not know, left out]".into()),
        }
    }
}

/// The result as it goes back to the model: the text (at most `limit`
/// bytes, with a note when cut), the images, and whether the tool said it
/// failed. `duration` is how long the call took.
pub fn output_of(
    result: &CallToolResult,
    limit: usize,
    duration: std::time::Duration,
) -> ToolOutput {
    let mut parts = Parts::default();
    for block in &result.content {
        parts.block(block);
    }
    let has_text = result
        .content
        .iter()
        .any(|b| matches!(b, ContentBlock::Text(_) | ContentBlock::Resource(_)));
    if let (false, Some(structured)) = (has_text, &result.structured_content) {
        parts.texts.push(structured.to_string());
    }
    ToolOutput {
        content: cap(parts.texts.join("\n"), limit),
        images: parts.images,
        is_error: result.is_error.unwrap_or(false),
        exit_code: None,
        timed_out: false,
        duration,
        failure: None,
    }
}

/// `text` cut to at most `limit` bytes at a character boundary, with a
/// note saying how long it was.
pub fn cap(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[the result was cut: it was {} bytes, the limit is {limit}]",
        &text[..end],
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn result(value: serde_json::Value) -> CallToolResult {
        serde_json::from_value(value).expect("a CallToolResult")
    }

    const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    #[test]
    fn text_resources_and_links_become_text() {
        let output = output_of(
            &result(json!({"content": [
                {"type": "text", "text": "first"},
                {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "inside"}},
                {"type": "resource_link", "uri": "file:///b.pdf", "name": "b.pdf", "mimeType": "application/pdf"},
                {"type": "audio", "data": "AAAA", "mimeType": "audio/wav"}
            ]})),
            1000,
            Duration::ZERO,
        );
        assert_eq!(
            output.content,
            "first\nresource file:///a.txt:\ninside\nresource link: file:///b.pdf (b.pdf), application/pdf\n[audio (audio/wav, 4 base64 bytes) left out: tool results carry no audio]"
        );
        assert!(!output.is_error);
        assert!(output.images.is_empty());
    }

    #[test]
    fn structured_content_is_sent_when_no_text_came_with_it() {
        let alone = output_of(
            &result(json!({"content": [], "structuredContent": {"temperature": 21.5}})),
            1000,
            Duration::ZERO,
        );
        assert_eq!(alone.content, r#"{"temperature":21.5}"#);
        let with_text = output_of(
            &result(json!({
                "content": [{"type": "text", "text": "{\"temperature\": 21.5}"}],
                "structuredContent": {"temperature": 21.5}
            })),
            1000,
            Duration::ZERO,
        );
        assert_eq!(with_text.content, "{\"temperature\": 21.5}");
    }

    #[test]
    fn errors_and_images() {
        let output = output_of(
            &result(json!({"isError": true, "content": [
                {"type": "text", "text": "no such file"},
                {"type": "image", "data": PNG_1X1, "mimeType": "image/png"},
                {"type": "image", "data": "not base64!", "mimeType": "image/png"},
                {"type": "image", "data": PNG_1X1, "mimeType": "image/tiff"}
            ]})),
            1000,
            Duration::ZERO,
        );
        assert!(output.is_error);
        assert_eq!(output.images.len(), 1);
        assert_eq!(output.images[0].media_type, "image/png");
        assert!(
            output.content.contains("not valid base64"),
            "{}",
            output.content
        );
        assert!(
            output.content.contains("image/tiff is not"),
            "{}",
            output.content
        );
    }

    #[test]
    fn oversized_text_is_cut_at_a_character_boundary() {
        let output = output_of(
            &result(json!({"content": [{"type": "text", "text": "é".repeat(100)}]})),
            11,
            Duration::ZERO,
        );
        assert!(output
            .content
            .starts_with("ééééé\n[the result was cut: it was 200 bytes"));
        let many: Vec<_> = (0..MAX_IMAGES + 2)
            .map(|_| json!({"type": "image", "data": PNG_1X1, "mimeType": "image/png"}))
            .collect();
        let output = output_of(&result(json!({"content": many})), 1000, Duration::ZERO);
        assert_eq!(output.images.len(), MAX_IMAGES);
        assert!(output.content.contains("only the first 8 images"));
    }
}
