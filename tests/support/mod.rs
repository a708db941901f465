//! Shared helpers for the integration tests: a confab command isolated in a
//! temporary home, with the user's environment removed.

#![allow(dead_code)]

pub mod fake_batches;
pub mod fake_provider;
pub mod otlp_receiver;
pub mod postgres;
pub mod real_server;

use std::path::Path;

/// A config with one low-risk tool, `say_hi`, that prints "hi".
pub const SAY_HI_TOOL: &str = r#"
[tools.say_hi]
description = "Say hi"
command = ["/bin/echo", "hi"]
risk = "low"
[tools.say_hi.parameters]
type = "object"
"#;

/// A valid 1x1 PNG, for attachment tests.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

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

    /// The confab binary pointed at a fake OpenAI-style server, the way the
    /// OpenAI SDK takes it: `OPENAI_BASE_URL` includes `/v1`.
    pub fn confab_openai(&self, base_url: &str) -> assert_cmd::Command {
        let mut cmd = self.confab();
        cmd.env("OPENAI_API_KEY", "test-openai-key")
            .env("OPENAI_BASE_URL", format!("{base_url}/v1"));
        cmd
    }

    /// The confab binary pointed at a fake Anthropic-style server, the way
    /// the Anthropic SDK takes it: `ANTHROPIC_BASE_URL` is the host root.
    pub fn confab_anthropic(&self, base_url: &str) -> assert_cmd::Command {
        let mut cmd = self.confab();
        cmd.env("ANTHROPIC_API_KEY", "test-anthropic-key")
            .env("ANTHROPIC_BASE_URL", base_url);
        cmd
    }

    /// The records of the usage log.
    pub fn usage_records(&self) -> Vec<serde_json::Value> {
        read_jsonl(&self.path().join("data/usage.jsonl"))
    }

    /// The records of every conversation file, by file.
    pub fn conversations(&self) -> Vec<Vec<serde_json::Value>> {
        let dir = self.path().join("data/conversations");
        let mut files: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        files.iter().map(|f| read_jsonl(f)).collect()
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

/// Every line of a JSON-lines file, parsed.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Asserts that a run of confab succeeded, showing its stderr if not.
#[track_caller]
pub fn assert_success(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "confab failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts success and parses stdout as JSON.
#[track_caller]
pub fn success_json(output: &std::process::Output) -> serde_json::Value {
    assert_success(output);
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// A run's stderr as text.
pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
