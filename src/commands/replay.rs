//! `confab replay`: show a stored conversation with what each turn cost,
//! re-run it turn by turn on another model and compare, or estimate what a
//! re-run would cost on several models without calling any.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::app::Ctx;
use crate::chat::{Engine, EnginePlan, TurnOptions};
use crate::commands::history::{tool_call_line, tool_result_text};
use crate::config::Paths;
use crate::conversation::{Conversation, ConversationStore, ToolRound, Turn};
use crate::exit::{ExitKind, Failure};
use crate::llm::client::CallEnd;
use crate::llm::models::tokenizer_for_model;
use crate::term::TerminalSink;
use crate::tokens::chat::{count_messages, ChatMessage, MessageContent};
use crate::usage::prices::{PriceTable, TokenCounts};
use crate::usage::{UsageLog, UsageRecord};

/// Arguments of `confab replay`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  confab replay 20261127-101500-3fa2                  show it, with per-turn cost
  confab replay 20261127-101500-3fa2 --markdown       as Markdown
  confab replay 20261127-101500-3fa2 --model anthropic:claude-sonnet-4-5
  confab replay 20261127-101500-3fa2 --dry-run --model gpt-4o,gpt-4.1-mini")]
pub struct Args {
    /// The conversation id (`confab history list`), or `last`
    #[arg(value_name = "CONVERSATION")]
    pub conversation: String,

    /// Re-send the conversation to these models, all at once (comma-separated or repeated)
    #[arg(short, long, value_name = "MODEL", value_delimiter = ',')]
    pub model: Vec<String>,

    /// With --model: estimate the cost on each model without calling anything
    #[arg(long, requires = "model")]
    pub dry_run: bool,

    /// Print JSON
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,

    /// Print Markdown
    #[arg(long)]
    pub markdown: bool,

    /// Output cap for the re-run's requests
    #[arg(long, value_name = "N", value_parser = crate::commands::values::output_cap)]
    pub max_tokens: Option<u32>,
}

/// One turn of the original, with its recorded call.
#[derive(Debug, Serialize)]
struct RenderedTurn {
    turn: usize,
    user: String,
    /// The preset the user message was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    preset: Option<String>,
    /// The images and PDFs sent with it (by reference).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<crate::llm::Attachment>,
    /// The tool rounds before the reply, with their calls and results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_rounds: Vec<ToolRound>,
    /// The whole reply text (every round's and the last call's).
    assistant: Option<String>,
    /// The last call's text alone, shown after the tool rounds.
    #[serde(skip)]
    last_text: Option<String>,
    interrupted: bool,
    model: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    latency_ms: Option<u64>,
    cost_usd: Option<f64>,
}

/// Runs `confab replay`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve()?;
    let store = ConversationStore::in_data_dir(&paths.data_dir);
    let id = if args.conversation == "last" {
        store.latest_usable()?.id.ok_or_else(|| {
            Failure::new(ExitKind::Usage, "there are no conversations yet")
                .hint("start one with `confab chat \"...\"`")
        })?
    } else {
        args.conversation.clone()
    };
    let conversation = store.read(&id).map_err(|err| {
        Failure::new(ExitKind::Usage, err.to_string())
            .hint("`confab history list` shows the conversation ids")
    })?;
    for warning in &conversation.warnings {
        eprintln!("warning: {warning}");
    }
    let turns = conversation.turns();
    if turns.is_empty() {
        return Err(Failure::new(
            ExitKind::Usage,
            format!("conversation {id} has no turns to replay"),
        )
        .into());
    }
    for (n, turn) in turns.iter().enumerate() {
        match &turn.reply {
            None => eprintln!("note: turn {} has no reply (the call failed)", n + 1),
            Some(reply) if reply.interrupted => eprintln!(
                "note: turn {}'s reply was interrupted; it is compared as it was kept",
                n + 1
            ),
            _ => {}
        }
    }
    let prices = PriceTable::load(&paths.config_dir)
        .map_err(|err| Failure::new(ExitKind::Usage, err.to_string()))?;
    let calls = recorded_calls(&UsageLog::in_data_dir(&paths.data_dir))?;
    let rendered = render_turns(&turns, &calls, &prices);
    if args.model.is_empty() {
        return show(&args, &id, &conversation, &rendered);
    }
    if args.dry_run {
        return dry_run(&args, &conversation, &turns, &prices);
    }
    rerun(&args, &id, &conversation, &rendered, &prices)
}

