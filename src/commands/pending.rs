//! The subcommands that are declared but not built yet: they accept any
//! arguments and exit 2 saying so.

use std::process::ExitCode;

use crate::exit::{ExitKind, Failure};

/// Accepts any arguments, so the message is about the command, not a flag.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Arguments of the future command.
    #[arg(hide = true, trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub rest: Vec<String>,
}

/// Fails with "not implemented yet" (exit 2).
pub fn run(name: &str) -> anyhow::Result<ExitCode> {
    Err(Failure::new(
        ExitKind::Usage,
        format!("`confab {name}` is not implemented yet"),
    )
    .hint("see the README for the commands that work today, such as `confab count-tokens`")
    .into())
}
