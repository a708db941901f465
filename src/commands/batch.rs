//! `confab batch`: submit a JSONL file of prompts as one batch at the
//! batch price (`--dry-run` prices it first), ask how it is doing, fetch
//! its results in input order, cancel it, and list the batches submitted
//! from here. Thin over [`crate::batch`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::app::Ctx;
use crate::batch::estimate::{self, Estimate};
use crate::batch::input::{self, Limits};
use crate::batch::request::{self, Options, ReplySchema};
use crate::batch::results::{self, Ordered};
use crate::batch::store::{BatchRecord, BatchStore, StoreError, RECORD_VERSION};
use crate::batch::{api_for, BatchApi, BatchError, Remote, RemoteBatch};
use crate::config::ResolvedModel;
use crate::exit::{ExitKind, Failure};
use crate::llm::client::Client;
use crate::llm::discovery::{self, LimitsCache};
use crate::llm::models::{model_info, ModelInfo, DEFAULT_OUTPUT_CAP};
use crate::llm::provider::ProviderConfig;
use crate::usage::prices::PriceTable;
use crate::usage::recorder::CallRecorder;
use crate::usage::UsageLog;

/// `confab batch` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Send a JSONL file of prompts as one batch (or price it with --dry-run)
    #[command(after_help = "Input, one request a line:
  {\"id\": \"q1\", \"prompt\": \"Summarise ...\"}
  {\"messages\": [{\"role\": \"user\", \"content\": \"...\"}], \"system\": \"...\", \"max_tokens\": 200}

Examples:
  confab batch submit prompts.jsonl -m gpt-4o-mini --dry-run
  confab batch submit prompts.jsonl -m claude-haiku-4-5 --system \"Answer in one line\"")]
    Submit(SubmitArgs),
    /// Ask the provider how a batch is doing
    Status(IdArgs),
    /// Print a batch's results as JSONL, in input order (exit 75 while it runs)
    Results(IdArgs),
    /// Ask the provider to cancel a batch
    Cancel(IdArgs),
    /// List the batches submitted from this data directory
    List(ListArgs),
}

/// Arguments of `confab batch submit`.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The requests, one JSON object a line
    #[arg(value_name = "FILE.jsonl")]
    pub file: PathBuf,

    /// The model, as `chat -m` takes it
    #[arg(short, long, value_name = "MODEL")]
    pub model: Option<String>,

    /// The system prompt of lines that have none
    #[arg(short, long, value_name = "TEXT")]
    pub system: Option<String>,

    /// A JSON Schema every reply must follow; `results` marks replies that do not
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// Output cap of lines without their own [default: config max_tokens, else min(model limit, 4096)]
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,

    /// Send credentials found in the input as [REDACTED:kind] instead of refusing
    #[arg(long)]
    pub redact: bool,

    /// Count and price the batch, send nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Tag the batch's usage records (repeatable)
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,

    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// Arguments naming one batch.
#[derive(Debug, clap::Args)]
pub struct IdArgs {
    /// The batch id, as `batch submit` printed it
    #[arg(value_name = "ID")]
    pub id: String,

