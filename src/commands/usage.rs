//! `confab usage export --otlp`: sends recorded calls from `usage.jsonl`
//! (or `--log` files from CI) to the configured OpenTelemetry backend as
//! spans with their original times, so calls made before export was set
//! up can still be seen there.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};

use crate::config::{Config, Paths, ProcessEnvironment};
use crate::exit::{ExitKind, Failure};
use crate::usage::UsageLog;

/// `confab usage` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send recorded calls to an OpenTelemetry backend as spans, with their original times
    #[command(after_help = "Examples:
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:6006 confab usage export --otlp --since 7d
  confab usage export --otlp --log ci-usage.jsonl")]
    Export(ExportArgs),
}

/// `confab usage export`.
#[derive(Debug, ClapArgs)]
pub struct ExportArgs {
    /// Export over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (or [telemetry] endpoint)
    #[arg(long, required = true)]
    pub otlp: bool,
    /// Read these usage logs instead of the data directory's (repeatable)
    #[arg(long, value_name = "FILE")]
    pub log: Vec<PathBuf>,
    /// Only calls since: a date (2026-11-01), a time (RFC 3339), or an age (24h, 7d, 2w)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only calls before: a date (inclusive), a time, or an age
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
}

/// How many spans are queued before they are sent.
const SEND_EVERY: usize = 1000;

/// Runs `confab usage`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Export(args) => export(args),
    }
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let now = jiff::Timestamp::now();
    let since = args
        .since
        .as_deref()
        .map(|s| super::values::time_bound(s, now, false))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| super::values::time_bound(s, now, true))
        .transpose()?;
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
    let logs: Vec<UsageLog> = if args.log.is_empty() {
        vec![UsageLog::in_data_dir(&paths.data_dir)]
    } else {
        args.log.iter().cloned().map(UsageLog::at).collect()
    };
    let mut sent = 0;
    for log in &logs {
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
            if sent % SEND_EVERY == 0 {
                telemetry.send_queued();
            }
        }
    }
    if let Some(failure) = telemetry.finish() {
        return Err(Failure::new(ExitKind::Provider, format!("the export failed: {failure}"))
            .hint("check that the collector is running and the endpoint is right; nothing in the usage log changed")
            .into());
    }
    eprintln!("exported {sent} calls to {url}");
    Ok(ExitCode::SUCCESS)
}
