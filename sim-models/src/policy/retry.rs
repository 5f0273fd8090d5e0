//! Retries: a failed attempt the policy handles (`retry_on`) is tried again
//! after a backoff, up to `max_attempts` attempts (the first included, like
//! resilience4j, gRPC and AWS; Polly and Envoy count retries instead), each
//! retry paid for from the retry budget when there is one.

use crate::scenario::limits::{self, MAX_ATTEMPTS};
use serde::{Deserialize, Serialize};
use sim_core::{EventId, SimDuration};

use super::backoff::{Backoff, BackoffSpec};
use super::budget::{BudgetSpec, RetryBudget};
use super::{Cx, FromSpec, Layer, LayerCounters, SpecCx, Step};
use crate::scenario::ErrorKind;
use crate::world::{Outcome, Rejection};

fn three() -> Option<u32> {
    Some(3)
}
fn default_retry_on() -> Vec<RetryOn> {
    vec![RetryOn::Error, RetryOn::Timeout]
}

/// Retries. `max_attempts` counts attempts, the first included (like
/// resilience4j, gRPC and AWS; Polly and Envoy count retries instead).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Default 3. `None`: retry until success.
    #[serde(default = "three")]
    pub max_attempts: Option<u32>,
    /// Default `Immediate`.
    #[serde(default)]
    pub backoff: BackoffSpec,
    /// Outcomes that are retried. Default `[Error, Timeout]`.
    #[serde(default = "default_retry_on")]
    pub retry_on: Vec<RetryOn>,
    #[serde(default)]
    /// A retry budget (default: none).
    pub budget: Option<BudgetSpec>,
}

/// Kinds of failed outcome a retry policy may handle.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetryOn {
    /// The service answered with an error, of any kind.
    Error,
    /// An attempt timed out.
    Timeout,
    /// The service refused the attempt (its queue was full, it shed the
    /// job, or its admission control refused it).
    Rejection,
    /// A policy inside the retry refused the attempt locally (breaker open,
    /// bulkhead full, rate limited, throttled, concurrency limit).
    LocalRejection,
    /// An error of kind `Unavailable` only.
    Unavailable,
    /// An error of kind `Overloaded` only.
    Overloaded,
    /// An error of kind `Internal` only.
    Internal,
    /// An error of kind `InvalidRequest` only.
    InvalidRequest,
    /// An error of kind `Conflict` only.
    Conflict,
}

impl RetryOn {
    /// The error kind this names, if it names one.
    pub fn kind(self) -> Option<ErrorKind> {
        match self {
            RetryOn::Unavailable => Some(ErrorKind::Unavailable),
            RetryOn::Overloaded => Some(ErrorKind::Overloaded),
            RetryOn::Internal => Some(ErrorKind::Internal),
            RetryOn::InvalidRequest => Some(ErrorKind::InvalidRequest),
            RetryOn::Conflict => Some(ErrorKind::Conflict),
            RetryOn::Error | RetryOn::Timeout | RetryOn::Rejection | RetryOn::LocalRejection => {
                None
            }
        }
    }

    /// Whether `outcome` is of this kind (a success never is).
    pub fn matches(self, outcome: Outcome) -> bool {
        match (self, outcome) {
            (RetryOn::Error, Outcome::Error(_)) => true,
            (RetryOn::Timeout, Outcome::Timeout) => true,
            (RetryOn::Rejection, Outcome::Rejected(r)) => r == Rejection::Server,
            (RetryOn::LocalRejection, Outcome::Rejected(r)) => r != Rejection::Server,
            (k, Outcome::Error(e)) => k.kind() == Some(e),
            _ => false,
        }
    }

    /// Whether any of `kinds` matches `outcome`.
    pub fn any(kinds: &[RetryOn], outcome: Outcome) -> bool {
        kinds.iter().any(|k| k.matches(outcome))
    }
}

