//! Admission control at a service: what decides, as a request arrives,
//! whether the service takes it at all. Two controllers, each a state
//! machine that takes `now` and answers, tested by hand against its
//! definition:
//!
//! - [`GradientController`]: Envoy's adaptive concurrency filter (its
//!   gradient controller). It measures the service's latency without load
//!   (minRTT, at a pinned low concurrency), then every update interval
//!   sets `limit = limit * g + sqrt(limit * g)` with `g = clamp((minRTT +
//!   buffer) / sampleRTT, 0.5, 2)`; a request beyond the limit is answered
//!   503 at once.
//! - [`Dagor`]: WeChat's DAGOR (Zhou et al., "Overload Control for Scaling
//!   WeChat Microservices", SoCC 2018): overload is a mean queueing time
//!   above a threshold over a window; requests carry a business and a user
//!   priority, and the service admits only those at or above an admission
//!   level that it moves so as to admit `alpha` fewer requests after an
//!   overloaded window and `beta` more after a healthy one.
//!
//! Their timers are evaluated lazily: a due timer fires (in time order,
//! each at its own instant) before the next arrival or answer is handled,
//! which is what the timers would have done since nothing else happened in
//! between. So the controllers add no events.

use serde::{Deserialize, Serialize};
use sim_core::{FieldError, RngStream, SimDuration, SimTime};

use crate::policy::concurrency_limit::LimitTrack;

fn hundred_ms() -> SimDuration {
    SimDuration::from_millis(100)
}
fn sixty_s() -> SimDuration {
    SimDuration::from_secs(60)
}
fn fifty() -> u32 {
    50
}
fn fifteen() -> f64 {
    15.0
}
fn three() -> u32 {
    3
}
fn twenty_five() -> f64 {
    25.0
}
fn thousand() -> u32 {
    1000
}
fn fifty_f() -> f64 {
    50.0
}

/// Envoy's adaptive concurrency filter (gradient controller) as written in
/// a service's spec; defaults are Envoy's, names follow its proto
/// (`concurrency_limit_params`, `min_rtt_calc_params`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradientControllerSpec {
    /// How often the limit is recalculated (`concurrency_update_interval`;
    /// Envoy requires it, here 100 ms by default as in its examples).
    #[serde(default = "hundred_ms")]
    pub update_interval: SimDuration,
    /// Percentile of the window's latencies used as sampleRTT and minRTT
    /// (`sample_aggregate_percentile`, default 50).
    #[serde(default = "fifty_f")]
    pub percentile: f64,
    /// Highest limit (`max_concurrency_limit`, default 1000).
    #[serde(default = "thousand")]
    pub max_limit: u32,
    /// Time between minRTT measurements (`min_rtt_calc_params.interval`,
    /// default 60 s).
    #[serde(default = "sixty_s")]
    pub min_rtt_interval: SimDuration,
    /// Requests sampled for one minRTT measurement (`request_count`,
    /// default 50).
    #[serde(default = "fifty")]
    pub min_rtt_requests: u32,
    /// Random extra delay before a minRTT measurement, in percent of the
    /// interval (`jitter`, default 15).
    #[serde(default = "fifteen")]
    pub jitter_percent: f64,
    /// The limit while minRTT is measured, and the lowest limit
    /// (`min_concurrency`, default 3).
    #[serde(default = "three")]
    pub min_concurrency: u32,
    /// Latency allowed above minRTT before the limit falls, in percent of
    /// minRTT (`buffer`, default 25).
    #[serde(default = "twenty_five")]
    pub buffer_percent: f64,
}

