//! Secret detection: API keys and credentials in text about to be sent to
//! a model (OWASP LLM02, sensitive information disclosure). Finds provider
//! keys by their documented shapes, private key blocks, and high-entropy
//! values assigned to names that say they are secrets, also inside Base64,
//! Base32 and hex runs (a Base64-encoded key is still a key); reports where
//! they are, and can redact them.

use std::sync::OnceLock;

use regex::Regex;

use crate::guard::injection::Hidden;

/// One secret found in a text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SecretMatch {
    /// What kind of secret (`openai_key`, `aws_access_key`...).
    pub kind: &'static str,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Byte range of the secret value in the text (for an encoded
    /// secret: of the whole encoded run).
    #[serde(skip)]
    pub range: std::ops::Range<usize>,
    /// How the secret was encoded, when it was found in a decoded run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Hidden>,
}

/// The patterns, each with its kind; the capture group `secret` (or the
/// whole match) is the secret itself.
fn patterns() -> &'static [(&'static str, Regex)] {
    static PATTERNS: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let table: [(&'static str, &str); 9] = [
            ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
            ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
            ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
            ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
            ("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
            ("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
            (
                "private_key",
                r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )?PRIVATE KEY-----",
            ),
            (
                "aws_secret_key",
                r#"(?i)aws_?secret_?access_?key\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9/+=]{40})"#,
            ),
            (
                "assigned_secret",
                r#"(?i)\b[A-Za-z0-9_.\-]*(?:secret|token|passw(?:or)?d|api_?key|access_?key|private_?key|credential)[A-Za-z0-9_.\-]*\s*[:=]\s*["']?(?P<secret>[^\s"'`;,]{16,})"#,
            ),
        ];
        table
            .into_iter()
            .filter_map(|(kind, pattern)| Regex::new(pattern).ok().map(|r| (kind, r)))
            .collect()
    })
}

