//! A provider as config describes it: its wire format, where it is, how
//! it authenticates, its timeouts, retries and rate limits; the limits
//! config sets for a model; and a model resolved to its provider.

use serde::{Deserialize, Serialize};

/// The wire format a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI Chat Completions: OpenAI, Ollama, llama.cpp, vLLM, LM Studio, OpenRouter...
    Openai,
    /// Anthropic Messages.
    Anthropic,
    /// OpenAI's Responses API (`/v1/responses`): reasoning summaries and
    /// effort. The OpenAI provider speaks it to reasoning models on its own
    /// (see [`crate::llm::wire::for_model`]).
    #[serde(rename = "openai-responses", alias = "openai_responses")]
    OpenaiResponses,
    /// The built-in local model, run in this process (no server, no key):
    /// see [`crate::local`].
    Local,
}

impl ProviderKind {
    /// Whether the provider is OpenAI-style (either OpenAI wire format):
    /// a `/v1` base URL, bearer keys, OpenAI's attachment rules.
    pub fn is_openai_style(self) -> bool {
        !matches!(self, ProviderKind::Anthropic | ProviderKind::Local)
    }
}

/// One configured provider (`[providers.NAME]` in `config.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The wire format.
    pub kind: ProviderKind,
    /// The API root as the kind's SDK takes it: `https://api.openai.com/v1`
    /// (with `/v1`) for OpenAI-style servers, `https://api.anthropic.com`
    /// (the host root) for Anthropic.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// A command whose output is the API key (run without a shell).
    #[serde(default)]
    pub api_key_cmd: Option<Vec<String>>,
    /// An API key written in the file; discouraged, but some local setups want it.
    #[serde(default)]
    pub api_key: Option<String>,
    /// The model used when `-m` names only this provider.
    #[serde(default)]
    pub default_model: Option<String>,
    /// Seconds to wait for a connection.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Seconds a response may stay silent (before the first byte and between chunks).
    #[serde(default = "default_read_timeout")]
    pub read_timeout_secs: u64,
    /// Seconds a whole call may take, retries included; what arrived by
    /// then is kept and marked interrupted.
    #[serde(default = "default_total_timeout")]
    pub total_timeout_secs: u64,
    /// Retries after the first attempt.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Client-side cap on requests per minute (0: none).
    #[serde(default)]
    pub requests_per_minute: u32,
    /// Client-side cap on tokens per minute (0: none).
    #[serde(default)]
    pub tokens_per_minute: u32,
    /// Price every call of this provider at zero (local models).
    #[serde(default)]
    pub free: bool,
    /// Ask the server for its models' limits (context window, output cap)
    /// when it is not the vendor's own API; the answer is cached.
    #[serde(default = "default_true")]
    pub discover_limits: bool,
}

fn default_true() -> bool {
    true
}

fn default_connect_timeout() -> u64 {
    10
}
fn default_read_timeout() -> u64 {
    120
}
fn default_total_timeout() -> u64 {
    1800
}
fn default_max_retries() -> u32 {
    2
}

impl ProviderConfig {
    /// The built-in local model's provider: in process, free.
    pub fn local() -> ProviderConfig {
        ProviderConfig {
            free: true,
            discover_limits: false,
            max_retries: 0,
            ..ProviderConfig::new(ProviderKind::Local)
        }
    }

    /// A provider of `kind` with defaults for everything else.
    pub fn new(kind: ProviderKind) -> ProviderConfig {
        ProviderConfig {
            kind,
            base_url: None,
            api_key_env: None,
            api_key_cmd: None,
            api_key: None,
            default_model: None,
            connect_timeout_secs: default_connect_timeout(),
            read_timeout_secs: default_read_timeout(),
            total_timeout_secs: default_total_timeout(),
            max_retries: default_max_retries(),
            requests_per_minute: 0,
            tokens_per_minute: 0,
            free: false,
            discover_limits: true,
        }
    }

    /// The API root as the kind's official SDK takes it, without a
    /// trailing slash. OpenAI-style roots include `/v1` (the SDK's
    /// `OPENAI_BASE_URL`, default `https://api.openai.com/v1`); Anthropic
    /// roots are the host root (`ANTHROPIC_BASE_URL`, default
    /// `https://api.anthropic.com`), and a trailing `/v1` given anyway is
    /// dropped so that it is never doubled.
    pub fn base_url(&self) -> String {
        let url = match (&self.base_url, self.kind) {
            (Some(url), _) => url.trim().trim_end_matches('/').to_string(),
            (None, ProviderKind::Anthropic) => DEFAULT_ANTHROPIC_BASE_URL.into(),
            (None, ProviderKind::Local) => LOCAL_BASE_URL.into(),
            (None, _) => DEFAULT_OPENAI_BASE_URL.into(),
        };
        match self.kind {
            ProviderKind::Openai | ProviderKind::OpenaiResponses | ProviderKind::Local => url,
            ProviderKind::Anthropic => url
                .strip_suffix("/v1")
                .map_or(url.clone(), |root| root.trim_end_matches('/').to_string()),
        }
    }

    /// The URL of one API endpoint: `path` relative to the API version root
    /// (`chat/completions`, `messages`, `models`, `embeddings`).
    pub fn endpoint(&self, path: &str) -> String {
        match self.kind {
            ProviderKind::Openai | ProviderKind::OpenaiResponses | ProviderKind::Local => {
                format!("{}/{path}", self.base_url())
            }
            ProviderKind::Anthropic => format!("{}/v1/{path}", self.base_url()),
        }
    }

    /// The server's root (scheme and host, and any path prefix before the
    /// API version), where local servers keep their own routes such as
    /// llama.cpp's `/props` and Ollama's `/api/show`.
    pub fn server_root(&self) -> String {
        let url = self.base_url();
        url.strip_suffix("/v1").map_or(url.clone(), str::to_string)
    }

    /// Whether the provider is the vendor's own API (its default host), whose
    /// model limits confab's table already has.
    pub fn is_vendor_api(&self) -> bool {
        let url = self.base_url();
        url == DEFAULT_OPENAI_BASE_URL || url == DEFAULT_ANTHROPIC_BASE_URL
    }
}

/// The OpenAI API root, as the SDK's default `base_url`.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// What the local provider's `base_url` reads as (nothing is sent there).
pub const LOCAL_BASE_URL: &str = "local:";
/// The Anthropic API root, as the SDK's default `base_url` (no `/v1`).
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// Per-model facts that override the built-in model table (`[models.NAME]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelOverride {
    /// Context window in tokens.
    #[serde(default)]
    pub context_window: Option<u64>,
    /// Largest output the model allows.
    #[serde(default)]
    pub max_output_tokens: Option<u64>,
    /// Encoding used to count its tokens (`o200k_base` or `cl100k_base`).
    #[serde(default)]
    pub encoding: Option<String>,
    /// Compaction threshold for this model, overriding `[compaction] threshold`.
    #[serde(default)]
    pub compact_at: Option<f32>,
}

/// A model spec resolved to a provider and the model id its API knows.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedModel {
    /// The provider's name in config (`openai`, `ollama`...).
    pub provider_name: String,
    /// The provider's settings.
    pub provider: ProviderConfig,
    /// The model id sent to the API.
    pub model: String,
}
