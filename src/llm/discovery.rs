//! Model limits learned from the server that serves the model.
//!
//! confab's own table knows the vendors' models; a local server or a proxy
//! knows better what it serves (llama.cpp started with `-c 4096`, LiteLLM's
//! `model_info`, Ollama's `num_ctx`). When a provider is not the vendor's own
//! API, confab asks it once and keeps the answer in `model-limits.json` in
//! the cache directory, per provider, base URL and model, for a day (an
//! hour when the server said nothing useful), so a server that does not
//! answer costs at most one short request per TTL and never fails a chat.
//!
//! What is asked, in order, stopping at the first answer that gives a
//! context window:
//! - `GET {base}/models` (OpenAI-style: LiteLLM `max_input_tokens` /
//!   `max_output_tokens`, LM Studio `max_context_length`, vLLM
//!   `max_model_len`, OpenRouter `context_length`, llama.cpp `meta`);
//! - `GET {root}/props` (llama.cpp's own server: the slot's `n_ctx`);
//! - `POST {root}/api/show` (Ollama: `num_ctx` when set, else the model's
//!   `context_length`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::llm::client::Client;
use crate::llm::models::{fully_configured, model_info, ModelInfo};
use crate::llm::provider::ProviderConfig;

/// How long limits a server gave are kept.
pub const FOUND_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long "the server said nothing" is kept before asking again.
pub const NOT_FOUND_TTL: Duration = Duration::from_secs(3600);
/// The longest one probe request may take, connection included.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest probe response read (a model list of a big proxy fits).
const PROBE_BODY_LIMIT: usize = 8 << 20;
/// Limits above this are not believed (a garbled or hostile answer).
const MAX_BELIEVED_LIMIT: u64 = 100_000_000;
/// The largest cache file read (far more than any real one: an entry is
/// a few hundred bytes); a larger one is ignored and rewritten.
const CACHE_FILE_LIMIT: u64 = 4 << 20;
/// The cache file's name in the cache directory.
const CACHE_FILE: &str = "model-limits.json";

/// What a server said about one model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerLimits {
    /// Prompt plus output, in tokens (or the largest prompt, when the
    /// server gives only that).
    pub context_window: Option<u64>,
    /// The largest output.
    pub max_output_tokens: Option<u64>,
    /// Where the numbers came from, such as `GET /v1/models max_input_tokens`.
    pub source: String,
}

/// One cached answer (or the lack of one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedLimits {
    /// The provider's name in config.
    pub provider: String,
    /// The base URL asked.
    pub base_url: String,
    /// The model.
    pub model: String,
    /// When it was asked, in seconds since the Unix epoch.
    pub fetched_at: u64,
    /// What the server said; `None` when it said nothing useful.
    pub limits: Option<ServerLimits>,
    /// Why nothing was learned, when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CachedLimits {
    /// Whether the entry is still to be believed at `now`.
    pub fn is_fresh(&self, now: u64) -> bool {
        let ttl = if self.limits.is_some() {
            FOUND_TTL
        } else {
            NOT_FOUND_TTL
        };
        now.saturating_sub(self.fetched_at) < ttl.as_secs() && self.fetched_at <= now + 60
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    v: u32,
    #[serde(default)]
    entries: Vec<CachedLimits>,
}

/// The cache of learned limits, `model-limits.json` in the cache directory.
pub struct LimitsCache {
    path: PathBuf,
}

impl LimitsCache {
    /// The cache in `cache_dir`.
    pub fn in_cache_dir(cache_dir: &Path) -> LimitsCache {
        LimitsCache {
            path: cache_dir.join(CACHE_FILE),
        }
    }

    /// Every entry, fresh or not. A missing or unreadable file is empty:
    /// the cache only saves requests.
    pub fn entries(&self) -> Vec<CachedLimits> {
        let Ok(text) = read_bounded(&self.path, CACHE_FILE_LIMIT) else {
            return Vec::new();
        };
        serde_json::from_str::<CacheFile>(&text)
            .map(|file| file.entries)
            .unwrap_or_default()
    }