impl GradientControllerSpec {
    /// The checked controller, in its first minRTT window.
    pub fn validate(&self) -> Result<GradientController, FieldError> {
        if self.update_interval.is_zero() {
            return Err(FieldError::new("update_interval", "must be > 0"));
        }
        if self.min_rtt_interval < SimDuration::from_millis(1) {
            return Err(FieldError::new("min_rtt_interval", "must be at least 1ms"));
        }
        if !(self.percentile > 0.0 && self.percentile <= 100.0) {
            return Err(FieldError::new(
                "percentile",
                format!("must be in (0, 100], got {}", self.percentile),
            ));
        }
        for (name, v) in [
            ("jitter_percent", self.jitter_percent),
            ("buffer_percent", self.buffer_percent),
        ] {
            if !(v.is_finite() && (0.0..=100.0).contains(&v)) {
                return Err(FieldError::new(
                    name,
                    format!("must be in [0, 100], got {v}"),
                ));
            }
        }
        if self.min_rtt_requests == 0 {
            return Err(FieldError::new("min_rtt_requests", "must be >= 1"));
        }
        if self.min_concurrency == 0 {
            return Err(FieldError::new("min_concurrency", "must be >= 1"));
        }
        if self.max_limit < self.min_concurrency {
            return Err(FieldError::new(
                "max_limit",
                format!(
                    "must be >= min_concurrency ({}), got {}",
                    self.min_concurrency, self.max_limit
                ),
            ));
        }
        Ok(GradientController::new(self.clone()))
    }
}

/// Envoy's gradient controller with its running state.
#[derive(Clone, Debug)]
pub struct GradientController {
    cfg: GradientControllerSpec,
    limit: u32,
    /// The limit to restore after a minRTT window; `Some` while one runs
    /// (Envoy's `deferred_limit_value_ > 0`).
    deferred: Option<u32>,
    outstanding: u32,
    /// Latencies of this window, in whole microseconds as Envoy records them.
    samples: Vec<u64>,
    /// Requests sent before this instant are not sampled (Envoy's
    /// `min_rtt_epoch_`).
    epoch: SimTime,
    min_rtt_us: u64,
    /// Next recalculation of the limit (Envoy's `sample_reset_timer_`).
    sample_timer: Option<SimTime>,
    /// Next minRTT window (`min_rtt_calc_timer_`).
    min_rtt_timer: Option<SimTime>,
    consecutive_min: u32,
    rejected: u64,
    /// The limit over time.
    pub track: LimitTrack,
}

/// `p` percent of `samples` by nearest rank (Envoy reads it from an
/// approximate histogram with two significant digits).
fn percentile(samples: &mut [u64], p: f64) -> u64 {
    samples.sort_unstable();
    let n = samples.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    samples[rank.clamp(1, n) - 1]
}

impl GradientController {
    fn new(cfg: GradientControllerSpec) -> Self {
        let min = cfg.min_concurrency;
        let mut c = GradientController {
            limit: min,
            deferred: None,
            outstanding: 0,
            samples: Vec::new(),
            epoch: SimTime::ZERO,
            min_rtt_us: 0,
            sample_timer: Some(SimTime::ZERO + cfg.update_interval),
            min_rtt_timer: None,
            consecutive_min: 0,
            rejected: 0,
            track: LimitTrack::new(min),
            cfg,
        };
        // The controller starts by measuring minRTT.
        c.enter_min_rtt_window(SimTime::ZERO);
        c
    }

    /// The current limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Requests refused so far.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// The last minRTT measured (0 before the first).
    pub fn min_rtt(&self) -> SimDuration {
        SimDuration::from_micros(self.min_rtt_us)
    }

    /// Whether a minRTT window is running.
    pub fn measuring_min_rtt(&self) -> bool {
        self.deferred.is_some()
    }

    fn set_limit(&mut self, now: SimTime, new: u32) {
        let old = self.limit;
        self.limit = new;
        self.track.set(now, new);
        let min = self.cfg.min_concurrency;
        if !self.measuring_min_rtt() && old == min && new == min {
            self.consecutive_min += 1;
        } else {
            self.consecutive_min = 0;
        }
        // Pinned at the minimum for 5 windows in a row outside a minRTT
        // measurement: minRTT is probably wrong, measure it again now.
        if self.consecutive_min >= 5 {
            self.min_rtt_timer = Some(now);
        }
    }

