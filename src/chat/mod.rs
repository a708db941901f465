//! The chat engine: one turn = screen -> fit -> compact -> cache ->
//! exchange -> validate -> record (DESIGN.md, "The flow of one chat
//! turn"). An [`Engine`] is built from an [`EnginePlan`] (never from
//! command-line types) and tells a [`TurnSink`] what happens; the
//! terminal printer, `--json`, replay and `rag query --answer` each bring
//! their own sink.

mod budget;
mod compact;
mod exchange;
mod open;
mod screen;
mod sharing;
mod turn;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;

use crate::app::{Cancel, StopSignal};
use crate::cache::SemanticCache;
use crate::config::{Config, Paths, ResolvedModel};
use crate::conversation::compaction::Summary;
use crate::conversation::{ConversationHandle, ConversationRecord, ConversationStore};
use crate::exit::{ExitKind, Failure};
use crate::llm::client::{CallEnd, CallFailure, CallObserver, Client};
use crate::llm::models::ModelInfo;
use crate::llm::Message;
use crate::rag::retrieve::QueryHit;
use crate::tools::broker::ToolBroker;
use crate::tools::CompiledSchema;
use crate::usage::recorder::CallRecorder;
use crate::usage::{UsageLog, UsageSource};

pub use budget::ContextBreakdown;

/// Which conversation the engine continues.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConversationChoice {
    /// A new one, started by the first turn.
    #[default]
    New,
    /// The most recent one.
    Latest,
    /// The one with this id.
    Id(String),
}

/// Everything an engine is built from, resolved from a command's flags.
#[derive(Clone, Debug, Default)]
pub struct EnginePlan {
    /// The model spec (`provider:model`, a model, a provider or an alias);
    /// `None`: the conversation's, else config's default.
    pub model: Option<String>,
    /// The system prompt of a new conversation.
    pub system: Option<String>,
    /// The conversation to continue.
    pub conversation: ConversationChoice,
    /// The compaction threshold for this conversation, kept in its file.
    pub compact_at: Option<f32>,
    /// Tags on every usage record.
    pub tags: Vec<String>,
    /// The command the usage log records (`chat`, `replay`, `rag query`).
    pub command: &'static str,
    /// The conversation a new conversation replays, for its header.
    pub replay_of: Option<String>,
    /// Redact secrets instead of refusing to send them.
    pub redact: bool,
    /// A JSON Schema file the reply must validate against.
    pub schema: Option<PathBuf>,
    /// Use the response cache (`--cache`, `--cacheable`, or config).
    pub cache: bool,
    /// Cache whatever the temperature.
    pub cacheable: bool,
    /// Never use the cache, whatever config says.
    pub no_cache: bool,
    /// High-risk tools that may run without asking.
    pub approve_tools: Vec<String>,
    /// A RAG index to retrieve from for every message.
    pub rag_index: Option<String>,
    /// The preset the messages come from, kept in the conversation file
    /// and the usage log.
    pub preset: Option<String>,
    /// The only tools offered (a preset's `tools`); `None`: every
    /// configured one.
    pub offered_tools: Option<Vec<String>>,
}

/// Per-request settings of every turn.
#[derive(Clone, Copy, Debug, Default)]
pub struct TurnOptions {
    /// The output cap; `None`: config's, else min(model limit, 4096).
    pub max_tokens: Option<u32>,
    /// The sampling temperature.
    pub temperature: Option<f32>,
    /// Wait for the whole reply instead of streaming it.
    pub no_stream: bool,
    /// Mark the prompt for the provider's cache (`--cache-prompt`), for
    /// this long.
    pub cache_prompt: Option<crate::llm::CacheTtl>,
    /// How hard a reasoning model thinks (`--reasoning-effort`).
    pub reasoning_effort: Option<crate::llm::ReasoningEffort>,
    /// Anthropic extended thinking's budget (`--thinking-budget`).
    pub thinking_budget: Option<u32>,
}

/// How important a notice is; the terminal prefixes it accordingly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeLevel {
    /// Something went wrong but the turn goes on (`warning:`).
    Warning,
    /// Something worth knowing about the request (`note:`).
    Note,
    /// What confab did on the user's behalf (`confab:`).
    Info,
}

