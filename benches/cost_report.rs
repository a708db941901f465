//! `confab cost-report` over a 1,000,000-record usage log, whole process
//! (the target: <= 1.5 s on this 2-core machine). The log is
//! generated on first run into `bench-data/usage-1m.jsonl` with realistic
//! records (several models and providers, tags, conversations, a year of
//! timestamps).

use std::process::Command;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/usage_data.rs"]
mod usage_data;
use usage_data::usage_log;

fn cost_report(c: &mut Criterion) {
    let log = usage_log();
    let binary = env!("CARGO_BIN_EXE_confab");
    let home = tempfile::tempdir().expect("temp home");
    let mut group = c.benchmark_group("cost_report_1m_records");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (name, extra) in [
        ("group by model", &[][..]),
        (
            "group by day,model,tag",
            &["--group-by", "day,model,tag"][..],
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let output = Command::new(binary)
                    .arg("cost-report")
                    .arg("--log")
                    .arg(&log)
                    .args(extra)
                    .env("CONFAB_HOME", home.path())
                    .output()
                    .expect("running confab");
                assert!(output.status.success());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, cost_report);
criterion_main!(benches);