    fn enter_min_rtt_window(&mut self, now: SimTime) {
        if self.measuring_min_rtt() {
            return;
        }
        self.deferred = Some(self.limit);
        self.set_limit(now, self.cfg.min_concurrency);
        self.samples.clear();
        self.epoch = now;
    }

    fn update_min_rtt(&mut self, now: SimTime, rng: &mut RngStream) {
        if !self.samples.is_empty() {
            self.min_rtt_us = percentile(&mut self.samples, self.cfg.percentile);
            self.samples.clear();
        }
        // Restored while the window still counts as running, as Envoy
        // does (so it does not count towards the five at the minimum).
        let restored = self.deferred.unwrap_or(self.limit);
        self.set_limit(now, restored);
        self.deferred = None;
        self.min_rtt_timer = Some(now + self.jittered(rng));
        self.sample_timer = Some(now + self.cfg.update_interval);
    }

    /// `applyJitter`: the interval plus `random() % ceil(interval_ms *
    /// jitter)` milliseconds.
    fn jittered(&self, rng: &mut RngStream) -> SimDuration {
        let interval_ms = self.cfg.min_rtt_interval.as_nanos() / 1_000_000;
        let base = SimDuration::from_millis(interval_ms);
        let pct = self.cfg.jitter_percent / 100.0;
        if pct == 0.0 {
            return base;
        }
        let range = ((interval_ms as f64 * pct).ceil() as u64).max(1);
        base + SimDuration::from_millis(rng.index(range as usize) as u64)
    }

    /// `calculateNewLimit`.
    fn new_limit(&self, sample_rtt_us: u64) -> u32 {
        let min_rtt = self.min_rtt_us as f64;
        let buffered = min_rtt + min_rtt * self.cfg.buffer_percent / 100.0;
        let raw = if sample_rtt_us == 0 {
            f64::INFINITY
        } else {
            buffered / sample_rtt_us as f64
        };
        let gradient = raw.clamp(0.5, 2.0);
        let limit = f64::from(self.limit) * gradient;
        let headroom = limit.sqrt();
        let new = (limit + headroom) as u32;
        new.min(self.cfg.max_limit).max(self.cfg.min_concurrency)
    }

    /// The sample timer fired at `at`.
    fn on_sample_timer(&mut self, at: SimTime) {
        if self.measuring_min_rtt() {
            // Given up on; the end of the minRTT window re-arms it.
            self.sample_timer = None;
            return;
        }
        if !self.samples.is_empty() {
            let sample_rtt = percentile(&mut self.samples, self.cfg.percentile);
            self.samples.clear();
            let new = self.new_limit(sample_rtt);
            self.set_limit(at, new);
        }
        self.sample_timer = Some(at + self.cfg.update_interval);
    }

    /// Fires the timers due by `now`, in time order (the limit update first
    /// when both are due at one instant).
    pub fn advance(&mut self, now: SimTime) {
        loop {
            let sample = self.sample_timer.filter(|&t| t <= now);
            let min_rtt = self.min_rtt_timer.filter(|&t| t <= now);
            match (sample, min_rtt) {
                (Some(s), m) if m.is_none_or(|m| s <= m) => self.on_sample_timer(s),
                (_, Some(m)) => {
                    self.min_rtt_timer = None;
                    self.enter_min_rtt_window(m);
                }
                _ => break,
            }
        }
    }

    /// A request arrives: forward it (counted outstanding) or refuse it.
    pub fn forward(&mut self, now: SimTime) -> bool {
        self.advance(now);
        if self.outstanding < self.limit {
            self.outstanding += 1;
            true
        } else {
            self.rejected += 1;
            false
        }
    }

