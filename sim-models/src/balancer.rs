//! Traffic across a service's replicas, as each caller sees it: which
//! replica an attempt goes to ([`Balancer`]) and which replicas the caller
//! has stopped using for a while ([`OutlierDetector`], Envoy's outlier
//! ejection). Both are state machines that take `now` and answer, tested
//! against their definitions here; the world keeps one per caller (a client
//! group's instance, a service's downstream call), since real clients each
//! have their own counts and their own view of who is healthy.
//!
//! Replicas are numbered within their service (0, 1, ...). A caller sees
//! each replica as in service or not (a replica still provisioning or
//! draining takes no new traffic), and, with outlier ejection, as ejected
//! or not.

use serde::{Deserialize, Serialize};
use sim_core::{FieldError, RngStream, SimDuration, SimTime};

/// How a caller picks the replica of each attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoadBalancerSpec {
    /// In turn, skipping replicas out of service or ejected (the default).
    #[default]
    RoundRobin,
    /// Uniformly at random.
    Random,
    /// The replica with the fewest attempts of this caller outstanding;
    /// ties go to the first after the last pick, in replica order.
    LeastOutstanding,
    /// Power of two choices: two replicas drawn independently at random
    /// (the same one may come twice), the one with fewer outstanding
    /// attempts (the first drawn on a tie), as Envoy's least-request
    /// balancer with its default choice count of 2 and the supermarket
    /// model draw them.
    P2C,
    /// Smooth weighted round robin (nginx's): one weight per replica slot,
    /// each replica getting its share of attempts, evenly spread.
    Weighted(Vec<u32>),
}

/// The largest weight of a weighted balancer (weights are added up in 64
/// bits per pick; this keeps any sum of up to a thousand far from overflow).
pub const MAX_WEIGHT: u32 = 1_000_000;

fn five() -> u32 {
    5
}
fn ten() -> u32 {
    10
}
fn ten_s() -> SimDuration {
    SimDuration::from_secs(10)
}
fn thirty_s() -> SimDuration {
    SimDuration::from_secs(30)
}
fn three_hundred_s() -> SimDuration {
    SimDuration::from_secs(300)
}
fn eighty_five() -> u32 {
    85
}
fn fifty() -> u32 {
    50
}

/// Envoy's outlier detection as written in a caller's spec; names and
/// defaults are Envoy's (`consecutive_5xx` is `consecutive_errors` here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierEjectionSpec {
    /// Consecutive server errors (5xx: `Unavailable` and `Internal`
    /// errors, refusals by the service, timeouts) that eject a replica at
    /// once (default 5). Any other answer resets the count.
    #[serde(default = "five")]
    pub consecutive_errors: u32,
    /// Time between ejection sweeps: ejected replicas come back, and the
    /// failure percentage is checked (default 10 s).
    #[serde(default = "ten_s")]
    pub interval: SimDuration,
    /// A replica is ejected for this times the number of times it was
    /// ejected (default 30 s); the count drops by one at each sweep it
    /// spends in service.
    #[serde(default = "thirty_s")]
    pub base_ejection_time: SimDuration,
    /// The longest ejection (default 300 s).
    #[serde(default = "three_hundred_s")]
    pub max_ejection_time: SimDuration,
    /// At most this percent of the replicas ejected at once, the new one
    /// included (default 10: with fewer than 10 replicas, none is ejected
    /// unless `always_eject_one_host`, as in Envoy since 1.27).
    #[serde(default = "ten")]
    pub max_ejection_percent: u32,
    /// Eject one replica even when the percent forbids it (default false).
    #[serde(default)]
    pub always_eject_one_host: bool,
    /// Eject, at each sweep, replicas whose failure percentage over the
    /// interval reached a threshold (default off, as Envoy's
    /// `enforcing_failure_percentage: 0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_percentage: Option<FailurePercentageSpec>,
}

