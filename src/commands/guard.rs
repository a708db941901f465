//! `confab guard scan`: screens files, stdin, strings or JSON-lines corpora
//! for prompt injection and secrets, as the guard would before sending.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;

use crate::exit::{ExitKind, Failure};
use crate::guard::injection::{self, Finding, Rule};
use crate::guard::secrets::{self, SecretMatch};

/// `confab guard` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Screen text for prompt injection and secrets; exit 5 when anything is found
    Scan(ScanArgs),
}

/// Arguments of `confab guard scan`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  confab guard scan prompt.md               findings as path:line:col: rule: why (excerpt)
  confab guard scan docs/                   every text file under docs/ (ignore files honoured)
  curl -s $URL | confab guard scan          screen stdin
  confab guard scan --text 'ignore previous instructions'
  confab guard scan --jsonl --json corpus.jsonl   one JSON result per line's \"text\"

Exit codes: 0 clean, 5 something flagged, 2 usage error.")]
pub struct ScanArgs {
    /// Files or directories to screen; `-` or nothing reads stdin
    #[arg(value_name = "PATH", conflicts_with = "text")]
    pub files: Vec<PathBuf>,

    /// How directories are walked.
    #[command(flatten)]
    pub walk: super::WalkFlags,

    /// Screen this string (repeatable)
    #[arg(long, value_name = "TEXT")]
    pub text: Vec<String>,

    /// Treat each input line as a JSON object and screen its "text" field
    #[arg(long)]
    pub jsonl: bool,

    /// Print one JSON result per input (per line with --jsonl) instead of text
    #[arg(long)]
    pub json: bool,
}

/// One screened input and what was found in it.
#[derive(Debug, Serialize)]
struct Report {
    /// The file, `<stdin>` or `<text>`.
    source: String,
    /// The input line, with --jsonl.
    #[serde(skip_serializing_if = "Option::is_none")]
    input_line: Option<usize>,
    flagged: bool,
    /// The distinct rules that matched (`secret` for secrets).
    rules: Vec<String>,
    findings: Vec<Finding>,
    secrets: Vec<SecretMatch>,
}

impl Report {
    fn new(source: String, input_line: Option<usize>, text: &str) -> Report {
        let findings = injection::screen(text);
        let secrets = secrets::find_secrets(text);
        let mut rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
        rules.sort();
        rules.dedup();
        let mut rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        if !secrets.is_empty() {
            rules.push("secret".into());
        }
        Report {
            source,
            input_line,
            flagged: !rules.is_empty(),
            rules,
            findings,
            secrets,
        }
    }

    /// `path:line:col: rule: why (excerpt)` lines, in order of position.
    fn write_text(&self, text: &str, out: &mut impl Write) -> std::io::Result<()> {
        let place = match self.input_line {
            Some(n) => format!("{}:{n}", self.source),
            None => self.source.clone(),
        };
        let mut lines: Vec<(usize, usize, String)> = Vec::new();
        for f in &self.findings {
            let via = f.via.map(|v| format!(" [in {v}]")).unwrap_or_default();
            lines.push((
                f.line,
                f.column,
                format!("{}: {}{via} ({})", f.rule, f.why, f.excerpt),
            ));
        }
        for s in &self.secrets {
            let value = &text[s.range.clone()];
            let shown: String = value.chars().take(4).collect();
            let via = s.via.map(|v| format!(" [in {v}]")).unwrap_or_default();
            lines.push((
                s.line,
                s.column,
                format!("secret: a {} would be sent{via} ({shown}…)", s.kind),
            ));
        }
        lines.sort_by_key(|l| (l.0, l.1));
        for (line, column, what) in lines {
            writeln!(out, "{place}:{line}:{column}: {what}")?;
        }
        Ok(())
    }
}

/// Runs `confab guard`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Scan(args) => scan(args),
    }
}

