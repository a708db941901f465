//! The one builder of usage records: [`CallRecorder`] turns what the
//! client says about a finished call into a [`UsageRecord`] and appends it
//! to the log. Chat turns, cache hits, compaction summaries and embedding
//! batches are all recorded here, so every record has the same fields
//! filled the same way.

use crate::jsonl::JsonlError;
use crate::llm::client::{CallEnd, CallOutcome, EmbedOutcome};
use crate::llm::Usage;
use crate::tokens::Encoding;
use crate::usage::{self, CallOutcome as Outcome, UsageLog, UsageRecord, UsageSource};

/// Records the calls made to one provider by one engine or embedder.
#[derive(Clone, Debug)]
pub struct CallRecorder {
    log: UsageLog,
    provider: String,
    host: String,
    tags: Vec<String>,
    log_prompts: bool,
    preset: Option<String>,
}

/// What a chat call was, beyond what its outcome says.
#[derive(Clone, Copy, Debug)]
pub struct ChatCall<'a> {
    /// The call's id (also in the conversation file).
    pub call_id: &'a str,
    /// When it started, RFC 3339.
    pub ts: &'a str,
    /// The command that made it (`chat`, `compaction`...).
    pub command: &'a str,
    /// The conversation it belongs to.
    pub conversation_id: &'a str,
    /// The model asked for.
    pub model: &'a str,
    /// The prompt as counted locally, for when the API reports no usage.
    pub prompt_tokens: u64,
    /// The encoding that counts the reply locally, for the same case.
    pub encoding: Encoding,
    /// The user's message, stored only when `log_prompts` is on.
    pub prompt: &'a str,
}

/// One request of a batch, as its result says.
#[derive(Clone, Copy, Debug)]
pub struct BatchCall<'a> {
    /// When the batch was submitted, RFC 3339 (the day it is priced at).
    pub ts: &'a str,
    /// The provider's id of the batch.
    pub batch_id: &'a str,
    /// The model asked for.
    pub model: &'a str,
    /// The model the API reported.
    pub model_reported: Option<&'a str>,
    /// The API's id of the reply.
    pub response_id: Option<&'a str>,
    /// The usage the API reported.
    pub usage: Option<Usage>,
    /// Why the model stopped.
    pub finish_reason: Option<&'a str>,
    /// Why the request failed (`invalid_request_error`, `expired`...), if it did.
    pub error_kind: Option<&'a str>,
}

impl CallRecorder {
    /// A recorder writing to `log` for calls to `provider` at `host`.
    pub fn new(log: UsageLog, provider: &str, host: &str) -> CallRecorder {
        CallRecorder {
            log,
            provider: provider.to_string(),
            host: host.to_string(),
            tags: Vec::new(),
            log_prompts: false,
            preset: None,
        }
    }

    /// Adds the `--tag` values every record carries.
    pub fn with_tags(mut self, tags: Vec<String>) -> CallRecorder {
        self.tags = tags;
        self
    }

    /// Names the preset the prompts come from in every record from now on.
    pub fn set_preset(&mut self, preset: Option<String>) {
        self.preset = preset;
    }

    /// Stores the user's prompt in records (`log_prompts = true`).
    pub fn with_prompts(mut self, log_prompts: bool) -> CallRecorder {
        self.log_prompts = log_prompts;
        self
    }

    /// The log records go to.
    pub fn log(&self) -> &UsageLog {
        &self.log
    }

    /// The record of a chat call. Counts come from the API when it sent
    /// them, else are counted locally; a call that failed before any
    /// reply was billed nothing we know of.
    pub fn chat_record(&self, call: ChatCall<'_>, outcome: &CallOutcome) -> UsageRecord {
        let (usage, source) = match outcome.usage {
            Some(usage) => (usage, UsageSource::Api),
            None => (
                Usage {
                    input_tokens: call.prompt_tokens,
                    output_tokens: call.encoding.count(&outcome.text) as u64,
                    ..Usage::default()
                },
                UsageSource::Local,
            ),
        };
        let (result, error_kind) = match &outcome.end {
            CallEnd::Complete => (Outcome::Ok, None),
            CallEnd::Cancelled => (Outcome::Interrupted, Some("cancelled".to_string())),
            CallEnd::Broken(_) => (Outcome::Interrupted, Some("stream_broken".to_string())),
            CallEnd::Failed(f) => (Outcome::Error, Some(f.kind())),
        };
        let (input_tokens, output_tokens) = match (&outcome.end, outcome.usage) {
            (CallEnd::Failed(_), None) => (0, 0),
            _ => (usage.input_tokens, usage.output_tokens),
        };
        UsageRecord {
            conversation_id: Some(call.conversation_id.to_string()),
            model_reported: outcome.model_reported.clone(),
            input_tokens,
            cached_input_tokens: usage.cached_input_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            cache_write_hour_tokens: usage.cache_write_hour_tokens,
            output_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            usage_source: source,
            ttft_ms: outcome.ttft.map(|d| d.as_millis() as u64),
            error_kind,
            outcome: result,
            prompt: (self.log_prompts && !call.prompt.is_empty()).then(|| call.prompt.to_string()),
            latency_ms: outcome.latency.as_millis() as u64,
            retries: outcome.retries,
            status: outcome.status,
            response_id: outcome.response_id.clone(),
            finish_reason: outcome
                .finish_reason
                .as_ref()
                .map(|r| r.as_str().to_string()),
            ..self.base(call.ts, call.call_id, call.command, call.model)
        }
    }

