//! `confab cache eval`: how often the cache serves the right reply, on a
//! file of labelled prompt pairs.
//!
//! For each pair, prompt `a` is stored (in a cache in memory, each pair
//! under a context of its own) and prompt `b` looked up, through the same
//! [`SemanticCache::lookup`] that chat uses. A hit on a pair labelled
//! `same: true` is right; a hit on `same: false` is a wrong reply served.
//! Precision is right hits over all hits, recall right hits over all
//! `same: true` pairs, per split of the file and per threshold.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{CacheError, CacheKey, CacheSettings, CachedReply, HitKind, KeyInput, SemanticCache};

/// The largest pairs file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The longest prompt in a pair, in bytes.
pub const MAX_PROMPT_BYTES: usize = 8 * 1024;

/// The thresholds reported when none are asked for (the configured one is
/// added).
pub const DEFAULT_THRESHOLDS: [f32; 5] = [0.85, 0.88, 0.90, 0.92, 0.95];

/// One line of a pairs file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct LabelledPair {
    /// The pair's id, if the file gives one (else its line number).
    #[serde(default)]
    pub id: Option<String>,
    /// The prompt stored.
    pub a: String,
    /// The prompt looked up.
    pub b: String,
    /// Whether a reply to `a` answers `b`.
    pub same: bool,
    /// Which split the pair is in (`dev`, `test`); none puts it in `all`.
    #[serde(default)]
    pub split: Option<String>,
    /// What kind of pair (`paraphrase`, or the kind of near-miss).
    #[serde(default)]
    pub kind: Option<String>,
    /// The pair's subject (`git`, `shell`, ...).
    #[serde(default)]
    pub topic: Option<String>,
}

/// Errors of reading a pairs file.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{path} is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: String,
    },
    /// A line is not a pair.
    #[error("{path}:{line}: {reason}")]
    BadLine {
        /// The file.
        path: String,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The file holds no pairs.
    #[error("{path} holds no pairs")]
    Empty {
        /// The file.
        path: String,
    },
    /// The in-memory cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// Reads a pairs file: one JSON [`LabelledPair`] a line, blank lines
/// skipped. Pairs without an id get `line-N`.
pub fn read_pairs(path: &Path) -> Result<Vec<LabelledPair>, EvalError> {
    let name = path.display().to_string();
    let io = |source| EvalError::Io {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(EvalError::TooLarge { path: name });
    }
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| EvalError::BadLine {
            path: name.clone(),
            line: n + 1,
            reason,
        };
        let mut pair: LabelledPair = serde_json::from_str(line).map_err(|e| {
            bad(format!(
                "not a pair ({e}); each line is {{\"a\": ..., \"b\": ..., \"same\": true|false}}"
            ))
        })?;
        if pair.a.len() > MAX_PROMPT_BYTES || pair.b.len() > MAX_PROMPT_BYTES {
            return Err(bad(format!("a prompt is over {MAX_PROMPT_BYTES} bytes")));
        }
        pair.id.get_or_insert_with(|| format!("line-{}", n + 1));
        pairs.push(pair);
    }
    if pairs.is_empty() {
        return Err(EvalError::Empty { path: name });
    }
    Ok(pairs)
}

/// How the cache judged one pair at one threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Judgement {
    /// The pair's id.
    pub id: String,
    /// Whether `b` was served `a`'s reply, and how it matched.
    pub served: Option<HitKind>,
    /// The pair's label.
    pub same: bool,
}

impl Judgement {
    /// Whether the cache was right: it served a paraphrase, or refused a
    /// near-miss.
    pub fn right(&self) -> bool {
        self.served.is_some() == self.same
    }
}

/// Stores each pair's `a` and looks up its `b` in a fresh in-memory cache
/// with `threshold`; one judgement per pair, in order.
pub fn judge(pairs: &[LabelledPair], threshold: f32) -> Result<Vec<Judgement>, EvalError> {
    let settings = CacheSettings {
        enabled: true,
        threshold,
        max_entries: pairs.len().max(1),
        ..CacheSettings::default()
    };
    let cache = SemanticCache::in_memory(&settings)?;
    let reply = CachedReply {
        text: "reply".to_string(),
        ..CachedReply::default()
    };
    let mut out = Vec::with_capacity(pairs.len());
    for (n, pair) in pairs.iter().enumerate() {
        let context = format!("confab cache eval, pair {n}");
        cache.store(&key(&context, &pair.a), &reply)?;
        let served = cache.lookup(&key(&context, &pair.b))?.map(|hit| hit.kind);
        out.push(Judgement {
            id: pair.id.clone().unwrap_or_default(),
            served,
            same: pair.same,
        });
    }
    Ok(out)
}

fn key(context: &str, prompt: &str) -> CacheKey {
    CacheKey::new(&KeyInput {
        provider: "eval",
        model: "eval",
        system: Some(context),
        temperature: Some(0.0),
        max_output_tokens: 1024,
        response_format: None,
        history: &[],
        prompt,
    })
}

