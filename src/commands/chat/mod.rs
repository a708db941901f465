//! `confab chat`: one-shot (`confab chat "question"`, with piped stdin as
//! context) or an interactive REPL. The flags become an [`EnginePlan`];
//! the engine in [`crate::chat`] runs each turn; this module reads the
//! message and renders the report.

mod repl;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::app::Ctx;
use crate::chat::{ConversationChoice, Engine, EnginePlan, TurnOptions};
use crate::exit::{ExitKind, Failure};
use crate::term::{RenderChoice, TerminalSink};

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
    #[arg(long, value_name = "N", value_parser = crate::commands::values::output_cap)]
    pub max_tokens: Option<u32>,

    /// Sampling temperature
    #[arg(long, value_name = "T", value_parser = crate::commands::values::temperature)]
    pub temperature: Option<f32>,

    /// Wait for the whole reply instead of streaming it
    #[arg(long)]
    pub no_stream: bool,

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
    /// The engine these flags ask for.
    fn plan(&self) -> EnginePlan {
        let conversation = match (&self.conversation, self.r#continue) {
            (Some(id), _) => ConversationChoice::Id(id.clone()),
            (None, true) => ConversationChoice::Latest,
            (None, false) => ConversationChoice::New,
        };
        EnginePlan {
            model: self.model.clone(),
            system: self.system.clone(),
            conversation,
            compact_at: self.compact_at,
            tags: self.tag.clone(),
            command: "chat",
            replay_of: None,
            redact: self.redact,
            schema: self.schema.clone(),
            cache: self.cache,
            cacheable: self.cacheable,
            no_cache: self.no_cache,
            approve_tools: self.approve_tools.clone(),
            rag_index: self.rag.clone(),
        }
    }

    /// The per-request settings.
    fn options(&self) -> TurnOptions {
        TurnOptions {
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            no_stream: self.no_stream,
        }
    }
}

/// Runs `confab chat`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let ctx = Ctx::load("chat")?;
    let choice = RenderChoice::detect(args.raw, args.render, ctx.config.render);
    let sink = Box::new(TerminalSink::new(!args.json).rendering(choice.rendering()));
    let mut engine = Engine::open(ctx, args.plan(), args.options(), sink)?;
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let message = args.message.join(" ");
    if args.interactive || (message.is_empty() && stdin_is_terminal) {
        return repl::run(engine);
    }
    let message = with_piped_input(message, stdin_is_terminal)?;
    if message.trim().is_empty() {
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
