//! RAG indexes in the team store (issue #18, part 2) against a real
//! Postgres 16 with pgvector (the pgserver wheel's binaries, started by
//! `support::postgres`): an index built on one machine and queried from
//! another, ranking the same as a local index, incremental and concurrent
//! runs, a failed run changing nothing, and bad URLs and passwords.

mod support;

use serde_json::Value;
use support::fake_provider::FakeProvider;
use support::postgres::PgServer;
use support::{stderr_of, success_json, TempHome};

/// confab in `home`, its store `server` (password from the environment).
fn confab_with_store(home: &TempHome, server: &PgServer) -> assert_cmd::Command {
    let mut cmd = home.confab();
    cmd.envs(server.store_env());
    cmd
}

fn write_docs(home: &TempHome) {
    home.write(
        "docs/backups.md",
        "# Backups\n\nRun `hq backup --to /srv/backups` every night.\n\n## Restore\n\nTo recover after a disk failure, stop the server and run `hq restore` with the latest snapshot.\n",
    );
    home.write(
        "docs/auth.md",
        "# Authentication\n\nEvery client needs an API token. Create one with `hq token create`.\n\nTokens expire after 90 days; rotate them before they lapse.\n",
    );
    home.write(
        "docs/tuning.rst",
        "Performance tuning\n==================\n\nRaise `storage.segment_bytes` for large messages.\n\nBatching\n--------\n\nSet --max-inflight to 256 to batch more messages per connection.\n",
    );
}

fn run_json(cmd: &mut assert_cmd::Command) -> Value {
    success_json(&cmd.output().expect("running confab"))
}

/// The paths of `rag query QUESTION --json` hits, in order.
fn hit_paths(hits: &Value) -> Vec<String> {
    hits.as_array()
        .expect("hits")
        .iter()
        .map(|h| h["path"].as_str().expect("a path").to_string())
        .collect()
}

#[test]
fn an_index_built_on_one_machine_is_queried_listed_and_removed_from_another() {
    let server = PgServer::start();
    let (a, b) = (TempHome::new(), TempHome::new());
    write_docs(&a);
    let summary = run_json(confab_with_store(&a, &server).args(["rag", "index", "docs", "--json"]));
    assert_eq!(summary["files_indexed"], 3);
    assert!(
        summary["location"]
            .as_str()
            .is_some_and(|l| l.starts_with("127.0.0.1:")),
        "{summary}"
    );
    // Nothing was written on the machine's own disk.
    assert!(!a.path().join("data/rag/default").exists());

    for (question, expected) in [
        (
            "how do I recover my data after the disk died?",
            "docs/backups.md",
        ),
        ("when do API tokens expire", "docs/auth.md"),
        ("storage.segment_bytes", "docs/tuning.rst"),
    ] {
        let hits = run_json(
            confab_with_store(&b, &server).args(["rag", "query", question, "--json", "-k", "2"]),
        );
        assert_eq!(hits[0]["path"], expected, "{question}: {hits}");
        assert!(hits[0]["text"].as_str().is_some_and(|t| !t.is_empty()));
    }
    let listed = run_json(confab_with_store(&b, &server).args(["rag", "list", "--json"]));
    assert_eq!(listed[0]["name"], "default");
    assert_eq!(listed[0]["files"], 3);
    assert!(listed[0]["chunks"].as_i64().is_some_and(|c| c >= 3));
    assert!(listed[0]["bytes"].as_u64().is_some_and(|b| b > 0));
    // --local looks at the machine's own indexes: none.
    let local = run_json(b.confab().args(["rag", "list", "--json", "--local"]));
    assert_eq!(local, serde_json::json!([]));

    support::assert_success(
        &confab_with_store(&b, &server)
            .args(["rag", "rm", "default"])
            .output()
            .expect("running confab"),
    );
    let gone = confab_with_store(&a, &server)
        .args(["rag", "query", "tokens"])
        .output()
        .expect("running confab");
    assert_eq!(gone.status.code(), Some(2), "{}", stderr_of(&gone));
    assert!(stderr_of(&gone).contains("no index named `default`"));
    assert_eq!(
        server.psql("SELECT count(*) FROM confab_rag_chunk").trim(),
        "0",
        "rm deletes the chunks"
    );
}

