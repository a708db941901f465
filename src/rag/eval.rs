//! Retrieval quality: recall@1/5/10, MRR@10 and nDCG@10 of ranked source
//! paths against labelled queries (`{"id","query","relevant":[paths]}`
//! per line), with binary relevance at the level of source files, and the
//! questions a mode missed, so people can see why.

use serde::{Deserialize, Serialize};

/// One labelled query.
#[derive(Clone, Debug, Deserialize)]
pub struct Qrel {
    /// An id for reports.
    pub id: String,
    /// The query.
    pub query: String,
    /// Source paths that answer it.
    pub relevant: Vec<String>,
}

/// Averages over all queries for one mode.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Share of relevant paths found at rank 1.
    pub recall_at_1: f64,
    /// Share found in the top 5.
    pub recall_at_5: f64,
    /// Share found in the top 10.
    pub recall_at_10: f64,
    /// Mean reciprocal rank of the first relevant path in the top 10.
    pub mrr_at_10: f64,
    /// Normalised discounted cumulative gain at 10.
    pub ndcg_at_10: f64,
    /// Queries evaluated.
    pub queries: usize,
}

/// How far down a miss is looked for: a relevant path not in the top 5.
pub const MISS_DEPTH: usize = 5;

/// A question whose relevant paths were not all in the top [`MISS_DEPTH`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Miss {
    /// The qrel's id.
    pub id: String,
    /// The question.
    pub query: String,
    /// Each relevant path with its rank among the retrieved files (1-based,
    /// `None` when not in the top 10).
    pub relevant: Vec<RelevantRank>,
    /// The files retrieved, best first (up to 10).
    pub retrieved: Vec<String>,
    /// This question's nDCG@10.
    pub ndcg_at_10: f64,
}

/// Where one relevant path was ranked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RelevantRank {
    /// The labelled path.
    pub path: String,
    /// Its rank among the retrieved files, if in the top 10.
    pub rank: Option<usize>,
}

/// A mode's metrics and the questions it missed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// The averages.
    pub metrics: Metrics,
    /// The questions with a relevant path outside the top [`MISS_DEPTH`],
    /// in the qrels' order.
    pub misses: Vec<Miss>,
}

/// Whether a retrieved path matches a labelled one (labels may be given
/// relative to the indexed directory, so a suffix on a path boundary counts).
pub fn path_matches(retrieved: &str, relevant: &str) -> bool {
    let retrieved = retrieved.replace('\\', "/");
    let relevant = relevant.replace('\\', "/");
    retrieved == relevant
        || retrieved
            .strip_suffix(relevant.as_str())
            .is_some_and(|head| head.ends_with('/'))
}

/// Scores one ranked list of unique paths.
fn score(ranked: &[String], relevant: &[String]) -> Metrics {
    let hit = |path: &String| relevant.iter().any(|r| path_matches(path, r));
    let total = relevant.len().max(1) as f64;
    let found_in = |k: usize| ranked.iter().take(k).filter(|p| hit(p)).count() as f64 / total;
    let first = ranked.iter().take(10).position(hit);
    let dcg: f64 = ranked
        .iter()
        .take(10)
        .enumerate()
        .filter(|(_, p)| hit(p))
        .map(|(i, _)| 1.0 / (i as f64 + 2.0).log2())
        .sum();
    let ideal: f64 = (0..relevant.len().min(10))
        .map(|i| 1.0 / (i as f64 + 2.0).log2())
        .sum();
    Metrics {
        recall_at_1: found_in(1),
        recall_at_5: found_in(5),
        recall_at_10: found_in(10),
        mrr_at_10: first.map_or(0.0, |i| 1.0 / (i as f64 + 1.0)),
        ndcg_at_10: if ideal > 0.0 { dcg / ideal } else { 0.0 },
        queries: 1,
    }
}

