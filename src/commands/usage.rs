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
    }
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