#[test]
fn the_store_ranks_as_a_local_index_does() {
    let server = PgServer::start();
    let home = TempHome::new();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rag");
    for extra in [&["--local"][..], &[]] {
        support::assert_success(
            &confab_with_store(&home, &server)
                .current_dir(&data)
                .args(["rag", "index", "docs"])
                .args(extra)
                .output()
                .expect("running confab"),
        );
    }
    let eval = |extra: &[&str]| {
        run_json(
            confab_with_store(&home, &server)
                .current_dir(&data)
                .args(["rag", "eval", "qrels.jsonl", "--json"])
                .args(extra),
        )
    };
    let (local, shared) = (eval(&["--local"]), eval(&[]));
    eprintln!("local {local:#}\nshared {shared:#}");
    // BM25 is FTS5's formula in SQL, on the same words: the same metrics.
    assert_eq!(local["bm25"], shared["bm25"]);
    // Vectors are int8 locally and f32 in the store, searched exactly
    // here and through HNSW there: the same quality, to a few ties.
    for mode in ["vector", "hybrid"] {
        let ndcg = |m: &Value| m[mode]["ndcg_at_10"].as_f64().expect("a number");
        assert!(
            (ndcg(&local) - ndcg(&shared)).abs() < 0.02,
            "{mode}: {local} {shared}"
        );
    }

    // And BM25's scores agree query by query, not only the metrics.
    let qrels = std::fs::read_to_string(data.join("qrels.jsonl")).expect("qrels");
    for line in qrels.lines().take(10) {
        let query = serde_json::from_str::<Value>(line).expect("a qrel")["query"]
            .as_str()
            .expect("a query")
            .to_string();
        let hits = |extra: &[&str]| {
            run_json(
                confab_with_store(&home, &server)
                    .args([
                        "rag", "query", &query, "--mode", "bm25", "--json", "-k", "5",
                    ])
                    .args(extra),
            )
        };
        let (l, s) = (hits(&["--local"]), hits(&[]));
        assert_eq!(hit_paths(&l), hit_paths(&s), "{query}");
        for (x, y) in l.as_array().unwrap().iter().zip(s.as_array().unwrap()) {
            let (x, y) = (x["score"].as_f64().unwrap(), y["score"].as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-6 * x.abs().max(1.0),
                "{query}: {x} vs {y}"
            );
        }
    }
}

/// Checks the store's bookkeeping against its rows: each word's document
/// frequency and the index's totals, recomputed from the chunks.
fn assert_counts_consistent(server: &PgServer) {
    let wrong_terms = server.psql(
        "SELECT count(*) FROM (
            SELECT c.index_id, u.lexeme AS term, count(*) AS n
            FROM confab_rag_chunk c CROSS JOIN LATERAL unnest(c.terms) AS u
            GROUP BY c.index_id, u.lexeme) r
         FULL JOIN confab_rag_term t ON t.index_id = r.index_id AND t.term = r.term
         WHERE r.n IS DISTINCT FROM t.chunks",
    );
    assert_eq!(wrong_terms.trim(), "0", "document frequencies");
    let wrong_totals = server.psql(
        "SELECT count(*) FROM confab_rag_index i WHERE i.chunks <> (SELECT count(*) FROM confab_rag_chunk c WHERE c.index_id = i.id)
            OR i.words <> (SELECT coalesce(sum(words), 0) FROM confab_rag_chunk c WHERE c.index_id = i.id)",
    );
    assert_eq!(wrong_totals.trim(), "0", "index totals");
}

