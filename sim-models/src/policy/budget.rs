//! Retry budgets: limits on retries that hold however many requests fail.
//!
//! Two families, with the units their libraries use (see
//! shared/spec/policy-semantics.md):
//! - gRPC retry throttling charges per attempt outcome: a failed attempt
//!   costs one token, a success refunds `token_ratio`; retries are allowed
//!   only while tokens stay above `max_tokens / 2` (after the decrement).
//! - Finagle / tower budgets deposit per request: within a `ttl` window,
//!   retries are limited to `ratio * requests + min_retries_per_sec * ttl`.
//! - Marc Brooker's retry strategies ("Fixing retries with token buckets
//!   and circuit breakers", 2022, and its simulator, retry_strategy.py):
//!   his "adaptive" bucket starts full, gains `per_request` per request
//!   started (not per success) up to its capacity, and allows a retry while
//!   above 1, a retry costing 1; his "circuit breaker" keeps the caller's
//!   cumulative ratio of failed attempts to requests and refuses retries
//!   (never first attempts) while it is above `max_failure_rate`.

use serde::{Deserialize, Serialize};
use sim_core::{FieldError, SimDuration, SimTime};

use super::window::SlidingWindow;

fn ten() -> f64 {
    10.0
}
fn tenth() -> f64 {
    0.1
}
fn ten_seconds() -> SimDuration {
    SimDuration::from_secs(10)
}
fn fifth() -> f64 {
    0.2
}
fn five() -> f64 {
    5.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// A retry budget as written in a retry's spec.
pub enum BudgetSpec {
    /// gRPC retry throttling. Defaults: 10 tokens, ratio 0.1.
    TokenBucket {
        #[serde(default = "ten")]
        /// Tokens when full.
        max_tokens: f64,
        #[serde(default = "tenth")]
        /// Tokens a success gives back.
        token_ratio: f64,
    },
    /// Finagle-style ratio budget. Defaults: ratio 0.2, 10 retries/s, ttl 10 s.
    Ratio {
        #[serde(default = "fifth")]
        /// Retries allowed per request.
        ratio: f64,
        #[serde(default = "ten")]
        /// Retries always allowed per second.
        min_retries_per_sec: f64,
        #[serde(default = "ten_seconds")]
        /// How long a deposit counts.
        ttl: SimDuration,
    },
    /// Brooker's "adaptive" retry bucket. Defaults: 5 tokens, 0.1 per
    /// request.
    Adaptive {
        #[serde(default = "five")]
        /// Tokens when full (it starts full).
        max_tokens: f64,
        #[serde(default = "tenth")]
        /// Tokens each request started adds.
        per_request: f64,
    },
    /// Brooker's "circuit breaker" for retries: no retry while failed
    /// attempts per request, since the start, exceed `max_failure_rate`.
    /// Default: 0.1.
    FailureRatio {
        #[serde(default = "tenth")]
        /// Failed attempts per request above which retries stop.
        max_failure_rate: f64,
    },
}

/// Integer scale of the ratio budget's tokens: a deposit is worth this many
/// units and a retry costs `SCALE / ratio` (Finagle's own trick to keep the
/// arithmetic exact).
const SCALE: i64 = 1_000;
const RATIO_SLOTS: usize = 10;

#[derive(Clone, Debug)]
/// A validated retry budget with its state.
pub enum RetryBudget {
    /// gRPC retry throttling: retries while tokens > max / 2.
    TokenBucket {
        /// Tokens when full.
        max_tokens: f64,
        /// Tokens a success gives back.
        token_ratio: f64,
        /// Tokens now.
        tokens: f64,
    },
    /// Finagle's ratio budget, in exact integer units.
    Ratio {
        /// Units one retry withdraws.
        withdrawal: i64,
        /// Units always available (min_retries_per_sec * ttl retries).
        reserve: i64,
        /// Net units deposited minus withdrawn within the ttl.
        window: SlidingWindow<1>,
    },
    /// Brooker's adaptive bucket: retries while tokens > 1.
    Adaptive {
        /// Tokens when full.
        max_tokens: f64,
        /// Tokens each request started adds.
        per_request: f64,
        /// Tokens now.
        tokens: f64,
    },
    /// Brooker's retry breaker: cumulative failed attempts over requests.
    FailureRatio {
        /// Failed attempts per request above which retries stop.
        max_failure_rate: f64,
        /// Requests started so far.
        requests: u64,
        /// Failed attempts so far.
        failures: u64,
    },
}

impl BudgetSpec {
    /// The checked budget.
    pub fn validate(&self) -> Result<RetryBudget, FieldError> {
        match *self {
            BudgetSpec::TokenBucket {
                max_tokens,
                token_ratio,
            } => {
                if !(max_tokens.is_finite() && max_tokens > 0.0) {
                    return Err(FieldError::new(
                        "max_tokens",
                        format!("must be a finite number > 0, got {max_tokens}"),
                    ));
                }
                if !(token_ratio.is_finite() && token_ratio > 0.0) {
                    return Err(FieldError::new(
                        "token_ratio",
                        format!("must be a finite number > 0, got {token_ratio}"),
                    ));
                }
                Ok(RetryBudget::TokenBucket {
                    max_tokens,
                    token_ratio,
                    tokens: max_tokens,
                })
            }
            BudgetSpec::Ratio {
                ratio,
                min_retries_per_sec,
                ttl,
            } => {
                if !(ratio.is_finite() && ratio > 0.0 && ratio <= 1000.0) {
                    return Err(FieldError::new(
                        "ratio",
                        format!("must be a number in (0, 1000], got {ratio}"),
                    ));
                }
                if !(min_retries_per_sec.is_finite() && min_retries_per_sec >= 0.0) {
                    return Err(FieldError::new(
                        "min_retries_per_sec",
                        format!("must be a finite number >= 0, got {min_retries_per_sec}"),
                    ));
                }
                if ttl.as_nanos() < RATIO_SLOTS as u64 * 1_000 {
                    return Err(FieldError::new("ttl", "must be at least 10us"));
                }
                let withdrawal = ((SCALE as f64) / ratio).round().max(1.0) as i64;
                let reserve = (min_retries_per_sec * ttl.as_secs_f64() * withdrawal as f64) as i64;
                Ok(RetryBudget::Ratio {
                    withdrawal,
                    reserve,
                    window: SlidingWindow::new(ttl, RATIO_SLOTS),
                })
            }
            BudgetSpec::Adaptive {
                max_tokens,
                per_request,
            } => {
                if !(max_tokens.is_finite() && max_tokens > 0.0) {
                    return Err(FieldError::new(
                        "max_tokens",
                        format!("must be a finite number > 0, got {max_tokens}"),
                    ));
                }
                if !(per_request.is_finite() && per_request >= 0.0) {
                    return Err(FieldError::new(
                        "per_request",
                        format!("must be a finite number >= 0, got {per_request}"),
                    ));
                }
                Ok(RetryBudget::Adaptive {
                    max_tokens,
                    per_request,
                    tokens: max_tokens,
                })
            }
            BudgetSpec::FailureRatio { max_failure_rate } => {
                if !(max_failure_rate.is_finite() && max_failure_rate >= 0.0) {
                    return Err(FieldError::new(
                        "max_failure_rate",
                        format!("must be a finite number >= 0, got {max_failure_rate}"),
                    ));
                }
                Ok(RetryBudget::FailureRatio {
                    max_failure_rate,
                    requests: 0,
                    failures: 0,
                })
            }
        }
    }
}

impl RetryBudget {
    /// A new request passed the retry policy (deposit-per-request budgets).
    pub fn on_request(&mut self, now: SimTime) {
        match self {
            RetryBudget::Ratio { window, .. } => window.add(now, [SCALE]),
            RetryBudget::Adaptive {
                max_tokens,
                per_request,
                tokens,
            } => *tokens = (*tokens + *per_request).min(*max_tokens),
            RetryBudget::FailureRatio { requests, .. } => *requests += 1,
            RetryBudget::TokenBucket { .. } => {}
        }
    }

    /// An attempt ended (per-outcome budgets). `failure`: it ended in a
    /// failure the retry policy handles.
    pub fn on_attempt_result(&mut self, success: bool, failure: bool) {
        match self {
            RetryBudget::TokenBucket {
                max_tokens,
                token_ratio,
                tokens,
            } => {
                if success {
                    *tokens = (*tokens + *token_ratio).min(*max_tokens);
                } else if failure {
                    *tokens = (*tokens - 1.0).max(0.0);
                }
            }
            // Brooker counts every failure his retry strategy is asked
            // about, the last attempt's included.
            RetryBudget::FailureRatio { failures, .. } if failure => *failures += 1,
            _ => {}
        }
    }

    /// Asks for one retry; on `true` the retry is charged.
    pub fn try_retry(&mut self, now: SimTime) -> bool {
        match self {
            RetryBudget::TokenBucket {
                max_tokens, tokens, ..
            } => *tokens > *max_tokens / 2.0,
            RetryBudget::Ratio {
                withdrawal,
                reserve,
                window,
            } => {
                let [balance] = window.totals(now);
                if *reserve + balance >= *withdrawal {
                    window.add(now, [-*withdrawal]);
                    true
                } else {
                    false
                }
            }
            RetryBudget::Adaptive { tokens, .. } => {
                if *tokens > 1.0 {
                    *tokens -= 1.0;
                    true
                } else {
                    false
                }
            }
            RetryBudget::FailureRatio {
                max_failure_rate,
                requests,
                failures,
            } => *failures as f64 <= *max_failure_rate * *requests as f64,
        }
    }

    /// Current tokens of a token bucket (for tests and traces).
    pub fn tokens(&self) -> Option<f64> {
        match self {
            RetryBudget::TokenBucket { tokens, .. } | RetryBudget::Adaptive { tokens, .. } => {
                Some(*tokens)
            }
            RetryBudget::Ratio { .. } | RetryBudget::FailureRatio { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SimTime {
        SimTime::from_nanos(ms * 1_000_000)
    }

    /// gRPC: max 10, ratio 0.1. Starting full, failures take tokens 10 -> 9
    /// -> ... ; retries stop once tokens <= 5 after the decrement.
    #[test]
    fn token_bucket_matches_grpc_arithmetic() {
        let mut b = BudgetSpec::TokenBucket {
            max_tokens: 10.0,
            token_ratio: 0.1,
        }
        .validate()
        .unwrap();
        let mut allowed = 0;
        for _ in 0..10 {
            b.on_attempt_result(false, true);
            if b.try_retry(at(0)) {
                allowed += 1;
            }
        }
        // tokens after each failure: 9,8,7,6 (allowed), 5 (blocked), ...
        assert_eq!(allowed, 4);
        assert_eq!(b.tokens(), Some(0.0));
        // Successes refill by 0.1: 51 successes bring tokens to 5.1 > 5.
        for _ in 0..50 {
            b.on_attempt_result(true, false);
        }
        assert!(!b.try_retry(at(0)), "5.0 is not above half");
        b.on_attempt_result(true, false);
        assert!(b.try_retry(at(0)));
        for _ in 0..1000 {
            b.on_attempt_result(true, false);
        }
        assert_eq!(b.tokens(), Some(10.0), "capped at max");
    }

    #[test]
    fn non_retryable_outcomes_do_not_charge() {
        let mut b = BudgetSpec::TokenBucket {
            max_tokens: 4.0,
            token_ratio: 1.0,
        }
        .validate()
        .unwrap();
        b.on_attempt_result(false, false);
        assert_eq!(b.tokens(), Some(4.0));
    }

    /// Brooker's adaptive bucket, by hand: starts full at 5, a request
    /// adds 0.1 (capped), a retry is allowed while tokens > 1 and costs 1.
    #[test]
    fn adaptive_bucket_matches_brookers_strategy() {
        let mut b = BudgetSpec::Adaptive {
            max_tokens: 5.0,
            per_request: 0.1,
        }
        .validate()
        .unwrap();
        b.on_request(at(0)); // min(5 + 0.1, 5) = 5
        assert_eq!(b.tokens(), Some(5.0));
        // A failing request retries 4 times: 5 -> 4 -> 3 -> 2 -> 1, then
        // 1 is not above 1.
        let mut retries = 0;
        for _ in 0..10 {
            b.on_attempt_result(false, true); // successes and failures change nothing
            if b.try_retry(at(0)) {
                retries += 1;
            }
        }
        assert_eq!(retries, 4);
        assert_eq!(b.tokens(), Some(1.0));
        // One request started puts it at 1.1: one more retry, to 0.1.
        b.on_request(at(1));
        assert!(b.try_retry(at(1)));
        assert!((b.tokens().unwrap() - 0.1).abs() < 1e-12);
        assert!(!b.try_retry(at(1)));
        // Nine more requests: 1.0, still not above 1; the tenth: 1.1.
        for _ in 0..9 {
            b.on_request(at(2));
        }
        assert!(!b.try_retry(at(2)), "{:?}", b.tokens());
        b.on_request(at(2));
        assert!(b.try_retry(at(2)));
    }

    /// Brooker's retry breaker: failures / calls > 0.1 refuses retries;
    /// first attempts are never asked about.
    #[test]
    fn failure_ratio_matches_brookers_circuit_breaker() {
        let mut b = BudgetSpec::FailureRatio {
            max_failure_rate: 0.1,
        }
        .validate()
        .unwrap();
        for _ in 0..20 {
            b.on_request(at(0));
        }
        // 2 failures of 20 calls: 0.1 is not above 0.1, retry allowed.
        b.on_attempt_result(false, true);
        b.on_attempt_result(false, true);
        assert!(b.try_retry(at(0)));
        // A third: 0.15 > 0.1, refused; successes do not count.
        b.on_attempt_result(true, false);
        b.on_attempt_result(false, true);
        assert!(!b.try_retry(at(0)));
        // Ten more requests: 3 / 30 = 0.1, allowed again.
        for _ in 0..10 {
            b.on_request(at(1));
        }
        assert!(b.try_retry(at(1)));
        // Outcomes the retry policy does not handle are not failures here.
        b.on_attempt_result(false, false);
        assert!(b.try_retry(at(1)));
    }

    /// Finagle: ttl 10 s, 10 retries/s minimum, 20%: with no requests, 100
    /// retries are available from the reserve; each request adds 0.2.
    #[test]
    fn ratio_budget_matches_finagle_arithmetic() {
        let mut b = BudgetSpec::Ratio {
            ratio: 0.2,
            min_retries_per_sec: 10.0,
            ttl: SimDuration::from_secs(10),
        }
        .validate()
        .unwrap();
        let granted = (0..1000).filter(|_| b.try_retry(at(0))).count();
        assert_eq!(granted, 100);
        // 50 more requests buy 10 more retries.
        for _ in 0..50 {
            b.on_request(at(1));
        }
        let granted = (0..1000).filter(|_| b.try_retry(at(1))).count();
        assert_eq!(granted, 10);
        // Once the window has passed, the withdrawals expire and the reserve
        // is whole again.
        let granted = (0..1000).filter(|_| b.try_retry(at(12_000))).count();
        assert_eq!(granted, 100);
    }

    #[test]
    fn ratio_without_reserve_allows_a_fraction_of_requests() {
        let mut b = BudgetSpec::Ratio {
            ratio: 0.1,
            min_retries_per_sec: 0.0,
            ttl: SimDuration::from_secs(10),
        }
        .validate()
        .unwrap();
        let mut granted = 0;
        for i in 0..1000u64 {
            b.on_request(at(i));
            if b.try_retry(at(i)) {
                granted += 1;
            }
        }
        assert_eq!(granted, 100);
    }

    #[test]
    fn invalid_budgets_name_the_field() {
        let e = BudgetSpec::TokenBucket {
            max_tokens: -1.0,
            token_ratio: 0.1,
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().starts_with("max_tokens:"));
        let e = BudgetSpec::Ratio {
            ratio: 0.0,
            min_retries_per_sec: 1.0,
            ttl: SimDuration::from_secs(1),
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().starts_with("ratio:"));
    }
}
