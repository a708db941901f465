//! The one seam between the HTTP client and an API's wire format.
//!
//! The client knows HTTP, streaming, retries and limits; a [`WireFormat`]
//! knows where a chat request goes, how it authenticates, what its body
//! looks like, and how to read its events, whole replies and errors.
//! OpenAI Chat Completions (and every compatible server) and Anthropic
//! Messages implement it; a third format is one new file plus one line in
//! [`for_kind`].

use crate::llm::provider::ProviderKind;
use crate::llm::sse::SseEvent;
use crate::llm::{anthropic, openai, ApiError, ChatEvent, ChatRequest, StreamError};

/// What the client needs to know of one API's wire format.
pub trait WireFormat: Sync {
    /// The chat endpoint, relative to the provider's base URL.
    fn chat_path(&self) -> &'static str;
    /// The headers that authenticate a request (and pin the API version).
    fn auth_headers(&self, api_key: Option<&str>) -> Vec<(&'static str, String)>;
    /// The JSON body of a chat request.
    fn chat_body(&self, request: &ChatRequest) -> Vec<u8>;
    /// A reader for one streamed reply's events (some formats keep state
    /// between events).
    fn stream_reader(&self) -> Box<dyn StreamReader>;
    /// The events of a whole (non-streamed) reply.
    fn parse_reply(&self, body: &str) -> Result<Vec<ChatEvent>, StreamError>;
    /// The error an HTTP error body describes.
    fn parse_error(&self, status: u16, body: &str) -> ApiError;
}

/// Turns one streamed reply's server-sent events into chat events.
pub trait StreamReader: Send {
    /// The chat events of one server-sent event.
    fn read(&mut self, event: &SseEvent) -> Result<Vec<ChatEvent>, StreamError>;
}

/// The wire format of a provider kind: the one registration point.
pub fn for_kind(kind: ProviderKind) -> &'static dyn WireFormat {
    match kind {
        ProviderKind::Openai => &openai::ChatCompletions,
        ProviderKind::Anthropic => &anthropic::Messages,
    }
}

/// The headers that authenticate a request in `kind`'s wire format (for
/// the side requests that ask a server about its models).
pub fn auth_headers(kind: ProviderKind, api_key: Option<&str>) -> Vec<(&'static str, String)> {
    for_kind(kind).auth_headers(api_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_headers_follow_each_wire_format() {
        assert_eq!(
            auth_headers(ProviderKind::Openai, Some("k")),
            [("authorization", "Bearer k".to_string())]
        );
        assert!(auth_headers(ProviderKind::Openai, None).is_empty());
        assert_eq!(
            auth_headers(ProviderKind::Anthropic, Some("k")),
            [
                ("anthropic-version", anthropic::API_VERSION.to_string()),
                ("x-api-key", "k".to_string())
            ]
        );
        assert_eq!(
            auth_headers(ProviderKind::Anthropic, None),
            [("anthropic-version", anthropic::API_VERSION.to_string())]
        );
    }

    #[test]
    fn each_format_names_its_chat_endpoint() {
        assert_eq!(
            for_kind(ProviderKind::Openai).chat_path(),
            "chat/completions"
        );
        assert_eq!(for_kind(ProviderKind::Anthropic).chat_path(), "messages");
    }
}
