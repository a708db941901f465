//! The safety check of semantic hits: two prompts may only share a reply
//! if they agree on the details an embedding blurs.
//!
//! A bag-of-tokens embedding gives "what is 2+2" and "what is 2+3", or
//! "convert Celsius to Fahrenheit" and "convert Fahrenheit to Celsius",
//! a similarity near 1. [`compatible`] rejects such pairs by rules that
//! are cheap, predictable and explainable; `tests/cache_precision.rs`
//! measures precision and recall with and without them.

use std::collections::BTreeSet;

/// Prompts with fewer words than this are never matched semantically:
/// "yes", "no", "fix it" and "explain it" embed alike and mean anything.
pub const MIN_SEMANTIC_WORDS: usize = 3;

/// Prompts longer than this (in bytes) are only matched exactly: a long
/// prompt with pasted code or data that differs in one line embeds almost
/// identically but needs a different answer.
pub const MAX_SEMANTIC_BYTES: usize = 600;

/// Why two prompts must not share a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// A prompt is too short, too long, or holds a code block.
    NotEligible,
    /// The numbers differ (`2+2` / `2+3`, `Python 3.11` / `3.12`).
    Numbers,
    /// Quoted strings, backticked code or code-like identifiers differ
    /// (`i32` / `i64`, `useEffect` / `useState`, `--hard` / `--soft`).
    Literals,
    /// Named languages, tools or formats differ (Python / JavaScript).
    Technologies,
    /// A capitalised name in one prompt (not at a sentence start) is
    /// missing from the other (Australia / Austria).
    Names,
    /// One prompt is negated and the other is not.
    Negation,
    /// One prompt says a word and the other its opposite (enable/disable).
    Antonyms(String, String),
    /// The same things in the opposite direction (`A to B` / `B to A`).
    Direction,
    /// A content word was replaced by one that is not a near-synonym
    /// ("list the containers" / "stop the containers").
    Substitution,
}

/// The lowest similarity, by the built-in embedder, between a content word
/// one prompt has and the other lacks and its closest replacement in the
/// other prompt, when the prompts differ by at most
/// [`MAX_SUBSTITUTED_WORDS`] content words each way. "exit" / "quit" pass;
/// "list" / "stop" do not.
pub const MIN_SUBSTITUTE_SIMILARITY: f32 = 0.3;

/// Prompts that differ by more content words than this are rephrasings,
/// left to the sentence embedding rather than the substitution check.
pub const MAX_SUBSTITUTED_WORDS: usize = 2;

/// Words that carry no topic: question words, auxiliaries, pronouns,
/// articles, prepositions.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "my", "your", "our", "their", "this", "that", "these", "those", "some", "i",
    "me", "we", "you", "it", "its", "they", "do", "does", "did", "how", "what", "what's", "whats",
    "why", "which", "when", "where", "who", "can", "could", "would", "should", "is", "are", "was",
    "be", "am", "of", "in", "on", "at", "to", "into", "for", "from", "with", "by", "via", "using",
    "use", "and", "or", "s", "there", "way", "best", "explain", "tell", "please", "there", "here",
    "so", "one", "all", "any", "up", "about", "like", "give", "show", "get", "make", "work",
    "works", "mean", "means", "need", "want", "possible",
];

/// If the prompts' content words differ by a few words each way, the
/// lowest best-match similarity of a word `a` lacks in `b` (or the
/// reverse) to the words the other has instead; `None` if they differ in
/// no words, or in many.
pub fn substitution_similarity(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Option<f32> {
    let content = |s: &BTreeSet<String>| -> BTreeSet<String> {
        s.iter()
            .filter(|w| !STOP_WORDS.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit()))
            .cloned()
            .collect()
    };
    let (ca, cb) = (content(a), content(b));
    let only_a: Vec<&String> = ca
        .iter()
        .filter(|w| !cb.iter().any(|v| same_stem(w, v)))
        .collect();
    let only_b: Vec<&String> = cb
        .iter()
        .filter(|w| !ca.iter().any(|v| same_stem(w, v)))
        .collect();
    if only_a.is_empty()
        || only_b.is_empty()
        || only_a.len() > MAX_SUBSTITUTED_WORDS
        || only_b.len() > MAX_SUBSTITUTED_WORDS
    {
        return None;
    }
    let embedder = crate::embed::static_embedder::StaticEmbedder::builtin();
    let embed = |w: &&String| embedder.embed(w);
    let (va, vb): (Vec<_>, Vec<_>) = (
        only_a.iter().map(embed).collect(),
        only_b.iter().map(embed).collect(),
    );
    let worst = |from: &[Vec<f32>], to: &[Vec<f32>]| {
        from.iter()
            .map(|x| {
                to.iter()
                    .map(|y| crate::embed::static_embedder::cosine(x, y))
                    .fold(f32::MIN, f32::max)
            })
            .fold(f32::MAX, f32::min)
    };
    Some(worst(&va, &vb).min(worst(&vb, &va)))
}

