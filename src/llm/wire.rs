//! The one seam between the HTTP client and an API's wire format.
//!
//! The client knows HTTP, streaming, retries and limits; a [`WireFormat`]
//! knows where a chat request goes, how it authenticates, what its body
//! looks like, and how to read its events, whole replies and errors.
//! OpenAI Chat Completions (and every compatible server), OpenAI Responses
//! and Anthropic Messages implement it; another format is one new file
//! plus one line in [`for_kind`].

use crate::llm::provider::{ProviderConfig, ProviderKind};
use crate::llm::sse::SseEvent;
use crate::llm::{anthropic, openai, responses, ApiError, ChatEvent, ChatRequest, StreamError};

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
    /// Whether the format takes a JSON Schema for the reply; where it does
    /// not, callers ask for the format in the prompt (and validate the
    /// reply either way).
    fn takes_response_format(&self) -> bool {
        true
    }
    /// Whether the format takes a reasoning effort (OpenAI's formats do;
    /// Anthropic's thinking is a budget).
    fn takes_reasoning_effort(&self) -> bool {
        true
    }
    /// Whether the format takes a thinking budget (Anthropic's does).
    fn takes_thinking_budget(&self) -> bool {
        false
    }
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
        ProviderKind::OpenaiResponses => &responses::Responses,
        // Never sent over HTTP; the request is built the OpenAI way.
        ProviderKind::Local => &openai::ChatCompletions,
    }
}

/// The wire format to speak to `model` on the provider `name`: the kind's,
/// except that the OpenAI provider (the one named `openai`, or any on
/// OpenAI's own host) speaks the Responses API to reasoning models, the
/// only place their reasoning summaries are served. Other compatible
/// servers keep Chat Completions, which is what they implement.
pub fn for_model(name: &str, provider: &ProviderConfig, model: &str) -> &'static dyn WireFormat {
    let openai =
        name == "openai" || provider.base_url() == crate::llm::provider::DEFAULT_OPENAI_BASE_URL;
    if provider.kind == ProviderKind::Openai
        && openai
        && crate::llm::models::is_reasoning_model(model)
    {
        return &responses::Responses;
    }
    for_kind(provider.kind)
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
        assert_eq!(
            for_kind(ProviderKind::OpenaiResponses).chat_path(),
            "responses"
        );
    }

    #[test]
    fn reasoning_models_on_openai_itself_get_the_responses_api() {
        let openai = ProviderConfig::new(ProviderKind::Openai);
        assert_eq!(for_model("x", &openai, "o3").chat_path(), "responses");
        assert_eq!(
            for_model("x", &openai, "gpt-5-mini").chat_path(),
            "responses"
        );
        assert_eq!(
            for_model("x", &openai, "gpt-4o").chat_path(),
            "chat/completions"
        );
        let mut local = ProviderConfig::new(ProviderKind::Openai);
        local.base_url = Some("http://127.0.0.1:8080/v1".into());
        assert_eq!(
            for_model("vllm", &local, "o3").chat_path(),
            "chat/completions"
        );
        assert_eq!(for_model("openai", &local, "o3").chat_path(), "responses");
        let anthropic = ProviderConfig::new(ProviderKind::Anthropic);
        assert_eq!(
            for_model("openai", &anthropic, "o3").chat_path(),
            "messages"
        );
        assert!(!for_kind(ProviderKind::Anthropic).takes_response_format());
        assert!(for_model("x", &openai, "o3").takes_response_format());
    }
}