/// What the engine tells whoever runs it, besides the reply's text.
pub trait TurnSink: CallObserver {
    /// A model call starts; `shown` says whether its text is to be shown
    /// as it streams (not with `--schema`, whose reply is shown validated).
    fn call_started(&mut self, model: &str, shown: bool);
    /// The call ended.
    fn call_finished(&mut self);
    /// A whole reply to show at once: a cached reply.
    fn reply(&mut self, text: &str);
    /// Validated JSON (`--schema`) to show at once, exactly as given:
    /// never rendered as Markdown.
    fn reply_json(&mut self, json: &str) {
        self.reply(json);
    }
    /// A notice for the person.
    fn notice(&mut self, level: NoticeLevel, message: &str);
}

/// The result of one turn, for `--json` and exit codes.
#[derive(Debug, Serialize)]
pub struct TurnReport {
    /// The conversation the turn was appended to.
    pub conversation_id: String,
    /// The provider's name.
    pub provider: String,
    /// The model asked for.
    pub model_requested: String,
    /// The model the API reported.
    pub model_reported: Option<String>,
    /// The reply text (partial if interrupted).
    pub text: String,
    /// How the reply came from the response cache (`exact` or the
    /// similarity), if it did; the token counts are then 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_cache: Option<String>,
    /// With `--schema`: the reply parsed and validated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// Why the model stopped.
    pub finish_reason: Option<String>,
    /// Whether the reply stopped part-way.
    pub interrupted: bool,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Cached prompt tokens.
    pub cached_input_tokens: u64,
    /// Prompt tokens written to the provider's cache (`--cache-prompt`).
    pub cache_write_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
    /// Where the counts came from.
    pub usage_source: UsageSource,
    /// Wall time, ms.
    pub latency_ms: u64,
    /// Time to first token, ms.
    pub ttft_ms: Option<u64>,
    /// Retries taken.
    pub retries: u32,
    /// How the call ended.
    #[serde(skip)]
    pub end: Option<CallEnd>,
    /// The signal that stopped the call, if one did.
    #[serde(skip)]
    pub stopped_by: Option<StopSignal>,
}

impl TurnReport {
    /// The exit code for how the turn ended, or the failure that says what
    /// happened and what to do next.
    pub fn exit(&self) -> anyhow::Result<ExitCode> {
        let id = &self.conversation_id;
        match &self.end {
            None | Some(CallEnd::Complete) => Ok(ExitCode::SUCCESS),
            Some(CallEnd::Cancelled) => {
                let message = format!("interrupted; the partial reply was kept in conversation {id}");
                let kind = match self.stopped_by {
                    Some(StopSignal::Terminate) => ExitKind::Terminated,
                    Some(StopSignal::HangUp) => ExitKind::HungUp,
                    _ => ExitKind::Interrupted,
                };
                Err(Failure::new(kind, message).into())
            }
            Some(CallEnd::Broken(reason)) => Err(Failure::new(
                ExitKind::Provider,
                format!(
                    "{reason}; the partial reply was kept in conversation {id} and marked interrupted"
                ),
            )
            .hint(format!("ask again with `confab chat --conversation {id} ...`"))
            .into()),
            Some(CallEnd::Failed(failure)) => Err(provider_failure(failure).into()),
        }
    }
}

/// A failed call as people read it, with what to try next.
fn provider_failure(failure: &CallFailure) -> Failure {
    let hint = match failure {
        CallFailure::Api(e) if matches!(e.status, Some(401) | Some(403)) => {
            "check the API key: the provider refused it"
        }
        CallFailure::Api(e) if e.status == Some(429) => {
            "you are rate limited or out of quota; wait, or lower requests_per_minute in config.toml"
        }
        CallFailure::Api(e) if e.status == Some(404) => {
            "check the model name and the provider's base_url"
        }
        CallFailure::Malformed(_) => {
            "the server does not speak this provider's wire format; check its kind and base_url"
        }
        CallFailure::Transport(_) => {
            "check that the provider is reachable (base_url) and try again"
        }
        CallFailure::Redirect { .. } => {
            "point base_url (or OPENAI_BASE_URL / ANTHROPIC_BASE_URL) at the final address"
        }
        _ => "try again; if it persists, run `confab config` to check the provider",
    };
    Failure::new(
        ExitKind::Provider,
        format!("the model call failed: {}", failure.message()),
    )
    .hint(hint)
}

