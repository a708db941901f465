//! The team store (issue #18, part 1) against a real Postgres 16 with
//! pgvector (the pgserver wheel's binaries, started by
//! `support::postgres`): machines writing one ledger, a third reporting,
//! the database down and back, double and concurrent pushes, a migration
//! race, and bad URLs and passwords.

mod support;

use serde_json::Value;
use support::fake_provider::{FakeProvider, Reply};
use support::postgres::PgServer;
use support::{stderr_of, success_json, TempHome};

/// confab in `home`, its store `server` (password from the environment).
fn confab_with_store(home: &TempHome, server: &PgServer) -> assert_cmd::Command {
    let mut cmd = home.confab();
    cmd.envs(server.store_env());
    cmd
}

/// A usage log of `n` calls made on machine `machine`, one a day from
/// 2026-11-01, gpt-4o-mini, 1000 tokens in and 100 out each.
fn write_log(home: &TempHome, machine: &str, n: usize) {
    let mut text = String::new();
    for i in 0..n {
        let record = serde_json::json!({
            "v": 1, "ts": format!("2026-11-{:02}T10:00:00Z", 1 + i % 28),
            "call_id": format!("{machine}-{i}"), "conversation_id": format!("{machine}-c"),
            "command": "chat", "provider": "openai", "host": "api.openai.com",
            "model_requested": "gpt-4o-mini", "model_reported": null,
            "input_tokens": 1000, "cached_input_tokens": 0, "cache_write_tokens": 0,
            "output_tokens": 100, "reasoning_tokens": 0, "usage_source": "api",
            "latency_ms": 100 + i, "ttft_ms": 50, "retries": 0, "status": 200,
            "error_kind": null, "outcome": "ok", "tags": [machine],
        });
        text.push_str(&record.to_string());
        text.push('\n');
    }
    home.write("data/usage.jsonl", text);
}

fn rows_in_store(server: &PgServer) -> u64 {
    server
        .psql("SELECT count(*) FROM confab_usage")
        .trim()
        .parse()
        .expect("a count")
}

fn push(home: &TempHome, server: &PgServer) -> Value {
    success_json(
        &confab_with_store(home, server)
            .args(["usage", "push", "--json"])
            .output()
            .expect("running confab"),
    )
}

#[test]
fn two_machines_write_one_ledger_and_a_third_reports_it_as_a_local_report_would() {
    let server = PgServer::start();
    let (a, b, reporter) = (TempHome::new(), TempHome::new(), TempHome::new());
    write_log(&a, "a", 30);
    write_log(&b, "b", 20);
    assert_eq!(push(&a, &server)["added"], 30);
    assert_eq!(push(&b, &server)["added"], 20);
    // A second push of either adds nothing.
    let again = push(&a, &server);
    assert_eq!(
        (again["added"].as_u64(), again["present"].as_u64()),
        (Some(0), Some(30))
    );
    assert_eq!(rows_in_store(&server), 50);

    let report = |extra: &[&str], store: bool| {
        let mut cmd = if store {
            confab_with_store(&reporter, &server)
        } else {
            reporter.confab()
        };
        cmd.args(["cost-report", "--json", "--group-by", "tag,day"])
            .args(extra);
        success_json(&cmd.output().expect("running confab"))
    };
    let shared = report(&[], true);
    // gpt-4o-mini at $0.15 / $0.60 per million: 50 calls of 1000 + 100 tokens.
    let cost = shared["total"]["cost_usd"].as_f64().expect("cost");
    assert!(
        (cost - 50.0 * (1000.0 * 0.15 + 100.0 * 0.60) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert_eq!(shared["total"]["calls"], 50);
    let local = report(
        &[
            "--log",
            &a.path().join("data/usage.jsonl").display().to_string(),
            "--log",
            &b.path().join("data/usage.jsonl").display().to_string(),
        ],
        false,
    );
    assert_eq!(shared, local, "the store reports what the logs hold");

    // --budget fails the same way over the store, and --local reads only
    // the reporter's own (empty) log.
    let over = confab_with_store(&reporter, &server)
        .args(["cost-report", "--budget", "0.001"])
        .output()
        .expect("running confab");
    assert_eq!(over.status.code(), Some(3), "{}", stderr_of(&over));
    let own = report(&["--local"], true);
    assert_eq!(own["total"]["calls"], 0);
}

#[test]
fn a_machine_that_lost_the_database_loses_nothing() {
    let mut server = PgServer::start();
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["one"], Some((10, 2))),
        Reply::openai_stream("gpt-4o-mini", &["two"], Some((10, 2))),
    ]);
    let chat = |server: &PgServer, message: &str| {
        let mut cmd = confab_with_store(&home, server);
        cmd.env("OPENAI_API_KEY", "test-openai-key")
            .env("OPENAI_BASE_URL", format!("{}/v1", fake.base_url()))
            .args(["chat", "-m", "gpt-4o-mini", message]);
        cmd.output().expect("running confab")
    };
    let first = chat(&server, "first");
    support::assert_success(&first);
    assert_eq!(rows_in_store(&server), 1, "pushed after the command");

    server.stop();
    let second = chat(&server, "second");
    support::assert_success(&second);
    let stderr = stderr_of(&second);
    assert_eq!(
        stderr.matches("warning:").count(),
        1,
        "one warning: {stderr}"
    );
    assert!(stderr.contains("usage push"), "{stderr}");
    assert_eq!(home.usage_records().len(), 2, "the local log has both");
    let down = confab_with_store(&home, &server)
        .args(["usage", "push"])
        .output()
        .expect("running confab");
    assert_eq!(down.status.code(), Some(4), "{}", stderr_of(&down));
    assert!(
        !stderr_of(&down).contains(server.password()),
        "no password in errors"
    );

    server.start_again();
    assert_eq!(push(&home, &server)["added"], 1, "only the missing record");
    assert_eq!(rows_in_store(&server), 2);
}

