//! Adaptive concurrency limits at the caller, as Netflix's
//! concurrency-limits library defines them (`AIMDLimit`, `VegasLimit`,
//! `Gradient2Limit` behind a `SimpleLimiter`; read at its 2026 head).
//!
//! - An attempt goes through while fewer than `limit` are in flight, and is
//!   refused locally otherwise (`failures.concurrency_limit`), as
//!   `SimpleLimiter.tryAcquire` refuses.
//! - Each attempt that ends is a sample (`Limit.onSample`): its round trip,
//!   the attempts in flight when it started (itself included), and whether
//!   it was dropped. The library's `Listener.onDropped` is "a timeout or a
//!   rejection by an external limit": here a timeout, an error answer
//!   (gRPC's UNAVAILABLE, which the gRPC interceptor counts as a drop) or a
//!   refusal by the server. A refusal by another local policy, or an outer
//!   layer giving up on the attempt, is `onIgnore`: the slot comes back and
//!   no sample is taken.
//! - The limit is the integer part of the algorithm's estimate, as
//!   `AbstractLimit` keeps it.
//!
//! The three algorithms are state machines over samples
//! ([`LimitAlgorithm::update`]), each tested step by step by hand. The
//! limit over time is a series (`series.clients.NAME.concurrency_limit`);
//! [`LimitTrack`] keeps it, and the server-side controller of
//! [`crate::admission`] shares it.

use serde::{Deserialize, Serialize};
use sim_core::stats::{GaugeSeries, TimeWeighted};
use sim_core::{FieldError, RngStream, SimDuration, SimTime};

use super::{Cx, FromSpec, Layer, LayerCounters, SpecCx, Step};
use crate::world::{Outcome, Rejection};

fn twenty() -> u32 {
    20
}
fn two_hundred() -> u32 {
    200
}
fn thousand() -> u32 {
    1000
}
fn aimd_backoff() -> f64 {
    0.9
}
fn five_seconds() -> SimDuration {
    SimDuration::from_secs(5)
}
fn one() -> f64 {
    1.0
}
fn thirty() -> u32 {
    30
}
fn gradient_smoothing() -> f64 {
    0.2
}
fn four() -> u32 {
    4
}
fn six_hundred() -> u32 {
    600
}
fn tolerance() -> f64 {
    1.5
}

/// An adaptive concurrency limit as written in a caller's spec; every
/// default is the library's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ConcurrencyLimitSpec {
    /// Loss based: `limit + 1` on a success with at least half the limit
    /// in flight, `floor(limit * backoff_ratio)` on a drop or a round trip
    /// above `timeout`; kept within `[min_limit, max_limit]`.
    Aimd {
        #[serde(default = "twenty")]
        /// The limit at the start (default 20).
        initial_limit: u32,
        #[serde(default = "twenty")]
        /// Lowest limit (default 20).
        min_limit: u32,
        #[serde(default = "two_hundred")]
        /// Highest limit (default 200).
        max_limit: u32,
        #[serde(default = "aimd_backoff")]
        /// Multiplicative decrease, in [0.5, 1) (default 0.9).
        backoff_ratio: f64,
        #[serde(default = "five_seconds")]
        /// A round trip longer than this counts as a drop (default 5 s).
        timeout: SimDuration,
    },
    /// Delay based (TCP Vegas): estimates the queue as
    /// `ceil(limit * (1 - rtt_noload / rtt))` and grows the limit while it
    /// is short, shrinks it when it is long, by steps of log10(limit).
    Vegas {
        #[serde(default = "twenty")]
        /// The limit at the start (default 20).
        initial_limit: u32,
        #[serde(default = "thousand")]
        /// Highest limit (default 1000).
        max_limit: u32,
        #[serde(default = "one")]
        /// Weight of a new estimate, in (0, 1] (default 1).
        smoothing: f64,
        #[serde(default = "thirty")]
        /// Probe for a new no-load round trip every `probe_multiplier *
        /// limit` samples, jittered by a factor in [0.5, 1) (default 30).
        probe_multiplier: u32,
    },
    /// Delay based, on the ratio of a long-term average round trip to the
    /// latest one: `limit * gradient + queue_size`, smoothed.
    Gradient2 {
        #[serde(default = "twenty")]
        /// The limit at the start (default 20).
        initial_limit: u32,
        #[serde(default = "twenty")]
        /// Lowest limit (default 20).
        min_limit: u32,
        #[serde(default = "two_hundred")]
        /// Highest limit (default 200).
        max_limit: u32,
        #[serde(default = "gradient_smoothing")]
        /// Weight of a new estimate, in (0, 1] (default 0.2).
        smoothing: f64,
        #[serde(default = "four")]
        /// Growth allowed while latency stays low (default 4).
        queue_size: u32,
        #[serde(default = "six_hundred")]
        /// Samples in the long-term exponential average (default 600).
        long_window: u32,
        #[serde(default = "tolerance")]
        /// How much the latest round trip may exceed the long-term one
        /// before the limit falls, >= 1 (default 1.5).
        rtt_tolerance: f64,
    },
}

