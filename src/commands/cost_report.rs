//! `confab cost-report`: what the recorded calls cost, grouped and
//! filtered, as a table, JSON, CSV or Markdown; `--budget` makes CI fail
//! (exit 3) when the total is over it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{Config, Paths, ProcessEnvironment};
use crate::exit::{ExitKind, Failure};
use crate::usage::prices::PriceTable;
use crate::usage::report::{Filters, GroupKey, Pricing, Report, ReportBuilder, ReportRow};
use crate::usage::UsageLog;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table.
    Table,
    /// JSON.
    Json,
    /// CSV, one row per group plus a total row.
    Csv,
    /// A Markdown table, for PR comments.
    Markdown,
}

/// Arguments of `confab cost-report`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  confab cost-report                                 by model, all time
  confab cost-report --since 7d --group-by day,model
  confab cost-report --tag ci --budget 5             exit 3 if CI spent over $5
  confab cost-report --log ci-usage.jsonl --format markdown")]
pub struct Args {
    /// Which logs, and which time window.
    #[command(flatten)]
    pub window: super::values::LogWindow,

    /// Only calls of this model
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,

    /// Only calls to this provider
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,

    /// Only calls with this tag
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,

    /// Only calls of this conversation
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,

    /// Only calls made by this command (chat, rag query, compaction...)
    #[arg(long, value_name = "NAME")]
    pub command: Option<String>,

    /// Group rows by these keys (comma-separated) [default: model]
    #[arg(long, value_name = "KEYS", value_delimiter = ',')]
    pub group_by: Vec<GroupKey>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Same as --format json
    #[arg(long)]
    pub json: bool,

    /// Exit with code 3 when the total cost is over USD
    #[arg(long, value_name = "USD", value_parser = parse_budget)]
    pub budget: Option<f64>,

    /// Also read prices from this file (confab TOML or LiteLLM JSON)
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,

    /// Report from this machine's usage log even when a team store
    /// (CONFAB_DATABASE_URL or [store] url) is configured
    #[arg(long)]
    pub local: bool,
}

/// Runs `confab cost-report`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve()?;
    let config = Config::load(&paths, &ProcessEnvironment)
        .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()).hint("fix config.toml"))?;
    let mut table = PriceTable::load(&paths.config_dir).map_err(price_failure)?;
    if let Some(path) = &args.prices {
        table.merge(PriceTable::from_file(path).map_err(price_failure)?);
    }
    let filters = args.filters(jiff::Timestamp::now())?;
    let logs = args.window.logs(&paths.data_dir);
    let pricing = Pricing {
        table: &table,
        free_providers: config.free_providers(),
    };
    let group_by = if args.group_by.is_empty() {
        vec![GroupKey::Model]
    } else {
        args.group_by.clone()
    };
    let store = crate::store::StoreSettings::resolve(&config.store, &ProcessEnvironment)
        .map_err(crate::store::failure)?
        .filter(|_| !args.local && args.window.log.is_empty());
    let report = match store {
        Some(store) => {
            let mut client = store.connect().map_err(crate::store::failure)?;
            crate::store::report::build(&mut client, &filters, &group_by, &pricing)
                .map_err(crate::store::failure)?
        }
        None => build_report(
            &logs,
            !args.window.log.is_empty(),
            &filters,
            &group_by,
            &pricing,
        )?,
    };
    print_report(&args, &report)?;
    if report.total.calls == 0 {
        eprintln!("note: no usage records matched");
    }
    if !report.unpriced_models.is_empty() {
        eprintln!(
            "note: no price for {}; their calls are shown as unpriced, not $0 \
             (add prices in {})",
            report.unpriced_models.join(", "),
            paths.config_dir.join("prices.toml").display()
        );
    }
    check_budget(args.budget, &report)
}

impl Args {
    /// The record filters these flags ask for, times relative to `now`.
    fn filters(&self, now: jiff::Timestamp) -> anyhow::Result<Filters> {
        let (since, until) = self.window.bounds(now)?;
        Ok(Filters {
            since,
            until,
            model: self.model.clone(),
            provider: self.provider.clone(),
            tag: self.tag.clone(),
            conversation: self.conversation.clone(),
            command: self.command.clone(),
        })
    }
}