    /// A forwarded request sent at `sent` was answered at `now`
    /// (`recordLatencySample`).
    pub fn record(&mut self, now: SimTime, sent: SimTime, rng: &mut RngStream) {
        self.advance(now);
        self.outstanding -= 1;
        if sent < self.epoch {
            return;
        }
        self.samples.push(now.since(sent).as_nanos() / 1000);
        if self.measuring_min_rtt() && self.samples.len() >= self.cfg.min_rtt_requests as usize {
            self.update_min_rtt(now, rng);
        }
    }

    /// A forwarded request ended without an answer (`cancelLatencySample`).
    pub fn cancel(&mut self, now: SimTime) {
        self.advance(now);
        self.outstanding -= 1;
    }
}

fn one_second() -> SimDuration {
    SimDuration::from_secs(1)
}
fn two_thousand() -> u32 {
    2000
}
fn twenty_ms() -> SimDuration {
    SimDuration::from_millis(20)
}
fn five_percent() -> f64 {
    0.05
}
fn one_percent() -> f64 {
    0.01
}

/// Business priorities a request may carry: 0 (most important) to 63.
pub const BUSINESS_LEVELS: usize = 64;
/// User priorities: each request draws one uniformly in 0..128, as DAGOR
/// hashes a user id into 128 levels; a request's retries, hedges and
/// downstream calls keep it.
pub const USER_LEVELS: usize = 128;

/// A request's priority: lower numbers are more important.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Priority {
    /// The client group's `priority` (0..64).
    pub business: u8,
    /// Drawn per request (0..128).
    pub user: u8,
}

impl Priority {
    /// The compound admission level (business first, then user).
    pub fn level(self) -> usize {
        usize::from(self.business) * USER_LEVELS + usize::from(self.user)
    }
}

/// DAGOR's overload detection and priority admission as written in a
/// service's spec; defaults are the paper's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DagorSpec {
    /// A window lasts this long... (default 1 s)
    #[serde(default = "one_second")]
    pub window: SimDuration,
    /// ...or this many arrivals, whichever comes first (default 2000).
    #[serde(default = "two_thousand")]
    pub window_requests: u32,
    /// Overloaded: the mean queueing time of the jobs that started work in
    /// the window is above this (default 20 ms).
    #[serde(default = "twenty_ms")]
    pub queuing_threshold: SimDuration,
    /// After an overloaded window, admit this fraction fewer (default 0.05).
    #[serde(default = "five_percent")]
    pub alpha: f64,
    /// After a healthy window, admit this fraction more (default 0.01).
    #[serde(default = "one_percent")]
    pub beta: f64,
}

impl DagorSpec {
    /// The checked controller, admitting everything.
    pub fn validate(&self) -> Result<Dagor, FieldError> {
        if self.window.is_zero() {
            return Err(FieldError::new("window", "must be > 0"));
        }
        if self.window_requests == 0 {
            return Err(FieldError::new("window_requests", "must be >= 1"));
        }
        for (name, v) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(v > 0.0 && v < 1.0) {
                return Err(FieldError::new(name, format!("must be in (0, 1), got {v}")));
            }
        }
        let top = (BUSINESS_LEVELS * USER_LEVELS - 1) as u32;
        Ok(Dagor {
            cfg: self.clone(),
            level: top,
            counts: vec![0; BUSINESS_LEVELS * USER_LEVELS],
            window_end: SimTime::ZERO + self.window,
            arrivals: 0,
            wait_sum_ns: 0,
            started: 0,
            rejected: 0,
            windows: 0,
            overloaded_windows: 0,
            track: LimitTrack::new(top),
        })
    }
}

/// DAGOR's admission control with its running state.
#[derive(Clone, Debug)]
pub struct Dagor {
    cfg: DagorSpec,
    /// Requests whose level is at most this are admitted.
    level: u32,
    /// Arrivals of this window per level, admitted or not.
    counts: Vec<u64>,
    window_end: SimTime,
    arrivals: u32,
    wait_sum_ns: u128,
    started: u64,
    rejected: u64,
    windows: u64,
    overloaded_windows: u64,
    /// The admission level over time.
    pub track: LimitTrack,
}

