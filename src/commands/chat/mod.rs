//! `confab chat`: one-shot (`confab chat "question"`, with piped stdin as
//! context) or an interactive REPL. The flags become an [`EnginePlan`];
//! the engine in [`crate::chat`] runs each turn; this module reads the
//! message and renders the report.

mod repl;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::app::Ctx;
use crate::chat::{ConversationChoice, Engine, EnginePlan, TurnOptions};
use crate::exit::{ExitKind, Failure};
use crate::presets::{LoadedPreset, PresetError, PresetStore};
use crate::term::{RenderChoice, TerminalSink};

/// Arguments of `confab chat`.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(after_help = "Examples:
  confab chat \"what is a monad?\"             one-shot, streamed
  git diff | confab chat \"review this\"       piped stdin is added as context
  confab chat -m anthropic:claude-sonnet-4-5  interactive REPL on a terminal
  confab chat -c \"and in Rust?\"              continue the last conversation
  git diff | confab chat -p review           a preset: system prompt, template, settings")]
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
    #[arg(long, value_name = "N", value_parser = crate::commands::values::output_cap)]
    pub max_tokens: Option<u32>,

    /// Sampling temperature
    #[arg(long, value_name = "T", value_parser = crate::commands::values::temperature)]
    pub temperature: Option<f32>,

    /// Wait for the whole reply instead of streaming it
    #[arg(long)]
    pub no_stream: bool,

    /// Mark the system prompt, tools and conversation so far for Anthropic's
    /// prompt cache (reads cost a tenth; writes a quarter more, or twice the
    /// input price with =1h) [config: cache_prompt, cache_prompt_ttl]
    #[arg(long, value_name = "TTL", num_args = 0..=1, require_equals = true,
          default_missing_value = "5m", value_parser = clap::value_parser!(crate::llm::CacheTtl))]
    pub cache_prompt: Option<crate::llm::CacheTtl>,

    /// How hard an OpenAI reasoning model thinks: minimal, low, medium or high
    /// (its summary is shown dimmed on stderr)
    #[arg(long, value_name = "EFFORT", value_parser = clap::value_parser!(crate::llm::ReasoningEffort))]
    pub reasoning_effort: Option<crate::llm::ReasoningEffort>,

    /// Turn on Claude's extended thinking with this many tokens (at least
    /// 1024, below --max-tokens, which covers thinking and reply)
    #[arg(long, value_name = "N")]
    pub thinking_budget: Option<u32>,

    /// Print one JSON object (reply, usage, ids) instead of the streamed text
    #[arg(long)]
    pub json: bool,

    /// Print the reply exactly as the model wrote it, without Markdown rendering
    #[arg(long, conflicts_with = "render")]
    pub raw: bool,

    /// Render the reply's Markdown even when stdout is not a terminal
    /// (NO_COLOR still turns rendering off)
    #[arg(long)]
    pub render: bool,

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

    /// Use this preset (`confab presets list`): its system prompt, model,
    /// settings and prompt template; flags given here override it
    #[arg(short, long, value_name = "NAME")]
    pub preset: Option<String>,

    /// Write the message in $VISUAL or $EDITOR (added after a message given here)
    #[arg(short = 'e', long = "editor")]
    pub editor: bool,

    /// Attach a file: an image (PNG, JPEG, WebP, GIF) or PDF goes as its
    /// own part, a text file as fenced context; `-` reads stdin (repeatable)
    #[arg(short = 'a', long = "attach", value_name = "PATH")]
    pub attach: Vec<String>,

    /// Fill the preset template's `{KEY}` with VALUE (repeatable)
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = crate::commands::values::template_var, requires = "preset")]
    pub vars: Vec<(String, String)>,
}

fn parse_fraction(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(f) if (0.05..=1.0).contains(&f) => Ok(f),
        _ => Err(format!(
            "`{text}` is not a fraction between 0.05 and 1.0, such as 0.75"
        )),
    }
}

