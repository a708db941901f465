//! Constraints on tool arguments beyond what a JSON Schema can say: paths
//! that must stay under given directories (after `..` is refused and
//! symlinks are resolved), and string length caps.
//!
//! The check happens before the tool runs; a path that is swapped for a
//! symlink between the check and the run is not caught (the tool itself
//! should open files without following links if that matters).

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A constraint on one argument (`{ argument = "path", path_prefixes =
/// ["/srv/docs"] }` in config). An argument the call leaves out is not
/// checked: make it `required` in the schema when it must be there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    /// The argument: a top-level name (`path`) or a JSON pointer
    /// (`/options/dir`).
    pub argument: String,
    /// The value (a string, or an array of strings) must be a path under
    /// one of these absolute directories.
    #[serde(default)]
    pub path_prefixes: Vec<PathBuf>,
    /// The value, when a string, may have at most this many characters.
    #[serde(default)]
    pub max_length: Option<usize>,
}

impl Constraint {
    /// Whether the constraint itself makes sense; the reason if not.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.argument.is_empty() {
            return Some("a constraint names no argument".into());
        }
        if self.path_prefixes.is_empty() && self.max_length.is_none() {
            return Some(format!(
                "the constraint on `{}` has neither path_prefixes nor max_length",
                self.argument
            ));
        }
        if let Some(prefix) = self.path_prefixes.iter().find(|p| !p.is_absolute()) {
            return Some(format!(
                "path prefix `{}` of the constraint on `{}` is not absolute",
                prefix.display(),
                self.argument
            ));
        }
        None
    }

    /// The JSON pointer of the argument.
    fn pointer(&self) -> String {
        if self.argument.starts_with('/') {
            self.argument.clone()
        } else {
            format!("/{}", self.argument.replace('~', "~0").replace('/', "~1"))
        }
    }

    /// Checks `arguments`; the reason for the model when the constraint is
    /// broken.
    pub(crate) fn check(&self, arguments: &Value) -> Result<(), String> {
        let Some(value) = arguments.pointer(&self.pointer()) else {
            return Ok(());
        };
        if let Some(max) = self.max_length {
            if let Value::String(s) = value {
                let length = s.chars().count();
                if length > max {
                    return Err(format!(
                        "argument `{}` is {length} characters long; at most {max} are allowed",
                        self.argument
                    ));
                }
            }
        }
        if self.path_prefixes.is_empty() {
            return Ok(());
        }
        let paths: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items
                .iter()
                .map(|item| {
                    item.as_str().ok_or_else(|| {
                        format!("argument `{}` must hold only path strings", self.argument)
                    })
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(format!(
                    "argument `{}` must be a path string",
                    self.argument
                ))
            }
        };
        for path in paths {
            check_path(path, &self.path_prefixes)
                .map_err(|why| format!("argument `{}`: {why}", self.argument))?;
        }
        Ok(())
    }
}

/// Checks that `path` lies under one of `prefixes`: `..` is refused
/// outright, the path is normalised lexically (relative paths against the
/// current directory, which the tool inherits), and resolved through the
/// file system as far as it exists, so a symlink cannot lead out.
pub fn check_path(path: &str, prefixes: &[PathBuf]) -> Result<PathBuf, String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    let raw = Path::new(path);
    if raw.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("`{path}` contains `..`, which is not allowed"));
    }
    let absolute = if raw.is_absolute() {
        raw.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|err| format!("the current directory is unknown: {err}"))?
            .join(raw)
    };
    let normal: PathBuf = absolute
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    let resolved = resolve_existing(&normal)?;
    let allowed = prefixes.iter().any(|prefix| {
        let prefix = std::fs::canonicalize(prefix).unwrap_or_else(|_| prefix.clone());
        resolved.starts_with(&prefix)
    });
    if allowed {
        Ok(resolved)
    } else {
        let list: Vec<String> = prefixes.iter().map(|p| p.display().to_string()).collect();
        Err(format!(
            "`{path}` resolves to `{}`, which is not under {}",
            resolved.display(),
            list.join(" or ")
        ))
    }
}