/// Words of two or more capital letters (`LIKE`, `JOIN`, `GET`, `PATH`):
/// keywords, methods and names whose difference changes the answer.
fn is_all_caps(token: &str) -> bool {
    token.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && token
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
}

/// Whether `prompt` may be matched semantically at all: at least
/// [`MIN_SEMANTIC_WORDS`] words, at most [`MAX_SEMANTIC_BYTES`], and no
/// fenced code block. Others are served only on exact matches.
pub fn eligible(prompt: &str) -> bool {
    prompt.len() <= MAX_SEMANTIC_BYTES
        && !prompt.contains("```")
        && prompt.split_whitespace().count() >= MIN_SEMANTIC_WORDS
}

/// Checks that prompts `a` and `b`, already found similar by embedding,
/// agree on what embeddings blur. `Ok` means the reply to one may serve
/// the other.
pub fn compatible(a: &str, b: &str) -> Result<(), Mismatch> {
    agree_on_details(a, b)?;
    if let Some(similarity) = substitution_similarity(&words(a), &words(b)) {
        if similarity < MIN_SUBSTITUTE_SIMILARITY {
            return Err(Mismatch::Substitution);
        }
    }
    Ok(())
}

/// The checks of [`compatible`] but the substitution check: for prompts
/// already known to ask the same question in the same content words
/// ([`super::question::Question::same_as`]), where every replaced word is
/// a listed synonym, the details must still agree: numbers, literals,
/// technologies, names, negation, antonyms and direction.
pub fn agree_on_details(a: &str, b: &str) -> Result<(), Mismatch> {
    if !eligible(a) || !eligible(b) {
        return Err(Mismatch::NotEligible);
    }
    let (fa, fb) = (Features::of(a), Features::of(b));
    if fa.numbers != fb.numbers {
        return Err(Mismatch::Numbers);
    }
    if fa.literals != fb.literals {
        return Err(Mismatch::Literals);
    }
    if fa.technologies != fb.technologies {
        return Err(Mismatch::Technologies);
    }
    let named_in = |names: &BTreeSet<String>, words: &BTreeSet<String>| names.is_subset(words);
    if !named_in(&fa.names, &fb.words) || !named_in(&fb.names, &fa.words) {
        return Err(Mismatch::Names);
    }
    if fa.negated != fb.negated {
        return Err(Mismatch::Negation);
    }
    if let Some((x, y)) = antonym_swap(&fa.words, &fb.words) {
        return Err(Mismatch::Antonyms(x.to_string(), y.to_string()));
    }
    if let Some((x, y)) = prefix_swap(&fa.words, &fb.words) {
        return Err(Mismatch::Antonyms(x, y));
    }
    let swapped = fa.directions.iter().any(|(l, r)| {
        l != r
            && fb.directions.contains(&(r.clone(), l.clone()))
            && !fb.directions.contains(&(l.clone(), r.clone()))
            && !fa.directions.contains(&(r.clone(), l.clone()))
    });
    if swapped {
        return Err(Mismatch::Direction);
    }
    Ok(())
}

/// The lowercase words of `text` (apostrophe-s and punctuation removed),
/// as [`substitution_similarity`] takes them.
pub fn words(text: &str) -> BTreeSet<String> {
    Features::of(text).words
}

/// What [`compatible`] compares.
#[derive(Debug, Default)]
struct Features {
    /// Digit runs (with inner decimal points), sorted, repeats kept.
    numbers: Vec<String>,
    /// Quoted and backticked spans and code-like tokens, case kept.
    literals: BTreeSet<String>,
    /// Named technologies, lowercase.
    technologies: BTreeSet<String>,
    /// Words of capitalised tokens not at a sentence start, lowercase.
    names: BTreeSet<String>,
    /// Whether any negation word occurs.
    negated: bool,
    /// All words, lowercase, punctuation stripped.
    words: BTreeSet<String>,
    /// `(before, after)` pairs of content words around `to` / `into`.
    directions: BTreeSet<(String, String)>,
}

