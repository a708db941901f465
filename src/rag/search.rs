//! Retrieval: an index's BM25 and nearest-vector rankings, used alone or
//! fused, then spread over files.
//!
//! Hybrid fusion is a weighted sum of each side's scores scaled to its
//! candidates (min-max; every BM25 candidate gets its cosine similarity
//! even when the nearest vectors did not include it): the vector side counts [`VECTOR_WEIGHT`], BM25 the
//! rest. With the built-in static embedder the vector ranking is the weaker
//! one, so it breaks BM25's near-ties rather than out-voting it, as equal
//! reciprocal-rank fusion did (tuned on the dev split of
//! `tests/data/rag-eval`, see the README's quality table).
//!
//! Every mode then demotes a file's later chunks: each chunk's score is
//! multiplied by [`SAME_FILE_DECAY`] once for every better-ranked chunk of
//! the same file, so the top results name several files rather than one
//! long file's every section.

use crate::rag::store::{CandidateQuery, IndexStore, StoreError, StoredChunk};

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

/// The vector side's share of a hybrid score.
pub const VECTOR_WEIGHT: f64 = 0.4;
/// What a chunk's score is multiplied by for each better chunk of its file.
pub const SAME_FILE_DECAY: f64 = 0.5;
/// The fewest candidates each ranking gives (more for a larger `k`).
const MIN_DEPTH: usize = 50;

/// One retrieved chunk id with its score.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Chunk id.
    pub id: i64,
    /// The ranking score, higher is better: the mode's score (BM25, cosine,
    /// or the fused 0-1 score), demoted for the file's better chunks.
    pub score: f64,
}

/// How many candidates each ranking gives for `k` results.
fn depth(k: usize) -> usize {
    (k * 4).max(MIN_DEPTH)
}

/// Scores scaled to 0-1 over the list (min-max; all 1.0 when they are equal).
fn scaled(list: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let max = list.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
    let min = list.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
    let span = max - min;
    list.iter()
        .map(|(id, s)| (*id, if span > 0.0 { (s - min) / span } else { 1.0 }))
        .collect()
}

/// The weighted sum of both rankings' scaled scores (a chunk missing from
/// one ranking gets nothing from it), best first.
pub fn fuse(by_bm25: &[(i64, f64)], by_vector: &[(i64, f64)], vector_weight: f64) -> Vec<Hit> {
    let mut scores: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
    for (id, s) in scaled(by_bm25) {
        *scores.entry(id).or_insert(0.0) += (1.0 - vector_weight) * s;
    }
    for (id, s) in scaled(by_vector) {
        *scores.entry(id).or_insert(0.0) += vector_weight * s;
    }
    let mut hits: Vec<Hit> = scores
        .into_iter()
        .map(|(id, score)| Hit { id, score })
        .collect();
    sort(&mut hits);
    hits
}

/// Best first; ties by id, so rankings are reproducible.
fn sort(hits: &mut [Hit]) {
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
}

/// A score demoted `times` times (a negative cosine moves down too).
fn demoted(score: f64, times: i32) -> f64 {
    let factor = SAME_FILE_DECAY.powi(times);
    if score >= 0.0 {
        score * factor
    } else {
        score / factor
    }
}

/// Re-ranks `hits` (best first) so each file's later chunks are demoted;
/// `file_of` names a chunk's file.
pub fn spread_over_files(hits: Vec<Hit>, file_of: impl Fn(i64) -> Option<String>) -> Vec<Hit> {
    let mut seen: std::collections::HashMap<Option<String>, i32> = Default::default();
    let mut spread: Vec<Hit> = hits
        .into_iter()
        .map(|hit| {
            let better = seen.entry(file_of(hit.id)).or_insert(0);
            let score = demoted(hit.score, *better);
            *better += 1;
            Hit { id: hit.id, score }
        })
        .collect();
    sort(&mut spread);
    spread
}

/// The vector ranking's candidates plus the similarity of each BM25
/// candidate it did not find, so that fusion weighs every candidate on
/// both sides rather than counting a miss from one as its worst score.
fn with_missing_similarities(
    index: &mut dyn IndexStore,
    query_vector: &[f32],
    by_bm25: &[(i64, f64)],
    mut by_vector: Vec<(i64, f64)>,
) -> Result<Vec<(i64, f64)>, StoreError> {
    if query_vector.is_empty() {
        return Ok(by_vector);
    }
    let found: std::collections::HashSet<i64> = by_vector.iter().map(|(id, _)| *id).collect();
    let missing: Vec<i64> = by_bm25
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !found.contains(id))
        .collect();
    let scores = index.similarities(query_vector, &missing)?;
    by_vector.extend(scores.into_iter().map(|(id, s)| (id, f64::from(s))));
    Ok(by_vector)
}

