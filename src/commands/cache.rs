//! `confab cache`: what the response cache holds, and emptying it.

use std::io::Write;
use std::process::ExitCode;

use crate::cache::SemanticCache;
use crate::config::{Config, Paths, ProcessEnvironment};
use crate::exit::{ExitKind, Failure};

/// `confab cache` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Entries, live entries, size and hits served
    Stats {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove every cached reply
    Clear,
}

/// Runs `confab cache`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve()?;
    let config = Config::load(&paths, &ProcessEnvironment).map_err(|err| {
        Failure::new(ExitKind::Usage, err.to_string())
            .hint("fix config.toml; `confab config` shows what confab reads")
    })?;
    let (cache, warnings) = SemanticCache::open(&paths.cache_dir, &config.cache)
        .map_err(|err| Failure::new(ExitKind::Other, err.to_string()))?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    let failed = |err: crate::cache::CacheError| Failure::new(ExitKind::Other, err.to_string());
    let mut out = std::io::stdout().lock();
    match args {
        Args::Stats { json } => {
            let stats = cache.stats().map_err(failed)?;
            if json {
                serde_json::to_writer_pretty(&mut out, &stats)?;
                writeln!(out)?;
            } else {
                writeln!(out, "file          {}", stats.path.display())?;
                writeln!(
                    out,
                    "entries       {} ({} live; ttl {} s, at most {})",
                    stats.entries,
                    stats.live_entries,
                    config.cache.ttl_secs,
                    config.cache.max_entries
                )?;
                writeln!(out, "size          {} bytes", stats.file_bytes)?;
                writeln!(out, "hits served   {}", stats.hits_served)?;
                if let (Some(oldest), Some(newest)) =
                    (&stats.oldest_stored_at, &stats.newest_stored_at)
                {
                    writeln!(out, "stored        {oldest} .. {newest}")?;
                }
                writeln!(
                    out,
                    "enabled       {} (threshold {}; `cost-report` shows what hits saved)",
                    if config.cache.enabled {
                        "by config"
                    } else {
                        "with --cache"
                    },
                    config.cache.threshold
                )?;
            }
        }
        Args::Clear => {
            let removed = cache.clear().map_err(failed)?;
            eprintln!("removed {removed} cached replies");
        }
    }
    Ok(ExitCode::SUCCESS)
}
