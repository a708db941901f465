//! Shared helpers for the integration tests: a confab command isolated in a
//! temporary home, with the user's environment removed.

#![allow(dead_code)]

use std::path::Path;

/// A temporary home that every confab directory points into.
pub struct TempHome {
    /// The directory; removed when dropped.
    pub dir: tempfile::TempDir,
}

impl TempHome {
    /// A fresh, empty home.
    pub fn new() -> TempHome {
        TempHome {
            dir: tempfile::tempdir().expect("creating a temp dir"),
        }
    }

    /// The home's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The confab binary, run in this home with a clean environment.
    pub fn confab(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("confab").expect("the confab binary");
        cmd.env_clear()
            .env("CONFAB_HOME", self.path())
            .env("HOME", self.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .current_dir(self.path());
        cmd
    }

    /// Writes a file under the home, creating its directories.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> std::path::PathBuf {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("creating directories");
        }
        std::fs::write(&path, contents).expect("writing a test file");
        path
    }
}