impl Dagor {
    /// The current admission level.
    pub fn level(&self) -> u32 {
        self.level
    }

    /// Requests refused so far.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Windows closed, and those found overloaded.
    pub fn windows(&self) -> (u64, u64) {
        (self.windows, self.overloaded_windows)
    }

    /// Ends the window at `at`: detects overload and moves the level.
    fn close_window(&mut self, at: SimTime) {
        self.windows += 1;
        let overloaded = self.started > 0
            && self.wait_sum_ns / u128::from(self.started)
                > u128::from(self.cfg.queuing_threshold.as_nanos());
        let level = self.level as usize;
        let admitted: u64 = self.counts[..=level].iter().sum();
        let top = self.counts.len() - 1;
        let new = if overloaded {
            self.overloaded_windows += 1;
            // The highest level below this one that admits at most
            // (1 - alpha) of what was admitted; the top priority stays in.
            let target = (1.0 - self.cfg.alpha) * admitted as f64;
            let mut sum = admitted;
            let mut l = level;
            while l > 0 && sum as f64 > target {
                sum -= self.counts[l];
                l -= 1;
            }
            l
        } else if level < top {
            // The lowest level above this one that admits at least
            // (1 + beta) of what was admitted; all when none does.
            let target = (1.0 + self.cfg.beta) * admitted as f64;
            let mut sum = admitted;
            let mut l = level;
            loop {
                l += 1;
                sum += self.counts[l];
                if sum as f64 >= target || l == top {
                    break l;
                }
            }
        } else {
            level
        };
        self.level = new as u32;
        self.track.set(at, self.level);
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.arrivals = 0;
        self.wait_sum_ns = 0;
        self.started = 0;
        self.window_end = at + self.cfg.window;
    }

    /// Closes the windows that ended by `now`.
    fn advance(&mut self, now: SimTime) {
        // Each empty window raises the level by a step; after enough of
        // them everything is admitted, and more change nothing.
        let mut closed = 0;
        while self.window_end <= now {
            if closed > BUSINESS_LEVELS * USER_LEVELS {
                let skip = now.since(self.window_end).as_nanos() / self.cfg.window.as_nanos();
                self.window_end += SimDuration::from_nanos(skip * self.cfg.window.as_nanos());
            }
            let at = self.window_end;
            self.close_window(at);
            closed += 1;
        }
    }

    /// A request of priority `p` arrives: admitted or not.
    pub fn admit(&mut self, now: SimTime, p: Priority) -> bool {
        self.advance(now);
        let l = p.level();
        self.counts[l] += 1;
        self.arrivals += 1;
        let admitted = l <= self.level as usize;
        if !admitted {
            self.rejected += 1;
        }
        if self.arrivals >= self.cfg.window_requests {
            self.close_window(now);
        }
        admitted
    }

    /// An admitted job started work after waiting `wait`.
    pub fn started(&mut self, now: SimTime, wait: SimDuration) {
        self.advance(now);
        self.wait_sum_ns += u128::from(wait.as_nanos());
        self.started += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }
    fn at(n_ms: u64) -> SimTime {
        SimTime::ZERO + ms(n_ms)
    }

    fn envoy(spec: &str) -> GradientController {
        let spec: GradientControllerSpec = ron::from_str(spec).unwrap();
        spec.validate().unwrap()
    }

    #[test]
    fn percentile_is_the_nearest_rank() {
        assert_eq!(percentile(&mut [5, 1, 3, 2, 4], 50.0), 3);
        assert_eq!(percentile(&mut [1, 2, 3, 4], 50.0), 2);
        assert_eq!(percentile(&mut [1, 2, 3, 4], 100.0), 4);
        assert_eq!(percentile(&mut [7], 1.0), 7);
    }

