//! Byte-pair merging of one pre-tokenized piece, exactly as tiktoken does it:
//! repeatedly merge the adjacent pair whose joined bytes have the lowest
//! rank, the leftmost one on ties, until no adjacent pair is a token.
//!
//! Short pieces use tiktoken's quadratic scan over a small array; longer
//! ones use a heap and a linked list, which gives the same merges in
//! O(n log n). Pieces longer than a chunk (a megabyte of spaces or of
//! minified code is one piece) are merged a chunk at a time, which keeps
//! the time linear in the piece's length (see [`merge_chunked`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::tokens::vocab::Vocabulary;

/// Pieces at most this long use the quadratic scan.
const SHORT_PIECE: usize = 128;

/// Pieces longer than this are merged a chunk of this many bytes at a time.
const CHUNK: usize = 4096;

const NO_RANK: u32 = u32::MAX;

/// Calls `emit` with the byte range of every token `piece` encodes to, in order.
pub fn split_piece(vocab: &Vocabulary, piece: &[u8], mut emit: impl FnMut(usize, usize)) {
    if piece.len() <= 1 || vocab.rank(piece).is_some() {
        emit(0, piece.len());
    } else if piece.len() <= SHORT_PIECE {
        let mut starts = [0u32; SHORT_PIECE + 1];
        let count = merge_short(vocab, piece, &mut starts);
        for k in 0..count {
            emit(starts[k] as usize, starts[k + 1] as usize);
        }
    } else if piece.len() <= CHUNK {
        merge_long(vocab, piece, emit);
    } else {
        let mut start = 0;
        for end in merge_chunked(vocab, piece) {
            emit(start, end as usize);
            start = end as usize;
        }
    }
}

/// How many tokens `piece` encodes to.
#[inline]
pub fn count_piece(vocab: &Vocabulary, piece: &[u8]) -> usize {
    if piece.len() <= 1 || vocab.rank(piece).is_some() {
        1
    } else if piece.len() <= SHORT_PIECE {
        let mut starts = [0u32; SHORT_PIECE + 1];
        merge_short(vocab, piece, &mut starts)
    } else if piece.len() <= CHUNK {
        let mut count = 0;
        merge_long(vocab, piece, |_, _| count += 1);
        count
    } else {
        merge_chunked(vocab, piece).len()
    }
}

/// tiktoken's `_byte_pair_merge`. Leaves the token start offsets in
/// `starts[..=count]` (the last one is `piece.len()`) and returns `count`.
fn merge_short(vocab: &Vocabulary, piece: &[u8], starts: &mut [u32; SHORT_PIECE + 1]) -> usize {
    let n = piece.len();
    let mut ranks = [NO_RANK; SHORT_PIECE + 1];
    for (i, start) in starts[..=n].iter_mut().enumerate() {
        *start = i as u32;
    }
    // ranks[i]: rank of the pair made of part i and part i + 1.
    for i in 0..n - 1 {
        ranks[i] = vocab.rank(&piece[i..i + 2]).unwrap_or(NO_RANK);
    }
    let mut parts = n; // parts live in starts[..parts], with starts[parts] == n
    loop {
        let mut best = NO_RANK;
        let mut at = 0;
        for (i, &rank) in ranks[..parts.saturating_sub(1)].iter().enumerate() {
            if rank < best {
                best = rank;
                at = i;
            }
        }
        if best == NO_RANK {
            break;
        }
        // Merge part `at` with part `at + 1`.
        starts.copy_within(at + 2..=parts, at + 1);
        ranks.copy_within(at + 2..parts, at + 1);
        parts -= 1;
        let pair_rank = |i: usize, starts: &[u32; SHORT_PIECE + 1]| {
            if i + 2 <= parts {
                vocab
                    .rank(&piece[starts[i] as usize..starts[i + 2] as usize])
                    .unwrap_or(NO_RANK)
            } else {
                NO_RANK
            }
        };
        ranks[at] = pair_rank(at, starts);
        if at > 0 {
            ranks[at - 1] = pair_rank(at - 1, starts);
        }
    }
    parts
}

/// One part of a long piece, in a doubly linked list indexed by start offset.
#[derive(Clone, Copy)]
struct Part {
    /// Start of the previous part, or `u32::MAX`.
    prev: u32,
    /// Start of the next part (`piece.len()` for the last).
    next: u32,
    /// Rank of this part joined with the next one.
    pair_rank: u32,
}

