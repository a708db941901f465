//! Retrieval: an index's BM25 and nearest-vector rankings, used alone or
//! fused with reciprocal rank fusion.

use crate::rag::store::{CandidateQuery, IndexStore, StoreError};

/// How to retrieve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Vector and BM25, fused.
    Hybrid,
    /// Cosine similarity of embeddings only.
    Vector,
    /// Full-text BM25 only.
    Bm25,
}

/// The RRF constant (Cormack et al.): dampens the weight of top ranks.
const RRF_K: f64 = 60.0;

/// One retrieved chunk id with its scores.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Chunk id.
    pub id: i64,
    /// The fused score (or the single mode's score), higher is better.
    pub score: f64,
}

/// Reciprocal rank fusion of ranked id lists.
pub fn fuse(lists: &[Vec<i64>], k: usize) -> Vec<Hit> {
    let mut scores: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
    for list in lists {
        for (rank, id) in list.iter().enumerate() {
            *scores.entry(*id).or_insert(0.0) += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut hits: Vec<Hit> = scores
        .into_iter()
        .map(|(id, score)| Hit { id, score })
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    hits.truncate(k);
    hits
}

/// Retrieves the top `k` chunk ids for a query from `index`: the mode's
/// ranking, or for hybrid both rankings `(k * 4).max(50)` deep, fused.
pub fn search(
    index: &mut dyn IndexStore,
    query_text: &str,
    query_vector: &[f32],
    mode: Mode,
    k: usize,
) -> Result<Vec<Hit>, StoreError> {
    let depth = match mode {
        Mode::Hybrid => (k * 4).max(50),
        Mode::Vector | Mode::Bm25 => k,
    };
    let wants_vector = mode != Mode::Bm25 && !query_vector.is_empty();
    let candidates = index.candidates(&CandidateQuery {
        text: (mode != Mode::Vector).then_some(query_text),
        vector: wants_vector.then_some(query_vector),
        depth,
    })?;
    Ok(match mode {
        Mode::Vector => candidates
            .by_vector
            .into_iter()
            .take(k)
            .map(|(id, s)| Hit {
                id,
                score: f64::from(s),
            })
            .collect(),
        Mode::Bm25 => candidates
            .by_bm25
            .into_iter()
            .take(k)
            .map(|(id, score)| Hit { id, score })
            .collect(),
        Mode::Hybrid => {
            let by_vector: Vec<i64> = candidates.by_vector.iter().map(|(id, _)| *id).collect();
            let by_bm25: Vec<i64> = candidates.by_bm25.iter().map(|(id, _)| *id).collect();
            fuse(&[by_vector, by_bm25], k)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_rewards_agreement() {
        let hits = fuse(&[vec![1, 2, 3], vec![3, 1, 4]], 3);
        let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
        assert_eq!(ids, [1, 3, 2]);
    }
}