    /// Envoy's timeline by hand: minRTT measured at min_concurrency, the
    /// deferred limit restored, then gradient updates each interval.
    #[test]
    fn envoy_measures_min_rtt_then_follows_the_gradient() {
        let mut rng = sim_core::Seeds::new(1).stream("t");
        let mut c = envoy("(min_rtt_requests: 3, jitter_percent: 0)");
        assert!(c.measuring_min_rtt());
        assert_eq!(c.limit(), 3);
        // Three forwarded, the fourth refused.
        for _ in 0..3 {
            assert!(c.forward(at(0)));
        }
        assert!(!c.forward(at(0)));
        // Answers after 10, 12 and 20 ms: minRTT = median = 12 ms; the
        // deferred limit (3, the initial one) comes back.
        c.record(at(10), at(0), &mut rng);
        c.record(at(12), at(0), &mut rng);
        // The update timer due at 100 ms has not fired yet.
        c.record(at(20), at(0), &mut rng);
        assert!(!c.measuring_min_rtt());
        assert_eq!(c.min_rtt(), ms(12));
        assert_eq!(c.limit(), 3);
        // The update timer was re-armed at 20 + 100 ms. Samples of 10 ms:
        // gradient = min(2, 15 / 10) = 1.5; 3 * 1.5 = 4.5; + sqrt(4.5) =
        // 6.62, truncated to 6.
        for _ in 0..3 {
            assert!(c.forward(at(50)));
            c.record(at(60), at(50), &mut rng);
        }
        c.advance(at(119));
        assert_eq!(c.limit(), 3, "not yet");
        c.advance(at(120));
        assert_eq!(c.limit(), 6);
        // Next window: a sample of 60 ms: gradient = max(0.5, 15 / 60) = 0.5;
        // 6 * 0.5 = 3; + sqrt(3) = 4.73 -> 4.
        assert!(c.forward(at(150)));
        c.record(at(210), at(150), &mut rng);
        c.advance(at(220));
        assert_eq!(c.limit(), 4);
        // An empty window changes nothing.
        c.advance(at(320));
        assert_eq!(c.limit(), 4);
        // After the minRTT interval (60 s from 20 ms, no jitter) the limit
        // is pinned to 3 again and 4 is deferred.
        c.advance(at(60_019));
        assert!(!c.measuring_min_rtt());
        c.advance(at(60_020));
        assert!(c.measuring_min_rtt());
        assert_eq!(c.limit(), 3);
        // A request sent before the window is no sample.
        assert!(c.forward(at(60_020)));
        c.record(at(60_030), at(60_019), &mut rng);
        for _ in 0..3 {
            assert!(c.forward(at(60_030)));
        }
        for _ in 0..3 {
            c.record(at(60_038), at(60_030), &mut rng);
        }
        assert_eq!(c.min_rtt(), ms(8));
        assert_eq!(c.limit(), 4);
    }

    #[test]
    fn envoy_remeasures_after_five_windows_at_the_minimum() {
        let mut rng = sim_core::Seeds::new(1).stream("t");
        let mut c = envoy("(min_rtt_requests: 1, jitter_percent: 0)");
        assert!(c.forward(at(0)));
        c.record(at(10), at(0), &mut rng);
        assert_eq!(c.min_rtt(), ms(10));
        // Slow samples every window: gradient 0.5; 3 * 0.5 = 1.5 + 1.22 =
        // 2.72 -> 2, raised to the minimum 3: five times in a row.
        for k in 0..5 {
            let t = 10 + 100 * k;
            assert!(c.forward(at(t + 1)));
            c.record(at(t + 99), at(t + 1), &mut rng);
            c.advance(at(t + 100));
            assert_eq!(c.limit(), 3);
            assert_eq!(c.measuring_min_rtt(), k == 4, "window {k}");
        }
    }

    #[test]
    fn envoy_jitter_adds_up_to_the_percentage() {
        let mut rng = sim_core::Seeds::new(9).stream("t");
        let c = envoy("(min_rtt_interval: \"10s\")");
        for _ in 0..200 {
            let d = c.jittered(&mut rng);
            assert!(d >= SimDuration::from_secs(10) && d < SimDuration::from_millis(11_500));
        }
    }

