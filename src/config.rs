//! confab's configuration: where its files live (config, data and cache
//! directories) and what `config.toml` says (providers, aliases, models).
//!
//! They follow the platform's conventions (XDG on Linux) through the
//! `directories` crate; `CONFAB_HOME` puts all of them under one directory,
//! which is what tests and CI use. `config.toml` is loaded in layers:
//! typed defaults, then the file, then the environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::env::{Environment, ProcessEnvironment};
pub use crate::llm::provider::{
    ModelOverride, ProviderConfig, ProviderKind, ResolvedModel, DEFAULT_ANTHROPIC_BASE_URL,
    DEFAULT_OPENAI_BASE_URL,
};

/// The environment variable that overrides every confab directory.
pub const HOME_ENV: &str = "CONFAB_HOME";

/// The directories confab reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// Holds `config.toml`.
    pub config_dir: PathBuf,
    /// Holds conversations, the usage log, the audit log and RAG indexes.
    pub data_dir: PathBuf,
    /// Holds the semantic cache.
    pub cache_dir: PathBuf,
}

/// The error when no directory can be found for confab's files.
#[derive(Debug, thiserror::Error)]
#[error("cannot find a home directory for confab's files")]
pub struct NoHomeDirectory;

impl Paths {
    /// Resolves the directories from `CONFAB_HOME`, else the platform's
    /// defaults. Creates nothing.
    pub fn resolve() -> Result<Paths, NoHomeDirectory> {
        match std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            Some(home) => Ok(Paths::under(PathBuf::from(home))),
            None => {
                let dirs =
                    directories::ProjectDirs::from("", "", "confab").ok_or(NoHomeDirectory)?;
                Ok(Paths {
                    config_dir: dirs.config_dir().to_path_buf(),
                    data_dir: dirs.data_dir().to_path_buf(),
                    cache_dir: dirs.cache_dir().to_path_buf(),
                })
            }
        }
    }

    /// All directories under one root: config in the root itself, data in
    /// `data/`, cache in `cache/`.
    pub fn under(root: PathBuf) -> Paths {
        Paths {
            data_dir: root.join("data"),
            cache_dir: root.join("cache"),
            config_dir: root,
        }
    }

    /// The config file.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }
}

/// `config.toml`, typed. Every field has a default, so an empty file is valid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The model used without `-m`: `provider:model`, a model, or an alias.
    #[serde(default)]
    pub default_model: Option<String>,
    /// The output cap used without `--max-tokens` (else the model's default).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Named providers.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// True when no provider was configured and no API key set, and the
    /// installed local model stands in as the `local` provider.
    #[serde(skip)]
    pub local_fallback: bool,
    /// Short names for `provider:model` specs.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Overrides of the model table.
    #[serde(default)]
    pub models: BTreeMap<String, ModelOverride>,
    /// Keep prompt text in the usage log.
    #[serde(default)]
    pub log_prompts: bool,
    /// Render the Markdown of replies on a terminal (`--raw` turns it off
    /// for one run; pipes always get the exact text).
    #[serde(default = "render_by_default")]
    pub render: bool,
    /// Put Anthropic prompt-cache breakpoints on every request (as
    /// `chat --cache-prompt` does for one run).
    #[serde(default)]
    pub cache_prompt: bool,
    /// How long marked prefixes stay cached: `5m` (the default) or `1h`.
    #[serde(default)]
    pub cache_prompt_ttl: crate::llm::CacheTtl,
    /// Rolling compaction of long conversations.
    #[serde(default)]
    pub compaction: crate::conversation::compaction::CompactionSettings,
    /// The team store (Postgres) usage is pushed to and reported from.
    #[serde(default)]
    pub store: crate::store::StoreConfig,
    /// Tools the model may call (`[tools.NAME]`); no others exist.
    #[serde(default)]
    pub tools: BTreeMap<String, crate::tools::ToolConfig>,
    /// MCP servers whose allowed tools the model may call
    /// (`[mcp_servers.NAME]`); started on first use.
    #[serde(default)]
    pub mcp_servers: BTreeMap<String, crate::tools::mcp::McpServerConfig>,
    /// Limits of tool calling: rounds per turn, output size.
    #[serde(default)]
    pub tool_settings: crate::tools::ToolSettings,
    /// What to do with injection-like input and secrets.
    #[serde(default)]
    pub guard: crate::guard::GuardConfig,
    /// The semantic response cache.
    #[serde(default)]
    pub cache: crate::cache::CacheSettings,
    /// OpenTelemetry export (off unless an endpoint is set).
    #[serde(default)]
    pub telemetry: crate::telemetry::TelemetryConfig,
}