/// The outcomes a list of [`RetryOn`] matches, worked out once for every
/// outcome: a layer then tests an answer with one shift instead of a walk
/// along the list (a retry asks on every answer, and on S1's RPC path
/// nearly every answer is a refusal at the open breaker).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcomes(u16);

impl Outcomes {
    /// The outcomes some kind in `kinds` matches ([`RetryOn::any`]).
    pub fn matching(kinds: &[RetryOn]) -> Outcomes {
        Outcomes(
            Outcome::ALL
                .iter()
                .filter(|&&o| RetryOn::any(kinds, o))
                .fold(0, |bits, o| bits | 1 << o.index()),
        )
    }

    /// Whether `outcome` is one of them.
    #[inline]
    pub fn contains(self, outcome: Outcome) -> bool {
        self.0 >> outcome.index() & 1 != 0
    }
}

/// A validated retry policy with its budget and counters.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Attempts, the first included (`None`: until success).
    pub max_attempts: Option<u32>,
    /// Delay before each retry.
    pub backoff: Backoff,
    /// Outcomes retried (`retry_on`).
    retried: Outcomes,
    /// The retry budget, if any.
    pub budget: Option<RetryBudget>,
    retries: u64,
    budget_denied: u64,
    /// Retries that waited a server's retry-after instead of the backoff.
    pushbacks: u64,
    /// Retries not made because the server asked for none.
    pushback_refused: u64,
}

/// A call's tries through the retry layer.
#[derive(Clone, Copy, Debug, Default)]
pub struct RetryState {
    /// Tries so far, the first included.
    tries: u32,
    /// Last backoff delay (decorrelated jitter); zero before the first or
    /// after a pushback, which decorrelated jitter treats as no delay
    /// before: its delays are at least its base, so a zero one could only
    /// come from a zero base or cap, where both readings give zero.
    prev_delay: Packed,
    /// Tries before the backoff sequence (re)started: 0, or the try that
    /// a server's retry-after answered (gRFC A6 restarts the backoff
    /// from the initial one after a pushback).
    backoff_from: u32,
    /// The pending backoff.
    timer: Option<EventId>,
}

/// A duration in two `u32` halves: keeps [`RetryState`] 4-byte aligned, 28
/// bytes, so a call's per-layer frame stays 32 bytes (with an 8-byte
/// aligned field it is 40: 8 bytes more per layer of every call).
#[derive(Copy, Clone, Debug, Default)]
struct Packed([u32; 2]);

impl Packed {
    fn new(d: SimDuration) -> Self {
        let ns = d.as_nanos();
        Packed([(ns >> 32) as u32, ns as u32])
    }
    fn get(self) -> SimDuration {
        SimDuration::from_nanos((u64::from(self.0[0]) << 32) | u64::from(self.0[1]))
    }
}

impl Retry {
    fn handles(&self, outcome: Outcome) -> bool {
        self.retried.contains(outcome)
    }
}

impl FromSpec for Retry {
    type Spec = Option<RetrySpec>;
    fn configured(spec: &Self::Spec) -> bool {
        spec.is_some()
    }
    fn validate(spec: &Self::Spec, path: &str, cx: &mut SpecCx) -> Option<Self> {
        let r = spec.as_ref()?;
        if r.max_attempts == Some(0) {
            cx.push(
                format!("{path}.max_attempts"),
                "must be >= 1 (it counts the first attempt)",
            );
        }
        if let Some(n) = r.max_attempts
            && u64::from(n) > MAX_ATTEMPTS
        {
            cx.push(
                format!("{path}.max_attempts"),
                limits::message(n.into(), MAX_ATTEMPTS),
            );
        }
        let backoff = cx.check(&format!("{path}.backoff"), r.backoff.validate());
        let budget = match &r.budget {
            None => Some(None),
            Some(b) => cx.check(&format!("{path}.budget"), b.validate()).map(Some),
        };
        Some(Retry {
            max_attempts: r.max_attempts,
            backoff: backoff?,
            retried: Outcomes::matching(&r.retry_on),
            budget: budget?,
            retries: 0,
            budget_denied: 0,
            pushbacks: 0,
            pushback_refused: 0,
        })
    }
}

