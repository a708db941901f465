//! `confab count-tokens` through the real binary: what a user or a script
//! sees on stdout and stderr, and the exit codes.

mod support;

use predicates::prelude::*;
use support::TempHome;

fn reference_count(text: &str) -> usize {
    tiktoken_rs::o200k_base()
        .expect("reference")
        .encode_ordinary(text)
        .len()
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn stdin_prints_a_bare_integer() {
    let home = TempHome::new();
    let text = "fn main() {\n    println!(\"hello, world\");\n}\n";
    home.confab()
        .arg("count-tokens")
        .write_stdin(text)
        .assert()
        .success()
        .stdout(format!("{}\n", reference_count(text)))
        .stderr("");
}

#[test]
fn text_and_dash_and_encodings() {
    let home = TempHome::new();
    home.confab()
        .args(["count-tokens", "--text", "hello world", "-e", "cl100k_base"])
        .assert()
        .success()
        .stdout("2\n");
    // `-` reads stdin next to other inputs; the total is printed.
    home.write("a.txt", "one two three");
    home.confab()
        .args(["count-tokens", "-", "a.txt"])
        .write_stdin("four five")
        .assert()
        .success()
        .stdout(format!(
            "{}\n",
            reference_count("one two three") + reference_count("four five")
        ));
}

#[test]
fn directories_honour_ignore_files_hidden_and_globs() {
    let home = TempHome::new();
    home.write("docs/.gitignore", "secret.md\n");
    home.write("docs/a.md", "alpha beta gamma");
    home.write("docs/sub/b.rs", "fn b() {}");
    home.write("docs/secret.md", "should not be counted at all");
    home.write("docs/.hidden/c.md", "hidden words here");
    let per_file = |extra: &[&str]| {
        let output = home
            .confab()
            .args(["count-tokens", "--json", "docs"])
            .args(extra)
            .output()
            .expect("running confab");
        assert!(output.status.success());
        let json: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("JSON on stdout");
        let mut paths: Vec<String> = json["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f["path"].as_str().unwrap_or_default().replace('\\', "/"))
            .collect();
        paths.sort();
        (paths, json)
    };
    let (paths, json) = per_file(&[]);
    assert_eq!(paths, ["docs/a.md", "docs/sub/b.rs"]);
    assert_eq!(
        json["total_tokens"].as_u64(),
        Some((reference_count("alpha beta gamma") + reference_count("fn b() {}")) as u64)
    );
    assert_eq!(json["encoding"], "o200k_base");
    assert_eq!(json["estimate"], false);
    let (paths, _) = per_file(&["--hidden", "--no-ignore"]);
    assert_eq!(
        paths,
        [
            "docs/.gitignore",
            "docs/.hidden/c.md",
            "docs/a.md",
            "docs/secret.md",
            "docs/sub/b.rs"
        ]
    );
    let (paths, _) = per_file(&["--glob", "*.rs"]);
    assert_eq!(paths, ["docs/sub/b.rs"]);
}

#[test]
fn per_file_table_is_sorted_with_a_total() {
    let home = TempHome::new();
    home.write("small.txt", "tiny");
    home.write("big.txt", "many more words in this one file than the other");
    let output = home
        .confab()
        .args(["count-tokens", "--per-file", "small.txt", "big.txt"])
        .output()
        .expect("running confab");
    assert!(output.status.success());
    let stdout = stdout_of(&output);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].contains("tokens") && lines[0].contains("path"));
    assert!(lines[1].ends_with("big.txt"), "largest first: {stdout}");
    assert!(lines[2].ends_with("small.txt"));
    let big = reference_count("many more words in this one file than the other");
    let total = big + reference_count("tiny");
    assert!(lines[3].trim_start().starts_with(&total.to_string()));
    assert!(lines[3].ends_with("total"));
}

#[test]
fn binary_files_are_skipped_and_invalid_utf8_is_counted_lossily() {
    let home = TempHome::new();
    home.write("data/blob.bin", b"\x7fELF\x00\x01\x02\x00binary");
    home.write("data/latin1.txt", b"caf\xe9 au lait");
    let output = home
        .confab()
        .args(["count-tokens", "--json", "data"])
        .output()
        .expect("running confab");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("skipping binary file") && stderr.contains("blob.bin"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not valid UTF-8") && stderr.contains("latin1.txt"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        json["total_tokens"].as_u64(),
        Some(reference_count("caf\u{fffd} au lait") as u64)
    );
    assert_eq!(json["skipped"][0]["reason"], "binary file");
}