/// Failure-percentage ejection (Envoy's `failure_percentage_*`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailurePercentageSpec {
    /// Failure percent at or above which a replica is ejected (default 85).
    #[serde(default = "eighty_five")]
    pub threshold: u32,
    /// Replicas with enough requests needed for the check (default 5).
    #[serde(default = "five")]
    pub minimum_hosts: u32,
    /// Requests in the interval for a replica to count (default 50).
    #[serde(default = "fifty")]
    pub request_volume: u32,
}

impl OutlierEjectionSpec {
    /// The checked configuration (errors name the field).
    pub fn validate(&self) -> Result<OutlierEjection, FieldError> {
        if self.consecutive_errors == 0 {
            return Err(FieldError::new(
                "consecutive_errors",
                "must be >= 1 (leave outlier_ejection out to never eject)",
            ));
        }
        for (field, d) in [
            ("interval", self.interval),
            ("base_ejection_time", self.base_ejection_time),
        ] {
            if d.is_zero() {
                return Err(FieldError::new(field, "must be > 0"));
            }
        }
        if self.max_ejection_time < self.base_ejection_time {
            return Err(FieldError::new(
                "max_ejection_time",
                format!(
                    "must be >= base_ejection_time ({}), got {}",
                    self.base_ejection_time, self.max_ejection_time
                ),
            ));
        }
        if self.max_ejection_percent > 100 {
            return Err(FieldError::new(
                "max_ejection_percent",
                format!("must be 0 to 100, got {}", self.max_ejection_percent),
            ));
        }
        if let Some(f) = &self.failure_percentage
            && f.threshold > 100
        {
            return Err(FieldError::new(
                "failure_percentage.threshold",
                format!("must be 0 to 100, got {}", f.threshold),
            ));
        }
        Ok(OutlierEjection { spec: self.clone() })
    }
}

/// A validated outlier ejection configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct OutlierEjection {
    spec: OutlierEjectionSpec,
}

impl OutlierEjection {
    /// The configuration.
    pub fn spec(&self) -> &OutlierEjectionSpec {
        &self.spec
    }
}

/// What a caller knows of one replica.
#[derive(Clone, Debug, Default)]
struct Host {
    /// Server errors in a row.
    consecutive: u32,
    /// When it was ejected, while it is.
    ejected_at: Option<SimTime>,
    /// Envoy's ejection time multiplier.
    backoff: u32,
    /// Answers and failures since the last sweep.
    interval_total: u32,
    interval_failed: u32,
    /// Time ejected before the current ejection.
    ejected_ns: u64,
    ejections: u64,
}

/// Envoy's outlier detector, for one caller.
#[derive(Clone, Debug)]
pub struct OutlierDetector {
    cfg: OutlierEjectionSpec,
    hosts: Vec<Host>,
    ejected: usize,
    ejections: u64,
    /// Ejections refused by `max_ejection_percent`.
    overflow: u64,
    /// A sweep event is pending.
    pub(crate) sweep_pending: bool,
}

/// What an ejection answer changed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ejection {
    /// The replica was ejected.
    Ejected,
    /// It would have been, but too many are ejected already.
    Overflow,
}

impl OutlierDetector {
    /// A detector for `replicas` replica slots, none ejected.
    pub fn new(cfg: &OutlierEjection, replicas: usize) -> Self {
        OutlierDetector {
            cfg: cfg.spec.clone(),
            hosts: vec![Host::default(); replicas],
            ejected: 0,
            ejections: 0,
            overflow: 0,
            sweep_pending: false,
        }
    }

    /// Whether replica `r` is ejected now.
    #[inline]
    pub fn is_ejected(&self, r: usize) -> bool {
        self.hosts[r].ejected_at.is_some()
    }

    /// Replicas ejected now.
    pub fn ejected(&self) -> usize {
        self.ejected
    }

    /// Ejections so far, and those refused by the percent.
    pub fn ejections(&self) -> (u64, u64) {
        (self.ejections, self.overflow)
    }

    /// Replica `r`'s ejections and the time it spent ejected up to `end`.
    pub fn host_ejected(&self, r: usize, end: SimTime) -> (u64, SimDuration) {
        let h = &self.hosts[r];
        let current = h.ejected_at.map_or(0, |t| end.since(t).as_nanos());
        (h.ejections, SimDuration::from_nanos(h.ejected_ns + current))
    }

