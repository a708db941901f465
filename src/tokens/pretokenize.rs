//! Pre-tokenization: splitting text into the pieces that BPE encodes one by
//! one, exactly as tiktoken's regular expressions do, but by hand.
//!
//! tiktoken matches these patterns with a backtracking engine (o200k_base):
//!
//! ```text
//! [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//! |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//! |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//! ```
//!
//! and (cl100k_base):
//!
//! ```text
//! '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+
//! |\s++$|\s*[\r\n]|\s+(?!\S)|\s
//! ```
//!
//! Each function below returns the end of the match that starts at a given
//! position, following the first successful path the backtracking engine
//! would take. That takes linear time and no stack, where the regex engine
//! overflows its stack on a megabyte of spaces.

use crate::tokens::unicode_class::{
    class_of, LETTER, LINE_BREAK, LOWER_LIKE, NUMBER, SPACE, UPPER_LIKE,
};

/// Which tokenizer pattern to split by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// The `o200k_base` pattern.
    O200k,
    /// The `cl100k_base` pattern.
    Cl100k,
}

/// Calls `emit` with every piece of `text`, in order.
#[inline]
pub fn for_each_piece<'t>(pattern: Pattern, text: &'t str, mut emit: impl FnMut(&'t str)) {
    let bytes = text.as_bytes();
    let mut start = 0;
    match pattern {
        Pattern::O200k => {
            while start < bytes.len() {
                let end = o200k_piece_end(bytes, start);
                emit(&text[start..end]);
                start = end;
            }
        }
        Pattern::Cl100k => {
            while start < bytes.len() {
                let end = cl100k_piece_end(bytes, start);
                emit(&text[start..end]);
                start = end;
            }
        }
    }
}

/// A decoded character: its class bits, its UTF-8 length and the code point.
#[derive(Clone, Copy)]
struct Char {
    class: u8,
    len: usize,
    code: u32,
}

/// Decodes the character at byte `i` of valid UTF-8, or `None` at the end.
#[inline(always)]
fn char_at(s: &[u8], i: usize) -> Option<Char> {
    let b0 = *s.get(i)?;
    if b0 < 0x80 {
        return Some(Char {
            class: class_of(b0 as char),
            len: 1,
            code: b0 as u32,
        });
    }
    let (len, code) = if b0 < 0xE0 {
        (2, ((b0 as u32 & 0x1F) << 6) | (s[i + 1] as u32 & 0x3F))
    } else if b0 < 0xF0 {
        (
            3,
            ((b0 as u32 & 0x0F) << 12) | ((s[i + 1] as u32 & 0x3F) << 6) | (s[i + 2] as u32 & 0x3F),
        )
    } else {
        (
            4,
            ((b0 as u32 & 0x07) << 18)
                | ((s[i + 1] as u32 & 0x3F) << 12)
                | ((s[i + 2] as u32 & 0x3F) << 6)
                | (s[i + 3] as u32 & 0x3F),
        )
    };
    // Valid UTF-8 only ever decodes to a valid scalar value.
    let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
    Some(Char {
        class: class_of(c),
        len,
        code,
    })
}

#[inline(always)]
fn has(c: Option<Char>, bits: u8) -> bool {
    c.is_some_and(|c| c.class & bits != 0)
}

/// `[^\r\n\p{L}\p{N}]`: a character that may lead a word.
#[inline(always)]
fn is_word_prefix(c: Char) -> bool {
    c.class & (LINE_BREAK | LETTER | NUMBER) == 0
}

/// `[^\s\p{L}\p{N}]`: punctuation, symbols, marks and the like.
#[inline(always)]
fn is_punct(c: Char) -> bool {
    c.class & (SPACE | LETTER | NUMBER) == 0
}

