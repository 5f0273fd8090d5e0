//! Circuit breakers.
//!
//! One state machine covers the breakers users know:
//! - S3 / Polly-classic: `ConsecutiveFailures(5)`, open 30 s, one half-open
//!   trial (success closes, failure re-opens).
//! - resilience4j: `FailureRate` over a count or time window, minimum calls,
//!   slow-call rate, N half-open probes decided by the probes' failure rate.
//! - S1 (seed 000): `FailureRate(window: Count(20), threshold: 0.4,
//!   minimum_calls: 20)` with `after_open: Close`: it opens for 500 ms when
//!   the last 20 outcomes hold 8 or more failures, then simply closes again,
//!   keeping its window, and every outcome is recorded, even while open.
//!
//! OPEN -> HALF-OPEN is lazy, as in resilience4j (without automatic
//! transition), Polly and Hystrix: it is noticed by the next call asking for
//! a permit, and the transition is recorded at that instant.
//! Thresholds follow resilience4j: a window trips at failure rate >=
//! threshold; a call is slow when its duration is strictly above the slow
//! duration.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use sim_core::{FieldError, SimDuration, SimTime};

use super::window::SlidingWindow;
use crate::scenario::limits::{self, MAX_WINDOW};

fn sixty_seconds() -> SimDuration {
    SimDuration::from_secs(60)
}
fn half() -> f64 {
    0.5
}
fn ten() -> u32 {
    10
}

/// When the breaker opens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum TripSpec {
    /// Opens after this many failures in a row.
    ConsecutiveFailures(u32),
    /// Opens when, with at least `minimum_calls` outcomes in the window, the
    /// failure rate (or the slow-call rate) reaches its threshold.
    FailureRate {
        /// Which outcomes count.
        window: WindowSpec,
        #[serde(default = "half")]
        /// Failure rate that opens it (default 0.5).
        threshold: f64,
        /// Outcomes needed in the window before it may open.
        minimum_calls: u32,
        #[serde(default)]
        /// Slow calls count as failures too (default: off).
        slow_call: Option<SlowCallSpec>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// Which recent outcomes a failure-rate breaker looks at.
pub enum WindowSpec {
    /// The last N outcomes.
    Count(u32),
    /// Outcomes of the last `length`, in `buckets` buckets (default 10).
    Time {
        /// How far back.
        length: SimDuration,
        #[serde(default = "ten")]
        /// Buckets of the window (default 10).
        buckets: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// Calls slower than `duration` count towards the slow-call rate.
pub struct SlowCallSpec {
    /// A call lasting strictly longer than this is slow.
    pub duration: SimDuration,
    /// Opens when the slow-call rate reaches this.
    pub rate_threshold: f64,
}

/// What follows the open period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum AfterOpen {
    /// Let `probes` trial calls through, then decide.
    HalfOpen {
        /// Trial calls (default 1).
        probes: u32,
    },
    /// Close again at once, keeping the window (S1's faithful behaviour).
    Close,
}

impl Default for AfterOpen {
    fn default() -> Self {
        AfterOpen::HalfOpen { probes: 1 }
    }
}

/// Which attempts ask the breaker for permission.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BreakerCheck {
    /// Every call through the breaker.
    #[default]
    EveryAttempt,
    /// Only a request's first attempt (S1): retries pass an open breaker,
    /// and their outcomes are still recorded.
    FirstAttempt,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// A circuit breaker as written in a caller's spec.
pub struct BreakerSpec {
    /// When it opens.
    pub trip: TripSpec,
    #[serde(default = "sixty_seconds")]
    /// How long it stays open (default 60 s).
    pub open_for: SimDuration,
    #[serde(default)]
    /// What follows the open period (default: half-open with one probe).
    pub after_open: AfterOpen,
    #[serde(default)]
    /// Which attempts ask for permission (default: every attempt).
    pub check: BreakerCheck,
}

pub use sim_results::run::BreakerState;

#[derive(Clone, Debug)]
enum Trip {
    Consecutive(u32),
    Rate {
        threshold: f64,
        minimum_calls: u32,
        slow: Option<(SimDuration, f64)>,
    },
}

#[derive(Clone, Debug)]
enum Window {
    None,
    /// Flags of the last N outcomes (bit 0 failure, bit 1 slow) and their sums.
    Count {
        size: usize,
        outcomes: VecDeque<u8>,
        failures: u32,
        slow: u32,
    },
    /// [calls, failures, slow] per bucket.
    Time(SlidingWindow<3>),
}

#[derive(Clone, Debug)]
enum State {
    Closed,
    Open {
        until: SimTime,
    },
    HalfOpen {
        permitted: u32,
        results: u32,
        failures: u32,
        slow: u32,
    },
}

/// Answer to a permit request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Permit {
    /// Refused.
    Denied,
    /// `probe`: granted as one of the half-open trial calls.
    Granted {
        /// Granted as a half-open trial.
        probe: bool,
    },
}

impl Breaker {
    /// Entries its window holds at most (outcomes or buckets): what a copy
    /// of it costs in memory, beyond its fixed size.
    pub fn window_entries(&self) -> u64 {
        match &self.window {
            Window::None => 0,
            Window::Count { size, .. } => *size as u64,
            Window::Time(w) => w.slots() as u64,
        }
    }
}

#[derive(Clone, Debug)]
/// A validated breaker with its state and counters.
pub struct Breaker {
    trip: Trip,
    open_for: SimDuration,
    probes: Option<u32>,
    /// Which attempts ask for permission.
    pub check: BreakerCheck,
    state: State,
    consecutive: u32,
    window: Window,
    /// Every state change with its instant, starting with Closed at 0.
    pub transitions: Vec<(SimTime, BreakerState)>,
    /// Calls refused while open or with all probes out.
    pub rejected: u64,
    /// Times the breaker opened.
    pub opened: u64,
}

fn rate_threshold(v: f64, field: &str) -> Result<f64, FieldError> {
    if v.is_finite() && v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(FieldError::new(
            field,
            format!("must be in (0, 1], got {v}"),
        ))
    }
}

