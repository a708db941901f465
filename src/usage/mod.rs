//! The usage log, `usage.jsonl` in the data directory: one record per API
//! call, failures included, shared by every command and read by
//! `cost-report`. Append-only; see [`crate::jsonl`] for the crash and
//! concurrency rules.

mod fast_view;
pub mod prices;
pub mod recorder;
pub mod report;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::jsonl::{self, JsonlError, ReadOutcome};

/// The current record format version.
pub const RECORD_VERSION: u32 = 1;

/// Where the token counts of a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageSource {
    /// Reported by the API.
    Api,
    /// Counted locally (the server sent no usage, or the call failed).
    Local,
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// A complete reply.
    Ok,
    /// No usable reply.
    Error,
    /// The reply stopped part-way (Ctrl-C, a dropped stream); what arrived was kept.
    Interrupted,
    /// Served from confab's response cache: no API call was made, and the
    /// tokens are those of the call whose reply was reused (what was saved).
    CacheHit,
}

/// One API call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Format version ([`RECORD_VERSION`]).
    pub v: u32,
    /// When the call started, RFC 3339 in UTC.
    pub ts: String,
    /// A unique id for the call.
    pub call_id: String,
    /// The conversation the call belongs to, if any.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// The command that made it (`chat`, `rag query`, `compaction`...).
    pub command: String,
    /// The configured provider name.
    pub provider: String,
    /// The API host.
    pub host: String,
    /// The model confab asked for.
    pub model_requested: String,
    /// The model (version) the API said it used.
    #[serde(default)]
    pub model_reported: Option<String>,
    /// Prompt tokens, cached ones included.
    #[serde(default)]
    pub input_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Of those, the ones written for an hour (billed higher).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_hour_tokens: u64,
    /// Output tokens, reasoning included.
    #[serde(default)]
    pub output_tokens: u64,
    /// Reasoning tokens among the output tokens.
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// Whether the counts came from the API or were counted locally.
    pub usage_source: UsageSource,
    /// Wall time of the whole call, retries included, in milliseconds.
    pub latency_ms: u64,
    /// Time to the first output token, in milliseconds.
    #[serde(default)]
    pub ttft_ms: Option<u64>,
    /// Retries taken.
    #[serde(default)]
    pub retries: u32,
    /// The final HTTP status, if a response arrived.
    #[serde(default)]
    pub status: Option<u16>,
    /// The error kind of a failed call (`rate_limit`, `timeout`...).
    #[serde(default)]
    pub error_kind: Option<String>,
    /// How the call ended.
    pub outcome: CallOutcome,
    /// `--tag` values, for attributing CI spend.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The prompt text, only when the user opted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// For a cache hit: `exact`, `same-question` (a paraphrase read as the
    /// same question), or the cosine similarity of a similar prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_match: Option<String>,
    /// The API's id of the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// Why the model stopped (`stop`, `length`, `tool_calls`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// `embeddings` for an embeddings batch; absent for a chat call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The preset the call's prompt came from (`chat -p`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The pricing tier: `batch` for a request of a batch (`confab
    /// batch`), priced at the batch price; absent for a standard call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The provider's id of the batch the request was part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
}

/// Whether a count is zero (and left out of the record).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The [`UsageRecord::tier`] of a request made through a batch API.
pub const BATCH_TIER: &str = "batch";

impl UsageRecord {
    /// The record as a report reads it, for pricing one call.
    pub fn view(&self) -> UsageView<'_> {
        UsageView {
            ts: Cow::Borrowed(&self.ts),
            conversation_id: self.conversation_id.as_deref().map(Cow::Borrowed),
            command: Cow::Borrowed(&self.command),
            provider: Cow::Borrowed(&self.provider),
            model_requested: Cow::Borrowed(&self.model_requested),
            model_reported: self.model_reported.as_deref().map(Cow::Borrowed),
            input_tokens: self.input_tokens,
            cached_input_tokens: self.cached_input_tokens,
            cache_write_tokens: self.cache_write_tokens,
            cache_write_hour_tokens: self.cache_write_hour_tokens,
            output_tokens: self.output_tokens,
            usage_source: self.usage_source,
            latency_ms: self.latency_ms,
            ttft_ms: self.ttft_ms,
            outcome: self.outcome,
            tags: self
                .tags
                .iter()
                .map(|t| Cow::Borrowed(t.as_str()))
                .collect(),
            preset: self.preset.as_deref().map(Cow::Borrowed),
            tier: self.tier.as_deref().map(Cow::Borrowed),
        }
    }
}

/// The parts of a usage record a report needs, borrowed from the log's
/// bytes where possible: reading a million records this way is several
/// times faster than building [`UsageRecord`]s. Fields a report does not
/// use are skipped.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct UsageView<'a> {
    /// When the call started, RFC 3339 in UTC.
    #[serde(borrow)]
    pub ts: Cow<'a, str>,
    /// The conversation the call belongs to, if any.
    #[serde(borrow, default)]
    pub conversation_id: Option<Cow<'a, str>>,
    /// The command that made it.
    #[serde(borrow)]
    pub command: Cow<'a, str>,
    /// The configured provider name.
    #[serde(borrow)]
    pub provider: Cow<'a, str>,
    /// The model confab asked for.
    #[serde(borrow)]
    pub model_requested: Cow<'a, str>,
    /// The model the API said it used.
    #[serde(borrow, default)]
    pub model_reported: Option<Cow<'a, str>>,
    /// Prompt tokens, cached ones included.
    #[serde(default)]
    pub input_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Of those, the ones written for an hour.
    #[serde(default)]
    pub cache_write_hour_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Whether the counts came from the API.
    pub usage_source: UsageSource,
    /// Wall time of the call, ms.
    pub latency_ms: u64,
    /// Time to first token, ms.
    #[serde(default)]
    pub ttft_ms: Option<u64>,
    /// How the call ended.
    pub outcome: CallOutcome,
    /// `--tag` values.
    #[serde(borrow, default)]
    pub tags: Vec<Cow<'a, str>>,
    /// The preset of the call's prompt, if any.
    #[serde(borrow, default)]
    pub preset: Option<Cow<'a, str>>,
    /// The pricing tier (`batch`), if not the standard one.
    #[serde(borrow, default)]
    pub tier: Option<Cow<'a, str>>,
}