fn render_by_default() -> bool {
    true
}

impl Default for Config {
    fn default() -> Config {
        Config {
            default_model: None,
            max_tokens: None,
            providers: BTreeMap::new(),
            local_fallback: false,
            aliases: BTreeMap::new(),
            models: BTreeMap::new(),
            log_prompts: false,
            render: render_by_default(),
            cache_prompt: false,
            cache_prompt_ttl: crate::llm::CacheTtl::FiveMinutes,
            compaction: Default::default(),
            store: Default::default(),
            tools: BTreeMap::new(),
            mcp_servers: BTreeMap::new(),
            tool_settings: Default::default(),
            guard: Default::default(),
            cache: Default::default(),
            telemetry: Default::default(),
        }
    }
}

/// Errors of loading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A number in the file is out of range (or not finite).
    #[error("{path}: `{key} = {value}` is out of range: use {allowed}")]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// The key, with its table (`providers.local.max_retries`).
        key: String,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// A table makes no sense (an MCP server with both `command` and `url`...).
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// The file is not valid TOML for confab.
    #[error("{path} is not a valid confab config: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with the line.
        message: String,
    },
}

impl Config {
    /// Loads the configuration in layers: serde defaults, then
    /// `config.toml` (if present), then the environment: built-in `openai`
    /// and `anthropic` providers appear when `OPENAI_API_KEY` /
    /// `ANTHROPIC_API_KEY` are set and the file does not define them;
    /// `OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL` override their base URLs;
    /// `CONFAB_MODEL` overrides the default model. Writes nothing.
    pub fn load(paths: &Paths, env: &dyn Environment) -> Result<Config, ConfigError> {
        let path = paths.config_file();
        let mut config = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<Config>(&text).map_err(|err| ConfigError::Parse {
                path: path.clone(),
                message: err.to_string(),
            })?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        for (name, kind, key_env, url_env) in [
            (
                "openai",
                ProviderKind::Openai,
                "OPENAI_API_KEY",
                "OPENAI_BASE_URL",
            ),
            (
                "anthropic",
                ProviderKind::Anthropic,
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_BASE_URL",
            ),
        ] {
            if !config.providers.contains_key(name) && env.var(key_env).is_some() {
                let mut provider = ProviderConfig::new(kind);
                provider.api_key_env = Some(key_env.to_string());
                config.providers.insert(name.to_string(), provider);
            }
            if let (Some(provider), Some(url)) = (config.providers.get_mut(name), env.var(url_env))
            {
                provider.base_url = Some(url);
            }
        }
        if let Some(model) = env.var("CONFAB_MODEL") {
            config.default_model = Some(model);
        }
        for provider in config.providers.values_mut() {
            // An in-process model costs nothing, whatever the file says.
            provider.free |= provider.kind == ProviderKind::Local;
        }
        if config.providers.is_empty() && crate::local::install::any_installed(&paths.cache_dir) {
            config
                .providers
                .insert(crate::local::PROVIDER.into(), ProviderConfig::local());
            config.local_fallback = true;
        }
        config.validate(&path)?;
        Ok(config)
    }