    /// The fresh entry for a provider, base URL and model, if any.
    pub fn lookup(&self, provider: &str, base_url: &str, model: &str) -> Option<CachedLimits> {
        let now = unix_now();
        self.entries()
            .into_iter()
            .find(|e| e.provider == provider && e.base_url == base_url && e.model == model)
            .filter(|e| e.is_fresh(now))
    }

    /// Replaces the entry for the same provider, base URL and model. The
    /// file is rewritten through a temporary file and a rename, so a reader
    /// never sees half of it; a failure to write is only a lost saving.
    pub fn store(&self, entry: CachedLimits) -> std::io::Result<()> {
        let mut entries: Vec<CachedLimits> = self
            .entries()
            .into_iter()
            .filter(|e| {
                !(e.provider == entry.provider
                    && e.base_url == entry.base_url
                    && e.model == entry.model)
            })
            .collect();
        entries.push(entry);
        let text = serde_json::to_string_pretty(&CacheFile { v: 1, entries })
            .map_err(std::io::Error::other)?;
        if let Some(dir) = self.path.parent() {
            crate::private_files::ensure_dir(dir)?;
        }
        crate::private_files::write_atomic(&self.path, text.as_bytes())
    }

    /// Forgets every entry of `provider` (all of them when `None`).
    pub fn forget(&self, provider: Option<&str>) -> std::io::Result<()> {
        let entries: Vec<CachedLimits> = self
            .entries()
            .into_iter()
            .filter(|e| provider.is_some_and(|p| p != e.provider))
            .collect();
        let text = serde_json::to_string_pretty(&CacheFile { v: 1, entries })
            .map_err(std::io::Error::other)?;
        if !self.path.exists() {
            return Ok(());
        }
        crate::private_files::write_atomic(&self.path, text.as_bytes())
    }
}

/// The file's text, if it is no larger than `limit` bytes.
fn read_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    let file = std::fs::File::open(path)?;
    file.take(limit + 1).read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(std::io::Error::other("the limits cache is too large"));
    }
    Ok(text)
}

/// Seconds since the Unix epoch (the clock the cache's ages are kept in).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The limits of `model` on `provider`: from the cache when fresh, else
/// asked of the server (and cached). `None` when the server said nothing.
pub fn limits_for(
    client: &Client,
    cache: &LimitsCache,
    provider_name: &str,
    provider: &ProviderConfig,
    model: &str,
) -> Option<ServerLimits> {
    // Kept in the cache file and shown by `confab models`: no credentials.
    let base_url = crate::safe_text::redact_url(&provider.base_url());
    if let Some(entry) = cache.lookup(provider_name, &base_url, model) {
        return entry.limits;
    }
    let (limits, note) = match probe(client, provider, model) {
        Ok(Some(limits)) => (Some(limits), None),
        Ok(None) => (
            None,
            Some("the server gave no limits for this model".into()),
        ),
        Err(why) => (None, Some(why)),
    };
    let _ = cache.store(CachedLimits {
        provider: provider_name.to_string(),
        base_url,
        model: model.to_string(),
        fetched_at: unix_now(),
        limits: limits.clone(),
        note,
    });
    limits
}

/// The limits of a resolved model: config, then what its server says
/// (asked once per TTL, unless it is the vendor's own API, discovery is
/// off for the provider, or config already gives both limits), then the
/// built-in table, then defaults.
pub fn model_limits(
    client: &Client,
    cache: &LimitsCache,
    overrides: &std::collections::BTreeMap<String, crate::llm::provider::ModelOverride>,
    resolved: &crate::llm::provider::ResolvedModel,
) -> ModelInfo {
    let provider = &resolved.provider;
    let server = (provider.discover_limits
        && !provider.is_vendor_api()
        && !fully_configured(&resolved.model, overrides))
    .then(|| client.server_limits(cache, &resolved.provider_name, provider, &resolved.model))
    .flatten();
    model_info(&resolved.model, overrides, server.as_ref())
}