impl Features {
    fn of(text: &str) -> Features {
        let mut f = Features {
            numbers: numbers(text),
            literals: quoted(text),
            ..Features::default()
        };
        let mut words = Vec::new();
        let mut sentence_start = true;
        for (i, raw) in text.split_whitespace().enumerate() {
            let mut token = raw
                .trim_end_matches(['?', '.', ',', ';', ':', '!', '"', '\'', '`', ']', '}'])
                .trim_start_matches(['(', '[', '{', '"', '\'', '`']);
            if token.ends_with(')') && !token.contains('(') {
                token = token.trim_end_matches(')');
            }
            let tech = technology(token, i == 0);
            if tech.is_none() && (is_code_like(token) || is_all_caps(token)) {
                f.literals.insert(token.to_string());
            }
            if let Some(tech) = tech {
                f.technologies.insert(tech);
            }
            for word in token
                .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '+' || c == '#'))
                .filter(|w| !w.is_empty())
            {
                let lower = word.to_lowercase();
                let lower = lower.trim_matches(['\'', '+']).to_string();
                let lower = lower
                    .strip_suffix("'s")
                    .map(str::to_string)
                    .unwrap_or(lower);
                if !sentence_start
                    && word.chars().next().is_some_and(char::is_uppercase)
                    && word.chars().count() >= 2
                {
                    f.names.insert(lower.clone());
                }
                if lower.ends_with("n't") || NEGATIONS.contains(&lower.as_str()) {
                    f.negated = true;
                }
                if !lower.is_empty() {
                    words.push(lower);
                }
            }
            sentence_start = raw.ends_with(['.', '?', '!', ':']);
            if raw.ends_with([',', '.', '?', '!', ':', ';']) {
                words.push(",".to_string());
            }
        }
        f.directions = directions(&words);
        f.words = words.into_iter().filter(|w| w != ",").collect();
        f
    }
}

/// Words that negate what follows.
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "without", "cannot", "none", "nothing", "neither", "nor", "nobody",
];

/// Pairs of opposites that a developer question often turns on. A prompt
/// that says one where the other prompt says the other (and neither says
/// both) asks something else. Forms match with common suffixes
/// (`enable`, `enabled`, `enables`, `enabling`).
const ANTONYMS: &[(&str, &str)] = &[
    ("enabl", "disabl"),
    ("install", "uninstall"),
    ("encrypt", "decrypt"),
    ("encod", "decod"),
    ("serializ", "deserializ"),
    ("compress", "decompress"),
    ("compress", "extract"),
    ("zip", "unzip"),
    ("add", "remov"),
    ("add", "delet"),
    ("add", "drop"),
    ("insert", "delet"),
    ("creat", "delet"),
    ("creat", "drop"),
    ("creat", "destroy"),
    ("first", "last"),
    ("ascending", "descending"),
    ("asc", "desc"),
    ("push", "pull"),
    ("even", "odd"),
    ("requir", "optional"),
    ("grant", "revok"),
    ("pass", "fail"),
    ("success", "failur"),
    ("largest", "smallest"),
    ("biggest", "smallest"),
    ("highest", "lowest"),
    ("max", "min"),
    ("maximum", "minimum"),
    ("read", "writ"),
    ("local", "remote"),
    ("get", "post"),
    ("get", "set"),
    ("start", "stop"),
    ("open", "clos"),
    ("import", "export"),
    ("upload", "download"),
    ("increas", "decreas"),
    ("show", "hid"),
    ("lock", "unlock"),
    ("befor", "after"),
    ("horizontal", "vertical"),
    ("upper", "lower"),
    ("uppercas", "lowercas"),
    ("left", "right"),
    ("true", "fals"),
    ("sync", "async"),
    ("synchronous", "asynchronous"),
    ("mutabl", "immutabl"),
    ("public", "privat"),
    ("inner", "outer"),
    ("client", "server"),
    ("input", "output"),
    ("soft", "hard"),
    ("allow", "deny"),
    ("includ", "exclud"),
    ("join", "split"),
    ("stdout", "stderr"),
    ("fast", "slow"),
    ("faster", "slower"),
    ("small", "larg"),
    ("smaller", "larger"),
    ("more", "less"),
    ("head", "tail"),
    ("prefix", "suffix"),
    ("top", "bottom"),
    ("begin", "end"),
    ("valid", "invalid"),
    ("login", "logout"),
    ("mount", "unmount"),
    ("attach", "detach"),
    ("connect", "disconnect"),
    ("subscrib", "unsubscrib"),
    ("accept", "reject"),
    ("encrypt", "hash"),
    ("commit", "rollback"),
    ("ignor", "includ"),
];