    /// Checks every number the file can set: finite and in its range, so a
    /// typo is an error naming the key, not a nonsense run.
    fn validate(&self, path: &std::path::Path) -> Result<(), ConfigError> {
        let mut checks: Vec<(String, f64, f64, f64, &'static str)> = Vec::new();
        let mut check =
            |key: String, value: f64, (low, high, allowed): (f64, f64, &'static str)| {
                checks.push((key, value, low, high, allowed));
            };
        const SECONDS: (f64, f64, &str) = (1.0, 86_400.0, "1 to 86400 seconds");
        const TOKENS: (f64, f64, &str) = (1.0, 100_000_000.0, "1 to 100000000 tokens");
        const FRACTION: (f64, f64, &str) = (0.05, 1.0, "a fraction from 0.05 to 1.0");
        if let Some(cap) = self.max_tokens {
            check("max_tokens".into(), cap.into(), TOKENS);
        }
        for (name, p) in &self.providers {
            let key = |k: &str| format!("providers.{name}.{k}");
            check(
                key("connect_timeout_secs"),
                p.connect_timeout_secs as f64,
                SECONDS,
            );
            check(
                key("read_timeout_secs"),
                p.read_timeout_secs as f64,
                SECONDS,
            );
            check(
                key("total_timeout_secs"),
                p.total_timeout_secs as f64,
                SECONDS,
            );
            check(
                key("max_retries"),
                p.max_retries.into(),
                (0.0, 20.0, "0 to 20"),
            );
        }
        for (name, m) in &self.models {
            let key = |k: &str| format!("models.\"{name}\".{k}");
            if let Some(window) = m.context_window {
                check(key("context_window"), window as f64, TOKENS);
            }
            if let Some(max) = m.max_output_tokens {
                check(key("max_output_tokens"), max as f64, TOKENS);
            }
            if let Some(at) = m.compact_at {
                check(key("compact_at"), at.into(), FRACTION);
            }
        }
        let c = &self.compaction;
        check("compaction.threshold".into(), c.threshold.into(), FRACTION);
        check(
            "compaction.keep_last".into(),
            c.keep_last as f64,
            (0.0, 10_000.0, "0 to 10000"),
        );
        check(
            "compaction.summary_max_tokens".into(),
            c.summary_max_tokens.into(),
            TOKENS,
        );
        check(
            "cache.threshold".into(),
            self.cache.threshold.into(),
            (0.0, 1.0, "a similarity from 0 to 1"),
        );
        check(
            "cache.max_entries".into(),
            self.cache.max_entries as f64,
            (1.0, 10_000_000.0, "1 to 10000000"),
        );
        let t = &self.tool_settings;
        check(
            "tool_settings.max_rounds".into(),
            t.max_rounds.into(),
            (1.0, 100.0, "1 to 100"),
        );
        check(
            "tool_settings.output_limit_bytes".into(),
            t.output_limit_bytes as f64,
            (1.0, 67_108_864.0, "1 to 67108864 bytes"),
        );
        if let Some(ms) = self.telemetry.flush_timeout_ms {
            check(
                "telemetry.flush_timeout_ms".into(),
                ms as f64,
                (50.0, 60_000.0, "50 to 60000 milliseconds"),
            );
        }
        for (name, tool) in &self.tools {
            check(
                format!("tools.{name}.timeout_secs"),
                tool.timeout_secs as f64,
                SECONDS,
            );
        }
        for (name, server) in &self.mcp_servers {
            if let Some(message) = server.problem(name) {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message,
                });
            }
            check(
                format!("mcp_servers.{name}.timeout_secs"),
                server.timeout_secs as f64,
                SECONDS,
            );
        }
        match checks
            .into_iter()
            .find(|(_, value, low, high, _)| !(value.is_finite() && (*low..=*high).contains(value)))
        {
            Some((key, value, _, _, allowed)) => Err(ConfigError::OutOfRange {
                path: path.to_path_buf(),
                key,
                value: value.to_string(),
                allowed,
            }),
            None => Ok(()),
        }
    }

    /// The configuration as TOML with every secret masked, for `confab config`.
    pub fn to_masked_toml(&self) -> String {
        let mut masked = self.clone();
        for provider in masked.providers.values_mut() {
            if provider.api_key.is_some() {
                provider.api_key = Some("********".into());
            }
            provider.base_url = provider
                .base_url
                .as_deref()
                .map(crate::safe_text::redact_url);
        }
        // MCP headers carry tokens, unless they name a variable.
        for server in masked.mcp_servers.values_mut() {
            for value in server.headers.values_mut() {
                if !value.contains("${") {
                    *value = "********".into();
                }
            }
            server.url = server.url.as_deref().map(crate::safe_text::redact_url);
        }
        // Export headers carry credentials (Langfuse's Basic auth).
        for value in masked.telemetry.headers.values_mut() {
            *value = "********".into();
        }
        masked.telemetry.endpoint = masked
            .telemetry
            .endpoint
            .as_deref()
            .map(crate::safe_text::redact_url);
        toml::to_string_pretty(&masked).unwrap_or_else(|err| format!("# cannot show: {err}\n"))
    }
}