/// Asks the server, in the order the module documents. `Err` when the
/// server could not be reached at all (then nothing more is tried).
pub fn probe(
    client: &Client,
    provider: &ProviderConfig,
    model: &str,
) -> Result<Option<ServerLimits>, String> {
    let prober = Prober { client };
    let listed = match prober.get(&provider.endpoint("models")) {
        Ok(Some(body)) => parse_models(&body, model),
        Ok(None) => ListedModel::default(),
        Err(why) => return Err(why),
    };
    if listed.limits.context_window.is_some() && !listed.llama_cpp {
        return Ok(Some(listed.limits));
    }
    let listed = listed
        .limits
        .context_window
        .is_some()
        .then_some(listed.limits);
    let root = provider.server_root();
    // A server that stops answering is asked nothing more.
    let Ok(props) = prober.get(&format!("{root}/props")) else {
        return Ok(listed);
    };
    if let Some(limits) = props.as_deref().and_then(parse_llama_props) {
        return Ok(Some(limits));
    }
    if listed.is_some() {
        return Ok(listed);
    }
    let show = serde_json::json!({ "model": model }).to_string();
    let shown = prober.post(&format!("{root}/api/show"), &show);
    Ok(shown.ok().flatten().as_deref().and_then(parse_ollama_show))
}

/// Short side requests with the provider's credentials, never redirected.
struct Prober<'a> {
    client: &'a Client,
}

impl Prober<'_> {
    /// The body of a 2xx answer, `None` for any other status, `Err` when
    /// the server could not be reached.
    fn get(&self, url: &str) -> Result<Option<String>, String> {
        self.client
            .side_request(url, None, PROBE_TIMEOUT, PROBE_BODY_LIMIT)
    }

    fn post(&self, url: &str, body: &str) -> Result<Option<String>, String> {
        self.client
            .side_request(url, Some(body), PROBE_TIMEOUT, PROBE_BODY_LIMIT)
    }
}

/// What `/v1/models` said of the model.
#[derive(Debug, Default)]
struct ListedModel {
    limits: ServerLimits,
    /// The list came from llama.cpp's server, whose `/props` knows the
    /// context it was started with (the list has only the training length).
    llama_cpp: bool,
}

/// A believable limit: a positive integer below [`MAX_BELIEVED_LIMIT`].
fn limit(value: Option<&serde_json::Value>) -> Option<u64> {
    let value = value?;
    let number = value
        .as_u64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as u64)
        })
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))?;
    (1..=MAX_BELIEVED_LIMIT).contains(&number).then_some(number)
}

/// Whether a listed id names `model` (Ollama lists `llama3.2:latest` for
/// `llama3.2`; some proxies prefix the provider).
fn names_model(id: &str, model: &str) -> bool {
    id == model
        || id.strip_suffix(":latest") == Some(model)
        || model.strip_suffix(":latest") == Some(id)
        || id.rsplit_once('/').is_some_and(|(_, tail)| tail == model)
}