/// Folds every log into one report (each log read once, in parallel
/// parts); a `--log` path that does not exist is a usage error.
fn build_report(
    logs: &[UsageLog],
    named: bool,
    filters: &Filters,
    group_by: &[GroupKey],
    pricing: &Pricing<'_>,
) -> anyhow::Result<crate::usage::report::Report> {
    let mut builder = ReportBuilder::new(filters, group_by, pricing);
    for log in logs {
        if named && !log.path().exists() {
            return Err(Failure::new(
                ExitKind::Usage,
                format!("cannot read {}: no such file", log.path().display()),
            )
            .hint("check the --log path")
            .into());
        }
        let bytes = log.read_bytes()?;
        let (part, warnings) = log.fold_views(
            &bytes,
            || ReportBuilder::new(filters, group_by, pricing),
            |builder, view| builder.add(&view),
            ReportBuilder::merge,
        );
        for warning in &warnings {
            eprintln!("warning: {warning}");
        }
        builder = builder.merge(part);
    }
    Ok(builder.finish())
}

/// Prints the report in the format asked for.
fn print_report(args: &Args, report: &crate::usage::report::Report) -> anyhow::Result<()> {
    let format = if args.json { Format::Json } else { args.format };
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, report)?;
            writeln!(out)?;
        }
        Format::Csv => write_csv(&mut out, report)?,
        Format::Table => write_table(&mut out, report, false)?,
        Format::Markdown => write_table(&mut out, report, true)?,
    }
    out.flush()?;
    Ok(())
}

/// A `--budget`: dollars, finite and not negative (a NaN budget would
/// never fail, an infinite one never either).
fn parse_budget(text: &str) -> Result<f64, String> {
    match text.trim().trim_start_matches('$').parse::<f64>() {
        Ok(usd) if usd.is_finite() && usd >= 0.0 => Ok(usd),
        _ => Err(format!(
            "`{text}` is not an amount of dollars, such as 5 or 0.50"
        )),
    }
}

/// Exit 3 when the report's spend passes `--budget`.
fn check_budget(
    budget: Option<f64>,
    report: &crate::usage::report::Report,
) -> anyhow::Result<ExitCode> {
    let Some(budget) = budget.filter(|budget| report.total.cost_usd > *budget) else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut message = format!(
        "spent ${:.4}, over the budget of ${budget:.2}",
        report.total.cost_usd
    );
    if report.total.unpriced_calls > 0 {
        message.push_str(&format!(
            " (and {} unpriced calls not counted)",
            report.total.unpriced_calls
        ));
    }
    Err(Failure::new(ExitKind::BudgetExceeded, message)
        .hint("see the rows above for where it went; raise --budget if this is expected")
        .into())
}

fn price_failure(err: crate::usage::prices::PriceError) -> Failure {
    Failure::new(ExitKind::Usage, err.to_string())
        .hint("prices are TOML [[price]] entries (see the README) or LiteLLM's JSON")
}

/// The cells of one row after the group columns.
fn cells(row: &ReportRow) -> Vec<String> {
    let ms = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let cost = if row.calls > 0 && row.unpriced_calls == row.calls {
        "unpriced".to_string()
    } else {
        let mut cost = format!("${:.4}", row.cost_usd);
        if row.estimated_calls > 0 {
            cost.insert(0, '~');
        }
        if row.batch_calls > 0 {
            cost.push('*');
        }
        if row.unpriced_calls > 0 {
            cost.push_str(&format!(" +{} unpriced", row.unpriced_calls));
        }
        cost
    };
    vec![
        row.calls.to_string(),
        row.errors.to_string(),
        row.input_tokens.to_string(),
        row.cached_input_tokens.to_string(),
        row.output_tokens.to_string(),
        cost,
        ms(row.latency_p50_ms),
        ms(row.latency_p95_ms),
        ms(row.ttft_p50_ms),
        ms(row.ttft_p95_ms),
    ]
}

const VALUE_HEADERS: [&str; 10] = [
    "calls", "errors", "input", "cached", "output", "cost", "p50 ms", "p95 ms", "ttft p50",
    "ttft p95",
];

/// The cache columns, shown only when the report has cache hits.
fn cache_cells(row: &ReportRow) -> [String; 2] {
    [row.cache_hits.to_string(), format!("${:.4}", row.saved_usd)]
}

fn write_table(out: &mut impl Write, report: &Report, markdown: bool) -> std::io::Result<()> {
    let with_cache = report.total.cache_hits > 0;
    let (header, rows) = table_cells(report, with_cache);
    let groups = report.group_by.len();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c < groups {
                    format!("{cell:<width$}", width = widths[c])
                } else {
                    format!("{cell:>width$}", width = widths[c])
                }
            })
            .collect();
        if markdown {
            format!("| {} |", padded.join(" | "))
        } else {
            padded.join("  ").trim_end().to_string()
        }
    };
    writeln!(out, "{}", line(&header))?;
    if markdown {
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(c, w)| {
                if c < groups {
                    "-".repeat(*w)
                } else {
                    format!("{}:", "-".repeat(w.saturating_sub(1)))
                }
            })
            .collect();
        writeln!(out, "| {} |", rule.join(" | "))?;
    }
    for row in &rows {
        writeln!(out, "{}", line(row))?;
    }
    write_table_notes(out, report, with_cache)
}

