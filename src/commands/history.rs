//! `confab history`: list, show and delete stored conversations.

use std::io::Write;
use std::process::ExitCode;

use crate::config::Paths;
use crate::conversation::{ConversationRecord, ConversationStore};
use crate::exit::{ExitKind, Failure};

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
                        ..
                    } => {
                        let mark = if *interrupted { " [interrupted]" } else { "" };
                        writeln!(out, "\n{role:?}{mark}:\n{content}")?;
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
