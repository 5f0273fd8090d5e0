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
    /// The service answered with an error.
    Error,
    /// An attempt timed out.
    Timeout,
    /// The service refused the attempt (its queue was full).
    Rejection,
    /// A policy inside the retry refused the attempt locally (breaker open,
    /// bulkhead full, rate limited, throttled).
    LocalRejection,
}

impl RetryOn {
    /// The kind of a failed outcome; `None` for a success.
    pub fn of(outcome: Outcome) -> Option<RetryOn> {
        match outcome {
            Outcome::Ok | Outcome::Degraded => None,
            Outcome::Error => Some(RetryOn::Error),
            Outcome::Timeout => Some(RetryOn::Timeout),
            Outcome::Rejected(Rejection::Server) => Some(RetryOn::Rejection),
            Outcome::Rejected(_) => Some(RetryOn::LocalRejection),
        }
    }
}

/// A validated retry policy with its budget and counters.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Attempts, the first included (`None`: until success).
    pub max_attempts: Option<u32>,
    /// Delay before each retry.
    pub backoff: Backoff,
    /// Outcomes retried.
    pub retry_on: Vec<RetryOn>,
    /// The retry budget, if any.
    pub budget: Option<RetryBudget>,
    retries: u64,
    budget_denied: u64,
}

/// A call's tries through the retry layer.
#[derive(Debug, Default)]
pub struct RetryState {
    /// Tries so far, the first included.
    tries: u32,
    /// Last backoff delay (decorrelated jitter).
    prev_delay: Option<SimDuration>,
    /// The pending backoff.
    timer: Option<EventId>,
}

impl Retry {
    fn handles(&self, outcome: Outcome) -> bool {
        RetryOn::of(outcome).is_some_and(|k| self.retry_on.contains(&k))
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
            retry_on: r.retry_on.clone(),
            budget: budget?,
            retries: 0,
            budget_denied: 0,
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

    fn on_result(&mut self, cx: &mut Cx, st: &mut RetryState, outcome: Outcome) -> Step {
        let now = cx.now();
        let handled = self.handles(outcome);
        if let Some(b) = &mut self.budget {
            b.on_attempt_result(outcome.is_success(), handled);
        }
        if handled && self.max_attempts.is_none_or(|m| st.tries < m) {
            if self.budget.as_mut().is_none_or(|b| b.try_retry(now)) {
                let delay = self.backoff.delay(st.tries, st.prev_delay, cx.rng());
                self.retries += 1;
                st.timer = Some(cx.set_timer(delay));
                cx.count_retry();
                st.tries += 1;
                st.prev_delay = Some(delay);
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
    }
}
