//! `confab config`: the effective configuration (file plus environment),
//! with secrets masked, and where confab keeps its files.

use std::io::Write;
use std::process::ExitCode;

use crate::config::{Config, Paths, ProcessEnvironment};
use crate::exit::{ExitKind, Failure};

/// Arguments of `confab config`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Prints the paths and the effective config.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve()?;
    let config = Config::load(&paths, &ProcessEnvironment)
        .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()).hint("fix config.toml"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "# config file: {}", paths.config_file().display())?;
    writeln!(out, "# data dir:    {}", paths.data_dir.display())?;
    writeln!(out, "# cache dir:   {}", paths.cache_dir.display())?;
    if config.providers.is_empty() {
        writeln!(
            out,
            "# no provider configured: export OPENAI_API_KEY or ANTHROPIC_API_KEY, or add one, e.g.\n# {}",
            crate::config::OLLAMA_EXAMPLE.replace('\n', "\n# ")
        )?;
    }
    write!(out, "{}", config.to_masked_toml())?;
    Ok(ExitCode::SUCCESS)
}
