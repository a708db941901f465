//! `confab count-tokens`: exact tiktoken counts for files, directories,
//! stdin and strings, per file or in total, with a limit for CI.

use std::io::{BufRead, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use rayon::prelude::*;
use serde::Serialize;

use crate::exit::{ExitKind, Failure};
use crate::llm::models::tokenizer_for_model;
use crate::tokens::chat::ModelTokenizer;
use crate::tokens::chat::{count_messages, ChatMessage};
use crate::tokens::Encoding;
use crate::walk::{self, Skipped};

/// Arguments of `confab count-tokens`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  confab count-tokens prompt.md               bare count, for scripts
  git diff | confab count-tokens -m gpt-4o    count stdin for a model
  confab count-tokens --per-file src/         table by file, largest first
  confab count-tokens --limit 8000 prompts/   exit 3 when over 8000 tokens
  confab count-tokens --messages chat.json -m gpt-4o   prompt tokens the API bills")]
pub struct Args {
    /// Files or directories to count; `-` or nothing reads stdin
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Count this string (repeatable)
    #[arg(long, value_name = "STRING")]
    pub text: Vec<String>,

    /// Count for this model's tokenizer (gpt-4o, gpt-4, claude-... as an estimate);
    /// several (comma-separated or repeated) with --cost
    #[arg(
        short,
        long,
        value_name = "MODEL",
        conflicts_with = "encoding",
        value_delimiter = ','
    )]
    pub model: Vec<String>,

    /// Count with this encoding [default: o200k_base]
    #[arg(short, long, value_name = "ENCODING", value_parser = ["o200k_base", "cl100k_base"])]
    pub encoding: Option<String>,

    /// Count the prompt tokens of an OpenAI-style JSON array of chat messages (`-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["paths", "text", "lines", "per_file"])]
    pub messages: Option<PathBuf>,

    /// Print a table of tokens and bytes per file, largest first, with a total
    #[arg(long)]
    pub per_file: bool,

    /// Count each line of stdin separately: one count per output line
    #[arg(long, conflicts_with_all = ["paths", "text", "per_file"])]
    pub lines: bool,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,

    /// Exit with code 3 when the total is over N tokens
    #[arg(long, value_name = "N", value_parser = crate::commands::values::token_count)]
    pub limit: Option<u64>,

    /// How directories are walked.
    #[command(flatten)]
    pub walk: super::WalkFlags,

    /// Print what the counted input would cost on each --model, at today's prices
    #[arg(long, requires = "model", conflicts_with = "lines")]
    pub cost: bool,

    /// With --cost: add an image or PDF `chat -a` would send, estimated by
    /// each model's provider's published formula (repeatable)
    #[arg(short = 'a', long = "attach", value_name = "PATH", requires = "cost")]
    pub attach: Vec<String>,

    /// With --cost: also price this many output tokens
    #[arg(long, value_name = "N", requires = "cost", default_value_t = 0, value_parser = crate::commands::values::token_count)]
    pub output_tokens: u64,

    /// Threads to count with [default: all cores]
    #[arg(short = 'j', long, value_name = "N", value_parser = crate::commands::values::threads)]
    pub threads: Option<usize>,
}

/// How tokens are counted: the encoding and, with `--model`, the model.
struct Counter {
    encoding: Encoding,
    model: Option<(String, ModelTokenizer)>,
}

impl Counter {
    fn resolve(args: &Args) -> Result<Counter, Failure> {
        if args.model.len() > 1 && !args.cost {
            return Err(Failure::new(
                ExitKind::Usage,
                "several --model values only make sense with --cost",
            )
            .hint("pass one --model, or add --cost to compare prices"));
        }
        if let Some(model) = args.model.first() {
            let tokenizer = tokenizer_for_model(model).map_err(|err| {
                Failure::new(ExitKind::Usage, err.to_string()).hint(
                    "pass --encoding o200k_base or --encoding cl100k_base to count with an encoding",
                )
            })?;
            return Ok(Counter {
                encoding: tokenizer.encoding,
                model: Some((model.clone(), tokenizer)),
            });
        }
        let encoding = match &args.encoding {
            Some(name) => name
                .parse()
                .map_err(|err: crate::tokens::UnknownEncoding| {
                    Failure::new(ExitKind::Usage, err.to_string())
                })?,
            None => Encoding::O200kBase,
        };
        Ok(Counter {
            encoding,
            model: None,
        })
    }