/// The usage records by call id.
fn recorded_calls(log: &UsageLog) -> anyhow::Result<HashMap<String, UsageRecord>> {
    let read = log.read()?;
    Ok(read
        .records
        .into_iter()
        .map(|(_, r)| (r.call_id.clone(), r))
        .collect())
}

fn cost_of(
    prices: &PriceTable,
    model: &str,
    day: &str,
    input: u64,
    cached: u64,
    output: u64,
) -> Option<f64> {
    prices.lookup(model, day).map(|p| {
        p.cost(TokenCounts {
            input,
            cached_input: cached,
            cache_write: 0,
            cache_write_hour: 0,
            output,
        })
    })
}

fn render_turns(
    turns: &[Turn],
    calls: &HashMap<String, UsageRecord>,
    prices: &PriceTable,
) -> Vec<RenderedTurn> {
    turns
        .iter()
        .enumerate()
        .map(|(n, turn)| {
            let reply = turn.reply.as_ref();
            // Every call of the turn: its tool rounds' and the reply's.
            let recorded: Vec<&UsageRecord> = turn
                .call_ids()
                .into_iter()
                .filter_map(|id| calls.get(id))
                .collect();
            let found = !recorded.is_empty();
            let sum = |of: fn(&UsageRecord) -> u64| {
                found.then(|| recorded.iter().map(|c| of(c)).sum::<u64>())
            };
            let costs: Vec<Option<f64>> = recorded.iter().map(|c| call_cost(prices, c)).collect();
            RenderedTurn {
                turn: n + 1,
                user: turn.user.clone(),
                preset: turn.preset.clone(),
                attachments: turn.attachments.clone(),
                tool_rounds: turn.tool_rounds.clone(),
                assistant: reply.map(|r| r.content.clone()),
                last_text: reply.map(|r| r.last_content.clone()),
                interrupted: reply.is_some_and(|r| r.interrupted),
                model: reply.and_then(|r| r.model.clone()),
                input_tokens: sum(|c| c.input_tokens),
                output_tokens: sum(|c| c.output_tokens),
                latency_ms: sum(|c| c.latency_ms),
                cost_usd: (found && costs.iter().all(Option::is_some))
                    .then(|| costs.iter().flatten().sum()),
            }
        })
        .collect()
}

/// What one recorded call cost, if its model is priced.
fn call_cost(prices: &PriceTable, call: &UsageRecord) -> Option<f64> {
    let model = call
        .model_reported
        .as_deref()
        .unwrap_or(&call.model_requested);
    cost_of(
        prices,
        model,
        call.ts.get(..10).unwrap_or(&call.ts),
        call.input_tokens,
        call.cached_input_tokens,
        call.output_tokens,
    )
}

/// Writes a turn's tool rounds, in place before its reply: each round's
/// text, its calls and their results.
fn write_tool_rounds(out: &mut impl Write, rounds: &[ToolRound], md: bool) -> std::io::Result<()> {
    let fence = if md { "```\n" } else { "" };
    for round in rounds {
        if !round.content.is_empty() {
            let label = if md {
                "**assistant**\n\n"
            } else {
                "assistant: "
            };
            writeln!(out, "{label}{}", round.content)?;
            if md {
                writeln!(out)?;
            }
        }
        for answered in &round.calls {
            write!(out, "{fence}")?;
            writeln!(out, "{}", tool_call_line(&answered.call))?;
            let tool = &answered.call.name;
            match &answered.result {
                Some(result) => writeln!(out, "{}", tool_result_text(tool, result))?,
                None => writeln!(out, "(no result was recorded for this call)")?,
            }
            if md {
                writeln!(out, "```\n")?;
            }
        }
    }
    Ok(())
}

