//! `confab models`: what confab knows of models' limits and where each
//! number came from (config, the server, the built-in table, or assumed).

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::config::{Config, Paths, ProcessEnvironment, ResolveError};
use crate::exit::{ExitKind, Failure};
use crate::llm::client::Client;
use crate::llm::discovery::{self, CachedLimits, LimitsCache};
use crate::llm::models::ModelInfo;

/// Arguments of `confab models`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Models to look up now (`provider:model`, a model or an alias); the
    /// server is asked unless a fresh answer is cached. Without any, every
    /// answer in the cache and every model configured in config.toml is
    /// listed.
    #[arg(value_name = "MODEL")]
    pub models: Vec<String>,

    /// Forget cached answers (of the named models' providers, or all) and
    /// ask again
    #[arg(long)]
    pub refresh: bool,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

/// One row of the listing.
#[derive(Debug, Serialize)]
struct Row {
    model: String,
    provider: String,
    context_window: Option<u64>,
    window_source: String,
    max_output_tokens: Option<u64>,
    output_source: String,
    /// Seconds since the server was asked, for cached answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    asked_secs_ago: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// Looks models up, or lists what is known.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve()?;
    let config = Config::load(&paths, &ProcessEnvironment)
        .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()).hint("fix config.toml"))?;
    let cache = LimitsCache::in_cache_dir(&paths.cache_dir);
    let rows = if args.models.is_empty() {
        if args.refresh {
            cache.forget(None)?;
        }
        known_rows(&config, &cache)
    } else {
        let mut rows = Vec::new();
        for spec in &args.models {
            rows.push(look_up(&config, &cache, spec, args.refresh)?);
        }
        rows
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
    } else {
        render_table(&mut out, &rows)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves one model spec and finds its limits, asking its server if need be.
fn look_up(config: &Config, cache: &LimitsCache, spec: &str, refresh: bool) -> anyhow::Result<Row> {
    let resolved = config
        .resolve_model(Some(spec))
        .map_err(|err: ResolveError| {
            Failure::new(ExitKind::Usage, err.to_string())
                .hint("`confab config` shows the providers and aliases")
        })?;
    if refresh {
        cache.forget(Some(&resolved.provider_name))?;
    }
    let client = Client::new(
        &resolved.provider_name,
        &resolved.provider,
        &ProcessEnvironment,
    )
    .map_err(|err| {
        Failure::new(ExitKind::Provider, err.to_string())
            .hint("set the provider's API key; `confab config` shows where it is read from")
    })?;
    let info = discovery::model_limits(&client, cache, &config.models, &resolved);
    let cached = cache
        .entries()
        .into_iter()
        .find(|e| e.provider == resolved.provider_name && e.model == resolved.model);
    Ok(row_of(
        &resolved.model,
        &resolved.provider_name,
        &info,
        cached.as_ref(),
    ))
}

fn row_of(model: &str, provider: &str, info: &ModelInfo, cached: Option<&CachedLimits>) -> Row {
    let now = discovery::unix_now();
    Row {
        model: model.to_string(),
        provider: provider.to_string(),
        context_window: Some(info.context_window),
        window_source: info.window_source.to_string(),
        max_output_tokens: Some(info.max_output_tokens),
        output_source: info.output_source.to_string(),
        asked_secs_ago: cached.map(|e| now.saturating_sub(e.fetched_at)),
        note: cached.and_then(|e| e.note.clone()),
    }
}

/// Every cached answer, then every `[models."NAME"]` of config.
fn known_rows(config: &Config, cache: &LimitsCache) -> Vec<Row> {
    let now = discovery::unix_now();
    let mut rows: Vec<Row> = cache
        .entries()
        .into_iter()
        .map(|entry| {
            let limits = entry.limits.clone().unwrap_or_default();
            let source = |value: Option<u64>| match (value, entry.is_fresh(now)) {
                (Some(_), true) => format!("server: {}", limits.source),
                (Some(_), false) => format!("server (stale): {}", limits.source),
                (None, _) => "not given".to_string(),
            };
            Row {
                model: entry.model.clone(),
                provider: entry.provider.clone(),
                context_window: limits.context_window,
                window_source: source(limits.context_window),
                max_output_tokens: limits.max_output_tokens,
                output_source: source(limits.max_output_tokens),
                asked_secs_ago: Some(now.saturating_sub(entry.fetched_at)),
                note: entry.note.clone(),
            }
        })
        .collect();
    for (model, o) in &config.models {
        rows.push(Row {
            model: model.clone(),
            provider: "(any)".into(),
            context_window: o.context_window,
            window_source: o.context_window.map_or("not set", |_| "config.toml").into(),
            max_output_tokens: o.max_output_tokens,
            output_source: o
                .max_output_tokens
                .map_or("not set", |_| "config.toml")
                .into(),
            asked_secs_ago: None,
            note: None,
        });
    }
    rows
}

fn render_table(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    if rows.is_empty() {
        writeln!(
            out,
            "nothing is known yet: `confab models MODEL` asks the model's server; \
             [models.\"NAME\"] in config.toml sets limits by hand"
        )?;
        return Ok(());
    }
    let number = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
    for row in rows {
        writeln!(out, "{} ({})", row.model, row.provider)?;
        writeln!(
            out,
            "  context window  {:>9}  {}",
            number(row.context_window),
            row.window_source
        )?;
        writeln!(
            out,
            "  output limit    {:>9}  {}",
            number(row.max_output_tokens),
            row.output_source
        )?;
        if let Some(age) = row.asked_secs_ago {
            writeln!(out, "  asked           {:>9}  seconds ago", age)?;
        }
        if let Some(note) = &row.note {
            writeln!(out, "  note            {note}")?;
        }
    }
    Ok(())
}
