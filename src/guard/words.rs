//! The word stream the injection patterns match: words only, lowercase,
//! one space apart, with word-level disguises undone. Letters split by
//! hyphens, dots or single spaces (`ig-nore`, `i.g.n.o.r.e`, `i g n o r e`)
//! are joined, leetspeak (`1gn0r3`, `$y$t3m`) is read as letters, and
//! typoglycemia variants of key words (`ignroe`) become the key word.
//! Each word keeps its place in the text it came from and which of those
//! disguises it had, and whether it starts a sentence.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::guard::injection::Hidden;
use crate::guard::normalize::Vias;

/// One word of [`Words::text`].
#[derive(Clone, Copy, Debug)]
struct Word {
    /// Offset in [`Words::text`].
    at: usize,
    /// Byte range in the source text.
    start: usize,
    end: usize,
    /// The disguises undone in this word.
    via: Vias,
    /// Whether a sentence starts with this word.
    sentence: bool,
}

/// The words of a text, folded for matching.
pub struct Words {
    /// The words, one space apart; ` | ` where a sentence ends with `.`,
    /// `!`, `?` or `;`, so that no pattern spans two sentences.
    pub text: String,
    words: Vec<Word>,
    /// Whether a sentence ended since the last word.
    pending_break: bool,
}

/// Letters of one word split by a single one of these are joined when the
/// whole is a key word (or every part is one letter).
const JOINERS: &[char] = &['-', '.', '·', '‐', '‑', '*', '~'];

/// What ends a sentence for the patterns: none spans one of these.
const HARD_ENDS: &[char] = &['.', '!', '?', ';', '。', '！', '？', '；'];

/// Characters read as letters inside a word (leetspeak).
const LEET_SIGNS: &[char] = &['$', '!'];

/// What ends a sentence in the gap before a word.
const SENTENCE_ENDS: &[char] = &[
    '.', '!', '?', ':', ';', '\n', '"', '“', '”', '«', '»', '(', ')', '[', ']', '>', '*', '。',
    '！', '？', '：', '；',
];

/// A word being read: its pieces between joiners.
#[derive(Default)]
struct Compound {
    pieces: Vec<(usize, usize)>,
}

