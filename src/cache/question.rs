//! What a short question asks, reduced to words a paraphrase keeps: the
//! kind of question (its [`Intent`]) and the set of its content words,
//! stemmed and with near-synonyms folded into one ([`Question::concepts`]).
//!
//! "What is a mutex?", "Can you explain what a mutex is?" and "Tell me
//! about mutexes" all ask [`Intent::Define`] about `{mutex}`; "How do I
//! delete a remote branch in git?" and "git: how can I remove a branch
//! from the remote?" both ask [`Intent::HowTo`] about `{branch, git,
//! remot, remov}`. The cache serves a reply across two prompts whose
//! questions are [`Question::same_as`] each other (and which pass the
//! detail checks of [`super::guard`]). Two prompts that differ by one
//! content word ("delete a branch" / "delete a remote branch") or in kind
//! ("What is a rebase?" / "Why is a rebase dangerous?") are different
//! questions: there is no similarity threshold here to tune, only equality.

use std::collections::BTreeSet;
use std::sync::OnceLock;

/// The kind of answer a question asks for. Two questions of different
/// kinds about the same things need different replies ("What is X?" /
/// "Why is X slow?" / "Should I use X?").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Intent {
    /// What something is or means ("what is", "explain", "define").
    Define,
    /// How to do something ("how do I", "how to", "what command").
    HowTo,
    /// How something works inside ("how does X work").
    Mechanism,
    /// A reason ("why", "how come", "what causes").
    Why,
    /// Two things set against each other ("difference", "vs").
    Compare,
    /// A yes-or-no question ("is X thread-safe?", "does git ...?").
    YesNo,
    /// Advice on a choice ("should I", "when should I").
    Advice,
    /// A choice among options ("which", "what is the best").
    Which,
    /// A place ("where").
    Where,
    /// A time ("when").
    When,
    /// A person or owner ("who").
    Who,
    /// No question words: an imperative or a terse query
    /// ("git undo last commit", "list docker containers").
    Terse,
}

impl Intent {
    /// Whether a reply to a question of kind `self` answers one of kind
    /// `other`. A terse query ("undo last git commit") reads as a how-to
    /// or a definition, so it matches those; every other kind only itself.
    pub fn answers(self, other: Intent) -> bool {
        self == other
            || matches!(
                (self, other),
                (Intent::Terse, Intent::HowTo | Intent::Define)
                    | (Intent::HowTo | Intent::Define, Intent::Terse)
            )
    }

    /// The intent's name, as stored in the cache file.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Define => "define",
            Intent::HowTo => "how-to",
            Intent::Mechanism => "mechanism",
            Intent::Why => "why",
            Intent::Compare => "compare",
            Intent::YesNo => "yes-no",
            Intent::Advice => "advice",
            Intent::Which => "which",
            Intent::Where => "where",
            Intent::When => "when",
            Intent::Who => "who",
            Intent::Terse => "terse",
        }
    }
}

/// A prompt read as a question: its kind and its content words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The kind of answer it asks for.
    pub intent: Intent,
    /// Its content words: stemmed (Snowball English) and near-synonyms
    /// folded (`delete` / `remove`, `folder` / `directory`); code-like
    /// tokens (`--hard`, `node.js`, `i32`, `3.11`) kept whole, lowercase.
    pub concepts: BTreeSet<String>,
}

impl Question {
    /// Reads `prompt` as a question.
    pub fn parse(prompt: &str) -> Question {
        let tokens = tokens(prompt);
        let intent = intent_of(&tokens);
        let concepts = tokens
            .iter()
            .enumerate()
            .filter(|(i, t)| !is_framing(&tokens, *i, t, intent))
            .map(|(_, t)| concept(t))
            .collect();
        Question { intent, concepts }
    }