/// A chat session: the model, the conversation so far, and everything a
/// turn needs, loaded once.
pub struct Engine {
    /// confab's directories.
    pub paths: Paths,
    /// The loaded config.
    pub config: Config,
    /// The model and provider in use.
    pub resolved: ResolvedModel,
    /// The model's limits and tokenizer.
    pub info: ModelInfo,
    client: Client,
    store: ConversationStore,
    recorder: CallRecorder,
    /// The conversation being continued, once there is one.
    conversation: Option<ConversationHandle>,
    /// How long its file was after this process last wrote to it.
    seen_len: u64,
    /// The system prompt of the current conversation.
    pub system: Option<String>,
    /// The conversation so far, every message (compacted ones too).
    pub history: Vec<Message>,
    /// The summary that stands for the oldest messages, once compacted.
    pub summary: Option<Summary>,
    /// The conversation's own compaction threshold, if it has one.
    compact_at: Option<f32>,
    /// The configured tools, if any.
    tools: Option<ToolBroker>,
    /// `--schema`: its name and compiled form.
    schema: Option<(String, Arc<CompiledSchema>)>,
    /// The response cache, when enabled.
    cache: Option<SemanticCache>,
    /// Tokens of the tool declarations and schema instruction, every request.
    overhead_tokens: u64,
    /// Chunks retrieved by the caller (`rag query --answer`) for the next turn.
    retrieved: Option<Vec<QueryHit>>,
    /// Images and PDFs for the next user message (`chat -a`), with their bytes.
    attachments: Vec<(crate::llm::Attachment, std::sync::Arc<Vec<u8>>)>,
    cancel: Cancel,
    /// Spans and metrics of every call (off unless configured).
    telemetry: crate::telemetry::Telemetry,
    plan: EnginePlan,
    options: TurnOptions,
    sink: Box<dyn TurnSink>,
}

impl Engine {
    /// Sends `hits` (retrieved by the caller) with the next turn, fenced as
    /// untrusted reference data.
    pub fn set_retrieved(&mut self, hits: Vec<QueryHit>) {
        self.retrieved = Some(hits);
    }

    /// How long requests ask the provider to cache their marked prefix:
    /// `--cache-prompt[=TTL]`, else `cache_prompt = true` with
    /// `cache_prompt_ttl`; `None`: requests carry no breakpoints.
    pub fn prompt_cache(&self) -> Option<crate::llm::CacheTtl> {
        self.options.cache_prompt.or(self
            .config
            .cache_prompt
            .then_some(self.config.cache_prompt_ttl))
    }

    /// The host (and port) of the API this engine talks to.
    pub fn api_host(&self) -> String {
        self.client.host()
    }

    /// Sends these images and PDFs (with their bytes) with the next
    /// message; they are counted against the window with it, and kept in
    /// the attachment store and (by reference) the conversation file.
    pub fn attach(&mut self, attachments: Vec<(crate::llm::Attachment, std::sync::Arc<Vec<u8>>)>) {
        self.attachments = attachments;
    }

    /// The usage log the calls are recorded in.
    pub fn usage_log(&self) -> &UsageLog {
        self.recorder.log()
    }

    /// Appends `record` to the open conversation (a turn opens one before
    /// anything is recorded).
    fn append(&self, record: &ConversationRecord) -> anyhow::Result<()> {
        match &self.conversation {
            Some(conversation) => Ok(conversation.append(record)?),
            None => anyhow::bail!("internal error: no conversation is open to record into"),
        }
    }

    /// The id of the conversation, once there is one.
    pub fn conversation_id(&self) -> Option<&str> {
        self.conversation.as_ref().map(ConversationHandle::id)
    }

    /// The conversation store.
    pub fn store(&self) -> &ConversationStore {
        &self.store
    }

    /// Cancellation, for the caller to see whether the process must end.
    pub fn cancel(&self) -> &Cancel {
        &self.cancel
    }

    /// Starts a new conversation on the next turn.
    pub fn new_conversation(&mut self, system: Option<String>) {
        self.conversation = None;
        self.history.clear();
        self.summary = None;
        self.compact_at = self.plan.compact_at;
        self.system = system;
    }

    fn warn(&mut self, message: &str) {
        self.sink.notice(NoticeLevel::Warning, message);
    }

    fn note(&mut self, message: &str) {
        self.sink.notice(NoticeLevel::Note, message);
    }

    fn info(&mut self, message: &str) {
        self.sink.notice(NoticeLevel::Info, message);
    }
}
