//! The terminal side of a streamed reply: text to stdout, flushed per
//! chunk; a waiting note and retry notices to stderr, only where stderr is
//! a terminal for the waiting note; colour never when `NO_COLOR` is set or
//! the stream is not a terminal.

pub mod clipboard;
pub mod editor;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::llm::client::CallObserver;

/// Prints a reply as it streams.
pub struct StreamPrinter {
    /// Whether text goes to stdout (false for `--json`, which prints at the end).
    echo: bool,
    /// Whether the waiting note is on screen.
    waiting_shown: bool,
    /// The last character printed, to end the reply with a newline.
    last_char: Option<char>,
    stderr_is_terminal: bool,
}

impl StreamPrinter {
    /// A printer; `echo` false collects nothing and prints nothing to stdout.
    pub fn new(echo: bool) -> StreamPrinter {
        StreamPrinter {
            echo,
            waiting_shown: false,
            last_char: None,
            stderr_is_terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Shows "waiting for MODEL..." on stderr (terminals only).
    pub fn waiting(&mut self, model: &str) {
        if self.stderr_is_terminal && self.echo {
            eprint!("{}", dim(&format!("waiting for {model}...")));
            let _ = std::io::stderr().flush();
            self.waiting_shown = true;
        }
    }

    fn clear_waiting(&mut self) {
        if self.waiting_shown {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
            self.waiting_shown = false;
        }
    }

    /// Ends the reply: clears the waiting note and ends the line.
    pub fn finish(&mut self) {
        self.clear_waiting();
        if self.echo && self.last_char.is_some_and(|c| c != '\n') {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out);
            let _ = out.flush();
        }
    }
}

impl CallObserver for StreamPrinter {
    fn text(&mut self, text: &str) {
        self.clear_waiting();
        if !self.echo {
            return;
        }
        let mut out = std::io::stdout().lock();
        // A closed stdout is noticed by the caller when it writes its own output.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        if let Some(c) = text.chars().last() {
            self.last_char = Some(c);
        }
    }

    fn rate_limited(&mut self, wait: Duration) {
        self.clear_waiting();
        eprintln!(
            "confab: waiting {:.1}s for the client-side rate limit (requests/tokens per minute)",
            wait.as_secs_f64()
        );
    }

    fn retrying(&mut self, retry: u32, delay: Duration, reason: &str) {
        self.clear_waiting();
        eprintln!(
            "confab: {reason}; retry {retry} in {:.1}s",
            delay.as_secs_f64()
        );
    }
}

/// Whether colour may be used on stderr.
pub fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Dim text for status lines, when colour is allowed.
pub fn dim(text: &str) -> String {
    if colour_allowed() {
        format!("\x1b[2m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The terminal's side of a chat turn: streamed text and whole replies on
/// stdout (unless `echo` is off, as for `--json`), notices on stderr with
/// their `warning:` / `note:` / `confab:` prefix.
pub struct TerminalSink {
    echo: bool,
    printer: StreamPrinter,
}

impl TerminalSink {
    /// A sink; with `echo` false, nothing goes to stdout.
    pub fn new(echo: bool) -> TerminalSink {
        TerminalSink {
            echo,
            printer: StreamPrinter::new(false),
        }
    }
}

impl CallObserver for TerminalSink {
    fn text(&mut self, text: &str) {
        self.printer.text(text);
    }

    fn retrying(&mut self, retry: u32, delay: Duration, reason: &str) {
        self.printer.retrying(retry, delay, reason);
    }

    fn rate_limited(&mut self, wait: Duration) {
        self.printer.rate_limited(wait);
    }
}

impl crate::chat::TurnSink for TerminalSink {
    fn call_started(&mut self, model: &str, shown: bool) {
        self.printer = StreamPrinter::new(self.echo && shown);
        self.printer.waiting(model);
    }

    fn call_finished(&mut self) {
        self.printer.finish();
    }

    fn reply(&mut self, text: &str) {
        if self.echo {
            println!("{text}");
        }
    }

    fn notice(&mut self, level: crate::chat::NoticeLevel, message: &str) {
        let prefix = match level {
            crate::chat::NoticeLevel::Warning => "warning",
            crate::chat::NoticeLevel::Note => "note",
            crate::chat::NoticeLevel::Info => "confab",
        };
        eprintln!("{prefix}: {message}");
    }
}
