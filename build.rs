//! Turns the tokenizer vocabularies and the Unicode classes the pre-tokenizer
//! needs into tables that the binary maps in at no cost at start-up.
//!
//! For each encoding in `assets/tokenizers/` it writes three little-endian
//! arrays to `OUT_DIR`: an open-addressing hash table of token ranks, the
//! byte offsets of each rank's bytes, and the concatenated token bytes. For
//! the Unicode classes it writes a two-level table (block index, then blocks
//! of 256 class bytes) computed with `regex-syntax`, the same crate whose
//! tables tiktoken's regular expressions use, so both agree on every code
//! point.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;

#[path = "src/tokens/vocab_hash.rs"]
mod vocab_hash;

/// Marks an empty slot in the hash table.
const EMPTY_SLOT: u32 = u32::MAX;

fn main() {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    assert_eq!(
        std::env::var("CARGO_CFG_TARGET_ENDIAN").as_deref(),
        Ok("little"),
        "confab's compile-time tables are laid out for little-endian targets"
    );
    for name in ["o200k_base", "cl100k_base"] {
        let source = Path::new("assets/tokenizers").join(format!("{name}.tiktoken"));
        println!("cargo:rerun-if-changed={}", source.display());
        build_vocabulary(&source, &out_dir, name);
    }
    println!("cargo:rerun-if-changed=src/tokens/vocab_hash.rs");
    println!("cargo:rerun-if-changed=build.rs");
    build_unicode_classes(&out_dir);
}

fn build_vocabulary(source: &Path, out_dir: &Path, name: &str) {
    let text =
        fs::read_to_string(source).unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    let mut tokens: Vec<(u32, Vec<u8>)> = Vec::new();
    for (line_number, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (encoded, rank) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("{}:{}: no rank", source.display(), line_number + 1));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_else(|e| panic!("{}:{}: {e}", source.display(), line_number + 1));
        let rank: u32 = rank
            .parse()
            .unwrap_or_else(|e| panic!("{}:{}: {e}", source.display(), line_number + 1));
        tokens.push((rank, bytes));
    }
    tokens.sort_by_key(|(rank, _)| *rank);
    let rank_count = tokens.last().map_or(0, |(rank, _)| *rank as usize + 1);

    // Offsets by rank; a rank missing from the file gets an empty range.
    let mut pool: Vec<u8> = Vec::new();
    let mut offsets: Vec<u32> = Vec::with_capacity(rank_count + 1);
    let mut next = tokens.iter().peekable();
    for rank in 0..rank_count as u32 {
        offsets.push(pool.len() as u32);
        if let Some((_, bytes)) = next.next_if(|(r, _)| *r == rank) {
            pool.extend_from_slice(bytes);
        }
    }
    offsets.push(pool.len() as u32);

    let slot_count = (tokens.len() * 2).next_power_of_two();
    let shift = 64 - slot_count.trailing_zeros();
    let mut slots = vec![EMPTY_SLOT; slot_count];
    for (rank, bytes) in &tokens {
        let mut slot = (vocab_hash::hash_token_bytes(bytes) >> shift) as usize;
        while slots[slot] != EMPTY_SLOT {
            slot = (slot + 1) & (slot_count - 1);
        }
        slots[slot] = *rank;
    }

    write_u32s(&out_dir.join(format!("{name}.slots")), &slots);
    write_u32s(&out_dir.join(format!("{name}.offsets")), &offsets);
    fs::write(out_dir.join(format!("{name}.bytes")), &pool).expect("writing token bytes");
}

fn write_u32s(path: &Path, values: &[u32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Class bits; keep in step with `src/tokens/unicode_class.rs`.
const CLASSES: [(&str, u8); 6] = [
    (r"\p{L}", 1),
    (r"\p{N}", 2),
    (r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", 4),
    (r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]", 8),
    (r"\s", 16),
    (r"[\r\n]", 32),
];

fn build_unicode_classes(out_dir: &Path) {
    let mut classes = vec![0u8; 0x11_0000];
    for (pattern, bit) in CLASSES {
        let hir = regex_syntax::Parser::new()
            .parse(pattern)
            .unwrap_or_else(|e| panic!("parsing {pattern}: {e}"));
        let regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class)) =
            hir.kind()
        else {
            panic!("{pattern} is not a Unicode class");
        };
        for range in class.ranges() {
            for cp in range.start() as u32..=range.end() as u32 {
                classes[cp as usize] |= bit;
            }
        }
    }
    let mut blocks: Vec<&[u8]> = Vec::new();
    let mut index: Vec<u8> = Vec::new();
    for block in classes.chunks(256) {
        let id = match blocks.iter().position(|b| *b == block) {
            Some(id) => id,
            None => {
                blocks.push(block);
                blocks.len() - 1
            }
        };
        let id = u16::try_from(id).expect("fewer than 65536 distinct blocks");
        index.extend_from_slice(&id.to_le_bytes());
    }
    fs::write(out_dir.join("unicode_class.index"), index).expect("writing class index");
    fs::write(out_dir.join("unicode_class.blocks"), blocks.concat()).expect("writing class blocks");
}
