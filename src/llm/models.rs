//! The one model registry: what confab knows about models (context window,
//! largest output, the encoding that counts their tokens and the chat
//! format's message overhead) for current OpenAI and Anthropic models and
//! the families of open models; `[models.NAME]` in config overrides it, and unknown models get a
//! conservative default and a note.

use std::collections::BTreeMap;

use crate::llm::discovery::ServerLimits;
use crate::llm::provider::ModelOverride;
use crate::tokens::chat::ModelTokenizer;
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

/// Whether `model` (an OpenAI id, a date suffix allowed) is a reasoning
/// model: the o-series and GPT-5 and later, except the `-chat` variants,
/// which are not.
pub fn is_reasoning_model(model: &str) -> bool {
    let model = model.rsplit('/').next().unwrap_or(model);
    let o_series = model.strip_prefix('o').is_some_and(|rest| {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && rest[digits..].chars().next().is_none_or(|c| c == '-')
    });
    let gpt = model.strip_prefix("gpt-").is_some_and(|rest| {
        let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
        major.parse::<u32>().is_ok_and(|major| major >= 5)
    });
    let codex = model.starts_with("codex-");
    (o_series || gpt || codex) && !model.contains("-chat")
}

/// Facts about one model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    /// Prompt plus output, in tokens.
    pub context_window: u64,
    /// The largest output the API accepts.
    pub max_output_tokens: u64,
    /// How its tokens are counted: encoding, exactness, message overhead.
    pub tokenizer: ModelTokenizer,
    /// Where the context window came from.
    pub window_source: LimitSource,
    /// Where the output limit came from.
    pub output_source: LimitSource,
}

/// The output cap used when neither `--max-tokens` nor config sets one:
/// large enough for most answers, and never above the model's maximum.
pub const DEFAULT_OUTPUT_CAP: u64 = 4096;

/// The context window assumed for a model confab does not know.
pub const UNKNOWN_CONTEXT_WINDOW: u64 = 8_192;
/// The output limit assumed for a model confab does not know.
pub const UNKNOWN_MAX_OUTPUT: u64 = 2_048;

/// How a registry prefix must meet the rest of a model name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Boundary {
    /// The name is the prefix, or goes on with `-`, `.` or `_`
    /// (`gpt-4o-mini`, `gpt-4.1`; not `gpt-40`).
    Separated,
    /// Anything may follow (`llama3.2`, `qwen2.5-coder`).
    Open,
}

/// One row of the registry: a model family (by name prefix) and what is
/// known about it. A limit left `None` is not published; it is assumed.
struct Family {
    prefix: &'static str,
    boundary: Boundary,
    encoding: Encoding,
    /// False when the family's own tokenizer is not public and counts with
    /// `encoding` are estimates.
    exact: bool,
    limits: Option<(u64, u64)>,
    /// Tokens the chat format adds per message and per `name` field.
    overhead: (i64, i64),
}

/// The chat overhead of every current model (OpenAI cookbook).
const CHAT_OVERHEAD: (i64, i64) = (3, 1);

const fn exact(prefix: &'static str, encoding: Encoding, limits: Option<(u64, u64)>) -> Family {
    Family {
        prefix,
        boundary: Boundary::Separated,
        encoding,
        exact: true,
        limits,
        overhead: CHAT_OVERHEAD,
    }
}

const fn estimated(prefix: &'static str, limits: Option<(u64, u64)>) -> Family {
    Family {
        prefix,
        boundary: Boundary::Open,
        encoding: Encoding::Cl100kBase,
        exact: false,
        limits,
        overhead: CHAT_OVERHEAD,
    }
}

use Encoding::{Cl100kBase as CL100K, O200kBase as O200K};