#[test]
fn reindexing_is_incremental_and_a_second_machine_keeps_the_first_ones_files() {
    let server = PgServer::start();
    let (a, b) = (TempHome::new(), TempHome::new());
    write_docs(&a);
    let index = |home: &TempHome, dir: &str| {
        run_json(confab_with_store(home, &server).args(["rag", "index", dir, "--json"]))
    };
    index(&a, "docs");
    a.write(
        "docs/auth.md",
        "# Authentication\n\nTokens are now issued by the zanzibar service.\n",
    );
    std::fs::remove_file(a.path().join("docs/tuning.rst")).expect("rm");
    let again = index(&a, "docs");
    assert_eq!(
        (
            again["files_indexed"].as_u64(),
            again["files_unchanged"].as_u64(),
            again["files_removed"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{again}"
    );
    assert_counts_consistent(&server);

    // Machine B adds its own directory to the same index: A's files stay,
    // though they do not exist on B.
    b.write(
        "handbook/oncall.md",
        "# On call\n\nPage the zanzibar owner.\n",
    );
    let added = index(&b, "handbook");
    assert_eq!(added["files_removed"], 0, "{added}");
    let hits = run_json(confab_with_store(&b, &server).args([
        "rag", "query", "zanzibar", "--mode", "bm25", "--json", "-k", "5",
    ]));
    let mut paths = hit_paths(&hits);
    paths.sort();
    assert_eq!(paths, ["docs/auth.md", "handbook/oncall.md"], "{hits}");
    let stale = run_json(confab_with_store(&b, &server).args([
        "rag",
        "query",
        "segment_bytes",
        "--mode",
        "bm25",
        "--json",
    ]));
    assert_eq!(stale, serde_json::json!([]), "the removed file is gone");
    assert_counts_consistent(&server);
}

#[test]
fn concurrent_runs_on_one_index_take_turns_and_a_failed_run_changes_nothing() {
    let server = PgServer::start();
    let homes: Vec<TempHome> = (0..3).map(|_| TempHome::new()).collect();
    for (n, home) in homes.iter().enumerate() {
        for f in 0..20 {
            home.write(
                &format!("m{n}/{f}.md"),
                format!("# Note {f}\n\nmachine{n} wrote note{f} about kiwi{f}.\n"),
            );
        }
    }
    let children: Vec<_> = homes
        .iter()
        .enumerate()
        .map(|(n, home)| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("confab"))
                .env("CONFAB_HOME", home.path())
                .env("HOME", home.path())
                .envs(server.store_env())
                .current_dir(home.path())
                .args(["rag", "index", &format!("m{n}"), "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("confab starts")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("confab ends");
        assert_eq!(success_json(&output)["files_indexed"], 20);
    }
    assert_eq!(
        server.psql("SELECT count(*) FROM confab_rag_file").trim(),
        "60"
    );
    assert_counts_consistent(&server);

    // A run whose embedder fails after the first batch is rolled back.
    let home = &homes[0];
    for f in 0..70 {
        home.write(&format!("big/{f}.md"), format!("# B{f}\n\nbanana{f}\n"));
    }
    let fake = FakeProvider::start_with_responder(|request| {
        let n = request.json()["input"].as_array().map_or(0, Vec::len);
        if n < 64 {
            return support::fake_provider::Reply::openai_error(
                400,
                "invalid_request_error",
                "input too long",
            );
        }
        let data: Vec<Value> = (0..n)
            .map(|i| serde_json::json!({"object": "embedding", "index": i, "embedding": [1.0, i as f32, 0.5]}))
            .collect();
        let body = serde_json::json!({"object": "list", "data": data,
            "model": "text-embedding-3-small", "usage": {"prompt_tokens": n, "total_tokens": n}});
        support::fake_provider::Reply::raw(
            200,
            &[("content-type", "application/json")],
            &[&body.to_string()],
        )
    });
    let before = server.psql("SELECT count(*) FROM confab_rag_chunk");
    let mut failing: assert_cmd::Command = confab_with_store(home, &server);
    let output = failing
        .env("OPENAI_API_KEY", "test-openai-key")
        .env("OPENAI_BASE_URL", format!("{}/v1", fake.base_url()))
        .args(["rag", "index", "big", "--name", "api"])
        .args(["--embedder", "openai:text-embedding-3-small"])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(4), "{}", stderr_of(&output));
    assert_eq!(fake.requests().len(), 2, "the first batch was embedded");
    assert_eq!(server.psql("SELECT count(*) FROM confab_rag_chunk"), before);
    assert_counts_consistent(&server);
}

#[test]
fn bad_urls_and_wrong_passwords_get_clear_errors() {
    let server = PgServer::start();
    let home = TempHome::new();
    write_docs(&home);
    let run = |args: &[&str], password: &str| {
        home.confab()
            .env("CONFAB_DATABASE_PASSWORD", password)
            .args(["rag", "index", "docs"])
            .args(args)
            .output()
            .expect("running confab")
    };
    let url = format!("{}?sslmode=disable", server.url());
    let wrong = run(&["--store", &url], "not-the-password");
    assert_eq!(wrong.status.code(), Some(4), "{}", stderr_of(&wrong));
    assert!(
        stderr_of(&wrong).contains("password"),
        "{}",
        stderr_of(&wrong)
    );

    let not_postgres = run(&["--store", "mysql://confab@127.0.0.1/x"], "pw");
    assert_eq!(not_postgres.status.code(), Some(2));
    assert!(stderr_of(&not_postgres).contains("not a Postgres URL"));

    let secret = "hunter2-in-the-url";
    let with_password = run(
        &[
            "--store",
            &format!(
                "postgres://confab:{secret}@127.0.0.1:{}/confab",
                server.port()
            ),
        ],
        server.password(),
    );
    assert_eq!(with_password.status.code(), Some(2));
    assert!(stderr_of(&with_password).contains("process list"));
    assert!(!stderr_of(&with_password).contains(secret));

    // The right password through --store works, and nothing went local.
    support::assert_success(&run(&["--store", &url], server.password()));
    assert!(!home.path().join("data/rag/default").exists());
}
