//! `confab completions SHELL`: prints a completion script generated from
//! the command-line definition.

use std::io::Write;
use std::process::ExitCode;

/// Arguments of `confab completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to print a completion script for
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Prints the script to stdout.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let script = crate::cli::render_completions(args.shell);
    std::io::stdout().lock().write_all(script.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
