//! The interactive side of `confab chat`: a rustyline prompt with input
//! history, multi-line input (end a line with `\`, or wrap a block in
//! `"""`), and slash commands. Ctrl-C during a reply stops it and keeps what
//! arrived; Ctrl-C at the prompt clears the line; Ctrl-D exits.

use std::process::ExitCode;

use rustyline::error::ReadlineError;

use crate::chat::Engine;
use crate::exit::Failure;

const HELP: &str = "\
/help            this help
/model [MODEL]   show the model, or switch to another (provider:model, alias...)
/system [TEXT]   show the system prompt, or start a new conversation with this one
/tokens          how the context is spent: system prompt, summary, messages, output cap
/compact         summarise the older messages now (the last few stay verbatim)
/new             start a new conversation
/history         the most recent conversations
/edit            write the next message in $VISUAL or $EDITOR (/e)
/copy            copy the last reply to the clipboard (OSC 52, through the terminal)
/exit            leave (Ctrl-D too)
End a line with \\ to continue it; wrap a block in \"\"\" lines to paste several lines.";

/// Turns what was typed into the message sent (a preset's template).
pub type Shape<'a> = &'a dyn Fn(&str) -> anyhow::Result<String>;

/// Runs the REPL until `/exit` or Ctrl-D; each message typed goes through
/// `shape` first.
pub fn run(mut session: Engine, shape: Shape<'_>) -> anyhow::Result<ExitCode> {
    let mut editor = rustyline::DefaultEditor::new()?;
    let history_file = session.paths.data_dir.join("chat_history.txt");
    let _ = editor.load_history(&history_file);
    eprintln!(
        "confab chat with {}:{} - /help for commands, Ctrl-D to leave",
        session.resolved.provider_name, session.resolved.model
    );
    // The prompt-cache tokens of the last reply, for `/tokens`.
    let mut last_cache: Option<(u64, u64)> = None;
    loop {
        let input = match read_input(&mut editor) {
            Ok(Some(input)) => input,
            Ok(None) => break,
            Err(err) => return Err(err.into()),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(trimmed);
        let input = match trimmed {
            "/edit" | "/e" => match compose(&session) {
                Some(message) => message,
                None => continue,
            },
            _ => input,
        };
        let trimmed = input.trim();
        if let Some(command) = trimmed.strip_prefix('/').filter(|_| !input.contains('\n')) {
            if command == "tokens" {
                print_tokens(&session, last_cache);
                continue;
            }
            match slash_command(&mut session, command) {
                Ok(true) => continue,
                Ok(false) => break,
                Err(err) => {
                    print_error(&err);
                    continue;
                }
            }
        }
        let message = match shape(&input) {
            Ok(message) => message,
            Err(err) => {
                print_error(&err);
                continue;
            }
        };
        match session.turn(&message) {
            Ok(report) => {
                last_cache = Some((report.cached_input_tokens, report.cache_write_tokens));
                if let Err(err) = report.exit() {
                    print_error(&err);
                }
                // SIGTERM or SIGHUP stopped the reply: the session ends.
                if session.cancel().must_exit() {
                    return report.exit();
                }
            }
            Err(err) => print_error(&err),
        }
    }
    if let Some(dir) = history_file.parent() {
        let _ = crate::private_files::ensure_dir(dir);
    }
    let _ = editor.save_history(&history_file);
    Ok(ExitCode::SUCCESS)
}

fn print_error(err: &anyhow::Error) {
    eprintln!("confab: {err:#}");
    if let Some(hint) = err
        .chain()
        .find_map(|c| c.downcast_ref::<Failure>())
        .and_then(|f| f.hint.as_deref())
    {
        eprintln!("hint: {hint}");
    }
}

/// Reads one input, joining continued lines and `"""` blocks. `None` at Ctrl-D.
fn read_input(editor: &mut rustyline::DefaultEditor) -> Result<Option<String>, ReadlineError> {
    let mut input = String::new();
    let mut in_block = false;
    loop {
        let prompt = if input.is_empty() && !in_block {
            "> "
        } else {
            "… "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if line.trim() == "\"\"\"" {
                    if in_block {
                        return Ok(Some(input));
                    }
                    in_block = true;
                    continue;
                }
                if in_block {
                    input.push_str(&line);
                    input.push('\n');
                    continue;
                }
                match line.strip_suffix('\\') {
                    Some(head) => {
                        input.push_str(head);
                        input.push('\n');
                    }
                    None => {
                        input.push_str(&line);
                        return Ok(Some(input));
                    }
                }
            }
            // Ctrl-C at the prompt clears what was typed.
            Err(ReadlineError::Interrupted) => {
                input.clear();
                in_block = false;
            }
            Err(ReadlineError::Eof) => {
                return Ok(if input.is_empty() { None } else { Some(input) });
            }
            Err(err) => return Err(err),
        }
    }
}