impl Args {
    /// The engine these flags ask for, on top of `preset` when one is used.
    fn plan(&self, preset: Option<&UsedPreset>) -> EnginePlan {
        let conversation = match (&self.conversation, self.r#continue) {
            (Some(id), _) => ConversationChoice::Id(id.clone()),
            (None, true) => ConversationChoice::Latest,
            (None, false) => ConversationChoice::New,
        };
        let from = preset.map(|used| &used.loaded.preset);
        let mut tags = from.map(|p| p.tags.clone()).unwrap_or_default();
        tags.extend(self.tag.iter().cloned());
        EnginePlan {
            model: self.model.clone().or_else(|| from?.model.clone()),
            system: self.system.clone().or_else(|| from?.system.clone()),
            conversation,
            compact_at: self.compact_at,
            tags,
            command: "chat",
            replay_of: None,
            redact: self.redact,
            schema: self
                .schema
                .clone()
                .or_else(|| preset?.loaded.schema_path(&preset?.store)),
            cache: self.cache,
            cacheable: self.cacheable,
            no_cache: self.no_cache,
            approve_tools: self.approve_tools.clone(),
            rag_index: self.rag.clone().or_else(|| from?.rag.clone()),
            preset: preset.map(|used| used.loaded.name.clone()),
            offered_tools: from.and_then(|p| p.tools.clone()),
        }
    }

    /// The per-request settings, on top of `preset`'s.
    fn options(&self, preset: Option<&UsedPreset>) -> TurnOptions {
        let from = preset.map(|used| &used.loaded.preset);
        TurnOptions {
            max_tokens: self.max_tokens.or_else(|| from?.max_tokens),
            temperature: self.temperature.or_else(|| from?.temperature),
            no_stream: self.no_stream,
            cache_prompt: self.cache_prompt,
            reasoning_effort: self.reasoning_effort.or_else(|| from?.reasoning_effort),
            thinking_budget: self.thinking_budget.or_else(|| from?.thinking_budget),
        }
    }
}

/// The preset a chat uses, with the `--var` values for its template.
struct UsedPreset {
    store: PresetStore,
    loaded: LoadedPreset,
    vars: BTreeMap<String, String>,
}

impl UsedPreset {
    /// Loads `name` from the config dir's presets (or the built-in ones).
    fn load(ctx: &Ctx, name: &str, vars: &[(String, String)]) -> anyhow::Result<UsedPreset> {
        let store = PresetStore::in_config_dir(&ctx.paths.config_dir);
        let loaded = store.load(name).map_err(preset_failure)?;
        let mut values = BTreeMap::new();
        for (key, value) in vars {
            if values.insert(key.clone(), value.clone()).is_some() {
                return Err(
                    Failure::new(ExitKind::Usage, format!("--var {key} is given twice"))
                        .hint("give each variable once")
                        .into(),
                );
            }
        }
        Ok(UsedPreset {
            store,
            loaded,
            vars: values,
        })
    }

    /// The message the template makes of `input`.
    fn message(&self, input: &str) -> anyhow::Result<String> {
        self.loaded
            .message(input, &self.vars)
            .map_err(|err| preset_failure(err).into())
    }
}

/// A preset problem as a usage error that says where to look.
fn preset_failure(err: PresetError) -> Failure {
    let hint = match &err {
        PresetError::NoInput { .. } => {
            "pipe the input, as in `git diff | confab chat -p review`, or give it as the message"
        }
        PresetError::Fill { .. } => "give each variable with --var KEY=VALUE",
        _ => "`confab presets list` shows the presets; `confab presets show NAME` one of them",
    };
    Failure::new(ExitKind::Usage, err.to_string()).hint(hint)
}

