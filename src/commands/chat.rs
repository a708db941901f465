//! `confab chat`: one-shot (`confab chat "question"`, with piped stdin as
//! context) or an interactive REPL. Each turn follows DESIGN.md's flow:
//! count the prompt against the context window, append the user message,
//! stream the reply with retries, append the reply (marked if interrupted)
//! and write a usage record.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use serde::Serialize;

use crate::cache::{CacheHit, CacheKey, CachedReply, SemanticCache};
use crate::config::{Config, Paths, ProcessEnvironment, ResolveError, ResolvedModel};
use crate::conversation::compaction::{self, Summary};
use crate::conversation::{
    new_conversation_id, ConversationRecord, ConversationStore, Role, RECORD_VERSION,
};
use crate::exit::{ExitKind, Failure};
use crate::llm::client::{CallEnd, CallFailure, CallOutcome, Client, ClientError};
use crate::llm::discovery::{self, LimitsCache};
use crate::llm::keys::KeyError;
use crate::llm::models::{ModelInfo, DEFAULT_OUTPUT_CAP};
use crate::llm::{ChatRequest, Message};
use crate::term::StreamPrinter;
use crate::tokens::chat::{count_messages, ChatMessage, MessageContent};
use crate::tokens::models::ModelTokenizer;
use crate::tools::broker::ToolBroker;
use crate::tools::{AuditLog, CompiledSchema, TerminalPrompt, ToolRegistry};
use crate::usage::{self, CallOutcome as UsageOutcome, UsageLog, UsageRecord, UsageSource};

/// Arguments of `confab chat`.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(after_help = "Examples:
  confab chat \"what is a monad?\"             one-shot, streamed
  git diff | confab chat \"review this\"       piped stdin is added as context
  confab chat -m anthropic:claude-sonnet-4-5  interactive REPL on a terminal
  confab chat -c \"and in Rust?\"              continue the last conversation")]
pub struct Args {
    /// The message; without one, an interactive session starts (or stdin is the message)
    #[arg(value_name = "MESSAGE")]
    pub message: Vec<String>,

    /// Model: provider:model, a model, a provider or an alias
    #[arg(short, long, value_name = "MODEL")]
    pub model: Option<String>,

    /// System prompt for a new conversation
    #[arg(short, long, value_name = "TEXT")]
    pub system: Option<String>,

    /// Output cap in tokens [default: config max_tokens, else min(model limit, 4096)]
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,

    /// Sampling temperature
    #[arg(long, value_name = "T")]
    pub temperature: Option<f32>,

    /// Wait for the whole reply instead of streaming it
    #[arg(long)]
    pub no_stream: bool,

    /// Print one JSON object (reply, usage, ids) instead of the streamed text
    #[arg(long)]
    pub json: bool,

    /// Continue the most recent conversation
    #[arg(short, long, conflicts_with = "conversation")]
    pub r#continue: bool,

    /// Continue the conversation with this id
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,

    /// Start the interactive session even when stdin is not a terminal
    #[arg(short, long)]
    pub interactive: bool,

    /// Tag the usage records of this run, for cost reports (repeatable)
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,

    /// Retrieve from this RAG index for every message and send the chunks along
    #[arg(long, value_name = "INDEX")]
    pub rag: Option<String>,

    /// Compact this conversation when the prompt passes this fraction of the
    /// context window minus the output cap [default: config, else 0.75]
    #[arg(long, value_name = "FRACTION", value_parser = parse_fraction)]
    pub compact_at: Option<f32>,

    /// Replace API keys and other secrets in what is sent with [REDACTED:kind]
    /// instead of refusing to send it
    #[arg(long)]
    pub redact: bool,

    /// Ask for JSON that validates against this JSON Schema; an invalid reply
    /// is retried once with the errors, then refused (exit 5)
    #[arg(long, value_name = "FILE.json")]
    pub schema: Option<std::path::PathBuf>,

    /// Serve repeated (or paraphrased) temperature-0 questions from the response cache
    #[arg(long, conflicts_with = "no_cache")]
    pub cache: bool,

    /// Cache this request whatever its temperature (implies --cache)
    #[arg(long, conflicts_with = "no_cache")]
    pub cacheable: bool,

    /// Do not use the response cache, even when config enables it
    #[arg(long)]
    pub no_cache: bool,

    /// Let these high-risk tools run without asking (comma-separated or repeated)
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub approve_tools: Vec<String>,
}

fn parse_fraction(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(f) if (0.05..=1.0).contains(&f) => Ok(f),
        _ => Err(format!(
            "`{text}` is not a fraction between 0.05 and 1.0, such as 0.75"
        )),
    }
}

/// Everything a turn needs, loaded once per run.
pub struct Session {
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
    usage_log: UsageLog,
    /// The conversation being continued, if any.
    pub conversation_id: Option<String>,
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
    retrieved: Option<Vec<crate::commands::rag::QueryHit>>,
    cancel: Arc<AtomicBool>,
    args: Args,
    /// The command recorded in the usage log (`chat`, `replay`).
    command: &'static str,
    /// The conversation a new conversation replays, for its header.
    replay_of: Option<String>,
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
}

/// The calls of one exchange (tool rounds, a schema retry) summed up, and
/// the last call's outcome with the whole reply text.
struct Exchange {
    outcome: CallOutcome,
    /// The text of the last call alone (earlier rounds are in the request).
    last_text: String,
    usage: crate::llm::Usage,
    usage_source: UsageSource,
    latency_ms: u64,
    ttft_ms: Option<u64>,
    retries: u32,
}

impl Exchange {
    fn of(outcome: &CallOutcome, record: &UsageRecord) -> Exchange {
        Exchange {
            outcome: outcome.clone(),
            last_text: outcome.text.clone(),
            usage: crate::llm::Usage {
                input_tokens: record.input_tokens,
                cached_input_tokens: record.cached_input_tokens,
                cache_write_tokens: record.cache_write_tokens,
                output_tokens: record.output_tokens,
                reasoning_tokens: record.reasoning_tokens,
            },
            usage_source: record.usage_source,
            latency_ms: record.latency_ms,
            ttft_ms: record.ttft_ms,
            retries: record.retries,
        }
    }

    /// This exchange followed by `next`: sums, the first time to first
    /// token, `next`'s outcome.
    fn then(self, next: Exchange) -> Exchange {
        let (a, b) = (self.usage, next.usage);
        Exchange {
            outcome: next.outcome,
            last_text: next.last_text,
            usage: crate::llm::Usage {
                input_tokens: a.input_tokens + b.input_tokens,
                cached_input_tokens: a.cached_input_tokens + b.cached_input_tokens,
                cache_write_tokens: a.cache_write_tokens + b.cache_write_tokens,
                output_tokens: a.output_tokens + b.output_tokens,
                reasoning_tokens: a.reasoning_tokens + b.reasoning_tokens,
            },
            usage_source: if self.usage_source == UsageSource::Local {
                UsageSource::Local
            } else {
                next.usage_source
            },
            latency_ms: self.latency_ms + next.latency_ms,
            ttft_ms: self.ttft_ms.or(next.ttft_ms),
            retries: self.retries + next.retries,
        }
    }
}