/// `Log10RootIntFunction` with baseline 0: `max(1, floor(log10(n)))` below
/// 1000 (the library's lookup table), `floor(log10(n))` from there on.
pub fn log10_root(n: u32) -> u32 {
    if n < 1000 {
        (f64::from(n).log10().floor() as i64).max(1) as u32
    } else {
        f64::from(n).log10().floor() as u32
    }
}

/// `AIMDLimit`.
#[derive(Clone, Debug)]
pub struct Aimd {
    limit: u32,
    min_limit: u32,
    max_limit: u32,
    backoff_ratio: f64,
    timeout: SimDuration,
}

/// `VegasLimit`.
#[derive(Clone, Debug)]
pub struct Vegas {
    estimated: f64,
    /// 0 until the first sample, as in the library.
    rtt_noload_ns: u64,
    max_limit: u32,
    smoothing: f64,
    probe_multiplier: u32,
    probe_count: u64,
    /// Drawn at the first sample (the library draws it at construction).
    probe_jitter: Option<f64>,
}

/// `ExpAvgMeasurement(window, warmup)`: the plain mean of the first
/// `warmup` samples, then an exponential average with factor
/// `2 / (window + 1)`.
#[derive(Clone, Debug)]
struct ExpAvg {
    value: f64,
    sum: f64,
    count: u32,
    window: u32,
    warmup: u32,
}

impl ExpAvg {
    fn add(&mut self, sample: f64) -> f64 {
        if self.count < self.warmup {
            self.count += 1;
            self.sum += sample;
            self.value = self.sum / f64::from(self.count);
        } else {
            let factor = 2.0 / (f64::from(self.window) + 1.0);
            self.value = self.value * (1.0 - factor) + sample * factor;
        }
        self.value
    }
}

/// `Gradient2Limit`.
#[derive(Clone, Debug)]
pub struct Gradient2 {
    estimated: f64,
    long_rtt: ExpAvg,
    min_limit: u32,
    max_limit: u32,
    smoothing: f64,
    queue_size: u32,
    tolerance: f64,
}

/// One of the library's limit algorithms with its running state.
#[derive(Clone, Debug)]
pub enum LimitAlgorithm {
    /// `AIMDLimit`.
    Aimd(Aimd),
    /// `VegasLimit`.
    Vegas(Vegas),
    /// `Gradient2Limit`.
    Gradient2(Gradient2),
}

impl Aimd {
    /// One sample: `AIMDLimit._update`.
    pub fn update(&mut self, rtt: SimDuration, in_flight: u32, dropped: bool) -> u32 {
        let mut limit = self.limit;
        if dropped || rtt > self.timeout {
            limit = (f64::from(limit) * self.backoff_ratio) as u32;
        } else if u64::from(in_flight) * 2 >= u64::from(limit) {
            limit += 1;
        }
        self.limit = limit.max(self.min_limit).min(self.max_limit);
        self.limit
    }
}