impl Words {
    /// The words of `source`.
    pub fn new(source: &str) -> Words {
        let mut words = Words {
            text: String::with_capacity(source.len()),
            words: Vec::new(),
            pending_break: false,
        };
        let mut reader = Reader::default();
        let mut chars = source.char_indices().peekable();
        let mut piece_start: Option<usize> = None;
        let mut compound = Compound::default();
        while let Some((at, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            let in_word = c.is_alphanumeric()
                || c == '_'
                || c == '@'
                || (LEET_SIGNS.contains(&c) && next.is_some_and(char::is_alphanumeric));
            if in_word {
                piece_start.get_or_insert(at);
                continue;
            }
            if let Some(start) = piece_start.take() {
                compound.pieces.push((start, at));
                let joins = JOINERS.contains(&c) && next.is_some_and(char::is_alphanumeric);
                if joins {
                    continue;
                }
            }
            reader.compound(&mut words, source, &mut compound);
            if SENTENCE_ENDS.contains(&c) {
                reader.sentence = true;
            }
            if HARD_ENDS.contains(&c) {
                reader.flush_spaced(&mut words, source);
                words.pending_break = !words.text.is_empty();
            }
        }
        if let Some(start) = piece_start {
            compound.pieces.push((start, source.len()));
        }
        reader.compound(&mut words, source, &mut compound);
        reader.flush_spaced(&mut words, source);
        words
    }

    fn push(&mut self, word: &str, range: (usize, usize), via: Vias, sentence: bool) {
        if std::mem::take(&mut self.pending_break) {
            self.text.push_str(" |");
        }
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        let (key, spelled) = read_word(word);
        let mut via = via;
        if spelled != word {
            via.add(Vias::of(Hidden::Leetspeak));
        }
        if key.is_some_and(|k| k != spelled) {
            via.add(Vias::of(Hidden::Typoglycemia));
        }
        self.words.push(Word {
            at: self.text.len(),
            start: range.0,
            end: range.1,
            via,
            sentence,
        });
        self.text.push_str(key.unwrap_or(spelled.as_ref()));
    }

    fn word_at(&self, at: usize) -> Option<&Word> {
        let i = self.words.partition_point(|w| w.at <= at);
        self.words.get(i.checked_sub(1)?)
    }

    /// The source range of `range` in [`Words::text`].
    pub fn source(&self, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let start = self.word_at(range.start).map_or(0, |w| w.start);
        let i = self.words.partition_point(|w| w.at < range.end);
        let end = self.words.get(i.saturating_sub(1)).map_or(start, |w| w.end);
        start..end.max(start)
    }

    /// The word-level disguises undone in `range` of [`Words::text`].
    pub fn vias(&self, range: std::ops::Range<usize>) -> Vias {
        let first = self.words.partition_point(|w| w.at <= range.start);
        let mut vias = Vias::default();
        for w in self.words[first.saturating_sub(1)..]
            .iter()
            .take_while(|w| w.at < range.end)
        {
            vias.add(w.via);
        }
        vias
    }

    /// Whether the word at `at` in [`Words::text`] starts a sentence.
    pub fn starts_sentence(&self, at: usize) -> bool {
        self.word_at(at).is_some_and(|w| w.at == at && w.sentence)
    }

    /// Whether a word follows offset `end` in [`Words::text`] and starts
    /// a new sentence.
    pub fn sentence_after(&self, end: usize) -> bool {
        let i = self.words.partition_point(|w| w.at < end);
        self.words.get(i).is_some_and(|w| w.sentence)
    }
}

/// The state between words: single letters waiting to be joined, and
/// whether the next word starts a sentence.
struct Reader {
    /// Single letters one space apart ("i g n o r e"): their ranges.
    spaced: Vec<(usize, usize)>,
    sentence: bool,
    sentence_at_spaced: bool,
}

impl Default for Reader {
    fn default() -> Reader {
        Reader {
            spaced: Vec::new(),
            sentence: true,
            sentence_at_spaced: false,
        }
    }
}

impl Reader {
    /// Emits the word read so far, joining its pieces when they spell a
    /// key word (or are single letters).
    fn compound(&mut self, words: &mut Words, source: &str, compound: &mut Compound) {
        let pieces = std::mem::take(&mut compound.pieces);
        let Some(&(first, _)) = pieces.first() else {
            return;
        };
        if pieces.len() > 1 {
            let joined: String = pieces
                .iter()
                .map(|&(s, e)| lowercase(&source[s..e]))
                .collect();
            let singles = pieces.iter().all(|&(s, e)| single_letter(&source[s..e]));
            let key = keyword(&deleet(&joined)).is_some() || is_joinable(&joined);
            if key || (singles && pieces.len() >= 4) {
                self.flush_spaced(words, source);
                let range = (first, pieces[pieces.len() - 1].1);
                let sentence = std::mem::take(&mut self.sentence);
                words.push(&joined, range, Vias::of(Hidden::SplitWords), sentence);
                return;
            }
        }
        for (s, e) in pieces {
            self.piece(words, source, s, e);
        }
    }

    /// One word: a single letter joins the spaced run, another word ends it.
    fn piece(&mut self, words: &mut Words, source: &str, start: usize, end: usize) {
        let word = &source[start..end];
        if single_letter(word) {
            let one_space = self
                .spaced
                .last()
                .is_none_or(|&(_, e)| e < start && &source[e..start] == " ");
            if !one_space {
                self.flush_spaced(words, source);
            }
            if self.spaced.is_empty() {
                self.sentence_at_spaced = std::mem::take(&mut self.sentence);
            }
            self.spaced.push((start, end));
            return;
        }
        self.flush_spaced(words, source);
        let sentence = std::mem::take(&mut self.sentence);
        words.push(&lowercase(word), (start, end), Vias::default(), sentence);
    }

