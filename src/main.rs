//! The confab binary: parse the command line, run the command, and turn its
//! error into a message and a documented exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use confab::exit::{ExitKind, Failure};

fn main() -> ExitCode {
    let cli = confab::cli::Cli::parse();
    match cli.run() {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// Prints `confab: <error chain>` and the hint, and picks the exit code.
fn report(err: &anyhow::Error) -> ExitCode {
    // A closed pipe (`confab count-tokens dir | head`) is not an error.
    if err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::SUCCESS;
    }
    let failure = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<Failure>());
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "confab: {err:#}");
    if let Some(hint) = failure.and_then(|f| f.hint.as_deref()) {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    ExitCode::from(failure.map_or(ExitKind::Other, |f| f.kind).code())
}
