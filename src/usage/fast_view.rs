//! A fast path for reading [`UsageView`]s: a scanner for the flat JSON
//! objects confab writes (strings without escapes, integers, null, booleans,
//! arrays of strings), several times faster than serde_json on a
//! million-record log. Anything else (an escape, a nested object, a
//! duplicate or missing field, a float where an integer belongs) makes it
//! return `None`, and the caller parses that line with serde_json instead,
//! so the result never differs: a test checks both agree.

use std::borrow::Cow;

use crate::usage::{CallOutcome, UsageSource, UsageView};

/// Bytes that end the fast scan of a string: the closing quote, an escape,
/// and the control characters JSON forbids inside strings.
const STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// A cursor over one line, already checked to be UTF-8.
struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// A string without escapes, borrowed.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let mut end = start;
        while !STRING_STOP[usize::from(*self.bytes.get(end)?)] {
            end += 1;
        }
        if self.bytes[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        // Both ends sit next to an ASCII quote: always char boundaries.
        self.text.get(start..end)
    }

    /// An unsigned integer.
    fn integer(&mut self) -> Option<u64> {
        self.skip_ws();
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(digit) = self.peek().filter(u8::is_ascii_digit) {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        // A float, a sign or an exponent is serde's job.
        let plain = self.at > start
            && !matches!(self.peek(), Some(b'.' | b'e' | b'E' | b'-' | b'+'))
            && !(self.bytes[start] == b'0' && self.at - start > 1);
        plain.then_some(value)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.skip_ws();
        self.bytes[self.at..]
            .starts_with(word)
            .then(|| self.at += word.len())
    }

    /// `null` -> `None`, else the value.
    fn nullable<T>(&mut self, value: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        self.skip_ws();
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            Some(None)
        } else {
            value(self).map(Some)
        }
    }

    fn strings(&mut self) -> Option<Vec<Cow<'a, str>>> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(items);
        }
        loop {
            items.push(Cow::Borrowed(self.string()?));
            self.skip_ws();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(items);
                }
                _ => return None,
            }
        }
    }

    /// Skips a value of a field a view does not need (no nesting).
    fn skip_value(&mut self) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'[' => self.strings().map(drop),
            b'0'..=b'9' => self.integer().map(drop),
            _ => None,
        }
    }
}

