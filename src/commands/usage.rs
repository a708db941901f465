//! `confab usage export --otlp`: sends recorded calls from `usage.jsonl`
//! (or `--log` files from CI) to the configured OpenTelemetry backend as
//! spans with their original times, so calls made before export was set
//! up can still be seen there.

use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};

use crate::config::{Config, Paths, ProcessEnvironment};
use crate::exit::{ExitKind, Failure};

/// `confab usage` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send recorded calls to an OpenTelemetry backend as spans, with their original times
    #[command(after_help = "Examples:
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:6006 confab usage export --otlp --since 7d
  confab usage export --otlp --log ci-usage.jsonl")]
    Export(ExportArgs),
    /// Upload usage records the team store (CONFAB_DATABASE_URL or [store] url) lacks
    #[command(after_help = "Examples:
  confab usage push                           this machine's log (what commands did not push)
  confab usage push --log ci-usage.jsonl      logs copied from CI runners
Records are keyed by call_id: pushing twice, or the same log from two machines, adds nothing.")]
    Push(PushArgs),
}

/// `confab usage push`.
#[derive(Debug, ClapArgs)]
pub struct PushArgs {
    /// Push this usage log instead of confab's own (repeatable)
    #[arg(long, value_name = "FILE")]
    pub log: Vec<std::path::PathBuf>,
    /// Print what was pushed as JSON
    #[arg(long)]
    pub json: bool,
}

/// `confab usage export`.
#[derive(Debug, ClapArgs)]
pub struct ExportArgs {
    /// Export over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (or [telemetry] endpoint)
    #[arg(long, required = true)]
    pub otlp: bool,
    /// Which logs, and which time window.
    #[command(flatten)]
    pub window: super::values::LogWindow,
}

/// How many spans are queued before they are sent.
const SEND_EVERY: usize = 1000;

/// Runs `confab usage`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Export(args) => export(args),
        Command::Push(args) => push(args),
    }
}

fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    use crate::store::failure as store_failure;
    let paths = Paths::resolve()?;
    let config = Config::load(&paths, &ProcessEnvironment)
        .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()).hint("fix config.toml"))?;
    let store = crate::store::StoreSettings::resolve(&config.store, &ProcessEnvironment)
        .map_err(store_failure)?
        .ok_or_else(|| {
            Failure::new(ExitKind::Usage, "no team store is configured").hint(
                "set CONFAB_DATABASE_URL=postgres://USER@HOST:PORT/DATABASE (or [store] url) \
                 and CONFAB_DATABASE_PASSWORD",
            )
        })?;
    let mut client = store.connect().map_err(store_failure)?;
    let own = args.log.is_empty();
    let logs: Vec<std::path::PathBuf> = if own {
        vec![crate::usage::UsageLog::in_data_dir(&paths.data_dir)
            .path()
            .to_path_buf()]
    } else {
        args.log.clone()
    };
    let mut total = crate::store::ledger::Pushed::default();
    for log in &logs {
        if !own && !log.exists() {
            return Err(Failure::new(
                ExitKind::Usage,
                format!("cannot read {}: no such file", log.display()),
            )
            .hint("check the --log path")
            .into());
        }
        let (done, covered) =
            crate::store::ledger::push_log_from(&mut client, log, 0).map_err(store_failure)?;
        for warning in &done.warnings {
            eprintln!("warning: {warning}");
        }
        if own && covered > 0 {
            crate::store::ledger::write_mark(log, store.target(), covered)?;
        }
        total.add(done.pushed);
    }
    if args.json {
        println!("{}", serde_json::to_string(&total)?);
    } else {
        println!(
            "pushed {} new usage records to {} ({} were there already)",
            total.added,
            store.target(),
            total.present
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (since, until) = args.window.bounds(jiff::Timestamp::now())?;
    let paths = Paths::resolve()?;
    let env = ProcessEnvironment;
    let config = Config::load(&paths, &env)
        .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()).hint("fix config.toml"))?;
    let telemetry = crate::app::start_telemetry(&paths, &config, &env, "usage export");
    let Some(url) = telemetry.traces_url() else {
        return Err(Failure::new(ExitKind::Usage, "no OTLP endpoint is configured")
            .hint("set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://127.0.0.1:4318) or [telemetry] endpoint")
            .into());
    };
    let mut sent = 0;
    let mut failure = None;
    'logs: for log in &args.window.logs(&paths.data_dir) {
        let outcome = log.read().map_err(|err| {
            Failure::new(ExitKind::Usage, err.to_string()).hint("check the --log path")
        })?;
        for warning in &outcome.warnings {
            eprintln!("warning: {warning}");
        }
        let records = outcome.records.iter().map(|(_, record)| record);
        let wanted = records.filter(|record| {
            since.as_deref().is_none_or(|s| record.ts.as_str() >= s)
                && until.as_deref().is_none_or(|u| record.ts.as_str() < u)
        });
        for record in wanted {
            telemetry.past_call(record);
            sent += 1;
            // A collector that refuses the first batch refuses the rest:
            // stop rather than wait out every batch's retries.
            if sent % SEND_EVERY == 0 {
                failure = telemetry.send_queued();
                if failure.is_some() {
                    break 'logs;
                }
            }
        }
    }
    let finished = telemetry.finish();
    if let Some(failure) = failure.or(finished) {
        return Err(Failure::new(
            ExitKind::Provider,
            format!("the export failed after {sent} calls were queued: {failure}"),
        )
            .hint("check that the collector is running and the endpoint is right; nothing in the usage log changed")
            .into());
    }
    eprintln!("exported {sent} calls to {url}");
    Ok(ExitCode::SUCCESS)
}
