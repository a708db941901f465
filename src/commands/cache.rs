//! `confab cache`: what the response cache holds, and emptying it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::cache::eval::{self, LabelledPair, SplitScore};
use crate::cache::{CacheSettings, SemanticCache};
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
    /// Precision and recall of the cache on labelled prompt pairs
    ///
    /// FILE holds one JSON pair a line: {"a": PROMPT, "b": PROMPT, "same":
    /// true|false}, optionally with "id", "split", "kind" and "topic". For
    /// each pair, `a` is stored in a cache in memory and `b` looked up, as
    /// `chat --cache` would; a hit on `same: false` is a wrong reply
    /// served. The table has one row per split and threshold. Your own
    /// cache is not touched.
    Eval {
        /// The pairs file (JSON lines)
        file: PathBuf,
        /// Thresholds to report (comma-separated); default 0.85, 0.88,
        /// 0.90, 0.92, 0.95 and the configured one
        #[arg(long, value_delimiter = ',', value_name = "T")]
        threshold: Vec<f32>,
        /// Also list the pairs judged wrong at the configured threshold
        #[arg(long)]
        errors: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

/// Runs `confab cache`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve()?;
    let config = Config::load(&paths, &ProcessEnvironment).map_err(|err| {
        Failure::new(ExitKind::Usage, err.to_string())
            .hint("fix config.toml; `confab config` shows what confab reads")
    })?;
    if let Args::Eval {
        file,
        threshold,
        errors,
        json,
    } = args
    {
        return run_eval(&file, threshold, errors, json, &config.cache);
    }
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
        Args::Eval { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `confab cache eval --json`.
#[derive(Serialize)]
struct EvalReport<'a> {
    file: String,
    configured_threshold: f32,
    scores: &'a [SplitScore],
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<WrongJudgement<'a>>>,
}

/// A pair the cache judged wrong: a near-miss served, or a paraphrase
/// missed.
#[derive(Serialize)]
struct WrongJudgement<'a> {
    #[serde(flatten)]
    pair: &'a LabelledPair,
    /// How `b` matched, when it was served (`exact`, `same-question`, a
    /// similarity).
    served: Option<String>,
}

fn run_eval(
    file: &std::path::Path,
    mut thresholds: Vec<f32>,
    with_errors: bool,
    json: bool,
    settings: &CacheSettings,
) -> anyhow::Result<ExitCode> {
    if let Some(bad) = thresholds.iter().find(|t| !(0.0..=1.0).contains(*t)) {
        return Err(Failure::new(
            ExitKind::Usage,
            format!("--threshold {bad} is not between 0 and 1"),
        )
        .hint("pass thresholds such as --threshold 0.88,0.92")
        .into());
    }
    if thresholds.is_empty() {
        thresholds = eval::DEFAULT_THRESHOLDS.to_vec();
        thresholds.push(settings.threshold);
    }
    thresholds.sort_by(f32::total_cmp);
    thresholds.dedup();
    let pairs = eval::read_pairs(file).map_err(|err| {
        Failure::new(ExitKind::Usage, err.to_string())
            .hint("each line is {\"a\": PROMPT, \"b\": PROMPT, \"same\": true|false}")
    })?;
    let failed = |err: eval::EvalError| Failure::new(ExitKind::Other, err.to_string());
    let mut scores = Vec::new();
    for &threshold in &thresholds {
        let judgements = eval::judge(&pairs, threshold).map_err(failed)?;
        scores.extend(eval::score(&pairs, &judgements, threshold));
    }
    let configured = eval::judge(&pairs, settings.threshold).map_err(failed)?;
    let wrong: Vec<WrongJudgement> = pairs
        .iter()
        .zip(&configured)
        .filter(|(_, j)| !j.right())
        .map(|(pair, judgement)| WrongJudgement {
            pair,
            served: judgement.served.map(|kind| kind.label()),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        let report = EvalReport {
            file: file.display().to_string(),
            configured_threshold: settings.threshold,
            scores: &scores,
            errors: with_errors.then_some(wrong),
        };
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_scores(&mut out, &scores, settings.threshold)?;
    if with_errors {
        print_wrong(&mut out, &wrong, settings.threshold)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_scores(
    out: &mut impl Write,
    scores: &[SplitScore],
    configured: f32,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "{:<8} {:>9} {:>6} {:>11} {:>12} {:>12} {:>9} {:>7}  right hits by",
        "split",
        "threshold",
        "pairs",
        "paraphrases",
        "served right",
        "served wrong",
        "precision",
        "recall"
    )?;
    for s in scores {
        let mark = if s.threshold == configured { "*" } else { " " };
        writeln!(
            out,
            "{:<8} {:>8.2}{mark} {:>6} {:>11} {:>12} {:>12} {:>9.3} {:>7.3}  {} same question, {} similarity",
            s.split,
            s.threshold,
            s.pairs,
            s.paraphrases,
            s.served_right,
            s.served_wrong,
            s.precision,
            s.recall,
            s.same_question_hits,
            s.similar_hits
        )?;
    }
    writeln!(out, "* the configured threshold (cache.threshold)")?;
    Ok(())
}

fn print_wrong(
    out: &mut impl Write,
    wrong: &[WrongJudgement],
    configured: f32,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "\npairs judged wrong at {configured:.2}: {}",
        wrong.len()
    )?;
    for w in wrong {
        let what = match &w.served {
            Some(how) => format!("served wrong ({how})"),
            None => "missed".to_string(),
        };
        writeln!(
            out,
            "{what:<28} {} [{}]\n    a: {}\n    b: {}",
            w.pair.id.as_deref().unwrap_or("-"),
            w.pair.kind.as_deref().unwrap_or("-"),
            w.pair.a,
            w.pair.b
        )?;
    }
    Ok(())
}