    /// The sweep grid: sweeps fall at whole multiples of the interval from
    /// time 0, as Envoy's interval timer does from the cluster's start. The
    /// next one strictly after `now`.
    pub fn next_sweep(&self, now: SimTime) -> SimTime {
        now.next_multiple_of(self.cfg.interval)
    }

    /// Tries to eject `r` (Envoy's `ejectHost`): allowed while the ejected
    /// share, the new one included, stays within the percent, or for the
    /// first with `always_eject_one_host`. `hosts`: replicas in the set.
    fn eject(&mut self, now: SimTime, r: usize, hosts: usize) -> Ejection {
        let share = 100.0 * (self.ejected + 1) as f64 / hosts.max(1) as f64;
        let allowed = share <= f64::from(self.cfg.max_ejection_percent)
            || (self.cfg.always_eject_one_host && self.ejected == 0);
        if !allowed {
            self.overflow += 1;
            return Ejection::Overflow;
        }
        let base = self.cfg.base_ejection_time.as_nanos();
        let max = self.cfg.max_ejection_time.as_nanos();
        let h = &mut self.hosts[r];
        h.ejected_at = Some(now);
        h.ejections += 1;
        if u64::from(h.backoff).saturating_mul(base) < max.saturating_add(base) {
            h.backoff += 1;
        }
        self.ejected += 1;
        self.ejections += 1;
        Ejection::Ejected
    }

    /// An answer from replica `r`: `failed` for a server error (5xx). A
    /// run of `consecutive_errors` ejects it at once. `hosts`: replicas in
    /// the set now.
    pub fn record(
        &mut self,
        now: SimTime,
        r: usize,
        failed: bool,
        hosts: usize,
    ) -> Option<Ejection> {
        let h = &mut self.hosts[r];
        h.interval_total = h.interval_total.saturating_add(1);
        if !failed {
            h.consecutive = 0;
            return None;
        }
        h.interval_failed = h.interval_failed.saturating_add(1);
        h.consecutive = h.consecutive.saturating_add(1);
        if h.consecutive != self.cfg.consecutive_errors || h.ejected_at.is_some() {
            return None;
        }
        let e = self.eject(now, r, hosts);
        self.hosts[r].consecutive = 0;
        Some(e)
    }

    /// A sweep (Envoy's interval timer): ejected replicas whose time is up
    /// come back (their error count reset), the others' multipliers drop
    /// by one; then, with failure-percentage ejection, replicas with enough
    /// requests and too many failures in the interval are ejected. Returns
    /// whether another sweep can change anything (otherwise the caller
    /// schedules none until the next answer).
    pub fn sweep(&mut self, now: SimTime, hosts: usize) -> bool {
        let base = self.cfg.base_ejection_time.as_nanos();
        let max = self.cfg.max_ejection_time.as_nanos();
        for h in &mut self.hosts {
            match h.ejected_at {
                None => h.backoff = h.backoff.saturating_sub(1),
                Some(at) => {
                    let time = (u64::from(h.backoff).saturating_mul(base)).min(max);
                    if now.since(at).as_nanos() >= time {
                        h.ejected_ns += now.since(at).as_nanos();
                        h.ejected_at = None;
                        h.consecutive = 0;
                        self.ejected -= 1;
                    }
                }
            }
        }
        let mut traffic = false;
        if let Some(fp) = self.cfg.failure_percentage.clone() {
            let valid: Vec<usize> = (0..self.hosts.len())
                .filter(|&r| {
                    let h = &self.hosts[r];
                    h.ejected_at.is_none() && h.interval_total >= fp.request_volume.max(1)
                })
                .collect();
            if valid.len() >= fp.minimum_hosts as usize {
                for r in valid {
                    let h = &self.hosts[r];
                    let failed = 100.0 * f64::from(h.interval_failed) / f64::from(h.interval_total);
                    if failed >= f64::from(fp.threshold) {
                        self.eject(now, r, hosts);
                    }
                }
            }
        }
        for h in &mut self.hosts {
            traffic |= h.interval_total > 0;
            h.interval_total = 0;
            h.interval_failed = 0;
        }
        self.ejected > 0
            || self.hosts.iter().any(|h| h.backoff > 0)
            || (traffic && self.cfg.failure_percentage.is_some())
    }
}