impl UsageView<'_> {
    /// The model to show and price: the one the API reported, else the one asked for.
    pub fn model(&self) -> &str {
        self.model_reported
            .as_deref()
            .unwrap_or(&self.model_requested)
    }

    /// Whether the call was a request of a batch, priced at the batch price.
    pub fn is_batch(&self) -> bool {
        self.tier.as_deref() == Some(BATCH_TIER)
    }
}

/// The usage log of one data directory.
#[derive(Clone, Debug)]
pub struct UsageLog {
    path: PathBuf,
}

impl UsageLog {
    /// The log in `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> UsageLog {
        UsageLog {
            path: data_dir.join("usage.jsonl"),
        }
    }

    /// A log at an explicit path (`cost-report --log`).
    pub fn at(path: PathBuf) -> UsageLog {
        UsageLog { path }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record.
    pub fn append(&self, record: &UsageRecord) -> Result<(), JsonlError> {
        jsonl::append(&self.path, record)
    }

    /// Reads every record, skipping broken lines with warnings.
    pub fn read(&self) -> Result<ReadOutcome<UsageRecord>, JsonlError> {
        jsonl::read(&self.path)
    }

    /// The log's bytes, for [`UsageLog::views`] (empty if there is no log yet).
    pub fn read_bytes(&self) -> Result<jsonl::FileBytes, JsonlError> {
        jsonl::read_bytes(&self.path)
    }

    /// Parses `bytes` (from [`UsageLog::read_bytes`]) into views, in parallel.
    pub fn views<'a>(&self, bytes: &'a [u8]) -> ReadOutcome<UsageView<'a>> {
        jsonl::parse_all(&self.path, bytes)
    }

    /// Folds the views of `bytes` into accumulators on all cores (see
    /// [`jsonl::fold_parallel`]); returns the result and the warnings.
    pub fn fold_views<'a, A: Send>(
        &self,
        bytes: &'a [u8],
        make: impl Fn() -> A + Sync,
        add: impl Fn(&mut A, UsageView<'a>) + Sync,
        merge: impl Fn(A, A) -> A,
    ) -> (A, Vec<String>) {
        jsonl::fold_parallel(
            &self.path,
            bytes,
            |line| match fast_view::parse(line) {
                Some(view) => Ok(view),
                None => serde_json::from_slice(line).map_err(|e| e.to_string()),
            },
            make,
            |acc, _, view| add(acc, view),
            merge,
        )
    }
}

/// The current time as RFC 3339 in UTC, for the `ts` fields.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}

/// Today's UTC date as `YYYY-MM-DD`, for looking up today's prices.
pub fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

/// A new random id of 16 hex digits.
pub fn new_call_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> UsageRecord {
        UsageRecord {
            v: RECORD_VERSION,
            ts: now_rfc3339(),
            call_id: new_call_id(),
            conversation_id: None,
            command: "chat".into(),
            provider: "openai".into(),
            host: "api.openai.com".into(),
            model_requested: "gpt-4o".into(),
            model_reported: Some("gpt-4o-2024-08-06".into()),
            input_tokens: 120,
            cached_input_tokens: 0,
            cache_write_tokens: 0,
            cache_write_hour_tokens: 0,
            output_tokens: 30,
            reasoning_tokens: 0,
            usage_source: UsageSource::Api,
            latency_ms: 812,
            ttft_ms: Some(240),
            retries: 1,
            status: Some(200),
            error_kind: None,
            outcome: CallOutcome::Ok,
            tags: vec!["ci".into()],
            prompt: None,
            cache_match: None,
            response_id: Some("chatcmpl-1".into()),
            finish_reason: Some("stop".into()),
            operation: None,
            preset: None,
            tier: None,
            batch_id: None,
        }
    }

    #[test]
    fn round_trips_and_reads_the_minimal_v1_record() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = UsageLog::in_data_dir(dir.path());
        let r = record();
        log.append(&r).expect("append");
        let read = log.read().expect("read");
        assert_eq!(read.records[0].1, r);
        // A record with only the required fields (as an older writer may
        // leave) still reads, with zero counts.
        std::fs::write(
            log.path(),
            r#"{"v":1,"ts":"2026-01-01T00:00:00Z","call_id":"a","command":"chat","provider":"p","host":"h","model_requested":"m","usage_source":"local","latency_ms":5,"outcome":"error"}
"#,
        )
        .expect("write");
        let read = log.read().expect("read");
        assert_eq!(read.records[0].1.input_tokens, 0);
        assert_eq!(read.records[0].1.outcome, CallOutcome::Error);
    }
}
