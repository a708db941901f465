//! Retrieval: an exact cosine scan over the int8 vectors, BM25 through
//! FTS5, and the two fused with reciprocal rank fusion.

use crate::rag::store::{Index, StoreError, VectorSet};

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

/// The `k` nearest rows to `query` (unit length) by cosine similarity.
/// The query is quantized to int8 like the rows, so the scan is an integer
/// dot product the compiler vectorizes; the scales restore the cosine.
pub fn vector_top_k(set: &VectorSet, query: &[f32], k: usize) -> Vec<(i64, f32)> {
    if set.dim == 0 || query.len() != set.dim || k == 0 {
        return Vec::new();
    }
    let max = query.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        return Vec::new();
    }
    let query_scale = max / 127.0;
    let quantized: Vec<i16> = query
        .iter()
        .map(|v| (v / query_scale).round().clamp(-127.0, 127.0) as i16)
        .collect();
    // Rows are scanned in parts on all cores; each part keeps its own top k.
    use rayon::prelude::*;
    const ROWS_PER_PART: usize = 16_384;
    let values = set.values();
    let parts: Vec<Vec<(f32, usize)>> = values
        .par_chunks(set.dim * ROWS_PER_PART)
        .enumerate()
        .map(|(part, rows)| {
            let first_row = part * ROWS_PER_PART;
            let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
            let mut floor = f32::NEG_INFINITY;
            for (offset, row_values) in rows.chunks_exact(set.dim).enumerate() {
                let row = first_row + offset;
                let dot = dot_i8_i16(row_values, &quantized);
                let score = dot as f32 * set.scales[row] * query_scale;
                if best.len() < k || score > floor {
                    let at = best.partition_point(|(s, _)| *s >= score);
                    best.insert(at, (score, row));
                    best.truncate(k);
                    floor = best.last().map_or(f32::NEG_INFINITY, |(s, _)| *s);
                }
            }
            best
        })
        .collect();
    let mut best: Vec<(f32, usize)> = parts.into_iter().flatten().collect();
    best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    best.truncate(k);
    best.into_iter().map(|(s, row)| (set.ids[row], s)).collect()
}

/// The integer dot product of a stored row and the quantized query.
#[inline]
fn dot_i8_i16(row: &[i8], query: &[i16]) -> i32 {
    row.iter()
        .zip(query)
        .map(|(&v, &q)| i32::from(v) * i32::from(q))
        .sum()
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

/// Retrieves the top `k` chunk ids for a query.
pub fn search(
    index: &Index,
    vectors: Option<&VectorSet>,
    query_text: &str,
    query_vector: &[f32],
    mode: Mode,
    k: usize,
) -> Result<Vec<Hit>, StoreError> {
    let depth = (k * 4).max(50);
    let vector_hits = || -> Vec<(i64, f32)> {
        vectors.map_or_else(Vec::new, |set| vector_top_k(set, query_vector, depth))
    };
    Ok(match mode {
        Mode::Vector => vector_hits()
            .into_iter()
            .take(k)
            .map(|(id, s)| Hit {
                id,
                score: f64::from(s),
            })
            .collect(),
        Mode::Bm25 => index
            .bm25(query_text, k)?
            .into_iter()
            .map(|(id, s)| Hit { id, score: -s })
            .collect(),
        Mode::Hybrid => {
            // The vector scan runs on another core while SQLite answers BM25.
            let (by_vector, by_bm25) = std::thread::scope(|scope| {
                let scan = scope.spawn(vector_hits);
                let by_bm25 = index.bm25(query_text, depth);
                (scan.join().unwrap_or_default(), by_bm25)
            });
            let by_vector: Vec<i64> = by_vector.into_iter().map(|(id, _)| id).collect();
            let by_bm25: Vec<i64> = by_bm25?.into_iter().map(|(id, _)| id).collect();
            fuse(&[by_vector, by_bm25], k)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rag::store::{quantize, VectorValues};

    #[test]
    fn exact_scan_finds_the_nearest() {
        let rows: Vec<Vec<f32>> = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.6, 0.8, 0.0],
            vec![0.0, 0.0, 1.0],
        ];
        let mut set = VectorSet {
            ids: vec![10, 11, 12, 13],
            scales: Vec::new(),
            values: VectorValues::Owned(Vec::new()),
            dim: 3,
        };
        let mut values = Vec::new();
        for row in &rows {
            let q = quantize(row);
            set.scales
                .push(f32::from_le_bytes([q[0], q[1], q[2], q[3]]));
            values.extend(q[4..].iter().map(|&b| b as i8));
        }
        set.values = VectorValues::Owned(values);
        let hits = vector_top_k(&set, &[0.8, 0.6, 0.0], 2);
        let ids: Vec<i64> = hits.iter().map(|h| h.0).collect();
        assert_eq!(ids, [12, 10]);
        assert!((hits[0].1 - 0.96).abs() < 0.02);
    }

    #[test]
    fn rrf_rewards_agreement() {
        let hits = fuse(&[vec![1, 2, 3], vec![3, 1, 4]], 3);
        let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
        assert_eq!(ids, [1, 3, 2]);
    }
}