/// Precision and recall of one split at one threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SplitScore {
    /// The split (`dev`, `test`, `all`).
    pub split: String,
    /// The similarity threshold.
    pub threshold: f32,
    /// Pairs in the split.
    pub pairs: usize,
    /// Pairs labelled `same: true`.
    pub paraphrases: usize,
    /// Paraphrases served (right hits).
    pub served_right: usize,
    /// Near-misses served (wrong replies).
    pub served_wrong: usize,
    /// Right hits found as the same question ([`HitKind::SameQuestion`]).
    pub same_question_hits: usize,
    /// Right hits found by similarity ([`HitKind::Similar`]).
    pub similar_hits: usize,
    /// Right hits over all hits; 1 when nothing was served.
    pub precision: f64,
    /// Right hits over all paraphrases; 1 when there are none.
    pub recall: f64,
}

/// Scores `judgements` (of `pairs`, in the same order) per split, then
/// over all pairs when the file has more than one split.
pub fn score(pairs: &[LabelledPair], judgements: &[Judgement], threshold: f32) -> Vec<SplitScore> {
    let split_of = |p: &LabelledPair| p.split.clone().unwrap_or_else(|| "all".to_string());
    let splits: BTreeSet<String> = pairs.iter().map(split_of).collect();
    let mut names: Vec<String> = splits.into_iter().collect();
    if names.len() > 1 {
        names.push("all".to_string());
    }
    names
        .into_iter()
        .map(|name| {
            let chosen: Vec<&Judgement> = pairs
                .iter()
                .zip(judgements)
                .filter(|(p, _)| name == "all" || split_of(p) == name)
                .map(|(_, j)| j)
                .collect();
            tally(name, threshold, &chosen)
        })
        .collect()
}

fn tally(split: String, threshold: f32, judgements: &[&Judgement]) -> SplitScore {
    let count = |f: &dyn Fn(&Judgement) -> bool| judgements.iter().filter(|j| f(j)).count();
    let served_right = count(&|j| j.same && j.served.is_some());
    let served_wrong = count(&|j| !j.same && j.served.is_some());
    let paraphrases = count(&|j| j.same);
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    SplitScore {
        split,
        threshold,
        pairs: judgements.len(),
        paraphrases,
        served_right,
        served_wrong,
        same_question_hits: count(&|j| j.same && j.served == Some(HitKind::SameQuestion)),
        similar_hits: count(&|j| j.same && matches!(j.served, Some(HitKind::Similar(_)))),
        precision: ratio(served_right, served_right + served_wrong),
        recall: ratio(served_right, paraphrases),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &str, b: &str, same: bool, split: &str) -> LabelledPair {
        LabelledPair {
            id: Some(format!("{a}/{b}")),
            a: a.into(),
            b: b.into(),
            same,
            split: Some(split.into()),
            kind: None,
            topic: None,
        }
    }

    #[test]
    fn scores_count_right_and_wrong_hits_per_split() {
        let pairs = [
            pair(
                "What is a mutex?",
                "Can you explain what a mutex is?",
                true,
                "dev",
            ),
            pair(
                "How do I enable CORS in Express?",
                "How do I disable CORS in Express?",
                false,
                "dev",
            ),
            pair(
                "how do I exit vim",
                "what's the way to quit vim",
                true,
                "test",
            ),
            pair(
                "How many bytes in a kilobyte",
                "the moon is made of cheese",
                true,
                "test",
            ),
        ];
        let judgements = judge(&pairs, 0.92).unwrap();
        let served: Vec<bool> = judgements.iter().map(|j| j.served.is_some()).collect();
        assert_eq!(served, [true, false, true, false]);
        let scores = score(&pairs, &judgements, 0.92);
        let names: Vec<&str> = scores.iter().map(|s| s.split.as_str()).collect();
        assert_eq!(names, ["dev", "test", "all"]);
        assert_eq!((scores[0].precision, scores[0].recall), (1.0, 1.0));
        assert_eq!((scores[1].served_right, scores[1].paraphrases), (1, 2));
        assert_eq!(scores[2].recall, 2.0 / 3.0);
    }

    #[test]
    fn bad_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pairs.jsonl");
        std::fs::write(
            &path,
            "{\"a\":\"x\",\"b\":\"y\",\"same\":true}\n\nnot json\n",
        )
        .unwrap();
        let err = read_pairs(&path).unwrap_err().to_string();
        assert!(err.contains("pairs.jsonl:3: not a pair"), "{err}");
        std::fs::write(&path, "\n\n").unwrap();
        assert!(matches!(read_pairs(&path), Err(EvalError::Empty { .. })));
        std::fs::write(&path, "{\"a\":\"x\",\"b\":\"y\",\"same\":true}\n").unwrap();
        assert_eq!(read_pairs(&path).unwrap()[0].id.as_deref(), Some("line-1"));
    }
}
