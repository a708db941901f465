//! The command line, declared once with clap derive: the single source for
//! `--help`, the shell completions in `completions/` and the man page in
//! `docs/`.

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands;

/// A careful command-line client for LLM APIs.
#[derive(Debug, Parser)]
#[command(
    name = "confab",
    version,
    about = "A careful command-line client for LLM APIs",
    long_about = "confab chats with OpenAI-style and Anthropic model APIs, counts tokens exactly, \
indexes local docs for retrieval, replays past conversations and reports what every call cost.",
    after_help = "Exit codes: 0 ok, 1 error, 2 usage error, 3 budget or token limit exceeded, \
4 provider or auth error, 5 rejected by a guard (secret, injection, invalid --schema reply), \
6 local model not installed or damaged (confab models pull local), 75 not finished yet (batch results of a running batch), 130 interrupted."
)]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// confab's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Chat with a model, one-shot or interactively, streamed, history kept on disk
    Chat(commands::chat::Args),
    /// Count tokens exactly, as OpenAI's tokenizers do, in files, directories, stdin or text
    CountTokens(commands::count_tokens::Args),
    /// Index local docs and query them, offline by default
    #[command(subcommand)]
    Rag(commands::rag::Command),
    /// Show a past conversation with its costs, re-run it on another model, or price a re-run
    Replay(commands::replay::Args),
    /// Report what the recorded calls cost, grouped, with budgets for CI
    CostReport(commands::cost_report::Args),
    /// Send many prompts as one batch at the batch price; poll, fetch results, cancel
    #[command(subcommand)]
    Batch(commands::batch::Command),
    /// Send recorded calls to an OpenTelemetry backend
    #[command(subcommand)]
    Usage(commands::usage::Command),
    /// List, show and delete stored conversations
    #[command(subcommand)]
    History(commands::history::Args),
    /// Show the effective configuration, secrets masked, and where files live
    Config(commands::show_config::Args),
    /// Screen text for prompt injection and secrets before it reaches a model
    #[command(subcommand)]
    Guard(commands::guard::Command),
    /// Show what the response cache holds, or empty it
    #[command(subcommand)]
    Cache(commands::cache::Args),
    /// Show models' limits (context window, output cap) and where each came from
    Models(commands::models::Args),
    /// List the tools the model is offered (declared and MCP servers'), or run one by hand
    #[command(subcommand)]
    Tools(commands::tools::Command),
    /// List, show or edit the presets `chat -p NAME` uses (reusable prompts and settings)
    #[command(subcommand)]
    Presets(commands::presets::Command),
    /// Print a shell completion script
    Completions(commands::completions::Args),
}

/// The clap command, for generating completions and the man page.
pub fn command() -> clap::Command {
    Cli::command()
}

/// The completion script for `shell`.
pub fn render_completions(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command(), "confab", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man pages, in roff, with their file names: `confab.1`, then one
/// page per subcommand (`confab-count-tokens.1`...).
pub fn render_man_pages() -> std::io::Result<Vec<(String, String)>> {
    let root = command();
    let mut pages = vec![("confab.1".to_string(), render_man(root.clone())?)];
    for sub in root.get_subcommands() {
        let name = format!("confab-{}", sub.get_name());
        let page = sub.clone().name(name.clone());
        pages.push((format!("{name}.1"), render_man(page)?));
    }
    Ok(pages)
}

fn render_man(command: clap::Command) -> std::io::Result<String> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command).render(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The shells completions are shipped for, with their file names in `completions/`.
pub const COMPLETION_FILES: [(clap_complete::Shell, &str); 5] = [
    (clap_complete::Shell::Bash, "confab.bash"),
    (clap_complete::Shell::Zsh, "_confab"),
    (clap_complete::Shell::Fish, "confab.fish"),
    (clap_complete::Shell::PowerShell, "_confab.ps1"),
    (clap_complete::Shell::Elvish, "confab.elv"),
];

impl Cli {
    /// Runs the parsed command line.
    pub fn run(self) -> anyhow::Result<std::process::ExitCode> {
        let records_usage = matches!(
            self.command,
            Command::Chat(_) | Command::Replay(_) | Command::Rag(_) | Command::Batch(_)
        );
        let result = self.command.run();
        if records_usage {
            crate::app::push_usage_to_store();
        }
        result
    }
}

impl Command {
    fn run(self) -> anyhow::Result<std::process::ExitCode> {
        match self {
            Command::CountTokens(args) => commands::count_tokens::run(args),
            Command::Completions(args) => {
                commands::completions::print(&render_completions(args.shell))
            }
            Command::Chat(args) => commands::chat::run(args),
            Command::History(args) => commands::history::run(args),
            Command::Config(args) => commands::show_config::run(args),
            Command::Rag(command) => commands::rag::run(command),
            Command::Replay(args) => commands::replay::run(args),
            Command::CostReport(args) => commands::cost_report::run(args),
            Command::Batch(command) => commands::batch::run(command),
            Command::Usage(command) => commands::usage::run(command),
            Command::Guard(command) => commands::guard::run(command),
            Command::Cache(args) => commands::cache::run(args),
            Command::Models(args) => commands::models::run(args),
            Command::Tools(command) => commands::tools::run(command),
            Command::Presets(command) => commands::presets::run(command),
        }
    }
}
