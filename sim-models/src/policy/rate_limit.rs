//! Rate limiting: each attempt takes a token from a named token bucket
//! ([`limiter`](super::limiter)) shared by every caller that names it,
//! waiting up to `max_wait` for one, or is refused at once.

use serde::{Deserialize, Serialize};
use sim_core::{EventId, SimDuration};

use super::{Cx, FromSpec, Layer, LayerCounters, SpecCx, Step};
use crate::world::{Outcome, Rejection};

/// Takes a token from a named rate limiter before each call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// The rate limiter's name (in `rate_limiters`).
    pub limiter: String,
    /// How long a call may wait for a token (default 0: reject at once).
    #[serde(default)]
    pub max_wait: SimDuration,
}

#[derive(Clone, Debug)]
/// A validated rate-limit layer.
pub struct RateLimit {
    /// Index into the scenario's rate limiters.
    limiter: usize,
    max_wait: SimDuration,
    rejected: u64,
}

/// A call waiting for its reserved token.
#[derive(Clone, Copy, Debug, Default)]
pub struct RateLimitState {
    timer: Option<EventId>,
}

impl FromSpec for RateLimit {
    type Spec = Option<RateLimitSpec>;
    fn configured(spec: &Self::Spec) -> bool {
        spec.is_some()
    }
    fn validate(spec: &Self::Spec, path: &str, cx: &mut SpecCx) -> Option<Self> {
        let r = spec.as_ref()?;
        match cx.limiters.iter().position(|n| *n == r.limiter) {
            Some(limiter) => Some(RateLimit {
                limiter,
                max_wait: r.max_wait,
                rejected: 0,
            }),
            None => {
                cx.push(
                    format!("{path}.limiter"),
                    format!("no rate limiter named {:?} in rate_limiters", r.limiter),
                );
                None
            }
        }
    }
}

impl Layer for RateLimit {
    type State = RateLimitState;
    fn name(&self) -> String {
        "RateLimit".into()
    }
    fn enter(&mut self, cx: &mut Cx, st: &mut RateLimitState) -> Step {
        let now = cx.now();
        match cx.limiter(self.limiter).acquire(now, self.max_wait) {
            None => {
                self.rejected += 1;
                Step::Outward(Outcome::Rejected(Rejection::RateLimit))
            }
            Some(wait) if wait.is_zero() => Step::Inward,
            Some(wait) => {
                st.timer = Some(cx.set_timer(wait));
                Step::Hold
            }
        }
    }
    fn on_timer(&mut self, _: &mut Cx, st: &mut RateLimitState) -> Step {
        st.timer = None;
        Step::Inward
    }
    fn on_abort(&mut self, cx: &mut Cx, st: &mut RateLimitState) {
        cx.clear_timer(&mut st.timer);
    }
    fn report(&self, c: &mut LayerCounters) {
        c.rate_limited += self.rejected;
    }
}