/// The message written in the editor (`/edit`); `None` (with a word on
/// stderr) when it was left empty or the editor failed.
fn compose(session: &Engine) -> Option<String> {
    match crate::term::editor::compose(&session.paths.data_dir.join("drafts")) {
        Ok(Some(message)) => Some(message),
        Ok(None) => {
            eprintln!("nothing written; nothing sent");
            None
        }
        Err(err) => {
            eprintln!("error: {err}");
            None
        }
    }
}

/// `/copy`: the last reply onto the clipboard through the terminal.
fn copy_last_reply(session: &Engine) {
    let last = session
        .history
        .iter()
        .rev()
        .find(|m| m.role == crate::llm::Role::Assistant && !m.content.is_empty());
    match last {
        None => eprintln!("no reply to copy yet"),
        Some(reply) => match crate::term::clipboard::copy(&reply.content) {
            Ok(bytes) => eprintln!("copied the last reply ({bytes} bytes) to the clipboard"),
            Err(err) => eprintln!("error: {err}"),
        },
    }
}

/// Runs a slash command; `Ok(false)` means leave.
fn slash_command(session: &mut Engine, command: &str) -> anyhow::Result<bool> {
    let (name, rest) = command
        .split_once(char::is_whitespace)
        .map_or((command, ""), |(n, r)| (n, r.trim()));
    match name {
        "exit" | "quit" => return Ok(false),
        "help" => println!("{HELP}"),
        "model" if rest.is_empty() => println!(
            "{}:{} (context window {}, output cap {})",
            session.resolved.provider_name,
            session.resolved.model,
            session.info.context_window,
            session.output_cap()
        ),
        "model" => {
            session.switch_model(rest)?;
            println!(
                "now using {}:{}",
                session.resolved.provider_name, session.resolved.model
            );
        }
        "system" if rest.is_empty() => {
            println!(
                "{}",
                session.system.as_deref().unwrap_or("(no system prompt)")
            )
        }
        "system" => {
            session.new_conversation(Some(rest.to_string()));
            println!("new conversation with that system prompt");
        }
        "copy" => copy_last_reply(session),
        "compact" => match session.compact()? {
            0 => println!("nothing to compact: the conversation is within its last messages"),
            n => println!(
                "summarised {n} more messages; the summary now stands for the first {}",
                session.summary.as_ref().map_or(0, |s| s.covers)
            ),
        },
        "new" => {
            let system = session.system.clone();
            session.new_conversation(system);
            println!("new conversation");
        }
        "history" => {
            for summary in session.store().list()?.iter().take(10) {
                match &summary.problem {
                    Some(problem) => println!("{}  broken: {problem}", summary.id),
                    None => println!(
                        "{}  {:>3} messages  {}",
                        summary.id, summary.messages, summary.title
                    ),
                }
            }
        }
        other => println!("unknown command /{other}; /help lists them"),
    }
    Ok(true)
}

/// `/tokens`: how the next request's context is spent.
fn print_tokens(session: &Engine, last_cache: Option<(u64, u64)>) {
    let b = session.context_breakdown();
    let estimate = if b.exact { "" } else { " (estimated)" };
    let percent = |n: u64| n as f64 * 100.0 / b.context_window.max(1) as f64;
    println!("system prompt     {:>8} tokens", b.system_tokens);
    if b.summarised_messages > 0 {
        println!(
            "summary           {:>8} tokens  (stands for the first {} messages)",
            b.summary_tokens, b.summarised_messages
        );
    }
    println!(
        "messages          {:>8} tokens  ({} sent verbatim)",
        b.verbatim_tokens, b.verbatim_messages
    );
    if b.tools_tokens > 0 {
        println!("tools and schema  {:>8} tokens", b.tools_tokens);
    }
    println!("output cap        {:>8} tokens", b.output_cap);
    println!(
        "total             {:>8} of {} ({:.1}%){estimate}",
        b.prompt_tokens + b.output_cap,
        b.context_window,
        percent(b.prompt_tokens + b.output_cap)
    );
    println!(
        "compacts when the prompt passes {} tokens ({:.0}% of the window after the cap)",
        b.compact_threshold,
        session.compact_fraction() * 100.0
    );
    let marking = match session.prompt_cache() {
        Some(ttl) => {
            let ttl = match ttl {
                crate::llm::CacheTtl::FiveMinutes => "5 minutes",
                crate::llm::CacheTtl::Hour => "an hour",
            };
            format!("on, kept {ttl}: system prompt, tools and the conversation so far are marked")
        }
        None => "not marked (--cache-prompt or cache_prompt = true; OpenAI caches on its own)"
            .to_string(),
    };
    match last_cache {
        Some((read, written)) => println!(
            "prompt cache      {marking}; the last reply read {read} cached tokens, wrote {written}"
        ),
        None => println!("prompt cache      {marking}"),
    }
}
