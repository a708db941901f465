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

    /// Waits for confab to exit, and fails unless it succeeded.
    fn wait_success(&mut self) {
        let status = self.wait_exit();
        assert!(status.success(), "{status}; the screen:\n{}", self.screen());
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
    terminal.wait_success();

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
    terminal.wait_success();
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
    terminal.wait_success();
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

/// A streamed reply with Markdown in it, cut where a line is half done.
const MARKDOWN_PIECES: [&str; 6] = [
    "# Head",
    "ing\n\nSome **bo",
    "ld** text and `code`.\n\n| name | n |\n|---|--:|\n| a | 1 |\n\n```rust\nfn ma",
    "in() {\n",
    "    let answer = 42;\n}\n```\n",
    "> the end",
];

/// The screen of `confab chat hello ARGS` answering with [`MARKDOWN_PIECES`].
fn markdown_screen(env: &[(&str, &str)], args: &[&str], config: Option<&str>) -> String {
    let home = TempHome::new();
    if let Some(config) = config {
        home.write("config.toml", config);
    }
    let reply = if args.contains(&"--no-stream") {
        Reply::openai_json("gpt-4o-mini", &MARKDOWN_PIECES.concat(), Some((5, 30)))
    } else {
        Reply::openai_stream("gpt-4o-mini", &MARKDOWN_PIECES, Some((5, 30)))
    };
    let fake = FakeProvider::start(vec![reply]);
    let mut all_env = openai_env(&fake);
    all_env.push(("NO_COLOR", String::new()));
    for (name, value) in env {
        all_env.push((name, value.to_string()));
    }
    let mut command = vec!["chat", "hello"];
    command.extend_from_slice(args);
    let mut terminal = Terminal::start(&home, &all_env, &command);
    terminal.wait_success();
    terminal.wait_for("the end", 1);
    let records = &home.conversations()[0];
    let reply = records
        .iter()
        .find(|r| r["role"] == "assistant")
        .expect("reply");
    assert_eq!(
        reply["content"],
        MARKDOWN_PIECES.concat(),
        "the record is the exact text"
    );
    terminal.screen()
}

#[test]
fn at_a_terminal_the_reply_s_markdown_is_rendered_and_its_code_highlighted() {
    let streamed = markdown_screen(&[], &[], None);
    let whole = markdown_screen(&[], &["--no-stream"], None);
    for screen in [streamed, whole] {
        assert_rendered(&screen);
    }
    let true_colour = markdown_screen(&[("COLORTERM", "truecolor")], &[], None);
    assert!(true_colour.contains("\x1b[38;2;"), "{true_colour:?}");
}

fn assert_rendered(screen: &str) {
    assert!(
        screen.contains("\x1b[0;1;4;35mHeading\x1b[0m"),
        "{screen:?}"
    );
    assert!(
        screen.contains("Some \x1b[0;1mbold\x1b[0m text"),
        "{screen:?}"
    );
    assert!(screen.contains("\x1b[0;36mcode\x1b[0m"), "{screen:?}");
    assert!(!screen.contains("**"), "{screen:?}");
    assert!(screen.contains("\x1b[0;2m```rust\x1b[0m"), "{screen:?}");
    let code_line = screen
        .lines()
        .find(|line| line.contains("answer"))
        .expect("the code line");
    assert!(
        code_line.contains("\x1b[38;5;"),
        "highlighted: {code_line:?}"
    );
    assert!(code_line.contains("42"), "{code_line:?}");
    assert!(
        screen.contains("\x1b[0;2m│\x1b[0m \x1b[0;2mthe end"),
        "{screen:?}"
    );
    assert!(
        screen.contains("\x1b[0;1mname\x1b[0m"),
        "a bold table header: {screen:?}"
    );
}

#[test]
fn raw_render_false_and_no_color_show_the_reply_as_written() {
    for (env, args, config) in [
        (&[][..], &["--raw"][..], None),
        (&[][..], &[][..], Some("render = false\n")),
        (&[("NO_COLOR", "1")][..], &["--render"][..], None),
    ] {
        let screen = markdown_screen(env, args, config);
        assert!(
            screen.contains("Some **bold** text and `code`."),
            "{args:?} {config:?}: {screen:?}"
        );
        assert!(screen.contains("# Heading"), "{screen:?}");
        assert!(screen.contains("```rust"), "{screen:?}");
        assert!(!screen.contains("\x1b[0;1m"), "{screen:?}");
    }
}

#[test]
fn the_interactive_session_renders_each_reply() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["first **one**\n"], Some((5, 2))),
        Reply::openai_stream("gpt-4o-mini", &["```sh\necho hi\n```"], Some((5, 2))),
    ]);
    let mut env = openai_env(&fake);
    env.push(("NO_COLOR", String::new()));
    let mut terminal = Terminal::start(&home, &env, &["chat"]);
    terminal.wait_for(PROMPT, 1);
    terminal.type_keys("one\r");
    terminal.wait_for("\x1b[0;1mone\x1b[0m", 1);
    terminal.wait_for(PROMPT, 2);
    terminal.type_keys("two\r");
    terminal.wait_for("echo", 1);
    terminal.wait_for(PROMPT, 3);
    terminal.type_keys("\x04");
    terminal.wait_success();
    let screen = terminal.screen();
    let echo = screen
        .lines()
        .find(|l| l.contains("echo"))
        .expect("the code line");
    assert!(echo.contains("\x1b[38;5;"), "{echo:?}");
}

/// `/copy` at a terminal puts the last reply on the clipboard with OSC 52:
/// the sequence carries the reply's exact text in base64.
#[test]
fn copy_sends_the_last_reply_to_the_clipboard_through_the_terminal() {
    use base64::Engine as _;
    let home = TempHome::new();
    let reply = "copy **me**, exactly";
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &[reply],
        Some((5, 2)),
    )]);
    let mut terminal = Terminal::start(&home, &openai_env(&fake), &["chat"]);
    terminal.wait_for(PROMPT, 1);
    terminal.type_keys("hi\r");
    terminal.wait_for(PROMPT, 2);
    terminal.type_keys("/copy\r");
    terminal.wait_for("copied the last reply", 1);
    terminal.wait_for(PROMPT, 3);
    terminal.type_keys("\x04");
    terminal.wait_success();
    let sequence = format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(reply)
    );
    assert!(
        terminal.screen().contains(&sequence),
        "{:?}",
        terminal.screen()
    );
}
