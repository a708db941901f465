//! Which failed calls are worth retrying, and how long to wait before the
//! next attempt: exponential backoff with full jitter and a cap, and the
//! server's `retry-after-ms` / `retry-after` (seconds or an HTTP date) when
//! it gives one. Mirrors the official SDKs' rules
//! (`shared/reference/llm-apis.md` §1.7, §3.5): 408, 409, 429 and every 5xx
//! (529 included) are retried, and so are dropped connections and timeouts
//! before the first token; 400, 401, 403, 404 and 422 never are.

use std::time::{Duration, SystemTime};

/// How a client retries.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (the SDKs' default is 2).
    pub max_retries: u32,
    /// The first backoff ceiling; doubled for each retry taken.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
    /// A server-requested delay longer than this is not waited for: the
    /// call fails instead (the SDKs use 60-120 s).
    pub max_server_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_server_delay: Duration::from_secs(120),
        }
    }
}

/// What went wrong with one attempt, as far as retrying is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptFailure {
    /// The server answered with an error status.
    Status {
        /// The HTTP status.
        status: u16,
        /// The `x-should-retry` header, if sent: it overrides the status rules.
        should_retry_header: Option<bool>,
        /// The error code from the body (`insufficient_quota` never succeeds on retry).
        error_code: Option<String>,
    },
    /// The connection failed, was reset, or timed out before any output.
    Connection,
    /// The stream broke after output was shown: never retried silently.
    AfterOutput,
}

/// Whether a status is worth retrying by itself (no header override).
pub fn status_is_retryable(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

impl AttemptFailure {
    /// Whether another attempt could succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            AttemptFailure::Status {
                status,
                should_retry_header,
                error_code,
            } => {
                if let Some(forced) = should_retry_header {
                    return *forced;
                }
                if error_code.as_deref() == Some("insufficient_quota") {
                    return false;
                }
                status_is_retryable(*status)
            }
            AttemptFailure::Connection => true,
            AttemptFailure::AfterOutput => false,
        }
    }
}

/// The server's retry headers, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetryAfterHeaders {
    /// `retry-after-ms`: milliseconds (non-standard; checked first).
    pub retry_after_ms: Option<String>,
    /// `retry-after`: seconds (maybe fractional) or an HTTP date.
    pub retry_after: Option<String>,
}

impl RetryAfterHeaders {
    /// The delay the server asks for, if it gives a usable one.
    pub fn delay(&self, now: SystemTime) -> Option<Duration> {
        if let Some(ms) = self.retry_after_ms.as_deref() {
            if let Ok(ms) = ms.trim().parse::<f64>() {
                if ms.is_finite() && ms > 0.0 {
                    return Some(Duration::from_secs_f64(ms / 1000.0));
                }
            }
        }
        let value = self.retry_after.as_deref()?.trim();
        if let Ok(seconds) = value.parse::<f64>() {
            return (seconds.is_finite() && seconds > 0.0)
                .then(|| Duration::from_secs_f64(seconds));
        }
        let date = httpdate::parse_http_date(value).ok()?;
        date.duration_since(now).ok().filter(|d| !d.is_zero())
    }
}

impl RetryPolicy {
    /// The backoff before retry number `retries_taken + 1`, with full
    /// jitter: uniform in [0, min(max_delay, base_delay * 2^retries_taken)).
    /// `unit_random` is a random number in [0, 1).
    pub fn backoff(&self, retries_taken: u32, unit_random: f64) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retries_taken.min(20)))
            .min(self.max_delay);
        ceiling.mul_f64(unit_random.clamp(0.0, 1.0))
    }

    /// Decides whether to retry after a failed attempt, and after how long.
    /// `None`: give up (not retryable, out of retries, or the server asks
    /// for a longer wait than `max_server_delay`).
    pub fn next_delay(
        &self,
        failure: &AttemptFailure,
        retries_taken: u32,
        server: &RetryAfterHeaders,
        now: SystemTime,
        unit_random: f64,
    ) -> Option<Duration> {
        if !failure.is_retryable() || retries_taken >= self.max_retries {
            return None;
        }
        match server.delay(now) {
            Some(delay) if delay > self.max_server_delay => None,
            Some(delay) => Some(delay),
            None => Some(self.backoff(retries_taken, unit_random)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> AttemptFailure {
        AttemptFailure::Status {
            status,
            should_retry_header: None,
            error_code: None,
        }
    }

    #[test]
    fn retries_what_can_succeed_and_nothing_else() {
        for code in [408, 409, 429, 500, 502, 503, 504, 529] {
            assert!(status(code).is_retryable(), "{code}");
        }
        for code in [400, 401, 403, 404, 413, 422] {
            assert!(!status(code).is_retryable(), "{code}");
        }
        assert!(AttemptFailure::Connection.is_retryable());
        assert!(!AttemptFailure::AfterOutput.is_retryable());
        let quota = AttemptFailure::Status {
            status: 429,
            should_retry_header: None,
            error_code: Some("insufficient_quota".into()),
        };
        assert!(!quota.is_retryable());
        let forced = AttemptFailure::Status {
            status: 400,
            should_retry_header: Some(true),
            error_code: None,
        };
        assert!(forced.is_retryable());
    }

    #[test]
    fn backoff_is_exponential_jittered_and_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(0, 0.999_999).as_millis(), 499);
        assert_eq!(policy.backoff(1, 0.5), Duration::from_millis(500));
        assert_eq!(policy.backoff(2, 0.5), Duration::from_secs(1));
        assert_eq!(policy.backoff(10, 0.5), Duration::from_secs(4));
        assert_eq!(policy.backoff(100, 0.0), Duration::ZERO);
    }

    #[test]
    fn honours_retry_after_in_every_form() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let headers = |ms: Option<&str>, after: Option<&str>| RetryAfterHeaders {
            retry_after_ms: ms.map(String::from),
            retry_after: after.map(String::from),
        };
        assert_eq!(
            headers(Some("1500"), Some("20")).delay(now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            headers(None, Some("2")).delay(now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            headers(None, Some("0.25")).delay(now),
            Some(Duration::from_millis(250))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            headers(None, Some(&date)).delay(now),
            Some(Duration::from_secs(30))
        );
        // A retry-after-ms that is zero, negative or not a number gives way
        // to retry-after.
        for ms in ["0", "-5", "NaN", "inf", "soon"] {
            assert_eq!(
                headers(Some(ms), Some("2")).delay(now),
                Some(Duration::from_secs(2)),
                "{ms}"
            );
        }
        assert_eq!(headers(None, Some("soon")).delay(now), None);
        assert_eq!(
            headers(None, Some("0")).delay(now),
            None,
            "a zero wait leaves the delay to the backoff"
        );
        assert_eq!(headers(None, Some("-1")).delay(now), None);

        let policy = RetryPolicy::default();
        let long = headers(None, Some("600"));
        assert_eq!(policy.next_delay(&status(429), 0, &long, now, 0.5), None);
        // "A wait over 120 s is not taken": 120 itself is.
        let limit = headers(None, Some("120"));
        assert_eq!(
            policy.next_delay(&status(429), 0, &limit, now, 0.5),
            Some(policy.max_server_delay)
        );
        let short = headers(None, Some("3"));
        assert_eq!(
            policy.next_delay(&status(429), 0, &short, now, 0.5),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.next_delay(&status(429), 2, &short, now, 0.5), None);
        assert_eq!(policy.next_delay(&status(401), 0, &short, now, 0.5), None);
    }
}