/// Does `c` match the ASCII letter `lower` case-insensitively, with the
/// Unicode simple case folding that the regex engine applies?
#[inline(always)]
fn folds_to(c: Option<Char>, lower: u8) -> bool {
    match c {
        Some(c) => {
            c.code == lower as u32
                || c.code == lower.to_ascii_uppercase() as u32
                || (lower == b's' && c.code == 0x17F) // LATIN SMALL LETTER LONG S
                || (lower == b'k' && c.code == 0x212A) // KELVIN SIGN
        }
        None => false,
    }
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `i`: the end of the contraction, if one.
#[inline]
fn contraction_end(s: &[u8], i: usize) -> Option<usize> {
    if s.get(i) != Some(&b'\'') {
        return None;
    }
    let first = char_at(s, i + 1)?;
    let after_first = i + 1 + first.len;
    for single in [b's', b't', b'm', b'd'] {
        if folds_to(Some(first), single) {
            return Some(after_first);
        }
    }
    let second = char_at(s, after_first);
    for (a, b) in [(b'r', b'e'), (b'v', b'e'), (b'l', b'l')] {
        if folds_to(Some(first), a) && folds_to(second, b) {
            return Some(after_first + second.map_or(0, |c| c.len));
        }
    }
    None
}

/// `[U]*[W]+` at `i` (U: upper-like, W: lower-like), backtracking like the
/// regex engine: the end of the match, if any.
#[inline]
fn cased_word_end(s: &[u8], i: usize) -> Option<usize> {
    let mut at = i;
    let mut last_lower_end = None;
    while let Some(c) = char_at(s, at) {
        if c.class & UPPER_LIKE == 0 {
            break;
        }
        at += c.len;
        if c.class & LOWER_LIKE != 0 {
            last_lower_end = Some(at);
        }
    }
    if has(char_at(s, at), LOWER_LIKE) {
        while let Some(c) = char_at(s, at).filter(|c| c.class & LOWER_LIKE != 0) {
            at += c.len;
        }
        return Some(at);
    }
    // The upper-like run must give back characters until a lower-like one
    // can stand for `[W]+`; the last one in the run is where that happens.
    last_lower_end
}

/// `[U]+[W]*` at `i`: the end of the match, if any.
#[inline]
fn upper_word_end(s: &[u8], i: usize) -> Option<usize> {
    let mut at = i;
    while let Some(c) = char_at(s, at).filter(|c| c.class & UPPER_LIKE != 0) {
        at += c.len;
    }
    if at == i {
        return None;
    }
    while let Some(c) = char_at(s, at).filter(|c| c.class & LOWER_LIKE != 0) {
        at += c.len;
    }
    Some(at)
}

/// ` ?[^\s\p{L}\p{N}]+` followed by any of `tail` bytes, at `i`.
#[inline]
fn punct_run_end(s: &[u8], i: usize, first: Char, tail: &[u8]) -> Option<usize> {
    let mut at = i;
    if first.code == b' ' as u32 && char_at(s, i + 1).is_some_and(is_punct) {
        at += 1;
    } else if !is_punct(first) {
        return None;
    }
    while let Some(c) = char_at(s, at).filter(|c| is_punct(*c)) {
        at += c.len;
    }
    while s.get(at).is_some_and(|b| tail.contains(b)) {
        at += 1;
    }
    Some(at)
}

/// A run of `\s` from `i`: its end, the start of its last character and the
/// end of its last `\r` or `\n`.
#[inline]
fn space_run(s: &[u8], i: usize) -> (usize, usize, Option<usize>) {
    let mut at = i;
    let mut last_start = i;
    let mut last_break_end = None;
    while let Some(c) = char_at(s, at).filter(|c| c.class & SPACE != 0) {
        last_start = at;
        at += c.len;
        if c.class & LINE_BREAK != 0 {
            last_break_end = Some(at);
        }
    }
    (at, last_start, last_break_end)
}

/// `\p{N}{1,3}` at `i`, given that the first character is a number.
#[inline]
fn number_end(s: &[u8], i: usize) -> usize {
    let mut at = i;
    for _ in 0..3 {
        match char_at(s, at).filter(|c| c.class & NUMBER != 0) {
            Some(c) => at += c.len,
            None => break,
        }
    }
    at
}

/// The end of the o200k_base piece starting at `i` (`i < s.len()`).
pub fn o200k_piece_end(s: &[u8], i: usize) -> usize {
    let Some(first) = char_at(s, i) else {
        return s.len();
    };
    // Alternatives 1 and 2: words, with an optional leading character.
    if first.class & (LETTER | UPPER_LIKE | LOWER_LIKE) != 0 || is_word_prefix(first) {
        let with_prefix = is_word_prefix(first);
        let word = with_prefix
            .then(|| cased_word_end(s, i + first.len))
            .flatten()
            .or_else(|| cased_word_end(s, i))
            .or_else(|| {
                with_prefix
                    .then(|| upper_word_end(s, i + first.len))
                    .flatten()
            })
            .or_else(|| upper_word_end(s, i));
        if let Some(end) = word {
            return contraction_end(s, end).unwrap_or(end);
        }
    }
    if first.class & NUMBER != 0 {
        return number_end(s, i);
    }
    if let Some(end) = punct_run_end(s, i, first, b"\r\n/") {
        return end;
    }
    // What is left is white space.
    let (run_end, last_start, last_break_end) = space_run(s, i);
    if let Some(end) = last_break_end {
        return end; // \s*[\r\n]+
    }
    if run_end == s.len() || last_start == i {
        return run_end; // \s+(?!\S) at the end of the text, or \s+
    }
    last_start // \s+(?!\S): leave the last space for the next piece
}

/// The end of the cl100k_base piece starting at `i` (`i < s.len()`).
pub fn cl100k_piece_end(s: &[u8], i: usize) -> usize {
    let Some(first) = char_at(s, i) else {
        return s.len();
    };
    if let Some(end) = contraction_end(s, i) {
        return end;
    }
    // [^\r\n\p{L}\p{N}]?+\p{L}++
    let letters_from = if is_word_prefix(first) {
        Some(i + first.len)
    } else if first.class & LETTER != 0 {
        Some(i)
    } else {
        None
    };
    if let Some(from) = letters_from {
        let mut at = from;
        while let Some(c) = char_at(s, at).filter(|c| c.class & LETTER != 0) {
            at += c.len;
        }
        if at > from {
            return at;
        }
    }
    if first.class & NUMBER != 0 {
        return number_end(s, i);
    }
    if let Some(end) = punct_run_end(s, i, first, b"\r\n") {
        return end;
    }
    let (run_end, last_start, last_break_end) = space_run(s, i);
    if run_end == s.len() {
        return run_end; // \s++$
    }
    if let Some(end) = last_break_end {
        return end; // \s*[\r\n]
    }
    if last_start > i {
        return last_start; // \s+(?!\S)
    }
    i + first.len // \s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(pattern: Pattern, text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for_each_piece(pattern, text, |p| out.push(p));
        out
    }

    #[test]
    fn splits_like_the_documented_examples() {
        assert_eq!(
            pieces(Pattern::O200k, "Hello world, it's 2024!\n\n  ok"),
            ["Hello", " world", ",", " it's", " ", "202", "4", "!\n\n", " ", " ok"]
        );
        assert_eq!(
            pieces(Pattern::Cl100k, "Hello world, it's 2024!\n\n  ok"),
            ["Hello", " world", ",", " it", "'s", " ", "202", "4", "!\n\n", " ", " ok"]
        );
        assert_eq!(pieces(Pattern::O200k, "HTTPServer"), ["HTTPServer"]);
        assert_eq!(pieces(Pattern::O200k, "   "), ["   "]);
        assert_eq!(pieces(Pattern::Cl100k, "a   "), ["a", "   "]);
    }
}
