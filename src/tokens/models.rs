//! Which encoding counts a model's tokens, and whether that count is exact.

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

/// The error for a model confab cannot map to an encoding.
#[derive(Debug, thiserror::Error)]
#[error("unknown model `{model}`; known families: {}", KNOWN_FAMILIES)]
pub struct UnknownModel {
    /// The model name as given.
    pub model: String,
}

/// The families [`tokenizer_for_model`] recognises, for error messages.
pub const KNOWN_FAMILIES: &str = "gpt-5*, gpt-4.1*, gpt-4.5*, gpt-4o*, o1*, o3*, o4*, gpt-oss* \
(o200k_base); gpt-4, gpt-4-turbo*, gpt-3.5-turbo*, text-embedding-3-*, text-embedding-ada-002 \
(cl100k_base); claude-*, gemini-*, llama*, mistral*, mixtral*, qwen*, deepseek*, gemma*, phi* \
(estimates)";

/// Families counted exactly with o200k_base (prefixes; `o1` etc. also match exactly).
const O200K_PREFIXES: [&str; 9] = [
    "gpt-5",
    "gpt-4.1",
    "gpt-4.5",
    "gpt-4o",
    "chatgpt-4o",
    "gpt-oss",
    "o1",
    "o3",
    "o4",
];
/// Families counted exactly with cl100k_base.
const CL100K_PREFIXES: [&str; 5] = [
    "gpt-4",
    "gpt-3.5-turbo",
    "gpt-35-turbo",
    "text-embedding-3-",
    "text-embedding-ada-002",
];
/// Families whose tokenizers confab does not ship: counted with cl100k_base
/// as an estimate.
const ESTIMATED_PREFIXES: [&str; 10] = [
    "claude", "gemini", "llama", "mistral", "mixtral", "qwen", "deepseek", "gemma", "phi",
    "command",
];

/// Maps a model name (optionally `provider:model` or `provider/model`) to
/// the way its tokens are counted.
pub fn tokenizer_for_model(model: &str) -> Result<ModelTokenizer, UnknownModel> {
    let bare = model
        .rsplit([':', '/'])
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let matches = |prefix: &str| {
        bare == prefix
            || bare
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(['-', '.', '_']) || prefix.ends_with('-'))
    };
    let chat = |encoding, exact, family| ModelTokenizer {
        encoding,
        exact,
        family,
        tokens_per_message: 3,
        tokens_per_name: 1,
        reply_priming: 3,
    };
    if let Some(family) = O200K_PREFIXES.into_iter().find(|p| matches(p)) {
        return Ok(chat(Encoding::O200kBase, true, family));
    }
    if bare.starts_with("gpt-3.5-turbo-0301") || bare.starts_with("gpt-35-turbo-0301") {
        return Ok(ModelTokenizer {
            tokens_per_message: 4,
            tokens_per_name: -1,
            ..chat(Encoding::Cl100kBase, true, "gpt-3.5-turbo-0301")
        });
    }
    if let Some(family) = CL100K_PREFIXES.into_iter().find(|p| matches(p)) {
        return Ok(chat(Encoding::Cl100kBase, true, family));
    }
    if let Some(family) = ESTIMATED_PREFIXES.into_iter().find(|p| bare.starts_with(p)) {
        return Ok(chat(Encoding::Cl100kBase, false, family));
    }
    Err(UnknownModel {
        model: model.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_model_families() {
        let enc = |m: &str| tokenizer_for_model(m).map(|t| (t.encoding, t.exact)).ok();
        assert_eq!(enc("gpt-4o"), Some((Encoding::O200kBase, true)));
        assert_eq!(
            enc("gpt-4o-mini-2024-07-18"),
            Some((Encoding::O200kBase, true))
        );
        assert_eq!(
            enc("openai:gpt-4.1-nano"),
            Some((Encoding::O200kBase, true))
        );
        assert_eq!(enc("gpt-5"), Some((Encoding::O200kBase, true)));
        assert_eq!(enc("o3-mini"), Some((Encoding::O200kBase, true)));
        assert_eq!(enc("o1"), Some((Encoding::O200kBase, true)));
        assert_eq!(enc("gpt-4"), Some((Encoding::Cl100kBase, true)));
        assert_eq!(
            enc("gpt-4-turbo-preview"),
            Some((Encoding::Cl100kBase, true))
        );
        assert_eq!(enc("gpt-3.5-turbo"), Some((Encoding::Cl100kBase, true)));
        assert_eq!(
            enc("text-embedding-3-small"),
            Some((Encoding::Cl100kBase, true))
        );
        assert_eq!(
            enc("claude-sonnet-4-5"),
            Some((Encoding::Cl100kBase, false))
        );
        assert_eq!(
            enc("anthropic/claude-3-haiku"),
            Some((Encoding::Cl100kBase, false))
        );
        assert_eq!(enc("o1x"), None);
        assert_eq!(enc("gpt-40"), None);
        assert_eq!(enc("davinci"), None);
    }
}
