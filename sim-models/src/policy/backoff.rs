//! Delays between attempts.
//!
//! Indexing: the delay before retry `k` (k = 1 for the first retry, so the
//! second attempt) grows as `base * multiplier^(k-1)`. The AWS
//! architecture-blog formulas write `2^attempt` with attempt counted from 0,
//! which is the same sequence.

use serde::{Deserialize, Serialize};
use sim_core::{FieldError, RngStream, SimDuration};

fn two() -> f64 {
    2.0
}
fn quarter() -> f64 {
    0.25
}

/// How long to wait before a retry, as written in a scenario.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum BackoffSpec {
    /// Retry at once.
    #[default]
    Immediate,
    /// The same delay before every retry.
    Constant(SimDuration),
    /// `min(cap, base * multiplier^(k-1))`, no jitter.
    Exponential {
        /// Delay before the first retry.
        base: SimDuration,
        #[serde(default)]
        /// Longest delay (default: none).
        cap: Option<SimDuration>,
        #[serde(default = "two")]
        /// Growth per retry (default 2).
        multiplier: f64,
    },
    /// `Uniform(0, min(cap, base * multiplier^(k-1)))` (AWS "full jitter").
    FullJitter {
        /// Ceiling of the first retry's delay.
        base: SimDuration,
        #[serde(default)]
        /// Longest ceiling (default: none).
        cap: Option<SimDuration>,
        #[serde(default = "two")]
        /// Growth per retry (default 2).
        multiplier: f64,
    },
    /// `v/2 + Uniform(0, v/2)` with `v = min(cap, base * multiplier^(k-1))`.
    EqualJitter {
        /// The first retry's `v`.
        base: SimDuration,
        #[serde(default)]
        /// Longest `v` (default: none).
        cap: Option<SimDuration>,
        #[serde(default = "two")]
        /// Growth per retry (default 2).
        multiplier: f64,
    },
    /// `min(cap, Uniform(base, 3 * previous))`, previous starting at base.
    DecorrelatedJitter {
        /// Smallest delay, and the first `previous`.
        base: SimDuration,
        #[serde(default)]
        /// Longest delay (default: none).
        cap: Option<SimDuration>,
    },
    /// `d + Uniform(0, jitter * d)` with `d = min(cap, base * multiplier^(k-1))`
    /// (S2: base 30 ms, multiplier 2, jitter 0.25).
    ProportionalJitter {
        /// Delay before the first retry, before jitter.
        base: SimDuration,
        #[serde(default)]
        /// Longest delay before jitter (default: none).
        cap: Option<SimDuration>,
        #[serde(default = "two")]
        /// Growth per retry (default 2).
        multiplier: f64,
        #[serde(default = "quarter")]
        /// Jitter as a fraction of the delay (default 0.25).
        jitter: f64,
    },
}

#[derive(Copy, Clone, Debug, PartialEq)]
enum Shape {
    Immediate,
    Constant,
    Exponential,
    FullJitter,
    EqualJitter,
    Decorrelated,
    Proportional { jitter: f64 },
}

/// A validated backoff policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    shape: Shape,
    base_ns: f64,
    cap_ns: f64,
    multiplier: f64,
}