impl Vegas {
    fn limit(&self) -> u32 {
        self.estimated as u32
    }

    /// One sample: `VegasLimit._update` (the round trip must be > 0, as
    /// the library requires).
    pub fn update(
        &mut self,
        rtt_ns: u64,
        in_flight: u32,
        dropped: bool,
        rng: &mut RngStream,
    ) -> u32 {
        debug_assert!(rtt_ns > 0);
        self.probe_count += 1;
        let jitter = *self
            .probe_jitter
            .get_or_insert_with(|| rng.uniform(0.5, 1.0));
        if jitter * f64::from(self.probe_multiplier) * self.estimated <= self.probe_count as f64 {
            self.probe_jitter = Some(rng.uniform(0.5, 1.0));
            self.probe_count = 0;
            self.rtt_noload_ns = rtt_ns;
            return self.limit();
        }
        if self.rtt_noload_ns == 0 || rtt_ns < self.rtt_noload_ns {
            self.rtt_noload_ns = rtt_ns;
            return self.limit();
        }
        let est = self.estimated;
        let queue = (est * (1.0 - self.rtt_noload_ns as f64 / rtt_ns as f64)).ceil() as i64;
        let current = est as u32;
        let log = f64::from(log10_root(current));
        let new = if dropped {
            est - log
        } else if f64::from(in_flight) * 2.0 < est {
            // Not close to the limit: no upward drift.
            return self.limit();
        } else {
            let alpha = i64::from(3 * log10_root(current));
            let beta = i64::from(6 * log10_root(current));
            let threshold = i64::from(log10_root(current));
            if queue <= threshold {
                est + beta as f64
            } else if queue < alpha {
                est + log
            } else if queue > beta {
                est - log
            } else {
                return self.limit();
            }
        };
        let new = new.min(f64::from(self.max_limit)).max(1.0);
        self.estimated = (1.0 - self.smoothing) * est + self.smoothing * new;
        self.limit()
    }
}

impl Gradient2 {
    fn limit(&self) -> u32 {
        self.estimated as u32
    }

    /// One sample: `Gradient2Limit._update` (the round trip must be > 0).
    pub fn update(&mut self, rtt_ns: u64, in_flight: u32) -> u32 {
        debug_assert!(rtt_ns > 0);
        let est = self.estimated;
        let queue = f64::from(self.queue_size);
        let short = rtt_ns as f64;
        let long = self.long_rtt.add(short);
        // After a long overload the long-term average lags far above the
        // latest round trip: pull it down faster than smoothing would.
        if long / short > 2.0 {
            self.long_rtt.value *= 0.95;
        }
        // Application limited: do not grow.
        if f64::from(in_flight) < est / 2.0 {
            return self.limit();
        }
        let gradient = (self.tolerance * long / short).clamp(0.5, 1.0);
        let new = est * gradient + queue;
        let new = est * (1.0 - self.smoothing) + new * self.smoothing;
        self.estimated = new
            .min(f64::from(self.max_limit))
            .max(f64::from(self.min_limit));
        self.limit()
    }
}

impl LimitAlgorithm {
    /// The current limit.
    pub fn limit(&self) -> u32 {
        match self {
            LimitAlgorithm::Aimd(a) => a.limit,
            LimitAlgorithm::Vegas(v) => v.limit(),
            LimitAlgorithm::Gradient2(g) => g.limit(),
        }
    }