#[test]
fn concurrent_pushes_and_first_uses_race_safely() {
    let server = PgServer::start();
    let homes: Vec<TempHome> = (0..4).map(|_| TempHome::new()).collect();
    for (n, home) in homes.iter().enumerate() {
        // Every machine has the same 200 records, and 50 of its own.
        let mut text = String::new();
        write_log(home, "shared", 200);
        text.push_str(&std::fs::read_to_string(home.path().join("data/usage.jsonl")).expect("log"));
        write_log(home, &format!("own{n}"), 50);
        text.push_str(&std::fs::read_to_string(home.path().join("data/usage.jsonl")).expect("log"));
        home.write("data/usage.jsonl", text);
    }
    // All four start on an empty database at once: one migrates, the
    // others wait for it; every push succeeds.
    let children: Vec<_> = homes
        .iter()
        .map(|home| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("confab"))
                .args(["usage", "push", "--json"])
                .env_clear()
                .env("CONFAB_HOME", home.path())
                .env("HOME", home.path())
                .env(
                    "CONFAB_DATABASE_URL",
                    format!("{}?sslmode=disable", server.url()),
                )
                .env("CONFAB_DATABASE_PASSWORD", server.password())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawned")
        })
        .collect();
    let mut added = 0;
    for child in children {
        let output = child.wait_with_output().expect("waited");
        let report = success_json(&output);
        added += report["added"].as_u64().expect("added");
    }
    assert_eq!(added, 200 + 4 * 50, "each record added once, by someone");
    assert_eq!(rows_in_store(&server), 400);
    assert_eq!(
        server.psql("SELECT count(*) FROM confab_schema").trim(),
        "1"
    );
}

#[test]
fn bad_urls_and_wrong_passwords_get_clear_errors_and_their_exit_codes() {
    let server = PgServer::start();
    let home = TempHome::new();
    write_log(&home, "x", 3);
    let run = |url: &str, password: &str| {
        home.confab()
            .env("CONFAB_DATABASE_URL", url)
            .env("CONFAB_DATABASE_PASSWORD", password)
            .args(["usage", "push"])
            .output()
            .expect("running confab")
    };
    let wrong = run(
        &format!("{}?sslmode=disable", server.url()),
        "not-the-password",
    );
    assert_eq!(wrong.status.code(), Some(4));
    let stderr = stderr_of(&wrong);
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password"), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{}", server.port())),
        "{stderr}"
    );

    for (url, expected) in [
        ("mysql://x@127.0.0.1/db", "not a Postgres URL"),
        ("postgres://127.0.0.1/db", "names no user"),
        ("postgres://x@127.0.0.1/db?sslmode=maybe", "sslmode"),
    ] {
        let output = run(url, "pw");
        assert_eq!(output.status.code(), Some(2), "{url}");
        assert!(
            stderr_of(&output).contains(expected),
            "{url}: {}",
            stderr_of(&output)
        );
    }

    // A password written in config.toml is refused before any connection.
    home.write(
        "config.toml",
        "[store]\nurl = \"postgres://confab:hunter2@127.0.0.1:1/confab\"\n",
    );
    let in_file = home
        .confab()
        .args(["usage", "push"])
        .output()
        .expect("running confab");
    assert_eq!(in_file.status.code(), Some(2));
    assert!(stderr_of(&in_file).contains("must not"));
    assert!(!stderr_of(&in_file).contains("hunter2"));

    // No store at all: push says how to set one.
    home.write("config.toml", "");
    let none = home
        .confab()
        .args(["usage", "push"])
        .output()
        .expect("running confab");
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr_of(&none).contains("CONFAB_DATABASE_URL"));
}