fn usd(value: Option<f64>) -> String {
    value.map_or("unpriced".into(), |v| format!("${v:.6}"))
}

fn show(
    args: &Args,
    id: &str,
    conversation: &Conversation,
    turns: &[RenderedTurn],
) -> anyhow::Result<ExitCode> {
    let (system, model) = conversation.header();
    let (title, created, replay_of) = conversation.header_details();
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({
                "id": id, "title": title, "created": created, "model": model,
                "system": system, "replay_of": replay_of, "turns": turns,
            }),
        )?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let md = args.markdown;
    writeln!(out, "{}{id}: {title}", if md { "# " } else { "" })?;
    writeln!(
        out,
        "{}model {model}, created {created}",
        if md { "\n" } else { "" }
    )?;
    if let Some(original) = replay_of {
        writeln!(out, "replay of {original}")?;
    }
    if let Some(system) = system {
        writeln!(out, "{}system: {system}", if md { "\n" } else { "" })?;
    }
    for turn in turns {
        let stats = format!(
            "{}, {} in / {} out, {} ms, {}",
            turn.model.as_deref().unwrap_or("?"),
            turn.input_tokens.map_or("?".into(), |v| v.to_string()),
            turn.output_tokens.map_or("?".into(), |v| v.to_string()),
            turn.latency_ms.map_or("?".into(), |v| v.to_string()),
            usd(turn.cost_usd)
        );
        let preset = turn
            .preset
            .as_deref()
            .map_or(String::new(), |name| format!(" (preset {name})"));
        if md {
            writeln!(
                out,
                "\n## Turn {}\n\n**user**{preset}\n\n{}\n",
                turn.turn, turn.user
            )?;
        } else {
            writeln!(
                out,
                "\n--- turn {} ---\nuser{preset}: {}",
                turn.turn, turn.user
            )?;
        }
        for attachment in &turn.attachments {
            writeln!(
                out,
                "[attached {} ({}, {} bytes)]",
                attachment.name, attachment.media_type, attachment.bytes
            )?;
        }
        write_tool_rounds(&mut out, &turn.tool_rounds, md)?;
        match &turn.last_text {
            Some(text) => {
                let mark = if turn.interrupted {
                    " [interrupted]"
                } else {
                    ""
                };
                if md {
                    writeln!(out, "**assistant** ({stats}){mark}\n\n{text}")?;
                } else {
                    writeln!(out, "assistant ({stats}){mark}: {text}")?;
                }
            }
            None => writeln!(out, "(no reply: the call failed)")?,
        }
    }
    let total: f64 = turns.iter().filter_map(|t| t.cost_usd).sum();
    writeln!(
        out,
        "\n{}total cost: ${total:.6}",
        if md { "**" } else { "" }
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The estimate for one model.
#[derive(Debug, Serialize)]
struct Estimate {
    model: String,
    estimate: bool,
    input_tokens: u64,
    output_tokens: u64,
    cost_usd: Option<f64>,
}

/// `--dry-run`: input counted exactly per turn (the history resent each
/// time), output assumed as long as the original replies.
fn dry_run(
    args: &Args,
    conversation: &Conversation,
    turns: &[Turn],
    prices: &PriceTable,
) -> anyhow::Result<ExitCode> {
    let (system, _) = conversation.header();
    let today = crate::usage::today();
    let mut estimates = Vec::new();
    for spec in &args.model {
        let bare = spec.rsplit(':').next().unwrap_or(spec);
        let tokenizer = tokenizer_for_model(bare).map_err(|err| {
            Failure::new(ExitKind::Usage, err.to_string()).hint(
                "name the model without a provider alias, such as gpt-4o or claude-sonnet-4-5",
            )
        })?;
        let text = |role: &str, content: &str| ChatMessage {
            role: role.into(),
            content: Some(MessageContent::Text(content.into())),
            name: None,
        };
        let mut history: Vec<ChatMessage> =
            system.map(|s| vec![text("system", s)]).unwrap_or_default();
        let (mut input, mut output) = (0u64, 0u64);
        for turn in turns {
            history.push(text("user", &turn.user));
            input += count_messages(&tokenizer, &history).tokens as u64;
            let reply = turn.reply.as_ref().map_or("", |r| r.content.as_str());
            output += tokenizer.encoding.count(reply) as u64;
            history.push(text("assistant", reply));
        }
        estimates.push(Estimate {
            model: spec.clone(),
            estimate: !tokenizer.exact,
            input_tokens: input,
            output_tokens: output,
            cost_usd: cost_of(prices, bare, &today, input, 0, output),
        });
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &estimates)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{:<28} {:>12} {:>12} {:>14}",
            "model", "input", "output", "cost"
        )?;
        for e in &estimates {
            let mark = if e.estimate { "~" } else { "" };
            writeln!(
                out,
                "{:<28} {:>12} {:>12} {:>14}",
                e.model,
                format!("{mark}{}", e.input_tokens),
                format!("{mark}{}", e.output_tokens),
                usd(e.cost_usd)
            )?;
        }
        writeln!(
            out,
            "input counted per turn with the history resent; output assumed as long as the original replies"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One turn of a re-run next to the original.
#[derive(Debug, Serialize)]
struct Compared {
    turn: usize,
    original_input_tokens: Option<u64>,
    original_output_tokens: Option<u64>,
    original_latency_ms: Option<u64>,
    original_cost_usd: Option<f64>,
    input_tokens: u64,
    output_tokens: u64,
    latency_ms: u64,
    cost_usd: Option<f64>,
    similarity: f64,
    reply: String,
}

/// One model's re-run: its new conversation and its turns compared.
struct ModelRun {
    model: String,
    new_id: String,
    turns: Vec<Compared>,
    /// How the run ended: a turn that stopped short ends it early.
    end: anyhow::Result<ExitCode>,
}

/// Re-runs the conversation on every `--model` at once, one new
/// conversation each, and prints one comparison.
fn rerun(
    args: &Args,
    id: &str,
    conversation: &Conversation,
    original: &[RenderedTurn],
    prices: &PriceTable,
) -> anyhow::Result<ExitCode> {
    let ctx = Ctx::load("replay")?;
    // One signal policy for all the runs: a signal stops them all.
    let _busy = ctx.cancel.busy();
    let runs: Vec<anyhow::Result<ModelRun>> = std::thread::scope(|scope| {
        let handles: Vec<_> = args
            .model
            .iter()
            .map(|model| {
                let ctx = ctx.clone();
                let run = move || rerun_on(ctx, args, model, id, conversation, original, prices);
                (model, scope.spawn(run))
            })
            .collect();
        handles
            .into_iter()
            .map(|(model, handle)| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the re-run on {model} crashed")))
            })
            .collect()
    });
    let runs: Vec<ModelRun> = runs.into_iter().collect::<anyhow::Result<_>>()?;
    match runs.as_slice() {
        [run] => print_comparison(args, id, run)?,
        _ => print_models(args, id, &runs)?,
    }
    runs.into_iter()
        .map(|run| run.end)
        .find(|end| !matches!(end, Ok(code) if *code == ExitCode::SUCCESS))
        .unwrap_or(Ok(ExitCode::SUCCESS))
}

/// Re-runs the conversation's user turns on `model`, in a new conversation.
#[allow(clippy::too_many_arguments)]
fn rerun_on(
    ctx: Ctx,
    args: &Args,
    model: &str,
    id: &str,
    conversation: &Conversation,
    original: &[RenderedTurn],
    prices: &PriceTable,
) -> anyhow::Result<ModelRun> {
    let (system, _) = conversation.header();
    let plan = EnginePlan {
        model: Some(model.to_string()),
        system: system.map(str::to_string),
        tags: vec![format!("replay:{id}")],
        command: "replay",
        replay_of: Some(id.to_string()),
        ..EnginePlan::default()
    };
    let options = TurnOptions {
        max_tokens: args.max_tokens,
        ..TurnOptions::default()
    };
    let sink = Box::new(TerminalSink::new(false));
    let mut session = Engine::open(ctx, plan, options, sink)?;
    let today = crate::usage::today();
    let mut run = ModelRun {
        model: model.to_string(),
        new_id: String::new(),
        turns: Vec::new(),
        end: Ok(ExitCode::SUCCESS),
    };
    for turn in original {
        eprintln!("{model}: turn {}/{}...", turn.turn, original.len());
        session.use_preset(turn.preset.clone());
        let store = crate::attach::AttachmentStore::in_data_dir(&session.paths.data_dir);
        let attachments = turn
            .attachments
            .iter()
            .filter_map(|attachment| {
                let reloaded = store.reload(attachment);
                if reloaded.is_none() {
                    eprintln!(
                        "note: {} is no longer in the attachment store; turn {} is re-run without it",
                        attachment.name, turn.turn
                    );
                }
                reloaded
            })
            .collect();
        session.attach(attachments);
        let report = session.turn(&turn.user)?;
        run.new_id = report.conversation_id.clone();
        let reported = report
            .model_reported
            .clone()
            .unwrap_or_else(|| report.model_requested.clone());
        run.turns.push(Compared {
            turn: turn.turn,
            original_input_tokens: turn.input_tokens,
            original_output_tokens: turn.output_tokens,
            original_latency_ms: turn.latency_ms,
            original_cost_usd: turn.cost_usd,
            input_tokens: report.input_tokens,
            output_tokens: report.output_tokens,
            latency_ms: report.latency_ms,
            cost_usd: cost_of(
                prices,
                &reported,
                &today,
                report.input_tokens,
                report.cached_input_tokens,
                report.output_tokens,
            ),
            similarity: similarity(turn.assistant.as_deref().unwrap_or(""), &report.text),
            reply: report.text.clone(),
        });
        if !matches!(report.end, None | Some(CallEnd::Complete)) {
            eprintln!(
                "confab: the re-run on {model} stopped at turn {}",
                turn.turn
            );
            run.end = report.exit();
            break;
        }
    }
    Ok(run)
}

/// The sums of a run's turns.
#[derive(Debug, Serialize)]
struct RunTotal {
    original_cost_usd: Option<f64>,
    cost_usd: Option<f64>,
    original_input_tokens: u64,
    original_output_tokens: u64,
    input_tokens: u64,
    output_tokens: u64,
    latency_ms: u64,
    mean_similarity: f64,
}

impl RunTotal {
    fn of(turns: &[Compared]) -> RunTotal {
        let mean_similarity = if turns.is_empty() {
            0.0
        } else {
            turns.iter().map(|t| t.similarity).sum::<f64>() / turns.len() as f64
        };
        RunTotal {
            original_cost_usd: turns.iter().map(|t| t.original_cost_usd).sum(),
            cost_usd: turns.iter().map(|t| t.cost_usd).sum(),
            original_input_tokens: turns.iter().filter_map(|t| t.original_input_tokens).sum(),
            original_output_tokens: turns.iter().filter_map(|t| t.original_output_tokens).sum(),
            input_tokens: turns.iter().map(|t| t.input_tokens).sum(),
            output_tokens: turns.iter().map(|t| t.output_tokens).sum(),
            latency_ms: turns.iter().map(|t| t.latency_ms).sum(),
            mean_similarity,
        }
    }
}

/// Several models' runs side by side: one row per model.
fn print_models(args: &Args, id: &str, runs: &[ModelRun]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if args.json {
        let replays: Vec<serde_json::Value> = runs
            .iter()
            .map(|run| {
                serde_json::json!({
                    "model": run.model, "replay": run.new_id,
                    "turns": run.turns, "total": RunTotal::of(&run.turns),
                })
            })
            .collect();
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({ "original": id, "replays": replays }),
        )?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "replay of {id} on {} models", runs.len())?;
    writeln!(
        out,
        "{:<28}  {:<24}  {:>15}  {:>10}  {:>12}  {:>10}",
        "model", "replay", "in/out", "ms", "cost", "similarity"
    )?;
    if let Some(first) = runs.first() {
        let total = RunTotal::of(&first.turns);
        writeln!(
            out,
            "{:<28}  {:<24}  {:>15}  {:>10}  {:>12}  {:>10}",
            "(original)",
            id,
            format!(
                "{}/{}",
                total.original_input_tokens, total.original_output_tokens
            ),
            "",
            usd(total.original_cost_usd),
            ""
        )?;
    }
    for run in runs {
        let total = RunTotal::of(&run.turns);
        writeln!(
            out,
            "{:<28}  {:<24}  {:>15}  {:>10}  {:>12}  {:>10.2}",
            run.model,
            run.new_id,
            format!("{}/{}", total.input_tokens, total.output_tokens),
            total.latency_ms,
            usd(total.cost_usd),
            total.mean_similarity
        )?;
    }
    Ok(())
}

