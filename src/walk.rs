//! Finding and reading the input documents of `count-tokens` and `rag
//! index`: files and directories walked like ripgrep (ignore files, hidden
//! files, globs), binary files recognised and skipped, and text decoded as
//! UTF-8, lossily where it is not.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// How directories are walked.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Include hidden files and directories.
    pub hidden: bool,
    /// Do not honour `.gitignore`, `.ignore` and similar files.
    pub no_ignore: bool,
    /// Include only files matching these globs (`!GLOB` excludes).
    pub globs: Vec<String>,
}

/// Why a path was left out of the input.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The path as found.
    pub path: PathBuf,
    /// Why, for people ("binary file", "permission denied"...).
    pub reason: String,
}

/// The files to read, in a stable order, and what was skipped on the way.
#[derive(Clone, Debug, Default)]
pub struct FileList {
    /// Files to read: explicit file arguments first, as given, then the
    /// files found in each directory, sorted by path.
    pub files: Vec<PathBuf>,
    /// Entries that could not be walked.
    pub skipped: Vec<Skipped>,
}

/// Errors that stop a walk before it starts.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// A path given by the user does not exist or cannot be read.
    #[error("cannot read {path}: {source}")]
    Path {
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A `--glob` pattern is invalid.
    #[error("invalid glob `{glob}`: {source}")]
    Glob {
        /// The pattern as given.
        glob: String,
        /// Why it is invalid.
        source: ignore::Error,
    },
}

/// Lists the files under `paths`. An explicit file is always included, even
/// if hidden or ignored (as with ripgrep); directories are walked.
pub fn list_files(paths: &[PathBuf], options: &WalkOptions) -> Result<FileList, WalkError> {
    let mut list = FileList::default();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| WalkError::Path {
            path: path.clone(),
            source,
        })?;
        if !metadata.is_dir() {
            list.files.push(path.clone());
            continue;
        }
        let mut found = Vec::new();
        for entry in walker(path, options)? {
            match entry {
                Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                    found.push(entry.into_path())
                }
                Ok(_) => {}
                Err(err) => list.skipped.push(Skipped {
                    path: error_path(&err).unwrap_or_else(|| path.clone()),
                    reason: err.to_string(),
                }),
            }
        }
        found.sort();
        list.files.extend(found);
    }
    Ok(list)
}

fn walker(root: &Path, options: &WalkOptions) -> Result<ignore::Walk, WalkError> {
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .hidden(!options.hidden)
        .ignore(!options.no_ignore)
        .git_ignore(!options.no_ignore)
        .git_global(!options.no_ignore)
        .git_exclude(!options.no_ignore)
        .parents(!options.no_ignore)
        .require_git(false);
    if !options.globs.is_empty() {
        let mut overrides = ignore::overrides::OverrideBuilder::new(root);
        for glob in &options.globs {
            overrides.add(glob).map_err(|source| WalkError::Glob {
                glob: glob.clone(),
                source,
            })?;
        }
        let overrides = overrides.build().map_err(|source| WalkError::Glob {
            glob: options.globs.join(" "),
            source,
        })?;
        builder.overrides(overrides);
    }
    Ok(builder.build())
}

fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

/// How many leading bytes are checked for a NUL to call a file binary (as git does).
const BINARY_SNIFF_BYTES: usize = 8192;

/// Whether `bytes` look like a binary file rather than text.
pub fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_SNIFF_BYTES)].contains(&0)
}

/// Text decoded from bytes.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The text; invalid UTF-8 sequences replaced by U+FFFD.
    pub text: Cow<'a, str>,
    /// Whether any replacement was made.
    pub lossy: bool,
}

/// Decodes bytes as UTF-8, replacing invalid sequences with U+FFFD. A
/// byte-order mark is kept: tiktoken counts it too.
pub fn decode(bytes: &[u8]) -> Decoded<'_> {
    let text = String::from_utf8_lossy(bytes);
    let lossy = matches!(text, Cow::Owned(_));
    Decoded { text, lossy }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_with_ignore_rules_and_globs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::write(root.join(".gitignore"), "ignored.txt\n").expect("write");
        std::fs::write(root.join("a.md"), "a").expect("write");
        std::fs::write(root.join("b.rs"), "b").expect("write");
        std::fs::write(root.join("ignored.txt"), "i").expect("write");
        std::fs::write(root.join(".hidden"), "h").expect("write");
        let names = |options: &WalkOptions| -> Vec<String> {
            list_files(&[root.to_path_buf()], options)
                .expect("walk")
                .files
                .iter()
                .map(|p| {
                    p.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect()
        };
        assert_eq!(names(&WalkOptions::default()), ["a.md", "b.rs"]);
        let all = WalkOptions {
            hidden: true,
            no_ignore: true,
            globs: vec![],
        };
        assert_eq!(
            names(&all),
            [".gitignore", ".hidden", "a.md", "b.rs", "ignored.txt"]
        );
        let rust_only = WalkOptions {
            globs: vec!["*.rs".into()],
            ..WalkOptions::default()
        };
        assert_eq!(names(&rust_only), ["b.rs"]);
    }

    #[test]
    fn recognises_binary_and_invalid_text() {
        assert!(looks_binary(b"abc\0def"));
        assert!(!looks_binary("plain text ✓".as_bytes()));
        let decoded = decode(b"ok \xff\xfe end");
        assert!(decoded.lossy);
        assert_eq!(decoded.text, "ok \u{fffd}\u{fffd} end");
        assert!(!decode(b"fine").lossy);
    }
}
