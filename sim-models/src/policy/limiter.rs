//! Token-bucket rate limiter: a bucket of `burst` tokens, full at the start,
//! refilled at `rate_per_s`. A call takes one token. With a `max_wait`, a
//! call that finds the bucket empty reserves the next token (the balance
//! goes negative) and waits until it is due, if that is soon enough; this
//! keeps waiters in FIFO order without a queue (Guava's smooth limiter does
//! the same).

use serde::{Deserialize, Serialize};
use sim_core::{FieldError, SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// A named token bucket shared by the callers that name it.
pub struct RateLimiterSpec {
    /// Name that `RateLimit("name")` policies refer to; clients naming the
    /// same limiter share its tokens.
    pub name: String,
    /// Tokens added per second.
    pub rate_per_s: f64,
    /// Bucket size (default: one second's worth of tokens, at least 1).
    #[serde(default)]
    pub burst: Option<f64>,
}

const TOKEN_EPSILON: f64 = 1e-9;

#[derive(Clone, Debug)]
/// A validated token bucket with its tokens and counters.
pub struct TokenBucket {
    rate_per_ns: f64,
    burst: f64,
    tokens: f64,
    last: SimTime,
    /// Tokens taken.
    pub granted: u64,
    /// Calls refused.
    pub rejected: u64,
}

impl RateLimiterSpec {
    /// The checked bucket.
    pub fn validate(&self) -> Result<TokenBucket, FieldError> {
        if !(self.rate_per_s.is_finite() && self.rate_per_s > 0.0) {
            return Err(FieldError::new(
                "rate_per_s",
                format!("must be a finite number > 0, got {}", self.rate_per_s),
            ));
        }
        let burst = self.burst.unwrap_or(self.rate_per_s.max(1.0));
        if !(burst.is_finite() && burst >= 1.0) {
            return Err(FieldError::new(
                "burst",
                format!("must be a finite number >= 1, got {burst}"),
            ));
        }
        Ok(TokenBucket {
            rate_per_ns: self.rate_per_s / 1e9,
            burst,
            tokens: burst,
            last: SimTime::ZERO,
            granted: 0,
            rejected: 0,
        })
    }
}

impl TokenBucket {
    fn refill(&mut self, now: SimTime) {
        let elapsed = now.since(self.last).as_nanos() as f64;
        self.tokens = (self.tokens + elapsed * self.rate_per_ns).min(self.burst);
        self.last = self.last.max(now);
    }

    /// Takes a token, waiting at most `max_wait`. Returns the wait (zero when
    /// a token was there), or `None` when the call is rejected.
    pub fn acquire(&mut self, now: SimTime, max_wait: SimDuration) -> Option<SimDuration> {
        self.refill(now);
        // Refill arithmetic in f64 leaves 0.9 + 0.1 a hair under 1; a token
        // that is due must not be refused for that.
        if self.tokens >= 1.0 - TOKEN_EPSILON {
            self.tokens -= 1.0;
            self.granted += 1;
            return Some(SimDuration::ZERO);
        }
        let wait = SimDuration::from_nanos_f64(
            ((1.0 - TOKEN_EPSILON - self.tokens) / self.rate_per_ns).ceil(),
        );
        if !max_wait.is_zero() && wait <= max_wait {
            self.tokens -= 1.0;
            self.granted += 1;
            Some(wait)
        } else {
            self.rejected += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> SimTime {
        SimTime::from_nanos(v * 1_000_000)
    }

    fn bucket(rate: f64, burst: f64) -> TokenBucket {
        RateLimiterSpec {
            name: "x".into(),
            rate_per_s: rate,
            burst: Some(burst),
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn starts_full_and_refills_at_rate() {
        let mut b = bucket(100.0, 5.0);
        let granted = (0..10)
            .filter(|_| b.acquire(ms(0), SimDuration::ZERO).is_some())
            .count();
        assert_eq!(granted, 5);
        // 100/s: one token per 10 ms.
        assert!(b.acquire(ms(9), SimDuration::ZERO).is_none());
        assert!(b.acquire(ms(10), SimDuration::ZERO).is_some());
        // A long pause refills only up to the burst.
        let granted = (0..10)
            .filter(|_| b.acquire(ms(10_000), SimDuration::ZERO).is_some())
            .count();
        assert_eq!(granted, 5);
        assert_eq!(b.rejected, 1 + 5 + 5);
    }

    #[test]
    fn waiting_reserves_tokens_in_order() {
        let mut b = bucket(100.0, 1.0);
        let w = SimDuration::from_millis(25);
        assert_eq!(b.acquire(ms(0), w), Some(SimDuration::ZERO));
        assert_eq!(b.acquire(ms(0), w), Some(SimDuration::from_millis(10)));
        assert_eq!(b.acquire(ms(0), w), Some(SimDuration::from_millis(20)));
        assert_eq!(b.acquire(ms(0), w), None, "30 ms is past the 25 ms limit");
    }

    #[test]
    fn invalid_limiters_are_rejected() {
        let e = RateLimiterSpec {
            name: "x".into(),
            rate_per_s: -3.0,
            burst: None,
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().starts_with("rate_per_s:"));
        let e = RateLimiterSpec {
            name: "x".into(),
            rate_per_s: 3.0,
            burst: Some(0.5),
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().starts_with("burst:"));
    }
}
