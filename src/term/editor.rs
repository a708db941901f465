//! Opening a file in the person's editor: `$VISUAL`, else `$EDITOR`, else
//! `vi`. The variable is split on whitespace (as in `EDITOR="code -w"`)
//! and run without a shell, with the file as its last argument.

use std::path::Path;

/// Why the editor did not run to a clean exit.
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    /// The program could not be started.
    #[error("could not start the editor `{program}`: {source}; set $VISUAL or $EDITOR to one that is installed")]
    Start {
        /// The program named.
        program: String,
        /// The spawn error.
        source: std::io::Error,
    },
    /// The draft file could not be made or read.
    #[error("the draft {}: {source}", path.display())]
    Draft {
        /// The draft file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// It ran and exited with a failure.
    #[error("the editor `{program}` exited with {status}")]
    Failed {
        /// The program named.
        program: String,
        /// How it exited.
        status: std::process::ExitStatus,
    },
}

/// The editor command line from `visual` and `editor` (the variables'
/// values), as program and arguments.
pub fn editor_command(visual: Option<&str>, editor: Option<&str>) -> (String, Vec<String>) {
    let chosen = [visual, editor]
        .into_iter()
        .flatten()
        .find(|value| !value.trim().is_empty())
        .unwrap_or("vi");
    let mut words = chosen.split_whitespace().map(str::to_string);
    let program = words.next().unwrap_or_else(|| "vi".to_string());
    (program, words.collect())
}

/// Opens `path` in the editor and waits for it to exit.
pub fn edit(path: &Path) -> Result<(), EditorError> {
    let visual = std::env::var("VISUAL").ok();
    let editor = std::env::var("EDITOR").ok();
    let (program, args) = editor_command(visual.as_deref(), editor.as_deref());
    let status = std::process::Command::new(&program)
        .args(&args)
        .arg(path)
        .status()
        .map_err(|source| EditorError::Start {
            program: program.clone(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(EditorError::Failed { program, status })
    }
}

/// Lets the person write a message in the editor: a new private draft file
/// in `drafts_dir` (mode 0600: it may hold anything), opened, read back and
/// removed. `None` when it was left empty.
pub fn compose(drafts_dir: &Path) -> Result<Option<String>, EditorError> {
    let path = drafts_dir.join(format!("message-{:016x}.md", fastrand::u64(..)));
    let draft_error = |source| EditorError::Draft {
        path: path.clone(),
        source,
    };
    crate::private_files::ensure_dir(drafts_dir).map_err(draft_error)?;
    crate::private_files::create_new(&path).map_err(draft_error)?;
    let edited = edit(&path);
    let text = read_draft(&path).map_err(draft_error);
    let _ = std::fs::remove_file(&path);
    edited?;
    let text = text?;
    Ok((!text.trim().is_empty()).then(|| text.trim_end().to_string()))
}

/// The largest draft read back (a message; larger input goes with `-a`).
pub const MAX_DRAFT_BYTES: u64 = 1024 * 1024;

/// The draft's text, at most [`MAX_DRAFT_BYTES`] of UTF-8.
fn read_draft(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    crate::private_files::open_read(path)?
        .take(MAX_DRAFT_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_DRAFT_BYTES {
        return Err(std::io::Error::other(format!(
            "it is larger than {} KiB; attach long text with -a FILE instead",
            MAX_DRAFT_BYTES / 1024
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_read_back_within_its_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("draft.md");
        std::fs::write(&path, "hello\n").expect("write");
        assert_eq!(read_draft(&path).expect("read"), "hello\n");
        std::fs::write(&path, vec![b'x'; MAX_DRAFT_BYTES as usize + 1]).expect("write");
        let err = read_draft(&path).unwrap_err().to_string();
        assert!(err.contains("-a FILE"), "{err}");
        std::fs::write(&path, [0xff, 0xfe]).expect("write");
        assert!(read_draft(&path).is_err());
    }

    #[test]
    fn visual_wins_then_editor_then_vi() {
        assert_eq!(
            editor_command(Some("code -w"), Some("nano")),
            ("code".to_string(), vec!["-w".to_string()])
        );
        assert_eq!(editor_command(Some("  "), Some("nano")).0, "nano");
        assert_eq!(editor_command(None, None), ("vi".to_string(), Vec::new()));
    }
}