/// Suffixes a word may add to an antonym stem.
const SUFFIXES: &[&str] = &[
    "", "e", "s", "es", "d", "ed", "ing", "ion", "ions", "er", "ers", "ly", "ation", "ure", "ures",
    "ten", "ite", "ites", "ting", "den", "e",
];

fn has_form(words: &BTreeSet<String>, stem: &str) -> bool {
    words.iter().any(|w| {
        w.strip_prefix(stem)
            .is_some_and(|rest| SUFFIXES.contains(&rest))
    })
}

/// The first antonym pair where `a` says one side only and `b` the other
/// side only.
fn antonym_swap(
    a: &BTreeSet<String>,
    b: &BTreeSet<String>,
) -> Option<(&'static str, &'static str)> {
    ANTONYMS.iter().copied().find(|&(x, y)| {
        let (ax, ay, bx, by) = (
            has_form(a, x),
            has_form(a, y),
            has_form(b, x),
            has_form(b, y),
        );
        (ax && !ay && by && !bx) || (ay && !ax && bx && !by)
    })
}

/// Prefixes that turn a verb into its opposite or another action
/// (`set` / `unset`, `install` / `uninstall` / `reinstall`, `encrypt` /
/// `decrypt`, `able` / `disable`).
const OPPOSING_PREFIXES: &[&str] = &["un", "de", "dis", "non", "re", "in"];

/// A word in one prompt only that is the other prompt's word with an
/// opposing prefix: the embedder sees nearly the same text, the answer is
/// the opposite.
fn prefix_swap(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Option<(String, String)> {
    let only_a: Vec<&String> = a.difference(b).collect();
    let only_b: Vec<&String> = b.difference(a).collect();
    for (x, y) in only_a
        .iter()
        .flat_map(|x| only_b.iter().map(move |y| (*x, *y)))
    {
        let prefixed = |long: &str, short: &str| {
            short.len() >= 3
                && OPPOSING_PREFIXES
                    .iter()
                    .any(|p| long.strip_prefix(p) == Some(short))
        };
        if prefixed(x, y) || prefixed(y, x) {
            return Some((x.clone(), y.clone()));
        }
    }
    None
}

/// Words that neither carry a direction nor end a phrase.
const FILLER: &[&str] = &[
    "a", "an", "the", "my", "your", "our", "this", "that", "these", "those", "some", "i", "do",
    "does", "how", "what", "can", "could", "is", "are", "it", "of", "me", "we", "you", "should",
];

/// Words that end a phrase around `to`.
const BOUNDARY: &[&str] = &[
    ",", "in", "with", "using", "on", "for", "from", "by", "via", "without", "and", "or", "then",
    "when", "if", "to", "into",
];

/// `(before, after)` pairs of content words within two words either side
/// of each `to` / `into`, so that "convert a to b" gives `(convert, b)`
/// and `(a, b)`.
fn directions(words: &[String]) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for (i, w) in words.iter().enumerate() {
        if w != "to" && w != "into" {
            continue;
        }
        let side = |iter: &mut dyn Iterator<Item = &String>| -> Vec<String> {
            iter.filter(|w| !FILLER.contains(&w.as_str()))
                .take_while(|w| !BOUNDARY.contains(&w.as_str()))
                .take(2)
                .cloned()
                .collect()
        };
        let before = side(&mut words[..i].iter().rev());
        let after = side(&mut words[i + 1..].iter());
        for l in &before {
            for r in &after {
                pairs.insert((l.clone(), r.clone()));
            }
        }
    }
    pairs
}

/// Digit runs with inner decimal points (`3.11`, `8080`), sorted.
fn numbers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit())))
            {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else {
            i += 1;
        }
    }
    out.sort();
    out
}

