//! What confab knows about models: context window, largest output and the
//! encoding that counts their tokens, for current OpenAI and Anthropic
//! models; `[models.NAME]` in config overrides it, and unknown models get a
//! conservative default and a note.

use std::collections::BTreeMap;

use crate::llm::discovery::ServerLimits;
use crate::llm::provider::ModelOverride;
use crate::tokens::models::tokenizer_for_model;
use crate::tokens::Encoding;

/// Where a model's limit came from, for notes and `confab models`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitSource {
    /// `[models."NAME"]` in config.toml.
    Config,
    /// The server that serves the model said so (how it was asked).
    Server(String),
    /// confab's built-in table of vendor models.
    Table,
    /// Nothing is known: a conservative default.
    Assumed,
}

impl ModelInfo {
    /// Whether the context window is known (else assumed).
    pub fn known(&self) -> bool {
        self.window_source != LimitSource::Assumed
    }
}

impl std::fmt::Display for LimitSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitSource::Config => f.write_str("config.toml"),
            LimitSource::Server(how) => write!(f, "server: {how}"),
            LimitSource::Table => f.write_str("built-in table"),
            LimitSource::Assumed => f.write_str("assumed"),
        }
    }
}

/// Facts about one model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    /// Prompt plus output, in tokens.
    pub context_window: u64,
    /// The largest output the API accepts.
    pub max_output_tokens: u64,
    /// The encoding used to count its tokens.
    pub encoding: Encoding,
    /// Whether counts with that encoding are exact (else estimates).
    pub exact_count: bool,
    /// Where the context window came from.
    pub window_source: LimitSource,
    /// Where the output limit came from.
    pub output_source: LimitSource,
}

/// The output cap used when neither `--max-tokens` nor config sets one:
/// large enough for most answers, and never above the model's maximum.
pub const DEFAULT_OUTPUT_CAP: u64 = 4096;

/// Context window and output limit by model-name prefix (longest match
/// wins). Sources: OpenAI and Anthropic model pages, 2025-2026.
const TABLE: &[(&str, u64, u64)] = &[
    ("gpt-5", 400_000, 128_000),
    ("gpt-4.1", 1_047_576, 32_768),
    ("gpt-4.5", 128_000, 16_384),
    ("gpt-4o", 128_000, 16_384),
    ("chatgpt-4o", 128_000, 16_384),
    ("o1-mini", 128_000, 65_536),
    ("o1", 200_000, 100_000),
    ("o3", 200_000, 100_000),
    ("o4-mini", 200_000, 100_000),
    ("gpt-4-turbo", 128_000, 4_096),
    ("gpt-4", 8_192, 8_192),
    ("gpt-3.5-turbo", 16_385, 4_096),
    ("claude-opus-4", 200_000, 32_000),
    ("claude-sonnet-4", 200_000, 64_000),
    ("claude-haiku-4", 200_000, 64_000),
    ("claude-3-7-sonnet", 200_000, 64_000),
    ("claude-3-5-sonnet", 200_000, 8_192),
    ("claude-3-5-haiku", 200_000, 8_192),
    ("claude-3-haiku", 200_000, 4_096),
    ("claude-3-opus", 200_000, 4_096),
];

/// The context window assumed for a model confab does not know.
pub const UNKNOWN_CONTEXT_WINDOW: u64 = 8_192;
/// The output limit assumed for a model confab does not know.
pub const UNKNOWN_MAX_OUTPUT: u64 = 2_048;

