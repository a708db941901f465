//! Running a tool: its argv spawned directly (never through a shell), the
//! arguments JSON on stdin, stdout and stderr drained on their own threads
//! (so a chatty tool cannot block on a full pipe), a timeout that kills it,
//! and output capped at a byte limit.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

/// How much of stderr is kept (its end).
pub const STDERR_TAIL_BYTES: usize = 4096;
/// How long to wait for the output pipes to close once the tool has exited
/// (a background process it left behind may hold them open).
const PIPE_GRACE: Duration = Duration::from_millis(500);

/// What happened when a tool ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolRun {
    /// The exit code; `None` when it was killed by a signal, timed out or
    /// never started.
    pub exit_code: Option<i32>,
    /// Standard output, at most the output limit, lossy UTF-8, with a note
    /// at the end when it was cut.
    pub stdout: String,
    /// Whether stdout was cut at the limit.
    pub truncated: bool,
    /// The last [`STDERR_TAIL_BYTES`] of standard error, lossy UTF-8.
    pub stderr_tail: String,
    /// Wall time from spawn to exit.
    pub duration: Duration,
    /// Whether it ran out of time and was killed.
    pub timed_out: bool,
    /// Why it could not be started, if it could not.
    pub spawn_error: Option<String>,
}

impl ToolRun {
    /// Whether the tool ran and exited with status 0.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// The run as a [`ToolOutput`](super::ToolOutput).
    pub fn output(&self) -> super::ToolOutput {
        let (content, is_error) = self.result_content();
        super::ToolOutput {
            content,
            images: Vec::new(),
            is_error,
            exit_code: self.exit_code,
            timed_out: self.timed_out,
            duration: self.duration,
            failure: self.spawn_error.clone(),
        }
    }

    /// The tool result to send back to the model, and whether it is an
    /// error: stdout on success; otherwise what went wrong, stdout and the
    /// end of stderr.
    pub fn result_content(&self) -> (String, bool) {
        if self.succeeded() {
            return (self.stdout.clone(), false);
        }
        let mut content = if let Some(err) = &self.spawn_error {
            format!("the tool could not be started: {err}")
        } else if self.timed_out {
            format!(
                "the tool timed out after {:.1}s and was stopped",
                self.duration.as_secs_f64()
            )
        } else {
            match self.exit_code {
                Some(code) => format!("the tool failed with exit code {code}"),
                None => "the tool was killed by a signal".into(),
            }
        };
        if !self.stdout.is_empty() {
            content.push_str("\nstdout:\n");
            content.push_str(&self.stdout);
        }
        if !self.stderr_tail.trim().is_empty() {
            content.push_str("\nstderr (end):\n");
            content.push_str(&self.stderr_tail);
        }
        (content, true)
    }
}

/// Output collected by a reader thread.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    total: u64,
    done: bool,
}

/// Reads `source` to its end on a thread, keeping the first `limit` bytes
/// (`keep_tail`: the last ones) and counting them all.
fn drain<R: Read + Send + 'static>(
    mut source: R,
    limit: usize,
    keep_tail: bool,
) -> Arc<Mutex<Captured>> {
    let captured = Arc::new(Mutex::new(Captured::default()));
    let shared = Arc::clone(&captured);
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        loop {
            let n = match source.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let Ok(mut c) = shared.lock() else { break };
            c.total += n as u64;
            if keep_tail {
                c.bytes.extend_from_slice(&buffer[..n]);
                if c.bytes.len() > limit.saturating_mul(2) {
                    let cut = c.bytes.len() - limit;
                    c.bytes.drain(..cut);
                }
            } else if c.bytes.len() < limit {
                let room = limit - c.bytes.len();
                c.bytes.extend_from_slice(&buffer[..n.min(room)]);
            }
        }
        if let Ok(mut c) = shared.lock() {
            c.done = true;
        }
    });
    captured
}