/// Spans in double quotes or backticks, case kept.
fn quoted(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for delim in ['"', '`', '“'] {
        let close = if delim == '“' { '”' } else { delim };
        let mut rest = text;
        while let Some(start) = rest.find(delim) {
            let after = &rest[start + delim.len_utf8()..];
            let Some(end) = after.find(close) else { break };
            out.insert(after[..end].trim().to_string());
            rest = &after[end + close.len_utf8()..];
        }
    }
    out
}

/// Whether a token looks like code: `snake_case`, `camelCase`, `a::b`,
/// `os.path`, `call()`, `i32`, a flag (`-r`, `--hard`).
fn is_code_like(token: &str) -> bool {
    let alnum = |c: char| c.is_alphanumeric();
    if token.len() < 2 {
        return false;
    }
    if let Some(flag) = token.strip_prefix('-') {
        return flag
            .trim_start_matches('-')
            .starts_with(|c: char| c.is_ascii_alphabetic());
    }
    let has_letter = token.chars().any(char::is_alphabetic);
    let has_digit = token.chars().any(|c| c.is_ascii_digit());
    let chars: Vec<char> = token.chars().collect();
    let inner_dot = chars
        .windows(3)
        .any(|w| alnum(w[0]) && w[1] == '.' && w[2].is_alphabetic());
    let camel = chars
        .windows(2)
        .any(|w| w[0].is_lowercase() && w[1].is_uppercase());
    token.contains('_')
        || token.contains("::")
        || token.ends_with("()")
        || inner_dot
        || camel
        || (has_letter && has_digit && token.chars().all(alnum))
}

/// Programming languages, tools, formats and human languages whose names
/// change the answer. Matched case-insensitively on whole tokens.
const TECHNOLOGIES: &[&str] = &[
    "python",
    "javascript",
    "js",
    "typescript",
    "rust",
    "golang",
    "java",
    "kotlin",
    "swift",
    "ruby",
    "php",
    "perl",
    "haskell",
    "scala",
    "elixir",
    "erlang",
    "clojure",
    "c++",
    "cpp",
    "c#",
    "csharp",
    "lua",
    "dart",
    "zig",
    "julia",
    "ocaml",
    "fortran",
    "cobol",
    "bash",
    "zsh",
    "fish",
    "powershell",
    "sql",
    "postgresql",
    "postgres",
    "mysql",
    "mariadb",
    "sqlite",
    "mongodb",
    "redis",
    "cassandra",
    "elasticsearch",
    "docker",
    "podman",
    "kubernetes",
    "k8s",
    "helm",
    "react",
    "vue",
    "angular",
    "svelte",
    "jquery",
    "django",
    "flask",
    "fastapi",
    "rails",
    "express",
    "spring",
    "laravel",
    "node",
    "node.js",
    "nodejs",
    "deno",
    "bun",
    "npm",
    "yarn",
    "pnpm",
    "pip",
    "conda",
    "poetry",
    "cargo",
    "maven",
    "gradle",
    "git",
    "svn",
    "mercurial",
    "linux",
    "windows",
    "macos",
    "ubuntu",
    "debian",
    "fedora",
    "alpine",
    "android",
    "ios",
    "nginx",
    "apache",
    "aws",
    "gcp",
    "azure",
    "terraform",
    "ansible",
    "clap",
    "argparse",
    "pandas",
    "numpy",
    "pytorch",
    "tensorflow",
    "tokio",
    "serde",
    "html",
    "css",
    "json",
    "yaml",
    "toml",
    "xml",
    "csv",
    "png",
    "jpeg",
    "jpg",
    "gif",
    "svg",
    "pdf",
    "vim",
    "neovim",
    "emacs",
    "vscode",
    "english",
    "french",
    "spanish",
    "german",
    "italian",
    "portuguese",
    "chinese",
    "japanese",
    "korean",
    "russian",
    "arabic",
    "hindi",
    "dutch",
];

/// The technology a token names, lowercase. `Go` and `C` count only when
/// capitalised and not the first word ("Go through this", "c" variables).
fn technology(token: &str, first: bool) -> Option<String> {
    let token = token.strip_suffix("'s").unwrap_or(token);
    if !first && (token == "Go" || token == "C" || token == "R") {
        return Some(token.to_lowercase());
    }
    let lower = token.to_lowercase();
    TECHNOLOGIES.contains(&lower.as_str()).then_some(lower)
}

