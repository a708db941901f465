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

/// Prints the script (rendered from the command-line definition) to stdout.
pub fn print(script: &str) -> anyhow::Result<ExitCode> {
    std::io::stdout().lock().write_all(script.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