    fn is_estimate(&self) -> bool {
        self.model.as_ref().is_some_and(|(_, t)| !t.exact)
    }

    fn note_estimate(&self) {
        if let Some((model, tokenizer)) = &self.model {
            if !tokenizer.exact {
                eprintln!(
                    "note: {model} has no public tokenizer; this is an estimate counted with {}",
                    tokenizer.encoding
                );
            }
        }
    }
}

/// One counted input.
#[derive(Debug, Serialize)]
struct Counted {
    path: String,
    tokens: usize,
    bytes: usize,
    /// Counts with the other encodings `--cost` needs.
    #[serde(skip)]
    other_tokens: Vec<(Encoding, usize)>,
}

/// The JSON output for counted inputs.
#[derive(Serialize)]
struct Report<'a> {
    encoding: &'static str,
    model: Option<&'a str>,
    estimate: bool,
    total_tokens: usize,
    total_bytes: usize,
    files: &'a [Counted],
    skipped: &'a [Skipped],
    limit: Option<u64>,
}

/// Runs `confab count-tokens`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let counter = Counter::resolve(&args)?;
    counter.note_estimate();
    if let Some(path) = &args.messages {
        return run_messages(&args, &counter, path);
    }
    if args.lines {
        return run_lines(&args, &counter);
    }
    let threads = args.threads.unwrap_or(0);
    let extra = extra_encodings(&args, &counter)?;
    let (counted, skipped) = count_inputs(&args, &counter, &extra, threads)?;
    let total_tokens: usize = counted.iter().map(|c| c.tokens).sum();
    let total_bytes: usize = counted.iter().map(|c| c.bytes).sum();

    let mut out = BufWriter::new(std::io::stdout().lock());
    if args.cost {
        let totals = |encoding: Encoding| -> usize {
            if encoding == counter.encoding {
                return total_tokens;
            }
            counted
                .iter()
                .filter_map(|c| c.other_tokens.iter().find(|(e, _)| *e == encoding))
                .map(|(_, n)| n)
                .sum()
        };
        let costs = model_costs(&args, totals)?;
        write_costs(&mut out, &costs, args.json, total_bytes)?;
        out.flush()?;
        return check_limit(args.limit, total_tokens);
    }
    if args.json {
        let report = Report {
            encoding: counter.encoding.name(),
            model: counter.model.as_ref().map(|(m, _)| m.as_str()),
            estimate: counter.is_estimate(),
            total_tokens,
            total_bytes,
            files: &counted,
            skipped: &skipped,
            limit: args.limit,
        };
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else if args.per_file {
        write_table(&mut out, &counted, total_tokens, total_bytes)?;
    } else {
        writeln!(out, "{total_tokens}")?;
    }
    out.flush()?;
    check_limit(args.limit, total_tokens)
}