/// Which replicas of a service may take new attempts, as the world knows
/// it (shared by all its callers).
pub trait ReplicaSet {
    /// Replica slots.
    fn slots(&self) -> usize;
    /// Replicas in service now.
    fn in_service(&self) -> usize;
    /// Whether replica `r` is in service.
    fn is_in_service(&self, r: usize) -> bool;
}

/// One caller's load balancer over one service's replicas.
#[derive(Clone, Debug)]
pub struct Balancer {
    policy: LoadBalancerSpec,
    /// Attempts of this caller outstanding at each replica.
    outstanding: Vec<u32>,
    /// The last replica picked (round robin, tie breaks).
    cursor: usize,
    /// Smooth weighted round robin's running weights.
    current: Vec<i64>,
    rng: RngStream,
    /// The candidates of a pick when not every replica is one.
    scratch: Vec<u32>,
    /// Outlier ejection, if configured.
    pub outlier: Option<OutlierDetector>,
    /// Picks made with more than half the replicas in service ejected,
    /// across all of them (Envoy's panic threshold, 50%).
    pub panic_picks: u64,
}

impl Balancer {
    /// A balancer over `slots` replica slots, drawing from `rng`.
    pub fn new(
        policy: LoadBalancerSpec,
        slots: usize,
        rng: RngStream,
        outlier: Option<&OutlierEjection>,
    ) -> Self {
        Balancer {
            policy,
            outstanding: vec![0; slots],
            // The first round-robin pick is replica 0.
            cursor: slots - 1,
            current: vec![0; slots],
            rng,
            scratch: Vec::new(),
            outlier: outlier.map(|o| OutlierDetector::new(o, slots)),
            panic_picks: 0,
        }
    }

    /// Attempts of this caller outstanding at replica `r`.
    pub fn outstanding(&self, r: usize) -> u32 {
        self.outstanding[r]
    }

    /// An attempt to `r` is answered or abandoned.
    pub fn done(&mut self, r: usize) {
        self.outstanding[r] = self.outstanding[r].saturating_sub(1);
    }

    /// Forks the balancer's stream (see `World::fork`).
    pub fn fork(&mut self, branch: u64) {
        self.rng.fork(branch);
    }

    /// Picks the replica of the next attempt, not `avoid` if another can
    /// take it, and counts it outstanding.
    pub fn pick(&mut self, set: &impl ReplicaSet, avoid: Option<usize>) -> usize {
        let n = set.slots();
        let ejected = self.outlier.as_ref().map_or(0, OutlierDetector::ejected);
        let all = set.in_service() == n && ejected == 0 && avoid.is_none();
        let r = if all {
            self.choose(None)
        } else {
            // Envoy's panic threshold: below half healthy, ignore health.
            let live = set.in_service();
            let panic = ejected > 0 && 2 * live.saturating_sub(ejected) < live;
            if panic {
                self.panic_picks += 1;
            }
            let outlier = if panic { None } else { self.outlier.as_ref() };
            let fill = |scratch: &mut Vec<u32>, avoid: Option<usize>| {
                scratch.clear();
                scratch.extend(
                    (0..n)
                        .filter(|&r| {
                            set.is_in_service(r)
                                && outlier.is_none_or(|o| !o.is_ejected(r))
                                && Some(r) != avoid
                        })
                        .map(|r| r as u32),
                );
            };
            let mut scratch = std::mem::take(&mut self.scratch);
            fill(&mut scratch, avoid);
            if scratch.is_empty() && avoid.is_some() {
                fill(&mut scratch, None);
            }
            if scratch.is_empty() {
                // Nothing in service (cannot happen with at least one
                // replica kept): the first slot.
                scratch.push(0);
            }
            let r = self.choose(Some(&scratch));
            self.scratch = scratch;
            r
        };
        self.outstanding[r] += 1;
        self.cursor = r;
        r
    }

