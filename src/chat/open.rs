//! Building an engine: the conversation loaded, the model resolved and
//! its limits known, the client, tools, cache and schema set up. Every
//! failure here says what to fix.

use std::io::IsTerminal;
use std::sync::Arc;

use crate::app::Ctx;
use crate::cache::SemanticCache;
use crate::config::{Config, Paths, ProviderKind, ResolveError, ResolvedModel};
use crate::conversation::{
    ConversationHandle, ConversationRecord, ConversationStore, RECORD_VERSION,
};
use crate::exit::{ExitKind, Failure};
use crate::llm::client::{Client, ClientError};
use crate::llm::discovery::{self, LimitsCache};
use crate::llm::keys::KeyError;
use crate::llm::models::ModelInfo;
use crate::llm::wire::WireFormat;
use crate::tools::broker::ToolBroker;
use crate::tools::{CompiledSchema, TerminalPrompt};
use crate::usage::recorder::CallRecorder;
use crate::usage::{self, UsageLog};

use super::{ConversationChoice, Engine, EnginePlan, NoticeLevel, TurnOptions, TurnSink};

/// The limits of the resolved model (see [`discovery::model_limits`]),
/// with a note when nothing is known.
fn limits_of(
    client: &Client,
    paths: &Paths,
    config: &Config,
    resolved: &ResolvedModel,
    sink: &mut dyn TurnSink,
) -> ModelInfo {
    if resolved.provider.kind == ProviderKind::Local {
        let limits = crate::local::limits(&resolved.model);
        return crate::llm::models::model_info(&resolved.model, &config.models, limits.as_ref());
    }
    let cache = LimitsCache::in_cache_dir(&paths.cache_dir);
    let info = discovery::model_limits(client, &cache, &config.models, resolved);
    if !info.known() {
        sink.notice(
            NoticeLevel::Note,
            &format!(
                "confab does not know {}'s limits and its server did not say; assuming a \
                 {}-token context window (set [models.\"{}\"] context_window in config.toml; \
                 `confab models` shows what is known)",
                resolved.model, info.context_window, resolved.model
            ),
        );
    }
    info
}

impl Engine {
    /// Builds the engine `plan` asks for in `ctx`: loads the conversation
    /// it continues, resolves the model, builds the client and learns the
    /// model's limits, and sets up tools, cache and schema.
    pub fn open(
        ctx: Ctx,
        plan: EnginePlan,
        options: TurnOptions,
        sink: Box<dyn TurnSink>,
    ) -> anyhow::Result<Engine> {
        Engine::open_speaking(ctx, plan, options, sink, None)
    }

    /// [`Engine::open`], with the client speaking `wire` when given
    /// instead of the provider's own format (for in-process tests).
    pub(crate) fn open_speaking(
        ctx: Ctx,
        plan: EnginePlan,
        options: TurnOptions,
        mut sink: Box<dyn TurnSink>,
        wire: Option<&'static dyn WireFormat>,
    ) -> anyhow::Result<Engine> {
        // Every turn screens its input: compile the patterns meanwhile.
        crate::guard::warm_up();
        let Ctx {
            paths,
            config,
            env,
            cancel,
            telemetry,
        } = ctx;
        let store = ConversationStore::in_data_dir(&paths.data_dir);
        let mut loaded = load_conversation(&store, &plan, sink.as_mut())?;
        crate::attach::AttachmentStore::in_data_dir(&paths.data_dir).fill(&mut loaded.history);
        let spec = plan.model.clone().or(loaded.model);
        let resolved = config
            .resolve_model(spec.as_deref())
            .map_err(resolve_failure)?;
        let client = match wire {
            Some(wire) => Client::speaking(&resolved.provider_name, &resolved.provider, &env, wire),
            None => Client::for_model(
                &resolved.provider_name,
                &resolved.provider,
                &resolved.model,
                &env,
            ),
        }
        .map_err(key_failure)?;
        let client = local_model(client, &paths, &resolved)?;
        if config.local_fallback && resolved.provider.kind == ProviderKind::Local {
            sink.notice(
                NoticeLevel::Info,
                &format!(
                    "no provider is configured and no API key is set: answering with the \
                     built-in local model {} (export OPENAI_API_KEY or ANTHROPIC_API_KEY, or \
                     configure a provider, to use another)",
                    resolved.model
                ),
            );
        }
        let info = limits_of(&client, &paths, &config, &resolved, sink.as_mut());
        let tools = open_tools(&config, &paths, &plan)?;
        let cache = open_cache(&config, &paths, &plan, sink.as_mut())?;
        let schema = plan.schema.as_deref().map(load_schema).transpose()?;
        let mut engine = Engine {
            recorder: CallRecorder::new(
                UsageLog::in_data_dir(&paths.data_dir),
                &resolved.provider_name,
                &client.host(),
            )
            .with_tags(plan.tags.clone())
            .with_prompts(config.log_prompts),
            paths,
            config,
            resolved,
            info,
            client,
            store,
            seen_len: loaded
                .conversation
                .as_ref()
                .and_then(|c| c.file_length().ok())
                .unwrap_or(0),
            conversation: loaded.conversation,
            system: plan.system.clone().or(loaded.system),
            history: loaded.history,
            summary: loaded.summary,
            compact_at: loaded.compact_at,
            tools,
            schema,
            retrieved: None,
            attachments: Vec::new(),
            overhead_tokens: 0,
            cache,
            cancel,
            telemetry,
            plan,
            options,
            sink,
        };
        engine.overhead_tokens = engine.count_overhead();
        engine.use_preset(engine.plan.preset.clone());
        engine.check_reasoning()?;
        Ok(engine)
    }