impl BreakerSpec {
    /// The checked breaker.
    pub fn validate(&self) -> Result<Breaker, FieldError> {
        let (trip, window) = match &self.trip {
            TripSpec::ConsecutiveFailures(n) => {
                if *n == 0 {
                    return Err(FieldError::new("trip.ConsecutiveFailures", "must be >= 1"));
                }
                (Trip::Consecutive(*n), Window::None)
            }
            TripSpec::FailureRate {
                window,
                threshold,
                minimum_calls,
                slow_call,
            } => {
                let threshold = rate_threshold(*threshold, "trip.threshold")?;
                if *minimum_calls == 0 {
                    return Err(FieldError::new("trip.minimum_calls", "must be >= 1"));
                }
                let slow = match slow_call {
                    None => None,
                    Some(s) => Some((
                        s.duration,
                        rate_threshold(s.rate_threshold, "trip.slow_call.rate_threshold")?,
                    )),
                };
                let window = match window {
                    WindowSpec::Count(size) => {
                        if *size == 0 {
                            return Err(FieldError::new("trip.window.Count", "must be >= 1"));
                        }
                        if u64::from(*size) > MAX_WINDOW {
                            return Err(FieldError::new(
                                "trip.window.Count",
                                limits::message((*size).into(), MAX_WINDOW),
                            ));
                        }
                        if minimum_calls > size {
                            return Err(FieldError::new(
                                "trip.minimum_calls",
                                format!(
                                    "must be <= the window size ({size}), got {minimum_calls}; \
                                     the breaker could never trip"
                                ),
                            ));
                        }
                        Window::Count {
                            size: *size as usize,
                            outcomes: VecDeque::with_capacity(*size as usize),
                            failures: 0,
                            slow: 0,
                        }
                    }
                    WindowSpec::Time { length, buckets } => {
                        if length.is_zero() {
                            return Err(FieldError::new("trip.window.length", "must be > 0"));
                        }
                        if *buckets == 0 || u64::from(*buckets) > length.as_nanos() {
                            return Err(FieldError::new(
                                "trip.window.buckets",
                                "must be >= 1 and at most one per nanosecond of the window",
                            ));
                        }
                        if u64::from(*buckets) > MAX_WINDOW {
                            return Err(FieldError::new(
                                "trip.window.buckets",
                                limits::message((*buckets).into(), MAX_WINDOW),
                            ));
                        }
                        Window::Time(SlidingWindow::new(*length, *buckets as usize))
                    }
                };
                (
                    Trip::Rate {
                        threshold,
                        minimum_calls: *minimum_calls,
                        slow,
                    },
                    window,
                )
            }
        };
        let probes = match self.after_open {
            AfterOpen::HalfOpen { probes: 0 } => {
                return Err(FieldError::new("after_open.probes", "must be >= 1"));
            }
            AfterOpen::HalfOpen { probes } => Some(probes),
            AfterOpen::Close => None,
        };
        if self.open_for.is_zero() {
            return Err(FieldError::new("open_for", "must be > 0"));
        }
        Ok(Breaker {
            trip,
            open_for: self.open_for,
            probes,
            check: self.check,
            state: State::Closed,
            consecutive: 0,
            window,
            transitions: vec![(SimTime::ZERO, BreakerState::Closed)],
            rejected: 0,
            opened: 0,
        })
    }
}

