//! Exact token counting: tiktoken's `o200k_base` and `cl100k_base`
//! encodings and chat-message overhead (which model uses which is in
//! [`crate::llm::models`]).
//!
//! The vocabularies are compiled into the binary (see `build.rs`), so an
//! encoder costs nothing to create; pre-tokenization is hand-written to
//! match tiktoken's regular expressions exactly in linear time.

mod bpe;
pub mod chat;
mod pretokenize;
mod static_table;
mod unicode_class;
mod vocab;
mod vocab_hash;

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;

use pretokenize::Pattern;
use vocab::Vocabulary;

/// A tiktoken encoding confab can count exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, GPT-5 and the o-series.
    O200kBase,
    /// GPT-4, GPT-3.5-turbo and the text-embedding-3 models.
    Cl100kBase,
}

impl Encoding {
    /// Every supported encoding.
    pub const ALL: [Encoding; 2] = [Encoding::O200kBase, Encoding::Cl100kBase];

    /// The name tiktoken uses for it.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    fn vocabulary(self) -> &'static Vocabulary {
        match self {
            Encoding::O200kBase => &vocab::O200K_BASE,
            Encoding::Cl100kBase => &vocab::CL100K_BASE,
        }
    }

    fn pattern(self) -> Pattern {
        match self {
            Encoding::O200kBase => Pattern::O200k,
            Encoding::Cl100kBase => Pattern::Cl100k,
        }
    }

    /// The number of tokens tiktoken's `encode_ordinary` gives for `text`.
    pub fn count(self, text: &str) -> usize {
        let vocab = self.vocabulary();
        let mut total = 0;
        pretokenize::for_each_piece(self.pattern(), text, |piece| {
            total += bpe::count_piece(vocab, piece.as_bytes());
        });
        total
    }

    /// Like [`Encoding::count`], but splits a large text at exact boundaries
    /// (see [`split_points`]) and counts the parts on rayon's thread pool.
    pub fn count_parallel(self, text: &str) -> usize {
        if text.len() < PARALLEL_PART_BYTES * 2 {
            return self.count(text);
        }
        let bounds = split_points(text, PARALLEL_PART_BYTES);
        bounds
            .par_windows(2)
            .map(|w| self.count(&text[w[0]..w[1]]))
            .sum()
    }

    /// The token ids tiktoken's `encode_ordinary` gives for `text`.
    pub fn encode(self, text: &str) -> Vec<u32> {
        let vocab = self.vocabulary();
        let mut tokens = Vec::with_capacity(text.len() / 4);
        pretokenize::for_each_piece(self.pattern(), text, |piece| {
            let bytes = piece.as_bytes();
            bpe::split_piece(vocab, bytes, |start, end| {
                // Every split part is a token by construction of the merge.
                if let Some(rank) = vocab.rank(&bytes[start..end]) {
                    tokens.push(rank);
                }
            });
        });
        tokens
    }

    /// The bytes of the given tokens, concatenated (the inverse of [`Encoding::encode`]).
    pub fn decode_bytes(self, tokens: &[u32]) -> Vec<u8> {
        let vocab = self.vocabulary();
        tokens
            .iter()
            .filter_map(|&t| vocab.token_bytes(t))
            .flatten()
            .copied()
            .collect()
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for an encoding name confab does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown encoding `{0}`; known encodings: o200k_base, cl100k_base")]
pub struct UnknownEncoding(pub String);

impl FromStr for Encoding {
    type Err = UnknownEncoding;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Encoding::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| UnknownEncoding(s.to_string()))
    }
}

/// The pre-tokenized pieces of `text` (what BPE merges one by one), for
/// tests and tools that inspect tokenization.
pub fn pieces(encoding: Encoding, text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    pretokenize::for_each_piece(encoding.pattern(), text, |piece| out.push(piece));
    out
}

/// Target size of the parts a large text is split into for parallel counting.
pub const PARALLEL_PART_BYTES: usize = 1 << 20;

/// Byte offsets (starting with 0, ending with `text.len()`) that cut `text`
/// into parts of roughly `target` bytes, only where tokenization stays
/// exact: right after a `\n` that is followed by an ASCII letter.
///
/// Why that is exact for both encodings: no piece that contains a `\n` can
/// extend past it to a letter (the only patterns that match `\n` end in
/// `[\r\n]`, `[\r\n/]` or white space), and no piece can start at a `\n`
/// and reach the letter (a word's optional leading character excludes
/// `\r\n`). So every tokenization has a piece boundary there, and the piece
/// after it is matched the same whether or not the text before it exists:
/// the patterns have no look-behind. A text without such places stays whole.
pub fn split_points(text: &str, target: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut bounds = vec![0];
    let mut from = target;
    while from < bytes.len() {
        let found = memchr_newline_letter(&bytes[from..]).map(|p| from + p);
        match found {
            Some(cut) => {
                bounds.push(cut);
                from = cut + target;
            }
            None => break,
        }
    }
    bounds.push(bytes.len());
    bounds
}

/// The offset just after the first `\n` that is followed by an ASCII letter.
fn memchr_newline_letter(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(2)
        .position(|w| w[0] == b'\n' && w[1].is_ascii_alphabetic())
        .map(|p| p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_strings() {
        assert_eq!(Encoding::Cl100kBase.encode("hello world"), [15339, 1917]);
        assert_eq!(Encoding::O200kBase.count("hello world"), 2);
        assert_eq!(Encoding::O200kBase.count(""), 0);
        let text = "Some text, with 123 numbers and ünïcödé 🤖.\n";
        for e in Encoding::ALL {
            assert_eq!(e.decode_bytes(&e.encode(text)), text.as_bytes());
            assert_eq!(e.encode(text).len(), e.count(text));
        }
    }

    #[test]
    fn split_points_cut_after_newline_before_letter() {
        let text = "ab\ncd\n1\nef";
        assert_eq!(split_points(text, 1), [0, 3, 8, 10]);
        assert_eq!(split_points("no newline here", 1), [0, 15]);
    }
}
