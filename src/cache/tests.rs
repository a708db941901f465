//! Unit tests of the cache: keys, hits, expiry, eviction, corruption.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use jiff::Timestamp;

use super::*;
use crate::conversation::Role;
use crate::llm::{Message, Usage};

fn key_with(model: &str, history: &[Message], prompt: &str) -> CacheKey {
    CacheKey::new(&KeyInput {
        provider: "openai",
        model,
        system: Some("You are terse."),
        temperature: Some(0.0),
        max_output_tokens: 1024,
        response_format: None,
        history,
        prompt,
    })
}

fn key(prompt: &str) -> CacheKey {
    key_with("gpt-4o-mini", &[], prompt)
}

fn reply(text: &str) -> CachedReply {
    CachedReply {
        text: text.to_string(),
        model_reported: Some("gpt-4o-mini-2024-07-18".into()),
        finish_reason: Some("stop".into()),
        usage: Usage {
            input_tokens: 12,
            output_tokens: 30,
            ..Usage::default()
        },
    }
}

/// A cache in a temp dir with a clock the test moves (unix seconds).
fn open(settings: CacheSettings) -> (tempfile::TempDir, SemanticCache, Arc<AtomicI64>) {
    let dir = tempfile::tempdir().unwrap();
    let (mut cache, warnings) = SemanticCache::open(&dir.path().join("cache"), &settings).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let now = Arc::new(AtomicI64::new(1_700_000_000));
    let clock = Arc::clone(&now);
    cache.set_clock(move || Timestamp::from_second(clock.load(Ordering::SeqCst)).unwrap());
    (dir, cache, now)
}

#[test]
fn exact_hit_returns_the_stored_reply() {
    let (_dir, cache, _) = open(CacheSettings::default());
    let k = key("How do I reverse a list in Python?");
    assert_eq!(cache.lookup(&k).unwrap(), None);
    cache
        .store(&k, &reply("Use reversed() or list.reverse()."))
        .unwrap();
    // Trailing whitespace and CRLF do not matter for the exact key.
    let hit = cache
        .lookup(&key("  How do I reverse a list in Python?  \r\n"))
        .unwrap()
        .unwrap();
    assert_eq!(hit.kind, HitKind::Exact);
    assert_eq!(hit.reply, reply("Use reversed() or list.reverse()."));
    assert_eq!(hit.cached_prompt, "How do I reverse a list in Python?");
    assert_eq!(hit.stored_at, "2023-11-14T22:13:20Z");
}

#[test]
fn exact_hit_is_served_whatever_the_threshold() {
    let settings = CacheSettings {
        threshold: 1.0,
        ..CacheSettings::default()
    };
    let (_dir, cache, _) = open(settings);
    // Too short for semantic matching, but exact hits need no similarity.
    cache.store(&key("yes"), &reply("ok")).unwrap();
    assert_eq!(
        cache.lookup(&key("yes")).unwrap().unwrap().kind,
        HitKind::Exact
    );
    assert_eq!(cache.lookup(&key("Yes")).unwrap(), None, "case is kept");
}

#[test]
fn paraphrase_hits_semantically() {
    let (_dir, cache, _) = open(CacheSettings::default());
    cache
        .store(
            &key("How do I delete a remote branch in git?"),
            &reply("git push origin --delete NAME"),
        )
        .unwrap();
    let hit = cache
        .lookup(&key("git: how can I remove a branch from the remote?"))
        .unwrap()
        .expect("paraphrase should hit");
    assert_eq!(hit.kind, HitKind::SameQuestion);
    assert_eq!(hit.reply.text, "git push origin --delete NAME");
    assert_eq!(hit.cached_prompt, "How do I delete a remote branch in git?");
    // The safety check: same words, other meaning.
    assert_eq!(
        cache
            .lookup(&key("How do I delete a local branch in git?"))
            .unwrap(),
        None
    );
}

#[test]
fn different_context_or_model_misses() {
    let (_dir, cache, _) = open(CacheSettings::default());
    let history = [
        Message::new(Role::User, "I use Python 3.12."),
        Message::new(Role::Assistant, "Noted."),
    ];
    let prompt = "How do I read a file line by line?";
    cache
        .store(
            &key_with("gpt-4o-mini", &history, prompt),
            &reply("for line in f:"),
        )
        .unwrap();
    assert!(cache
        .lookup(&key_with("gpt-4o-mini", &history, prompt))
        .unwrap()
        .is_some());
    assert_eq!(
        cache.lookup(&key_with("gpt-4o-mini", &[], prompt)).unwrap(),
        None
    );
    assert_eq!(
        cache.lookup(&key_with("gpt-4o", &history, prompt)).unwrap(),
        None
    );
    let other_history = [history[0].clone(), Message::new(Role::Assistant, "Noted!")];
    assert_eq!(
        cache
            .lookup(&key_with("gpt-4o-mini", &other_history, prompt))
            .unwrap(),
        None
    );
}

