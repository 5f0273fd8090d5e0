//! A policy of your own, written outside `sim-models`: an adaptive
//! concurrency limit with additive increase and multiplicative decrease,
//! as Netflix's concurrency-limits library defines it (`AIMDLimit` with a
//! `SimpleLimiter`).
//!
//! - An attempt is let through while fewer than `limit` are in flight, and
//!   refused locally otherwise (`Rejected(Policy)`).
//! - Each attempt that ends is a sample: its round-trip time, the attempts
//!   in flight when it started (itself included), and whether it was
//!   "dropped". A drop (or a round trip above `timeout`) sets
//!   `limit = max(1, min(limit - 1, floor(limit * backoff_ratio)))`; a
//!   success with `2 * in_flight >= limit` sets `limit = limit + 1`;
//!   otherwise the limit stays.
//! - Drops are failures that mean overload: errors, timeouts and the
//!   server refusing the attempt (gRPC's UNAVAILABLE, DEADLINE_EXCEEDED and
//!   RESOURCE_EXHAUSTED). A refusal by another local policy, or an outer
//!   layer giving up on the attempt (a cancellation), is ignored: the slot
//!   is returned and no sample is taken.
//!
//! The defaults are the library's of 2018: initial limit 10, backoff ratio
//! 0.9, timeout 5 s. `sim-models` now ships the library's current
//! `AIMDLimit` (with its minimum and maximum) as a built-in policy,
//! `concurrency_limit: Aimd(...)`; this example keeps the older rule to
//! show how a policy is written outside the crate.
//!
//! Everything the layer needs comes through [`Cx`]: the clock, the call,
//! its timers and the caller's random stream. Its counters appear in the
//! result document under `clients.NAME.custom`.
//!
//! ```
//! use aimd_limiter::{Aimd, with_aimd};
//! let scenario = aimd_limiter::demo_scenario();
//! let limited = with_aimd(&scenario, "api", Aimd::default());
//! let seeds = sim_core::Seeds::new(scenario.seed);
//! let out = sim_models::world::run_replication(&limited, &seeds, &Default::default()).unwrap();
//! assert!(out.metrics.clients.0[0].1.failures.policy.get() > 0.0);
//! ```

use sim_core::{SimDuration, SimTime};
use sim_models::policy::{Cx, Layer, LayerCounters, Policy, Step};
use sim_models::scenario::{ClientTarget, Scenario};
use sim_models::world::{Outcome, Rejection};

/// Netflix's AIMD concurrency limit around each attempt.
#[derive(Clone, Debug)]
pub struct Aimd {
    limit: u32,
    backoff_ratio: f64,
    timeout: SimDuration,
    in_flight: u32,
    /// Counters reported under `custom`.
    rejected: u64,
    drops: u64,
    lowest: u32,
    highest: u32,
}

impl Default for Aimd {
    fn default() -> Self {
        Aimd::new(10, 0.9, SimDuration::from_secs(5))
    }
}

/// What the limiter remembers about one attempt.
#[derive(Clone, Debug, Default)]
pub struct AimdState {
    started: Option<SimTime>,
    in_flight_at_start: u32,
}

impl Aimd {
    /// A limiter starting at `initial_limit` (>= 1), with `backoff_ratio`
    /// in [0.5, 1) as the library requires, and `timeout`.
    pub fn new(initial_limit: u32, backoff_ratio: f64, timeout: SimDuration) -> Self {
        assert!(initial_limit >= 1, "the limit is at least 1");
        assert!(
            (0.5..1.0).contains(&backoff_ratio),
            "backoff ratio must be in [0.5, 1)"
        );
        Aimd {
            limit: initial_limit,
            backoff_ratio,
            timeout,
            in_flight: 0,
            rejected: 0,
            drops: 0,
            lowest: initial_limit,
            highest: initial_limit,
        }
    }

    /// The current limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// One sample: `AIMDLimit._update`.
    pub fn update(&mut self, rtt: SimDuration, in_flight: u32, dropped: bool) {
        if dropped || rtt > self.timeout {
            self.drops += 1;
            let backed_off = (f64::from(self.limit) * self.backoff_ratio) as u32;
            self.limit = backed_off.min(self.limit - 1).max(1);
        } else if 2 * in_flight >= self.limit {
            self.limit += 1;
        }
        self.lowest = self.lowest.min(self.limit);
        self.highest = self.highest.max(self.limit);
    }
}

impl Layer for Aimd {
    type State = AimdState;

    fn name(&self) -> String {
        "Aimd".into()
    }