impl BackoffSpec {
    /// The checked backoff.
    pub fn validate(&self) -> Result<Backoff, FieldError> {
        let check = |base: &SimDuration, cap: &Option<SimDuration>, multiplier: f64| {
            if !(multiplier.is_finite() && multiplier >= 1.0) {
                return Err(FieldError::new(
                    "multiplier",
                    format!("must be a finite number >= 1, got {multiplier}"),
                ));
            }
            if let Some(cap) = cap
                && cap < base
            {
                return Err(FieldError::new(
                    "cap",
                    format!("must be >= base ({base}), got {cap}"),
                ));
            }
            Ok((
                base.as_nanos() as f64,
                cap.map_or(f64::INFINITY, |c| c.as_nanos() as f64),
            ))
        };
        let make = |shape, (base_ns, cap_ns), multiplier| Backoff {
            shape,
            base_ns,
            cap_ns,
            multiplier,
        };
        Ok(match self {
            BackoffSpec::Immediate => make(Shape::Immediate, (0.0, 0.0), 1.0),
            BackoffSpec::Constant(d) => {
                let ns = d.as_nanos() as f64;
                make(Shape::Constant, (ns, ns), 1.0)
            }
            BackoffSpec::Exponential {
                base,
                cap,
                multiplier,
            } => make(
                Shape::Exponential,
                check(base, cap, *multiplier)?,
                *multiplier,
            ),
            BackoffSpec::FullJitter {
                base,
                cap,
                multiplier,
            } => make(
                Shape::FullJitter,
                check(base, cap, *multiplier)?,
                *multiplier,
            ),
            BackoffSpec::EqualJitter {
                base,
                cap,
                multiplier,
            } => make(
                Shape::EqualJitter,
                check(base, cap, *multiplier)?,
                *multiplier,
            ),
            BackoffSpec::DecorrelatedJitter { base, cap } => {
                make(Shape::Decorrelated, check(base, cap, 1.0)?, 1.0)
            }
            BackoffSpec::ProportionalJitter {
                base,
                cap,
                multiplier,
                jitter,
            } => {
                if !(jitter.is_finite() && *jitter >= 0.0) {
                    return Err(FieldError::new(
                        "jitter",
                        format!("must be a finite number >= 0, got {jitter}"),
                    ));
                }
                make(
                    Shape::Proportional { jitter: *jitter },
                    check(base, cap, *multiplier)?,
                    *multiplier,
                )
            }
        })
    }
}

impl Backoff {
    /// Retry at once.
    pub fn immediate() -> Self {
        BackoffSpec::Immediate
            .validate()
            .expect("immediate is valid")
    }

    /// `min(cap, base * multiplier^(k-1))` in ns.
    fn ceiling(&self, retry: u32) -> f64 {
        let exp = retry.saturating_sub(1).min(1023) as i32;
        (self.base_ns * self.multiplier.powi(exp)).min(self.cap_ns)
    }

