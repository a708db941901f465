//! Transport honesty (#11): redirects are errors that name the Location
//! and never carry the key elsewhere; a 2xx body that is neither an event
//! stream nor JSON is a clear error, not retried; a streamed request
//! answered with JSON is read as the reply or the error it is; gzip is
//! decoded and unknown encodings refused.

mod support;

use std::io::Write as _;

use predicates::prelude::*;
use support::fake_provider::{FakeProvider, Reply};
use support::{stderr_of, TempHome};

#[test]
fn a_redirect_is_an_error_naming_the_location_and_is_never_followed() {
    let home = TempHome::new();
    let elsewhere = FakeProvider::start(vec![Reply::openai_stream("m", &["stolen"], None)]);
    let location = format!("{}/v1/chat/completions", elsewhere.base_url());
    let fake = FakeProvider::start(vec![Reply::raw(
        307,
        &[("location", &location), ("content-length", "0")],
        &[],
    )]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .output()
        .expect("confab runs");
    assert_eq!(output.status.code(), Some(4), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("307") && stderr.contains(&location),
        "{stderr}"
    );
    assert_eq!(fake.requests().len(), 1, "not retried");
    assert!(elsewhere.requests().is_empty(), "the key went nowhere else");
    assert!(elsewhere.side_requests().is_empty());
    let usage = home.usage_records();
    assert_eq!(usage[0]["status"], 307, "logged as what it was");
    assert_eq!(usage[0]["outcome"], "error");
}

#[test]
fn an_html_page_with_200_is_a_clear_error_not_retried() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::raw(
            200,
            &[("content-type", "text/html; charset=utf-8")],
            &["<!doctype html><title>Welcome to nginx</title>"],
        ),
        Reply::openai_stream("m", &["should not be asked"], None),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .output()
        .expect("confab runs");
    assert_eq!(output.status.code(), Some(4));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("text/html") && stderr.contains("base_url"),
        "{stderr}"
    );
    assert!(!stderr.contains("stream ended"), "{stderr}");
    assert_eq!(fake.requests().len(), 1, "not retried");
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).expect("gzip");
    encoder.finish().expect("gzip")
}

#[test]
fn a_gzip_body_is_decoded_and_other_encodings_refused() {
    let home = TempHome::new();
    let stream = Reply::openai_stream("m", &["zipped ", "reply"], Some((3, 2)));
    let plain = String::from_utf8(stream.body()).expect("utf-8");
    let mut zipped = Reply::raw(
        200,
        &[
            ("content-type", "text/event-stream"),
            ("content-encoding", "gzip"),
        ],
        &[],
    );
    zipped.parts = vec![support::fake_provider::Part::new(gzip(&plain))];
    let fake = FakeProvider::start(vec![
        zipped,
        Reply::raw(
            200,
            &[
                ("content-type", "text/event-stream"),
                ("content-encoding", "br"),
            ],
            &["\u{1b}\u{2}\u{3}"],
        ),
    ]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .assert()
        .success()
        .stdout("zipped reply\n");
    assert_eq!(
        fake.requests()[0].header("accept-encoding"),
        Some("identity"),
        "a stream is asked for uncompressed"
    );
    home.confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("`br`-encoded"));
    assert_eq!(
        fake.requests().len(),
        2,
        "the refused encoding is not retried"
    );
}

#[test]
fn a_streamed_request_answered_with_json_is_read_as_the_reply_or_the_error() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_json("m", "whole reply", Some((4, 2))),
        Reply::raw(
            200,
            &[("content-type", "application/json")],
            &[r#"{"error":{"message":"model is loading","type":"server_error","code":null}}"#],
        ),
    ]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .assert()
        .success()
        .stdout("whole reply\n");
    assert_eq!(home.usage_records()[0]["input_tokens"], 4);
    home.confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("model is loading"));
    assert_eq!(fake.requests().len(), 2, "the error is not retried");
}

#[test]
fn anthropic_base_url_is_the_host_root_and_a_trailing_v1_is_not_doubled() {
    for suffix in ["", "/", "/v1", "/v1/"] {
        let home = TempHome::new();
        let fake = FakeProvider::start(vec![Reply::anthropic_stream(
            "claude-sonnet-4-5",
            &["hi"],
            (3, 1),
        )]);
        home.confab()
            .env("ANTHROPIC_API_KEY", "test-anthropic-key")
            .env("ANTHROPIC_BASE_URL", format!("{}{suffix}", fake.base_url()))
            .args(["chat", "-m", "anthropic:claude-sonnet-4-5", "hello"])
            .assert()
            .success()
            .stdout("hi\n");
        let requests = fake.requests();
        assert_eq!(requests[0].path, "/v1/messages", "suffix {suffix:?}");
        assert_eq!(requests[0].header("x-api-key"), Some("test-anthropic-key"));
        assert_eq!(requests[0].header("anthropic-version"), Some("2023-06-01"));
    }
}