/// Parses one line into a view, or `None` if the line needs serde_json.
pub fn parse(line: &[u8]) -> Option<UsageView<'_>> {
    let text = std::str::from_utf8(line).ok()?;
    let mut s = Scanner {
        text,
        bytes: line,
        at: 0,
    };
    let mut ts = None;
    let mut conversation_id = None;
    let mut command = None;
    let mut provider = None;
    let mut model_requested = None;
    let mut model_reported = None;
    let mut input_tokens = None;
    let mut cached_input_tokens = None;
    let mut cache_write_tokens = None;
    let mut cache_write_hour_tokens = None;
    let mut output_tokens = None;
    let mut usage_source = None;
    let mut latency_ms = None;
    let mut ttft_ms = None;
    let mut outcome = None;
    let mut tags = None;
    let mut preset = None;
    let mut tier = None;
    s.expect(b'{')?;
    s.skip_ws();
    if s.peek()? != b'}' {
        loop {
            let key = s.string()?;
            s.expect(b':')?;
            // Each field at most once: a duplicate is serde's error to report.
            fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
                slot.is_none().then(|| *slot = Some(value))
            }
            match key {
                "ts" => set(&mut ts, s.string()?)?,
                "conversation_id" => set(&mut conversation_id, s.nullable(Scanner::string)?)?,
                "command" => set(&mut command, s.string()?)?,
                "provider" => set(&mut provider, s.string()?)?,
                "model_requested" => set(&mut model_requested, s.string()?)?,
                "model_reported" => set(&mut model_reported, s.nullable(Scanner::string)?)?,
                "input_tokens" => set(&mut input_tokens, s.integer()?)?,
                "cached_input_tokens" => set(&mut cached_input_tokens, s.integer()?)?,
                "cache_write_tokens" => set(&mut cache_write_tokens, s.integer()?)?,
                "cache_write_hour_tokens" => set(&mut cache_write_hour_tokens, s.integer()?)?,
                "output_tokens" => set(&mut output_tokens, s.integer()?)?,
                "usage_source" => set(
                    &mut usage_source,
                    match s.string()? {
                        "api" => UsageSource::Api,
                        "local" => UsageSource::Local,
                        _ => return None,
                    },
                )?,
                "latency_ms" => set(&mut latency_ms, s.integer()?)?,
                "ttft_ms" => set(&mut ttft_ms, s.nullable(Scanner::integer)?)?,
                "outcome" => set(
                    &mut outcome,
                    match s.string()? {
                        "ok" => CallOutcome::Ok,
                        "error" => CallOutcome::Error,
                        "interrupted" => CallOutcome::Interrupted,
                        "cache_hit" => CallOutcome::CacheHit,
                        _ => return None,
                    },
                )?,
                "tags" => set(&mut tags, s.strings()?)?,
                "preset" => set(&mut preset, s.nullable(Scanner::string)?)?,
                "tier" => set(&mut tier, s.nullable(Scanner::string)?)?,
                _ => s.skip_value()?,
            }
            s.skip_ws();
            match s.peek()? {
                b',' => s.at += 1,
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.at += 1;
    s.skip_ws();
    if s.at != line.len() {
        return None;
    }
    Some(UsageView {
        ts: Cow::Borrowed(ts?),
        conversation_id: conversation_id.flatten().map(Cow::Borrowed),
        command: Cow::Borrowed(command?),
        provider: Cow::Borrowed(provider?),
        model_requested: Cow::Borrowed(model_requested?),
        model_reported: model_reported.flatten().map(Cow::Borrowed),
        input_tokens: input_tokens.unwrap_or(0),
        cached_input_tokens: cached_input_tokens.unwrap_or(0),
        cache_write_tokens: cache_write_tokens.unwrap_or(0),
        cache_write_hour_tokens: cache_write_hour_tokens.unwrap_or(0),
        output_tokens: output_tokens.unwrap_or(0),
        usage_source: usage_source?,
        latency_ms: latency_ms?,
        ttft_ms: ttft_ms.flatten(),
        outcome: outcome?,
        tags: tags.unwrap_or_default(),
        preset: preset.flatten().map(Cow::Borrowed),
        tier: tier.flatten().map(Cow::Borrowed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_view(line: &str) -> Option<UsageView<'_>> {
        serde_json::from_str(line).ok()
    }

    #[test]
    fn agrees_with_serde_or_defers_to_it() {
        let lines = [
            r#"{"v":1,"ts":"2026-01-01T00:00:00Z","call_id":"a","conversation_id":"c1","command":"chat","provider":"p","host":"h","model_requested":"m","model_reported":"m-1","input_tokens":10,"cached_input_tokens":2,"cache_write_tokens":3,"output_tokens":4,"reasoning_tokens":0,"usage_source":"api","latency_ms":5,"ttft_ms":6,"retries":1,"status":200,"error_kind":null,"outcome":"ok","tags":["ci","x"]}"#,
            r#"{"ts":"t","command":"chat","provider":"p","model_requested":"m","usage_source":"api","latency_ms":5,"outcome":"ok","tags":[],"preset":"review"}"#,
            r#"{"ts":"t","command":"batch","provider":"p","model_requested":"m","usage_source":"api","latency_ms":0,"outcome":"ok","tier":"batch","batch_id":"b1"}"#,
            r#" { "ts" : "2026-01-01T00:00:00Z" , "command":"chat","provider":"p","model_requested":"m","usage_source":"local","latency_ms":5,"outcome":"interrupted","ttft_ms":null,"model_reported":null,"tags":[] } "#,
            r#"{"ts":"t","command":"c\"quoted","provider":"p","model_requested":"m","usage_source":"api","latency_ms":5,"outcome":"ok"}"#,
            r#"{"ts":"t","command":"c","provider":"p","model_requested":"m","usage_source":"api","latency_ms":5.5,"outcome":"ok"}"#,
            r#"{"ts":"t","command":"c","provider":"p","model_requested":"m","usage_source":"api","latency_ms":5,"outcome":"ok","extra":{"nested":true}}"#,
            r#"{"ts":"t","command":"c","provider":"p","model_requested":"m","usage_source":"api","latency_ms":5,"outcome":"ok","ts":"again"}"#,
            r#"{"ts":"t","command":"c","provider":"p","model_requested":"m","usage_source":"api","outcome":"ok"}"#,
            r#"{"ts":"t","command":"c","provider":"p","model_requested":"m","usage_source":"api","latency_ms":5,"outcome":"ok"} trailing"#,
            r#"{"ts":"t","command":"c","provider":"p","model_requested":"m","usage_source":"api","latency_ms":-5,"outcome":"ok"}"#,
            r#"{"ts":"t","command":"c","provider":"p","model_requested":"m","usage_source":"weird","latency_ms":5,"outcome":"ok"}"#,
            r#"{"ts":"t","command":"c","provider":"p","model_requested":"m","usage_source":"api","latency_ms":5,"outcome":"ok","prompt":"caf\u00e9"}"#,
            r#"{"ts":"t","command":"c","provider":"p","model_requested":"m","usage_source":"api","latency_ms":18446744073709551616,"outcome":"ok"}"#,
            r#"{"ts":"t""#,
            "",
        ];
        for line in lines {
            let fast = parse(line.as_bytes());
            let slow = serde_view(line);
            if let Some(fast) = &fast {
                assert_eq!(Some(fast), slow.as_ref(), "{line}");
            }
        }
        assert!(
            parse(lines[0].as_bytes()).is_some(),
            "the common case takes the fast path"
        );
        assert!(parse(lines[1].as_bytes()).is_some());
        assert!(parse(lines[3].as_bytes()).is_some());
        let with_preset = parse(lines[1].as_bytes()).expect("fast path");
        assert_eq!(with_preset.preset.as_deref(), Some("review"));
        let batch = parse(lines[2].as_bytes()).expect("fast path");
        assert!(batch.is_batch(), "the tier is read on the fast path");
        assert!(
            parse(lines[4].as_bytes()).is_none(),
            "escapes defer to serde"
        );
        assert!(serde_view(lines[4]).is_some());
    }
}