/// Shannon entropy in bits per character.
fn entropy(value: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in value.bytes() {
        counts[b as usize] += 1;
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether a value assigned to a secret-sounding name looks like a real
/// secret rather than a placeholder or a word (`${TOKEN}`, `changeme`).
fn looks_random(value: &str) -> bool {
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_letter = value.bytes().any(|b| b.is_ascii_alphabetic());
    has_digit && has_letter && entropy(value) >= 3.5
}

/// Every secret in `text`, in order, without overlaps: plain ones, then
/// those inside encoded runs.
pub fn find_secrets(text: &str) -> Vec<SecretMatch> {
    let mut found = plain_secrets(text);
    for run in crate::guard::encoded::word_runs(text) {
        if overlaps(&found, &run.range) {
            continue;
        }
        if let Some(inner) = plain_secrets(&run.decoded).first() {
            found.push(SecretMatch {
                kind: inner.kind,
                via: Some(run.via),
                ..located(inner.kind, run.range.clone())
            });
        }
    }
    found.sort_by_key(|f| f.range.start);
    set_positions(text, &mut found);
    found
}

/// Fills in the line and column of each of `found` (in order of
/// position) in one pass over `text`.
fn set_positions(text: &str, found: &mut [SecretMatch]) {
    let (mut at, mut line, mut line_start, mut column) = (0, 1, 0, 1);
    for secret in found {
        let start = secret.range.start;
        let mut counted_from = at;
        for newline in memchr::memchr_iter(b'\n', &text.as_bytes()[at..start]) {
            line += 1;
            line_start = at + newline + 1;
        }
        if line_start > counted_from {
            counted_from = line_start;
            column = 1;
        }
        column += text[counted_from..start].chars().count();
        at = start;
        secret.line = line;
        secret.column = column;
    }
}

fn overlaps(found: &[SecretMatch], range: &std::ops::Range<usize>) -> bool {
    found
        .iter()
        .any(|f| f.range.start < range.end && range.start < f.range.end)
}

/// A match of `kind` at `range` (its line and column are set later).
fn located(kind: &'static str, range: std::ops::Range<usize>) -> SecretMatch {
    SecretMatch {
        kind,
        line: 0,
        column: 0,
        range,
        via: None,
    }
}

/// The secrets the patterns find in `text` as it is.
fn plain_secrets(text: &str) -> Vec<SecretMatch> {
    let mut found: Vec<SecretMatch> = Vec::new();
    for (kind, regex) in patterns() {
        for captures in regex.captures_iter(text) {
            let Some(m) = captures.name("secret").or_else(|| captures.get(0)) else {
                continue;
            };
            if *kind == "assigned_secret" && !looks_random(m.as_str()) {
                continue;
            }
            if !overlaps(&found, &m.range()) {
                found.push(located(kind, m.range()));
            }
        }
    }
    found.sort_by_key(|f| f.range.start);
    found
}

/// `text` with every secret replaced by `[REDACTED:<kind>]`.
pub fn redact(text: &str) -> (String, Vec<SecretMatch>) {
    let found = find_secrets(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for secret in &found {
        out.push_str(&text[at..secret.range.start]);
        out.push_str(&format!("[REDACTED:{}]", secret.kind));
        at = secret.range.end;
    }
    out.push_str(&text[at..]);
    (out, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<&'static str> {
        find_secrets(text).into_iter().map(|s| s.kind).collect()
    }

    #[test]
    fn finds_provider_keys_by_shape() {
        assert_eq!(
            kinds("key: sk-proj-AbCdEf0123456789GhIjKlMnOp"),
            ["openai_key"]
        );
        assert_eq!(
            kinds("ANTHROPIC=sk-ant-api03-AbCdEf0123456789_GhIjKl-MnOp"),
            ["anthropic_key"]
        );
        assert_eq!(kinds("id AKIAIOSFODNN7EXAMPLE here"), ["aws_access_key"]);
        assert_eq!(
            kinds("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ["aws_secret_key"]
        );
        assert_eq!(
            kinds("token ghp_0123456789abcdefghijABCDEFGHIJ012345"),
            ["github_token"]
        );
        assert_eq!(kinds("xoxb-123456789012-abcdefABCDEF"), ["slack_token"]);
        assert_eq!(
            kinds("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"),
            ["private_key"]
        );
        assert_eq!(
            kinds("DB_PASSWORD=\"x9T!kq2Lz8Wm4Rv7Bn\""),
            ["assigned_secret"]
        );
    }

    #[test]
    fn leaves_ordinary_developer_text_alone() {
        for benign in [
            "let token = tokenizer.next_token();",
            "password = \"changeme\"",
            "API_KEY=${OPENAI_API_KEY}",
            "export OPENAI_API_KEY=your-key-here",
            "the skeleton key opened the sk-8 door",
            "commit 3f2a9c1d0b7e6f5a4c3b2a1908f7e6d5c4b3a291",
            "SELECT * FROM secret_table WHERE id = 42;",
        ] {
            assert!(kinds(benign).is_empty(), "{benign}: {:?}", kinds(benign));
        }
    }

    #[test]
    fn every_kind_compiles_and_finds_its_example() {
        assert_eq!(patterns().len(), 9, "a pattern failed to compile");
        let examples = [
            ("anthropic_key", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx"),
            ("openai_key", "sk-proj-AbCdEf0123456789GhIjKlMnOp"),
            ("aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
            (
                "github_token",
                "ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
            ),
            ("slack_token", "xoxb-1234567890-abcdefghij"),
            ("google_api_key", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
            (
                "private_key",
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
            ),
            (
                "aws_secret_key",
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            ("assigned_secret", "db_password: Zq8!xR2#vL9@mN4$pK7w"),
        ];
        for (kind, text) in examples {
            let kinds: Vec<&str> = find_secrets(text).iter().map(|m| m.kind).collect();
            assert!(kinds.contains(&kind), "{kind}: {text:?} gave {kinds:?}");
        }
        for (kind, text) in [
            ("google_api_key", "AIzaShort"),
            ("aws_access_key", "AKIA1234"),
        ] {
            let kinds: Vec<&str> = find_secrets(text).iter().map(|m| m.kind).collect();
            assert!(!kinds.contains(&kind), "{kind}: {text:?} is too short");
        }
    }

    #[test]
    fn reports_locations_and_redacts() {
        let text = "line one\n  key=sk-proj-AbCdEf0123456789GhIjKlMnOp done";
        let (redacted, found) = redact(text);
        assert_eq!(found[0].line, 2);
        assert_eq!(found[0].column, 7);
        assert_eq!(redacted, "line one\n  key=[REDACTED:openai_key] done");
    }

    #[test]
    fn lines_and_columns_of_many_secrets() {
        let text = "a sk-proj-AbCdEf0123456789GhIjKlMnOp é sk-proj-ZyXwVu9876543210TsRqPoNmLk\n\
                    \u{e9}\u{e9} ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let places: Vec<(usize, usize)> = find_secrets(text)
            .iter()
            .map(|s| (s.line, s.column))
            .collect();
        assert_eq!(places, [(1, 3), (1, 40), (2, 4)]);
    }

    #[test]
    fn every_secret_in_a_text_is_found_not_only_the_first() {
        let text = "one: sk-proj-AbCdEf0123456789GhIjKlMnOp\n\
                    two: ghp_0123456789abcdefghijABCDEFGHIJ012345\n\
                    three: sk-proj-ZyXwVu9876543210TsRqPoNmLk";
        assert_eq!(kinds(text), ["openai_key", "github_token", "openai_key"]);
    }

    #[test]
    fn a_base64_encoded_key_is_found_as_its_run() {
        use base64::Engine as _;
        let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for (plain, kind) in [
            (
                "OPENAI_API_KEY=sk-proj-Xy7Kq2Lm9Tz4Vb8Nw3Rc6Hd1",
                "openai_key",
            ),
            ("aws_access_key_id = AKIAQ3EXAMPLE7KZ2WFB", "aws_access_key"),
            (
                "admin:sk-ant-api03-Q9wErTy7UiOp3AsDf6GhJk2Lz",
                "anthropic_key",
            ),
        ] {
            let run = encode(plain);
            let text = format!("config: {run} end");
            let found = find_secrets(&text);
            assert_eq!(found.len(), 1, "{plain}: {found:?}");
            assert_eq!((found[0].kind, found[0].via), (kind, Some(Hidden::Base64)));
            assert_eq!(&text[found[0].range.clone()], run);
            assert_eq!(found[0].column, 9);
            let (redacted, _) = redact(&text);
            assert_eq!(redacted, format!("config: [REDACTED:{kind}] end"));
        }
        // Base64 of ordinary text, or of binary, holds no secret.
        assert!(kinds(&encode("The quick brown fox jumps over the lazy dog")).is_empty());
        assert!(kinds("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7").is_empty());
    }

    #[test]
    fn an_assigned_value_needs_letters_digits_and_entropy() {
        // Letters alone, however varied, are a word or a placeholder.
        assert!(kinds("api_key = abcdefghijklmnopqrstuvwxyzABCD").is_empty());
        // Letters and digits that repeat are a placeholder too.
        assert!(kinds("password = aaaa1111aaaa1111aaaa").is_empty());
        assert_eq!(
            kinds("password = q7Lm2Xv9Tz4Kp8Rw3Ny6"),
            ["assigned_secret"]
        );
    }
}
