//! Asking a person whether a high-risk tool call may run: the question
//! shows the tool and its exact arguments (with control characters made
//! visible, so model output cannot rewrite the terminal), and anything but
//! `y`/`yes` is No.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Write};

use crate::tools::CheckedCall;

/// Something that can ask a person to approve a call.
pub trait ApprovalPrompt {
    /// Shows `call` and asks; true only for an explicit yes. Errors and
    /// end of input count as No.
    fn approve(&mut self, call: &CheckedCall) -> bool;
}

/// The question for `call`, as shown to the person.
pub fn question(call: &CheckedCall) -> String {
    let arguments = serde_json::to_string_pretty(&call.arguments)
        .unwrap_or_else(|_| call.arguments_json.clone());
    format!(
        "confab: the model wants to run tool `{}` ({}) with arguments:\n{}\nrun it? [y/N] ",
        call.name,
        printable(&call.description),
        printable(&arguments)
    )
}

pub use crate::safe_text::printable;

/// Whether an answer is a yes.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Where answers come from.
enum Input {
    Tty(BufReader<File>),
    Stdin,
}

/// Asks on the terminal: reads the answer from `/dev/tty` (or from stdin
/// when it is a terminal), writes the question to stderr (or to the tty when
/// stderr is redirected).
pub struct TerminalPrompt {
    input: Input,
    tty_out: Option<File>,
}

impl TerminalPrompt {
    /// The prompt, or `None` when there is no terminal to ask on (cron, CI,
    /// a pipeline with no controlling terminal).
    pub fn open() -> Option<TerminalPrompt> {
        if let Ok(tty) = OpenOptions::new().read(true).write(true).open("/dev/tty") {
            let tty_out = if std::io::stderr().is_terminal() {
                None
            } else {
                tty.try_clone().ok()
            };
            return Some(TerminalPrompt {
                input: Input::Tty(BufReader::new(tty)),
                tty_out,
            });
        }
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            return Some(TerminalPrompt {
                input: Input::Stdin,
                tty_out: None,
            });
        }
        None
    }
}

impl ApprovalPrompt for TerminalPrompt {
    fn approve(&mut self, call: &CheckedCall) -> bool {
        let text = question(call);
        let written = match &mut self.tty_out {
            Some(tty) => tty.write_all(text.as_bytes()).and_then(|()| tty.flush()),
            None => {
                let mut err = std::io::stderr().lock();
                err.write_all(text.as_bytes()).and_then(|()| err.flush())
            }
        };
        if written.is_err() {
            return false;
        }
        let mut answer = String::new();
        let read = match &mut self.input {
            Input::Tty(reader) => reader.read_line(&mut answer),
            Input::Stdin => std::io::stdin().lock().read_line(&mut answer),
        };
        matches!(read, Ok(n) if n > 0) && is_yes(&answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_yes_is_yes() {
        for yes in ["y", "Y\n", " yes ", "YES\r\n"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "y es", "sure"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