    /// The record of one embeddings batch of `inputs` (counted locally
    /// with cl100k_base when the API reports no usage).
    pub fn embed_record(
        &self,
        ts: &str,
        command: &str,
        model: &str,
        inputs: &[String],
        outcome: &EmbedOutcome,
    ) -> UsageRecord {
        let (tokens, model_reported, result, error_kind) = match &outcome.result {
            Ok(response) => (
                response.prompt_tokens,
                response.model.clone(),
                Outcome::Ok,
                None,
            ),
            Err(failure) => (None, None, Outcome::Error, Some(failure.kind())),
        };
        let local_tokens = || {
            inputs
                .iter()
                .map(|t| Encoding::Cl100kBase.count(t) as u64)
                .sum()
        };
        UsageRecord {
            model_reported,
            input_tokens: tokens.unwrap_or_else(local_tokens),
            usage_source: if tokens.is_some() {
                UsageSource::Api
            } else {
                UsageSource::Local
            },
            error_kind,
            outcome: result,
            latency_ms: outcome.latency.as_millis() as u64,
            retries: outcome.retries,
            status: outcome.status,
            operation: Some("embeddings".to_string()),
            ..self.base(ts, &usage::new_call_id(), command, model)
        }
    }

    /// The record of one request of a batch (`confab batch results`), at
    /// the batch tier. A request that failed was billed nothing: its
    /// counts are zero.
    pub fn batch_record(&self, call: &BatchCall<'_>) -> UsageRecord {
        let (usage, source) = match call.usage {
            Some(usage) if call.error_kind.is_none() => (usage, UsageSource::Api),
            _ => (Usage::default(), UsageSource::Local),
        };
        UsageRecord {
            model_reported: call.model_reported.map(str::to_string),
            input_tokens: usage.input_tokens,
            cached_input_tokens: usage.cached_input_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            output_tokens: usage.output_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            usage_source: source,
            error_kind: call.error_kind.map(str::to_string),
            outcome: match call.error_kind {
                None => Outcome::Ok,
                Some(_) => Outcome::Error,
            },
            response_id: call.response_id.map(str::to_string),
            finish_reason: call.finish_reason.map(str::to_string),
            tier: Some(usage::BATCH_TIER.to_string()),
            batch_id: Some(call.batch_id.to_string()),
            ..self.base(call.ts, &usage::new_call_id(), "batch", call.model)
        }
    }

    /// Appends `record` to the log.
    pub fn write(&self, record: &UsageRecord) -> Result<(), JsonlError> {
        self.log.append(record)
    }