/// The one model registry: the longest prefix that names a model wins.
/// Limits are (context window, largest output). Sources: OpenAI and
/// Anthropic model pages, 2025-2026; the OpenAI cookbook for encodings and
/// message overhead.
const REGISTRY: &[Family] = &[
    exact("gpt-5", O200K, Some((400_000, 128_000))),
    exact("gpt-4.1", O200K, Some((1_047_576, 32_768))),
    exact("gpt-4.5", O200K, Some((128_000, 16_384))),
    exact("gpt-4o", O200K, Some((128_000, 16_384))),
    exact("chatgpt-4o", O200K, Some((128_000, 16_384))),
    exact("gpt-oss", O200K, None),
    exact("o1-mini", O200K, Some((128_000, 65_536))),
    exact("o1", O200K, Some((200_000, 100_000))),
    exact("o3", O200K, Some((200_000, 100_000))),
    exact("o4-mini", O200K, Some((200_000, 100_000))),
    exact("o4", O200K, None),
    exact("gpt-4-turbo", CL100K, Some((128_000, 4_096))),
    exact("gpt-4", CL100K, Some((8_192, 8_192))),
    exact("gpt-3.5-turbo", CL100K, Some((16_385, 4_096))),
    Family {
        overhead: (4, -1),
        ..exact("gpt-3.5-turbo-0301", CL100K, Some((4_096, 4_096)))
    },
    exact("gpt-35-turbo", CL100K, Some((16_385, 4_096))),
    Family {
        overhead: (4, -1),
        ..exact("gpt-35-turbo-0301", CL100K, Some((4_096, 4_096)))
    },
    Family {
        boundary: Boundary::Open,
        ..exact("text-embedding-3-", CL100K, None)
    },
    exact("text-embedding-ada-002", CL100K, None),
    estimated("claude-opus-4", Some((200_000, 32_000))),
    estimated("claude-sonnet-4", Some((200_000, 64_000))),
    estimated("claude-haiku-4", Some((200_000, 64_000))),
    estimated("claude-3-7-sonnet", Some((200_000, 64_000))),
    estimated("claude-3-5-sonnet", Some((200_000, 8_192))),
    estimated("claude-3-5-haiku", Some((200_000, 8_192))),
    estimated("claude-3-haiku", Some((200_000, 4_096))),
    estimated("claude-3-opus", Some((200_000, 4_096))),
    estimated("claude", None),
    estimated("gemini", None),
    estimated("llama", None),
    estimated("mistral", None),
    estimated("mixtral", None),
    estimated("qwen", None),
    estimated("deepseek", None),
    estimated("gemma", None),
    estimated("phi", None),
    estimated("command", None),
];

/// The error for a model confab cannot map to an encoding.
#[derive(Debug, thiserror::Error)]
#[error("unknown model `{model}`; known families: {}", known_families())]
pub struct UnknownModel {
    /// The model name as given.
    pub model: String,
}

/// The registry's families, grouped by encoding, for error messages.
pub fn known_families() -> String {
    let names = |wanted: Option<Encoding>| {
        let group: Vec<&Family> = REGISTRY
            .iter()
            .filter(|f| match wanted {
                Some(encoding) => f.exact && f.encoding == encoding,
                None => !f.exact,
            })
            .collect();
        // A row refining a shorter one (`o1-mini` under `o1`) is not news.
        let broadest = |f: &&&Family| {
            !group
                .iter()
                .any(|g| g.prefix.len() < f.prefix.len() && f.prefix.starts_with(g.prefix))
        };
        let names: Vec<String> = group
            .iter()
            .filter(broadest)
            .map(|f| format!("{}*", f.prefix))
            .collect();
        names.join(", ")
    };
    format!(
        "{} (o200k_base); {} (cl100k_base); {} (estimates)",
        names(Some(O200K)),
        names(Some(CL100K)),
        names(None)
    )
}

/// The registry row that names `model` (optionally `provider:model` or
/// `provider/model`, in any case): the longest matching prefix.
fn family_of(model: &str) -> Option<&'static Family> {
    let bare = model
        .rsplit([':', '/'])
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    REGISTRY
        .iter()
        .filter(|family| match bare.strip_prefix(family.prefix) {
            None => false,
            Some("") => true,
            Some(rest) => family.boundary == Boundary::Open || rest.starts_with(['-', '.', '_']),
        })
        .max_by_key(|family| family.prefix.len())
}

impl Family {
    fn tokenizer(&self) -> ModelTokenizer {
        ModelTokenizer {
            encoding: self.encoding,
            exact: self.exact,
            family: self.prefix,
            tokens_per_message: self.overhead.0,
            tokens_per_name: self.overhead.1,
            reply_priming: 3,
        }
    }
}

/// Maps a model name (optionally `provider:model` or `provider/model`) to
/// the way its tokens are counted.
pub fn tokenizer_for_model(model: &str) -> Result<ModelTokenizer, UnknownModel> {
    family_of(model)
        .map(Family::tokenizer)
        .ok_or_else(|| UnknownModel {
            model: model.to_string(),
        })
}

/// How an unknown model's tokens are estimated.
fn fallback_tokenizer() -> ModelTokenizer {
    estimated("unknown", None).tokenizer()
}

