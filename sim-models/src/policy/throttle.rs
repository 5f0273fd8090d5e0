//! Adaptive client-side throttling (Google SRE book, "Handling Overload"):
//! each client tracks, over a window (two minutes by default), the requests
//! it attempted and those the backend accepted, and rejects a new request
//! locally with probability `max(0, (requests - k * accepts) / (requests + 1))`.
//! Locally rejected requests count as requests, so the rejection rate rises
//! while the backend keeps refusing. Here an attempt counts as accepted when
//! it succeeds; errors, timeouts and rejections count against.

use serde::{Deserialize, Serialize};
use sim_core::{FieldError, RngStream, SimDuration, SimTime};

use super::window::SlidingWindow;

fn two() -> f64 {
    2.0
}
fn two_minutes() -> SimDuration {
    SimDuration::from_secs(120)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// Adaptive throttling as written in a caller's spec.
pub struct ThrottleSpec {
    /// Accept multiplier K (the book suggests 2).
    #[serde(default = "two")]
    pub k: f64,
    #[serde(default = "two_minutes")]
    /// How far back requests and accepts count (default 2 min).
    pub window: SimDuration,
}

impl Default for ThrottleSpec {
    fn default() -> Self {
        ThrottleSpec {
            k: two(),
            window: two_minutes(),
        }
    }
}

const SLOTS: usize = 60;

#[derive(Clone, Debug)]
/// A validated adaptive throttle with its window.
pub struct AdaptiveThrottle {
    k: f64,
    /// [requests, accepts]
    window: SlidingWindow<2>,
    /// Requests refused locally.
    pub rejected: u64,
}

impl ThrottleSpec {
    /// The checked throttle.
    pub fn validate(&self) -> Result<AdaptiveThrottle, FieldError> {
        if !(self.k.is_finite() && self.k >= 1.0) {
            return Err(FieldError::new(
                "k",
                format!("must be a finite number >= 1, got {}", self.k),
            ));
        }
        if self.window.as_nanos() < SLOTS as u64 {
            return Err(FieldError::new("window", "must be at least 60ns"));
        }
        Ok(AdaptiveThrottle {
            k: self.k,
            window: SlidingWindow::new(self.window, SLOTS),
            rejected: 0,
        })
    }
}

impl AdaptiveThrottle {
    /// The current local rejection probability.
    pub fn reject_probability(&mut self, now: SimTime) -> f64 {
        let [requests, accepts] = self.window.totals(now);
        ((requests as f64 - self.k * accepts as f64) / (requests as f64 + 1.0)).max(0.0)
    }

    /// A request arrives: counts it and decides whether to reject it locally.
    pub fn admit(&mut self, now: SimTime, rng: &mut RngStream) -> bool {
        let p = self.reject_probability(now);
        self.window.add(now, [1, 0]);
        if rng.bernoulli(p) {
            self.rejected += 1;
            false
        } else {
            true
        }
    }

    /// The backend accepted an admitted request.
    pub fn accepted(&mut self, now: SimTime) {
        self.window.add(now, [0, 1]);
    }
}

impl super::FromSpec for AdaptiveThrottle {
    type Spec = Option<ThrottleSpec>;
    fn configured(spec: &Self::Spec) -> bool {
        spec.is_some()
    }
    fn validate(spec: &Self::Spec, path: &str, cx: &mut super::SpecCx) -> Option<Self> {
        cx.check(path, spec.as_ref()?.validate())
    }
}

impl super::Layer for AdaptiveThrottle {
    type State = ();

    fn name(&self) -> String {
        "Throttle".into()
    }

    fn enter(&mut self, cx: &mut super::Cx, _: &mut ()) -> super::Step {
        let now = cx.now();
        if self.admit(now, cx.rng()) {
            super::Step::Inward
        } else {
            super::Step::Outward(crate::world::Outcome::Rejected(
                crate::world::Rejection::Throttle,
            ))
        }
    }

    fn on_result(
        &mut self,
        cx: &mut super::Cx,
        _: &mut (),
        outcome: crate::world::Outcome,
    ) -> super::Step {
        if outcome == crate::world::Outcome::Ok {
            self.accepted(cx.now());
        }
        super::Step::Outward(outcome)
    }

    fn report(&self, c: &mut super::LayerCounters) {
        c.throttled += self.rejected;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Seeds;

    #[test]
    fn probability_follows_the_sre_formula() {
        let mut t = ThrottleSpec::default().validate().unwrap();
        let mut rng = Seeds::new(1).stream("t");
        let now = SimTime::from_nanos(1);
        assert_eq!(t.reject_probability(now), 0.0);
        // 100 requests, 10 accepted: (100 - 20) / 101.
        for i in 0..100 {
            t.window.add(now, [1, 0]);
            if i < 10 {
                t.accepted(now);
            }
        }
        assert!((t.reject_probability(now) - 80.0 / 101.0).abs() < 1e-12);
        // A healthy backend (all accepted) gives zero.
        let mut h = ThrottleSpec::default().validate().unwrap();
        for _ in 0..100 {
            assert!(h.admit(now, &mut rng));
            h.accepted(now);
        }
        assert_eq!(h.reject_probability(now), 0.0);
    }

    #[test]
    fn a_dead_backend_drives_rejections_towards_one() {
        let mut t = ThrottleSpec::default().validate().unwrap();
        let mut rng = Seeds::new(2).stream("t");
        let now = SimTime::from_nanos(1);
        let admitted = (0..10_000).filter(|_| t.admit(now, &mut rng)).count();
        assert!(admitted < 100, "{admitted}");
        // After the window, history is gone.
        let later = SimTime::at(SimDuration::from_secs(200));
        assert_eq!(t.reject_probability(later), 0.0);
    }
}