/// A heap entry: a pair's rank in the high half, its start in the low half,
/// so the smallest key is the lowest rank, leftmost on ties. An entry is
/// stale once its part's `pair_rank` differs: a part's pair only ever grows
/// to the right, and a rank names one byte string, so a rank never returns.
fn heap_key(rank: u32, start: usize) -> Reverse<u64> {
    Reverse((u64::from(rank) << 32) | start as u64)
}

fn merge_long(vocab: &Vocabulary, piece: &[u8], mut emit: impl FnMut(usize, usize)) {
    let n = piece.len();
    let mut parts: Vec<Part> = (0..n)
        .map(|i| Part {
            prev: if i == 0 { u32::MAX } else { i as u32 - 1 },
            next: i as u32 + 1,
            pair_rank: NO_RANK,
        })
        .collect();
    let mut heap: BinaryHeap<Reverse<u64>> = BinaryHeap::with_capacity(n);
    for i in 0..n - 1 {
        if let Some(rank) = vocab.rank(&piece[i..i + 2]) {
            parts[i].pair_rank = rank;
            heap.push(heap_key(rank, i));
        }
    }
    let end_of_next = |parts: &[Part], start: usize| -> Option<usize> {
        let next = parts[start].next as usize;
        (next < n).then(|| parts[next].next as usize)
    };
    while let Some(Reverse(key)) = heap.pop() {
        let (rank, start) = ((key >> 32) as u32, (key as u32) as usize);
        if parts[start].pair_rank != rank {
            continue;
        }
        // Merge the part at `start` with the one after it.
        let removed = parts[start].next as usize;
        let after = parts[removed].next;
        // The removed part's own pair is gone with it.
        parts[removed].pair_rank = NO_RANK;
        parts[start].next = after;
        if (after as usize) < n {
            parts[after as usize].prev = start as u32;
        }
        let mut rerank = |parts: &mut Vec<Part>, at: usize| {
            let rank = end_of_next(parts, at)
                .and_then(|end| vocab.rank(&piece[at..end]))
                .unwrap_or(NO_RANK);
            parts[at].pair_rank = rank;
            if rank != NO_RANK {
                heap.push(heap_key(rank, at));
            }
        };
        rerank(&mut parts, start);
        let prev = parts[start].prev;
        if prev != u32::MAX {
            rerank(&mut parts, prev as usize);
        }
    }
    let mut at = 0;
    while at < n {
        let next = parts[at].next as usize;
        emit(at, next);
        at = next;
    }
}

/// Merges a piece longer than [`CHUNK`] a chunk at a time and returns the
/// end offset of each token.
///
/// `ends` always holds the exact encoding of `piece[..done]`. To take in
/// the next chunk, the last few tokens are merged again together with the
/// chunk, since the new bytes may change how the end of the text so far
/// splits. The result is exact when the seam between the tokens kept and
/// the fresh ones is a pair that BPE itself leaves apart: a valid encoding
/// followed by a valid pair and another valid encoding sharing that token is
/// valid, and a text has only one valid encoding (see the `bpe` crate's
/// notes on its algorithm). When the seam is not such a pair, twice as many
/// tokens are merged again, up to the whole text so far.
fn merge_chunked(vocab: &Vocabulary, piece: &[u8]) -> Vec<u32> {
    let mut ends: Vec<u32> = Vec::with_capacity(piece.len() / 2);
    let mut fresh: Vec<u32> = Vec::with_capacity(2 * CHUNK);
    let mut done = 0;
    while done < piece.len() {
        let chunk_end = (done + CHUNK).min(piece.len());
        let mut redo = 2;
        loop {
            let keep = ends.len().saturating_sub(redo);
            let from = keep.checked_sub(1).map_or(0, |k| ends[k] as usize);
            fresh.clear();
            merge_long(vocab, &piece[from..chunk_end], |_, end| {
                fresh.push((from + end) as u32)
            });
            let seam_holds = keep == 0 || {
                let before = keep.checked_sub(2).map_or(0, |k| ends[k] as usize);
                stays_apart(vocab, &piece[before..from], &piece[from..fresh[0] as usize])
            };
            if seam_holds {
                ends.truncate(keep);
                ends.extend_from_slice(&fresh);
                break;
            }
            redo *= 2;
        }
        done = chunk_end;
    }
    ends
}

