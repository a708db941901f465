//! confab at a real terminal: a pseudo-terminal made by util-linux's
//! `script`, keys typed into it and the screen read back. The REPL's Ctrl-C
//! (clears the line at the prompt, stops a reply while it streams), Ctrl-D
//! (leaves) and `/new`, and the y/N approval of a high-risk tool.
//!
//! The waits below only order the keystrokes after what the screen shows;
//! nothing asserts how long anything took.

mod support;

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::fake_provider::{FakeProvider, Reply};
use support::{read_jsonl, TempHome};

/// How long to wait for the screen to show something before failing.
const PATIENCE: Duration = Duration::from_secs(30);

/// confab running in a pseudo-terminal.
struct Terminal {
    child: Child,
    keys: ChildStdin,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    /// Runs `confab ARGS` in a terminal, in `home`, with `env` added.
    fn start(home: &TempHome, env: &[(&str, String)], args: &[&str]) -> Terminal {
        let confab = assert_cmd::cargo::cargo_bin("confab");
        // `exec`, so that no shell sits between the terminal and confab (a
        // shell that saw a Ctrl-C reports 130 for a child that exited 0).
        let mut line = format!("exec {}", shell_quote(&confab.display().to_string()));
        for arg in args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        let mut command = Command::new("script");
        command
            .args(["-qfec", &line, "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SHELL", "/bin/sh")
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .env("CONFAB_HOME", home.path())
            .env("HOME", home.path())
            .current_dir(home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("util-linux `script` runs");
        let keys = child.stdin.take().expect("stdin");
        let mut out = child.stdout.take().expect("stdout");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = out.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("screen").extend_from_slice(&buffer[..n]);
            }
        });
        Terminal {
            child,
            keys,
            screen,
        }
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().expect("screen")).into_owned()
    }

    /// Waits until `needle` has appeared `times` times on the screen.
    fn wait_for(&self, needle: &str, times: usize) {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if self.screen().matches(needle).count() >= times {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{needle:?} did not appear {times} times; the screen:\n{}",
            self.screen()
        );
    }

    fn type_keys(&mut self, keys: &str) {
        self.keys.write_all(keys.as_bytes()).expect("typing");
        self.keys.flush().expect("typing");
    }

    /// Waits for confab to exit.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("waiting") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("confab did not exit; the screen:\n{}", self.screen());
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn openai_env(fake: &FakeProvider) -> Vec<(&'static str, String)> {
    vec![
        ("OPENAI_API_KEY", "test-openai-key".to_string()),
        ("OPENAI_BASE_URL", format!("{}/v1", fake.base_url())),
    ]
}

const PROMPT: &str = "> ";

#[test]
fn at_the_prompt_ctrl_c_clears_the_line_and_ctrl_d_leaves() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["answer one"], Some((5, 2))),
        Reply::openai_stream("gpt-4o-mini", &["answer two"], Some((5, 2))),
    ]);
    let mut terminal = Terminal::start(&home, &openai_env(&fake), &["chat"]);
    terminal.wait_for(PROMPT, 1);
    terminal.type_keys("first question\r");
    terminal.wait_for("answer one", 1);
    terminal.wait_for(PROMPT, 2);
    // Typed, then abandoned with Ctrl-C: never sent.
    terminal.type_keys("half typed");
    terminal.wait_for("half typed", 1);
    terminal.type_keys("\x03");
    terminal.wait_for(PROMPT, 3);
    // /new, then a turn that starts a conversation of its own.
    terminal.type_keys("/new\r");
    terminal.wait_for(PROMPT, 4);
    terminal.type_keys("second question\r");
    terminal.wait_for("answer two", 1);
    terminal.wait_for(PROMPT, 5);
    terminal.type_keys("\x04");
    let status = terminal.wait_exit();
    assert!(
        status.success(),
        "{status}; the screen:\n{}",
        terminal.screen()
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "one request per sent turn");
    for request in &requests {
        assert!(!request.body.contains("half typed"));
    }
    let second = requests[1].json();
    assert_eq!(
        second["messages"].as_array().map(Vec::len),
        Some(1),
        "no history after /new"
    );
    assert_eq!(home.conversations().len(), 2);
}