impl Layer for Retry {
    type State = RetryState;

    fn name(&self) -> String {
        "Retry".into()
    }

    fn enter(&mut self, cx: &mut Cx, st: &mut RetryState) -> Step {
        st.tries = 1;
        if let Some(b) = &mut self.budget {
            b.on_request(cx.now());
        }
        Step::Inward
    }

    #[inline]
    fn on_result(&mut self, cx: &mut Cx, st: &mut RetryState, outcome: Outcome) -> Step {
        let now = cx.now();
        let handled = self.handles(outcome);
        if let Some(b) = &mut self.budget {
            b.on_attempt_result(outcome.is_success(), handled);
        }
        let pushback = if handled {
            cx.retry_after(outcome)
        } else {
            None
        };
        if pushback == Some(None) {
            // The server asked not to retry.
            self.pushback_refused += 1;
            return Step::Outward(outcome);
        }
        if handled && self.max_attempts.is_none_or(|m| st.tries < m) {
            if self.budget.as_mut().is_none_or(|b| b.try_retry(now)) {
                let delay = match pushback {
                    Some(Some(after)) => {
                        // Exactly the server's delay; the next backoff
                        // starts again from the first.
                        st.backoff_from = st.tries;
                        self.pushbacks += 1;
                        after
                    }
                    _ => {
                        let prev = Some(st.prev_delay.get()).filter(|d| !d.is_zero());
                        self.backoff
                            .delay(st.tries - st.backoff_from, prev, cx.rng())
                    }
                };
                self.retries += 1;
                st.timer = Some(cx.set_timer(delay));
                cx.count_retry();
                st.tries += 1;
                st.prev_delay = Packed::new(if pushback.is_some() {
                    SimDuration::ZERO
                } else {
                    delay
                });
                return Step::Hold;
            }
            self.budget_denied += 1;
        }
        Step::Outward(outcome)
    }

    fn on_timer(&mut self, _: &mut Cx, st: &mut RetryState) -> Step {
        st.timer = None;
        Step::Inward
    }

    fn on_abort(&mut self, cx: &mut Cx, st: &mut RetryState) {
        cx.clear_timer(&mut st.timer);
    }

    fn report(&self, c: &mut LayerCounters) {
        c.retries += self.retries;
        c.budget_denied += self.budget_denied;
        c.retry_after_honoured += self.pushbacks;
        c.retry_after_refused += self.pushback_refused;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [RetryOn; 9] = [
        RetryOn::Error,
        RetryOn::Timeout,
        RetryOn::Rejection,
        RetryOn::LocalRejection,
        RetryOn::Unavailable,
        RetryOn::Overloaded,
        RetryOn::Internal,
        RetryOn::InvalidRequest,
        RetryOn::Conflict,
    ];

    #[test]
    fn every_outcome_has_its_own_place() {
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index() as usize, i, "{o:?}");
        }
    }

    /// The set answers what the list answers, for every list of kinds (each
    /// of the 512 subsets, in order) and every outcome.
    #[test]
    fn outcomes_agree_with_the_list_they_were_made_from() {
        for subset in 0u32..1 << KINDS.len() {
            let kinds: Vec<RetryOn> = (0..KINDS.len())
                .filter(|&k| subset >> k & 1 != 0)
                .map(|k| KINDS[k])
                .collect();
            let set = Outcomes::matching(&kinds);
            for o in Outcome::ALL {
                assert_eq!(set.contains(o), RetryOn::any(&kinds, o), "{kinds:?} {o:?}");
            }
        }
        // Not vacuous: the default list retries errors and timeouts only.
        let default = Outcomes::matching(&default_retry_on());
        assert!(default.contains(Outcome::Error(ErrorKind::Conflict)));
        assert!(default.contains(Outcome::Timeout));
        assert!(!default.contains(Outcome::Rejected(Rejection::Breaker)));
        assert!(!default.contains(Outcome::Ok));
    }
}