/// Canonicalizes the longest existing ancestor of `path` (resolving every
/// symlink in it) and appends the rest, which does not exist yet.
fn resolve_existing(path: &Path) -> Result<PathBuf, String> {
    let mut existing = path.to_path_buf();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        match std::fs::canonicalize(&existing) {
            Ok(mut resolved) => {
                for part in rest.iter().rev() {
                    resolved.push(part);
                }
                return Ok(resolved);
            }
            Err(err) => {
                // A dangling symlink: its target is unknown, refuse.
                if std::fs::symlink_metadata(&existing).is_ok() {
                    return Err(format!(
                        "`{}` cannot be resolved: {err}",
                        existing.display()
                    ));
                }
                match (existing.file_name(), existing.parent()) {
                    (Some(name), Some(parent)) => {
                        rest.push(name.to_os_string());
                        existing = parent.to_path_buf();
                    }
                    _ => return Ok(path.to_path_buf()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn constraint(dir: &Path) -> Constraint {
        Constraint {
            argument: "path".into(),
            path_prefixes: vec![dir.join("docs")],
            max_length: None,
        }
    }

    #[test]
    fn paths_must_stay_under_a_prefix() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("docs")).expect("mkdir");
        std::fs::create_dir(dir.path().join("docs2")).expect("mkdir");
        std::fs::write(dir.path().join("docs/a.txt"), "a").expect("write");
        let c = constraint(dir.path());
        let inside = dir.path().join("docs/a.txt");
        assert_eq!(c.check(&json!({"path": inside})), Ok(()));
        let new_file = dir.path().join("docs/./new/b.txt");
        assert_eq!(c.check(&json!({"path": new_file})), Ok(()));
        // A sibling that shares the prefix's spelling is not under it.
        let sibling = dir.path().join("docs2/x");
        assert!(c.check(&json!({"path": sibling})).is_err());
        assert!(c.check(&json!({"path": "/etc/passwd"})).is_err());
        assert!(c.check(&json!({"path": 7})).is_err());
        assert!(c.check(&json!({"path": ""})).is_err());
        // Absent: the schema decides whether it may be.
        assert_eq!(c.check(&json!({})), Ok(()));
    }

    #[test]
    fn dot_dot_is_refused_even_when_it_would_stay_inside() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("docs/sub")).expect("mkdir");
        let c = constraint(dir.path());
        let escape = format!("{}/docs/../secret", dir.path().display());
        let err = c.check(&json!({"path": escape})).expect_err("refused");
        assert!(err.contains(".."), "{err}");
        let inside = format!("{}/docs/sub/../a", dir.path().display());
        assert!(c.check(&json!({"path": inside})).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_that_lead_out_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("docs")).expect("mkdir");
        std::fs::create_dir(dir.path().join("secret")).expect("mkdir");
        std::fs::write(dir.path().join("secret/key"), "k").expect("write");
        std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("docs/link"))
            .expect("symlink");
        std::os::unix::fs::symlink("/nonexistent/target", dir.path().join("docs/dangling"))
            .expect("symlink");
        let c = constraint(dir.path());
        let through_link = dir.path().join("docs/link/key");
        let err = c
            .check(&json!({"path": through_link}))
            .expect_err("escapes");
        assert!(err.contains("not under"), "{err}");
        // A new file below the link is caught too.
        let new_below = dir.path().join("docs/link/new.txt");
        assert!(c.check(&json!({"path": new_below})).is_err());
        let dangling = dir.path().join("docs/dangling");
        assert!(c.check(&json!({"path": dangling})).is_err());
    }

    #[test]
    fn pointers_arrays_and_lengths() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("docs")).expect("mkdir");
        let c = Constraint {
            argument: "/options/paths".into(),
            ..constraint(dir.path())
        };
        let ok = dir.path().join("docs/a");
        assert_eq!(c.check(&json!({"options": {"paths": [ok]}})), Ok(()));
        assert!(c
            .check(&json!({"options": {"paths": [ok, "/etc/passwd"]}}))
            .is_err());
        let short = Constraint {
            argument: "query".into(),
            path_prefixes: Vec::new(),
            max_length: Some(5),
        };
        assert_eq!(short.check(&json!({"query": "héllo"})), Ok(()));
        assert!(short.check(&json!({"query": "hello!"})).is_err());
        assert!(short.problem().is_none());
        let empty = Constraint {
            max_length: None,
            ..short
        };
        assert!(empty.problem().is_some());
    }
}