    fn dagor() -> Dagor {
        let spec: DagorSpec = ron::from_str("(window_requests: 10)").unwrap();
        spec.validate().unwrap()
    }

    fn p(business: u8, user: u8) -> Priority {
        Priority { business, user }
    }

    /// An overloaded window moves the level down to admit 5% fewer; healthy
    /// windows open it again by 1% at a time.
    #[test]
    fn dagor_sheds_the_lowest_priorities_first() {
        let mut d = dagor();
        let top = (BUSINESS_LEVELS * USER_LEVELS - 1) as u32;
        assert_eq!(d.level(), top);
        // Ten arrivals, two each at business 0, users 0..5 (levels 0..4),
        // all admitted; each that starts waited 30 ms > 20 ms.
        for i in 0..10 {
            assert!(d.admit(at(1), p(0, i / 2)));
            if i < 9 {
                d.started(at(1), ms(30));
            }
        }
        // The tenth arrival closed the window (before its start was seen):
        // mean wait 30 ms, overloaded; 95% of 10 = 9.5: drop level 4 (8 left).
        assert_eq!(d.windows(), (1, 1));
        assert_eq!(d.level(), 3);
        // Next window: arrivals at levels 0..4 again, no waiting: healthy.
        // Admitted (levels 0..3) = 8; 1% more = 8.08: level 4 adds 2 -> 10.
        for i in 0..10 {
            let admitted = d.admit(at(2), p(0, i / 2));
            assert_eq!(admitted, i / 2 <= 3);
            if admitted {
                d.started(at(2), SimDuration::ZERO);
            }
        }
        assert_eq!(d.windows(), (2, 1));
        assert_eq!(d.level(), 4);
        // A business priority of 1 ranks after every user of business 0.
        assert_eq!(p(1, 0).level(), USER_LEVELS);
        assert!(!d.admit(at(3), p(1, 0)));
    }

    #[test]
    fn dagor_windows_end_by_time_and_keep_the_top_priority() {
        let mut d = dagor();
        // Overloaded windows of one arrival at level 0 each: the level falls
        // to 0 and stays there, the top priority still admitted.
        d.admit(at(0), p(0, 0));
        d.started(at(0), ms(100));
        d.advance(at(1000));
        assert_eq!(d.level(), 0);
        assert!(d.admit(at(1001), p(0, 0)));
        assert!(!d.admit(at(1001), p(0, 1)));
        // Healthy windows (no arrivals) open one level each.
        d.started(at(1001), SimDuration::ZERO);
        d.advance(at(4000));
        assert_eq!(d.windows().0, 4);
        assert_eq!(d.level(), 3);
        // A long quiet spell admits everything, in bounded work.
        d.advance(SimTime::ZERO + SimDuration::from_secs(1_000_000));
        assert_eq!(d.level(), (BUSINESS_LEVELS * USER_LEVELS - 1) as u32);
    }

    #[test]
    fn impossible_settings_are_refused_by_name() {
        let envoy_err = |s: &str| {
            let spec: GradientControllerSpec = ron::from_str(s).unwrap();
            spec.validate().unwrap_err().path
        };
        assert_eq!(envoy_err("(update_interval: \"0s\")"), "update_interval");
        assert_eq!(envoy_err("(percentile: 0)"), "percentile");
        assert_eq!(envoy_err("(buffer_percent: 150)"), "buffer_percent");
        assert_eq!(envoy_err("(min_concurrency: 0)"), "min_concurrency");
        assert_eq!(envoy_err("(max_limit: 2)"), "max_limit");
        let dagor_err = |s: &str| {
            let spec: DagorSpec = ron::from_str(s).unwrap();
            spec.validate().unwrap_err().path
        };
        assert_eq!(dagor_err("(alpha: 1.5)"), "alpha");
        assert_eq!(dagor_err("(window_requests: 0)"), "window_requests");
    }
}