/// How the next request's context is spent (the REPL's `/tokens`).
#[derive(Debug, Clone, Serialize)]
pub struct ContextBreakdown {
    /// Tokens of the system prompt.
    pub system_tokens: u64,
    /// Tokens of the running summary.
    pub summary_tokens: u64,
    /// Messages the summary stands for.
    pub summarised_messages: usize,
    /// Messages sent verbatim.
    pub verbatim_messages: usize,
    /// Tokens of the verbatim messages (with per-message overhead).
    pub verbatim_tokens: u64,
    /// Tokens of the tool declarations and the `--schema` instruction.
    pub tools_tokens: u64,
    /// The whole prompt.
    pub prompt_tokens: u64,
    /// The output cap.
    pub output_cap: u64,
    /// The prompt size past which the conversation is compacted.
    pub compact_threshold: u64,
    /// The model's context window.
    pub context_window: u64,
    /// Whether the counts are exact (else estimates).
    pub exact: bool,
}

/// Runs `confab chat`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut session = Session::open(&args, args.model.as_deref())?;
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let mut message = args.message.join(" ");
    if args.interactive || (message.is_empty() && stdin_is_terminal) {
        return crate::commands::repl::run(session);
    }
    if !stdin_is_terminal {
        let mut piped = String::new();
        std::io::stdin()
            .read_to_string(&mut piped)
            .context("reading stdin")?;
        if !piped.trim().is_empty() {
            message = if message.is_empty() {
                piped
            } else {
                format!("{message}\n\n{piped}")
            };
        }
    }
    if message.trim().is_empty() {
        return Err(Failure::new(ExitKind::Usage, "no message to send")
            .hint("pass one, as in `confab chat \"hello\"`, or pipe text on stdin")
            .into());
    }
    let report = session.turn(&message)?;
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    }
    report_end(&report)
}

/// Maps how a turn ended to the exit code and message.
pub fn report_end(report: &TurnReport) -> anyhow::Result<ExitCode> {
    match &report.end {
        None | Some(CallEnd::Complete) => Ok(ExitCode::SUCCESS),
        Some(CallEnd::Cancelled) => Err(Failure::new(
            ExitKind::Interrupted,
            format!(
                "interrupted; the partial reply was kept in conversation {}",
                report.conversation_id
            ),
        )
        .into()),
        Some(CallEnd::Broken(reason)) => Err(Failure::new(
            ExitKind::Provider,
            format!(
                "{reason}; the partial reply was kept in conversation {} and marked interrupted",
                report.conversation_id
            ),
        )
        .hint(format!(
            "ask again with `confab chat --conversation {} ...`",
            report.conversation_id
        ))
        .into()),
        Some(CallEnd::Failed(failure)) => Err(provider_failure(failure).into()),
    }
}

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

/// The limits of the resolved model (see [`discovery::model_limits`]),
/// with a note when nothing is known.
fn limits_of(
    client: &Client,
    paths: &Paths,
    config: &Config,
    resolved: &ResolvedModel,
) -> ModelInfo {
    let cache = LimitsCache::in_cache_dir(&paths.cache_dir);
    let info = discovery::model_limits(client, &cache, &config.models, resolved);
    if !info.known() {
        eprintln!(
            "note: confab does not know {}'s limits and its server did not say; assuming a \
             {}-token context window (set [models.\"{}\"] context_window in config.toml; \
             `confab models` shows what is known)",
            resolved.model, info.context_window, resolved.model
        );
    }
    info
}