/// Runs `confab chat`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let ctx = Ctx::load("chat")?;
    let choice = RenderChoice::detect(args.raw, args.render, ctx.config.render);
    let sink = Box::new(TerminalSink::new(!args.json).rendering(choice.rendering()));
    let preset = args
        .preset
        .as_deref()
        .map(|name| UsedPreset::load(&ctx, name, &args.vars))
        .transpose()?;
    let plan = args.plan(preset.as_ref());
    let options = args.options(preset.as_ref());
    let mut engine = Engine::open(ctx, plan, options, sink)?;
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let message = args.message.join(" ");
    let shape = |input: &str| match &preset {
        Some(preset) => preset.message(input),
        None => Ok(input.to_string()),
    };
    let message = match args.editor {
        true => with_composed(message, &engine)?,
        false => message,
    };
    let interactive = args.interactive || (message.is_empty() && stdin_is_terminal);
    if interactive && !args.attach.is_empty() {
        return Err(
            Failure::new(ExitKind::Usage, "-a attaches files to a one-shot message")
                .hint("give the message too, as in `confab chat -a shot.png \"what is this?\"`")
                .into(),
        );
    }
    if interactive {
        return repl::run(engine, &shape);
    }
    // With `-a -` stdin is an attachment, not the message.
    let stdin_is_input = !stdin_is_terminal && !args.attach.iter().any(|a| a == "-");
    let mut message = shape(&with_piped_input(message, !stdin_is_input)?)?;
    let binaries = attach_files(&mut engine, &args.attach, &mut message)?;
    if message.trim().is_empty() && binaries == 0 {
        return Err(Failure::new(ExitKind::Usage, "no message to send")
            .hint("pass one, as in `confab chat \"hello\"`, or pipe text on stdin")
            .into());
    }
    let report = engine.turn(&message)?;
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    }
    report.exit()
}

/// The message written in the editor (`-e`), after `given` if any; an
/// empty draft sends nothing.
fn with_composed(given: String, engine: &Engine) -> anyhow::Result<String> {
    let written = crate::term::editor::compose(&engine.paths.data_dir.join("drafts"))
        .map_err(|err| Failure::new(ExitKind::Other, err.to_string()))?
        .ok_or_else(|| {
            Failure::new(
                ExitKind::Usage,
                "the editor was closed without a message; nothing sent",
            )
        })?;
    Ok(match given.is_empty() {
        true => written,
        false => format!("{given}\n\n{written}"),
    })
}

/// Loads the `-a` files: text ones are appended to `message` as fenced
/// context, images and PDFs go to the engine for the next turn. Returns how
/// many images and PDFs there are.
fn attach_files(
    engine: &mut Engine,
    names: &[String],
    message: &mut String,
) -> anyhow::Result<usize> {
    if names.is_empty() {
        return Ok(0);
    }
    let host = engine.api_host();
    let host = host.split(':').next().unwrap_or_default();
    let loaded = crate::attach::load_all(names, engine.resolved.provider.kind, host).map_err(|err| {
        let kind = match err {
            crate::attach::AttachError::Store { .. } => ExitKind::Other,
            _ => ExitKind::Usage,
        };
        Failure::new(kind, err.to_string())
            .hint("attach UTF-8 text, PNG, JPEG, WebP or GIF images, or PDFs, within the limits in the README")
    })?;
    let mut binaries = Vec::new();
    for item in loaded {
        match item {
            crate::attach::Loaded::Text { name, text } => {
                if !message.is_empty() {
                    message.push_str("\n\n");
                }
                message.push_str(&crate::attach::fenced_text(&name, &text));
            }
            crate::attach::Loaded::Binary { attachment, bytes } => {
                binaries.push((attachment, bytes))
            }
        }
    }
    let count = binaries.len();
    engine.attach(binaries);
    Ok(count)
}

/// The message with piped stdin added as context (or as the message).
fn with_piped_input(message: String, stdin_is_terminal: bool) -> anyhow::Result<String> {
    if stdin_is_terminal {
        return Ok(message);
    }
    let mut piped = String::new();
    std::io::stdin()
        .read_to_string(&mut piped)
        .context("reading stdin")?;
    Ok(match (message.is_empty(), piped.trim().is_empty()) {
        (_, true) => message,
        (true, false) => piped,
        (false, false) => format!("{message}\n\n{piped}"),
    })
}