/// Looks a model up: config overrides first, then what its server said
/// (see [`crate::llm::discovery`]), then the table, then defaults.
pub fn model_info(
    model: &str,
    overrides: &BTreeMap<String, ModelOverride>,
    server: Option<&ServerLimits>,
) -> ModelInfo {
    let (encoding, exact_count) = match tokenizer_for_model(model) {
        Ok(t) => (t.encoding, t.exact),
        Err(_) => (Encoding::Cl100kBase, false),
    };
    let mut info = match table_entry(model) {
        Some((context_window, max_output_tokens)) => ModelInfo {
            context_window,
            max_output_tokens,
            encoding,
            exact_count,
            window_source: LimitSource::Table,
            output_source: LimitSource::Table,
        },
        None => ModelInfo {
            context_window: UNKNOWN_CONTEXT_WINDOW,
            max_output_tokens: UNKNOWN_MAX_OUTPUT,
            encoding,
            exact_count,
            window_source: LimitSource::Assumed,
            output_source: LimitSource::Assumed,
        },
    };
    if let Some(server) = server {
        if let Some(window) = server.context_window {
            info.context_window = window;
            info.window_source = LimitSource::Server(server.source.clone());
            // An output cap can't be larger than the window it fits in.
            info.max_output_tokens = info.max_output_tokens.min(window);
        }
        if let Some(max) = server.max_output_tokens {
            info.max_output_tokens = max;
            info.output_source = LimitSource::Server(server.source.clone());
        }
    }
    if let Some(o) = overrides.get(model) {
        if let Some(window) = o.context_window {
            info.context_window = window;
            info.window_source = LimitSource::Config;
        }
        if let Some(max) = o.max_output_tokens {
            info.max_output_tokens = max;
            info.output_source = LimitSource::Config;
        }
        if let Some(encoding) = o.encoding.as_deref().and_then(|e| e.parse().ok()) {
            info.encoding = encoding;
            info.exact_count = true;
        }
    }
    info
}

/// Whether config already says both limits of `model`, so no server
/// need be asked.
pub fn fully_configured(model: &str, overrides: &BTreeMap<String, ModelOverride>) -> bool {
    overrides
        .get(model)
        .is_some_and(|o| o.context_window.is_some() && o.max_output_tokens.is_some())
}

/// The table's (context window, output limit) for a model: the longest
/// prefix that names it.
fn table_entry(model: &str) -> Option<(u64, u64)> {
    TABLE
        .iter()
        .filter(|(prefix, _, _)| {
            model == *prefix
                || model
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with(['-', '.']))
        })
        .max_by_key(|(prefix, _, _)| prefix.len())
        .map(|&(_, window, output)| (window, output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_both_limits_in_config_spare_asking_the_server() {
        let with = |window: Option<u64>, output: Option<u64>| {
            let mut overrides = BTreeMap::new();
            overrides.insert(
                "local".to_string(),
                ModelOverride {
                    context_window: window,
                    max_output_tokens: output,
                    ..ModelOverride::default()
                },
            );
            overrides
        };
        assert!(fully_configured("local", &with(Some(8192), Some(1024))));
        assert!(!fully_configured("local", &with(Some(8192), None)));
        assert!(!fully_configured("local", &with(None, Some(1024))));
        assert!(!fully_configured("other", &with(Some(8192), Some(1024))));
    }

    #[test]
    fn limit_sources_say_where_a_limit_came_from() {
        // `confab models` prints these.
        assert_eq!(LimitSource::Config.to_string(), "config.toml");
        assert_eq!(
            LimitSource::Server("GET /props".into()).to_string(),
            "server: GET /props"
        );
        assert_eq!(LimitSource::Table.to_string(), "built-in table");
        assert_eq!(LimitSource::Assumed.to_string(), "assumed");
    }

    #[test]
    fn looks_up_models_with_overrides() {
        let none = BTreeMap::new();
        let gpt4o = model_info("gpt-4o-mini", &none, None);
        assert_eq!(
            (gpt4o.context_window, gpt4o.max_output_tokens),
            (128_000, 16_384)
        );
        assert_eq!(gpt4o.encoding, Encoding::O200kBase);
        assert_eq!(model_info("o1-mini", &none, None).max_output_tokens, 65_536);
        assert_eq!(
            model_info("gpt-4-turbo-2024-04-09", &none, None).max_output_tokens,
            4_096
        );
        let claude = model_info("claude-sonnet-4-5", &none, None);
        assert!(claude.known() && !claude.exact_count);
        let unknown = model_info("llama3.2", &none, None);
        assert!(!unknown.known());
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "llama3.2".to_string(),
            ModelOverride {
                context_window: Some(131_072),
                max_output_tokens: None,
                encoding: None,
                compact_at: None,
            },
        );
        assert_eq!(
            model_info("llama3.2", &overrides, None).context_window,
            131_072
        );
    }
}
