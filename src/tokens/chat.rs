//! Prompt tokens of a list of chat messages, as the Chat Completions API
//! bills them: each message's fields plus the format's per-message overhead
//! (OpenAI cookbook, "How to count tokens with tiktoken").

use serde::Deserialize;

use crate::tokens::Encoding;

/// How confab counts tokens for a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelTokenizer {
    /// The encoding used to count.
    pub encoding: Encoding,
    /// False when the model's own tokenizer is not public and the count is
    /// only an estimate made with `encoding`.
    pub exact: bool,
    /// The family the model was recognised as, for messages.
    pub family: &'static str,
    /// Tokens the chat format adds per message.
    pub tokens_per_message: i64,
    /// Tokens a `name` field adds on top of its text.
    pub tokens_per_name: i64,
    /// Tokens that prime the assistant's reply.
    pub reply_priming: i64,
}

/// One chat message in OpenAI's request format.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text, or a list of content parts.
    #[serde(default)]
    pub content: Option<MessageContent>,
    /// An optional participant name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The content of a message: a string or a list of typed parts.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content parts; only text parts carry tokens confab can count.
    Parts(Vec<ContentPart>),
}

/// One part of a multi-part message.
#[derive(Debug, Clone, Deserialize)]
pub struct ContentPart {
    /// The part type, such as `text` or `image_url`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(default)]
    pub text: Option<String>,
}

/// The counted prompt of a message list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptCount {
    /// Tokens the API will bill as prompt tokens.
    pub tokens: usize,
    /// Parts that could not be counted (such as images), by type.
    pub uncounted_parts: Vec<String>,
}

/// Counts the prompt tokens of `messages` for a model.
pub fn count_messages(tokenizer: &ModelTokenizer, messages: &[ChatMessage]) -> PromptCount {
    let encoding = tokenizer.encoding;
    let mut total = tokenizer.reply_priming;
    let mut uncounted_parts = Vec::new();
    for message in messages {
        total += tokenizer.tokens_per_message;
        total += encoding.count(&message.role) as i64;
        match &message.content {
            Some(MessageContent::Text(text)) => total += encoding.count(text) as i64,
            Some(MessageContent::Parts(parts)) => {
                for part in parts {
                    match (&part.text, part.kind.as_str()) {
                        (Some(text), "text") => total += encoding.count(text) as i64,
                        _ => uncounted_parts.push(part.kind.clone()),
                    }
                }
            }
            None => {}
        }
        if let Some(name) = &message.name {
            total += encoding.count(name) as i64 + tokenizer.tokens_per_name;
        }
    }
    PromptCount {
        tokens: total.max(0) as usize,
        uncounted_parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::models::tokenizer_for_model;

    /// The worked example of OpenAI's cookbook "How to count tokens with
    /// tiktoken", whose notebook shows the API's own prompt_tokens: 129 for
    /// gpt-3.5-turbo and gpt-4 (cl100k_base), 124 for gpt-4o and gpt-4o-mini.
    #[test]
    fn matches_the_cookbook_example() {
        let messages: Vec<ChatMessage> = serde_json::from_str(
            r#"[
  {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
  {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
  {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
  {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
  {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
  {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}
]"#,
        )
        .expect("valid example");
        for (model, expected) in [
            ("gpt-3.5-turbo-1106", 129),
            ("gpt-3.5-turbo", 129),
            ("gpt-4-0613", 129),
            ("gpt-4", 129),
            ("gpt-4o", 124),
            ("gpt-4o-mini", 124),
        ] {
            let tokenizer = tokenizer_for_model(model).expect("known model");
            assert_eq!(
                count_messages(&tokenizer, &messages).tokens,
                expected,
                "{model}"
            );
        }
    }
}