/// Waits up to `grace` for the reader to finish, then takes what it has.
fn collect(captured: &Arc<Mutex<Captured>>, grace: Duration) -> (Vec<u8>, u64, bool) {
    let deadline = Instant::now() + grace;
    loop {
        if let Ok(mut c) = captured.lock() {
            if c.done || Instant::now() >= deadline {
                return (std::mem::take(&mut c.bytes), c.total, c.done);
            }
        } else {
            return (Vec::new(), 0, false);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The variables every tool gets from confab's environment, when set:
/// what a program needs to find commands, files and the locale. Nothing
/// that could hold a credential.
pub const BASE_ENVIRONMENT: [&str; 7] =
    ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"];

/// Whether `name` can be an environment variable's name in a tool's `env`.
pub fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Gives `command` an environment built from the allowlist: the base set
/// and what the tool declares, taken from confab's own; never the rest.
fn allowlisted_environment(command: &mut Command, declared: &[String]) {
    command.env_clear();
    let names = BASE_ENVIRONMENT
        .iter()
        .copied()
        .chain(declared.iter().map(String::as_str));
    for name in names {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
}

/// Runs `argv` with `stdin_json` on its standard input and only the
/// allowlisted environment (plus `env`), for at most `timeout`, keeping at
/// most `output_limit` bytes of stdout.
pub fn run_command(
    argv: &[String],
    env: &[String],
    stdin_json: &str,
    timeout: Duration,
    output_limit: usize,
) -> ToolRun {
    let started = Instant::now();
    let failed = |message: String| ToolRun {
        exit_code: None,
        stdout: String::new(),
        truncated: false,
        stderr_tail: String::new(),
        duration: started.elapsed(),
        timed_out: false,
        spawn_error: Some(message),
    };
    let Some((program, args)) = argv.split_first() else {
        return failed("the tool has no command".into());
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    allowlisted_environment(&mut command, env);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => return failed(format!("`{program}`: {err}")),
    };
    // Written on a thread: a tool that never reads its stdin must not
    // block us once the pipe is full.
    if let Some(mut stdin) = child.stdin.take() {
        let input = stdin_json.as_bytes().to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stdout = child
        .stdout
        .take()
        .map(|out| drain(out, output_limit, false));
    let stderr = child
        .stderr
        .take()
        .map(|err| drain(err, STDERR_TAIL_BYTES, true));
    let (status, timed_out) = match child.wait_timeout(timeout) {
        Ok(Some(status)) => (Some(status), false),
        Ok(None) => {
            let _ = child.kill();
            (child.wait().ok(), true)
        }
        Err(_) => {
            let _ = child.kill();
            (child.wait().ok(), false)
        }
    };
    let duration = started.elapsed();
    let (out_bytes, out_total, _) = stdout
        .as_ref()
        .map_or((Vec::new(), 0, true), |c| collect(c, PIPE_GRACE));
    let (err_bytes, _, _) = stderr
        .as_ref()
        .map_or((Vec::new(), 0, true), |c| collect(c, PIPE_GRACE));
    let truncated = out_total > out_bytes.len() as u64;
    let mut stdout = String::from_utf8_lossy(&out_bytes).into_owned();
    if truncated {
        stdout.push_str(&format!(
            "\n[output truncated: {out_total} bytes, the first {} shown]",
            out_bytes.len()
        ));
    }
    let tail_start = err_bytes.len().saturating_sub(STDERR_TAIL_BYTES);
    ToolRun {
        exit_code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        stdout,
        truncated,
        stderr_tail: String::from_utf8_lossy(&err_bytes[tail_start..]).into_owned(),
        duration,
        timed_out,
        spawn_error: None,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn passes_arguments_on_stdin_and_captures_output() {
        let run = run_command(
            &sh("cat; echo oops >&2; exit 0"),
            &[],
            r#"{"a":1}"#,
            Duration::from_secs(10),
            1024,
        );
        assert_eq!(run.exit_code, Some(0));
        assert_eq!(run.stdout, r#"{"a":1}"#);
        assert_eq!(run.stderr_tail, "oops\n");
        assert!(!run.timed_out && !run.truncated);
        assert_eq!(run.result_content(), (r#"{"a":1}"#.to_string(), false));
    }

    #[test]
    fn reports_failures_and_missing_programs() {
        let run = run_command(
            &sh("echo bad >&2; exit 3"),
            &[],
            "{}",
            Duration::from_secs(10),
            1024,
        );
        assert_eq!(run.exit_code, Some(3));
        let (content, is_error) = run.result_content();
        assert!(is_error);
        assert!(
            content.contains("exit code 3") && content.contains("bad"),
            "{content}"
        );
        let run = run_command(
            &["/nonexistent/tool".to_string()],
            &[],
            "{}",
            Duration::from_secs(1),
            1024,
        );
        assert!(run.spawn_error.is_some());
        assert!(run.result_content().1);
    }

    #[test]
    fn kills_a_tool_that_runs_too_long() {
        let started = Instant::now();
        let run = run_command(
            &["sleep".to_string(), "5".to_string()],
            &[],
            "{}",
            Duration::from_secs(1),
            1024,
        );
        assert!(run.timed_out);
        assert_eq!(run.exit_code, None);
        assert!(started.elapsed() < Duration::from_secs(4));
        assert!(run.result_content().0.contains("timed out"));
    }

    #[test]
    fn caps_a_chatty_tool_without_deadlock() {
        // 1 MiB on stdout and stderr, more than any pipe buffer, and stdin
        // never read.
        let run = run_command(
            &sh("head -c 1048576 /dev/zero | tr '\\0' x; head -c 1048576 /dev/zero >&2"),
            &[],
            &"y".repeat(1 << 20),
            Duration::from_secs(20),
            100,
        );
        assert_eq!(run.exit_code, Some(0));
        assert!(run.truncated);
        assert!(run.stdout.starts_with(&"x".repeat(100)));
        assert!(
            run.stdout
                .ends_with("[output truncated: 1048576 bytes, the first 100 shown]"),
            "{}",
            &run.stdout[100..]
        );
        assert_eq!(run.stderr_tail.len(), STDERR_TAIL_BYTES);
    }

    #[test]
    fn only_the_allowlist_and_declared_variables_are_passed_on() {
        // The test process has PATH; a tool sees it, and sees nothing that
        // is neither in the base set nor declared.
        let run = run_command(
            &sh("env"),
            &["CONFAB_TEST_DECLARED".to_string()],
            "",
            Duration::from_secs(10),
            1 << 16,
        );
        let names: Vec<&str> = run
            .stdout
            .lines()
            .filter_map(|l| l.split_once('=').map(|(n, _)| n))
            .collect();
        assert!(names.contains(&"PATH"), "{names:?}");
        for name in &names {
            // sh itself may set PWD, SHLVL and `_`.
            assert!(
                BASE_ENVIRONMENT.contains(name)
                    || ["PWD", "SHLVL", "_", "CONFAB_TEST_DECLARED"].contains(name),
                "{name} reached the tool"
            );
        }
    }

    #[test]
    fn variable_names_are_checked() {
        assert!(is_variable_name("DOCS_TOKEN") && is_variable_name("_x1"));
        assert!(!is_variable_name("") && !is_variable_name("1A") && !is_variable_name("A-B"));
        assert!(!is_variable_name("A=B"));
    }
}