    /// Names the preset the next messages come from, in the conversation
    /// file and the usage log (`replay` re-runs each turn under its own).
    pub fn use_preset(&mut self, preset: Option<String>) {
        self.recorder.set_preset(preset.clone());
        self.plan.preset = preset;
    }

    /// Switches to another model (the REPL's `/model`).
    pub fn switch_model(&mut self, spec: &str) -> anyhow::Result<()> {
        let resolved = self
            .config
            .resolve_model(Some(spec))
            .map_err(resolve_failure)?;
        let client = Client::for_model(
            &resolved.provider_name,
            &resolved.provider,
            &resolved.model,
            &crate::config::ProcessEnvironment,
        )
        .map_err(key_failure)?;
        self.client = local_model(client, &self.paths, &resolved)?;
        self.info = limits_of(
            &self.client,
            &self.paths,
            &self.config,
            &resolved,
            self.sink.as_mut(),
        );
        self.overhead_tokens = self.count_overhead();
        self.resolved = resolved;
        self.check_reasoning()?;
        Ok(())
    }

    /// Checks `--reasoning-effort` and `--thinking-budget` against the
    /// model's wire format and the output cap, before any call: each is
    /// for one family of APIs, and a budget must leave room for the reply.
    fn check_reasoning(&mut self) -> Result<(), Failure> {
        let wire = self.client.wire();
        let model = &self.resolved.model;
        if self.options.reasoning_effort.is_some() && !wire.takes_reasoning_effort() {
            return Err(Failure::new(
                ExitKind::Usage,
                format!("--reasoning-effort is for OpenAI-style reasoning models, not {model}"),
            )
            .hint(
                "for Claude's extended thinking, pass --thinking-budget N (at least 1024 tokens)",
            ));
        }
        let Some(budget) = self.options.thinking_budget else {
            return Ok(());
        };
        if !wire.takes_thinking_budget() {
            return Err(Failure::new(
                ExitKind::Usage,
                format!("--thinking-budget is for Anthropic models, not {model}"),
            )
            .hint("for OpenAI reasoning models, pass --reasoning-effort minimal|low|medium|high"));
        }
        let minimum = crate::llm::anthropic::MIN_THINKING_BUDGET;
        if budget < minimum {
            return Err(Failure::new(
                ExitKind::Usage,
                format!(
                    "--thinking-budget {budget} is below the API's minimum of {minimum} tokens"
                ),
            ));
        }
        let cap = self.output_cap();
        if u64::from(budget) >= cap {
            return Err(Failure::new(
                ExitKind::Usage,
                format!(
                    "--thinking-budget {budget} must be below the output cap ({cap} tokens), \
                     which covers the thinking and the reply"
                ),
            )
            .hint(format!(
                "raise the cap, e.g. --max-tokens {}",
                u64::from(budget) + cap.min(4096)
            )));
        }
        if self.options.temperature.is_some_and(|t| t != 1.0) {
            self.note("extended thinking takes no temperature; it is not sent");
        }
        Ok(())
    }
}