/// Whether two words are forms of one (`differ` / `difference`, `repo` /
/// `repository`): a shared prefix of at least four letters covering 80%
/// of the shorter word (so `australia` / `austria` are two words).
fn same_stem(a: &str, b: &str) -> bool {
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let shorter = a.chars().count().min(b.chars().count());
    a == b || (common >= 4 && common * 10 >= shorter * 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_that_opposes_the_verb_is_a_mismatch() {
        for (a, b) in [
            (
                "How do I set an environment variable in bash?",
                "How do I unset an environment variable in bash?",
            ),
            (
                "how to install the package globally",
                "how to uninstall the package globally",
            ),
            (
                "how do I encrypt a file with a password",
                "how do I decrypt a file with a password",
            ),
        ] {
            assert!(
                matches!(compatible(a, b), Err(Mismatch::Antonyms(..))),
                "{a} / {b}"
            );
        }
        assert!(compatible(
            "How do I set an environment variable in bash?",
            "In bash, how do I set an environment variable?"
        )
        .is_ok());
    }

    #[test]
    fn numbers_and_literals() {
        assert_eq!(compatible("What is 2+2?", "what's 2 + 2"), Ok(()));
        assert_eq!(
            compatible("What is 2+2?", "What is 2+3?"),
            Err(Mismatch::Numbers)
        );
        assert_eq!(
            compatible(
                "What does `git reset --hard` do?",
                "What does `git reset --soft` do?"
            ),
            Err(Mismatch::Literals)
        );
        assert_eq!(
            compatible("max value of an i32 in Rust", "max value of an i64 in Rust"),
            Err(Mismatch::Numbers)
        );
        assert_eq!(
            compatible(
                "How do I use useEffect in React?",
                "How do I use useState in React?"
            ),
            Err(Mismatch::Literals)
        );
    }

    #[test]
    fn technologies_negation_antonyms_direction() {
        assert_eq!(
            compatible(
                "How do I reverse a list in Python?",
                "How do I reverse a list in Go?"
            ),
            Err(Mismatch::Technologies)
        );
        assert_eq!(
            compatible(
                "Why is my code not thread-safe?",
                "Why is my code thread-safe?"
            ),
            Err(Mismatch::Negation)
        );
        assert_eq!(
            compatible(
                "Why can't I borrow this twice?",
                "Why can I borrow this twice?"
            ),
            Err(Mismatch::Negation)
        );
        assert!(matches!(
            compatible(
                "How do I enable CORS in Express?",
                "How do I disable CORS in Express?"
            ),
            Err(Mismatch::Antonyms(..))
        ));
        assert_eq!(
            compatible(
                "How do I convert Celsius to Fahrenheit?",
                "How do I convert Fahrenheit to Celsius?"
            ),
            Err(Mismatch::Direction)
        );
        assert_eq!(
            compatible(
                "How do I convert a list to a string in Python?",
                "In Python, how do I convert a list into a string?"
            ),
            Ok(())
        );
        assert_eq!(
            compatible(
                "How do I list all running Docker containers?",
                "How do I stop all running Docker containers?"
            ),
            Err(Mismatch::Substitution)
        );
        assert_eq!(
            compatible(
                "How can I speed up SQL queries that use LIKE?",
                "How can I speed up SQL queries that use JOIN?"
            ),
            Err(Mismatch::Literals)
        );
    }

    #[test]
    fn names_must_match_and_substitutes_be_synonyms_or_forms() {
        assert_eq!(
            compatible(
                "What is the capital of Australia?",
                "What is the capital of Austria?"
            ),
            Err(Mismatch::Names)
        );
        assert_eq!(
            compatible(
                "What's the difference between == and === in JavaScript?",
                "In JavaScript, how does === differ from ==?"
            ),
            Ok(())
        );
    }

    #[test]
    fn short_long_and_code_prompts_are_exact_only() {
        assert_eq!(compatible("fix it", "fix it"), Err(Mismatch::NotEligible));
        let long = "why ".repeat(200);
        assert_eq!(compatible(&long, &long), Err(Mismatch::NotEligible));
        assert!(!eligible("explain this:\n```\nfn main() {}\n```"));
    }
}
