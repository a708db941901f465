//! Retrieval quality on `tests/data/rag-eval` (issue #19): 576 labelled
//! questions over two packaged documentation sets (git-doc and
//! sqlite3-doc, fetched by scripts/fetch-rag-eval-corpora.sh, which
//! `scripts/test.sh` runs and which sets `CONFAB_RAG_EVAL_DIR`). The
//! default (hybrid) mode must beat BM25 alone on the held-out test split,
//! and both splits' figures are the README's quality table.

mod support;

use serde_json::Value;
use support::real_server::required_path;
use support::{success_json, TempHome};

/// `rag eval --json` of one corpus's split.
fn eval(home: &TempHome, corpus: &str, split: &str) -> Value {
    let qrels = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/data/rag-eval/{corpus}.{split}.jsonl"));
    success_json(
        &home
            .confab()
            .arg("rag")
            .arg("eval")
            .arg(&qrels)
            .args(["--name", corpus, "--json"])
            .output()
            .expect("running confab"),
    )
}

#[test]
fn hybrid_beats_bm25_on_the_held_out_split_and_the_readme_says_so() {
    let corpora = required_path("CONFAB_RAG_EVAL_DIR", "scripts/test.sh");
    let home = TempHome::new();
    for corpus in ["git", "sqlite"] {
        // Indexed from the parent by name, so sources are labelled as the
        // qrels label them (git/git-commit.html).
        support::assert_success(
            &home
                .confab()
                .current_dir(&corpora)
                .args(["rag", "index", corpus, "--name", corpus])
                .output()
                .expect("running confab"),
        );
    }
    // The README's table (nDCG@10, recall@5 per mode), to the third decimal.
    let readme = [
        (
            "git",
            "dev",
            [(0.611, 0.694), (0.475, 0.488), (0.627, 0.679)],
        ),
        (
            "git",
            "test",
            [(0.592, 0.627), (0.505, 0.578), (0.603, 0.670)],
        ),
        (
            "sqlite",
            "dev",
            [(0.671, 0.703), (0.560, 0.614), (0.692, 0.734)],
        ),
        (
            "sqlite",
            "test",
            [(0.672, 0.694), (0.537, 0.589), (0.697, 0.720)],
        ),
    ];
    let mut margin = 0.0;
    for (corpus, split, expected) in readme {
        let metrics = eval(&home, corpus, split);
        eprintln!("{corpus} {split}: {metrics}");
        let metric = |mode: &str, name: &str| metrics[mode][name].as_f64().expect("a number");
        for (mode, (ndcg, recall)) in ["bm25", "vector", "hybrid"].iter().zip(expected) {
            assert!(
                (metric(mode, "ndcg_at_10") - ndcg).abs() < 0.0015
                    && (metric(mode, "recall_at_5") - recall).abs() < 0.0015,
                "{corpus} {split} {mode}: {metrics} (the README says nDCG {ndcg}, recall {recall})"
            );
        }
        if split == "test" {
            assert!(
                metric("hybrid", "ndcg_at_10") > metric("bm25", "ndcg_at_10"),
                "{corpus}: {metrics}"
            );
            margin += (metric("hybrid", "ndcg_at_10") - metric("bm25", "ndcg_at_10")) / 2.0;
        }
    }
    assert!(
        margin > 0.01,
        "hybrid leads BM25 by only {margin:.3} nDCG@10"
    );
}