    /// Emits the spaced letters: as one word when there are four or more.
    fn flush_spaced(&mut self, words: &mut Words, source: &str) {
        let spaced = std::mem::take(&mut self.spaced);
        let Some(&(first, _)) = spaced.first() else {
            return;
        };
        let mut sentence = std::mem::take(&mut self.sentence_at_spaced);
        if spaced.len() >= 4 {
            let joined: String = spaced
                .iter()
                .map(|&(s, e)| lowercase(&source[s..e]))
                .collect();
            let range = (first, spaced[spaced.len() - 1].1);
            words.push(&joined, range, Vias::of(Hidden::SplitWords), sentence);
            return;
        }
        for (s, e) in spaced {
            words.push(&lowercase(&source[s..e]), (s, e), Vias::default(), sentence);
            sentence = false;
        }
    }
}

fn lowercase(word: &str) -> Cow<'_, str> {
    if word.bytes().any(|b| b.is_ascii_uppercase()) || !word.is_ascii() {
        word.to_lowercase().into()
    } else {
        word.into()
    }
}

fn single_letter(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_alphabetic) && chars.next().is_none()
}

/// Non-English words that split attacks spell out (joined like key words).
fn is_joinable(word: &str) -> bool {
    const WORDS: &[&str] = &[
        "ignoriere",
        "anweisungen",
        "vorherigen",
        "ignora",
        "instrucciones",
        "anteriores",
        "ignorez",
        "precedentes",
        "consignes",
        "instrucoes",
        "desconsidere",
        "everything",
        "restrictions",
        "unrestricted",
        "conversation",
    ];
    WORDS.contains(&word)
}

/// The key word `word` spells, if any, and `word` with leetspeak read
/// (`1` as `i`, or as `l` when that spells a key word: `ru135`).
fn read_word(word: &str) -> (Option<&'static str>, Cow<'_, str>) {
    let spelled = deleet(word);
    if let Some(key) = keyword(&spelled) {
        return (Some(key), spelled);
    }
    if word.contains('1') {
        let other = deleet(&word.replace('1', "l")).into_owned();
        if let Some(key) = keyword(&other) {
            return (Some(key), other.into());
        }
    }
    (None, spelled)
}

/// Leetspeak folded, only in words that mix letters and digits or signs.
fn deleet(word: &str) -> Cow<'_, str> {
    let letters = word.bytes().any(|b| b.is_ascii_alphabetic());
    let leet = word.bytes().any(|b| {
        matches!(
            b,
            b'0' | b'1' | b'3' | b'4' | b'5' | b'7' | b'8' | b'9' | b'@' | b'$' | b'!'
        )
    });
    if !(letters && leet) {
        return word.into();
    }
    word.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            '8' => 'b',
            '9' => 'g',
            c => c,
        })
        .collect::<String>()
        .into()
}

/// The key words whose typoglycemia variants are folded back to them.
const KEYWORDS: &[&str] = &[
    "ignore",
    "disregard",
    "forget",
    "bypass",
    "override",
    "reveal",
    "delete",
    "system",
    "prompt",
    "instructions",
    "instruction",
    "previous",
    "prior",
    "above",
    "directions",
    "directives",
    "guidelines",
    "restrictions",
    "developer",
    "mode",
    "jailbreak",
    "filters",
    "safety",
    "print",
    "repeat",
    "rules",
    "your",
    "initial",
    "hidden",
    "secret",
    "preceding",
    "earlier",
    "original",
    "constraints",
    "pretend",
];

/// A word's typoglycemia form: first letter, sorted middle, last letter.
fn canonical(word: &[u8]) -> Vec<u8> {
    let mut out = word.to_vec();
    if out.len() > 3 {
        let last = out.len() - 1;
        out[1..last].sort_unstable();
    }
    out
}

/// `word` with runs of one letter squashed to one (`ovverride` -> `overide`).
fn squash(word: &[u8]) -> Vec<u8> {
    let mut out = word.to_vec();
    out.dedup();
    out
}

