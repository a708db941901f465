//! Copying text to the clipboard from a terminal with OSC 52: the terminal
//! (xterm, kitty, iTerm2, WezTerm, Windows Terminal, tmux with
//! `set-clipboard on`...) puts the text on the system clipboard, even over
//! SSH. Terminals that do not support it ignore the sequence.

use std::io::{IsTerminal, Write};

use base64::Engine as _;

/// The most text sent in one sequence (several terminals cap it near here).
pub const MAX_COPY_BYTES: usize = 100 * 1024;

/// Why nothing was copied.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Neither stderr nor the controlling terminal can take the sequence.
    #[error("there is no terminal to copy through (OSC 52 needs one)")]
    NoTerminal,
    /// The text is longer than [`MAX_COPY_BYTES`].
    #[error("the reply is {0} bytes; copying takes at most {MAX_COPY_BYTES}")]
    TooLong(usize),
    /// Writing the sequence failed.
    #[error("writing to the terminal: {0}")]
    Write(#[from] std::io::Error),
}

/// The OSC 52 sequence that puts `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// Copies `text` through the terminal on stderr; returns the bytes copied.
pub fn copy(text: &str) -> Result<usize, CopyError> {
    if text.len() > MAX_COPY_BYTES {
        return Err(CopyError::TooLong(text.len()));
    }
    let stderr = std::io::stderr();
    if !stderr.is_terminal() {
        return Err(CopyError::NoTerminal);
    }
    let mut out = stderr.lock();
    out.write_all(osc52(text).as_bytes())?;
    out.flush()?;
    Ok(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_carries_the_text_in_base64() {
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
        // Escapes in the text cannot end the sequence early.
        assert!(!osc52("a\x07b\x1b]")
            .trim_end_matches('\x07')
            .contains('\x07'));
    }
}