#[test]
fn every_setting_is_part_of_the_context() {
    let base = KeyInput {
        provider: "openai",
        model: "m",
        system: None,
        temperature: Some(0.0),
        max_output_tokens: 100,
        response_format: None,
        history: &[],
        prompt: "p",
    };
    let digest = |input: KeyInput<'_>| CacheKey::new(&input).context_digest().to_string();
    let d = digest(base);
    assert_eq!(
        d,
        digest(KeyInput {
            temperature: Some(-0.0),
            ..base
        })
    );
    assert_eq!(
        d,
        digest(KeyInput {
            prompt: "other",
            ..base
        }),
        "the prompt is not context"
    );
    for other in [
        KeyInput {
            provider: "anthropic",
            ..base
        },
        KeyInput {
            system: Some(""),
            ..base
        },
        KeyInput {
            temperature: None,
            ..base
        },
        KeyInput {
            temperature: Some(0.5),
            ..base
        },
        KeyInput {
            max_output_tokens: 101,
            ..base
        },
        KeyInput {
            response_format: Some("{\"type\":\"json_object\"}"),
            ..base
        },
    ] {
        assert_ne!(d, digest(other), "{other:?}");
    }
}

#[test]
fn for_request_splits_off_the_last_user_message() {
    let request = crate::llm::ChatRequest {
        model: "m".into(),
        system: Some("s".into()),
        messages: vec![
            Message::new(Role::User, "a"),
            Message::new(Role::Assistant, "b"),
            Message::new(Role::User, "c"),
        ],
        max_output_tokens: 10,
        temperature: Some(0.0),
        stream: true,
        ..Default::default()
    };
    let k = CacheKey::for_request("openai", &request, None).unwrap();
    assert_eq!(k.prompt(), "c");
    let expected = CacheKey::new(&KeyInput {
        provider: "openai",
        model: "m",
        system: Some("s"),
        temperature: Some(0.0),
        max_output_tokens: 10,
        response_format: None,
        history: &request.messages[..2],
        prompt: "c",
    });
    assert_eq!(k, expected);
    let mut ends_with_assistant = request.clone();
    ends_with_assistant.messages.pop();
    assert_eq!(
        CacheKey::for_request("openai", &ends_with_assistant, None),
        None
    );
    // Attachments: never cached as the prompt, part of the context after.
    let image = |sha: &str| crate::llm::Attachment {
        name: "shot.png".into(),
        media_type: "image/png".into(),
        bytes: 1,
        sha256: sha.into(),
        estimated_tokens: 1,
        data: None,
    };
    let mut asks_about_an_image = request.clone();
    asks_about_an_image.messages[2]
        .attachments
        .push(image("aa"));
    assert_eq!(
        CacheKey::for_request("openai", &asks_about_an_image, None),
        None
    );
    let context_of = |sha: &str| {
        let mut after = request.clone();
        after.messages[0].attachments.push(image(sha));
        CacheKey::for_request("openai", &after, None)
            .expect("a key")
            .context_digest()
            .to_string()
    };
    assert_ne!(context_of("aa"), context_of("bb"));
    assert_ne!(context_of("aa"), k.context_digest());
}

#[test]
fn entries_expire_after_the_ttl() {
    let settings = CacheSettings {
        ttl_secs: 3600,
        ..CacheSettings::default()
    };
    let (_dir, cache, now) = open(settings);
    let k = key("How do I set an environment variable in bash?");
    cache.store(&k, &reply("export NAME=value")).unwrap();
    now.fetch_add(3599, Ordering::SeqCst);
    assert!(cache.lookup(&k).unwrap().is_some());
    assert!(cache
        .lookup(&key("In bash, how do I set an environment variable?"))
        .unwrap()
        .is_some());
    now.fetch_add(1, Ordering::SeqCst);
    assert_eq!(cache.lookup(&k).unwrap(), None);
    assert_eq!(
        cache
            .lookup(&key("In bash, how do I set an environment variable?"))
            .unwrap(),
        None
    );
    let stats = cache.stats().unwrap();
    assert_eq!((stats.entries, stats.live_entries), (1, 0));
    // The next store deletes expired entries.
    cache
        .store(
            &key("What is a mutex used for?"),
            &reply("Mutual exclusion."),
        )
        .unwrap();
    let stats = cache.stats().unwrap();
    assert_eq!((stats.entries, stats.live_entries), (1, 1));
}

