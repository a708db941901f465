//! The hash function of the compile-time vocabulary tables.
//!
//! `build.rs` includes this file too, so the table it lays out and the
//! lookups at run time hash every token's bytes the same way.

/// Multiplier of the FxHash family: cheap, and mixes well enough for the
/// half-full open-addressing tables built from BPE vocabularies.
const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

/// Hashes a byte string (a token, or a candidate for one) to 64 bits.
#[inline]
pub fn hash_token_bytes(bytes: &[u8]) -> u64 {
    let mut hash = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(MULTIPLIER);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(MULTIPLIER);
    }
    hash ^= hash >> 31;
    hash = hash.wrapping_mul(MULTIPLIER);
    hash ^ (hash >> 29)
}