/// Why a model spec could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No provider is configured at all.
    #[error("no model provider is configured")]
    NoProvider,
    /// The spec names a provider that is not configured.
    #[error("no provider named `{0}` is configured")]
    UnknownProvider(String),
    /// The spec names a provider without saying which model, and it has no default.
    #[error("provider `{0}` has no default_model; name one as `{0}:MODEL`")]
    NoDefaultModel(String),
    /// Several providers could serve the model.
    #[error("cannot tell which provider serves `{model}`; configured: {providers}")]
    Ambiguous {
        /// The model as given.
        model: String,
        /// The configured provider names.
        providers: String,
    },
}

impl Config {
    /// `local` or `local:NAME` when config has no provider named `local`:
    /// the built-in local model.
    fn builtin_local(&self, spec: &str) -> Option<ResolvedModel> {
        let name = crate::local::PROVIDER;
        if self.providers.contains_key(name) {
            return None;
        }
        let model = match spec.split_once(':') {
            Some((provider, model)) if provider == name => model,
            None if spec == name => crate::local::catalog::DEFAULT.name,
            _ => return None,
        };
        Some(ResolvedModel {
            provider_name: name.into(),
            provider: ProviderConfig::local(),
            model: model.into(),
        })
    }

    /// The providers whose calls cost nothing (`free = true`, and the
    /// built-in local model), for pricing.
    pub fn free_providers(&self) -> std::collections::HashSet<String> {
        let mut free: std::collections::HashSet<String> = self
            .providers
            .iter()
            .filter(|(_, p)| p.free)
            .map(|(name, _)| name.clone())
            .collect();
        if !self.providers.contains_key(crate::local::PROVIDER) {
            free.insert(crate::local::PROVIDER.into());
        }
        free
    }
}

/// The model a provider kind uses when nothing else says which.
fn builtin_default_model(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Openai | ProviderKind::OpenaiResponses => "gpt-4o-mini",
        ProviderKind::Anthropic => "claude-sonnet-4-5",
        ProviderKind::Local => crate::local::catalog::DEFAULT.name,
    }
}