fn check_limit(limit: Option<u64>, total: usize) -> anyhow::Result<ExitCode> {
    match limit {
        Some(limit) if total as u64 > limit => Err(Failure::new(
            ExitKind::BudgetExceeded,
            format!("{total} tokens is over the limit of {limit}"),
        )
        .hint("shorten the input, or raise --limit if the model's context allows it")
        .into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Reads and counts every input: `--text` strings, then paths (stdin for
/// `-` or when nothing else is given).
fn count_inputs(
    args: &Args,
    counter: &Counter,
    extra: &[Encoding],
    threads: usize,
) -> anyhow::Result<(Vec<Counted>, Vec<Skipped>)> {
    let encoding = counter.encoding;
    let mut counted = Vec::new();
    let mut skipped = Vec::new();
    for (i, text) in args.text.iter().enumerate() {
        let label = if args.text.len() == 1 {
            "<text>".to_string()
        } else {
            format!("<text {}>", i + 1)
        };
        counted.push(Counted {
            path: label,
            tokens: encoding.count_parallel(text),
            bytes: text.len(),
            other_tokens: extra.iter().map(|e| (*e, e.count_parallel(text))).collect(),
        });
    }
    let read_stdin = args.paths.iter().any(|p| p.as_os_str() == "-")
        || (args.paths.is_empty() && args.text.is_empty());
    if read_stdin {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("reading stdin")?;
        match count_bytes(encoding, extra, "<stdin>", &bytes, threads)? {
            Ok(c) => counted.push(c),
            Err(s) => skipped.push(s),
        }
    }
    let paths: Vec<PathBuf> = args
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .collect();
    if paths.is_empty() {
        return Ok((counted, skipped));
    }
    let (files, walk_skipped) = list_inputs(&paths, args)?;
    skipped.extend(walk_skipped);
    let count_file = |path: &PathBuf| -> anyhow::Result<Result<Counted, Skipped>> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        count_bytes(
            encoding,
            extra,
            &path.display().to_string(),
            &bytes,
            threads,
        )
    };
    let total_bytes: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let results: Vec<anyhow::Result<Result<Counted, Skipped>>> =
        if files.len() > 1 && total_bytes > 64 * 1024 && threads != 1 {
            with_pool(threads, || files.par_iter().map(count_file).collect())?
        } else {
            files.iter().map(count_file).collect()
        };
    for result in results {
        match result? {
            Ok(c) => counted.push(c),
            Err(s) => skipped.push(s),
        }
    }
    Ok((counted, skipped))
}

/// The files under `paths` (walked with the walk flags) and those skipped,
/// each skip noted on stderr.
fn list_inputs(paths: &[PathBuf], args: &Args) -> anyhow::Result<(Vec<PathBuf>, Vec<Skipped>)> {
    let list = walk::list_files(paths, &args.walk.options()).map_err(|err| {
        let hint = match &err {
            walk::WalkError::Path { .. } => "check the path, or pass `-` to read stdin",
            walk::WalkError::Glob { .. } => "see `confab count-tokens --help` for glob syntax",
        };
        Failure::new(ExitKind::Usage, err.to_string()).hint(hint)
    })?;
    for s in &list.skipped {
        eprintln!("confab: skipping {}: {}", s.path.display(), s.reason);
    }
    Ok((list.files, list.skipped))
}

/// Runs `work` on a rayon pool of `threads` threads (0: one per core).
fn with_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting counting threads")?;
    Ok(pool.install(work))
}

/// Counts one input's bytes, or says why it was skipped.
fn count_bytes(
    encoding: Encoding,
    extra: &[Encoding],
    label: &str,
    bytes: &[u8],
    threads: usize,
) -> anyhow::Result<Result<Counted, Skipped>> {
    if walk::looks_binary(bytes) {
        eprintln!("confab: skipping binary file {label}");
        return Ok(Err(Skipped {
            path: PathBuf::from(label),
            reason: "binary file".into(),
        }));
    }
    let decoded = walk::decode(bytes);
    if decoded.lossy {
        eprintln!("warning: {label} is not valid UTF-8; invalid bytes were counted as U+FFFD");
    }
    let text = &decoded.text;
    let count = |encoding: Encoding| -> anyhow::Result<usize> {
        if text.len() >= 2 * crate::tokens::PARALLEL_PART_BYTES && threads != 1 {
            with_pool(threads, || encoding.count_parallel(text))
        } else {
            Ok(encoding.count(text))
        }
    };
    let mut other_tokens = Vec::new();
    for e in extra {
        other_tokens.push((*e, count(*e)?));
    }
    Ok(Ok(Counted {
        path: label.to_string(),
        tokens: count(encoding)?,
        bytes: bytes.len(),
        other_tokens,
    }))
}

fn write_table(
    out: &mut impl Write,
    counted: &[Counted],
    total_tokens: usize,
    total_bytes: usize,
) -> std::io::Result<()> {
    let mut rows: Vec<&Counted> = counted.iter().collect();
    rows.sort_by(|a, b| b.tokens.cmp(&a.tokens).then_with(|| a.path.cmp(&b.path)));
    let tokens_width = total_tokens.to_string().len().max("tokens".len());
    let bytes_width = total_bytes.to_string().len().max("bytes".len());
    writeln!(
        out,
        "{:>tokens_width$}  {:>bytes_width$}  path",
        "tokens", "bytes"
    )?;
    for row in rows {
        writeln!(
            out,
            "{:>tokens_width$}  {:>bytes_width$}  {}",
            row.tokens, row.bytes, row.path
        )?;
    }
    writeln!(
        out,
        "{total_tokens:>tokens_width$}  {total_bytes:>bytes_width$}  total"
    )
}

/// `--lines`: one count per line of stdin, streamed.
fn run_lines(args: &Args, counter: &Counter) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut line = Vec::new();
    let mut number = 0u64;
    let mut over_limit = None;
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .context("reading stdin")?
            == 0
        {
            break;
        }
        number += 1;
        let content = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(&line);
        let tokens = counter.encoding.count(&walk::decode(content).text);
        if args.json {
            writeln!(out, r#"{{"line":{number},"tokens":{tokens}}}"#)?;
        } else {
            writeln!(out, "{tokens}")?;
        }
        if over_limit.is_none() && args.limit.is_some_and(|l| tokens as u64 > l) {
            over_limit = Some(tokens);
        }
    }
    out.flush()?;
    match over_limit {
        Some(tokens) => check_limit(args.limit, tokens),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The JSON output of `--messages`.
#[derive(Serialize)]
struct MessagesReport<'a> {
    encoding: &'static str,
    model: Option<&'a str>,
    estimate: bool,
    messages: usize,
    prompt_tokens: usize,
    uncounted_parts: &'a [String],
    limit: Option<u64>,
}

/// `--messages FILE`: the prompt tokens the Chat Completions API bills.
fn run_messages(args: &Args, counter: &Counter, path: &PathBuf) -> anyhow::Result<ExitCode> {
    let (label, bytes) = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("reading stdin")?;
        ("stdin".to_string(), bytes)
    } else {
        let bytes = std::fs::read(path).map_err(|err| {
            Failure::new(
                ExitKind::Usage,
                format!("cannot read {}: {err}", path.display()),
            )
            .hint("check the path, or pass `--messages -` to read stdin")
        })?;
        (path.display().to_string(), bytes)
    };
    let messages: Vec<ChatMessage> = serde_json::from_slice(&bytes).map_err(|err| {
        Failure::new(
            ExitKind::Usage,
            format!("{label} is not a JSON array of chat messages: {err}"),
        )
        .hint(r#"expected [{"role": "user", "content": "..."}, ...]"#)
    })?;
    let tokenizer = match &counter.model {
        Some((_, tokenizer)) => *tokenizer,
        None => ModelTokenizer {
            encoding: counter.encoding,
            ..tokenizer_for_model("gpt-4o").map_err(|e| anyhow::anyhow!(e))?
        },
    };
    let count = count_messages(&tokenizer, &messages);
    if !count.uncounted_parts.is_empty() {
        eprintln!(
            "warning: {} content part(s) not counted ({}); only text parts are",
            count.uncounted_parts.len(),
            count.uncounted_parts.join(", ")
        );
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    if args.json {
        let report = MessagesReport {
            encoding: counter.encoding.name(),
            model: counter.model.as_ref().map(|(m, _)| m.as_str()),
            estimate: counter.is_estimate(),
            messages: messages.len(),
            prompt_tokens: count.tokens,
            uncounted_parts: &count.uncounted_parts,
            limit: args.limit,
        };
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", count.tokens)?;
    }
    out.flush()?;
    check_limit(args.limit, count.tokens)
}

/// The encodings besides the main one that `--cost` needs for its models.
fn extra_encodings(args: &Args, counter: &Counter) -> Result<Vec<Encoding>, Failure> {
    if !args.cost {
        return Ok(Vec::new());
    }
    let mut extra = Vec::new();
    for model in &args.model {
        let encoding = tokenizer_for_model(model)
            .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()))?
            .encoding;
        if encoding != counter.encoding && !extra.contains(&encoding) {
            extra.push(encoding);
        }
    }
    Ok(extra)
}

/// What the counted input costs on one model.
#[derive(Serialize)]
struct ModelCost {
    model: String,
    encoding: &'static str,
    estimate: bool,
    input_tokens: usize,
    /// The part of `input_tokens` that is the attachments' estimate.
    attachment_tokens: usize,
    output_tokens: u64,
    /// `None` when confab has no price for the model.
    input_cost_usd: Option<f64>,
    output_cost_usd: Option<f64>,
    total_cost_usd: Option<f64>,
    price_from: Option<String>,
}

/// The `-a` files, each read once (stdin included).
fn read_attachments(names: &[String]) -> anyhow::Result<Vec<(&str, Vec<u8>)>> {
    if names.len() > crate::attach::MAX_ATTACHMENTS {
        let err = crate::attach::AttachError::TooMany { count: names.len() };
        return Err(Failure::new(ExitKind::Usage, err.to_string()).into());
    }
    names
        .iter()
        .map(|name| {
            crate::attach::read(name)
                .map(|bytes| (name.as_str(), bytes))
                .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()).into())
        })
        .collect()
}