#[test]
fn least_recently_used_entries_are_evicted_first() {
    let settings = CacheSettings {
        max_entries: 3,
        ..CacheSettings::default()
    };
    let (_dir, cache, now) = open(settings);
    let prompts = [
        "How do I exit vim?",
        "What is dependency injection?",
        "How do I squash commits in git?",
        "What is a race condition?",
    ];
    for p in &prompts[..3] {
        cache.store(&key(p), &reply(p)).unwrap();
        now.fetch_add(1, Ordering::SeqCst);
    }
    // Using the oldest entry makes the second one the least recently used.
    assert!(cache.lookup(&key(prompts[0])).unwrap().is_some());
    now.fetch_add(1, Ordering::SeqCst);
    cache.store(&key(prompts[3]), &reply(prompts[3])).unwrap();
    assert_eq!(cache.stats().unwrap().entries, 3);
    assert_eq!(cache.lookup(&key(prompts[1])).unwrap(), None);
    for p in [prompts[0], prompts[2], prompts[3]] {
        assert!(cache.lookup(&key(p)).unwrap().is_some(), "{p}");
    }
}

#[test]
fn a_garbage_file_is_moved_aside_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    std::fs::write(
        &path,
        b"this is not a database, just some garbage bytes ".repeat(100),
    )
    .unwrap();
    let (cache, warnings) = SemanticCache::open(dir.path(), &CacheSettings::default()).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("moved it to"), "{}", warnings[0]);
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("responses.sqlite3.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let k = key("What is memoization?");
    cache.store(&k, &reply("Caching results.")).unwrap();
    assert_eq!(cache.lookup(&k).unwrap().unwrap().kind, HitKind::Exact);
    drop(cache);
    // Reopening the rebuilt cache is quiet and keeps the entry.
    let (cache, warnings) = SemanticCache::open(dir.path(), &CacheSettings::default()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(cache.lookup(&k).unwrap().is_some());
}

#[test]
fn another_schema_version_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (cache, _) = SemanticCache::open(dir.path(), &CacheSettings::default()).unwrap();
        cache
            .store(&key("What is memoization?"), &reply("x"))
            .unwrap();
    }
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute(
        "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(conn);
    let (cache, warnings) = SemanticCache::open(dir.path(), &CacheSettings::default()).unwrap();
    assert!(warnings[0].contains("schema version 99"), "{warnings:?}");
    assert_eq!(cache.stats().unwrap().entries, 0);
}

#[test]
fn a_version_1_file_is_moved_aside() {
    // Version 1 kept prompts and replies in `entries`, with no `bodies`.
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE entries (id INTEGER PRIMARY KEY, prompt TEXT, text TEXT);
         INSERT INTO meta VALUES ('schema_version', '1'), ('hits_served', '0');",
    )
    .unwrap();
    drop(conn);
    let (cache, warnings) = SemanticCache::open(dir.path(), &CacheSettings::default()).unwrap();
    assert!(warnings[0].contains("schema version 1,"), "{warnings:?}");
    let k = key("What is memoization?");
    cache.store(&k, &reply("Caching results.")).unwrap();
    assert_eq!(cache.lookup(&k).unwrap().unwrap().kind, HitKind::Exact);
}

#[test]
fn evicted_expired_and_cleared_entries_leave_no_prompt_or_reply() {
    let settings = CacheSettings {
        max_entries: 2,
        ttl_secs: 60,
        ..CacheSettings::default()
    };
    let (dir, cache, now) = open(settings);
    let bodies = || -> i64 {
        let conn = rusqlite::Connection::open(dir.path().join("cache").join(DB_FILE)).unwrap();
        conn.query_row("SELECT COUNT(*) FROM bodies", [], |r| r.get(0))
            .unwrap()
    };
    for p in ["How do I exit vim?", "What is a race condition?"] {
        cache.store(&key(p), &reply(p)).unwrap();
        now.fetch_add(1, Ordering::SeqCst);
    }
    // Replacing an entry keeps one body, with the new reply.
    cache
        .store(&key("How do I exit vim?"), &reply("Type :q"))
        .unwrap();
    assert_eq!(bodies(), 2);
    let hit = cache.lookup(&key("How do I exit vim?")).unwrap().unwrap();
    assert_eq!(hit.reply.text, "Type :q");
    // Eviction of the least recently used.
    cache
        .store(&key("What is dependency injection?"), &reply("x"))
        .unwrap();
    assert_eq!(bodies(), 2);
    // Expiry.
    now.fetch_add(3_600, Ordering::SeqCst);
    cache.store(&key("What is a mutex?"), &reply("y")).unwrap();
    assert_eq!(bodies(), 1);
    assert_eq!(cache.clear().unwrap(), 1);
    assert_eq!(bodies(), 0);
}