    /// The fields every record has, with no tokens counted yet.
    fn base(&self, ts: &str, call_id: &str, command: &str, model: &str) -> UsageRecord {
        UsageRecord {
            v: usage::RECORD_VERSION,
            ts: ts.to_string(),
            call_id: call_id.to_string(),
            conversation_id: None,
            command: command.to_string(),
            provider: self.provider.clone(),
            host: self.host.clone(),
            model_requested: model.to_string(),
            model_reported: None,
            input_tokens: 0,
            cached_input_tokens: 0,
            cache_write_tokens: 0,
            cache_write_hour_tokens: 0,
            output_tokens: 0,
            reasoning_tokens: 0,
            usage_source: UsageSource::Local,
            latency_ms: 0,
            ttft_ms: None,
            retries: 0,
            status: None,
            error_kind: None,
            outcome: Outcome::Ok,
            tags: self.tags.clone(),
            prompt: None,
            cache_match: None,
            response_id: None,
            finish_reason: None,
            operation: None,
            preset: self.preset.clone(),
            tier: None,
            batch_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::llm::client::CallFailure;

    fn recorder() -> CallRecorder {
        CallRecorder::new(UsageLog::at("/nonexistent/usage.jsonl".into()), "p", "h:1")
            .with_tags(vec!["ci".into()])
    }

    fn outcome(text: &str, usage: Option<Usage>, end: CallEnd) -> CallOutcome {
        CallOutcome {
            text: text.to_string(),
            finish_reason: None,
            tool_calls: Vec::new(),
            reasoning: Vec::new(),
            model_reported: Some("m-2026".into()),
            response_id: None,
            usage,
            retries: 2,
            retry_notes: Vec::new(),
            status: Some(200),
            ttft: Some(Duration::from_millis(7)),
            latency: Duration::from_millis(40),
            end,
        }
    }

    fn call(prompt: &str) -> ChatCall<'_> {
        ChatCall {
            call_id: "c1",
            ts: "2026-12-01T00:00:00Z",
            command: "chat",
            conversation_id: "conv",
            model: "m",
            prompt_tokens: 11,
            encoding: Encoding::O200kBase,
            prompt,
        }
    }

    #[test]
    fn api_usage_wins_and_every_field_is_filled() {
        let usage = Usage {
            input_tokens: 5,
            output_tokens: 3,
            cached_input_tokens: 1,
            ..Usage::default()
        };
        let record = recorder().chat_record(
            call("hi"),
            &outcome("a b c", Some(usage), CallEnd::Complete),
        );
        assert_eq!((record.input_tokens, record.output_tokens), (5, 3));
        assert_eq!(record.cached_input_tokens, 1);
        assert_eq!(record.usage_source, UsageSource::Api);
        assert_eq!(
            (record.provider.as_str(), record.host.as_str()),
            ("p", "h:1")
        );
        assert_eq!(record.model_reported.as_deref(), Some("m-2026"));
        assert_eq!(
            (record.latency_ms, record.ttft_ms, record.retries),
            (40, Some(7), 2)
        );
        assert_eq!(record.tags, vec!["ci".to_string()]);
        assert_eq!(record.conversation_id.as_deref(), Some("conv"));
        assert_eq!(record.outcome, Outcome::Ok);
        assert_eq!(record.prompt, None, "prompts are kept only when asked");
    }

    #[test]
    fn without_api_usage_the_call_is_counted_locally() {
        let text = "one two three four";
        let record = recorder()
            .with_prompts(true)
            .chat_record(call("hi"), &outcome(text, None, CallEnd::Cancelled));
        assert_eq!(record.usage_source, UsageSource::Local);
        assert_eq!(record.input_tokens, 11);
        assert_eq!(record.output_tokens, Encoding::O200kBase.count(text) as u64);
        assert_eq!(record.outcome, Outcome::Interrupted);
        assert_eq!(record.error_kind.as_deref(), Some("cancelled"));
        assert_eq!(record.prompt.as_deref(), Some("hi"));
    }

    #[test]
    fn a_call_that_failed_before_a_reply_bills_nothing() {
        let failed = CallEnd::Failed(CallFailure::Transport("refused".into()));
        let record = recorder().chat_record(call("hi"), &outcome("", None, failed));
        assert_eq!((record.input_tokens, record.output_tokens), (0, 0));
        assert_eq!(record.outcome, Outcome::Error);
        assert!(record.error_kind.is_some());
    }

    #[test]
    fn an_embedding_batch_without_usage_is_counted_with_cl100k() {
        let inputs = vec!["alpha beta".to_string(), "gamma".to_string()];
        let failed = EmbedOutcome {
            result: Err(CallFailure::Transport("refused".into())),
            retries: 1,
            retry_notes: Vec::new(),
            status: None,
            latency: Duration::from_millis(3),
        };
        let record = recorder().embed_record("ts", "rag index", "e", &inputs, &failed);
        let expected: usize = inputs.iter().map(|t| Encoding::Cl100kBase.count(t)).sum();
        assert_eq!(record.input_tokens, expected as u64);
        assert_eq!(record.usage_source, UsageSource::Local);
        assert_eq!(record.outcome, Outcome::Error);
        assert_eq!((record.command.as_str(), record.retries), ("rag index", 1));
        assert_eq!(record.call_id.len(), 16);
    }
}