    /// One sample (`Limit.onSample`); returns the new limit. A zero round
    /// trip is no sample for the delay-based algorithms (Vegas rejects it,
    /// Gradient2 would divide by it).
    pub fn update(
        &mut self,
        rtt: SimDuration,
        in_flight: u32,
        dropped: bool,
        rng: &mut RngStream,
    ) -> u32 {
        let rtt_ns = rtt.as_nanos();
        match self {
            LimitAlgorithm::Aimd(a) => a.update(rtt, in_flight, dropped),
            LimitAlgorithm::Vegas(v) if rtt_ns > 0 => v.update(rtt_ns, in_flight, dropped, rng),
            LimitAlgorithm::Gradient2(g) if rtt_ns > 0 => g.update(rtt_ns, in_flight),
            _ => self.limit(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            LimitAlgorithm::Aimd(_) => "Aimd",
            LimitAlgorithm::Vegas(_) => "Vegas",
            LimitAlgorithm::Gradient2(_) => "Gradient2",
        }
    }
}

fn check_limits(initial: u32, min: u32, max: u32) -> Result<(), FieldError> {
    if min == 0 {
        return Err(FieldError::new("min_limit", "must be >= 1"));
    }
    if max < min {
        return Err(FieldError::new(
            "max_limit",
            format!("must be >= min_limit ({min}), got {max}"),
        ));
    }
    if !(min..=max).contains(&initial) {
        return Err(FieldError::new(
            "initial_limit",
            format!("must be within [min_limit, max_limit] = [{min}, {max}], got {initial}"),
        ));
    }
    Ok(())
}

fn check_smoothing(smoothing: f64) -> Result<(), FieldError> {
    if !(smoothing > 0.0 && smoothing <= 1.0) {
        return Err(FieldError::new(
            "smoothing",
            format!("must be in (0, 1], got {smoothing}"),
        ));
    }
    Ok(())
}

impl ConcurrencyLimitSpec {
    /// The checked algorithm at its initial limit.
    pub fn validate(&self) -> Result<LimitAlgorithm, FieldError> {
        fn under(name: &'static str) -> impl Fn(FieldError) -> FieldError {
            move |e| e.under(name)
        }
        match *self {
            ConcurrencyLimitSpec::Aimd {
                initial_limit,
                min_limit,
                max_limit,
                backoff_ratio,
                timeout,
            } => {
                check_limits(initial_limit, min_limit, max_limit).map_err(under("Aimd"))?;
                if !(0.5..1.0).contains(&backoff_ratio) {
                    return Err(FieldError::new(
                        "Aimd.backoff_ratio",
                        format!("must be in [0.5, 1), got {backoff_ratio}"),
                    ));
                }
                if timeout.is_zero() {
                    return Err(FieldError::new("Aimd.timeout", "must be > 0"));
                }
                Ok(LimitAlgorithm::Aimd(Aimd {
                    limit: initial_limit,
                    min_limit,
                    max_limit,
                    backoff_ratio,
                    timeout,
                }))
            }
            ConcurrencyLimitSpec::Vegas {
                initial_limit,
                max_limit,
                smoothing,
                probe_multiplier,
            } => {
                check_limits(initial_limit, 1, max_limit).map_err(under("Vegas"))?;
                check_smoothing(smoothing).map_err(under("Vegas"))?;
                if probe_multiplier == 0 {
                    return Err(FieldError::new("Vegas.probe_multiplier", "must be >= 1"));
                }
                Ok(LimitAlgorithm::Vegas(Vegas {
                    estimated: f64::from(initial_limit),
                    rtt_noload_ns: 0,
                    max_limit,
                    smoothing,
                    probe_multiplier,
                    probe_count: 0,
                    probe_jitter: None,
                }))
            }
            ConcurrencyLimitSpec::Gradient2 {
                initial_limit,
                min_limit,
                max_limit,
                smoothing,
                queue_size,
                long_window,
                rtt_tolerance,
            } => {
                check_limits(initial_limit, min_limit, max_limit).map_err(under("Gradient2"))?;
                check_smoothing(smoothing).map_err(under("Gradient2"))?;
                if long_window == 0 {
                    return Err(FieldError::new("Gradient2.long_window", "must be >= 1"));
                }
                if !(rtt_tolerance.is_finite() && rtt_tolerance >= 1.0) {
                    return Err(FieldError::new(
                        "Gradient2.rtt_tolerance",
                        format!("must be a finite number >= 1, got {rtt_tolerance}"),
                    ));
                }
                Ok(LimitAlgorithm::Gradient2(Gradient2 {
                    estimated: f64::from(initial_limit),
                    long_rtt: ExpAvg {
                        value: 0.0,
                        sum: 0.0,
                        count: 0,
                        window: long_window,
                        warmup: 10,
                    },
                    min_limit,
                    max_limit,
                    smoothing,
                    queue_size,
                    tolerance: rtt_tolerance,
                }))
            }
        }
    }
}

/// A concurrency limit over time: its time-weighted mean, extremes and
/// per-bucket series.
#[derive(Clone, Debug)]
pub struct LimitTrack {
    gauge: TimeWeighted,
    series: GaugeSeries,
    min: u32,
}

impl LimitTrack {
    /// A limit at `initial` from time zero, in buckets of one second until
    /// [`LimitTrack::set_bucket`] says otherwise.
    pub fn new(initial: u32) -> Self {
        let mut t = LimitTrack {
            gauge: TimeWeighted::new(SimTime::ZERO, u64::from(initial)),
            series: GaugeSeries::new(SimDuration::from_secs(1)),
            min: initial,
        };
        t.series.set(SimTime::ZERO, u64::from(initial));
        t
    }