/// The header and the rows (the total last) of the table, as text cells.
fn table_cells(report: &Report, with_cache: bool) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = report.group_by.clone();
    header.extend(VALUE_HEADERS.iter().map(|h| h.to_string()));
    if with_cache {
        header.extend(["cache hits".to_string(), "saved".to_string()]);
    }
    let row_cells = |row: &ReportRow| {
        let mut all = cells(row);
        if with_cache {
            all.extend(cache_cells(row));
        }
        all
    };
    let mut rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|row| {
            let mut cells_of_row = row.group.clone();
            cells_of_row.extend(row_cells(row));
            cells_of_row
        })
        .collect();
    let mut total = vec![String::new(); report.group_by.len()];
    if let Some(first) = total.first_mut() {
        *first = "total".into();
    }
    total.extend(row_cells(&report.total));
    rows.push(total);
    (header, rows)
}

/// The lines under the table: estimated counts and cache savings.
fn write_table_notes(
    out: &mut impl Write,
    report: &Report,
    with_cache: bool,
) -> std::io::Result<()> {
    if report.total.estimated_calls > 0 {
        writeln!(
            out,
            "~ includes {} calls whose tokens were counted locally (the server sent no usage)",
            report.total.estimated_calls
        )?;
    }
    if report.total.batch_calls > 0 {
        writeln!(
            out,
            "* includes {} batch requests (`confab batch`), priced at the batch price",
            report.total.batch_calls
        )?;
    }
    if with_cache {
        writeln!(
            out,
            "the response cache served {} replies without an API call, saving ${:.4}",
            report.total.cache_hits, report.total.saved_usd
        )?;
    }
    let total = &report.total;
    if total.cached_input_tokens > 0 || total.cache_write_tokens > 0 {
        let saved = total.prompt_cache_saved_usd;
        writeln!(
            out,
            "the provider's prompt cache read {} tokens and wrote {}: {} than at the full input price",
            total.cached_input_tokens,
            total.cache_write_tokens,
            if saved >= 0.0 {
                format!("${saved:.4} less")
            } else {
                format!("${:.4} more (writes cost extra until later calls read them)", -saved)
            }
        )?;
    }
    Ok(())
}

fn write_csv(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut header: Vec<String> = report.group_by.clone();
    header.extend(
        [
            "calls",
            "errors",
            "input_tokens",
            "cached_input_tokens",
            "cache_write_tokens",
            "output_tokens",
            "cost_usd",
            "unpriced_calls",
            "estimated_calls",
            "latency_p50_ms",
            "latency_p95_ms",
            "ttft_p50_ms",
            "ttft_p95_ms",
            "cache_hits",
            "saved_usd",
            "batch_calls",
            "prompt_cache_saved_usd",
        ]
        .map(String::from),
    );
    writeln!(out, "{}", header.join(","))?;
    let total_group: Vec<String> = (0..report.group_by.len())
        .map(|i| {
            if i == 0 {
                "total".to_string()
            } else {
                String::new()
            }
        })
        .collect();
    let total = ReportRow {
        group: total_group,
        ..report.total.clone()
    };
    for row in report.rows.iter().chain([&total]) {
        let ms = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
        let mut fields: Vec<String> = row.group.iter().map(|g| quote(g)).collect();
        fields.extend([
            row.calls.to_string(),
            row.errors.to_string(),
            row.input_tokens.to_string(),
            row.cached_input_tokens.to_string(),
            row.cache_write_tokens.to_string(),
            row.output_tokens.to_string(),
            format!("{:.6}", row.cost_usd),
            row.unpriced_calls.to_string(),
            row.estimated_calls.to_string(),
            ms(row.latency_p50_ms),
            ms(row.latency_p95_ms),
            ms(row.ttft_p50_ms),
            ms(row.ttft_p95_ms),
            row.cache_hits.to_string(),
            format!("{:.6}", row.saved_usd),
            row.batch_calls.to_string(),
            format!("{:.6}", row.prompt_cache_saved_usd),
        ]);
        writeln!(out, "{}", fields.join(","))?;
    }
    Ok(())
}