/// The miss report of one question, if a relevant path is not in the top
/// [`MISS_DEPTH`].
fn miss_of(qrel: &Qrel, ranked: &[String], metrics: &Metrics) -> Option<Miss> {
    let relevant: Vec<RelevantRank> = qrel
        .relevant
        .iter()
        .map(|path| RelevantRank {
            path: path.clone(),
            rank: ranked
                .iter()
                .take(10)
                .position(|p| path_matches(p, path))
                .map(|i| i + 1),
        })
        .collect();
    let missed = relevant
        .iter()
        .any(|r| r.rank.is_none_or(|rank| rank > MISS_DEPTH));
    missed.then(|| Miss {
        id: qrel.id.clone(),
        query: qrel.query.clone(),
        relevant,
        retrieved: ranked.iter().take(10).cloned().collect(),
        ndcg_at_10: metrics.ndcg_at_10,
    })
}

/// Evaluates: `retrieve` returns the ranked source paths (duplicates are
/// collapsed to their first rank) for a query.
pub fn evaluate(qrels: &[Qrel], mut retrieve: impl FnMut(&str) -> Vec<String>) -> Evaluation {
    let mut sum = Metrics::default();
    let mut misses = Vec::new();
    for qrel in qrels {
        let mut ranked: Vec<String> = Vec::new();
        for path in retrieve(&qrel.query) {
            if !ranked.contains(&path) {
                ranked.push(path);
            }
        }
        let m = score(&ranked, &qrel.relevant);
        misses.extend(miss_of(qrel, &ranked, &m));
        sum.recall_at_1 += m.recall_at_1;
        sum.recall_at_5 += m.recall_at_5;
        sum.recall_at_10 += m.recall_at_10;
        sum.mrr_at_10 += m.mrr_at_10;
        sum.ndcg_at_10 += m.ndcg_at_10;
        sum.queries += 1;
    }
    let n = sum.queries.max(1) as f64;
    let metrics = Metrics {
        recall_at_1: sum.recall_at_1 / n,
        recall_at_5: sum.recall_at_5 / n,
        recall_at_10: sum.recall_at_10 / n,
        mrr_at_10: sum.mrr_at_10 / n,
        ndcg_at_10: sum.ndcg_at_10 / n,
        queries: sum.queries,
    };
    Evaluation { metrics, misses }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qrels() -> Vec<Qrel> {
        vec![
            Qrel {
                id: "a".into(),
                query: "q1".into(),
                relevant: vec!["docs/a.md".into()],
            },
            Qrel {
                id: "b".into(),
                query: "q2".into(),
                relevant: vec!["b.md".into(), "d.md".into()],
            },
        ]
    }

    fn ranked(query: &str) -> Vec<String> {
        if query == "q1" {
            vec!["/x/docs/a.md".into(), "c.md".into()]
        } else {
            let mut paths: Vec<String> = vec!["c.md".into(), "c.md".into(), "/x/b.md".into()];
            paths.extend((0..5).map(|i| format!("e{i}.md")));
            paths.push("d.md".into());
            paths
        }
    }

    #[test]
    fn metrics_by_hand() {
        let metrics = evaluate(&qrels(), ranked).metrics;
        assert_eq!(metrics.queries, 2);
        assert!((metrics.recall_at_1 - 0.5).abs() < 1e-9);
        // q2: b.md in the top 5, d.md at rank 8 (duplicates collapse).
        assert!((metrics.recall_at_5 - 0.75).abs() < 1e-9);
        assert!((metrics.recall_at_10 - 1.0).abs() < 1e-9);
        assert!((metrics.mrr_at_10 - 0.75).abs() < 1e-9);
        let ideal = 1.0 + 1.0 / 3f64.log2();
        let ndcg_q2 = (1.0 / 3f64.log2() + 1.0 / 9f64.log2()) / ideal;
        assert!((metrics.ndcg_at_10 - (1.0 + ndcg_q2) / 2.0).abs() < 1e-9);
        assert!(!path_matches("/x/notdocs/a.md", "docs/a.md"));
    }

    #[test]
    fn misses_name_the_ranks_of_what_was_wanted() {
        let misses = evaluate(&qrels(), ranked).misses;
        assert_eq!(misses.len(), 1, "q1 was found at rank 1");
        let miss = &misses[0];
        assert_eq!(miss.id, "b");
        let ranks: Vec<Option<usize>> = miss.relevant.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [Some(2), Some(8)]);
        assert_eq!(miss.retrieved.len(), 8);
        assert_eq!(miss.retrieved[0], "c.md");
    }
}