    /// Uses buckets of `width` (before the run starts).
    pub fn set_bucket(&mut self, width: SimDuration) {
        self.series = GaugeSeries::with_max_buckets(width, crate::world::MAX_SERIES_BUCKETS);
        self.series.set(SimTime::ZERO, self.gauge.value());
    }

    /// The limit is `limit` from `now` on.
    #[inline]
    pub fn set(&mut self, now: SimTime, limit: u32) {
        if u64::from(limit) != self.gauge.value() {
            self.gauge.set(now, u64::from(limit));
            self.series.set(now, u64::from(limit));
            self.min = self.min.min(limit);
        }
    }

    /// The current limit.
    pub fn value(&self) -> u32 {
        self.gauge.value() as u32
    }

    /// The time-weighted mean over [0, end].
    pub fn mean(&self, end: SimTime) -> f64 {
        self.gauge.mean(end)
    }

    /// The lowest value so far.
    pub fn min(&self) -> u32 {
        self.min
    }

    /// What the limit did over [0, end].
    pub fn metrics(&self, end: SimTime, rejected: u64) -> crate::metrics::LimitMetrics {
        crate::metrics::LimitMetrics {
            rejected: rejected.into(),
            limit_mean: self.gauge.mean(end).into(),
            limit_min: u64::from(self.min).into(),
            limit_max: self.gauge.max().into(),
            limit_final: self.gauge.value().into(),
        }
    }

    /// Merges buckets until the width is at least `width`.
    pub fn coarsen_to(&mut self, width: SimDuration) {
        self.series.coarsen_to(width);
    }

    /// The mean limit per bucket over [0, end].
    pub fn series(&self, end: SimTime) -> Vec<f64> {
        self.series.means(end)
    }

    /// The series' current bucket width.
    pub fn width(&self) -> SimDuration {
        self.series.width()
    }
}

/// The layer: a [`LimitAlgorithm`] in front of each attempt.
#[derive(Clone, Debug)]
pub struct ConcurrencyLimit {
    algorithm: LimitAlgorithm,
    in_flight: u32,
    rejected: u64,
    /// The limit over time.
    pub track: LimitTrack,
}

/// What the limiter remembers about one attempt inside it.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConcurrencyLimitState {
    started: Option<SimTime>,
    in_flight_at_start: u32,
}