    /// Print JSON (`status`, `cancel`)
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `confab batch list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// Runs `confab batch`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Submit(args) => submit(&args),
        Command::Status(args) => status(&args),
        Command::Results(args) => fetch_results(&args),
        Command::Cancel(args) => cancel(&args),
        Command::List(args) => list(&args),
    }
}

/// The exit code and hint of a batch error.
fn failure(err: BatchError) -> Failure {
    let (kind, hint) = match &err {
        BatchError::Usage(_) | BatchError::Input(_) => (
            ExitKind::Usage,
            "fix the input file or the flags; `confab batch submit --help` shows the line format",
        ),
        BatchError::Rejected(_) => (
            ExitKind::InputRejected,
            "remove it, or pass --redact to send credentials as [REDACTED:kind]; nothing was sent",
        ),
        BatchError::Provider(_) => (
            ExitKind::Provider,
            "check the provider's status and your key; `confab batch status ID` asks again",
        ),
        BatchError::Store(StoreError::Unknown(_)) => (
            ExitKind::Usage,
            "`confab batch list` shows the batches submitted from this data directory",
        ),
        BatchError::Store(_) => (
            ExitKind::Other,
            "check the data directory (`confab config`)",
        ),
    };
    Failure::new(kind, err.to_string()).hint(hint)
}

fn submit(args: &SubmitArgs) -> anyhow::Result<ExitCode> {
    let ctx = Ctx::load("batch submit")?;
    let resolved = ctx
        .config
        .resolve_model(args.model.as_deref())
        .map_err(|err| {
            Failure::new(ExitKind::Usage, err.to_string()).hint("use -m provider:model")
        })?;
    if resolved.provider.kind == crate::config::ProviderKind::Local {
        return Err(
            Failure::new(ExitKind::Usage, "the local model has no batch API")
                .hint("run the requests with `confab chat -m local`, or pick a provider with -m")
                .into(),
        );
    }
    let items = input::read(&args.file, Limits::of(resolved.provider.kind))
        .map_err(|err| failure(err.into()))
        .map_err(|f| {
            f.hint(format!(
                "{}: {}",
                args.file.display(),
                "one JSON request a line"
            ))
        })?;
    let schema = args.schema.as_deref().map(load_schema).transpose()?;
    let client = match args.dry_run {
        true => None,
        false => Some(client_for(&resolved.provider_name, &resolved.provider)?),
    };
    let info = limits(&ctx, &resolved, client.as_ref());
    let options = Options {
        model: resolved.model.clone(),
        kind: resolved.provider.kind,
        system: args.system.clone(),
        max_tokens: default_cap(args.max_tokens.or(ctx.config.max_tokens), &info),
        model_max_tokens: info.max_output_tokens,
        schema,
        guard: ctx.config.guard,
        redact: args.redact,
    };
    let (prepared, notices) = request::prepare(items, &options).map_err(failure)?;
    for notice in &notices.lines {
        eprintln!("confab: warning: {notice}");
    }
    let prices = PriceTable::load(&ctx.paths.config_dir).unwrap_or_else(|err| {
        eprintln!("confab: warning: {err}; using the built-in prices");
        PriceTable::builtin().unwrap_or_default()
    });
    let estimate = estimate::estimate(
        &prepared,
        &info.tokenizer,
        &prices,
        &resolved.provider_name,
        &crate::usage::today(),
    );
    let Some(client) = client else {
        print_estimate(&resolved, &estimate, args.json)?;
        return Ok(ExitCode::SUCCESS);
    };
    eprintln!("confab: {}", estimate_line(&estimate));
    let remote = Remote {
        client: &client,
        provider: &resolved.provider,
    };
    let submitted = api_for(resolved.provider.kind)
        .submit(&remote, &prepared)
        .map_err(failure)?;
    let record = BatchRecord {
        v: RECORD_VERSION,
        id: submitted.batch.id.clone(),
        provider: resolved.provider_name.clone(),
        kind: resolved.provider.kind,
        model: resolved.model.clone(),
        created: crate::usage::now_rfc3339(),
        ids: prepared.iter().map(|p| p.id.clone()).collect(),
        input_file_id: submitted.input_file_id,
        estimate: Some(estimate),
        schema: options.schema.map(|s| s.compiled.source().clone()),
        status: submitted.batch.status.clone(),
        counts: submitted.batch.counts,
        recorded: false,
        tags: args.tag.clone(),
    };
    store(&ctx).save(&record).map_err(|e| failure(e.into()))?;
    print_batch(&record, &submitted.batch, args.json)?;
    eprintln!(
        "confab: submitted; `confab batch status {0}` shows progress, `confab batch results {0}` fetches the replies",
        record.id
    );
    Ok(ExitCode::SUCCESS)
}

/// The output cap of lines without their own: the flag or config, else
/// the model's default as chat uses it.
fn default_cap(asked: Option<u32>, info: &ModelInfo) -> u32 {
    let cap = asked
        .map(u64::from)
        .unwrap_or(DEFAULT_OUTPUT_CAP.min(info.max_output_tokens));
    u32::try_from(cap).unwrap_or(u32::MAX)
}

/// The model's limits: asked of its server (as chat does) when a client
/// is at hand, else what config and the model table say (`--dry-run`
/// stays offline).
fn limits(ctx: &Ctx, resolved: &ResolvedModel, client: Option<&Client>) -> ModelInfo {
    match client {
        Some(client) => {
            let cache = LimitsCache::in_cache_dir(&ctx.paths.cache_dir);
            discovery::model_limits(client, &cache, &ctx.config.models, resolved)
        }
        None => model_info(&resolved.model, &ctx.config.models, None),
    }
}

/// Reads and compiles `--schema` (exit 2 when it is not a schema).
fn load_schema(path: &Path) -> anyhow::Result<ReplySchema> {
    ReplySchema::load(path).map_err(|err| {
        Failure::new(
            ExitKind::Usage,
            format!("--schema {}: {err}", path.display()),
        )
        .hint("pass a JSON Schema file, such as {\"type\": \"object\", \"properties\": {...}}")
        .into()
    })
}

fn client_for(name: &str, provider: &ProviderConfig) -> anyhow::Result<Client> {
    Client::new(name, provider, &crate::config::ProcessEnvironment).map_err(|err| {
        Failure::new(ExitKind::Provider, err.to_string())
            .hint("export the provider's API key, or set its api_key_cmd in config.toml")
            .into()
    })
}

fn store(ctx: &Ctx) -> BatchStore {
    BatchStore::in_data_dir(&ctx.paths.data_dir)
}

/// A batch's record, its provider as configured now, and a client for it.
fn open(ctx: &Ctx, id: &str) -> anyhow::Result<(BatchRecord, ProviderConfig, Client)> {
    let record = store(ctx).load(id).map_err(|e| failure(e.into()))?;
    let provider = ctx
        .config
        .providers
        .get(&record.provider)
        .filter(|p| p.kind == record.kind)
        .cloned()
        .ok_or_else(|| {
            Failure::new(
                ExitKind::Usage,
                format!(
                    "batch {id} was sent to provider `{}`, which is not configured now",
                    record.provider
                ),
            )
            .hint("configure that provider again (`confab config` shows the providers)")
        })?;
    let client = client_for(&record.provider, &provider)?;
    Ok((record, provider, client))
}

fn status(args: &IdArgs) -> anyhow::Result<ExitCode> {
    ask(args, "batch status", |api, remote, id| {
        api.status(remote, id)
    })?;
    Ok(ExitCode::SUCCESS)
}

fn cancel(args: &IdArgs) -> anyhow::Result<ExitCode> {
    let id = ask(args, "batch cancel", |api, remote, id| {
        api.cancel(remote, id)
    })?;
    eprintln!(
        "confab: cancel asked; requests that already ran are kept and billed, `confab batch results {id}` fetches them once it has ended"
    );
    Ok(ExitCode::SUCCESS)
}

/// Asks the provider about batch `args.id` with `call`, notes and prints
/// the state it answers; returns the batch id.
fn ask(
    args: &IdArgs,
    command: &str,
    call: impl Fn(&dyn BatchApi, &Remote<'_>, &str) -> Result<RemoteBatch, BatchError>,
) -> anyhow::Result<String> {
    let ctx = Ctx::load(command)?;
    let (mut record, provider, client) = open(&ctx, &args.id)?;
    let remote = Remote {
        client: &client,
        provider: &provider,
    };
    let batch = call(api_for(record.kind), &remote, &record.id).map_err(failure)?;
    seen(&ctx, &mut record, &batch)?;
    print_batch(&record, &batch, args.json)?;
    Ok(record.id)
}

/// Notes the batch's state as last seen in its record.
fn seen(ctx: &Ctx, record: &mut BatchRecord, batch: &RemoteBatch) -> anyhow::Result<()> {
    record.status = batch.status.clone();
    record.counts = batch.counts;
    store(ctx)
        .save(record)
        .map_err(|e| failure(e.into()).into())
}

fn fetch_results(args: &IdArgs) -> anyhow::Result<ExitCode> {
    let ctx = Ctx::load("batch results")?;
    let _lock = store(&ctx).lock(&args.id).map_err(|e| failure(e.into()))?;
    let (mut record, provider, client) = open(&ctx, &args.id)?;
    let remote = Remote {
        client: &client,
        provider: &provider,
    };
    let api = api_for(record.kind);
    let batch = api.status(&remote, &record.id).map_err(failure)?;
    seen(&ctx, &mut record, &batch)?;
    if !batch.ended {
        return Err(not_ended(&record, &batch).into());
    }
    for error in &batch.errors {
        eprintln!("confab: warning: the batch failed: {error}");
    }
    let limit = (1 << 20) + record.ids.len() * crate::batch::RESULT_BYTES_PER_REQUEST;
    let raw = api.results(&remote, &batch, limit).map_err(failure)?;
    let ordered = results::in_input_order(&record.ids, raw);
    for warning in &ordered.warnings {
        eprintln!("confab: warning: {warning}");
    }
    if !record.recorded {
        record_usage(&ctx, &client, &mut record, &ordered)?;
    }
    print_results(&record, &ordered)?;
    Ok(ExitCode::SUCCESS)
}

/// The failure (exit 75) of asking for the results of a running batch.
fn not_ended(record: &BatchRecord, batch: &RemoteBatch) -> Failure {
    let c = batch.counts;
    Failure::new(
        ExitKind::Pending,
        format!(
            "batch {} has not ended: it is {} ({} of {} requests done)",
            record.id,
            batch.status,
            c.succeeded + c.errored + c.canceled,
            c.total
        ),
    )
    .hint(format!(
        "run `confab batch results {}` again later (exit 75 means not yet)",
        record.id
    ))
}

/// Appends the usage records of the batch's requests, once: the record
/// says so from then on.
fn record_usage(
    ctx: &Ctx,
    client: &Client,
    record: &mut BatchRecord,
    ordered: &Ordered,
) -> anyhow::Result<()> {
    let recorder = CallRecorder::new(
        UsageLog::in_data_dir(&ctx.paths.data_dir),
        &record.provider,
        &client.host(),
    )
    .with_tags(record.tags.clone());
    for usage in results::usage_records(record, ordered, &recorder) {
        recorder.write(&usage)?;
    }
    record.recorded = true;
    store(ctx).save(record).map_err(|e| failure(e.into()))?;
    Ok(())
}

fn print_results(record: &BatchRecord, ordered: &Ordered) -> anyhow::Result<()> {
    let schema = match &record.schema {
        Some(schema) => Some(
            crate::schema::CompiledSchema::compile(schema)
                .map_err(|e| Failure::new(ExitKind::Other, format!("the batch's schema: {e}")))?,
        ),
        None => None,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (id, result) in &ordered.results {
        let line = results::output_line(id, result, schema.as_ref());
        serde_json::to_writer(&mut out, &line)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let ctx = Ctx::load("batch list")?;
    let (records, warnings) = store(&ctx).list().map_err(|e| failure(e.into()))?;
    for warning in warnings {
        eprintln!("confab: warning: {warning}");
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let rows: Vec<serde_json::Value> = records.iter().map(summary).collect();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        eprintln!("confab: no batches yet; `confab batch submit FILE.jsonl -m MODEL` sends one");
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "id\tprovider\tmodel\tstatus\trequests\tcreated\trecorded"
    )?;
    for r in &records {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.id,
            r.provider,
            r.model,
            r.status,
            r.ids.len(),
            r.created,
            if r.recorded { "yes" } else { "no" }
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A record as `list --json` and `status --json` show it.
fn summary(record: &BatchRecord) -> serde_json::Value {
    serde_json::json!({
        "id": record.id,
        "provider": record.provider,
        "model": record.model,
        "status": record.status,
        "requests": record.ids.len(),
        "counts": record.counts,
        "created": record.created,
        "recorded": record.recorded,
        "estimate": record.estimate,
    })
}

fn print_batch(record: &BatchRecord, batch: &RemoteBatch, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let mut value = summary(record);
        value["ended"] = batch.ended.into();
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
        return Ok(());
    }
    let c = batch.counts;
    writeln!(out, "{}", record.id)?;
    writeln!(
        out,
        "status: {}{}  ({} requests to {} via {})",
        batch.status,
        if batch.ended { " (ended)" } else { "" },
        record.ids.len(),
        record.model,
        record.provider
    )?;
    writeln!(
        out,
        "requests: {} total, {} succeeded, {} errored, {} canceled or expired, {} processing",
        c.total, c.succeeded, c.errored, c.canceled, c.processing
    )?;
    Ok(())
}

/// The estimate in one line.
fn estimate_line(estimate: &Estimate) -> String {
    let usd = |v: Option<f64>| v.map_or("unpriced".to_string(), |v| format!("${v:.4}"));
    format!(
        "{} requests, {}{} input tokens, at most {} output tokens: at most {} at the batch price ({} at the standard price)",
        estimate.requests,
        if estimate.exact { "" } else { "~" },
        estimate.input_tokens,
        estimate.max_output_tokens,
        usd(estimate.batch_usd),
        usd(estimate.sync_usd),
    )
}

fn print_estimate(resolved: &ResolvedModel, estimate: &Estimate, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let mut value = serde_json::to_value(estimate)?;
        value["model"] = resolved.model.clone().into();
        value["provider"] = resolved.provider_name.clone().into();
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
        return Ok(());
    }
    let usd = |v: Option<f64>| v.map_or("unpriced".to_string(), |v| format!("${v:.6}"));
    let mark = if estimate.exact { "" } else { "~" };
    writeln!(
        out,
        "model:              {} ({})",
        resolved.model, resolved.provider_name
    )?;
    writeln!(out, "requests:           {}", estimate.requests)?;
    writeln!(out, "input tokens:       {mark}{}", estimate.input_tokens)?;
    writeln!(
        out,
        "output tokens:      at most {}",
        estimate.max_output_tokens
    )?;
    writeln!(
        out,
        "standard price:     at most {}",
        usd(estimate.sync_usd)
    )?;
    writeln!(
        out,
        "batch price:        at most {}",
        usd(estimate.batch_usd)
    )?;
    if let Some((sync, batch)) = estimate.sync_usd.zip(estimate.batch_usd) {
        writeln!(out, "saving:             {}", usd(Some(sync - batch)))?;
    }
    writeln!(out, "(prices of {}; nothing was sent)", estimate.priced_on)?;
    Ok(())
}
