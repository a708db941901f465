//! Client-side limits on requests and tokens per minute: two token buckets
//! that refill continuously, so batch work (embedding a corpus, replaying
//! many turns) stays under a provider's quota instead of hitting 429s.

use std::time::{Duration, Instant};

/// One bucket: `capacity` units, refilled at `capacity` per minute.
#[derive(Clone, Debug)]
struct Bucket {
    capacity: f64,
    available: f64,
    updated: Instant,
}

impl Bucket {
    fn new(per_minute: u32, now: Instant) -> Bucket {
        Bucket {
            capacity: f64::from(per_minute),
            available: f64::from(per_minute),
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.available = (self.available + elapsed * self.capacity / 60.0).min(self.capacity);
        self.updated = now;
    }

    /// How long until `amount` units are available (amounts above the
    /// capacity wait for a full bucket, so one huge request still goes).
    fn wait_for(&self, amount: f64) -> Duration {
        let amount = amount.min(self.capacity);
        if self.available >= amount {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((amount - self.available) * 60.0 / self.capacity)
        }
    }
}

/// Requests-per-minute and tokens-per-minute limits; 0 means no limit.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
}

impl RateLimiter {
    /// A limiter with the given limits per minute (0: unlimited).
    pub fn new(requests_per_minute: u32, tokens_per_minute: u32) -> RateLimiter {
        let now = Instant::now();
        RateLimiter {
            requests: (requests_per_minute > 0).then(|| Bucket::new(requests_per_minute, now)),
            tokens: (tokens_per_minute > 0).then(|| Bucket::new(tokens_per_minute, now)),
        }
    }

    /// How long to wait, at `now`, before a request of `tokens` tokens may
    /// go; when it is zero the request's share is taken from the buckets.
    pub fn reserve(&mut self, tokens: u64, now: Instant) -> Duration {
        let mut wait = Duration::ZERO;
        for (bucket, amount) in [(&mut self.requests, 1.0), (&mut self.tokens, tokens as f64)] {
            if let Some(bucket) = bucket {
                bucket.refill(now);
                wait = wait.max(bucket.wait_for(amount));
            }
        }
        if wait.is_zero() {
            for (bucket, amount) in [(&mut self.requests, 1.0), (&mut self.tokens, tokens as f64)] {
                if let Some(bucket) = bucket {
                    bucket.available -= amount.min(bucket.capacity);
                }
            }
        }
        wait
    }

    /// Blocks until a request of `tokens` tokens may go, then takes its share.
    pub fn acquire(&mut self, tokens: u64) {
        loop {
            let wait = self.reserve(tokens, Instant::now());
            if wait.is_zero() {
                return;
            }
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let mut limiter = RateLimiter::new(0, 0);
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(limiter.reserve(1_000_000, now), Duration::ZERO);
        }
    }

    #[test]
    fn requests_per_minute_spread_out() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(60, 0);
        for _ in 0..60 {
            assert_eq!(limiter.reserve(0, start), Duration::ZERO);
        }
        // The 61st must wait one refill (a second at 60/min).
        assert_eq!(limiter.reserve(0, start), Duration::from_secs(1));
        assert_eq!(
            limiter.reserve(0, start + Duration::from_secs(1)),
            Duration::ZERO
        );
        // One second refilled one request, not more.
        assert_eq!(
            limiter.reserve(0, start + Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn acquire_takes_its_share() {
        let mut limiter = RateLimiter::new(0, 6_000);
        limiter.acquire(6_000);
        assert!(!limiter.reserve(6_000, Instant::now()).is_zero());
    }

    #[test]
    fn tokens_per_minute_limit_large_requests() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(0, 10_000);
        assert_eq!(limiter.reserve(8_000, start), Duration::ZERO);
        // 2,000 left; 5,000 more needs 3,000 refilled: 18 s at 10,000/min.
        assert_eq!(limiter.reserve(5_000, start), Duration::from_secs(18));
        assert_eq!(
            limiter.reserve(5_000, start + Duration::from_secs(18)),
            Duration::ZERO
        );
        // A request larger than the whole bucket waits for a full bucket, then goes.
        let later = start + Duration::from_secs(600);
        assert_eq!(limiter.reserve(50_000, later), Duration::ZERO);
    }
}