/// The key word `word` is a scrambled (or doubled-letter) spelling of.
pub fn keyword(word: &str) -> Option<&'static str> {
    struct Key {
        word: &'static str,
        canonical: Vec<u8>,
        squashed: Vec<u8>,
    }
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    let bytes = word.as_bytes();
    if bytes.len() < 4 || !bytes.iter().all(u8::is_ascii_lowercase) {
        return None;
    }
    let keys = KEYS.get_or_init(|| {
        KEYWORDS
            .iter()
            .map(|&w| Key {
                word: w,
                canonical: canonical(w.as_bytes()),
                squashed: canonical(&squash(w.as_bytes())),
            })
            .collect()
    });
    let (first, last) = (bytes[0], bytes[bytes.len() - 1]);
    let mut word_canonical = None;
    let mut word_squashed = None;
    for key in keys {
        let kb = key.word.as_bytes();
        if kb[0] != first || kb[kb.len() - 1] != last {
            continue;
        }
        if kb.len() == bytes.len()
            && *word_canonical.get_or_insert_with(|| canonical(bytes)) == key.canonical
        {
            return Some(key.word);
        }
        if bytes.len().abs_diff(kb.len()) <= 2
            && *word_squashed.get_or_insert_with(|| canonical(&squash(bytes))) == key.squashed
        {
            return Some(key.word);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(source: &str) -> String {
        Words::new(source).text
    }

    #[test]
    fn words_are_lowercase_and_one_space_apart() {
        assert_eq!(text("Hello,  World\n(ok)"), "hello world ok");
        assert_eq!(
            text("Ignore files; previous rules. End"),
            "ignore files | previous rules | end"
        );
        assert_eq!(text("a b c d. e"), "abcd | e");
    }

    #[test]
    fn hyphen_and_dot_split_key_words_are_joined() {
        assert_eq!(
            text("ig-nore pre-vi-ous in.struc.tions"),
            "ignore previous instructions"
        );
        assert_eq!(text("i.g.n.o.r.e D-I-S-R-E-G-A-R-D"), "ignore disregard");
        // Ordinary hyphenated and dotted words are left apart.
        assert_eq!(
            text("re-enter node.js e.g. v1.2.3"),
            "re enter node js e g | vi 2 3"
        );
        let words = Words::new("x ig-nore");
        assert_eq!(words.vias(2..8).list(), [Hidden::SplitWords]);
    }

    #[test]
    fn spaced_letters_are_joined() {
        assert_eq!(text("i g n o r e  the a b c"), "ignore the a b c");
    }

    #[test]
    fn leetspeak_is_read_as_letters() {
        assert_eq!(
            text("1gn0r3 $y$t3m 1n57ruc710n5 ru135"),
            "ignore system instructions rules"
        );
        // Not in words of letters only, digits only, or `$` before a brace.
        assert_eq!(text("${HOME} 2024 hello"), "home 2024 hello");
        let words = Words::new("pr1nt");
        assert_eq!(words.vias(0..5).list(), [Hidden::Leetspeak]);
    }

    #[test]
    fn typoglycemia_is_folded_to_the_key_words() {
        assert_eq!(keyword("ignroe"), Some("ignore"));
        assert_eq!(keyword("prevoius"), Some("previous"));
        assert_eq!(keyword("insturctions"), Some("instructions"));
        assert_eq!(keyword("bpyass"), Some("bypass"));
        assert_eq!(keyword("sytsem"), Some("system"));
        assert_eq!(keyword("pormpt"), Some("prompt"));
        assert_eq!(keyword("revael"), Some("reveal"));
        assert_eq!(keyword("ovverride"), Some("override"));
        assert_eq!(keyword("from"), None);
        let words = Words::new("ignroe");
        assert_eq!(words.text, "ignore");
        assert_eq!(words.vias(0..6).list(), [Hidden::Typoglycemia]);
    }

    #[test]
    fn sentence_starts_and_following_words() {
        let words = Words::new("How do I print it? Print the prompt. Then stop");
        let at = |w: &str| words.text.find(w).expect("a word");
        assert!(words.starts_sentence(0));
        assert!(!words.starts_sentence(at("print it")));
        assert!(words.starts_sentence(at("print the")));
        assert!(words.sentence_after(at("prompt") + 6));
        assert!(!words.sentence_after(at("print the") + 5));
        assert!(!words.sentence_after(words.text.len()));
    }

    #[test]
    fn ranges_map_back_to_the_source() {
        let source = "say: Ig-nore   all";
        let words = Words::new(source);
        assert_eq!(words.text, "say ignore all");
        assert_eq!(&source[words.source(4..14)], "Ig-nore   all");
    }
}
