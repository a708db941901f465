//! Several processes appending to one JSON-lines file at once, as twenty CI
//! jobs or a `chat` beside a `rag index` do with `usage.jsonl`: every line
//! stays whole, none is lost, each writer's lines keep their order.
//!
//! The writers are this test binary itself, re-run with
//! `CONFAB_TEST_JSONL_WRITER` set (see [`writer`]).

use std::process::Command;

use serde::{Deserialize, Serialize};

const WRITERS: usize = 4;
const RECORDS: usize = 500;

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    writer: usize,
    n: usize,
    /// Long enough that a line takes several kilobytes.
    pad: String,
}

/// Appends [`RECORDS`] records when run as a writer; otherwise does nothing.
#[test]
fn writer() {
    let (Some(path), Some(id)) = (
        std::env::var_os("CONFAB_TEST_JSONL_WRITER"),
        std::env::var("CONFAB_TEST_JSONL_WRITER_ID").ok(),
    ) else {
        return;
    };
    let writer: usize = id.parse().expect("a writer id");
    for n in 0..RECORDS {
        let record = Record {
            writer,
            n,
            pad: format!("{writer}").repeat(4000 + n % 7),
        };
        confab::jsonl::append(std::path::Path::new(&path), &record).expect("append");
    }
}

#[test]
fn processes_appending_at_once_never_interleave_or_lose_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("usage.jsonl");
    let me = std::env::current_exe().expect("the test binary");
    let children: Vec<_> = (0..WRITERS)
        .map(|id| {
            Command::new(&me)
                .args(["--exact", "writer", "--test-threads", "1"])
                .env("CONFAB_TEST_JSONL_WRITER", &path)
                .env("CONFAB_TEST_JSONL_WRITER_ID", id.to_string())
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("a writer process")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("a writer ends").success());
    }
    let text = std::fs::read_to_string(&path).expect("the file");
    let mut next = [0usize; WRITERS];
    let mut lines = 0;
    for line in text.lines() {
        let record: Record = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a torn line ({e}): {:?}", &line[..line.len().min(80)]));
        assert_eq!(
            record.n, next[record.writer],
            "writer {}'s order",
            record.writer
        );
        assert!(record
            .pad
            .chars()
            .all(|c| c.to_string() == record.writer.to_string()));
        next[record.writer] += 1;
        lines += 1;
    }
    assert_eq!(lines, WRITERS * RECORDS, "no line lost");
}
