//! The shared usage ledger: usage records pushed to the store, keyed by
//! `call_id` so a record pushed twice (by `usage push`, or by two machines
//! reading one copied log) is stored once; and the mark of how far this
//! machine's `usage.jsonl` has been pushed, so each command pushes only
//! what it added.

use std::path::{Path, PathBuf};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use serde::{Deserialize, Serialize};

use crate::store::StoreError;
use crate::usage::{UsageRecord, UsageSource};

/// Records sent in one COPY.
const CHUNK: usize = 10_000;

/// What a push did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pushed {
    /// Records the store did not have.
    pub added: u64,
    /// Records it had already.
    pub present: u64,
}

impl Pushed {
    /// Adds what another push did.
    pub fn add(&mut self, other: Pushed) {
        self.added += other.added;
        self.present += other.present;
    }
}

/// The columns, in table order, and their types.
const COLUMNS: [(&str, Type); 23] = [
    ("call_id", Type::TEXT),
    ("ts", Type::TEXT),
    ("day", Type::TEXT),
    ("conversation_id", Type::TEXT),
    ("command", Type::TEXT),
    ("provider", Type::TEXT),
    ("host", Type::TEXT),
    ("model_requested", Type::TEXT),
    ("model_reported", Type::TEXT),
    ("input_tokens", Type::INT8),
    ("cached_input_tokens", Type::INT8),
    ("cache_write_tokens", Type::INT8),
    ("cache_write_hour_tokens", Type::INT8),
    ("output_tokens", Type::INT8),
    ("reasoning_tokens", Type::INT8),
    ("usage_source", Type::TEXT),
    ("latency_ms", Type::INT8),
    ("ttft_ms", Type::INT8),
    ("outcome", Type::TEXT),
    ("tags", Type::TEXT_ARRAY),
    ("preset", Type::TEXT),
    ("tier", Type::TEXT),
    ("record", Type::JSONB),
];

/// Pushes `records`, in chunks of one transaction each; records already
/// in the store (by `call_id`) are left as they are.
pub fn push(client: &mut postgres::Client, records: &[UsageRecord]) -> Result<Pushed, StoreError> {
    let mut pushed = Pushed::default();
    for chunk in records.chunks(CHUNK) {
        pushed.add(push_chunk(client, chunk)?);
    }
    Ok(pushed)
}

fn push_chunk(
    client: &mut postgres::Client,
    records: &[UsageRecord],
) -> Result<Pushed, StoreError> {
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "CREATE TEMP TABLE confab_incoming (LIKE confab_usage INCLUDING DEFAULTS) ON COMMIT DROP",
    )?;
    let names: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
    let types: Vec<Type> = COLUMNS.iter().map(|(_, t)| t.clone()).collect();
    let sink = tx.copy_in(&format!(
        "COPY confab_incoming ({}) FROM STDIN BINARY",
        names.join(", ")
    ))?;
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    for record in records {
        write_row(&mut writer, record)?;
    }
    writer.finish()?;
    let added = tx.execute(
        "INSERT INTO confab_usage SELECT * FROM confab_incoming ON CONFLICT (call_id) DO NOTHING",
        &[],
    )?;
    tx.commit()?;
    Ok(Pushed {
        added,
        present: records.len() as u64 - added.min(records.len() as u64),
    })
}

fn write_row(writer: &mut BinaryCopyInWriter, r: &UsageRecord) -> Result<(), StoreError> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let day = r.ts.get(..10).unwrap_or(&r.ts).to_string();
    let source = match r.usage_source {
        UsageSource::Api => "api",
        UsageSource::Local => "local",
    };
    let outcome = serde_json::to_value(r.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let record = serde_json::to_value(r).map_err(|err| StoreError::Query(err.to_string()))?;
    writer.write(&[
        &r.call_id,
        &r.ts,
        &day,
        &r.conversation_id,
        &r.command,
        &r.provider,
        &r.host,
        &r.model_requested,
        &r.model_reported,
        &count(r.input_tokens),
        &count(r.cached_input_tokens),
        &count(r.cache_write_tokens),
        &count(r.cache_write_hour_tokens),
        &count(r.output_tokens),
        &count(r.reasoning_tokens),
        &source,
        &count(r.latency_ms),
        &r.ttft_ms.map(count),
        &outcome,
        &r.tags,
        &r.preset,
        &r.tier,
        &record,
    ])?;
    Ok(())
}

/// How far a local usage log has been pushed to one store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushMark {
    /// The store (host, port, database) the mark is for.
    pub target: String,
    /// Bytes of the log whose records are in that store.
    pub offset: u64,
}

/// Where the push mark of the log at `log_path` is kept.
pub fn mark_path(log_path: &Path) -> PathBuf {
    log_path.with_extension("pushed.json")
}

/// The mark for `target`; a mark for another store (or none) is 0.
pub fn read_mark(log_path: &Path, target: &str) -> u64 {
    let path = mark_path(log_path);
    // A mark is a few dozen bytes; anything far larger is not one.
    if std::fs::metadata(&path).map_or(true, |m| m.len() > 4096) {
        return 0;
    }
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<PushMark>(&bytes).ok())
        .filter(|mark| mark.target == target)
        .map_or(0, |mark| mark.offset)
}

/// Records that the log's first `offset` bytes are in `target`.
pub fn write_mark(log_path: &Path, target: &str, offset: u64) -> std::io::Result<()> {
    let mark = PushMark {
        target: target.to_string(),
        offset,
    };
    let bytes = serde_json::to_vec(&mark).map_err(std::io::Error::other)?;
    crate::private_files::write_atomic(&mark_path(log_path), &bytes)
}

/// What pushing a log gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogPush {
    /// The records' fate.
    pub pushed: Pushed,
    /// Lines that did not parse (skipped, as every reader skips them).
    pub warnings: Vec<String>,
}

/// Pushes the records of `log_path` from byte `from` to its last complete
/// line (a line being appended by another process waits for the next
/// push); returns what was pushed and the offset now covered.
pub fn push_log_from(
    client: &mut postgres::Client,
    log_path: &Path,
    from: u64,
) -> Result<(LogPush, u64), StoreError> {
    let bytes =
        crate::jsonl::read_bytes(log_path).map_err(|err| StoreError::Query(err.to_string()))?;
    let bytes: &[u8] = &bytes;
    let start = usize::try_from(from).unwrap_or(usize::MAX).min(bytes.len());
    let end = bytes[start..]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(start, |at| start + at + 1);
    let outcome = crate::jsonl::parse_all::<UsageRecord>(log_path, &bytes[start..end]);
    let records: Vec<UsageRecord> = outcome.records.into_iter().map(|(_, r)| r).collect();
    let pushed = push(client, &records)?;
    Ok((
        LogPush {
            pushed,
            warnings: outcome.warnings,
        },
        end as u64,
    ))
}