    /// The policy's choice among `cands` (every replica when `None`).
    fn choose(&mut self, cands: Option<&[u32]>) -> usize {
        let n = self.outstanding.len();
        let len = cands.map_or(n, <[u32]>::len);
        let get = |i: usize| cands.map_or(i, |c| c[i] as usize);
        match &self.policy {
            LoadBalancerSpec::RoundRobin => {
                // The first candidate after the last pick, cyclically.
                let after = (0..len).find(|&i| get(i) > self.cursor).unwrap_or(0);
                get(after)
            }
            LoadBalancerSpec::Random => get(self.rng.index(len)),
            LoadBalancerSpec::P2C => {
                // Two independent draws, as Envoy's least-request balancer
                // and Mitzenmacher's model make them (the same replica may
                // come twice).
                let a = get(self.rng.index(len));
                let b = get(self.rng.index(len));
                if self.outstanding[b] < self.outstanding[a] {
                    b
                } else {
                    a
                }
            }
            LoadBalancerSpec::LeastOutstanding => {
                let start = (0..len).find(|&i| get(i) > self.cursor).unwrap_or(0);
                let mut best = get(start);
                for k in 1..len {
                    let r = get((start + k) % len);
                    if self.outstanding[r] < self.outstanding[best] {
                        best = r;
                    }
                }
                best
            }
            LoadBalancerSpec::Weighted(weights) => {
                // nginx's smooth weighted round robin over the candidates.
                let mut total = 0i64;
                let mut best: Option<usize> = None;
                for i in 0..len {
                    let r = get(i);
                    let w = i64::from(weights[r]);
                    total += w;
                    self.current[r] += w;
                    if best.is_none_or(|b| self.current[r] > self.current[b]) {
                        best = Some(r);
                    }
                }
                let b = best.unwrap_or(0);
                self.current[b] -= total;
                b
            }
        }
    }
}