/// What a continued conversation brings.
#[derive(Default)]
struct Loaded {
    conversation: Option<ConversationHandle>,
    system: Option<String>,
    model: Option<String>,
    history: Vec<crate::llm::Message>,
    summary: Option<crate::conversation::compaction::Summary>,
    compact_at: Option<f32>,
}

/// The newest conversation `chat -c` can continue: broken files are
/// passed over with a warning (never a reason to fail), and the person is
/// told which one it continues.
fn latest_usable(store: &ConversationStore, sink: &mut dyn TurnSink) -> anyhow::Result<String> {
    let latest = store.latest_usable()?;
    for broken in &latest.passed_over {
        let (broken, problem) = (&broken.id, &broken.problem);
        sink.notice(
            NoticeLevel::Warning,
            &format!(
                "passing over conversation {broken}: {problem} (`confab history show {broken}` \
                 shows what is in it, `confab history delete {broken}` removes it)"
            ),
        );
    }
    let id = latest.id.ok_or_else(|| {
        Failure::new(ExitKind::Usage, "there is no conversation to continue")
            .hint("start one with `confab chat \"...\"`")
    })?;
    let title = store
        .list()?
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| s.title)
        .unwrap_or_default();
    sink.notice(
        NoticeLevel::Info,
        &format!("continuing conversation {id} ({title})"),
    );
    Ok(id)
}

/// Loads the conversation `plan` continues (none for a new one); a new
/// `compact_at` is kept in its file.
fn load_conversation(
    store: &ConversationStore,
    plan: &EnginePlan,
    sink: &mut dyn TurnSink,
) -> anyhow::Result<Loaded> {
    let id = match &plan.conversation {
        ConversationChoice::New => {
            return Ok(Loaded {
                compact_at: plan.compact_at,
                ..Loaded::default()
            })
        }
        ConversationChoice::Id(id) => id.clone(),
        ConversationChoice::Latest => latest_usable(store, sink)?,
    };
    let handle = store.open(&id).map_err(|err| {
        Failure::new(ExitKind::Usage, err.to_string())
            .hint("`confab history list` shows the conversations")
    })?;
    let conversation = store.read(&id).map_err(|err| {
        Failure::new(ExitKind::Usage, err.to_string())
            .hint("`confab history list` shows the conversations")
    })?;
    for warning in &conversation.warnings {
        sink.notice(NoticeLevel::Warning, &warning.to_string());
    }
    let (system, model) = conversation.header();
    let mut compact_at = plan.compact_at;
    match (plan.compact_at, conversation.compact_at()) {
        (Some(new), old) if old != Some(new) => {
            // Kept for the conversation, not just this run.
            handle.append(&ConversationRecord::Settings {
                v: RECORD_VERSION,
                ts: usage::now_rfc3339(),
                compact_at: Some(new),
            })?;
        }
        _ => compact_at = compact_at.or(conversation.compact_at()),
    }
    Ok(Loaded {
        system: system.map(str::to_string),
        model: Some(model.to_string()),
        history: conversation.messages(),
        summary: conversation.latest_summary(),
        compact_at,
        conversation: Some(handle),
    })
}

/// The tool broker, when config declares tools or MCP servers (which
/// start on the first turn).
fn open_tools(
    config: &Config,
    paths: &Paths,
    plan: &EnginePlan,
) -> anyhow::Result<Option<ToolBroker>> {
    let restricted;
    let config = match &plan.offered_tools {
        Some(names) => {
            restricted = only_tools(config, names)?;
            &restricted
        }
        None => config,
    };
    if config.tools.is_empty() && config.mcp_servers.is_empty() {
        if let Some(name) = plan.approve_tools.first() {
            return Err(Failure::new(
                ExitKind::Usage,
                format!("--approve-tools names `{name}`, but no tools are configured"),
            )
            .hint("declare tools as [tools.NAME] or [mcp_servers.NAME] in config.toml")
            .into());
        }
        return Ok(None);
    }
    // Ask only where a person can answer: a terminal on stdin or stderr.
    let attended = std::io::stdin().is_terminal() || std::io::stderr().is_terminal();
    let prompt = attended.then(TerminalPrompt::open).flatten();
    crate::tools::broker::open(config, &paths.data_dir, &plan.approve_tools, prompt).map(Some)
}