/// Retrieves the top `k` chunks for a query from `index`, with their
/// scores: the mode's ranking (both, fused, for hybrid) over
/// `(k * 4).max(50)` candidates, spread over files.
pub fn search(
    index: &mut dyn IndexStore,
    query_text: &str,
    query_vector: &[f32],
    mode: Mode,
    k: usize,
) -> Result<Vec<(StoredChunk, f64)>, StoreError> {
    let wants_vector = mode != Mode::Bm25 && !query_vector.is_empty();
    let candidates = index.candidates(&CandidateQuery {
        text: (mode != Mode::Vector).then_some(query_text),
        vector: wants_vector.then_some(query_vector),
        depth: depth(k),
    })?;
    let by_vector: Vec<(i64, f64)> = candidates
        .by_vector
        .into_iter()
        .map(|(id, s)| (id, f64::from(s)))
        .collect();
    let ranked: Vec<Hit> = match mode {
        Mode::Vector => by_vector
            .into_iter()
            .map(|(id, score)| Hit { id, score })
            .collect(),
        Mode::Bm25 => candidates
            .by_bm25
            .into_iter()
            .map(|(id, score)| Hit { id, score })
            .collect(),
        Mode::Hybrid => {
            let by_vector =
                with_missing_similarities(index, query_vector, &candidates.by_bm25, by_vector)?;
            fuse(&candidates.by_bm25, &by_vector, VECTOR_WEIGHT)
        }
    };
    let ids: Vec<i64> = ranked.iter().map(|h| h.id).collect();
    let mut chunks: std::collections::HashMap<i64, StoredChunk> =
        index.chunks(&ids)?.into_iter().map(|c| (c.id, c)).collect();
    let hits = spread_over_files(ranked, |id| chunks.get(&id).map(|c| c.path.clone()));
    Ok(hits
        .into_iter()
        .filter_map(|hit| Some((chunks.remove(&hit.id)?, hit.score)))
        .take(k)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_weighs_the_vector_side_less() {
        // BM25 prefers 1 over 2 by a wide margin; the vectors prefer 2 a little.
        let bm25 = [(1, 10.0), (2, 4.0), (3, 1.0)];
        let vector = [(2, 0.80), (1, 0.78), (3, 0.10)];
        let ids = |hits: Vec<Hit>| hits.iter().map(|h| h.id).collect::<Vec<_>>();
        assert_eq!(ids(fuse(&bm25, &vector, VECTOR_WEIGHT)), [1, 2, 3]);
        // Weighted all to vectors, the vectors' order wins.
        assert_eq!(ids(fuse(&bm25, &vector, 1.0)), [2, 1, 3]);
        // A chunk only one side found still ranks, on that side's share.
        let fused = fuse(&[(1, 5.0), (4, 1.0)], &[(5, 0.9), (1, 0.1)], 0.4);
        assert_eq!(ids(fused), [1, 5, 4]);
    }

    #[test]
    fn later_chunks_of_a_file_make_room_for_other_files() {
        let hits = [(1, 1.0), (2, 0.9), (3, 0.8), (4, 0.6)]
            .map(|(id, score)| Hit { id, score })
            .to_vec();
        let file = |id: i64| Some(if id <= 3 { "a" } else { "b" }.to_string());
        let ids: Vec<i64> = spread_over_files(hits, file).iter().map(|h| h.id).collect();
        // 2 and 3 (file a's second and third) fall to 0.45 and 0.2, below b's 0.6.
        assert_eq!(ids, [1, 4, 2, 3]);
        let negative = spread_over_files(
            vec![Hit { id: 1, score: -0.1 }, Hit { id: 2, score: -0.2 }],
            |_| Some("a".to_string()),
        );
        assert!(negative[1].score < -0.2, "a negative score is demoted too");
    }

    #[test]
    fn equal_scores_scale_to_one() {
        assert_eq!(scaled(&[(1, 3.0), (2, 3.0)]), [(1, 1.0), (2, 1.0)]);
        assert!(scaled(&[]).is_empty());
    }
}
