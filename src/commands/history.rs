//! `confab history`: list, show and delete stored conversations.

use std::io::Write;
use std::process::ExitCode;

use crate::config::Paths;
use crate::conversation::{ConversationRecord, ConversationStore};
use crate::exit::{ExitKind, Failure};
use crate::llm::{ToolCallRequest, ToolResult};
use crate::safe_text::printable;

/// `confab history` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// List conversations, newest first
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print a conversation
    Show {
        /// The conversation id
        #[arg(value_name = "ID")]
        id: String,
        /// Print the stored records as JSON lines
        #[arg(long)]
        json: bool,
    },
    /// Delete a conversation
    Delete {
        /// The conversation id
        #[arg(value_name = "ID")]
        id: String,
    },
}

/// Runs `confab history`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve()?;
    let store = ConversationStore::in_data_dir(&paths.data_dir);
    let not_found = |err: crate::conversation::ConversationError| {
        Failure::new(ExitKind::Usage, err.to_string())
            .hint("`confab history list` shows the conversations")
    };
    let mut out = std::io::stdout().lock();
    match args {
        Args::List { json } => {
            let list = store.list()?;
            if json {
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
            } else {
                for s in list {
                    match &s.problem {
                        Some(problem) => writeln!(
                            out,
                            "{}  broken: {problem} (`confab history delete {}` removes it)",
                            s.id, s.id
                        )?,
                        None => writeln!(
                            out,
                            "{}  {:>3} messages  {:<28}  {}",
                            s.id, s.messages, s.model, s.title
                        )?,
                    }
                }
            }
        }
        Args::Show { id, json } => {
            let conversation = store.read_what_is_there(&id).map_err(not_found)?;
            for warning in &conversation.warnings {
                eprintln!("warning: {warning}");
            }
            if !matches!(
                conversation.records.first(),
                Some(ConversationRecord::Header { .. })
            ) {
                eprintln!(
                    "warning: conversation {id} has no header line, so it can't be continued; \
                     its readable records follow (`confab history delete {id}` removes it)"
                );
            }
            for record in &conversation.records {
                if json {
                    serde_json::to_writer(&mut out, record)?;
                    writeln!(out)?;
                    continue;
                }
                match record {
                    ConversationRecord::Header {
                        id, model, system, ..
                    } => {
                        writeln!(out, "# {id} ({model})")?;
                        if let Some(system) = system {
                            writeln!(out, "system: {system}")?;
                        }
                    }
                    ConversationRecord::Message {
                        role,
                        content,
                        interrupted,
                        preset,
                        attachments,
                        ..
                    } => {
                        let mark = if *interrupted { " [interrupted]" } else { "" };
                        let preset = preset
                            .as_deref()
                            .map_or(String::new(), |name| format!(" (preset {name})"));
                        writeln!(out, "\n{role:?}{preset}{mark}:\n{content}")?;
                        for attachment in attachments {
                            writeln!(
                                out,
                                "[attached {} ({}, {} bytes, sha256 {})]",
                                attachment.name,
                                attachment.media_type,
                                attachment.bytes,
                                &attachment.sha256[..attachment.sha256.len().min(12)]
                            )?;
                        }
                    }
                    ConversationRecord::ToolCalls { content, calls, .. } => {
                        writeln!(out, "\nAssistant (tool calls):")?;
                        if !content.is_empty() {
                            writeln!(out, "{content}")?;
                        }
                        for call in calls {
                            writeln!(out, "{}", tool_call_line(call))?;
                        }
                    }
                    ConversationRecord::ToolResult { tool, result, .. } => {
                        writeln!(out, "{}", tool_result_text(tool, result))?;
                    }
                    ConversationRecord::Settings { compact_at, .. } => {
                        if let Some(at) = compact_at {
                            writeln!(out, "\n--- from here on, compact at {at} of the window ---")?;
                        }
                    }
                    ConversationRecord::Compaction {
                        covers, summary, ..
                    } => {
                        writeln!(
                            out,
                            "\n--- compacted: from here on, requests send this summary in place of the first {covers} messages ---\n{summary}\n---"
                        )?;
                    }
                }
            }
        }
        Args::Delete { id } => {
            store.delete(&id).map_err(not_found)?;
            eprintln!("deleted conversation {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How much of a tool result is shown: at most this many characters...
const RESULT_CHARS: usize = 400;
/// ...and this many lines.
const RESULT_LINES: usize = 8;

/// A tool call as `history show` and `replay` show it: name, arguments
/// and call id.
pub(crate) fn tool_call_line(call: &ToolCallRequest) -> String {
    format!(
        "tool call {}({}) [{}]",
        printable(&call.name),
        printable(&call.arguments),
        call.id.as_deref().unwrap_or("?")
    )
}

/// A tool result as `history show` and `replay` show it: the tool, the
/// call id, an `[error]` mark when it failed or was refused, and the
/// content cut to a few lines.
pub(crate) fn tool_result_text(tool: &str, result: &ToolResult) -> String {
    let mark = if result.is_error { " [error]" } else { "" };
    format!(
        "tool result {} [{}]{mark}:\n{}",
        printable(tool),
        printable(&result.call_id),
        truncated(&printable(&result.content))
    )
}

/// `text` cut to [`RESULT_LINES`] lines and [`RESULT_CHARS`] characters,
/// saying how much was left out.
fn truncated(text: &str) -> String {
    let text = text.trim_end();
    let kept: String = text
        .lines()
        .take(RESULT_LINES)
        .collect::<Vec<_>>()
        .join("\n")
        .chars()
        .take(RESULT_CHARS)
        .collect();
    let left = text.chars().count().saturating_sub(kept.chars().count());
    if left > 0 && kept.len() < text.len() {
        format!("{kept}\n[... {left} more characters]")
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_results_are_cut_and_errors_marked() {
        let result = ToolResult::text("call_1", "line\n".repeat(20), true);
        let shown = tool_result_text("say_hi", &result);
        assert!(shown.starts_with("tool result say_hi [call_1] [error]:\nline\n"));
        assert_eq!(shown.matches("line").count(), RESULT_LINES);
        assert!(shown.ends_with("more characters]"), "{shown}");
        let short = ToolResult {
            content: "hi\n".into(),
            is_error: false,
            ..result
        };
        assert_eq!(
            tool_result_text("say_hi", &short),
            "tool result say_hi [call_1]:\nhi"
        );
    }
}
