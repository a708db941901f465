//! The store's schema, in numbered migrations applied in order on first
//! use. They run in one transaction under an advisory lock, so machines
//! that start at once take turns: the first applies them, the others find
//! them applied. A database whose schema is newer than this confab knows is
//! left alone, with an error saying to upgrade.

use crate::store::StoreError;

/// The lock every confab takes while it migrates (any fixed number).
const MIGRATION_LOCK: i64 = 0x636f_6e66_6162_0001;

/// The migrations, oldest first: (version, SQL). Append only.
const MIGRATIONS: &[(i32, &str)] = &[(
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

/// The schema version this confab writes.
pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

/// Applies the migrations the database lacks.
pub fn apply(client: &mut postgres::Client) -> Result<(), StoreError> {
    // Most runs find the schema current: check without the lock first.
    if current(client).ok() == Some(latest()) {
        return Ok(());
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS confab_schema (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )?;
    let have: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM confab_schema", &[])?
        .get(0);
    if have > latest() {
        return Err(StoreError::Setting(format!(
            "the store's schema is version {have}, newer than this confab knows ({}): upgrade confab",
            latest()
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > have) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO confab_schema (version) VALUES ($1)",
            &[version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The version the database is at (an error when it has no schema yet).
fn current(client: &mut postgres::Client) -> Result<i32, postgres::Error> {
    Ok(client
        .query_one("SELECT coalesce(max(version), 0) FROM confab_schema", &[])?
        .get(0))
}
