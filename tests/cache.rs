//! The response cache through `confab chat` against the fake provider:
//! exact and paraphrased repeats served without an API call, recorded as
//! cache hits with what they saved, shown by `cost-report`; misses,
//! uncacheable requests, `confab cache stats|clear`, and a corrupt cache
//! file rebuilt instead of failing.

mod support;

use predicates::prelude::*;
use support::fake_provider::{FakeProvider, Reply};
use support::{stderr_of, TempHome};

fn ask(
    home: &TempHome,
    fake: &FakeProvider,
    extra: &[&str],
    question: &str,
) -> std::process::Output {
    home.confab_openai(&fake.base_url())
        .arg("chat")
        .args(extra)
        .arg(question)
        .output()
        .expect("running confab")
}

const ANSWER: &str = "Use reversed(xs) or xs.reverse().";

#[test]
fn a_repeated_question_is_served_from_the_cache_and_the_savings_are_reported() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini-2024-07-18",
        &[ANSWER],
        Some((1_000_000, 200_000)),
    )]);
    let cached = ["--cache", "--temperature", "0"];
    let first = ask(&home, &fake, &cached, "How do I reverse a list in Python?");
    support::assert_success(&first);
    let second = ask(&home, &fake, &cached, "How do I reverse a list in Python?");
    support::assert_success(&second);
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        format!("{ANSWER}\n")
    );
    assert!(
        stderr_of(&second).contains("served from the response cache"),
        "{}",
        stderr_of(&second)
    );
    assert_eq!(fake.requests().len(), 1, "the repeat made no API call");

    let usage = home.usage_records();
    assert_eq!(usage.len(), 2);
    assert_eq!(usage[1]["outcome"], "cache_hit");
    assert_eq!(usage[1]["cache_match"], "exact");
    assert_eq!(usage[1]["input_tokens"], 1_000_000, "the tokens it saved");
    // Both conversations hold the answer.
    let conversations = home.conversations();
    assert_eq!(conversations.len(), 2);
    assert_eq!(conversations[1][2]["content"], ANSWER);

    // gpt-4o-mini: $0.15 per 1M input, $0.60 per 1M output tokens.
    let report = home
        .confab()
        .args(["cost-report", "--json"])
        .output()
        .expect("running confab");
    let report = support::success_json(&report);
    assert_eq!(report["total"]["calls"], 1, "a hit is not an API call");
    assert_eq!(report["total"]["cache_hits"], 1);
    let saved = report["total"]["saved_usd"].as_f64().unwrap();
    let spent = report["total"]["cost_usd"].as_f64().unwrap();
    assert!((saved - 0.27).abs() < 1e-9, "saved {saved}");
    assert!((spent - 0.27).abs() < 1e-9, "spent {spent}");
    home.confab()
        .args(["cost-report"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("cache hits").and(predicate::str::contains(
                "served 1 replies without an API call, saving $0.2700",
            )),
        );
}

#[test]
fn a_paraphrase_hits_and_a_different_question_misses() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["export NAME=value"], Some((30, 10))),
        Reply::openai_stream("gpt-4o-mini", &["unset NAME"], Some((30, 10))),
    ]);
    let cached = ["--cache", "--temperature", "0"];
    support::assert_success(&ask(
        &home,
        &fake,
        &cached,
        "How do I set an environment variable in bash?",
    ));
    let paraphrase = ask(
        &home,
        &fake,
        &cached,
        "In bash, how do I set an environment variable?",
    );
    support::assert_success(&paraphrase);
    assert_eq!(
        String::from_utf8_lossy(&paraphrase.stdout),
        "export NAME=value\n"
    );
    assert!(
        stderr_of(&paraphrase).contains("the same question in other words"),
        "{}",
        stderr_of(&paraphrase)
    );
    assert_eq!(fake.requests().len(), 1);

    let other = ask(
        &home,
        &fake,
        &cached,
        "How do I unset an environment variable in bash?",
    );
    support::assert_success(&other);
    assert_eq!(String::from_utf8_lossy(&other.stdout), "unset NAME\n");
    assert_eq!(
        fake.requests().len(),
        2,
        "a different question went to the model"
    );
    assert_eq!(home.usage_records()[1]["cache_match"], "same-question");
}