#[test]
fn an_uncreatable_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let err = SemanticCache::open(&file.join("cache"), &CacheSettings::default()).unwrap_err();
    assert!(matches!(err, CacheError::Io { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn the_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, cache, _) = open(CacheSettings::default());
    cache
        .store(&key("What is memoization?"), &reply("x"))
        .unwrap();
    for name in [DB_FILE, "responses.sqlite3-wal"] {
        let mode = std::fs::metadata(dir.path().join("cache").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[test]
fn two_connections_share_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = SemanticCache::open(dir.path(), &CacheSettings::default()).unwrap();
    let (b, _) = SemanticCache::open(dir.path(), &CacheSettings::default()).unwrap();
    let threads: Vec<_> = [a, b]
        .into_iter()
        .enumerate()
        .map(|(t, cache)| {
            std::thread::spawn(move || {
                for i in 0..20 {
                    let k = key(&format!("What is the answer to question {t}-{i}?"));
                    cache.store(&k, &reply("42")).unwrap();
                    assert!(cache.lookup(&k).unwrap().is_some());
                }
                cache
            })
        })
        .collect();
    let caches: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(caches[0].stats().unwrap().entries, 40);
}

#[test]
fn stats_and_clear() {
    let (_dir, cache, now) = open(CacheSettings::default());
    let empty = cache.stats().unwrap();
    assert_eq!(
        (empty.entries, empty.hits_served, empty.oldest_stored_at),
        (0, 0, None)
    );
    cache
        .store(&key("What is memoization?"), &reply("a"))
        .unwrap();
    now.fetch_add(60, Ordering::SeqCst);
    cache
        .store(&key("What is a race condition?"), &reply("b"))
        .unwrap();
    cache.lookup(&key("What is memoization?")).unwrap().unwrap();
    cache
        .lookup(&key("Explain what memoization is"))
        .unwrap()
        .unwrap();
    let stats = cache.stats().unwrap();
    assert_eq!(
        (stats.entries, stats.live_entries, stats.hits_served),
        (2, 2, 2)
    );
    assert_eq!(
        stats.oldest_stored_at.as_deref(),
        Some("2023-11-14T22:13:20Z")
    );
    assert_eq!(
        stats.newest_stored_at.as_deref(),
        Some("2023-11-14T22:14:20Z")
    );
    assert!(stats.file_bytes > 0);
    serde_json::to_string(&stats).unwrap();
    assert_eq!(cache.clear().unwrap(), 2);
    let stats = cache.stats().unwrap();
    assert_eq!((stats.entries, stats.hits_served), (0, 0));
    assert_eq!(cache.lookup(&key("What is memoization?")).unwrap(), None);
}

#[test]
fn only_deterministic_or_opted_in_requests_are_cacheable() {
    assert!(cacheable(Some(0.0), false));
    assert!(cacheable(Some(-0.0), false));
    assert!(!cacheable(Some(0.7), false));
    assert!(!cacheable(None, false));
    assert!(cacheable(None, true));
    assert!(cacheable(Some(1.0), true));
}

#[test]
fn settings_defaults_and_unknown_fields() {
    let s: CacheSettings = toml::from_str("enabled = true").unwrap();
    assert_eq!(
        s,
        CacheSettings {
            enabled: true,
            ..CacheSettings::default()
        }
    );
    assert_eq!(s.threshold, 0.92);
    assert_eq!(s.ttl_secs, 604_800);
    assert_eq!(s.max_entries, 10_000);
    assert!(toml::from_str::<CacheSettings>("treshold = 0.9").is_err());
    assert!(CacheSettings {
        threshold: 1.5,
        ..s
    }
    .validate()
    .is_err());
}
