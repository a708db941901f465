//! Value parsers for numeric flags: every number a person types is
//! checked here (a finite number, in range) before any command runs, so a
//! bad one is a usage error (exit 2) naming the flag, never a panic, an
//! allocation of the whole memory, or a silent nonsense run.

use std::fmt::Display;
use std::str::FromStr;

use crate::exit::{ExitKind, Failure};

/// Parses `text` as a `T` from `low` to `high` (inclusive); the error says
/// what `what` must be.
fn in_range<T>(text: &str, low: T, high: T, what: &str) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display + Copy,
{
    match text.trim().parse::<T>() {
        Ok(value) if value >= low && value <= high => Ok(value),
        _ => Err(format!("`{text}` is not {what}: use {low} to {high}")),
    }
}

/// A float from `low` to `high`, refusing NaN and infinities.
fn finite_in_range(text: &str, low: f32, high: f32, what: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(value) if value.is_finite() && (low..=high).contains(&value) => Ok(value),
        _ => Err(format!(
            "`{text}` is not {what}: use a number from {low} to {high}"
        )),
    }
}

/// `--temperature`: the sampling temperature APIs accept.
pub fn temperature(text: &str) -> Result<f32, String> {
    finite_in_range(text, 0.0, 2.0, "a temperature")
}

/// `--var KEY=VALUE`: a value for a preset template's `{KEY}`.
pub fn template_var(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE, such as --var lang=Rust"))?;
    if !crate::presets::template::is_variable_name(key) {
        return Err(format!(
            "`{key}` is not a variable name: a letter or `_`, then letters, digits, `_` or `-`"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// `--max-tokens`: an output cap of at least one token.
pub fn output_cap(text: &str) -> Result<u32, String> {
    in_range(text, 1, 10_000_000, "an output cap in tokens")
}

/// `-k`: how many chunks to retrieve.
pub fn top_k(text: &str) -> Result<usize, String> {
    in_range(text, 1, 1000, "a number of results")
}

/// `--chunk-tokens`: the size of a chunk.
pub fn chunk_tokens(text: &str) -> Result<usize, String> {
    in_range(text, 4, 8192, "a chunk size in tokens")
}

/// `--overlap`: the share of a chunk repeated in the next.
pub fn overlap(text: &str) -> Result<f32, String> {
    finite_in_range(text, 0.0, 0.5, "an overlap share")
}

/// `--threads`: worker threads.
pub fn threads(text: &str) -> Result<usize, String> {
    in_range(text, 1, 1024, "a number of threads")
}

/// A token count given by hand (`--output-tokens`, `--limit`).
pub fn token_count(text: &str) -> Result<u64, String> {
    in_range(text, 0, 1_000_000_000_000, "a token count")
}

/// The usage logs a command reads and the time window it looks at, as
/// `cost-report` and `usage export` take them.
#[derive(Debug, Clone, clap::Args)]
pub struct LogWindow {
    /// Read this usage log instead of confab's own (repeatable)
    #[arg(long, value_name = "FILE")]
    pub log: Vec<std::path::PathBuf>,

    /// Only calls since: a date (2026-11-01), a time (RFC 3339), or an age (24h, 7d, 2w)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// Only calls before: a date (that whole day included), a time, or an age
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
}

impl LogWindow {
    /// The logs to read: the `--log` files, else the data directory's.
    pub fn logs(&self, data_dir: &std::path::Path) -> Vec<crate::usage::UsageLog> {
        if self.log.is_empty() {
            vec![crate::usage::UsageLog::in_data_dir(data_dir)]
        } else {
            self.log
                .iter()
                .cloned()
                .map(crate::usage::UsageLog::at)
                .collect()
        }
    }

    /// `--since` and `--until` as UTC `YYYY-MM-DDTHH:MM:SS` bounds,
    /// ages taken back from `now`.
    pub fn bounds(&self, now: jiff::Timestamp) -> anyhow::Result<(Option<String>, Option<String>)> {
        let bound = |value: &Option<String>, until| {
            value
                .as_deref()
                .map(|s| time_bound(s, now, until))
                .transpose()
        };
        Ok((bound(&self.since, false)?, bound(&self.until, true)?))
    }
}

/// Turns `--since`/`--until` into a UTC `YYYY-MM-DDTHH:MM:SS` bound.
fn time_bound(value: &str, now: jiff::Timestamp, until: bool) -> anyhow::Result<String> {
    let bad = || {
        Failure::new(ExitKind::Usage, format!("cannot read `{value}` as a time"))
            .hint("use a date (2026-11-01), an RFC 3339 time (2026-11-01T12:00:00Z) or an age (30m, 24h, 7d, 2w)")
    };
    let format = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    if let Some((number, unit)) = value
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| value.split_at(i))
    {
        if let (Ok(n), Some(seconds)) = (
            number.parse::<i64>(),
            match unit {
                "m" => Some(60),
                "h" => Some(3600),
                "d" => Some(86_400),
                "w" => Some(604_800),
                _ => None,
            },
        ) {
            let span = jiff::SignedDuration::from_secs(n.saturating_mul(seconds));
            return now.checked_sub(span).map(format).map_err(|_| bad().into());
        }
    }
    if let Ok(date) = jiff::civil::Date::strptime("%Y-%m-%d", value) {
        let date = if until {
            date.tomorrow().map_err(|_| bad())?
        } else {
            date
        };
        return Ok(format!("{date}T00:00:00"));
    }
    value
        .parse::<jiff::Timestamp>()
        .map(format)
        .map_err(|_| bad().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_out_of_range_or_not_finite_are_refused() {
        for bad in ["nan", "NaN", "inf", "-inf", "9", "-0.1", "", "x"] {
            assert!(temperature(bad).is_err(), "{bad}");
        }
        assert_eq!(temperature("0.7"), Ok(0.7));
        assert_eq!(temperature("2"), Ok(2.0));
        for bad in ["0", "-1", "18446744073709551615", "1e3"] {
            assert!(output_cap(bad).is_err(), "{bad}");
        }
        assert_eq!(output_cap("1"), Ok(1));
        for bad in ["0", "18446744073709551615", "999999999"] {
            assert!(top_k(bad).is_err(), "{bad}");
        }
        assert_eq!(top_k(" 8 "), Ok(8));
        assert!(chunk_tokens("0").is_err() && chunk_tokens("9000").is_err());
        assert!(overlap("nan").is_err() && overlap("0.9").is_err());
        assert!(threads("0").is_err());
        let err = top_k("0").unwrap_err();
        assert!(err.contains("1 to 1000"), "{err}");
    }
}