#[test]
fn sampled_requests_are_not_cached_unless_marked_cacheable() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["one"], Some((5, 1))),
        Reply::openai_stream("gpt-4o-mini", &["two"], Some((5, 1))),
        Reply::openai_stream("gpt-4o-mini", &["three"], Some((5, 1))),
    ]);
    let first = ask(&home, &fake, &["--cache"], "name a colour");
    assert!(
        stderr_of(&first).contains("not cached"),
        "{}",
        stderr_of(&first)
    );
    ask(&home, &fake, &["--cache"], "name a colour");
    assert_eq!(fake.requests().len(), 2);
    ask(
        &home,
        &fake,
        &["--cacheable"],
        "pick a number between one and ten please",
    );
    let hit = ask(
        &home,
        &fake,
        &["--cacheable"],
        "pick a number between one and ten please",
    );
    assert_eq!(String::from_utf8_lossy(&hit.stdout), "three\n");
    assert_eq!(fake.requests().len(), 3);
    // Without --cache nothing is looked up: the same request (same
    // temperature, same text) that is in the cache goes to the API.
    let fake2 = FakeProvider::start(vec![Reply::openai_stream("gpt-4o-mini", &["fresh"], None)]);
    let plain = ask(
        &home,
        &fake2,
        &[],
        "pick a number between one and ten please",
    );
    assert_eq!(String::from_utf8_lossy(&plain.stdout), "fresh\n");
    assert_eq!(fake2.requests().len(), 1);
    assert!(
        !stderr_of(&plain).contains("cache"),
        "{}",
        stderr_of(&plain)
    );
}

#[test]
fn stats_clear_and_a_corrupt_cache_file() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["a"], Some((5, 1))),
        Reply::openai_stream("gpt-4o-mini", &["b"], Some((5, 1))),
    ]);
    let cached = ["--cache", "--temperature", "0"];
    support::assert_success(&ask(&home, &fake, &cached, "what does HTTP 418 mean?"));
    let stats = home
        .confab()
        .args(["cache", "stats", "--json"])
        .output()
        .expect("running confab");
    let stats = support::success_json(&stats);
    assert_eq!(stats["entries"], 1);
    home.confab()
        .args(["cache", "clear"])
        .assert()
        .success()
        .stderr(predicate::str::contains("removed 1"));
    let stats = support::success_json(
        &home
            .confab()
            .args(["cache", "stats", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(stats["entries"], 0);

    // A cache file that is not a database is moved aside and rebuilt.
    let db = home.path().join("cache/responses.sqlite3");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::write(
        &db,
        b"this is not a database, it is garbage ....................",
    )
    .unwrap();
    let output = ask(&home, &fake, &cached, "what does HTTP 418 mean?");
    support::assert_success(&output);
    assert!(
        stderr_of(&output).contains("moved it to"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "b\n");
    let stats = support::success_json(
        &home
            .confab()
            .args(["cache", "stats", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(stats["entries"], 1, "the rebuilt cache works");
}

#[test]
fn requests_with_tools_are_never_cached() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        "[providers.openai]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\n\
         [tools.clock]\ndescription = \"The time\"\ncommand = [\"date\"]\nrisk = \"low\"\n\
         [tools.clock.parameters]\ntype = \"object\"\n",
    );
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["first"], Some((5, 1))),
        Reply::openai_stream("gpt-4o-mini", &["second"], Some((5, 1))),
    ]);
    let cached = ["--cache", "--temperature", "0"];
    ask(&home, &fake, &cached, "what time is it?");
    let again = ask(&home, &fake, &cached, "what time is it?");
    assert_eq!(String::from_utf8_lossy(&again.stdout), "second\n");
    assert_eq!(fake.requests().len(), 2, "both went to the API");
    assert!(
        fake.requests()[0].json()["tools"].is_array(),
        "tools were offered"
    );
}