/// `config` with only the tools `names` offered: declared tools by name,
/// MCP servers' as `SERVER__TOOL` (and then only if the server allows them).
/// A name that is neither is a usage error.
fn only_tools(config: &Config, names: &[String]) -> anyhow::Result<Config> {
    let mut only = config.clone();
    only.tools.retain(|name, _| names.contains(name));
    for (server, settings) in &mut only.mcp_servers {
        settings
            .allow
            .retain(|tool| names.contains(&crate::tools::mcp::qualified_name(server, tool)));
    }
    only.mcp_servers
        .retain(|_, settings| !settings.allow.is_empty());
    let offered = |name: &String| {
        only.tools.contains_key(name)
            || only.mcp_servers.iter().any(|(server, settings)| {
                settings
                    .allow
                    .iter()
                    .any(|tool| *name == crate::tools::mcp::qualified_name(server, tool))
            })
    };
    if let Some(unknown) = names.iter().find(|name| !offered(name)) {
        let mut known: Vec<String> = config.tools.keys().cloned().collect();
        for (server, settings) in &config.mcp_servers {
            known.extend(
                settings
                    .allow
                    .iter()
                    .map(|tool| crate::tools::mcp::qualified_name(server, tool)),
            );
        }
        return Err(Failure::new(
            ExitKind::Usage,
            format!("the preset offers the tool `{unknown}`, which config.toml does not declare or allow"),
        )
        .hint(if known.is_empty() {
            "declare it as [tools.NAME] or in an [mcp_servers.NAME] allow list".to_string()
        } else {
            format!("the configured tools are: {}", known.join(", "))
        })
        .into());
    }
    Ok(only)
}

/// The response cache, when `--cache`, `--cacheable` or `[cache] enabled`
/// asks for it. A cache that cannot be opened is a warning, never fatal.
fn open_cache(
    config: &Config,
    paths: &Paths,
    plan: &EnginePlan,
    sink: &mut dyn TurnSink,
) -> anyhow::Result<Option<SemanticCache>> {
    let wanted = (plan.cache || plan.cacheable || config.cache.enabled) && !plan.no_cache;
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
                sink.notice(NoticeLevel::Warning, &warning.to_string());
            }
            Ok(Some(cache))
        }
        Err(err) => {
            sink.notice(
                NoticeLevel::Warning,
                &format!("the response cache is not available ({err}); going on without it"),
            );
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
             (`confab config` shows where), or install the built-in local model with \
             `confab models pull local`; for a local Ollama:\n{}",
            crate::config::OLLAMA_EXAMPLE
        ),
        _ => "use -m provider:model; `confab config` lists the providers".to_string(),
    };
    Failure::new(ExitKind::Usage, err.to_string()).hint(hint)
}

/// `client` with the local model loaded when `resolved` is one.
fn local_model(client: Client, paths: &Paths, resolved: &ResolvedModel) -> Result<Client, Failure> {
    if resolved.provider.kind != ProviderKind::Local {
        return Ok(client);
    }
    crate::local::attach(client, &paths.cache_dir, &resolved.model).map_err(local_failure)
}

/// A missing or damaged local model as people read it, naming the command
/// that installs it.
pub(crate) fn local_failure(err: crate::local::LocalError) -> Failure {
    let kind = if err.needs_pull() {
        ExitKind::LocalModel
    } else {
        ExitKind::Usage
    };
    let hint = match &err {
        crate::local::LocalError::NotBuilt => {
            "build confab with the default features, or use a provider with -m".to_string()
        }
        _ => format!(
            "install it with `confab models pull local` (or `confab models pull local --from \
             FILE` with the downloaded file); models: {}",
            crate::local::catalog::names()
        ),
    };
    Failure::new(kind, err.to_string()).hint(hint)
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