/// The estimated input tokens of the `-a` images and PDFs on `model`
/// (Anthropic's formula for Claude models, OpenAI's for the others).
fn attachment_tokens(files: &[(&str, Vec<u8>)], model: &str) -> anyhow::Result<usize> {
    use crate::llm::provider::ProviderKind;
    let bare = model.rsplit(':').next().unwrap_or(model);
    let (kind, host) = if bare.starts_with("claude") {
        (ProviderKind::Anthropic, "api.anthropic.com")
    } else {
        (ProviderKind::Openai, "api.openai.com")
    };
    let mut total = 0;
    for (name, bytes) in files {
        let estimate = crate::attach::estimate(name, bytes, kind, host)
            .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()))?;
        let Some((_, tokens)) = estimate else {
            return Err(Failure::new(
                ExitKind::Usage,
                format!("{name} is text, not an image or PDF"),
            )
            .hint("count text files as PATH arguments")
            .into());
        };
        total += tokens as usize;
    }
    Ok(total)
}

fn model_costs(
    args: &Args,
    total_for: impl Fn(Encoding) -> usize,
) -> anyhow::Result<Vec<ModelCost>> {
    let paths = crate::config::Paths::resolve()?;
    let table = crate::usage::prices::PriceTable::load(&paths.config_dir)
        .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()))?;
    let today = crate::usage::today();
    let attachments = read_attachments(&args.attach)?;
    let mut costs = Vec::new();
    for model in &args.model {
        let tokenizer = tokenizer_for_model(model)
            .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()))?;
        let attachment_tokens = attachment_tokens(&attachments, model)?;
        let input_tokens = total_for(tokenizer.encoding) + attachment_tokens;
        let price = table.lookup(model, &today);
        let input_cost = price.map(|p| input_tokens as f64 * p.input / 1e6);
        let output_cost = price.map(|p| args.output_tokens as f64 * p.output / 1e6);
        if price.is_none() {
            eprintln!(
                "note: no price for {model}; add one in {}",
                paths.config_dir.join("prices.toml").display()
            );
        }
        costs.push(ModelCost {
            model: model.clone(),
            encoding: tokenizer.encoding.name(),
            estimate: !tokenizer.exact,
            input_tokens,
            attachment_tokens,
            output_tokens: args.output_tokens,
            input_cost_usd: input_cost,
            output_cost_usd: output_cost,
            total_cost_usd: input_cost.zip(output_cost).map(|(i, o)| i + o),
            price_from: price.map(|p| p.from.clone()),
        });
    }
    Ok(costs)
}

fn write_costs(
    out: &mut impl Write,
    costs: &[ModelCost],
    json: bool,
    total_bytes: usize,
) -> std::io::Result<()> {
    if json {
        serde_json::to_writer_pretty(
            &mut *out,
            &serde_json::json!({
                "total_bytes": total_bytes,
                "models": costs,
            }),
        )?;
        return writeln!(out);
    }
    let usd = |v: Option<f64>| v.map_or("unpriced".to_string(), |v| format!("${v:.6}"));
    let rows: Vec<[String; 5]> = costs
        .iter()
        .map(|c| {
            [
                c.model.clone(),
                format!("{}{}", if c.estimate { "~" } else { "" }, c.input_tokens),
                usd(c.input_cost_usd),
                usd(c.output_cost_usd),
                usd(c.total_cost_usd),
            ]
        })
        .collect();
    let header = [
        "model",
        "input tokens",
        "input cost",
        "output cost",
        "total",
    ];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        format!(
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {:>w4$}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4]
        )
    };
    writeln!(out, "{}", line(header))?;
    for r in &rows {
        writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]))?;
    }
    if costs.iter().any(|c| c.estimate) {
        writeln!(out, "~ estimated: the model's tokenizer is not public")?;
    }
    Ok(())
}