impl Config {
    /// Resolves `-m SPEC` (or the default model): `provider:model`, an
    /// alias, a provider name, or a bare model served by the one provider
    /// that fits (Claude models by the Anthropic-kind provider, GPT and o-series
    /// by one named `openai`).
    pub fn resolve_model(&self, spec: Option<&str>) -> Result<ResolvedModel, ResolveError> {
        if let Some(local) = spec.and_then(|s| self.builtin_local(s)) {
            return Ok(local);
        }
        if self.providers.is_empty() {
            return Err(ResolveError::NoProvider);
        }
        let spec = spec
            .map(str::to_string)
            .or_else(|| self.default_model.clone());
        let spec = spec.map(|s| self.aliases.get(&s).cloned().unwrap_or(s));
        let pick = |name: &str, model: Option<&str>| -> Result<ResolvedModel, ResolveError> {
            let provider = self
                .providers
                .get(name)
                .ok_or_else(|| ResolveError::UnknownProvider(name.to_string()))?;
            let model = match model {
                Some(m) => m.to_string(),
                None => provider
                    .default_model
                    .clone()
                    .unwrap_or_else(|| builtin_default_model(provider.kind).to_string()),
            };
            Ok(ResolvedModel {
                provider_name: name.to_string(),
                provider: provider.clone(),
                model,
            })
        };
        let Some(spec) = spec else {
            // No spec: the only provider, else `openai`, else `anthropic`.
            let name = if self.providers.len() == 1 {
                self.providers.keys().next().cloned()
            } else {
                ["openai", "anthropic"]
                    .into_iter()
                    .find(|n| self.providers.contains_key(*n))
                    .map(str::to_string)
            };
            return match name {
                Some(name) => pick(&name, None),
                None => Err(ResolveError::Ambiguous {
                    model: "(no -m and no default_model)".into(),
                    providers: self.provider_names(),
                }),
            };
        };
        if let Some((prefix, model)) = spec.split_once(':') {
            if self.providers.contains_key(prefix) {
                return pick(prefix, Some(model));
            }
        }
        if self.providers.contains_key(&spec) {
            return pick(&spec, None);
        }
        if self.providers.len() == 1 {
            let name = self.providers.keys().next().cloned().unwrap_or_default();
            return pick(&name, Some(&spec));
        }
        let wanted_kind = if spec.starts_with("claude") {
            Some(ProviderKind::Anthropic)
        } else if spec.starts_with("gpt-")
            || spec.starts_with('o') && spec[1..].starts_with(|c: char| c.is_ascii_digit())
        {
            Some(ProviderKind::Openai)
        } else {
            None
        };
        let candidates: Vec<&String> = self
            .providers
            .iter()
            .filter(|(_, p)| {
                wanted_kind
                    .is_none_or(|k| p.kind == k || k.is_openai_style() && p.kind.is_openai_style())
            })
            .map(|(n, _)| n)
            .collect();
        let preferred = match wanted_kind {
            Some(ProviderKind::Anthropic) => "anthropic",
            Some(_) => "openai",
            None => "",
        };
        if candidates.iter().any(|n| *n == preferred) {
            return pick(preferred, Some(&spec));
        }
        match candidates.as_slice() {
            [only] => pick(only, Some(&spec)),
            _ => Err(ResolveError::Ambiguous {
                model: spec.clone(),
                providers: self.provider_names(),
            }),
        }
    }