/// Checks a balancer against its service's replica slots.
pub fn validate_balancer(spec: &LoadBalancerSpec, slots: usize) -> Result<(), FieldError> {
    if let LoadBalancerSpec::Weighted(w) = spec {
        if w.len() != slots {
            return Err(FieldError::new(
                "Weighted",
                format!(
                    "needs one weight per replica slot ({slots}), got {}",
                    w.len()
                ),
            ));
        }
        if let Some(&big) = w.iter().find(|&&x| x > MAX_WEIGHT) {
            return Err(FieldError::new(
                "Weighted",
                format!("weights must be at most {MAX_WEIGHT}, got {big}"),
            ));
        }
        if w.iter().all(|&x| x == 0) {
            return Err(FieldError::new("Weighted", "needs a weight above 0"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Set(Vec<bool>);
    impl ReplicaSet for Set {
        fn slots(&self) -> usize {
            self.0.len()
        }
        fn in_service(&self) -> usize {
            self.0.iter().filter(|&&x| x).count()
        }
        fn is_in_service(&self, r: usize) -> bool {
            self.0[r]
        }
    }

    fn balancer(policy: LoadBalancerSpec, n: usize) -> Balancer {
        Balancer::new(policy, n, sim_core::Seeds::new(1).stream("lb"), None)
    }

    fn secs(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    #[test]
    fn round_robin_takes_turns_and_skips_replicas_out_of_service() {
        let mut b = balancer(LoadBalancerSpec::RoundRobin, 3);
        let all = Set(vec![true; 3]);
        let picks: Vec<usize> = (0..5).map(|_| b.pick(&all, None)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1]);
        let two = Set(vec![true, false, true]);
        let picks: Vec<usize> = (0..3).map(|_| b.pick(&two, None)).collect();
        assert_eq!(picks, [2, 0, 2]);
        // A retry avoiding the replica that just failed.
        assert_eq!(b.pick(&all, Some(0)), 1);
        assert_eq!(b.pick(&all, Some(2)), 0);
        assert_eq!(b.outstanding(0), 4);
    }

    #[test]
    fn least_outstanding_and_p2c_prefer_idle_replicas() {
        let all = Set(vec![true; 4]);
        let mut b = balancer(LoadBalancerSpec::LeastOutstanding, 4);
        let picks: Vec<usize> = (0..4).map(|_| b.pick(&all, None)).collect();
        assert_eq!(picks, [0, 1, 2, 3], "ties in turn");
        b.done(2);
        assert_eq!(b.pick(&all, None), 2, "the only one with fewer");
        // P2C never prefers the busier of two: a replica far busier than
        // the others gets a pick only when both draws land on it, 1 in 16
        // with 4 replicas.
        let mut p = balancer(LoadBalancerSpec::P2C, 4);
        for _ in 0..10 {
            p.outstanding[3] += 1;
        }
        let mut busiest = 0;
        for _ in 0..16_000 {
            let r = p.pick(&all, None);
            busiest += u32::from(r == 3);
            p.done(r);
        }
        assert!((850..1150).contains(&busiest), "{busiest} of 16000");
    }

    #[test]
    fn weighted_spreads_in_proportion_and_evenly() {
        let all = Set(vec![true; 3]);
        let mut b = balancer(LoadBalancerSpec::Weighted(vec![5, 1, 1]), 3);
        let picks: Vec<usize> = (0..7).map(|_| b.pick(&all, None)).collect();
        // nginx's published sequence for weights 5, 1, 1: a a b a c a a.
        assert_eq!(picks, [0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn random_is_uniform() {
        let all = Set(vec![true; 4]);
        let mut b = balancer(LoadBalancerSpec::Random, 4);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[b.pick(&all, None)] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }

    fn detector(percent: u32, one: bool) -> OutlierDetector {
        let spec = OutlierEjectionSpec {
            consecutive_errors: 5,
            interval: SimDuration::from_secs(10),
            base_ejection_time: SimDuration::from_secs(30),
            max_ejection_time: SimDuration::from_secs(300),
            max_ejection_percent: percent,
            always_eject_one_host: one,
            failure_percentage: None,
        };
        OutlierDetector::new(&spec.validate().unwrap(), 8)
    }

    /// Five errors in a row eject; the ejection lasts base x times ejected
    /// (checked at sweeps, every 10 s), and a host healthy at a sweep has
    /// its multiplier lowered by one.
    #[test]
    fn ejection_time_grows_with_the_ejection_count() {
        let mut d = detector(50, false);
        let fail = |d: &mut OutlierDetector, t: u64| {
            (0..5)
                .filter_map(|_| d.record(secs(t), 0, true, 8))
                .collect::<Vec<_>>()
        };
        assert_eq!(fail(&mut d, 1), [Ejection::Ejected]);
        assert!(d.is_ejected(0));
        // 30 s: back at the first sweep at or after 31 s, i.e. 40 s.
        d.sweep(secs(30), 8);
        assert!(d.is_ejected(0));
        d.sweep(secs(40), 8);
        assert!(!d.is_ejected(0));
        // Ejected again at once: now for 60 s (multiplier 2).
        assert_eq!(fail(&mut d, 41), [Ejection::Ejected]);
        for t in [50, 60, 70, 80, 90] {
            d.sweep(secs(t), 8);
            assert!(d.is_ejected(0), "still ejected at {t}");
        }
        d.sweep(secs(110), 8);
        assert!(!d.is_ejected(0), "back 60 s after 41 s, at the 110 s sweep");
        // Three healthy sweeps: the multiplier is 2 - 3 -> 0, so the next
        // ejection lasts 30 s again.
        for t in [120, 130, 140] {
            d.sweep(secs(t), 8);
        }
        assert_eq!(fail(&mut d, 141), [Ejection::Ejected]);
        d.sweep(secs(170), 8);
        assert!(d.is_ejected(0), "29 s only");
        d.sweep(secs(180), 8);
        assert!(!d.is_ejected(0));
        assert_eq!(d.host_ejected(0, secs(200)).0, 3);
        assert_eq!(
            d.host_ejected(0, secs(200)).1,
            SimDuration::from_secs(39 + 69 + 39)
        );
    }

    #[test]
    fn the_time_is_capped_and_a_success_resets_the_run() {
        let mut d = detector(100, false);
        for _ in 0..4 {
            d.record(secs(0), 1, true, 8);
        }
        d.record(secs(0), 1, false, 8);
        assert_eq!(d.record(secs(0), 1, true, 8), None, "the run restarted");
        // Eject it over and over: the time stops growing at 300 s.
        let mut t = 10;
        for _ in 0..15 {
            for _ in 0..5 {
                d.record(secs(t), 1, true, 8);
            }
            assert!(d.is_ejected(1));
            let start = t;
            while d.is_ejected(1) {
                t += 10;
                d.sweep(secs(t), 8);
            }
            assert!(t - start <= 310, "ejected {} s", t - start);
        }
    }

    #[test]
    fn max_percent_bounds_ejections() {
        // 8 replicas, 10%: one ejected is 12.5%, refused (Envoy today).
        let mut d = detector(10, false);
        let run = |d: &mut OutlierDetector, r| {
            (0..5)
                .filter_map(|_| d.record(secs(1), r, true, 8))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(&mut d, 0), [Ejection::Overflow]);
        // Unless one is always allowed.
        let mut d = detector(10, true);
        assert_eq!(run(&mut d, 0), [Ejection::Ejected]);
        assert_eq!(run(&mut d, 1), [Ejection::Overflow]);
        // 25%: two of eight.
        let mut d = detector(25, false);
        assert_eq!(run(&mut d, 0), [Ejection::Ejected]);
        assert_eq!(run(&mut d, 1), [Ejection::Ejected]);
        assert_eq!(run(&mut d, 2), [Ejection::Overflow]);
        assert_eq!(d.ejected(), 2);
    }

    #[test]
    fn failure_percentage_ejects_at_sweeps() {
        let mut spec = detector(100, false).cfg;
        spec.consecutive_errors = 1000;
        spec.failure_percentage = Some(FailurePercentageSpec {
            threshold: 85,
            minimum_hosts: 5,
            request_volume: 50,
        });
        let mut d = OutlierDetector::new(&spec.validate().unwrap(), 8);
        for r in 0..8 {
            for k in 0..100 {
                // Replica 3 fails 90%, replica 4 80%.
                let failed = match r {
                    3 => k % 10 != 0,
                    4 => k % 10 < 8,
                    _ => false,
                };
                d.record(secs(1), r, failed, 8);
            }
        }
        assert!(d.sweep(secs(10), 8));
        assert!(d.is_ejected(3));
        assert!(!d.is_ejected(4));
        assert_eq!(d.ejected(), 1);
    }

    #[test]
    fn ejected_replicas_get_no_traffic_unless_most_are() {
        let mut spec = detector(100, false).cfg;
        spec.consecutive_errors = 1;
        let o = spec.validate().unwrap();
        let mut b = Balancer::new(
            LoadBalancerSpec::RoundRobin,
            4,
            sim_core::Seeds::new(1).stream("lb"),
            Some(&o),
        );
        let all = Set(vec![true; 4]);
        b.outlier.as_mut().unwrap().record(secs(0), 1, true, 4);
        let picks: Vec<usize> = (0..4).map(|_| b.pick(&all, None)).collect();
        assert_eq!(picks, [0, 2, 3, 0]);
        // Three of four ejected: panic, every replica in service is used.
        b.outlier.as_mut().unwrap().record(secs(0), 2, true, 4);
        b.outlier.as_mut().unwrap().record(secs(0), 3, true, 4);
        let picks: Vec<usize> = (0..4).map(|_| b.pick(&all, None)).collect();
        assert_eq!(picks, [1, 2, 3, 0]);
        assert_eq!(b.panic_picks, 4);
    }

    #[test]
    fn bad_values_name_their_field() {
        let mut spec = detector(10, false).cfg;
        spec.max_ejection_percent = 101;
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("max_ejection_percent")
        );
        assert!(validate_balancer(&LoadBalancerSpec::Weighted(vec![1, 2]), 3).is_err());
        assert!(validate_balancer(&LoadBalancerSpec::Weighted(vec![0, 0]), 2).is_err());
    }
}