impl ConcurrencyLimit {
    /// A limiter running `algorithm`.
    pub fn new(algorithm: LimitAlgorithm) -> Self {
        ConcurrencyLimit {
            track: LimitTrack::new(algorithm.limit()),
            algorithm,
            in_flight: 0,
            rejected: 0,
        }
    }

    /// Attempts refused so far.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

impl FromSpec for ConcurrencyLimit {
    type Spec = Option<ConcurrencyLimitSpec>;
    fn configured(spec: &Self::Spec) -> bool {
        spec.is_some()
    }
    fn validate(spec: &Self::Spec, path: &str, cx: &mut SpecCx) -> Option<Self> {
        cx.check(path, spec.as_ref()?.validate())
            .map(ConcurrencyLimit::new)
    }
}

impl Layer for ConcurrencyLimit {
    type State = ConcurrencyLimitState;

    fn name(&self) -> String {
        format!("ConcurrencyLimit({})", self.algorithm.name())
    }

    fn enter(&mut self, cx: &mut Cx, st: &mut ConcurrencyLimitState) -> Step {
        if self.in_flight >= self.algorithm.limit() {
            self.rejected += 1;
            return Step::Outward(Outcome::Rejected(Rejection::ConcurrencyLimit));
        }
        self.in_flight += 1;
        st.started = Some(cx.now());
        st.in_flight_at_start = self.in_flight;
        Step::Inward
    }