/// Reads an OpenAI-style model list for the entry of `model`.
fn parse_models(body: &str, model: &str) -> ListedModel {
    let Ok(list) = serde_json::from_str::<serde_json::Value>(body) else {
        return ListedModel::default();
    };
    let entries = list
        .get("data")
        .or_else(|| list.get("models"))
        .and_then(|d| d.as_array())
        .cloned()
        .unwrap_or_default();
    let Some(entry) = entries.iter().find(|e| {
        ["id", "name", "model"].iter().any(|k| {
            e.get(k)
                .and_then(|v| v.as_str())
                .is_some_and(|id| names_model(id, model))
        })
    }) else {
        return ListedModel::default();
    };
    let llama_cpp = entry.get("owned_by").and_then(|v| v.as_str()) == Some("llamacpp")
        || entry
            .get("meta")
            .is_some_and(|m| m.get("n_ctx_train").is_some());
    let info = entry.get("model_info").unwrap_or(entry);
    let window_fields = [
        ("max_model_len", "vLLM max_model_len"),
        ("max_context_length", "max_context_length"),
        ("context_length", "context_length"),
        ("context_window", "context_window"),
        ("max_input_tokens", "max_input_tokens"),
    ];
    let mut limits = ServerLimits::default();
    let mut sources = Vec::new();
    for (field, name) in window_fields {
        if let Some(n) = limit(info.get(field).or_else(|| entry.get(field))) {
            limits.context_window = Some(n);
            sources.push(name);
            break;
        }
    }
    if limits.context_window.is_none() {
        let meta = entry.get("meta");
        if let Some(n) = limit(meta.and_then(|m| m.get("n_ctx")))
            .or_else(|| limit(meta.and_then(|m| m.get("n_ctx_train"))))
        {
            limits.context_window = Some(n);
            sources.push("meta n_ctx_train");
        }
    }
    for field in ["max_output_tokens", "max_completion_tokens", "max_tokens"] {
        if let Some(n) = limit(info.get(field).or_else(|| entry.get(field))) {
            limits.max_output_tokens = Some(n);
            sources.push(field);
            break;
        }
    }
    limits.source = format!("GET /v1/models {}", sources.join(", "));
    ListedModel { limits, llama_cpp }
}

/// Reads llama.cpp's `/props`: the context of one slot, which is what one
/// request may use.
fn parse_llama_props(body: &str) -> Option<ServerLimits> {
    let props: serde_json::Value = serde_json::from_str(body).ok()?;
    let n_ctx = limit(props.pointer("/default_generation_settings/n_ctx"))
        .or_else(|| limit(props.get("n_ctx")))?;
    Some(ServerLimits {
        context_window: Some(n_ctx),
        max_output_tokens: None,
        source: "GET /props n_ctx (llama.cpp)".into(),
    })
}