/// Looks a model up: config overrides first, then what its server said
/// (see [`crate::llm::discovery`]), then the registry, then defaults.
pub fn model_info(
    model: &str,
    overrides: &BTreeMap<String, ModelOverride>,
    server: Option<&ServerLimits>,
) -> ModelInfo {
    let family = family_of(model);
    let tokenizer = family.map_or_else(fallback_tokenizer, Family::tokenizer);
    let mut info = match family.and_then(|f| f.limits) {
        Some((context_window, max_output_tokens)) => ModelInfo {
            context_window,
            max_output_tokens,
            tokenizer,
            window_source: LimitSource::Table,
            output_source: LimitSource::Table,
        },
        None => ModelInfo {
            context_window: UNKNOWN_CONTEXT_WINDOW,
            max_output_tokens: UNKNOWN_MAX_OUTPUT,
            tokenizer,
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
            info.tokenizer.encoding = encoding;
            info.tokenizer.exact = true;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_models_are_the_o_series_and_gpt_5_on() {
        for model in [
            "o1",
            "o3-mini",
            "o4-mini-2025-04-16",
            "gpt-5",
            "gpt-5.1",
            "gpt-5-mini",
            "gpt-6-pro",
            "codex-mini-latest",
            "openai/o3",
        ] {
            assert!(is_reasoning_model(model), "{model}");
        }
        for model in [
            "gpt-4o",
            "gpt-4.1-mini",
            "gpt-5-chat-latest",
            "omni-moderation-latest",
            "olmo-2",
            "claude-sonnet-4-5",
            "gpt-oss-20b",
        ] {
            assert!(!is_reasoning_model(model), "{model}");
        }
    }

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
        assert_eq!(gpt4o.tokenizer.encoding, Encoding::O200kBase);
        assert_eq!(model_info("o1-mini", &none, None).max_output_tokens, 65_536);
        assert_eq!(
            model_info("gpt-4-turbo-2024-04-09", &none, None).max_output_tokens,
            4_096
        );
        let claude = model_info("claude-sonnet-4-5", &none, None);
        assert!(claude.known() && !claude.tokenizer.exact);
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

    #[test]
    fn maps_model_families_to_encodings() {
        let enc = |m: &str| tokenizer_for_model(m).map(|t| (t.encoding, t.exact)).ok();
        let exact_o200k = Some((Encoding::O200kBase, true));
        let exact_cl100k = Some((Encoding::Cl100kBase, true));
        let estimate = Some((Encoding::Cl100kBase, false));
        for model in [
            "gpt-4o",
            "gpt-4o-mini-2024-07-18",
            "openai:gpt-4.1-nano",
            "gpt-5",
            "o3-mini",
            "o1",
            "GPT-4o",
        ] {
            assert_eq!(enc(model), exact_o200k, "{model}");
        }
        for model in [
            "gpt-4",
            "gpt-4-turbo-preview",
            "gpt-3.5-turbo",
            "text-embedding-3-small",
        ] {
            assert_eq!(enc(model), exact_cl100k, "{model}");
        }
        for model in ["claude-sonnet-4-5", "anthropic/claude-3-haiku", "llama3.2"] {
            assert_eq!(enc(model), estimate, "{model}");
        }
        for model in ["o1x", "gpt-40", "davinci"] {
            assert_eq!(enc(model), None, "{model}");
        }
    }

    #[test]
    fn one_row_gives_limits_and_message_overhead() {
        let none = BTreeMap::new();
        let old = model_info("gpt-3.5-turbo-0301", &none, None);
        assert_eq!(
            (
                old.tokenizer.tokens_per_message,
                old.tokenizer.tokens_per_name
            ),
            (4, -1)
        );
        assert_eq!(old.context_window, 4_096);
        let current = model_info("gpt-3.5-turbo-0125", &none, None);
        assert_eq!(
            (current.tokenizer.tokens_per_message, current.context_window),
            (3, 16_385)
        );
        // A provider prefix names the same model.
        assert_eq!(
            model_info("openai/gpt-4o", &none, None),
            model_info("gpt-4o", &none, None)
        );
    }

    #[test]
    fn unknown_model_error_lists_the_broad_families() {
        let message = tokenizer_for_model("davinci").unwrap_err().to_string();
        assert!(
            message.contains("gpt-4o*") && message.contains("claude*"),
            "{message}"
        );
        assert!(!message.contains("o1-mini"), "{message}");
    }
}