/// Whether BPE encodes the tokens `left` and `right`, side by side, as
/// exactly those two tokens.
fn stays_apart(vocab: &Vocabulary, left: &[u8], right: &[u8]) -> bool {
    let joined = [left, right].concat();
    let mut first_end = None;
    let mut tokens = 0;
    merge_long(vocab, &joined, |_, end| {
        tokens += 1;
        first_end.get_or_insert(end);
    });
    tokens == 2 && first_end == Some(left.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::vocab::{CL100K_BASE, O200K_BASE};

    fn split_long(vocab: &Vocabulary, piece: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        merge_long(vocab, piece, |a, b| out.push((a, b)));
        out
    }

    fn split_short(vocab: &Vocabulary, piece: &[u8]) -> Vec<(usize, usize)> {
        let mut starts = [0u32; SHORT_PIECE + 1];
        let count = merge_short(vocab, piece, &mut starts);
        (0..count)
            .map(|k| (starts[k] as usize, starts[k + 1] as usize))
            .collect()
    }

    #[test]
    fn heap_and_scan_merge_alike() {
        let samples: [&[u8]; 8] = [
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            b"                                             ",
            b"internationalizationinternationalization",
            b"0123456789abcdefABCDEF!!??..,,;;",
            "日本語のテキストと絵文字😀😀😀".as_bytes(),
            b"\xff\xfe\xfd\x00\x01\x02abc",
            b"zzzzzzzzqqqqqqqqxxxxxxxxjjjjjjjj",
            b"ab",
        ];
        for vocab in [&O200K_BASE, &CL100K_BASE] {
            for sample in samples {
                for len in 2..=sample.len() {
                    let piece = &sample[..len];
                    assert_eq!(split_long(vocab, piece), split_short(vocab, piece));
                }
            }
        }
    }

    fn ends_whole(vocab: &Vocabulary, piece: &[u8]) -> Vec<u32> {
        split_long(vocab, piece)
            .into_iter()
            .map(|(_, end)| end as u32)
            .collect()
    }

    /// Texts whose merges reach across any chunk seam: runs and short
    /// periods (where the split depends on the alignment from the very
    /// start), random letters, bytes and digits, and mixed scripts.
    fn long_samples() -> Vec<Vec<u8>> {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut samples: Vec<Vec<u8>> = Vec::new();
        for unit in [
            &b"a"[..],
            b" ",
            b"ab",
            b"abc",
            b"0",
            b"=-",
            b"aaaaaaab",
            b"\xff\xfe",
            "日本".as_bytes(),
            "😀".as_bytes(),
            b"internationalization",
        ] {
            for len in [CHUNK + 1, 3 * CHUNK - 5, 2 * CHUNK + 77] {
                samples.push(unit.iter().copied().cycle().take(len).collect());
            }
        }
        let letters: Vec<u8> = (0..5 * CHUNK).map(|_| rng.u8(b'a'..=b'z')).collect();
        let bytes: Vec<u8> = (0..3 * CHUNK).map(|_| rng.u8(..)).collect();
        let digits: Vec<u8> = (0..3 * CHUNK).map(|_| rng.u8(b'0'..=b'9')).collect();
        let few: Vec<u8> = (0..4 * CHUNK)
            .map(|_| *rng.choice(b"ab ").unwrap())
            .collect();
        samples.extend([letters, bytes, digits, few]);
        samples
    }

    #[test]
    fn chunked_merge_matches_the_whole_piece_merge() {
        for vocab in [&O200K_BASE, &CL100K_BASE] {
            for piece in long_samples() {
                assert_eq!(
                    merge_chunked(vocab, &piece),
                    ends_whole(vocab, &piece),
                    "piece of {} bytes starting {:?}",
                    piece.len(),
                    String::from_utf8_lossy(&piece[..16])
                );
            }
        }
    }

    #[test]
    fn a_seam_check_tells_pairs_that_merge() {
        // "  " is one token, so two single spaces do not stay apart;
        // "hello" and " world" do.
        assert!(!stays_apart(&O200K_BASE, b" ", b" "));
        assert!(stays_apart(&O200K_BASE, b"hello", b" world"));
    }

    #[test]
    fn ranges_cover_the_piece() {
        let piece = vec![b' '; 5000];
        let ranges = split_long(&O200K_BASE, &piece);
        assert_eq!(ranges.first().map(|r| r.0), Some(0));
        assert_eq!(ranges.last().map(|r| r.1), Some(5000));
        assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0));
    }
}
