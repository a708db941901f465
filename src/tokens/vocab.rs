//! A BPE vocabulary (token bytes -> rank) held in tables built at compile
//! time: an open-addressing hash table over the ranks, and each rank's
//! bytes. Lookups cost one hash and usually one comparison; loading costs
//! nothing.

use crate::tokens::static_table::{aligned_u32s, AlignedBytes};
use crate::tokens::vocab_hash::hash_token_bytes;

/// Marks an empty slot in the hash table (same value as in `build.rs`).
const EMPTY_SLOT: u32 = u32::MAX;

/// One encoding's vocabulary.
pub struct Vocabulary {
    slots: &'static AlignedBytes<[u8]>,
    offsets: &'static AlignedBytes<[u8]>,
    bytes: &'static [u8],
}

macro_rules! embedded_vocabulary {
    ($name:literal) => {
        Vocabulary {
            slots: &AlignedBytes {
                _align: [],
                bytes: *include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".slots")),
            },
            offsets: &AlignedBytes {
                _align: [],
                bytes: *include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".offsets")),
            },
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".bytes")),
        }
    };
}

/// The `o200k_base` vocabulary (GPT-4o, GPT-4.1, GPT-5, o-series).
pub static O200K_BASE: Vocabulary = embedded_vocabulary!("o200k_base");
/// The `cl100k_base` vocabulary (GPT-4, GPT-3.5-turbo, text-embedding-3).
pub static CL100K_BASE: Vocabulary = embedded_vocabulary!("cl100k_base");

impl Vocabulary {
    /// The rank (token id) of `piece`, if it is a whole token.
    #[inline]
    pub fn rank(&self, piece: &[u8]) -> Option<u32> {
        let slots = aligned_u32s(self.slots);
        let offsets = aligned_u32s(self.offsets);
        let mask = slots.len() - 1;
        let shift = 64 - slots.len().trailing_zeros();
        let mut slot = (hash_token_bytes(piece) >> shift) as usize;
        loop {
            let rank = slots[slot];
            if rank == EMPTY_SLOT {
                return None;
            }
            let start = offsets[rank as usize] as usize;
            let end = offsets[rank as usize + 1] as usize;
            if &self.bytes[start..end] == piece {
                return Some(rank);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The bytes of token `rank`, if the vocabulary has it.
    pub fn token_bytes(&self, rank: u32) -> Option<&'static [u8]> {
        let offsets = aligned_u32s(self.offsets);
        let start = *offsets.get(rank as usize)? as usize;
        let end = *offsets.get(rank as usize + 1)? as usize;
        (end > start).then(|| &self.bytes[start..end])
    }

    /// How many ranks the vocabulary spans.
    #[cfg(test)]
    fn len(&self) -> usize {
        aligned_u32s(self.offsets).len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_round_trips() {
        for vocab in [&O200K_BASE, &CL100K_BASE] {
            for rank in 0..vocab.len() as u32 {
                if let Some(bytes) = vocab.token_bytes(rank) {
                    assert_eq!(vocab.rank(bytes), Some(rank));
                }
            }
            assert_eq!(vocab.rank(b"this is surely not one token at all"), None);
        }
        assert_eq!(O200K_BASE.len(), 199_998);
        assert_eq!(CL100K_BASE.len(), 100_256);
        assert_eq!(CL100K_BASE.rank(b"hello"), Some(15339));
    }
}