    fn enter(&mut self, cx: &mut Cx, st: &mut AimdState) -> Step {
        if self.in_flight >= self.limit {
            self.rejected += 1;
            return Step::Outward(Outcome::Rejected(Rejection::Policy));
        }
        self.in_flight += 1;
        st.started = Some(cx.now());
        st.in_flight_at_start = self.in_flight;
        Step::Inward
    }

    fn on_result(&mut self, cx: &mut Cx, st: &mut AimdState, outcome: Outcome) -> Step {
        if let Some(started) = st.started.take() {
            self.in_flight -= 1;
            let dropped = match outcome {
                Outcome::Ok | Outcome::Degraded => Some(false),
                Outcome::Error(_) | Outcome::Timeout | Outcome::Rejected(Rejection::Server) => {
                    Some(true)
                }
                Outcome::Rejected(_) => None,
            };
            if let Some(dropped) = dropped {
                self.update(cx.now().since(started), st.in_flight_at_start, dropped);
            }
        }
        Step::Outward(outcome)
    }

    fn on_abort(&mut self, _: &mut Cx, st: &mut AimdState) {
        if st.started.take().is_some() {
            self.in_flight -= 1;
        }
    }

    fn report(&self, c: &mut LayerCounters) {
        for (name, value) in [
            ("aimd_rejected", self.rejected),
            ("aimd_drops", self.drops),
            ("aimd_limit_final", u64::from(self.limit)),
            ("aimd_limit_lowest", u64::from(self.lowest)),
            ("aimd_limit_highest", u64::from(self.highest)),
        ] {
            c.custom.0.push((name.to_string(), value));
        }
    }
}

/// `scenario` with `limiter` around each attempt of client `client`: just
/// outside its per-attempt timeout if it has one, innermost otherwise.
///
/// Panics if there is no such client calling a service.
pub fn with_aimd(scenario: &Scenario, client: &str, limiter: Aimd) -> Scenario {
    let mut s = scenario.clone();
    let c = s
        .clients
        .iter_mut()
        .find(|c| c.name == client)
        .unwrap_or_else(|| panic!("no client named {client:?}"));
    let ClientTarget::Service(caller) = &mut c.target else {
        panic!("client {client:?} does not call a service");
    };
    let at = caller
        .layers
        .iter()
        .position(|l| l.name().starts_with("Timeout("))
        .unwrap_or(caller.layers.len());
    caller.layers.insert(at, Policy::custom(limiter));
    s
}

/// An overload-sensitive service (16 workers, a knee at 16 in flight) and
/// a Poisson client at twice what it serves at the knee, retrying
/// timeouts: the setting where a concurrency limit pays.
pub const DEMO: &str = r#"(
    name: "aimd-demo",
    description: "A client at 2x the service's knee, with and without an AIMD limit",
    seed: 7,
    duration: "30s",
    services: [(
        name: "backend",
        workers: 16,
        service_time: Exponential(mean: "20ms"),
        overload: (knee_in_flight: 16, latency_per_unit: "40ms", failure_per_unit: 0.3),
        on_abandon: Cancel,
    )],
    clients: [(
        name: "api",
        workload: Poisson(rate_per_s: 1600),
        target: "backend",
        timeout: "150ms",
        retry: (max_attempts: 3, backoff: FullJitter(base: "10ms", cap: "200ms")),
    )],
)"#;

/// [`DEMO`], validated.
pub fn demo_scenario() -> Scenario {
    let path = std::path::Path::new("aimd-demo.ron");
    let file = sim_models::scenario::parse(DEMO, path).expect("the demo parses");
    sim_models::scenario::check(&file, path).expect("the demo is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    /// `AIMDLimit._update`, step by step, by hand.
    #[test]
    fn additive_increase_multiplicative_decrease() {
        let mut a = Aimd::default();
        assert_eq!(a.limit(), 10);
        // A success with 2 * 5 >= 10 in flight: +1.
        a.update(ms(20), 5, false);
        assert_eq!(a.limit(), 11);
        // A success with few in flight (2 * 4 < 11): unchanged.
        a.update(ms(20), 4, false);
        assert_eq!(a.limit(), 11);
        // A drop: floor(11 * 0.9) = 9.
        a.update(ms(20), 11, true);
        assert_eq!(a.limit(), 9);
        // A round trip over the timeout counts as a drop: floor(8.1) = 8.
        a.update(SimDuration::from_secs(6), 1, false);
        assert_eq!(a.limit(), 8);
        // Small limits still fall by at least one, and never below 1.
        let mut b = Aimd::new(2, 0.9, ms(100));
        b.update(ms(1), 1, true);
        assert_eq!(b.limit(), 1);
        b.update(ms(1), 1, true);
        assert_eq!(b.limit(), 1);
    }
}