/// Reads Ollama's `/api/show`: `num_ctx` among the parameters when the
/// model sets one (that is what the server runs it with), else the
/// architecture's `context_length`.
fn parse_ollama_show(body: &str) -> Option<ServerLimits> {
    let show: serde_json::Value = serde_json::from_str(body).ok()?;
    let num_ctx = show
        .get("parameters")
        .and_then(|p| p.as_str())
        .and_then(|parameters| {
            parameters.lines().find_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some("num_ctx"))
                    .then(|| words.next()?.parse::<u64>().ok())
                    .flatten()
            })
        })
        .filter(|n| (1..=MAX_BELIEVED_LIMIT).contains(n));
    if let Some(n) = num_ctx {
        return Some(ServerLimits {
            context_window: Some(n),
            max_output_tokens: None,
            source: "POST /api/show num_ctx (Ollama)".into(),
        });
    }
    let length = show
        .get("model_info")
        .and_then(|m| m.as_object())?
        .iter()
        .find(|(key, _)| key.ends_with(".context_length"))
        .and_then(|(_, v)| limit(Some(v)))?;
    Some(ServerLimits {
        context_window: Some(length),
        max_output_tokens: None,
        source: "POST /api/show context_length (Ollama)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_limits_each_server_lists() {
        let litellm = r#"{"data":[{"id":"other","object":"model"},
            {"id":"mock-gpt","object":"model","max_input_tokens":128000,"max_output_tokens":16384}]}"#;
        let listed = parse_models(litellm, "mock-gpt");
        assert_eq!(listed.limits.context_window, Some(128_000));
        assert_eq!(listed.limits.max_output_tokens, Some(16_384));
        assert!(listed.limits.source.contains("max_input_tokens"));
        assert!(!listed.llama_cpp);

        let vllm = r#"{"object":"list","data":[{"id":"Qwen/Qwen2.5-7B","max_model_len":32768}]}"#;
        assert_eq!(
            parse_models(vllm, "Qwen/Qwen2.5-7B").limits.context_window,
            Some(32_768)
        );
        let lm_studio = r#"{"data":[{"id":"qwen2.5-7b-instruct","max_context_length":"32768"}]}"#;
        assert_eq!(
            parse_models(lm_studio, "qwen2.5-7b-instruct")
                .limits
                .context_window,
            Some(32_768)
        );
        let llama =
            r#"{"data":[{"id":"gemma.gguf","owned_by":"llamacpp","meta":{"n_ctx_train":32768}}]}"#;
        let listed = parse_models(llama, "gemma.gguf");
        assert!(listed.llama_cpp);
        assert_eq!(listed.limits.context_window, Some(32_768));
        let ollama = r#"{"object":"list","data":[{"id":"llama3.2:latest","owned_by":"library"}]}"#;
        assert_eq!(parse_models(ollama, "llama3.2").limits.context_window, None);
    }

    #[test]
    fn distrusts_garbage_and_absurd_numbers() {
        for body in [
            "<html>",
            r#"{"data":"x"}"#,
            r#"{"data":[{"id":"m","max_model_len":-5}]}"#,
            r#"{"data":[{"id":"m","max_model_len":0}]}"#,
            r#"{"data":[{"id":"m","max_model_len":1e300}]}"#,
            r#"{"data":[{"id":"m","max_model_len":4096.5}]}"#,
            r#"{"data":[{"id":"m","max_model_len":"NaN"}]}"#,
            r#"{"data":[{"id":"m","max_model_len":99999999999}]}"#,
        ] {
            assert_eq!(
                parse_models(body, "m").limits.context_window,
                None,
                "{body}"
            );
        }
    }

    #[test]
    fn reads_llama_cpp_props_and_ollama_show() {
        let props = r#"{"default_generation_settings":{"n_ctx":4096,"params":{}},"total_slots":1}"#;
        assert_eq!(
            parse_llama_props(props).and_then(|l| l.context_window),
            Some(4096)
        );
        assert_eq!(parse_llama_props(r#"{"total_slots":1}"#), None);
        let with_num_ctx = r#"{"parameters":"stop \"<|eot_id|>\"\nnum_ctx 8192","model_info":{"llama.context_length":131072}}"#;
        assert_eq!(
            parse_ollama_show(with_num_ctx).and_then(|l| l.context_window),
            Some(8192)
        );
        let without =
            r#"{"model_info":{"general.architecture":"llama","llama.context_length":131072}}"#;
        let limits = parse_ollama_show(without).expect("limits");
        assert_eq!(limits.context_window, Some(131_072));
        assert!(limits.source.contains("context_length"));
    }

    #[test]
    fn cache_keeps_one_entry_per_key_and_expires() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = LimitsCache::in_cache_dir(dir.path());
        let entry = |fetched_at: u64, window: Option<u64>| CachedLimits {
            provider: "local".into(),
            base_url: "http://127.0.0.1:1/v1".into(),
            model: "m".into(),
            fetched_at,
            limits: window.map(|w| ServerLimits {
                context_window: Some(w),
                max_output_tokens: None,
                source: "test".into(),
            }),
            note: None,
        };
        let now = unix_now();
        cache.store(entry(now, Some(4096))).expect("store");
        cache.store(entry(now, Some(2048))).expect("store");
        assert_eq!(cache.entries().len(), 1);
        let found = cache.lookup("local", "http://127.0.0.1:1/v1", "m");
        assert_eq!(
            found.and_then(|e| e.limits).and_then(|l| l.context_window),
            Some(2048)
        );
        assert!(cache
            .lookup("local", "http://127.0.0.1:2/v1", "m")
            .is_none());
        cache
            .store(entry(now - FOUND_TTL.as_secs() - 1, Some(1)))
            .expect("store");
        assert!(cache
            .lookup("local", "http://127.0.0.1:1/v1", "m")
            .is_none());
        cache
            .store(entry(now - NOT_FOUND_TTL.as_secs() + 60, None))
            .expect("store");
        assert!(cache
            .lookup("local", "http://127.0.0.1:1/v1", "m")
            .is_some());
        std::fs::write(dir.path().join(CACHE_FILE), "{not json").expect("write");
        assert!(cache.entries().is_empty());
    }
}