#[test]
fn lines_counts_each_line() {
    let home = TempHome::new();
    let lines = [
        "hello world",
        "",
        "a much longer line of text, with punctuation!",
        "😀",
    ];
    let input = lines.join("\n") + "\r\n";
    let expected: String = lines
        .iter()
        .map(|l| format!("{}\n", reference_count(l)))
        .collect();
    home.confab()
        .args(["count-tokens", "--lines"])
        .write_stdin(input)
        .assert()
        .success()
        .stdout(expected);
}

#[test]
fn limit_exits_3_when_over() {
    let home = TempHome::new();
    let text = "one two three four five";
    let count = reference_count(text);
    home.confab()
        .args([
            "count-tokens",
            "--limit",
            &count.to_string(),
            "--text",
            text,
        ])
        .assert()
        .success();
    home.confab()
        .args([
            "count-tokens",
            "--limit",
            &(count - 1).to_string(),
            "--text",
            text,
        ])
        .assert()
        .code(3)
        .stdout(format!("{count}\n"))
        .stderr(predicate::str::contains("over the limit").and(predicate::str::contains("hint:")));
}

#[test]
fn models_map_to_encodings_and_estimates_say_so() {
    let home = TempHome::new();
    let text = "The quick brown fox jumps over the lazy dog. 東京";
    let cl100k = tiktoken_rs::cl100k_base()
        .expect("reference")
        .encode_ordinary(text)
        .len();
    home.confab()
        .args(["count-tokens", "-m", "gpt-4", "--text", text])
        .assert()
        .success()
        .stdout(format!("{cl100k}\n"))
        .stderr("");
    home.confab()
        .args(["count-tokens", "-m", "gpt-4o-mini", "--text", text])
        .assert()
        .success()
        .stdout(format!("{}\n", reference_count(text)));
    let output = home
        .confab()
        .args([
            "count-tokens",
            "--json",
            "-m",
            "claude-sonnet-4-5",
            "--text",
            text,
        ])
        .output()
        .expect("running confab");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("estimate"));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["estimate"], true);
    assert_eq!(json["model"], "claude-sonnet-4-5");
}

#[test]
fn unknown_model_is_a_usage_error_with_hints() {
    let home = TempHome::new();
    home.confab()
        .args(["count-tokens", "-m", "my-model", "--text", "x"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("unknown model `my-model`")
                .and(predicate::str::contains("gpt-4o"))
                .and(predicate::str::contains("hint: pass --encoding")),
        );
}

#[test]
fn messages_count_the_billed_prompt() {
    let home = TempHome::new();
    let messages = r#"[
  {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
  {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
  {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
  {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
  {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
  {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}
]"#;
    home.write("chat.json", messages);
    home.confab()
        .args(["count-tokens", "--messages", "chat.json", "-m", "gpt-4"])
        .assert()
        .success()
        .stdout("129\n");
    home.confab()
        .args(["count-tokens", "--messages", "-", "-m", "gpt-4o"])
        .write_stdin(messages)
        .assert()
        .success()
        .stdout("124\n");
    home.write("bad.json", "{\"role\": \"user\"}");
    home.confab()
        .args(["count-tokens", "--messages", "bad.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not a JSON array of chat messages",
        ));
}

#[test]
fn missing_path_is_a_clear_error() {
    let home = TempHome::new();
    home.confab()
        .args(["count-tokens", "no/such/file.md"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::starts_with("confab: cannot read no/such/file.md")
                .and(predicate::str::contains("hint:")),
        );
}

#[test]
fn huge_inputs_do_not_crash() {
    let home = TempHome::new();
    let spaces = " ".repeat(1 << 20);
    let output = home
        .confab()
        .args(["count-tokens"])
        .write_stdin(spaces.clone())
        .output()
        .expect("running confab");
    assert!(output.status.success());
    let count: usize = stdout_of(&output).trim().parse().expect("a count");
    assert_eq!(count, confab::tokens::Encoding::O200kBase.count(&spaces));
    assert!(count > 0 && count < spaces.len());
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let home = TempHome::new();
    let input = "a line of text\n".repeat(200_000);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("confab"))
        .args(["count-tokens", "--lines"])
        .env("CONFAB_HOME", home.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawning confab");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut first = [0u8; 2];
    use std::io::Read;
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("first line");
    // stdout is dropped here: the pipe is closed.
    let output = child.wait_with_output().expect("waiting for confab");
    let _ = writer.join();
    assert_eq!(&first, b"4\n");
    assert!(output.status.success(), "{:?}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}
