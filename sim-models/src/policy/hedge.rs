//! Hedged requests, as gRPC defines them (gRFC A6, "hedging policy"): the
//! first attempt is sent at once, and another every `delay` while none has
//! succeeded, up to `max_attempts` in all. The first success wins and the
//! attempts still out are cancelled (at the service as a timeout's are:
//! cancelled or orphaned by its `on_abandon`). A failure whose kind is in
//! `non_fatal` sends the next hedge at once, without waiting for the delay;
//! any other failure ends the call with that failure and cancels the rest
//! (gRPC's default: every status is fatal). When every attempt has failed
//! non-fatally, the call fails with the last failure.
//!
//! The layer sends attempts itself, so it is always the innermost of its
//! caller's layers: a timeout outside it bounds the whole hedged group (as
//! gRPC's deadline does), a retry outside it hedges each retry.

use serde::{Deserialize, Serialize};
use sim_core::{EventId, SimDuration};

use super::retry::{Outcomes, RetryOn};
use super::{Cx, FromSpec, Layer, LayerCounters, SpecCx, Step};
use crate::world::Outcome;

/// gRPC's cap on `maxAttempts` (values above are treated as 5 there; here
/// they are an error).
pub const MAX_HEDGED_ATTEMPTS: u32 = 5;

/// Hedged requests (gRPC's `hedgingPolicy`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HedgeSpec {
    /// Attempts in all, the first included: 2 to 5 (gRPC `maxAttempts`).
    pub max_attempts: u32,
    /// Time between one attempt and the next hedge (gRPC `hedgingDelay`;
    /// 0 sends every attempt at once).
    pub delay: SimDuration,
    /// Failures that do not stop hedging (gRPC `nonFatalStatusCodes`):
    /// the next hedge goes at once. Default none: any failure ends the call.
    #[serde(default)]
    pub non_fatal: Vec<RetryOn>,
    /// gRPC's retry throttling, which hedges count against (gRFC A6): a
    /// hedge is sent only while the budget allows a retry; every attempt's
    /// success refills it and every non-fatal failure drains it. Any
    /// budget of `retry.budget` (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<super::budget::BudgetSpec>,
}

/// A validated hedging policy and its counters.
#[derive(Clone, Debug)]
pub struct Hedge {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Time between one attempt and the next hedge.
    pub delay: SimDuration,
    /// Failures that do not stop hedging.
    non_fatal: Outcomes,
    /// The throttling budget, if any.
    pub budget: Option<super::budget::RetryBudget>,
    hedges: u64,
    budget_denied: u64,
    hedges_won: u64,
    cancelled: u64,
}

/// What a call remembers of its hedging.
#[derive(Clone, Copy, Debug, Default)]
pub struct HedgeState {
    /// Attempts sent so far.
    sent: u32,
    /// Attempts answered so far.
    answered: u32,
    /// The call's attempt count when this layer was entered: attempts are
    /// numbered per call, so the first of this group is this one.
    first: u32,
    /// The pending hedging delay.
    timer: Option<EventId>,
    /// The budget refused a hedge: no more are sent.
    stopped: bool,
}

impl FromSpec for Hedge {
    type Spec = Option<HedgeSpec>;
    const INNERMOST: bool = true;

    fn configured(spec: &Self::Spec) -> bool {
        spec.is_some()
    }

    fn validate(spec: &Self::Spec, path: &str, cx: &mut SpecCx) -> Option<Self> {
        let h = spec.as_ref()?;
        if !(2..=MAX_HEDGED_ATTEMPTS).contains(&h.max_attempts) {
            cx.push(
                format!("{path}.max_attempts"),
                format!(
                    "must be 2 to {MAX_HEDGED_ATTEMPTS} (the first attempt and its hedges; gRPC's limit), got {}",
                    h.max_attempts
                ),
            );
            return None;
        }
        let budget = match &h.budget {
            None => None,
            Some(b) => Some(cx.check(&format!("{path}.budget"), b.validate())?),
        };
        Some(Hedge {
            max_attempts: h.max_attempts,
            delay: h.delay,
            non_fatal: Outcomes::matching(&h.non_fatal),
            budget,
            hedges: 0,
            budget_denied: 0,
            hedges_won: 0,
            cancelled: 0,
        })
    }
}

impl Hedge {
    /// Sends the next attempt, and arms the delay for the one after. A
    /// hedge the budget refuses is not sent, nor any later one (`None`).
    fn send(&mut self, cx: &mut Cx, st: &mut HedgeState) -> Option<Step> {
        cx.clear_timer(&mut st.timer);
        if st.sent > 0 {
            if !self.budget.as_mut().is_none_or(|b| b.try_retry(cx.now())) {
                self.budget_denied += 1;
                st.stopped = true;
                return None;
            }
            self.hedges += 1;
        }
        st.sent += 1;
        if st.sent < self.max_attempts {
            st.timer = Some(cx.set_fixed_timer(self.delay));
        }
        Some(Step::Inward)
    }

    /// Whether another hedge may go.
    fn may_send(&self, st: &HedgeState) -> bool {
        !st.stopped && st.sent < self.max_attempts
    }

    /// Ends the call with `outcome`, cancelling the attempts still out.
    fn end(&mut self, cx: &mut Cx, st: &mut HedgeState, outcome: Outcome) -> Step {
        cx.clear_timer(&mut st.timer);
        let out = st.sent - st.answered;
        if out == 0 {
            Step::Outward(outcome)
        } else {
            self.cancelled += u64::from(out);
            Step::Abort(outcome)
        }
    }
}

impl Layer for Hedge {
    type State = HedgeState;

    fn name(&self) -> String {
        format!("Hedge({}x{:?})", self.max_attempts, self.delay)
    }

    fn enter(&mut self, cx: &mut Cx, st: &mut HedgeState) -> Step {
        *st = HedgeState {
            first: cx.attempts_sent(),
            ..HedgeState::default()
        };
        if let Some(b) = &mut self.budget {
            b.on_request(cx.now());
        }
        self.send(cx, st).unwrap_or(Step::Hold)
    }

    fn on_result(&mut self, cx: &mut Cx, st: &mut HedgeState, outcome: Outcome) -> Step {
        st.answered += 1;
        let non_fatal = self.non_fatal.contains(outcome);
        if let Some(b) = &mut self.budget {
            b.on_attempt_result(outcome.is_success(), non_fatal);
        }
        if outcome.is_success() {
            if cx.answered_attempt() > st.first {
                self.hedges_won += 1;
            }
            return self.end(cx, st, outcome);
        }
        if !non_fatal {
            return self.end(cx, st, outcome);
        }
        if self.may_send(st)
            && let Some(step) = self.send(cx, st)
        {
            // gRPC: a non-fatal failure sends the next hedge at once.
            return step;
        }
        if st.answered == st.sent {
            return self.end(cx, st, outcome);
        }
        Step::Hold
    }

    fn on_timer(&mut self, cx: &mut Cx, st: &mut HedgeState) -> Step {
        st.timer = None;
        self.send(cx, st).unwrap_or(Step::Hold)
    }

    fn on_abort(&mut self, cx: &mut Cx, st: &mut HedgeState) {
        cx.clear_timer(&mut st.timer);
    }

    fn report(&self, c: &mut LayerCounters) {
        c.hedges += self.hedges;
        c.hedges_won += self.hedges_won;
        c.attempts_cancelled += self.cancelled;
        c.budget_denied += self.budget_denied;
    }
}