#[test]
fn ctrl_c_during_a_reply_keeps_what_arrived_and_stays_in_the_session() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["partial words", " never shown"],
        Some((5, 2)),
    )
    .with_delay_before_part(2, Duration::from_secs(20))]);
    let mut terminal = Terminal::start(&home, &openai_env(&fake), &["chat"]);
    terminal.wait_for(PROMPT, 1);
    terminal.type_keys("tell me\r");
    terminal.wait_for("partial words", 1);
    terminal.type_keys("\x03");
    terminal.wait_for(PROMPT, 2);
    terminal.type_keys("\x04");
    let status = terminal.wait_exit();
    assert!(
        status.success(),
        "{status}; the screen:\n{}",
        terminal.screen()
    );
    assert!(!terminal.screen().contains("never shown"));
    let records = &home.conversations()[0];
    let reply = records
        .iter()
        .find(|r| r["role"] == "assistant")
        .expect("the partial reply was kept");
    assert_eq!(reply["content"], "partial words");
    assert_eq!(reply["interrupted"], true);
}

fn tool_config(home: &TempHome) -> String {
    let victim = home.path().join("victim.txt");
    std::fs::write(&victim, "delete me").expect("victim");
    format!(
        "[tools.delete_file]\ndescription = \"Delete a file\"\n\
         command = [\"/bin/sh\", \"-c\", \"cat >/dev/null; rm -- \\\"$0\\\" && echo deleted\", \"{}\"]\n\
         risk = \"high\"\n[tools.delete_file.parameters]\ntype = \"object\"\n",
        victim.display()
    )
}

fn approval_run(answer: &str) -> (TempHome, Vec<serde_json::Value>) {
    let home = TempHome::new();
    home.write("config.toml", tool_config(&home));
    let fake = FakeProvider::start(vec![
        Reply::openai_tool_call_stream("gpt-4o-mini", "delete_file", &[r#"{"path":"x"}"#]),
        Reply::openai_stream("gpt-4o-mini", &["done"], Some((5, 1))),
    ]);
    let mut terminal = Terminal::start(&home, &openai_env(&fake), &["chat", "delete x"]);
    terminal.wait_for("run it? [y/N]", 1);
    assert!(
        terminal.screen().contains("\"path\": \"x\""),
        "the exact arguments are shown"
    );
    terminal.type_keys(answer);
    let status = terminal.wait_exit();
    assert!(
        status.success(),
        "{status}; the screen:\n{}",
        terminal.screen()
    );
    let audit = read_jsonl(&home.path().join("data/audit.jsonl"));
    (home, audit)
}

#[test]
fn a_yes_at_the_terminal_runs_the_high_risk_tool() {
    let (home, audit) = approval_run("y\r");
    assert_eq!(audit[0]["decision"], "approved_by_person");
    assert!(!home.path().join("victim.txt").exists(), "it ran");
}

#[test]
fn enter_alone_at_the_terminal_is_no() {
    let (home, audit) = approval_run("\r");
    assert_eq!(audit[0]["decision"], "denied_by_person");
    assert!(home.path().join("victim.txt").exists(), "it did not run");
}

#[test]
fn no_color_turns_the_dimmed_waiting_note_plain() {
    let screen_with = |no_color: &str| {
        let home = TempHome::new();
        let fake = FakeProvider::start(vec![Reply::openai_stream(
            "gpt-4o-mini",
            &["hi"],
            Some((5, 1)),
        )]);
        let mut env = openai_env(&fake);
        env.push(("NO_COLOR", no_color.to_string()));
        let mut terminal = Terminal::start(&home, &env, &["chat", "hello"]);
        let status = terminal.wait_exit();
        assert!(status.success(), "{status}");
        terminal.wait_for("hi", 1);
        terminal.screen()
    };
    let coloured = screen_with("");
    assert!(coloured.contains("\x1b[2mwaiting for"), "{coloured:?}");
    let plain = screen_with("1");
    assert!(plain.contains("waiting for"), "{plain:?}");
    assert!(!plain.contains("\x1b[2m"), "{plain:?}");
}
