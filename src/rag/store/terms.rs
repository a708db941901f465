//! The words BM25 ranks on, one rule for both stores: text is split on
//! every character that is not a letter or digit, lowercased, stripped of
//! diacritics (`é` is `e`), and English words (all ASCII letters) are
//! stemmed with Snowball's English stemmer, so that "committing",
//! "commits" and "committed" are one word. A query's common English words
//! are left out. Also the fields a chunk is ranked on and their weights,
//! which SQLite's `bm25()` and the team store's SQL both use.

/// BM25's term-frequency saturation (FTS5's value).
pub const K1: f64 = 1.2;
/// BM25's length normalisation (FTS5's value).
pub const B: f64 = 0.75;

/// A field of a chunk that BM25 ranks on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The chunk's text.
    Text,
    /// Its heading path.
    Heading,
    /// Its source path.
    Path,
}

impl Field {
    /// How much a match in this field counts. A heading or a file name that
    /// holds a query's word says more about the chunk than one more use of
    /// it in the text (tuned on the dev split of `tests/data/rag-eval`).
    pub fn weight(self) -> f64 {
        match self {
            Field::Text => 1.0,
            Field::Heading => 2.0,
            Field::Path => 5.0,
        }
    }

    /// The tsvector weight label the team store marks it with.
    pub fn label(self) -> char {
        match self {
            Field::Text => 'A',
            Field::Heading => 'B',
            Field::Path => 'C',
        }
    }
}

/// The words of `text` as written but lowercased, in order.
fn lowercase_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The words of `text` as indexed ([`normal_form`]), in order.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    lowercase_words(text).map(normal_form)
}

/// A lowercased word as indexed: diacritics folded, and stemmed when it
/// is all ASCII letters (names and numbers such as `utf8` or `v2` stay).
fn normal_form(word: String) -> String {
    use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
    let folded: String = if word.is_ascii() {
        word
    } else {
        word.nfd().filter(|c| !is_combining_mark(*c)).collect()
    };
    if folded.bytes().all(|b| b.is_ascii_lowercase()) {
        rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English)
            .stem(&folded)
            .into_owned()
    } else {
        folded
    }
}

/// The words of `text` as the full-text index holds them, joined by spaces.
pub fn indexed_text(text: &str) -> String {
    words(text).collect::<Vec<_>>().join(" ")
}

/// The distinct words of a query that BM25 should look for: stop words
/// match nearly every chunk and add little, so they are dropped unless
/// nothing else is left.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    let mut content: Vec<String> = Vec::new();
    for lower in lowercase_words(query) {
        let stop = is_stop_word(&lower);
        let word = normal_form(lower);
        if !stop && !content.contains(&word) {
            content.push(word.clone());
        }
        if !all.contains(&word) {
            all.push(word);
        }
    }
    if content.is_empty() {
        all
    } else {
        content
    }
}

/// The longest word a tsvector takes (Postgres refuses longer lexemes).
const MAX_LEXEME_BYTES: usize = 2046;
/// The last position a tsvector records (later ones are clamped).
const MAX_POSITION: usize = 16_383;

/// A chunk's fields as a tsvector literal (`'word':1A,7A 'other':2B`) and
/// its length in words, which BM25 normalises by. Every word is quoted and
/// holds only letters and digits, so the literal needs no escaping.
pub fn tsvector(fields: &[(Field, &str)]) -> (String, usize) {
    let mut positions: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut length = 0usize;
    for (field, text) in fields {
        for word in words(text) {
            length += 1;
            if word.len() > MAX_LEXEME_BYTES {
                continue;
            }
            let at = length.min(MAX_POSITION);
            positions
                .entry(word)
                .or_default()
                .push(format!("{at}{}", field.label()));
        }
    }
    let literal = positions
        .into_iter()
        .map(|(word, at)| format!("'{word}':{}", at.join(",")))
        .collect::<Vec<_>>()
        .join(" ");
    (literal, length)
}

/// A tsquery matching any of `terms` (each quoted; they hold only letters
/// and digits).
pub fn any_of(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Common English words left out of BM25 queries.
fn is_stop_word(word: &str) -> bool {
    const STOP_WORDS: &[&str] = &[
        "a", "about", "after", "all", "an", "and", "any", "are", "as", "at", "be", "by", "can",
        "could", "do", "does", "for", "from", "get", "has", "have", "how", "i", "if", "in", "into",
        "is", "it", "its", "me", "my", "of", "on", "or", "our", "should", "so", "that", "the",
        "their", "then", "there", "these", "this", "to", "was", "we", "what", "when", "where",
        "which", "who", "why", "will", "with", "would", "you", "your",
    ];
    STOP_WORDS.binary_search(&word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_keep_distinct_content_words() {
        assert_eq!(
            query_terms("How do I RESET the reset-password flow?"),
            ["reset", "password", "flow"]
        );
        assert_eq!(
            query_terms("Committing commits, café and UTF8"),
            ["commit", "cafe", "utf8"]
        );
        assert_eq!(query_terms("what is it"), ["what", "is", "it"]);
        assert!(query_terms("?! --").is_empty());
    }

    #[test]
    fn tsvectors_carry_positions_fields_and_length() {
        let (literal, length) = tsvector(&[
            (Field::Heading, "Set up"),
            (Field::Text, "set the C.I. up"),
            (Field::Path, "docs/setup.md"),
        ]);
        assert_eq!(length, 10);
        assert_eq!(
            literal,
            "'c':5A 'doc':8C 'i':6A 'md':10C 'set':1B,3A 'setup':9C 'the':4A 'up':2B,7A"
        );
    }

    #[test]
    fn giant_words_are_left_out_but_counted() {
        let blob = "x".repeat(5000);
        let (literal, length) = tsvector(&[(Field::Text, &format!("a {blob} b"))]);
        assert_eq!(length, 3);
        assert_eq!(literal, "'a':1A 'b':3A");
    }

    #[test]
    fn stop_words_are_sorted_for_the_binary_search() {
        assert!(is_stop_word("the") && is_stop_word("your") && !is_stop_word("mutex"));
    }
}