fn print_comparison(args: &Args, id: &str, run: &ModelRun) -> anyhow::Result<()> {
    let (new_id, turns) = (&run.new_id, &run.turns);
    let mut out = std::io::stdout().lock();
    let total = RunTotal::of(turns);
    if args.json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({
                "original": id, "replay": new_id, "model": run.model,
                "turns": turns, "total": total,
            }),
        )?;
        writeln!(out)?;
        return Ok(());
    }
    let opt = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
    writeln!(out, "replay of {id} on {} -> {new_id}", run.model)?;
    writeln!(
        out,
        "{:>4}  {:>15}  {:>15}  {:>13}  {:>13}  {:>12}  {:>12}  {:>10}",
        "turn",
        "orig in/out",
        "new in/out",
        "orig ms",
        "new ms",
        "orig cost",
        "new cost",
        "similarity"
    )?;
    for t in turns {
        writeln!(
            out,
            "{:>4}  {:>15}  {:>15}  {:>13}  {:>13}  {:>12}  {:>12}  {:>10.2}",
            t.turn,
            format!(
                "{}/{}",
                opt(t.original_input_tokens),
                opt(t.original_output_tokens)
            ),
            format!("{}/{}", t.input_tokens, t.output_tokens),
            opt(t.original_latency_ms),
            t.latency_ms,
            usd(t.original_cost_usd),
            usd(t.cost_usd),
            t.similarity
        )?;
    }
    writeln!(
        out,
        "total: original {}, replay {}, mean similarity {:.2}",
        usd(total.original_cost_usd),
        usd(total.cost_usd),
        total.mean_similarity
    )?;
    Ok(())
}