#[test]
fn an_empty_event_stream_the_server_ended_on_purpose_is_not_retried() {
    let home = TempHome::new();
    // Framed (a length, as a chunked end would be): the server's answer.
    let fake = FakeProvider::start(vec![
        Reply::raw(
            200,
            &[
                ("content-type", "text/event-stream"),
                ("content-length", "0"),
            ],
            &[],
        ),
        Reply::openai_stream("m", &["not asked"], None),
    ]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("without sending a single event"));
    assert_eq!(fake.requests().len(), 1, "not retried");

    // Cut off (close-delimited, nothing sent): a dropped connection, retried.
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("m", &["lost"], None).drop_after_parts(0),
        Reply::openai_stream("m", &["again"], None),
    ]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .assert()
        .success()
        .stdout("again\n");
    assert_eq!(fake.requests().len(), 2);
}

/// A stream that never ends within reason: one endless line, or events
/// that go on far past the output cap.
fn endless(before: &[&str]) -> Reply {
    let line = "x".repeat(3 << 20);
    let mut parts: Vec<&str> = before.to_vec();
    parts.push(&line);
    Reply::raw(200, &[("content-type", "text/event-stream")], &parts)
}

/// `confab chat --max-tokens 16 hi` against `fake`.
fn chat_capped_at_16(home: &TempHome, fake: &FakeProvider) -> std::process::Output {
    home.confab_openai(&fake.base_url())
        .args(["chat", "--max-tokens", "16", "hi"])
        .output()
        .expect("confab runs")
}

#[test]
fn an_endless_stream_is_cut_off_at_a_bound_and_not_retried() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        endless(&[]),
        Reply::openai_stream("m", &["should not be asked"], None),
    ]);
    let output = chat_capped_at_16(&home, &fake);
    assert_eq!(output.status.code(), Some(4));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("passed 1 MiB"), "{stderr}");
    assert_eq!(fake.requests().len(), 1, "not retried");
}

#[test]
fn an_endless_stream_after_text_keeps_the_text() {
    let home = TempHome::new();
    let first = "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"partial text\"},\"finish_reason\":null}]}\n\n";
    let fake = FakeProvider::start(vec![endless(&[first])]);
    let output = chat_capped_at_16(&home, &fake);
    assert_eq!(output.status.code(), Some(4));
    assert!(
        stderr_of(&output).contains("passed 1 MiB"),
        "{}",
        stderr_of(&output)
    );
    let records = &home.conversations()[0];
    let last = records.last().expect("records");
    assert_eq!(last["content"], "partial text");
    assert_eq!(last["interrupted"], true);
}

#[test]
fn a_trickling_stream_is_stopped_at_the_total_deadline_and_its_text_kept() {
    // Each chunk comes well within the read timeout, but the whole reply
    // would take 20 s: the call's deadline (1 s here) stops it.
    let home = TempHome::new();
    let pieces: Vec<String> = (0..100).map(|i| format!("w{i} ")).collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let fake = FakeProvider::start(vec![Reply::openai_stream("m", &pieces, None)
        .with_stall_between_parts(std::time::Duration::from_millis(200))]);
    home.write(
        "config.toml",
        format!(
            "[providers.openai]\nkind = \"openai\"\nbase_url = \"{}/v1\"\n\
             api_key_env = \"OPENAI_API_KEY\"\ntotal_timeout_secs = 1\n",
            fake.base_url()
        ),
    );
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-m", "gpt-4o-mini", "hi"])
        .output()
        .expect("confab runs");
    assert_eq!(output.status.code(), Some(4), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("total_timeout_secs"),
        "{}",
        stderr_of(&output)
    );
    let records = &home.conversations()[0];
    let last = records.last().expect("records");
    assert!(
        last["content"]
            .as_str()
            .is_some_and(|t| t.starts_with("w0 ")),
        "{last}"
    );
    assert_eq!(last["interrupted"], true);
    assert_eq!(fake.requests().len(), 1, "not retried");
    let usage = home.usage_records();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0]["outcome"], "interrupted");
}