    /// The delay before retry `retry` (1 for the first retry). `previous` is
    /// the delay returned for the retry before (used by decorrelated jitter;
    /// pass `None` before the first retry).
    pub fn delay(
        &self,
        retry: u32,
        previous: Option<SimDuration>,
        rng: &mut RngStream,
    ) -> SimDuration {
        let ns = match self.shape {
            Shape::Immediate => 0.0,
            Shape::Constant => self.base_ns,
            Shape::Exponential => self.ceiling(retry),
            Shape::FullJitter => rng.uniform01() * self.ceiling(retry),
            Shape::EqualJitter => {
                let v = self.ceiling(retry);
                v / 2.0 + rng.uniform01() * v / 2.0
            }
            Shape::Decorrelated => {
                let prev = previous.map_or(self.base_ns, |d| d.as_nanos() as f64);
                let hi = (3.0 * prev).max(self.base_ns);
                rng.uniform(self.base_ns, hi).min(self.cap_ns)
            }
            Shape::Proportional { jitter } => {
                let d = self.ceiling(retry);
                d + rng.uniform01() * jitter * d
            }
        };
        SimDuration::from_nanos_f64(ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Seeds;

    fn ms(v: u64) -> SimDuration {
        SimDuration::from_millis(v)
    }

    fn draws(spec: BackoffSpec, retry: u32, n: usize) -> Vec<f64> {
        let b = spec.validate().unwrap();
        let mut rng = Seeds::new(4).stream("backoff");
        (0..n)
            .map(|_| b.delay(retry, None, &mut rng).as_millis_f64())
            .collect()
    }

    #[test]
    fn exponential_without_jitter_doubles_then_caps() {
        let b = BackoffSpec::Exponential {
            base: ms(5),
            cap: Some(ms(30)),
            multiplier: 2.0,
        }
        .validate()
        .unwrap();
        let mut rng = Seeds::new(1).stream("x");
        let d: Vec<u64> = (1..=5)
            .map(|k| b.delay(k, None, &mut rng).as_nanos() / 1_000_000)
            .collect();
        assert_eq!(d, vec![5, 10, 20, 30, 30]);
    }

    /// S1: retry k waits Uniform(0, min(400 ms, 20 ms * 2^(k-1))).
    #[test]
    fn full_jitter_stays_within_bounds_and_is_uniform() {
        let spec = BackoffSpec::FullJitter {
            base: ms(20),
            cap: Some(ms(400)),
            multiplier: 2.0,
        };
        for (k, hi) in [(1, 20.0), (2, 40.0), (3, 80.0), (6, 400.0), (9, 400.0)] {
            let xs = draws(spec.clone(), k, 20_000);
            assert!(xs.iter().all(|&x| (0.0..=hi).contains(&x)), "retry {k}");
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            assert!(
                (mean - hi / 2.0).abs() < hi * 0.02,
                "retry {k}: mean {mean}"
            );
        }
    }

    #[test]
    fn equal_jitter_is_between_half_and_full() {
        let spec = BackoffSpec::EqualJitter {
            base: ms(10),
            cap: None,
            multiplier: 2.0,
        };
        let xs = draws(spec, 3, 20_000);
        assert!(xs.iter().all(|&x| (20.0..=40.0).contains(&x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 30.0).abs() < 0.5, "{mean}");
    }

    #[test]
    fn decorrelated_jitter_follows_its_recurrence() {
        let b = BackoffSpec::DecorrelatedJitter {
            base: ms(5),
            cap: Some(ms(2000)),
        }
        .validate()
        .unwrap();
        let mut rng = Seeds::new(9).stream("d");
        let mut prev = None;
        for k in 1..200 {
            let d = b.delay(k, prev, &mut rng);
            let lo = ms(5);
            let hi = prev
                .map_or(ms(15), |p: SimDuration| p.saturating_mul(3))
                .min(ms(2000));
            assert!(
                d >= lo.min(hi) && d <= hi,
                "retry {k}: {d} outside [{lo}, {hi}]"
            );
            prev = Some(d);
        }
    }

    /// S2: delay before retry k is d = 30 ms * 2^(k-1) plus Uniform(0, 0.25 d).
    #[test]
    fn proportional_jitter_matches_s2() {
        let spec = BackoffSpec::ProportionalJitter {
            base: ms(30),
            cap: None,
            multiplier: 2.0,
            jitter: 0.25,
        };
        for (k, d) in [(1, 30.0), (2, 60.0), (3, 120.0)] {
            let xs = draws(spec.clone(), k, 10_000);
            assert!(xs.iter().all(|&x| x >= d && x <= d * 1.25), "retry {k}");
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            assert!((mean - d * 1.125).abs() < d * 0.01, "retry {k}: {mean}");
        }
    }

    #[test]
    fn invalid_backoffs_name_the_field() {
        let e = BackoffSpec::FullJitter {
            base: ms(50),
            cap: Some(ms(10)),
            multiplier: 2.0,
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.to_string(), "cap: must be >= base (50ms), got 10ms");
        let e = BackoffSpec::Exponential {
            base: ms(1),
            cap: None,
            multiplier: 0.5,
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().starts_with("multiplier:"));
        let e = BackoffSpec::ProportionalJitter {
            base: ms(1),
            cap: None,
            multiplier: 2.0,
            jitter: -1.0,
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().starts_with("jitter:"));
    }

    #[test]
    fn huge_retry_counts_saturate_at_the_cap() {
        let b = BackoffSpec::Exponential {
            base: ms(1),
            cap: Some(ms(100)),
            multiplier: 10.0,
        }
        .validate()
        .unwrap();
        let mut rng = Seeds::new(1).stream("x");
        assert_eq!(b.delay(u32::MAX, None, &mut rng), ms(100));
    }
}