impl Session {
    /// Loads config, resolves the model, builds the client and, with
    /// `-c`/`--conversation`, loads the conversation.
    pub fn open(args: &Args, model_spec: Option<&str>) -> anyhow::Result<Session> {
        let paths = Paths::resolve()?;
        let env = ProcessEnvironment;
        let config = Config::load(&paths, &env).map_err(|err| {
            Failure::new(ExitKind::Usage, err.to_string())
                .hint("fix config.toml; `confab config` shows what confab reads")
        })?;
        let store = ConversationStore::in_data_dir(&paths.data_dir);
        let mut conversation_id = args.conversation.clone();
        if args.r#continue {
            conversation_id = Some(store.latest_id()?.ok_or_else(|| {
                Failure::new(ExitKind::Usage, "there is no conversation to continue")
                    .hint("start one with `confab chat \"...\"`")
            })?);
        }
        let mut system = args.system.clone();
        let mut history = Vec::new();
        let mut summary = None;
        let mut compact_at = args.compact_at;
        let mut conversation_model = None;
        if let Some(id) = &conversation_id {
            let conversation = store.read(id).map_err(|err| {
                Failure::new(ExitKind::Usage, err.to_string())
                    .hint("`confab history list` shows the conversations")
            })?;
            for warning in &conversation.warnings {
                eprintln!("warning: {warning}");
            }
            let (header_system, header_model) = conversation.header();
            if system.is_none() {
                system = header_system.map(str::to_string);
            }
            conversation_model = Some(header_model.to_string());
            history = conversation.messages();
            summary = conversation.latest_summary();
            match (args.compact_at, conversation.compact_at()) {
                (Some(new), old) if old != Some(new) => {
                    // Kept for the conversation, not just this run.
                    store.append(
                        id,
                        &ConversationRecord::Settings {
                            v: RECORD_VERSION,
                            ts: usage::now_rfc3339(),
                            compact_at: Some(new),
                        },
                    )?;
                }
                _ => compact_at = compact_at.or(conversation.compact_at()),
            }
        }
        let spec = model_spec.map(str::to_string).or(conversation_model);
        let resolved = config
            .resolve_model(spec.as_deref())
            .map_err(resolve_failure)?;
        let client =
            Client::new(&resolved.provider_name, &resolved.provider, &env).map_err(key_failure)?;
        let info = limits_of(&client, &paths, &config, &resolved);
        let tools = open_tools(&config, &paths, args)?;
        let cache = open_cache(&config, &paths, args)?;
        let schema = args.schema.as_deref().map(load_schema).transpose()?;
        let cancel = Arc::new(AtomicBool::new(false));
        let handler_flag = Arc::clone(&cancel);
        // A second Ctrl-C while the first is being handled exits at once.
        let _ = ctrlc::set_handler(move || {
            if handler_flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
        let mut session = Session {
            usage_log: UsageLog::in_data_dir(&paths.data_dir),
            paths,
            config,
            resolved,
            info,
            client,
            store,
            conversation_id,
            system,
            history,
            summary,
            compact_at,
            tools,
            schema,
            retrieved: None,
            overhead_tokens: 0,
            cache,
            cancel,
            args: args.clone(),
            command: "chat",
            replay_of: None,
        };
        session.overhead_tokens = session.count_overhead();
        Ok(session)
    }

    /// Records calls under another command name (`rag query`).
    pub fn with_command(mut self, command: &'static str) -> Session {
        self.command = command;
        self
    }

    /// Sends `hits` (retrieved by the caller) with the next turn, fenced as
    /// untrusted reference data.
    pub fn with_retrieved(mut self, hits: Vec<crate::commands::rag::QueryHit>) -> Session {
        self.retrieved = Some(hits);
        self
    }

    /// Records calls as `replay` and links the new conversation to `original`.
    pub fn for_replay(mut self, original: &str) -> Session {
        self.command = "replay";
        self.replay_of = Some(original.to_string());
        self
    }

    /// The usage log the calls are recorded in.
    pub fn usage_log(&self) -> &UsageLog {
        &self.usage_log
    }

    /// Switches to another model (the REPL's `/model`).
    pub fn switch_model(&mut self, spec: &str) -> anyhow::Result<()> {
        let resolved = self
            .config
            .resolve_model(Some(spec))
            .map_err(resolve_failure)?;
        let env = ProcessEnvironment;
        self.client =
            Client::new(&resolved.provider_name, &resolved.provider, &env).map_err(key_failure)?;
        self.info = limits_of(&self.client, &self.paths, &self.config, &resolved);
        self.overhead_tokens = self.count_overhead();
        self.resolved = resolved;
        Ok(())
    }

    /// Starts a new conversation on the next turn.
    pub fn new_conversation(&mut self, system: Option<String>) {
        self.conversation_id = None;
        self.history.clear();
        self.summary = None;
        self.compact_at = self.args.compact_at;
        self.system = system;
    }

    /// The conversation store.
    pub fn store(&self) -> &ConversationStore {
        &self.store
    }

    /// The output cap for the next request.
    pub fn output_cap(&self) -> u64 {
        let wanted = self
            .args
            .max_tokens
            .or(self.config.max_tokens)
            .map(u64::from)
            .unwrap_or(DEFAULT_OUTPUT_CAP.min(self.info.max_output_tokens));
        wanted.min(self.info.max_output_tokens)
    }

    /// Prompt tokens of what the next request would send: the system
    /// prompt, the summary, the verbatim messages (without the oldest
    /// `skip`) and `next` (if any). Counted with the model's tokenizer (an
    /// estimate for models without a public one).
    pub fn prompt_tokens(&self, next: Option<&str>) -> u64 {
        self.context_tokens(next, 0)
    }

    fn context_tokens(&self, next: Option<&str>, skip: usize) -> u64 {
        let messages = self.request_messages(next, skip);
        self.count_request(self.system.as_deref(), &messages) + self.request_overhead()
    }

    /// The messages the next request sends: the summary in front of the
    /// messages it does not cover, without the oldest `skip` of those, and
    /// `next` last.
    fn request_messages(&self, next: Option<&str>, skip: usize) -> Vec<Message> {
        let mut verbatim: Vec<Message> = self.verbatim().iter().skip(skip).cloned().collect();
        if let Some(next) = next {
            verbatim.push(Message::new(Role::User, next.to_string()));
        }
        compaction::with_summary(self.summary.as_ref(), &verbatim)
    }

    /// The messages the summary does not cover.
    fn verbatim(&self) -> &[Message] {
        let covered = self.summary.as_ref().map_or(0, |s| s.covers);
        &self.history[covered.min(self.history.len())..]
    }

    fn count_request(&self, system: Option<&str>, messages: &[Message]) -> u64 {
        let tokenizer = ModelTokenizer {
            encoding: self.info.encoding,
            exact: self.info.exact_count,
            family: "",
            tokens_per_message: 3,
            tokens_per_name: 1,
            reply_priming: 3,
        };
        let to_chat = |role: &str, content: &str| ChatMessage {
            role: role.to_string(),
            content: Some(MessageContent::Text(content.to_string())),
            name: None,
        };
        let mut chat: Vec<ChatMessage> = Vec::with_capacity(messages.len() + 1);
        if let Some(system) = system {
            chat.push(to_chat("system", system));
        }
        let mut tool_data = 0;
        for m in messages {
            chat.push(to_chat(m.role.as_str(), &m.content));
            for call in &m.tool_calls {
                tool_data += self.info.encoding.count(&call.name)
                    + self.info.encoding.count(&call.arguments);
            }
            if let Some(result) = &m.tool_result {
                tool_data += self.info.encoding.count(&result.content);
            }
        }
        (count_messages(&tokenizer, &chat).tokens + tool_data) as u64
    }

    /// Tokens every request carries besides its messages: the tool
    /// declarations and the `--schema` instruction.
    /// (Counted once per model: the declarations and schema do not change.)
    fn request_overhead(&self) -> u64 {
        self.overhead_tokens
    }

    fn count_overhead(&self) -> u64 {
        let tools = self.tools.as_ref().map_or(0, |broker| {
            let declared = serde_json::to_string(&broker.declarations()).unwrap_or_default();
            self.info.encoding.count(&declared)
        });
        let schema = self.schema.as_ref().map_or(0, |(_, schema)| {
            self.info
                .encoding
                .count(&crate::guard::output::instruction(schema.source()))
        });
        (tools + schema) as u64
    }

    /// The compaction threshold as a fraction: `--compact-at` or the
    /// conversation's own, else the model's, else `[compaction]`'s.
    pub fn compact_fraction(&self) -> f32 {
        self.compact_at
            .or_else(|| {
                self.config
                    .models
                    .get(&self.resolved.model)
                    .and_then(|m| m.compact_at)
            })
            .unwrap_or(self.config.compaction.threshold)
    }

    /// The prompt size past which the conversation is compacted.
    pub fn compact_threshold(&self) -> u64 {
        compaction::threshold_tokens(
            self.info.context_window,
            self.output_cap(),
            self.compact_fraction(),
        )
    }

    /// How the next request's context is spent, for `/tokens`.
    pub fn context_breakdown(&self) -> ContextBreakdown {
        let system = self
            .system
            .as_deref()
            .map_or(0, |s| self.count_request(Some(s), &[]));
        let total = self.prompt_tokens(None);
        let summary = self.summary.as_ref().map_or(0, |s| {
            self.count_request(None, &[Message::new(Role::User, s.text.clone())])
        });
        ContextBreakdown {
            system_tokens: system,
            summary_tokens: summary,
            summarised_messages: self.summary.as_ref().map_or(0, |s| s.covers),
            verbatim_messages: self.verbatim().len(),
            verbatim_tokens: total.saturating_sub(system + summary + self.request_overhead()),
            tools_tokens: self.request_overhead(),
            prompt_tokens: total,
            output_cap: self.output_cap(),
            compact_threshold: self.compact_threshold(),
            context_window: self.info.context_window,
            exact: self.info.exact_count,
        }
    }

    /// Summarises the messages before the last `keep_last` into the running
    /// summary, in as many calls as the window needs, writing a compaction
    /// record after each. Returns how many messages were newly covered (0
    /// when there was nothing to compact).
    pub fn compact(&mut self) -> anyhow::Result<usize> {
        let Some(id) = self.conversation_id.clone() else {
            return Ok(0);
        };
        let from = self.summary.as_ref().map_or(0, |s| s.covers);
        let keep_last = self.config.compaction.keep_last;
        let Some(end) = compaction::split_point(&self.history, from, keep_last) else {
            return Ok(0);
        };
        // A summary may take at most a quarter of the window.
        let summary_cap = u64::from(self.config.compaction.summary_max_tokens)
            .min(self.info.max_output_tokens)
            .min(self.info.context_window / 4)
            .max(1);
        // What a summary call may send: the window less its output cap, a
        // margin for the instructions, and a tenth for estimation error.
        let budget = (self.info.context_window.saturating_sub(summary_cap + 256)) * 9 / 10;
        let mut start = from;
        while start < end {
            let previous = self.summary.as_ref().map(|s| s.text.clone());
            let mut stop = start + 1;
            let mut batch = vec![self.clip(&self.history[start], budget)];
            while stop < end {
                batch.push(self.history[stop].clone());
                let request = compaction::summary_request(
                    &self.resolved.model,
                    previous.as_deref(),
                    &batch,
                    summary_cap as u32,
                );
                if self.count_request(request.system.as_deref(), &request.messages) > budget {
                    batch.pop();
                    break;
                }
                stop += 1;
            }
            let request = compaction::summary_request(
                &self.resolved.model,
                previous.as_deref(),
                &batch,
                summary_cap as u32,
            );
            let (text, call_id, model) = self.summary_call(&request, &id)?;
            self.store.append(
                &id,
                &ConversationRecord::Compaction {
                    v: RECORD_VERSION,
                    ts: usage::now_rfc3339(),
                    covers: stop,
                    summary: text.clone(),
                    model: Some(model),
                    call_id: Some(call_id),
                },
            )?;
            self.summary = Some(Summary { text, covers: stop });
            start = stop;
        }
        Ok(end - from)
    }

    /// A message cut to fit `budget` tokens (a single message bigger than a
    /// summary call can take is summarised from its beginning and end).
    fn clip(&self, message: &Message, budget: u64) -> Message {
        let tokens = self.info.encoding.count(&message.content) as u64;
        if tokens <= budget / 2 {
            return message.clone();
        }
        let keep_chars = (message.content.chars().count() as u64 * budget / 2 / tokens) as usize;
        let head: String = message.content.chars().take(keep_chars / 2).collect();
        let tail: Vec<char> = message.content.chars().rev().take(keep_chars / 2).collect();
        let tail: String = tail.into_iter().rev().collect();
        Message::new(
            message.role,
            format!("{head}\n[... cut by confab to fit the summary call ...]\n{tail}"),
        )
    }

    /// Makes one summary call, recorded in the usage log as `compaction`.
    /// Returns the summary, the call id and the model that wrote it.
    fn summary_call(
        &mut self,
        request: &ChatRequest,
        conversation_id: &str,
    ) -> anyhow::Result<(String, String, String)> {
        let (outcome, record) = self.call(request, "compaction", conversation_id, "", false);
        let call_id = record.call_id;
        if matches!(
            outcome.finish_reason.as_deref(),
            Some("length" | "max_tokens")
        ) {
            eprintln!(
                "warning: the summary reached its cap of {} tokens and was cut; raise [compaction] summary_max_tokens",
                request.max_output_tokens
            );
        }
        match &outcome.end {
            CallEnd::Complete if !outcome.text.trim().is_empty() => Ok((
                outcome.text.trim().to_string(),
                call_id,
                outcome
                    .model_reported
                    .clone()
                    .unwrap_or_else(|| self.resolved.model.clone()),
            )),
            CallEnd::Complete => anyhow::bail!("the summary call returned no text"),
            CallEnd::Cancelled => anyhow::bail!("the summary call was interrupted"),
            CallEnd::Broken(reason) => anyhow::bail!("the summary call broke off: {reason}"),
            CallEnd::Failed(failure) => {
                anyhow::bail!("the summary call failed: {}", failure.message())
            }
        }
    }

    /// Screens the user's message and the retrieved chunks for prompt
    /// injection, each under its `[guard]` policy: `block` refuses (exit 5,
    /// with what matched and why), `warn` prints the findings, `fence`
    /// sends the text inside an unforgeable fence labelled as data
    /// (retrieved chunks are always fenced). Returns the message to send.
    fn screen_injection(
        &self,
        message: Option<&str>,
        hits: &[crate::commands::rag::QueryHit],
    ) -> anyhow::Result<String> {
        use crate::guard::{screen, Policy};
        let describe = |findings: &[crate::guard::Finding], place: &str| -> Vec<String> {
            findings
                .iter()
                .map(|f| {
                    let via = f
                        .via
                        .map(|v| format!(" (hidden as {v})"))
                        .unwrap_or_default();
                    format!(
                        "{place}:{}:{}: {}{via}: {} ({})",
                        f.line, f.column, f.rule, f.why, f.excerpt
                    )
                })
                .collect()
        };
        let policies = self.config.guard;
        let mut blocked: Vec<String> = Vec::new();
        // Applies a policy to findings; true when the text is to be fenced.
        let mut apply = |policy: Policy, lines: Vec<String>| match policy {
            Policy::Block => {
                blocked.extend(lines);
                false
            }
            Policy::Warn => {
                for line in &lines {
                    eprintln!("warning: possible prompt injection: {line}");
                }
                false
            }
            Policy::Fence => {
                for line in &lines {
                    eprintln!("note: possible prompt injection, sent fenced as data: {line}");
                }
                true
            }
        };
        let message = message.unwrap_or("");
        let findings = screen(message);
        let mut sent = message.to_string();
        if !findings.is_empty() && apply(policies.user_input, describe(&findings, "message")) {
            sent = crate::guard::fence(message, "user input");
        }
        for hit in hits {
            let findings = screen(&hit.text);
            if !findings.is_empty() {
                let place = format!("{} (retrieved chunk {})", hit.path, hit.rank);
                // Retrieved chunks are always fenced by `fenced_prompt`.
                apply(policies.retrieved, describe(&findings, &place));
            }
        }
        if !blocked.is_empty() {
            return Err(Failure::new(
                ExitKind::InputRejected,
                format!(
                    "refusing to send text that looks like a prompt injection:\n  {}",
                    blocked.join("\n  ")
                ),
            )
            .hint(
                "rephrase, remove the flagged text, or set [guard] user_input / retrieved = \"warn\" \
                 or \"fence\" in config.toml; nothing was sent or saved",
            )
            .into());
        }
        Ok(sent)
    }

    /// Finds secrets in texts about to be sent, each named by where it is
    /// and with the line number its text starts at: refuses with exit 5
    /// and where they are, or with `--redact` (or `[guard] secrets =
    /// "redact"`) replaces them in place, so neither what is sent nor what
    /// is stored holds them.
    fn screen_secrets(&self, texts: &mut [(String, i64, &mut String)]) -> anyhow::Result<()> {
        use crate::guard::secrets;
        let mut places = Vec::new();
        for (place, first_line, text) in texts.iter() {
            for m in secrets::find_secrets(text) {
                places.push(format!(
                    "{} in {place} at line {}, column {}",
                    m.kind,
                    m.line as i64 + first_line - 1,
                    m.column
                ));
            }
        }
        if places.is_empty() {
            return Ok(());
        }
        let redact =
            self.args.redact || self.config.guard.secrets == crate::guard::SecretPolicy::Redact;
        if !redact {
            return Err(Failure::new(
                ExitKind::InputRejected,
                format!(
                    "refusing to send what looks like a credential: {}",
                    places.join("; ")
                ),
            )
            .hint("remove it, or pass --redact to send it as [REDACTED:kind]; nothing was sent or saved")
            .into());
        }
        eprintln!(
            "confab: redacted {} secret(s): {}",
            places.len(),
            places.join("; ")
        );
        for (_, _, text) in texts.iter_mut() {
            **text = secrets::redact(text).0;
        }
        Ok(())
    }

    /// Makes room for `sent` before it goes out: compacts when the prompt
    /// would pass the threshold, and when compaction fails or is not
    /// enough, leaves the oldest verbatim messages out of this request (they
    /// stay in the file). Returns how many were left out; fails with exit 3
    /// only when the new message does not fit even alone.
    fn make_room(&mut self, sent: &str, cap: u64) -> anyhow::Result<usize> {
        let threshold = self.compact_threshold();
        let window = self.info.context_window;
        let mut target = window.saturating_sub(cap);
        if self.context_tokens(Some(sent), 0) > threshold {
            match self.compact() {
                Ok(covered) if covered > 0 => eprintln!(
                    "confab: compacted the conversation: the summary now stands for its first {} messages (`confab history show {}` has them all)",
                    self.summary.as_ref().map_or(0, |s| s.covers),
                    self.conversation_id.as_deref().unwrap_or("")
                ),
                Ok(_) => {}
                Err(_) if self.cancel.load(Ordering::SeqCst) => {
                    return Err(Failure::new(
                        ExitKind::Interrupted,
                        "interrupted while summarising the older messages; nothing was sent",
                    )
                    .into());
                }
                Err(err) => {
                    eprintln!("warning: could not summarise the older messages ({err:#})");
                    target = threshold;
                }
            }
        }
        let verbatim = self.verbatim().len();
        let mut skip = 0;
        while skip < verbatim && self.context_tokens(Some(sent), skip) > target {
            skip += 1;
        }
        // What is sent must start with the user (strict role alternation).
        while skip > 0 && skip < verbatim && self.verbatim()[skip].role != Role::User {
            skip += 1;
        }
        let prompt_tokens = self.context_tokens(Some(sent), skip);
        if prompt_tokens + cap > window {
            return Err(Failure::new(
                ExitKind::BudgetExceeded,
                format!(
                    "the prompt is {prompt_tokens} tokens and the output cap {cap}: together over {}'s \
                     context window of {window} tokens",
                    self.resolved.model
                ),
            )
            .hint("shorten the input, lower --max-tokens, or start a new conversation")
            .into());
        }
        if skip > 0 {
            eprintln!(
                "warning: sending without the oldest {skip} messages to stay within the context window; \
                 they stay in the conversation file"
            );
        }
        Ok(skip)
    }

    /// One turn: check the budget, record the user message, call the model,
    /// record the reply and the usage.
    pub fn turn(&mut self, message: &str) -> anyhow::Result<TurnReport> {
        // Secrets are screened before anything leaves, retrieval's
        // embedding call included.
        let mut message = message.to_string();
        let mut system = self.system.clone();
        {
            let mut texts = vec![("the message".to_string(), 1, &mut message)];
            if let Some(system) = system.as_mut() {
                texts.push(("the system prompt".to_string(), 1, system));
            }
            self.screen_secrets(&mut texts)?;
        }
        self.system = system;
        let question = self.screen_injection(Some(&message), &[])?;
        let fenced = question != message;
        // With --rag, the retrieved chunks go with this request only; the
        // conversation keeps what the user wrote.
        let mut hits = match &self.args.rag {
            Some(index) => Some(crate::commands::rag::retrieve(
                &self.paths,
                index,
                &message,
                crate::rag::search::Mode::Hybrid,
                4,
                "chat",
            )?),
            None => self.retrieved.take(),
        };
        if let Some(hits) = hits.as_mut() {
            let mut texts: Vec<(String, i64, &mut String)> = hits
                .iter_mut()
                .map(|h| {
                    (
                        format!("{} (retrieved chunk {})", h.path, h.rank),
                        h.start_line,
                        &mut h.text,
                    )
                })
                .collect();
            self.screen_secrets(&mut texts)?;
            self.screen_injection(None, hits)?;
        }
        let sent = match &hits {
            Some(hits) => crate::commands::rag::fenced_prompt(hits, &question),
            None => question,
        };
        let message = message.as_str();
        let cap = self.output_cap();
        let skip = self.make_room(&sent, cap)?;
        if let Some(broker) = &mut self.tools {
            broker.start_turn();
        }
        let id = self.ensure_conversation(message)?;
        self.store.append(
            &id,
            &ConversationRecord::Message {
                v: RECORD_VERSION,
                ts: usage::now_rfc3339(),
                role: Role::User,
                content: message.to_string(),
                model: None,
                call_id: None,
                interrupted: false,
                fenced,
            },
        )?;
        let messages = self.request_messages(Some(&sent), skip);
        // Later turns resend a flagged message fenced, as this one is.
        let kept = if fenced {
            crate::guard::fence(message, "user input")
        } else {
            message.to_string()
        };
        self.history.push(Message::new(Role::User, kept));
        let mut request = ChatRequest {
            model: self.resolved.model.clone(),
            system: self.system.clone(),
            messages,
            max_output_tokens: u32::try_from(cap).unwrap_or(u32::MAX),
            temperature: self.args.temperature,
            stream: !self.args.no_stream,
            tools: self
                .tools
                .as_ref()
                .map(ToolBroker::declarations)
                .unwrap_or_default(),
            ..ChatRequest::default()
        };
        if let Some((name, schema)) = &self.schema {
            if crate::llm::supports_response_format(self.resolved.provider.kind) {
                request.response_format = Some(crate::llm::JsonSchemaFormat {
                    name: name.clone(),
                    schema: schema.source().clone(),
                });
            } else {
                let instruction = crate::guard::output::instruction(schema.source());
                request.system = Some(match &request.system {
                    Some(system) => format!("{system}\n\n{instruction}"),
                    None => instruction,
                });
            }
        }
        let cache_key = self.cache_key(&request);
        if let Some(key) = &cache_key {
            if let Some(report) = self.serve_from_cache(key, &id)? {
                return Ok(report);
            }
        }
        // With --schema the reply is shown only once it validates.
        let echo = !self.args.json && self.schema.is_none();
        let mut exchange = self.exchange(&mut request, &id, message, echo)?;
        let mut validated = None;
        if let Some(schema) = self.schema.as_ref().map(|(_, s)| Arc::clone(s)) {
            if matches!(exchange.outcome.end, CallEnd::Complete) {
                match crate::guard::output::check_reply(&exchange.outcome.text, &schema) {
                    Ok(value) => validated = Some(value),
                    Err(errors) => {
                        eprintln!(
                            "confab: the reply does not fit the schema ({}); asking once more",
                            errors.join("; ")
                        );
                        let correction = crate::guard::output::correction(&errors);
                        request
                            .messages
                            .push(Message::new(Role::Assistant, exchange.last_text.clone()));
                        request
                            .messages
                            .push(Message::new(Role::User, correction.clone()));
                        self.append_user(&id, &correction)?;
                        self.history
                            .push(Message::new(Role::User, correction.clone()));
                        let second = self.exchange(&mut request, &id, &correction, echo)?;
                        exchange = exchange.then(second);
                        if matches!(exchange.outcome.end, CallEnd::Complete) {
                            match crate::guard::output::check_reply(&exchange.outcome.text, &schema)
                            {
                                Ok(value) => validated = Some(value),
                                Err(errors) => {
                                    return Err(Failure::new(
                                        ExitKind::InputRejected,
                                        format!(
                                            "the reply does not fit the schema after a retry: {}",
                                            errors.join("; ")
                                        ),
                                    )
                                    .hint(format!(
                                        "the replies are kept in conversation {id}; simplify the schema or try another model"
                                    ))
                                    .into());
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some(value) = &validated {
            if !self.args.json {
                println!("{}", serde_json::to_string_pretty(value)?);
            }
        }
        let fits_schema = self.schema.is_none() || validated.is_some();
        if let (Some(key), Some(cache)) = (&cache_key, &self.cache) {
            let cut_off = matches!(
                exchange.outcome.finish_reason.as_deref(),
                Some("length" | "max_tokens")
            );
            if matches!(exchange.outcome.end, CallEnd::Complete) && fits_schema && !cut_off {
                let reply = CachedReply {
                    text: exchange.outcome.text.clone(),
                    model_reported: exchange.outcome.model_reported.clone(),
                    finish_reason: exchange.outcome.finish_reason.clone(),
                    usage: exchange.usage,
                };
                if let Err(err) = cache.store(key, &reply) {
                    eprintln!("warning: the reply was not cached: {err}");
                }
            }
        }
        let outcome = exchange.outcome;
        let interrupted = matches!(outcome.end, CallEnd::Cancelled | CallEnd::Broken(_));
        Ok(TurnReport {
            conversation_id: id,
            provider: self.resolved.provider_name.clone(),
            model_requested: self.resolved.model.clone(),
            model_reported: outcome.model_reported.clone(),
            text: outcome.text.clone(),
            from_cache: None,
            json: validated,
            finish_reason: outcome.finish_reason.clone(),
            interrupted,
            input_tokens: exchange.usage.input_tokens,
            cached_input_tokens: exchange.usage.cached_input_tokens,
            output_tokens: exchange.usage.output_tokens,
            reasoning_tokens: exchange.usage.reasoning_tokens,
            usage_source: exchange.usage_source,
            latency_ms: exchange.latency_ms,
            ttft_ms: exchange.ttft_ms,
            retries: exchange.retries,
            end: Some(outcome.end),
        })
    }

    /// The cache key of `request`, when the cache is on and the request
    /// may be cached: temperature 0 (or `--cacheable`), and no tools, whose
    /// results can change between calls.
    fn cache_key(&self, request: &ChatRequest) -> Option<CacheKey> {
        self.cache.as_ref()?;
        if self.tools.is_some() {
            eprintln!("note: not cached: tools are configured, and their results can change");
            return None;
        }
        if !crate::cache::cacheable(request.temperature, self.args.cacheable) {
            eprintln!(
                "note: not cached: only temperature-0 requests are (pass --temperature 0, or --cacheable)"
            );
            return None;
        }
        let format = self
            .schema
            .as_ref()
            .map(|(_, schema)| schema.source().to_string());
        CacheKey::for_request(&self.resolved.provider_name, request, format.as_deref())
    }

    /// Serves the turn from the cache on a hit: prints and stores the
    /// reply and records a `cache_hit` usage record with the tokens it
    /// saved. `None` on a miss (or a cached reply that no longer fits
    /// `--schema`).
    fn serve_from_cache(&mut self, key: &CacheKey, id: &str) -> anyhow::Result<Option<TurnReport>> {
        let Some(cache) = &self.cache else {
            return Ok(None);
        };
        let started = std::time::Instant::now();
        let started_at = usage::now_rfc3339();
        let hit: CacheHit = match cache.lookup(key) {
            Ok(Some(hit)) => hit,
            Ok(None) => return Ok(None),
            Err(err) => {
                eprintln!(
                    "warning: the response cache could not be read ({err}); asking the model"
                );
                return Ok(None);
            }
        };
        let validated = match &self.schema {
            Some((_, schema)) => match crate::guard::output::check_reply(&hit.reply.text, schema) {
                Ok(value) => Some(value),
                Err(_) => return Ok(None),
            },
            None => None,
        };
        let how = if hit.exact {
            "the same question".to_string()
        } else {
            format!(
                "a similar question (cosine {:.3}): \"{}\"",
                hit.similarity,
                hit.cached_prompt.chars().take(80).collect::<String>()
            )
        };
        eprintln!(
            "confab: served from the response cache, stored {} for {how}; no API call was made",
            hit.stored_at
        );
        if !self.args.json {
            match &validated {
                Some(value) => println!("{}", serde_json::to_string_pretty(value)?),
                None => println!("{}", hit.reply.text.trim_end_matches('\n')),
            }
        }
        let call_id = usage::new_call_id();
        self.store.append(
            id,
            &ConversationRecord::Message {
                v: RECORD_VERSION,
                ts: usage::now_rfc3339(),
                role: Role::Assistant,
                content: hit.reply.text.clone(),
                model: hit
                    .reply
                    .model_reported
                    .clone()
                    .or_else(|| Some(self.resolved.model.clone())),
                call_id: Some(call_id.clone()),
                interrupted: false,
                fenced: false,
            },
        )?;
        self.history
            .push(Message::new(Role::Assistant, hit.reply.text.clone()));
        // The record of the call the hit stands in for, with its tokens as
        // what was saved.
        let served = CallOutcome {
            text: hit.reply.text.clone(),
            finish_reason: hit.reply.finish_reason.clone(),
            tool_calls: Vec::new(),
            model_reported: hit.reply.model_reported.clone(),
            usage: Some(hit.reply.usage),
            retries: 0,
            status: None,
            ttft: None,
            latency: started.elapsed(),
            end: CallEnd::Complete,
        };
        let mut record = self.usage_record(&served, self.command, id, &call_id, started_at, 0, "");
        record.outcome = UsageOutcome::CacheHit;
        record.cache_match = Some(if hit.exact {
            "exact".to_string()
        } else {
            format!("{:.3}", hit.similarity)
        });
        let latency_ms = record.latency_ms;
        if let Err(err) = self.usage_log.append(&record) {
            eprintln!("warning: the usage record was not written: {err}");
        }
        Ok(Some(TurnReport {
            conversation_id: id.to_string(),
            provider: self.resolved.provider_name.clone(),
            model_requested: self.resolved.model.clone(),
            model_reported: hit.reply.model_reported.clone(),
            text: hit.reply.text.clone(),
            from_cache: record.cache_match.clone(),
            json: validated,
            finish_reason: hit.reply.finish_reason.clone(),
            interrupted: false,
            input_tokens: 0,
            cached_input_tokens: 0,
            output_tokens: 0,
            reasoning_tokens: 0,
            usage_source: UsageSource::Api,
            latency_ms,
            ttft_ms: None,
            retries: 0,
            end: Some(CallEnd::Complete),
        }))
    }

    /// Appends a user message to the conversation file.
    fn append_user(&self, id: &str, content: &str) -> anyhow::Result<()> {
        self.store.append(
            id,
            &ConversationRecord::Message {
                v: RECORD_VERSION,
                ts: usage::now_rfc3339(),
                role: Role::User,
                content: content.to_string(),
                model: None,
                call_id: None,
                interrupted: false,
                fenced: false,
            },
        )?;
        Ok(())
    }

    /// Calls the model and answers its tool calls until it replies without
    /// one (or the chain limit stops it); records every call in the usage
    /// log and the reply in the conversation.
    fn exchange(
        &mut self,
        request: &mut ChatRequest,
        id: &str,
        message: &str,
        echo: bool,
    ) -> anyhow::Result<Exchange> {
        let mut texts: Vec<String> = Vec::new();
        let mut total: Option<Exchange> = None;
        let mut refused_rounds = 0;
        let (outcome, call_id) = loop {
            let logged = if total.is_none() { message } else { "" };
            let (outcome, record) = self.call(request, self.command, id, logged, echo);
            let this = Exchange::of(&outcome, &record);
            total = Some(match total {
                Some(before) => before.then(this),
                None => this,
            });
            if !outcome.text.is_empty() {
                texts.push(outcome.text.clone());
            }
            let answerable =
                !outcome.tool_calls.is_empty() && matches!(outcome.end, CallEnd::Complete);
            let Some(broker) = self.tools.as_mut().filter(|_| answerable) else {
                if self.tools.is_none() {
                    for call in &outcome.tool_calls {
                        eprintln!(
                            "confab: the model asked to call `{}` with {}; no tools are configured, so nothing was run",
                            call.name, call.arguments
                        );
                    }
                }
                break (outcome, record.call_id);
            };
            if broker.exhausted() {
                refused_rounds += 1;
                if refused_rounds > 1 {
                    eprintln!(
                        "confab: the model kept asking for tools after the limit of rounds; stopping here"
                    );
                    break (outcome, record.call_id);
                }
            }
            request.messages.push(Message::assistant_tool_calls(
                outcome.text.clone(),
                outcome.tool_calls.clone(),
            ));
            let (results, notes) = broker.answer(Some(id), &outcome.tool_calls);
            for note in notes {
                let ran = note
                    .exit_code
                    .map(|code| format!(", exit {code}"))
                    .unwrap_or_default();
                let decision = serde_json::to_value(note.decision)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                eprintln!("confab: tool `{}`: {decision}{ran}", note.tool);
            }
            request.messages.extend(results);
            let next = self.count_request(request.system.as_deref(), &request.messages)
                + self.request_overhead()
                + u64::from(request.max_output_tokens);
            if next > self.info.context_window {
                eprintln!(
                    "confab: the tool results would take the request to {next} tokens, over the \
                     {}-token context window; stopping the tool calls here",
                    self.info.context_window
                );
                break (outcome, record.call_id);
            }
        };
        let text = texts.join("\n\n");
        // A failure after earlier rounds wrote text leaves a partial reply.
        let interrupted = matches!(outcome.end, CallEnd::Cancelled | CallEnd::Broken(_))
            || (matches!(outcome.end, CallEnd::Failed(_)) && !text.is_empty());
        if !text.is_empty() {
            self.store.append(
                id,
                &ConversationRecord::Message {
                    v: RECORD_VERSION,
                    ts: usage::now_rfc3339(),
                    role: Role::Assistant,
                    content: text.clone(),
                    model: outcome
                        .model_reported
                        .clone()
                        .or_else(|| Some(self.resolved.model.clone())),
                    call_id: Some(call_id),
                    interrupted,
                    fenced: false,
                },
            )?;
            self.history
                .push(Message::new(Role::Assistant, text.clone()));
        }
        let mut total = total.expect("at least one call");
        total.outcome = outcome;
        total.outcome.text = text;
        Ok(total)
    }

    /// One model call, recorded in the usage log under `command`.
    fn call(
        &mut self,
        request: &ChatRequest,
        command: &str,
        conversation_id: &str,
        message: &str,
        echo: bool,
    ) -> (CallOutcome, UsageRecord) {
        let started_at = usage::now_rfc3339();
        let call_id = usage::new_call_id();
        let prompt_tokens = self.count_request(request.system.as_deref(), &request.messages);
        self.cancel.store(false, Ordering::SeqCst);
        let mut printer = StreamPrinter::new(echo);
        printer.waiting(&self.resolved.model);
        let outcome = self.client.chat(request, &self.cancel, &mut printer);
        printer.finish();
        let record = self.usage_record(
            &outcome,
            command,
            conversation_id,
            &call_id,
            started_at,
            prompt_tokens,
            message,
        );
        if let Err(err) = self.usage_log.append(&record) {
            eprintln!("warning: the usage record was not written: {err}");
        }
        (outcome, record)
    }

    fn ensure_conversation(&mut self, first_message: &str) -> anyhow::Result<String> {
        if let Some(id) = &self.conversation_id {
            return Ok(id.clone());
        }
        let id = new_conversation_id();
        let title: String = first_message
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .chars()
            .take(60)
            .collect();
        self.store.append(
            &id,
            &ConversationRecord::Header {
                v: RECORD_VERSION,
                id: id.clone(),
                created: usage::now_rfc3339(),
                title,
                model: format!("{}:{}", self.resolved.provider_name, self.resolved.model),
                system: self.system.clone(),
                replay_of: self.replay_of.clone(),
                compact_at: self.compact_at,
            },
        )?;
        self.conversation_id = Some(id.clone());
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn usage_record(
        &self,
        outcome: &CallOutcome,
        command: &str,
        conversation_id: &str,
        call_id: &str,
        ts: String,
        prompt_tokens: u64,
        message: &str,
    ) -> UsageRecord {
        let (usage, source) = match outcome.usage {
            Some(usage) => (usage, UsageSource::Api),
            None => (
                crate::llm::Usage {
                    input_tokens: prompt_tokens,
                    output_tokens: self.info.encoding.count(&outcome.text) as u64,
                    ..crate::llm::Usage::default()
                },
                UsageSource::Local,
            ),
        };
        let (result, error_kind) = match &outcome.end {
            CallEnd::Complete => (UsageOutcome::Ok, None),
            CallEnd::Cancelled => (UsageOutcome::Interrupted, Some("cancelled".to_string())),
            CallEnd::Broken(_) => (UsageOutcome::Interrupted, Some("stream_broken".to_string())),
            CallEnd::Failed(f) => (UsageOutcome::Error, Some(f.kind())),
        };
        // A call that failed before any reply was billed nothing we know of.
        let (input_tokens, output_tokens) = match (&outcome.end, outcome.usage) {
            (CallEnd::Failed(_), None) => (0, 0),
            _ => (usage.input_tokens, usage.output_tokens),
        };
        UsageRecord {
            v: usage::RECORD_VERSION,
            ts,
            call_id: call_id.to_string(),
            conversation_id: Some(conversation_id.to_string()),
            command: command.into(),
            provider: self.resolved.provider_name.clone(),
            host: self.client.host(),
            model_requested: self.resolved.model.clone(),
            model_reported: outcome.model_reported.clone(),
            input_tokens,
            cached_input_tokens: usage.cached_input_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            output_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            usage_source: source,
            latency_ms: outcome.latency.as_millis() as u64,
            ttft_ms: outcome.ttft.map(|d| d.as_millis() as u64),
            retries: outcome.retries,
            status: outcome.status,
            error_kind,
            outcome: result,
            tags: self.args.tag.clone(),
            prompt: (self.config.log_prompts && !message.is_empty()).then(|| message.to_string()),
            cache_match: None,
        }
    }
}

/// The tool broker, when config declares tools.
fn open_tools(config: &Config, paths: &Paths, args: &Args) -> anyhow::Result<Option<ToolBroker>> {
    if config.tools.is_empty() {
        if let Some(name) = args.approve_tools.first() {
            return Err(Failure::new(
                ExitKind::Usage,
                format!("--approve-tools names `{name}`, but no tools are configured"),
            )
            .hint("declare tools as [tools.NAME] in config.toml")
            .into());
        }
        return Ok(None);
    }
    let registry = ToolRegistry::from_config(&config.tools)
        .map_err(|err| {
            Failure::new(ExitKind::Usage, format!("config.toml: {err}"))
                .hint("fix the [tools.NAME] table; `confab config` shows the file's path")
        })?
        .with_settings(config.tool_settings);
    if let Some(unknown) = args
        .approve_tools
        .iter()
        .find(|name| !registry.names().contains(&name.as_str()))
    {
        return Err(Failure::new(
            ExitKind::Usage,
            format!("--approve-tools names `{unknown}`, which is not a configured tool"),
        )
        .hint(format!("the tools are: {}", registry.names().join(", ")))
        .into());
    }
    // Ask only where a person can answer: a terminal on stdin or stderr.
    let attended = std::io::stdin().is_terminal() || std::io::stderr().is_terminal();
    let prompt = attended.then(TerminalPrompt::open).flatten();
    Ok(Some(
        ToolBroker::new(
            registry,
            args.approve_tools.clone(),
            prompt,
            AuditLog::in_data_dir(&paths.data_dir),
        )
        .with_guard(config.guard),
    ))
}

/// The response cache, when `--cache`, `--cacheable` or `[cache] enabled`
/// asks for it. A cache that cannot be opened is a warning, never fatal.
fn open_cache(
    config: &Config,
    paths: &Paths,
    args: &Args,
) -> anyhow::Result<Option<SemanticCache>> {
    let wanted = (args.cache || args.cacheable || config.cache.enabled) && !args.no_cache;
    if !wanted {
        return Ok(None);
    }
    config.cache.validate().map_err(|err| {
        Failure::new(ExitKind::Usage, format!("config.toml: {err}"))
            .hint("set [cache] threshold to a cosine similarity such as 0.92")
    })?;
    match SemanticCache::open(&paths.cache_dir, &config.cache) {
        Ok((cache, warnings)) => {
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            Ok(Some(cache))
        }
        Err(err) => {
            eprintln!("warning: the response cache is not available ({err}); going on without it");
            Ok(None)
        }
    }
}

/// Reads and compiles `--schema`.
fn load_schema(path: &std::path::Path) -> anyhow::Result<(String, Arc<CompiledSchema>)> {
    let bad = |what: String| {
        Failure::new(
            ExitKind::Usage,
            format!("--schema {}: {what}", path.display()),
        )
        .hint("pass a JSON Schema file, such as {\"type\": \"object\", \"properties\": {...}}")
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let compiled = CompiledSchema::compile(&value).map_err(|e| bad(e.to_string()))?;
    let name: String = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let name = if name.is_empty() {
        "reply".to_string()
    } else {
        name
    };
    Ok((name, Arc::new(compiled)))
}

fn resolve_failure(err: ResolveError) -> Failure {
    let hint = match err {
        ResolveError::NoProvider => format!(
            "export OPENAI_API_KEY or ANTHROPIC_API_KEY, or configure a provider in config.toml \
             (`confab config` shows where); for a local Ollama:\n{}",
            crate::config::OLLAMA_EXAMPLE
        ),
        _ => "use -m provider:model; `confab config` lists the providers".to_string(),
    };
    Failure::new(ExitKind::Usage, err.to_string()).hint(hint)
}

fn key_failure(err: ClientError) -> Failure {
    let hint = match &err {
        ClientError::Key(KeyError::MissingKey { variable, provider }) => {
            format!("export {variable}, or set providers.{provider}.api_key_cmd in config.toml")
        }
        ClientError::Key(KeyError::KeyCommand { provider, .. }) => {
            format!("check providers.{provider}.api_key_cmd in config.toml")
        }
        ClientError::Setup(_) => "this machine could not start the HTTP client; report it".into(),
    };
    Failure::new(ExitKind::Provider, err.to_string()).hint(hint)
}
