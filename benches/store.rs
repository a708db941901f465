//! The team store against a real Postgres 16 (the pgserver wheel's, as the
//! tests start it; skipped when `CONFAB_PG_BIN` is not set, see
//! scripts/test.sh): `confab usage push` of the 1,000,000-record bench log
//! into an empty table, and `cost-report --group-by day,model` over those
//! records in the store, both whole processes. Issue #18's targets: push
//! >= 50,000 records/s; the report <= 2 s at 10,000,000 records.

use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "support/usage_data.rs"]
mod usage_data;

fn store(c: &mut Criterion) {
    if std::env::var_os("CONFAB_PG_BIN").is_none() {
        eprintln!("store bench skipped: CONFAB_PG_BIN is not set (eval \"$(scripts/install-test-servers.sh)\")");
        return;
    }
    let log = usage_data::usage_log();
    let server = support::postgres::PgServer::start();
    let home = tempfile::tempdir().expect("temp home");
    let confab = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_confab"))
            .args(args)
            .env("CONFAB_HOME", home.path())
            .envs(server.store_env())
            .output()
            .expect("running confab");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let log = log.display().to_string();
    // The first use creates the schema.
    confab(&["cost-report"]);
    let mut group = c.benchmark_group("store_1m_records");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("usage push into an empty table", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                server.psql("TRUNCATE confab_usage");
                let started = Instant::now();
                confab(&["usage", "push", "--log", &log]);
                spent += started.elapsed();
            }
            spent
        })
    });
    group.bench_function("cost-report --group-by day,model", |b| {
        b.iter(|| confab(&["cost-report", "--group-by", "day,model"]))
    });
    group.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
