//! The store's schema, in numbered migrations applied in order on first
//! use. They run in one transaction under an advisory lock, so machines
//! that start at once take turns: the first applies them, the others find
//! them applied. A database whose schema is newer than this confab knows is
//! left alone, with an error saying to upgrade.
//!
//! Each part of the store keeps its own [`Track`] of migrations, so the
//! usage ledger works on a database where the RAG tables' extension
//! (pgvector) is missing.

use crate::store::StoreError;

/// One part of the store's schema: its migrations, the table recording
/// which are applied, and the advisory lock taken while applying them.
#[derive(Debug)]
pub struct Track {
    /// The lock every confab takes while it migrates this track.
    pub lock: i64,
    /// The table of applied versions.
    pub table: &'static str,
    /// The migrations, oldest first: (version, SQL). Append only.
    pub migrations: &'static [(i32, &'static str)],
}

impl Track {
    /// The schema version this confab writes.
    pub fn latest(&self) -> i32 {
        self.migrations.last().map_or(0, |(version, _)| *version)
    }
}

/// The usage ledger's track.
pub const LEDGER: Track = Track {
    lock: 0x636f_6e66_6162_0001,
    table: "confab_schema",
    migrations: LEDGER_MIGRATIONS,
};

/// The ledger's migrations.
const LEDGER_MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "CREATE TABLE confab_usage (
        call_id text PRIMARY KEY,
        ts text NOT NULL,
        day text NOT NULL,
        conversation_id text,
        command text NOT NULL,
        provider text NOT NULL,
        host text NOT NULL,
        model_requested text NOT NULL,
        model_reported text,
        input_tokens bigint NOT NULL,
        cached_input_tokens bigint NOT NULL,
        cache_write_tokens bigint NOT NULL,
        cache_write_hour_tokens bigint NOT NULL,
        output_tokens bigint NOT NULL,
        reasoning_tokens bigint NOT NULL,
        usage_source text NOT NULL,
        latency_ms bigint NOT NULL,
        ttft_ms bigint,
        outcome text NOT NULL,
        tags text[] NOT NULL,
        preset text,
        tier text,
        record jsonb NOT NULL
    );
    CREATE INDEX confab_usage_day ON confab_usage (day);",
)];

/// Applies the migrations of `track` the database lacks.
pub fn apply(client: &mut postgres::Client, track: &Track) -> Result<(), StoreError> {
    // Most runs find the schema current: check without the lock first.
    if current(client, track).ok() == Some(track.latest()) {
        return Ok(());
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&track.lock])?;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {} (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
        track.table
    ))?;
    let have: i32 = tx
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {}", track.table),
            &[],
        )?
        .get(0);
    if have > track.latest() {
        return Err(StoreError::Setting(format!(
            "the store's schema ({}) is version {have}, newer than this confab knows ({}): \
             upgrade confab",
            track.table,
            track.latest()
        )));
    }
    for (version, sql) in track.migrations.iter().filter(|(v, _)| *v > have) {
        tx.batch_execute(sql)?;
        tx.execute(
            &format!("INSERT INTO {} (version) VALUES ($1)", track.table),
            &[version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The version the database is at (an error when it has no schema yet).
fn current(client: &mut postgres::Client, track: &Track) -> Result<i32, postgres::Error> {
    Ok(client
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {}", track.table),
            &[],
        )?
        .get(0))
}