    fn provider_names(&self) -> String {
        self.providers
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An example `config.toml` for a local Ollama, for error hints and the README.
pub const OLLAMA_EXAMPLE: &str = r#"[providers.ollama]
kind = "openai"
base_url = "http://localhost:11434/v1"
default_model = "llama3.2"
free = true"#;

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeEnv(Vec<(&'static str, &'static str)>);
    impl Environment for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn base_urls_follow_the_sdk_conventions() {
        let mut anthropic = ProviderConfig::new(ProviderKind::Anthropic);
        assert_eq!(
            anthropic.endpoint("messages"),
            "https://api.anthropic.com/v1/messages"
        );
        for given in [
            "http://127.0.0.1:4000",
            "http://127.0.0.1:4000/",
            "http://127.0.0.1:4000/v1",
            "http://127.0.0.1:4000/v1/",
        ] {
            anthropic.base_url = Some(given.into());
            assert_eq!(
                anthropic.endpoint("messages"),
                "http://127.0.0.1:4000/v1/messages",
                "{given}"
            );
            assert_eq!(anthropic.server_root(), "http://127.0.0.1:4000");
        }
        anthropic.base_url = Some("https://gw.example/anthropic".into());
        assert_eq!(
            anthropic.endpoint("messages"),
            "https://gw.example/anthropic/v1/messages"
        );
        let mut openai = ProviderConfig::new(ProviderKind::Openai);
        assert_eq!(
            openai.endpoint("chat/completions"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert!(openai.is_vendor_api());
        openai.base_url = Some("http://localhost:11434/v1/".into());
        assert_eq!(
            openai.endpoint("chat/completions"),
            "http://localhost:11434/v1/chat/completions"
        );
        assert_eq!(openai.server_root(), "http://localhost:11434");
        assert!(!openai.is_vendor_api());
    }

    #[test]
    fn layers_file_then_environment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = Paths::under(dir.path().to_path_buf());
        let none = Config::load(&paths, &FakeEnv(vec![])).expect("load");
        assert!(none.providers.is_empty());

        let env = FakeEnv(vec![
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
            ("CONFAB_MODEL", "openai:gpt-4o"),
        ]);
        let config = Config::load(&paths, &env).expect("load");
        assert_eq!(
            config.providers["openai"].base_url(),
            "http://127.0.0.1:9/v1"
        );
        assert_eq!(config.default_model.as_deref(), Some("openai:gpt-4o"));

        std::fs::write(
            paths.config_file(),
            format!("default_model = \"ollama:llama3.2\"\n{OLLAMA_EXAMPLE}\n[aliases]\nfast = \"ollama:llama3.2\"\n"),
        )
        .expect("write");
        let config = Config::load(&paths, &FakeEnv(vec![])).expect("load");
        assert_eq!(config.providers["ollama"].kind, ProviderKind::Openai);
        assert_eq!(config.providers["ollama"].read_timeout_secs, 120);
        assert_eq!(config.aliases["fast"], "ollama:llama3.2");

        std::fs::write(paths.config_file(), "[providers.x]\nkind = \"nope\"\n").expect("write");
        let err = Config::load(&paths, &FakeEnv(vec![])).expect_err("invalid");
        assert!(
            err.to_string().contains("not a valid confab config"),
            "{err}"
        );
    }

    #[test]
    fn resolves_model_specs() {
        let mut config = Config::default();
        assert!(matches!(
            config.resolve_model(None),
            Err(ResolveError::NoProvider)
        ));
        config
            .providers
            .insert("openai".into(), ProviderConfig::new(ProviderKind::Openai));
        let mut ollama = ProviderConfig::new(ProviderKind::Openai);
        ollama.default_model = Some("llama3.2".into());
        config.providers.insert("ollama".into(), ollama);
        config.providers.insert(
            "anthropic".into(),
            ProviderConfig::new(ProviderKind::Anthropic),
        );
        config
            .aliases
            .insert("fast".into(), "ollama:qwen2.5:7b".into());
        let r = |spec: Option<&str>| {
            config
                .resolve_model(spec)
                .map(|r| format!("{}:{}", r.provider_name, r.model))
                .map_err(|e| e.to_string())
        };
        assert_eq!(r(None).as_deref(), Ok("openai:gpt-4o-mini"));
        assert_eq!(r(Some("ollama")).as_deref(), Ok("ollama:llama3.2"));
        assert_eq!(
            r(Some("ollama:llama3.2:3b")).as_deref(),
            Ok("ollama:llama3.2:3b")
        );
        assert_eq!(r(Some("fast")).as_deref(), Ok("ollama:qwen2.5:7b"));
        assert_eq!(
            r(Some("claude-opus-4-1")).as_deref(),
            Ok("anthropic:claude-opus-4-1")
        );
        assert_eq!(r(Some("gpt-4.1")).as_deref(), Ok("openai:gpt-4.1"));
        assert_eq!(r(Some("o3-mini")).as_deref(), Ok("openai:o3-mini"));
        assert!(r(Some("mistral")).is_err());
        assert!(r(Some("nope:x")).is_err());
    }

    #[test]
    fn masks_secrets() {
        let mut config = Config::default();
        let mut provider = ProviderConfig::new(ProviderKind::Openai);
        provider.api_key = Some("sk-very-secret".into());
        config.providers.insert("local".into(), provider);
        config
            .telemetry
            .headers
            .insert("Authorization".into(), "Basic cGstbGYtMTpzay1sZi0y".into());
        config.telemetry.endpoint = Some("https://user:pw@collector.example/otel".into());
        let shown = config.to_masked_toml();
        assert!(!shown.contains("sk-very-secret"));
        assert!(!shown.contains("cGstbGYtMTpzay1sZi0y"), "{shown}");
        assert!(!shown.contains("user:pw"), "{shown}");
        assert!(shown.contains("********"));
    }

    #[test]
    fn render_is_on_unless_the_file_turns_it_off() {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = Paths::under(dir.path().to_path_buf());
        assert!(Config::load(&paths, &FakeEnv(vec![])).expect("load").render);
        assert!(Config::default().render);
        assert!(Config::default().to_masked_toml().contains("render = true"));
        std::fs::write(paths.config_file(), "render = false\n").expect("write");
        assert!(!Config::load(&paths, &FakeEnv(vec![])).expect("load").render);
        std::fs::write(paths.config_file(), "render = \"no\"\n").expect("write");
        let err = Config::load(&paths, &FakeEnv(vec![])).expect_err("a string is not a bool");
        assert!(err.to_string().contains("render"), "{err}");
    }
}
