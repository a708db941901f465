//! The Unicode classes that tiktoken's pre-tokenizer patterns ask about,
//! looked up per code point in tables built at compile time by `build.rs`.

use crate::tokens::static_table::{aligned_u16s, AlignedBytes};

/// `\p{L}`: any letter.
pub const LETTER: u8 = 1;
/// `\p{N}`: any number.
pub const NUMBER: u8 = 2;
/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`: the "upper" letters of o200k's pattern.
pub const UPPER_LIKE: u8 = 4;
/// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`: the "lower" letters of o200k's pattern.
pub const LOWER_LIKE: u8 = 8;
/// `\s`: Unicode white space.
pub const SPACE: u8 = 16;
/// `[\r\n]`.
pub const LINE_BREAK: u8 = 32;

static INDEX: &AlignedBytes<[u8]> = &AlignedBytes {
    _align: [],
    bytes: *include_bytes!(concat!(env!("OUT_DIR"), "/unicode_class.index")),
};
static BLOCKS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/unicode_class.blocks"));

/// The class bits of one code point.
#[inline]
pub fn class_of(c: char) -> u8 {
    let cp = c as u32;
    if cp < 256 {
        return BLOCKS[cp as usize];
    }
    let block = aligned_u16s(INDEX)[(cp >> 8) as usize] as usize;
    BLOCKS[block * 256 + (cp & 0xff) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_ascii_and_beyond() {
        assert_eq!(class_of('a'), LETTER | LOWER_LIKE);
        assert_eq!(class_of('A'), LETTER | UPPER_LIKE);
        assert_eq!(class_of('7'), NUMBER);
        assert_eq!(class_of(' '), SPACE);
        assert_eq!(class_of('\n'), SPACE | LINE_BREAK);
        assert_eq!(class_of('.'), 0);
        assert_eq!(class_of('漢'), LETTER | UPPER_LIKE | LOWER_LIKE);
        assert_eq!(class_of('\u{0301}'), UPPER_LIKE | LOWER_LIKE);
        assert_eq!(class_of('\u{3000}'), SPACE);
        assert_eq!(class_of('٣'), NUMBER);
        assert_eq!(class_of('😀'), 0);
        assert_eq!(class_of('\u{10FFFF}'), 0);
    }
}
