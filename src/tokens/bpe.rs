//! Byte-pair merging of one pre-tokenized piece, exactly as tiktoken does it:
//! repeatedly merge the adjacent pair whose joined bytes have the lowest
//! rank, the leftmost one on ties, until no adjacent pair is a token.
//!
//! Short pieces use tiktoken's quadratic scan over a small array; long ones
//! (a megabyte of spaces is one piece) use a heap and a linked list, which
//! gives the same merges in O(n log n).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::tokens::vocab::Vocabulary;

/// Pieces at most this long use the quadratic scan.
const SHORT_PIECE: usize = 128;

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
    } else {
        merge_long(vocab, piece, emit);
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
    } else {
        let mut count = 0;
        merge_long(vocab, piece, |_, _| count += 1);
        count
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
    /// Bumped whenever `pair_rank` changes, to tell stale heap entries.
    generation: u32,
}

fn merge_long(vocab: &Vocabulary, piece: &[u8], mut emit: impl FnMut(usize, usize)) {
    let n = piece.len();
    let mut parts: Vec<Part> = (0..n)
        .map(|i| Part {
            prev: if i == 0 { u32::MAX } else { i as u32 - 1 },
            next: i as u32 + 1,
            pair_rank: NO_RANK,
            generation: 0,
        })
        .collect();
    let mut heap: BinaryHeap<Reverse<(u32, u32, u32)>> = BinaryHeap::with_capacity(n);
    for i in 0..n - 1 {
        if let Some(rank) = vocab.rank(&piece[i..i + 2]) {
            parts[i].pair_rank = rank;
            heap.push(Reverse((rank, i as u32, 0)));
        }
    }
    let end_of_next = |parts: &[Part], start: usize| -> Option<usize> {
        let next = parts[start].next as usize;
        (next < n).then(|| parts[next].next as usize)
    };
    while let Some(Reverse((rank, start, generation))) = heap.pop() {
        let start = start as usize;
        if parts[start].generation != generation || parts[start].pair_rank != rank {
            continue;
        }
        // Merge the part at `start` with the one after it.
        let removed = parts[start].next as usize;
        let after = parts[removed].next;
        // The removed part's own pair is gone with it.
        parts[removed].pair_rank = NO_RANK;
        parts[removed].generation += 1;
        parts[start].next = after;
        if (after as usize) < n {
            parts[after as usize].prev = start as u32;
        }
        let mut rerank = |parts: &mut Vec<Part>, at: usize| {
            let rank = end_of_next(parts, at)
                .and_then(|end| vocab.rank(&piece[at..end]))
                .unwrap_or(NO_RANK);
            let part = &mut parts[at];
            part.pair_rank = rank;
            part.generation += 1;
            if rank != NO_RANK {
                heap.push(Reverse((rank, at as u32, part.generation)));
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

    #[test]
    fn ranges_cover_the_piece() {
        let piece = vec![b' '; 5000];
        let ranges = split_long(&O200K_BASE, &piece);
        assert_eq!(ranges.first().map(|r| r.0), Some(0));
        assert_eq!(ranges.last().map(|r| r.1), Some(5000));
        assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0));
    }
}