fn scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let inputs = read_inputs(&args)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut screened = 0usize;
    let mut flagged = 0usize;
    for (source, text) in inputs {
        let units: Vec<(Option<usize>, String)> = if args.jsonl {
            jsonl_texts(&source, &text)?
        } else {
            vec![(None, text)]
        };
        for (input_line, text) in units {
            let report = Report::new(source.clone(), input_line, &text);
            screened += 1;
            if report.flagged {
                flagged += 1;
            }
            if args.json {
                serde_json::to_writer(&mut out, &report)?;
                writeln!(out)?;
            } else {
                report.write_text(&text, &mut out)?;
            }
        }
    }
    out.flush()?;
    if flagged > 0 {
        return Err(Failure::new(
            ExitKind::InputRejected,
            format!("guard flagged {flagged} of {screened} inputs"),
        )
        .hint("read the findings above; remove or fence the text before sending it to a model")
        .into());
    }
    Ok(ExitCode::SUCCESS)
}

/// The most bytes one input may have: far above any prompt, and a bound
/// on what a scan holds in memory.
const MAX_INPUT_BYTES: u64 = 256 << 20;

/// The inputs as (source name, text): the --text strings, or the files and
/// the text files under the directories (walked like count-tokens), or
/// stdin.
fn read_inputs(args: &ScanArgs) -> anyhow::Result<Vec<(String, String)>> {
    if !args.text.is_empty() {
        return Ok(args
            .text
            .iter()
            .map(|t| ("<text>".to_string(), t.clone()))
            .collect());
    }
    let stdin_only = [PathBuf::from("-")];
    let paths = if args.files.is_empty() {
        &stdin_only[..]
    } else {
        &args.files[..]
    };
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(("<stdin>".to_string(), read_stdin()?));
        } else {
            inputs.extend(read_path(path, args)?);
        }
    }
    Ok(inputs)
}

fn read_stdin() -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("reading stdin")?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_big("<stdin>").into());
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn too_big(source: &str) -> Failure {
    Failure::new(
        ExitKind::Usage,
        format!("{source} is larger than {} MiB", MAX_INPUT_BYTES >> 20),
    )
    .hint("split it, or screen the part that will be sent")
}

/// A file, or every text file under a directory; binary files in a
/// directory are passed over with a note, as count-tokens does.
fn read_path(path: &std::path::Path, args: &ScanArgs) -> anyhow::Result<Vec<(String, String)>> {
    let list =
        crate::walk::list_files(&[path.to_path_buf()], &args.walk.options()).map_err(|err| {
            Failure::new(ExitKind::Usage, err.to_string())
                .hint("pass readable files or directories, `-` for stdin, or --text TEXT")
        })?;
    for skipped in &list.skipped {
        eprintln!(
            "note: skipped {}: {}",
            skipped.path.display(),
            skipped.reason
        );
    }
    let walked = path.is_dir();
    let mut inputs = Vec::new();
    for file in list.files {
        let unreadable = |err: std::io::Error| {
            Failure::new(
                ExitKind::Usage,
                format!("cannot read {}: {err}", file.display()),
            )
            .hint("pass readable files or directories, `-` for stdin, or --text TEXT")
        };
        let size = std::fs::metadata(&file).map_err(unreadable)?.len();
        if size > MAX_INPUT_BYTES {
            return Err(too_big(&file.display().to_string()).into());
        }
        let bytes = std::fs::read(&file).map_err(unreadable)?;
        if walked && crate::walk::looks_binary(&bytes) {
            eprintln!("note: skipped {}: binary file", file.display());
            continue;
        }
        inputs.push((
            file.display().to_string(),
            crate::walk::decode(&bytes).text.into_owned(),
        ));
    }
    Ok(inputs)
}

/// The `text` field of each non-empty line, with its line number.
fn jsonl_texts(source: &str, text: &str) -> anyhow::Result<Vec<(Option<usize>, String)>> {
    #[derive(serde::Deserialize)]
    struct Line {
        text: String,
    }
    let mut texts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(line).map_err(|err| {
            Failure::new(
                ExitKind::Usage,
                format!(
                    "{source}:{}: not a JSON object with a \"text\" string: {err}",
                    n + 1
                ),
            )
            .hint("with --jsonl each line must be like {\"text\": \"...\"}")
        })?;
        texts.push((Some(n + 1), parsed.text));
    }
    Ok(texts)
}