impl Breaker {
    /// Its state now (as last recorded).
    pub fn state(&self) -> BreakerState {
        match self.state {
            State::Closed => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn transition(&mut self, now: SimTime, state: State) {
        self.state = state;
        let s = self.state();
        if self.transitions.last().map(|t| t.1) != Some(s) {
            self.transitions.push((now, s));
        }
    }

    fn clear_window(&mut self) {
        self.consecutive = 0;
        match &mut self.window {
            Window::None => {}
            Window::Count {
                outcomes,
                failures,
                slow,
                ..
            } => {
                outcomes.clear();
                *failures = 0;
                *slow = 0;
            }
            Window::Time(w) => w.clear(),
        }
    }

    /// Asks to let a call through at `now`.
    pub fn try_permit(&mut self, now: SimTime) -> Permit {
        if let State::Open { until } = self.state {
            if now < until {
                self.rejected += 1;
                return Permit::Denied;
            }
            match self.probes {
                // No half-open state: it is simply closed again from the end
                // of the open period on, so that is when it is recorded.
                None => self.transition(until, State::Closed),
                Some(_) => self.transition(
                    now,
                    State::HalfOpen {
                        permitted: 0,
                        results: 0,
                        failures: 0,
                        slow: 0,
                    },
                ),
            }
        }
        match &mut self.state {
            State::Closed => Permit::Granted { probe: false },
            State::HalfOpen { permitted, .. } => {
                if *permitted < self.probes.unwrap_or(1) {
                    *permitted += 1;
                    Permit::Granted { probe: true }
                } else {
                    self.rejected += 1;
                    Permit::Denied
                }
            }
            State::Open { .. } => unreachable!("left the open state above"),
        }
    }

    /// Brings the recorded transitions up to `end`: a breaker without a
    /// half-open state whose open period ended before `end` closed then,
    /// even if no call came to notice.
    pub fn settle(&mut self, end: SimTime) {
        if let (State::Open { until }, None) = (&self.state, self.probes) {
            let until = *until;
            if until <= end {
                self.transition(until, State::Closed);
            }
        }
    }

    /// A permitted probe was abandoned before it produced an outcome (an
    /// outer timeout cancelled it): its slot becomes free again.
    pub fn release_probe(&mut self) {
        if let State::HalfOpen {
            permitted, results, ..
        } = &mut self.state
            && *permitted > *results
        {
            *permitted -= 1;
        }
    }

    /// Records the outcome of a call that was let through.
    pub fn record(&mut self, now: SimTime, failure: bool, duration: SimDuration, probe: bool) {
        let slow = match &self.trip {
            Trip::Rate {
                slow: Some((d, _)), ..
            } => duration > *d,
            _ => false,
        };
        match &mut self.state {
            State::HalfOpen {
                results,
                failures,
                slow: slow_count,
                ..
            } => {
                if !probe {
                    return; // permitted before the breaker opened: ignored
                }
                *results += 1;
                *failures += u32::from(failure);
                *slow_count += u32::from(slow);
                let (r, f, s) = (*results, *failures, *slow_count);
                let probes = self.probes.unwrap_or(1);
                let reopen = match &self.trip {
                    Trip::Consecutive(_) => f > 0,
                    Trip::Rate {
                        threshold,
                        slow: sl,
                        ..
                    } => {
                        r == probes
                            && (f as f64 / r as f64 >= *threshold
                                || sl.is_some_and(|(_, t)| s as f64 / r as f64 >= t))
                    }
                };
                if reopen {
                    self.open(now);
                } else if r == probes {
                    self.clear_window();
                    self.transition(now, State::Closed);
                }
            }
            State::Open { .. } if self.probes.is_some() => {
                // Outcomes of calls let through before opening are ignored.
            }
            State::Open { .. } | State::Closed => {
                self.add_to_window(now, failure, slow);
                if self.tripped(now) {
                    self.open(now);
                }
            }
        }
    }

    fn add_to_window(&mut self, now: SimTime, failure: bool, slow: bool) {
        if failure {
            self.consecutive += 1;
        } else {
            self.consecutive = 0;
        }
        match &mut self.window {
            Window::None => {}
            Window::Count {
                size,
                outcomes,
                failures,
                slow: slow_sum,
            } => {
                if outcomes.len() == *size {
                    let old = outcomes.pop_front().unwrap_or(0);
                    *failures -= u32::from(old & 1);
                    *slow_sum -= u32::from(old >> 1);
                }
                outcomes.push_back(u8::from(failure) | (u8::from(slow) << 1));
                *failures += u32::from(failure);
                *slow_sum += u32::from(slow);
            }
            Window::Time(w) => w.add(now, [1, i64::from(failure), i64::from(slow)]),
        }
    }

    fn tripped(&mut self, now: SimTime) -> bool {
        match &self.trip {
            Trip::Consecutive(n) => self.consecutive >= *n,
            Trip::Rate {
                threshold,
                minimum_calls,
                slow,
            } => {
                let (calls, failures, slow_calls) = match &mut self.window {
                    Window::None => (0, 0, 0),
                    Window::Count {
                        outcomes,
                        failures,
                        slow,
                        ..
                    } => (
                        outcomes.len() as i64,
                        i64::from(*failures),
                        i64::from(*slow),
                    ),
                    Window::Time(w) => {
                        let [c, f, s] = w.totals(now);
                        (c, f, s)
                    }
                };
                calls >= i64::from(*minimum_calls)
                    && calls > 0
                    && (failures as f64 / calls as f64 >= *threshold
                        || slow.is_some_and(|(_, t)| slow_calls as f64 / calls as f64 >= t))
            }
        }
    }

    fn open(&mut self, now: SimTime) {
        let until = now + self.open_for;
        if matches!(self.state, State::Open { .. }) {
            // S1's breaker keeps recording while open; a failure that finds
            // the window still over the threshold extends the open period.
            self.state = State::Open { until };
            return;
        }
        self.opened += 1;
        if self.probes.is_some() {
            self.clear_window();
        }
        self.transition(now, State::Open { until });
    }
}

/// What a call remembers at the breaker.
#[derive(Clone, Copy, Debug, Default)]
pub struct BreakerCallState {
    /// When the breaker let the call through (its duration, for slow calls).
    started: SimTime,
    /// Holds a permit.
    holding: bool,
    /// The permit is a half-open probe.
    probe: bool,
}

impl super::FromSpec for Breaker {
    type Spec = Option<BreakerSpec>;
    fn configured(spec: &Self::Spec) -> bool {
        spec.is_some()
    }
    fn validate(spec: &Self::Spec, path: &str, cx: &mut super::SpecCx) -> Option<Self> {
        cx.check(path, spec.as_ref()?.validate())
    }
}

impl super::Layer for Breaker {
    type State = BreakerCallState;

    fn name(&self) -> String {
        "Breaker".into()
    }

    fn enter(&mut self, cx: &mut super::Cx, st: &mut BreakerCallState) -> super::Step {
        let now = cx.now();
        let permit = if self.check == BreakerCheck::FirstAttempt && cx.retries() > 0 {
            Permit::Granted { probe: false }
        } else {
            self.try_permit(now)
        };
        match permit {
            Permit::Denied => super::Step::Outward(crate::world::Outcome::Rejected(
                crate::world::Rejection::Breaker,
            )),
            Permit::Granted { probe } => {
                st.started = now;
                st.probe = probe;
                st.holding = true;
                super::Step::Inward
            }
        }
    }

    fn on_result(
        &mut self,
        cx: &mut super::Cx,
        st: &mut BreakerCallState,
        outcome: crate::world::Outcome,
    ) -> super::Step {
        let now = cx.now();
        st.holding = false;
        self.record(now, !outcome.is_success(), now.since(st.started), st.probe);
        super::Step::Outward(outcome)
    }

    fn on_abort(&mut self, _: &mut super::Cx, st: &mut BreakerCallState) {
        if st.holding && st.probe {
            self.release_probe();
        }
    }

    fn finish(&mut self, end: SimTime) {
        self.settle(end);
    }

    fn report(&self, c: &mut super::LayerCounters) {
        c.cb_open += self.rejected;
        c.breaker_opened += self.opened;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> SimTime {
        SimTime::from_nanos(v * 1_000_000)
    }
    const D: SimDuration = SimDuration::from_millis(10);

    fn s3() -> Breaker {
        BreakerSpec {
            trip: TripSpec::ConsecutiveFailures(5),
            open_for: SimDuration::from_secs(30),
            after_open: AfterOpen::HalfOpen { probes: 1 },
            check: BreakerCheck::EveryAttempt,
        }
        .validate()
        .unwrap()
    }

    fn call(b: &mut Breaker, now: SimTime, failure: bool) -> Permit {
        let p = b.try_permit(now);
        if let Permit::Granted { probe } = p {
            b.record(now, failure, D, probe);
        }
        p
    }

    #[test]
    fn s3_consecutive_failures_open_then_half_open_trial() {
        let mut b = s3();
        for _ in 0..4 {
            call(&mut b, ms(0), true);
        }
        call(&mut b, ms(0), false); // success resets the count
        for _ in 0..4 {
            call(&mut b, ms(1), true);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        call(&mut b, ms(2), true);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(call(&mut b, ms(29_999), false), Permit::Denied);
        assert_eq!(b.rejected, 1);
        // After 30 s the next call is the half-open trial; it fails: re-open.
        assert_eq!(
            call(&mut b, ms(30_002), true),
            Permit::Granted { probe: true }
        );
        assert_eq!(b.state(), BreakerState::Open);
        // 30 s later a successful trial closes it.
        assert_eq!(
            call(&mut b, ms(60_002), false),
            Permit::Granted { probe: true }
        );
        assert_eq!(b.state(), BreakerState::Closed);
        let states: Vec<_> = b.transitions.iter().map(|t| t.1).collect();
        use BreakerState::*;
        assert_eq!(states, vec![Closed, Open, HalfOpen, Open, HalfOpen, Closed]);
        assert_eq!(
            b.transitions[2].0,
            ms(30_002),
            "lazy transition at the next call"
        );
    }

    #[test]
    fn half_open_admits_only_the_configured_probes() {
        let mut b = BreakerSpec {
            trip: TripSpec::ConsecutiveFailures(1),
            open_for: SimDuration::from_secs(1),
            after_open: AfterOpen::HalfOpen { probes: 2 },
            check: BreakerCheck::EveryAttempt,
        }
        .validate()
        .unwrap();
        call(&mut b, ms(0), true);
        assert_eq!(b.try_permit(ms(1000)), Permit::Granted { probe: true });
        assert_eq!(b.try_permit(ms(1000)), Permit::Granted { probe: true });
        assert_eq!(b.try_permit(ms(1000)), Permit::Denied);
        // One probe is abandoned: its slot frees up.
        b.release_probe();
        assert_eq!(b.try_permit(ms(1001)), Permit::Granted { probe: true });
        b.record(ms(1002), false, D, true);
        assert_eq!(b.state(), BreakerState::HalfOpen, "one of two results in");
        b.record(ms(1003), false, D, true);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    fn s1() -> Breaker {
        BreakerSpec {
            trip: TripSpec::FailureRate {
                window: WindowSpec::Count(20),
                threshold: 0.4,
                minimum_calls: 20,
                slow_call: None,
            },
            open_for: SimDuration::from_millis(500),
            after_open: AfterOpen::Close,
            check: BreakerCheck::FirstAttempt,
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn s1_opens_at_8_failures_in_a_full_window_of_20() {
        let mut b = s1();
        // 8 failures but the window is not full yet: stays closed.
        for _ in 0..11 {
            call(&mut b, ms(0), false);
        }
        for _ in 0..8 {
            call(&mut b, ms(0), true);
        }
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "19 outcomes: window not full"
        );
        call(&mut b, ms(1), false);
        assert_eq!(b.state(), BreakerState::Open, "20 outcomes, 8 failures");
        assert_eq!(b.try_permit(ms(400)), Permit::Denied);
        // After 500 ms it closes directly, with no half-open trial, and
        // the close is recorded when the open period ended (501 ms), not
        // when a call noticed it.
        assert_eq!(b.try_permit(ms(700)), Permit::Granted { probe: false });
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.transitions.last(), Some(&(ms(501), BreakerState::Closed)));
        // ...and keeps its window: the 8 failures are still among the last
        // 20, so one more failure (pushing out the oldest success) re-opens.
        b.record(ms(702), true, D, false);
        assert_eq!(b.state(), BreakerState::Open);
        // Open again at 702 ms until 1202 ms; with no call to notice, the
        // end of the run records the close at 1202 ms.
        b.settle(ms(5000));
        assert_eq!(
            b.transitions.last(),
            Some(&(ms(1202), BreakerState::Closed))
        );
    }

    #[test]
    fn s1_keeps_recording_while_open() {
        let mut b = s1();
        for _ in 0..12 {
            call(&mut b, ms(0), false);
        }
        for _ in 0..8 {
            call(&mut b, ms(0), true);
        }
        assert_eq!(b.state(), BreakerState::Open);
        // Outcomes recorded while open still count: while the window holds 8
        // failures each record re-arms the 500 ms (the last such record is
        // the 12th success at 100 ms, which still leaves 8 failures)...
        for _ in 0..20 {
            b.record(ms(100), false, D, false);
        }
        assert_eq!(b.try_permit(ms(599)), Permit::Denied);
        // ...and the successes have pushed every failure out of the window.
        assert_eq!(b.try_permit(ms(600)), Permit::Granted { probe: false });
        b.record(ms(601), true, D, false);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn rate_breaker_respects_minimum_calls_and_threshold() {
        let mut b = BreakerSpec {
            trip: TripSpec::FailureRate {
                window: WindowSpec::Count(10),
                threshold: 0.5,
                minimum_calls: 4,
                slow_call: None,
            },
            open_for: SimDuration::from_secs(5),
            after_open: AfterOpen::HalfOpen { probes: 3 },
            check: BreakerCheck::EveryAttempt,
        }
        .validate()
        .unwrap();
        call(&mut b, ms(0), true);
        call(&mut b, ms(0), true);
        call(&mut b, ms(0), true);
        assert_eq!(b.state(), BreakerState::Closed, "3 < minimum calls");
        call(&mut b, ms(0), false);
        assert_eq!(b.state(), BreakerState::Open, "75% >= 50% with 4 calls");
        // Half-open: 3 probes, 1 failure = 33% < 50%: closes.
        call(&mut b, ms(5000), true);
        call(&mut b, ms(5000), false);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        call(&mut b, ms(5000), false);
        assert_eq!(b.state(), BreakerState::Closed);
        // The window was cleared on closing.
        call(&mut b, ms(5001), true);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn exactly_at_threshold_trips() {
        let mut b = BreakerSpec {
            trip: TripSpec::FailureRate {
                window: WindowSpec::Count(4),
                threshold: 0.5,
                minimum_calls: 4,
                slow_call: None,
            },
            open_for: SimDuration::from_secs(5),
            after_open: AfterOpen::default(),
            check: BreakerCheck::EveryAttempt,
        }
        .validate()
        .unwrap();
        for f in [true, false, true, false] {
            call(&mut b, ms(0), f);
        }
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn slow_calls_trip_strictly_above_duration() {
        let mut b = BreakerSpec {
            trip: TripSpec::FailureRate {
                window: WindowSpec::Count(4),
                threshold: 1.0,
                minimum_calls: 4,
                slow_call: Some(SlowCallSpec {
                    duration: D,
                    rate_threshold: 0.5,
                }),
            },
            open_for: SimDuration::from_secs(5),
            after_open: AfterOpen::default(),
            check: BreakerCheck::EveryAttempt,
        }
        .validate()
        .unwrap();
        for _ in 0..4 {
            b.try_permit(ms(0));
            b.record(ms(0), false, D, false); // exactly D is not slow
        }
        assert_eq!(b.state(), BreakerState::Closed);
        for _ in 0..2 {
            b.try_permit(ms(0));
            b.record(ms(0), false, D + SimDuration::from_nanos(1), false);
        }
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn time_window_forgets_old_failures() {
        let mut b = BreakerSpec {
            trip: TripSpec::FailureRate {
                window: WindowSpec::Time {
                    length: SimDuration::from_secs(10),
                    buckets: 10,
                },
                threshold: 0.5,
                minimum_calls: 4,
                slow_call: None,
            },
            open_for: SimDuration::from_secs(5),
            after_open: AfterOpen::default(),
            check: BreakerCheck::EveryAttempt,
        }
        .validate()
        .unwrap();
        for _ in 0..3 {
            call(&mut b, ms(0), true);
        }
        // 11 s later those failures have left the window.
        call(&mut b, ms(11_000), true);
        call(&mut b, ms(11_000), false);
        call(&mut b, ms(11_000), false);
        call(&mut b, ms(11_000), false);
        assert_eq!(b.state(), BreakerState::Closed, "1 of 4 in the window");
    }

    #[test]
    fn impossible_breakers_are_rejected() {
        let e = BreakerSpec {
            trip: TripSpec::FailureRate {
                window: WindowSpec::Count(10),
                threshold: 0.5,
                minimum_calls: 20,
                slow_call: None,
            },
            open_for: SimDuration::from_secs(1),
            after_open: AfterOpen::default(),
            check: BreakerCheck::EveryAttempt,
        }
        .validate()
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("trip.minimum_calls: must be <= the window size")
        );
        let e = BreakerSpec {
            trip: TripSpec::FailureRate {
                window: WindowSpec::Count(10),
                threshold: 1.5,
                minimum_calls: 5,
                slow_call: None,
            },
            open_for: SimDuration::from_secs(1),
            after_open: AfterOpen::default(),
            check: BreakerCheck::EveryAttempt,
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().starts_with("trip.threshold:"));
        let e = BreakerSpec {
            trip: TripSpec::ConsecutiveFailures(3),
            open_for: SimDuration::ZERO,
            after_open: AfterOpen::default(),
            check: BreakerCheck::EveryAttempt,
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().starts_with("open_for:"));
    }
}
