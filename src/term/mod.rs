//! The terminal side of a streamed reply: text to stdout, flushed per
//! chunk; a waiting note and retry notices to stderr, only where stderr is
//! a terminal for the waiting note; colour never when `NO_COLOR` is set or
//! the stream is not a terminal. On a terminal the reply's Markdown is
//! rendered as it streams ([`markdown`]); anywhere else stdout gets the
//! reply's exact text.

pub mod markdown;

pub mod clipboard;
pub mod editor;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::llm::client::CallObserver;
use markdown::{ColourDepth, MarkdownRenderer, Rendering};

/// What decides whether a reply's Markdown is rendered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderChoice {
    /// `--raw`: never render.
    pub raw: bool,
    /// `--render`: render even when stdout is not a terminal.
    pub force: bool,
    /// `render` in config (true unless turned off).
    pub config: bool,
    /// Whether stdout is a terminal.
    pub stdout_is_terminal: bool,
    /// Whether `NO_COLOR` is set (and not empty).
    pub no_color: bool,
}

impl RenderChoice {
    /// The choice for this process's stdout and environment.
    pub fn detect(raw: bool, force: bool, config: bool) -> RenderChoice {
        RenderChoice {
            raw,
            force,
            config,
            stdout_is_terminal: std::io::stdout().is_terminal(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        }
    }

    /// Whether to render: never with `--raw` or `NO_COLOR`; with
    /// `--render` always; otherwise on a terminal unless config says no.
    pub fn renders(self) -> bool {
        !self.raw && !self.no_color && (self.force || (self.config && self.stdout_is_terminal))
    }

    /// The rendering to use, if any, at the colour depth `COLORTERM` announces.
    pub fn rendering(self) -> Option<Rendering> {
        self.renders().then(|| {
            let colorterm = std::env::var("COLORTERM").ok();
            Rendering::new(ColourDepth::from_colorterm(colorterm.as_deref()))
        })
    }
}

/// Prints a reply as it streams.
pub struct StreamPrinter {
    /// Whether text goes to stdout (false for `--json`, which prints at the end).
    echo: bool,
    /// Whether the waiting note is on screen.
    waiting_shown: bool,
    /// The last character printed, to end the reply with a newline.
    last_char: Option<char>,
    stderr_is_terminal: bool,
    /// Renders the text's Markdown; without one, the text goes out as it came.
    markdown: Option<MarkdownRenderer>,
    /// Whether the model's reasoning is shown (dimmed, on stderr).
    show_reasoning: bool,
    /// Whether reasoning was the last thing shown and its line is open.
    reasoning_open: bool,
}

impl StreamPrinter {
    /// A printer; `echo` false collects nothing and prints nothing to
    /// stdout. With `markdown`, the text is rendered line by line.
    pub fn new(echo: bool, markdown: Option<MarkdownRenderer>) -> StreamPrinter {
        StreamPrinter {
            echo,
            waiting_shown: false,
            last_char: None,
            stderr_is_terminal: std::io::stderr().is_terminal(),
            markdown,
            show_reasoning: false,
            reasoning_open: false,
        }
    }

    /// The printer, showing the model's reasoning on stderr when `show`.
    pub fn showing_reasoning(mut self, show: bool) -> StreamPrinter {
        self.show_reasoning = show;
        self
    }

    /// Ends the line of reasoning on stderr, if one is open.
    fn close_reasoning(&mut self) {
        if self.reasoning_open {
            eprintln!();
            self.reasoning_open = false;
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

    /// Ends the reply: clears the waiting note, shows what the renderer
    /// still held, and ends the line.
    pub fn finish(&mut self) {
        self.clear_waiting();
        self.close_reasoning();
        if !self.echo {
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Some(markdown) = &mut self.markdown {
            let _ = out.write_all(markdown.finish().as_bytes());
        }
        if self.last_char.is_some_and(|c| c != '\n') {
            let _ = writeln!(out);
        }
        let _ = out.flush();
    }
}

impl CallObserver for StreamPrinter {
    fn reasoning(&mut self, text: &str) {
        self.clear_waiting();
        if !self.show_reasoning {
            return;
        }
        let mut err = std::io::stderr().lock();
        if !self.reasoning_open {
            let _ = write!(err, "{}", dim("reasoning: "));
            self.reasoning_open = true;
        }
        // What a server sends is printed without its terminal controls.
        let _ = write!(err, "{}", dim(&crate::safe_text::printable(text)));
        let _ = err.flush();
    }

    fn text(&mut self, text: &str) {
        self.clear_waiting();
        self.close_reasoning();
        if !self.echo {
            return;
        }
        let mut out = std::io::stdout().lock();
        // A closed stdout is noticed by the caller when it writes its own output.
        let _ = match &mut self.markdown {
            Some(markdown) => out.write_all(markdown.push(text).as_bytes()),
            None => out.write_all(text.as_bytes()),
        };
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
    /// Markdown rendering of replies, if chosen.
    rendering: Option<Rendering>,
}

impl TerminalSink {
    /// A sink; with `echo` false, nothing goes to stdout. Replies go out
    /// as they came, unless [`TerminalSink::rendering`] says otherwise.
    pub fn new(echo: bool) -> TerminalSink {
        TerminalSink {
            echo,
            printer: StreamPrinter::new(false, None),
            rendering: None,
        }
    }

    /// The sink, rendering the Markdown of replies with `rendering` (none: exact text).
    pub fn rendering(mut self, rendering: Option<Rendering>) -> TerminalSink {
        self.rendering = rendering;
        self
    }
}

impl CallObserver for TerminalSink {
    fn text(&mut self, text: &str) {
        self.printer.text(text);
    }

    fn reasoning(&mut self, text: &str) {
        self.printer.reasoning(text);
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
        let echo = self.echo && shown;
        let markdown = self
            .rendering
            .as_ref()
            .filter(|_| echo)
            .map(Rendering::renderer);
        self.printer = StreamPrinter::new(echo, markdown).showing_reasoning(self.echo);
        self.printer.waiting(model);
    }

    fn call_finished(&mut self) {
        self.printer.finish();
    }

    fn reply(&mut self, text: &str) {
        if !self.echo {
            return;
        }
        match &self.rendering {
            Some(rendering) => println!("{}", rendering.render_all(text)),
            None => println!("{text}"),
        }
    }

    fn reply_json(&mut self, json: &str) {
        if self.echo {
            println!("{json}");
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

#[cfg(test)]
mod tests {
    use super::RenderChoice;

    #[test]
    fn markdown_is_rendered_only_where_it_is_wanted() {
        let terminal = RenderChoice {
            config: true,
            stdout_is_terminal: true,
            ..RenderChoice::default()
        };
        assert!(terminal.renders());
        let pipe = RenderChoice {
            stdout_is_terminal: false,
            ..terminal
        };
        assert!(!pipe.renders(), "pipes get the exact text");
        assert!(
            RenderChoice {
                force: true,
                ..pipe
            }
            .renders(),
            "--render"
        );
        assert!(
            !RenderChoice {
                raw: true,
                ..terminal
            }
            .renders(),
            "--raw"
        );
        assert!(
            !RenderChoice {
                config: false,
                ..terminal
            }
            .renders(),
            "render = false"
        );
        assert!(RenderChoice {
            config: false,
            force: true,
            ..pipe
        }
        .renders());
        for choice in [
            terminal,
            RenderChoice {
                force: true,
                ..pipe
            },
        ] {
            assert!(
                !RenderChoice {
                    no_color: true,
                    ..choice
                }
                .renders(),
                "NO_COLOR wins"
            );
        }
    }
}