    fn on_result(&mut self, cx: &mut Cx, st: &mut ConcurrencyLimitState, outcome: Outcome) -> Step {
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
                let now = cx.now();
                let rtt = now.since(started);
                let limit = self
                    .algorithm
                    .update(rtt, st.in_flight_at_start, dropped, cx.rng());
                self.track.set(now, limit);
            }
        }
        Step::Outward(outcome)
    }

    fn on_abort(&mut self, _: &mut Cx, st: &mut ConcurrencyLimitState) {
        if st.started.take().is_some() {
            self.in_flight -= 1;
        }
    }

    fn report(&self, c: &mut LayerCounters) {
        c.concurrency_limited += self.rejected;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    fn algo(spec: &str) -> LimitAlgorithm {
        let spec: ConcurrencyLimitSpec = ron::from_str(spec).expect("spec parses");
        spec.validate().expect("valid")
    }

    #[test]
    fn log10_root_is_the_librarys_table() {
        assert_eq!(log10_root(0), 1);
        assert_eq!(log10_root(1), 1);
        assert_eq!(log10_root(9), 1);
        assert_eq!(log10_root(99), 1);
        assert_eq!(log10_root(100), 2);
        assert_eq!(log10_root(999), 2);
        assert_eq!(log10_root(1000), 3);
        assert_eq!(log10_root(20_000), 4);
    }

    /// `AIMDLimit._update` with the library's defaults (20, [20, 200], 0.9,
    /// 5 s), then with a floor of 1.
    #[test]
    fn aimd_adds_one_and_multiplies_by_the_backoff_ratio() {
        let mut rng = sim_core::Seeds::new(1).stream("test");
        let mut a = algo("Aimd()");
        assert_eq!(a.limit(), 20);
        // 2 * 10 >= 20: +1.
        assert_eq!(a.update(ms(10), 10, false, &mut rng), 21);
        // 2 * 10 < 21: unchanged.
        assert_eq!(a.update(ms(10), 10, false, &mut rng), 21);
        // A drop: floor(21 * 0.9) = 18, raised to the minimum 20.
        assert_eq!(a.update(ms(10), 21, true, &mut rng), 20);
        let mut b = algo("Aimd(initial_limit: 50, min_limit: 1, backoff_ratio: 0.5)");
        // A drop: 25; a round trip over 5 s counts as one: 12; then 6, 3, 1, 1.
        assert_eq!(b.update(ms(1), 1, true, &mut rng), 25);
        assert_eq!(b.update(SimDuration::from_secs(6), 1, false, &mut rng), 12);
        for want in [6, 3, 1, 1] {
            assert_eq!(b.update(ms(1), 1, true, &mut rng), want);
        }
        // The maximum caps the growth.
        let mut c = algo("Aimd(initial_limit: 3, min_limit: 1, max_limit: 3)");
        assert_eq!(c.update(ms(1), 3, false, &mut rng), 3);
    }

    /// `VegasLimit._update` from the library's defaults, by hand: limit
    /// 20, log10_root(20) = 1, so threshold 1, alpha 3, beta 6.
    #[test]
    fn vegas_follows_the_queue_estimate() {
        let mut rng = sim_core::Seeds::new(1).stream("test");
        let mut v = algo("Vegas()");
        // The first sample only sets the no-load round trip.
        assert_eq!(v.update(ms(10), 20, false, &mut rng), 20);
        // Same round trip: queue = ceil(20 * 0) = 0 <= threshold: +beta = 26.
        assert_eq!(v.update(ms(10), 20, false, &mut rng), 26);
        // Few in flight (2 * 12 < 26): unchanged.
        assert_eq!(v.update(ms(40), 12, false, &mut rng), 26);
        // rtt 10.5 ms: queue = ceil(26 * (1 - 10/10.5)) = ceil(1.238) = 2,
        // above the threshold 1 and below alpha 3: + log10 = 27.
        assert_eq!(
            v.update(SimDuration::from_micros(10_500), 26, false, &mut rng),
            27
        );
        // rtt 20 ms: queue = ceil(27 * 0.5) = 14 > beta 6: -1 = 26.
        assert_eq!(v.update(ms(20), 27, false, &mut rng), 26);
        // rtt 11.5 ms: queue = ceil(26 * 0.1304) = 4, in [alpha, beta]: unchanged.
        assert_eq!(
            v.update(SimDuration::from_micros(11_500), 26, false, &mut rng),
            26
        );
        // A drop: -1 whatever the round trip.
        assert_eq!(v.update(ms(10), 1, true, &mut rng), 25);
        // A shorter round trip becomes the no-load one, with no change.
        assert_eq!(v.update(ms(5), 25, false, &mut rng), 25);
        let LimitAlgorithm::Vegas(state) = &v else {
            unreachable!()
        };
        assert_eq!(state.rtt_noload_ns, 5_000_000);
    }

    /// Smoothing takes a weighted step, and the probe resets the no-load
    /// round trip after about `probe_multiplier * limit` samples.
    #[test]
    fn vegas_smooths_and_probes() {
        let mut rng = sim_core::Seeds::new(3).stream("test");
        let mut v = algo("Vegas(smoothing: 0.5)");
        v.update(ms(10), 20, false, &mut rng);
        // +beta 6 at half weight: 23.
        assert_eq!(v.update(ms(10), 20, false, &mut rng), 23);
        let mut p = algo("Vegas(initial_limit: 1, max_limit: 1, probe_multiplier: 1)");
        // jitter * 1 * 1 <= count from the first sample on: every sample probes.
        p.update(ms(10), 1, false, &mut rng);
        p.update(ms(30), 1, false, &mut rng);
        let LimitAlgorithm::Vegas(state) = &p else {
            unreachable!()
        };
        assert_eq!(state.rtt_noload_ns, 30_000_000, "the probe took the latest");
        assert_eq!(state.probe_count, 0);
    }

    /// `Gradient2Limit._update` by hand with the library's defaults: limit
    /// 20 in [20, 200], smoothing 0.2, queue 4, tolerance 1.5, warm-up 10.
    #[test]
    fn gradient2_applies_its_formula() {
        let mut rng = sim_core::Seeds::new(1).stream("test");
        let mut g = algo("Gradient2(min_limit: 1)");
        // long = 10 ms; gradient = clamp(1.5 * 1) = 1; new = 20 + 4 = 24;
        // smoothed: 20 * 0.8 + 24 * 0.2 = 20.8.
        assert_eq!(g.update(ms(10), 20, false, &mut rng), 20);
        // long = mean(10, 40) = 25 ms; gradient = 1.5 * 25 / 40 = 0.9375;
        // new = 20.8 * 0.9375 + 4 = 23.5; smoothed 20.8 * 0.8 + 23.5 * 0.2 = 21.34.
        assert_eq!(g.update(ms(40), 20, false, &mut rng), 21);
        // long = mean(10, 40, 100) = 50; gradient = max(0.5, 0.75) = 0.75;
        // new = 21.34 * 0.75 + 4 = 20.005; smoothed: 21.073.
        assert_eq!(g.update(ms(100), 21, false, &mut rng), 21);
        let LimitAlgorithm::Gradient2(s) = &g else {
            unreachable!()
        };
        assert!((s.estimated - 21.073).abs() < 1e-9, "{}", s.estimated);
        // Application limited (5 < 21.07 / 2): unchanged,
        // but the long average still moves: mean(10, 40, 100, 1) = 37.75,
        // which is > 2 * 1, so it decays by 0.95.
        assert_eq!(g.update(ms(1), 5, false, &mut rng), 21);
        let LimitAlgorithm::Gradient2(s) = &g else {
            unreachable!()
        };
        assert!((s.long_rtt.value - 37.75e6 * 0.95).abs() < 1e-3);
        assert!((s.estimated - 21.073).abs() < 1e-9);
    }

    #[test]
    fn gradient2_moves_to_an_exponential_average_after_warm_up() {
        let mut m = ExpAvg {
            value: 0.0,
            sum: 0.0,
            count: 0,
            window: 600,
            warmup: 10,
        };
        for _ in 0..10 {
            m.add(10.0);
        }
        assert_eq!(m.value, 10.0);
        // factor 2 / 601.
        let v = m.add(611.0);
        assert!((v - (10.0 * (599.0 / 601.0) + 611.0 * 2.0 / 601.0)).abs() < 1e-12);
    }

    #[test]
    fn impossible_settings_are_refused_by_name() {
        let err = |s: &str| {
            let spec: ConcurrencyLimitSpec = ron::from_str(s).unwrap();
            spec.validate().unwrap_err().to_string()
        };
        assert!(err("Aimd(min_limit: 0)").starts_with("Aimd.min_limit: must be >= 1"));
        assert!(err("Aimd(backoff_ratio: 1.0)").starts_with("Aimd.backoff_ratio"));
        assert!(err("Aimd(initial_limit: 5)").starts_with("Aimd.initial_limit"));
        assert!(err("Gradient2(max_limit: 10)").starts_with("Gradient2.max_limit"));
        assert!(err("Gradient2(rtt_tolerance: 0.5)").starts_with("Gradient2.rtt_tolerance"));
        assert!(err("Vegas(smoothing: 0)").starts_with("Vegas.smoothing"));
        assert!(err("Vegas(initial_limit: 0)").starts_with("Vegas.initial_limit"));
    }

    #[test]
    fn the_track_keeps_mean_extremes_and_series() {
        let mut t = LimitTrack::new(10);
        t.set_bucket(SimDuration::from_secs(1));
        t.set(SimTime::at(SimDuration::from_secs(1)), 20);
        t.set(SimTime::at(SimDuration::from_secs(3)), 5);
        let m = t.metrics(SimTime::at(SimDuration::from_secs(4)), 7);
        // (10 + 20 + 20 + 5) / 4.
        assert_eq!(m.limit_mean.get(), 13.75);
        assert_eq!(m.limit_min.get(), 5.0);
        assert_eq!(m.limit_max.get(), 20.0);
        assert_eq!(m.limit_final.get(), 5.0);
        assert_eq!(m.rejected.get(), 7.0);
        assert_eq!(
            t.series(SimTime::at(SimDuration::from_secs(4))),
            vec![10.0, 20.0, 20.0, 5.0]
        );
    }
}