    /// The content words joined by spaces, in order: the key the cache
    /// file indexes so that a lookup finds the same question at once.
    pub fn concepts_key(&self) -> String {
        self.concepts
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether a reply to `self` answers `other`: the same content words
    /// (at least one) and kinds that answer each other.
    pub fn same_as(&self, other: &Question) -> bool {
        !self.concepts.is_empty()
            && self.concepts == other.concepts
            && self.intent.answers(other.intent)
    }
}

/// The lowercase tokens of `text`: contractions expanded ("what's" to
/// "what is", "can't" to "can not"), surrounding punctuation removed,
/// code-like tokens (`--hard`, `node.js`, `c++`, `3.11`, `a_b`) kept
/// whole and other tokens split into words.
fn tokens(text: &str) -> Vec<String> {
    let text = text
        .replace(['\u{2019}', '\u{2018}', '`'], "'")
        .to_lowercase();
    let mut out = Vec::new();
    for raw in text.split_whitespace() {
        let token = raw
            .trim_end_matches(['?', '.', ',', ';', ':', '!', '"', '\'', ')', ']', '}'])
            .trim_start_matches(['(', '[', '{', '"', '\'']);
        if token.is_empty() {
            continue;
        }
        if is_code_like(token) {
            out.push(token.to_string());
            continue;
        }
        for word in token
            .split(|c: char| !(c.is_alphanumeric() || c == '\''))
            .filter(|w| !w.is_empty())
        {
            expand_contraction(word, &mut out);
        }
    }
    out
}

/// Pushes the words of `word`, a token that may hold an apostrophe.
fn expand_contraction(word: &str, out: &mut Vec<String>) {
    let word = word.trim_matches('\'');
    let fixed: &[&str] = match word {
        "can't" | "cannot" => &["can", "not"],
        "won't" => &["will", "not"],
        "i'm" => &["i", "am"],
        "i'd" => &["i", "would"],
        "let's" => &["let", "us"],
        _ => &[],
    };
    if !fixed.is_empty() {
        out.extend(fixed.iter().map(|w| w.to_string()));
        return;
    }
    if let Some(stem) = word.strip_suffix("n't") {
        out.push(stem.to_string());
        out.push("not".to_string());
        return;
    }
    for suffix in ["'s", "'re", "'ve", "'ll", "'d", "'m"] {
        if let Some(stem) = word.strip_suffix(suffix) {
            out.push(stem.to_string());
            if suffix == "'s" && matches!(stem, "what" | "how" | "where" | "who" | "it" | "that") {
                out.push("is".to_string());
            }
            return;
        }
    }
    if !word.is_empty() {
        out.push(word.replace('\'', ""));
    }
}

/// Whether a token is code or a number, compared as written: a flag,
/// `snake_case`, `a.b`, `a::b`, `c++`, `c#`, a word with digits.
fn is_code_like(token: &str) -> bool {
    let inner = |c: char| matches!(c, '_' | '.' | ':' | '/' | '+' | '#' | '=' | '<' | '>' | '@');
    token.len() >= 2
        && (token.starts_with('-')
            && token
                .trim_start_matches('-')
                .starts_with(char::is_alphanumeric)
            || token.chars().any(|c| c.is_ascii_digit())
            || token.chars().any(inner))
}

fn has_phrase(tokens: &[String], phrase: &[&str]) -> bool {
    tokens
        .windows(phrase.len())
        .any(|w| w.iter().zip(phrase).all(|(a, b)| a == b))
}

fn has_any(tokens: &[String], words: &[&str]) -> bool {
    tokens.iter().any(|t| words.contains(&t.as_str()))
}

/// Subjects after "how do" that make it a how-to ("how do I") rather than
/// a question about a mechanism ("how do closures work").
const PERSONS: &[&str] = &["i", "you", "we", "one", "people"];

/// Auxiliaries that start a yes-or-no question or follow a question word.
const AUXILIARIES: &[&str] = &[
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "would", "will", "should",
    "has", "have", "may", "might", "must", "shall",
];

/// The kind of question `tokens` ask, by the first rule that applies, from
/// the most specific ("why", "difference") to the least (no question words
/// at all).
fn intent_of(tokens: &[String]) -> Intent {
    let first = tokens.first().map(String::as_str).unwrap_or("");
    let how_to = has_phrase(tokens, &["how", "to"])
        || tokens.windows(3).any(|w| {
            w[0] == "how"
                && AUXILIARIES.contains(&w[1].as_str())
                && PERSONS.contains(&w[2].as_str())
        })
        || has_phrase(tokens, &["way", "to"])
        || has_phrase(tokens, &["ways", "to"])
        || has_any(tokens, &["command", "commands"])
        || (has_phrase(tokens, &["i", "want", "to"]) && !AUXILIARIES.contains(&first))
        || (has_phrase(tokens, &["i", "need", "to"]) && !AUXILIARIES.contains(&first))
        || has_phrase(tokens, &["like", "to"])
        || has_phrase(tokens, &["trying", "to"])
        || has_phrase(tokens, &["steps", "to"])
        || has_phrase(tokens, &["possible", "to"])
        || has_phrase(tokens, &["can", "i"])
        || has_phrase(tokens, &["could", "i"]);
    if has_any(tokens, &["why"])
        || has_phrase(tokens, &["how", "come"])
        || has_phrase(tokens, &["what", "causes"])
    {
        Intent::Why
    } else if has_any(
        tokens,
        &[
            "difference",
            "differences",
            "differ",
            "differs",
            "vs",
            "versus",
            "compare",
            "compared",
            "comparison",
        ],
    ) || has_phrase(tokens, &["different", "from"])
        || has_phrase(tokens, &["different", "than"])
    {
        Intent::Compare
    } else if has_phrase(tokens, &["should", "i"]) || has_phrase(tokens, &["should", "we"]) {
        Intent::Advice
    } else if how_to {
        Intent::HowTo
    } else if has_any(tokens, &["how"]) {
        Intent::Mechanism
    } else if has_any(tokens, &["which"]) || has_phrase(tokens, &["what", "is", "the", "best"]) {
        Intent::Which
    } else if has_any(tokens, &["where"]) {
        Intent::Where
    } else if has_any(tokens, &["when"]) {
        Intent::When
    } else if has_any(tokens, &["who", "whom", "whose"]) {
        Intent::Who
    } else if has_any(
        tokens,
        &[
            "what",
            "explain",
            "describe",
            "define",
            "definition",
            "meaning",
            "mean",
            "means",
        ],
    ) || has_phrase(tokens, &["tell", "me", "about"])
    {
        Intent::Define
    } else if AUXILIARIES.contains(&first) {
        Intent::YesNo
    } else {
        Intent::Terse
    }
}

/// Words that frame a question of any kind rather than say what it is
/// about: question words, auxiliaries, pronouns, articles, prepositions,
/// politeness and hedges.
const FRAMING: &[&str] = &[
    "a",
    "an",
    "the",
    "what",
    "how",
    "why",
    "which",
    "when",
    "where",
    "who",
    "whom",
    "whose",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "am",
    "do",
    "does",
    "did",
    "doing",
    "can",
    "could",
    "would",
    "will",
    "should",
    "shall",
    "may",
    "might",
    "must",
    "has",
    "have",
    "i",
    "me",
    "my",
    "mine",
    "you",
    "your",
    "we",
    "our",
    "us",
    "it",
    "its",
    "they",
    "them",
    "their",
    "this",
    "that",
    "these",
    "those",
    "there",
    "here",
    "of",
    "in",
    "on",
    "at",
    "for",
    "with",
    "by",
    "via",
    "from",
    "to",
    "into",
    "onto",
    "and",
    "or",
    "so",
    "then",
    "if",
    "please",
    "kindly",
    "thanks",
    "thank",
    "hi",
    "hello",
    "hey",
    "explain",
    "describe",
    "tell",
    "define",
    "definition",
    "meaning",
    "mean",
    "means",
    "difference",
    "differences",
    "differ",
    "differs",
    "between",
    "vs",
    "versus",
    "compare",
    "compared",
    "comparison",
    "way",
    "ways",
    "best",
    "command",
    "commands",
    "like",
    "trying",
    "try",
    "possible",
    "know",
    "help",
    "exactly",
    "actually",
    "really",
    "just",
    "simply",
    "easily",
    "quickly",
    "correctly",
    "properly",
    "some",
    "any",
    "also",
    "about",
    "steps",
    "something",
    "somehow",
    "using",
    "able",
    "done",
    "whether",
];

/// Framing only in some places: "show me how", "work" in "how does X
/// work", "right" in "the right way", "need" in "I need to".
fn is_framing(tokens: &[String], i: usize, token: &str, intent: Intent) -> bool {
    if FRAMING.contains(&token) {
        return true;
    }
    let next = tokens.get(i + 1).map(String::as_str);
    match token {
        "show" | "teach" => next == Some("me") && tokens.get(i + 2).is_some_and(|n| n == "how"),
        "work" | "works" | "working" => intent == Intent::Mechanism,
        "different" => intent == Intent::Compare,
        "need" | "want" => next == Some("to"),
        "right" | "correct" | "recommended" | "proper" | "good" | "easiest" | "simplest" => {
            next == Some("way") || next == Some("ways")
        }
        _ => false,
    }
}

/// One token as a content word: code-like tokens as written, words
/// stemmed and folded into their near-synonym's stem.
fn concept(token: &str) -> String {
    if is_code_like(token) {
        return token.to_string();
    }
    let stem = stemmer().stem(token).into_owned();
    match SYNONYMS.iter().find(|(from, _)| *from == stem) {
        Some((_, to)) => to.to_string(),
        None => stem,
    }
}

fn stemmer() -> &'static rust_stemmers::Stemmer {
    static STEMMER: OnceLock<rust_stemmers::Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English))
}