/// How alike two answers are: cosine similarity of their word counts
/// (lowercased words), 1.0 for the same words in any order, 0.0 for none
/// in common.
pub fn similarity(a: &str, b: &str) -> f64 {
    fn words(text: &str) -> HashMap<String, f64> {
        let mut counts = HashMap::new();
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            *counts.entry(word.to_lowercase()).or_insert(0.0) += 1.0;
        }
        counts
    }
    let (a, b) = (words(a), words(b));
    let dot: f64 = a.iter().filter_map(|(w, x)| b.get(w).map(|y| x * y)).sum();
    let norm = |m: &HashMap<String, f64>| m.values().map(|v| v * v).sum::<f64>().sqrt();
    let denominator = norm(&a) * norm(&b);
    if denominator == 0.0 {
        if a.is_empty() && b.is_empty() {
            1.0
        } else {
            0.0
        }
    } else {
        dot / denominator
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_of_answers() {
        assert!((similarity("The cat sat", "the CAT sat") - 1.0).abs() < 1e-9);
        assert_eq!(similarity("alpha beta", "gamma delta"), 0.0);
        let partial = similarity("Paris is the capital", "The capital is Paris, France");
        assert!(partial > 0.8 && partial < 1.0, "{partial}");
        assert_eq!(similarity("", ""), 1.0);
    }
}