/// Stems that mean the same in a developer's question, folded into one
/// (left to right). Only pairs that cannot change the answer: spellings,
/// abbreviations and verbs with one meaning here.
const SYNONYMS: &[(&str, &str)] = &[
    ("delet", "remov"),
    ("eras", "remov"),
    ("folder", "directori"),
    ("dir", "directori"),
    ("dict", "dictionari"),
    ("repo", "repositori"),
    ("quit", "exit"),
    ("display", "show"),
    ("view", "show"),
    ("modifi", "chang"),
    ("alter", "chang"),
    ("edit", "chang"),
    ("make", "creat"),
    ("generat", "creat"),
    ("fix", "resolv"),
    ("solv", "resolv"),
    ("begin", "start"),
    ("verifi", "check"),
    ("determin", "check"),
    ("environ", "env"),
    ("var", "variabl"),
    ("arg", "argument"),
    ("param", "paramet"),
    ("config", "configur"),
    ("db", "databas"),
    ("img", "imag"),
    ("msg", "messag"),
    ("pkg", "packag"),
    ("lib", "librari"),
    ("doc", "document"),
    ("docs", "document"),
    ("app", "applic"),
    ("biggest", "largest"),
    ("big", "larg"),
    ("quick", "fast"),
    ("rapid", "fast"),
    ("mistak", "error"),
    ("obtain", "retriev"),
    ("fetch", "retriev"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Question {
        Question::parse(text)
    }

    #[test]
    fn framing_changes_keep_the_question() {
        let base = q("What is a mutex?");
        assert_eq!(base.intent, Intent::Define);
        assert_eq!(base.concepts_key(), "mutex");
        for other in [
            "Can you explain what a mutex is?",
            "Tell me about mutexes.",
            "what's a mutex",
            "Mutex: what is it?",
            "Could you please explain mutexes",
        ] {
            assert!(base.same_as(&q(other)), "{other}: {:?}", q(other));
        }
    }

    #[test]
    fn how_to_questions_fold_synonyms_and_word_order() {
        let base = q("How do I delete a remote branch in git?");
        assert_eq!(base.intent, Intent::HowTo);
        for other in [
            "git: how can I remove a branch from the remote?",
            "What's the command to delete a remote git branch?",
            "delete remote branch git",
        ] {
            assert!(base.same_as(&q(other)), "{other}: {:?}", q(other));
        }
    }

    #[test]
    fn a_different_kind_or_one_more_word_is_another_question() {
        let pairs = [
            ("What is a git rebase?", "Why is a git rebase dangerous?"),
            ("What is a git rebase?", "How do I git rebase?"),
            (
                "How do I delete a branch in git?",
                "How do I delete a remote branch in git?",
            ),
            ("How does a mutex work?", "How do I use a mutex?"),
            ("Is Rust memory safe?", "Why is Rust memory safe?"),
            ("How do I stop a container?", "How do I start a container?"),
            ("Should I use a mutex here?", "How do I use a mutex here?"),
        ];
        for (a, b) in pairs {
            assert!(!q(a).same_as(&q(b)), "{a} / {b}: {:?} {:?}", q(a), q(b));
        }
    }

    #[test]
    fn code_numbers_and_contractions() {
        assert!(q("what does git reset --hard do")
            .concepts
            .contains("--hard"));
        assert!(q("Python 3.11 release date").concepts.contains("3.11"));
        assert!(q("why can't I borrow twice").concepts.contains("not"));
        assert_eq!(q("It's what?").intent, Intent::Define);
        assert!(q("").concepts.is_empty());
        assert!(!q("").same_as(&q("")), "nothing to compare is no match");
    }
}
