//! Autoscaling a service's replicas by target tracking, as Kubernetes'
//! horizontal pod autoscaler and AWS target tracking do: every `interval`
//! the mean of a metric per replica in service over the last interval is
//! compared with a target, and the wanted count is
//! `ceil(in_service * metric / target)`, left alone within `tolerance` of
//! the target (HPA's 10%), bounded by the minimum and maximum, and applied
//! only outside the cooldowns. A new replica takes traffic after its
//! provisioning delay; a replica scaled in stops taking traffic at once and
//! leaves when its last job is done (it drains).
//!
//! The decision is a pure function of the interval's mean and the counts
//! ([`Autoscaler::decide`]), tested on a scripted load; the world measures
//! the metric and carries the decision out (`world/replicas.rs`).

use serde::{Deserialize, Serialize};
use sim_core::{FieldError, SimDuration, SimTime};

fn fifteen_s() -> SimDuration {
    SimDuration::from_secs(15)
}
fn sixty_s() -> SimDuration {
    SimDuration::from_secs(60)
}
fn three_hundred_s() -> SimDuration {
    SimDuration::from_secs(300)
}
fn thirty_s() -> SimDuration {
    SimDuration::from_secs(30)
}
fn tenth() -> f64 {
    0.1
}

/// What the autoscaler tracks, with its target per replica.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ScaleTarget {
    /// Jobs at the service (waiting or in service, at every replica) per
    /// replica in service, time-weighted over the interval.
    InFlight(f64),
    /// Busy workers over the workers of the replicas in service (0 to 1),
    /// time-weighted over the interval; needs `workers`.
    Utilization(f64),
}

/// Autoscaling as written in a service's spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleSpec {
    /// Fewest replicas in service (at least 1).
    pub min_replicas: u32,
    /// Most replicas (the replica slots).
    pub max_replicas: u32,
    /// The metric and its target value per replica.
    pub target: ScaleTarget,
    /// Time between decisions, and the window of the metric (default 15 s,
    /// HPA's sync period).
    #[serde(default = "fifteen_s")]
    pub interval: SimDuration,
    /// No change while the metric is within this fraction of the target
    /// (default 0.1, HPA's).
    #[serde(default = "tenth")]
    pub tolerance: f64,
    /// No scale-out within this time of the last scale-out (default 60 s).
    #[serde(default = "sixty_s")]
    pub scale_out_cooldown: SimDuration,
    /// No scale-in within this time of the last change either way (default
    /// 300 s, HPA's downscale stabilization).
    #[serde(default = "three_hundred_s")]
    pub scale_in_cooldown: SimDuration,
    /// Time from a scale-out to the new replica taking traffic (default
    /// 30 s).
    #[serde(default = "thirty_s")]
    pub provisioning: SimDuration,
}

/// A validated autoscaler with its state.
#[derive(Clone, Debug)]
pub struct Autoscaler {
    /// The configuration.
    pub cfg: AutoscaleSpec,
    last_out: Option<SimTime>,
    last_change: Option<SimTime>,
    /// The metric's area at the last decision (see `decide`).
    pub(crate) last_area: u128,
    /// A decision event is pending.
    pub(crate) pending: bool,
    /// Scale-outs and scale-ins made, and replicas added and removed.
    pub scale_outs: u64,
    /// Scale-ins made.
    pub scale_ins: u64,
}

impl AutoscaleSpec {
    /// The checked autoscaler; `initial`: the service's `replicas`, if set;
    /// `workers`: its workers per replica.
    pub fn validate(
        &self,
        initial: Option<u32>,
        workers: Option<u32>,
    ) -> Result<Autoscaler, FieldError> {
        if self.min_replicas == 0 {
            return Err(FieldError::new(
                "min_replicas",
                "must be >= 1 (a service with no replica answers nothing)",
            ));
        }
        if self.min_replicas > self.max_replicas {
            return Err(FieldError::new(
                "min_replicas",
                format!(
                    "must be <= max_replicas ({}), got {}",
                    self.max_replicas, self.min_replicas
                ),
            ));
        }
        if self.max_replicas > super::scenario::limits::MAX_REPLICAS {
            return Err(FieldError::new(
                "max_replicas",
                super::scenario::limits::message(
                    self.max_replicas.into(),
                    super::scenario::limits::MAX_REPLICAS.into(),
                ),
            ));
        }
        if let Some(n) = initial
            && !(self.min_replicas..=self.max_replicas).contains(&n)
        {
            return Err(FieldError::new(
                "replicas",
                format!(
                    "must lie within the autoscaler's min_replicas..=max_replicas ({}..={}), got {n}",
                    self.min_replicas, self.max_replicas
                ),
            ));
        }
        let (value, field) = match self.target {
            ScaleTarget::InFlight(v) => (v, "target.InFlight"),
            ScaleTarget::Utilization(v) => {
                if workers.is_none() {
                    return Err(FieldError::new(
                        "target.Utilization",
                        "needs workers (with unlimited workers nothing is ever busy)",
                    ));
                }
                if v > 1.0 {
                    return Err(FieldError::new(
                        "target.Utilization",
                        format!("must be at most 1, got {v}"),
                    ));
                }
                (v, "target.Utilization")
            }
        };
        if !(value.is_finite() && value > 0.0) {
            return Err(FieldError::new(field, format!("must be > 0, got {value}")));
        }
        if self.interval.is_zero() {
            return Err(FieldError::new("interval", "must be > 0"));
        }
        if !(self.tolerance.is_finite() && (0.0..1.0).contains(&self.tolerance)) {
            return Err(FieldError::new(
                "tolerance",
                format!("must be in [0, 1), got {}", self.tolerance),
            ));
        }
        Ok(Autoscaler {
            cfg: self.clone(),
            last_out: None,
            last_change: None,
            last_area: 0,
            pending: false,
            scale_outs: 0,
            scale_ins: 0,
        })
    }
}

impl Autoscaler {
    /// The decision grid: whole multiples of the interval from time 0; the
    /// next point strictly after `now`.
    pub fn next_decision(&self, now: SimTime) -> SimTime {
        now.next_multiple_of(self.cfg.interval)
    }

    /// The replica count wanted at `now`. `per_replica`: the metric's mean
    /// over the last interval, per replica in service (jobs, or the busy
    /// fraction); `in_service`: replicas taking traffic; `current`: those
    /// plus the ones provisioning. Records the change it makes.
    pub fn decide(&mut self, now: SimTime, per_replica: f64, in_service: u32, current: u32) -> u32 {
        let target = match self.cfg.target {
            ScaleTarget::InFlight(t) | ScaleTarget::Utilization(t) => t,
        };
        let ratio = per_replica / target;
        let wanted = if (ratio - 1.0).abs() <= self.cfg.tolerance {
            current
        } else {
            // A tiny epsilon keeps an exact product (8 x 1.5 = 12) from
            // rounding up on a float's last bit.
            (f64::from(in_service) * ratio - 1e-9).ceil().max(0.0) as u32
        };
        let wanted = wanted.clamp(self.cfg.min_replicas, self.cfg.max_replicas);
        let since =
            |t: Option<SimTime>, cooldown: SimDuration| t.is_none_or(|t| now.since(t) >= cooldown);
        if wanted > current && since(self.last_out, self.cfg.scale_out_cooldown) {
            self.last_out = Some(now);
            self.last_change = Some(now);
            self.scale_outs += 1;
            wanted
        } else if wanted < current && since(self.last_change, self.cfg.scale_in_cooldown) {
            self.last_change = Some(now);
            self.scale_ins += 1;
            wanted
        } else {
            current
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    fn scaler() -> Autoscaler {
        AutoscaleSpec {
            min_replicas: 2,
            max_replicas: 10,
            target: ScaleTarget::InFlight(4.0),
            interval: SimDuration::from_secs(15),
            tolerance: 0.1,
            scale_out_cooldown: SimDuration::from_secs(60),
            scale_in_cooldown: SimDuration::from_secs(300),
            provisioning: SimDuration::from_secs(30),
        }
        .validate(Some(2), None)
        .unwrap()
    }

    /// A scripted load: the decisions of HPA's formula with its tolerance,
    /// bounds and the cooldowns.
    #[test]
    fn decisions_on_a_scripted_load() {
        let mut a = scaler();
        // 2 replicas at 4.3 per replica: within 10% of 4, no change.
        assert_eq!(a.decide(secs(15), 4.3, 2, 2), 2);
        // At 9 per replica: ceil(2 * 9 / 4) = 5.
        assert_eq!(a.decide(secs(30), 9.0, 2, 2), 5);
        // 15 s later, with 3 still provisioning, more load: cooldown.
        assert_eq!(a.decide(secs(45), 12.0, 2, 5), 5);
        // After 60 s: 5 in service at 8 each: ceil(5 * 8 / 4) = 10.
        assert_eq!(a.decide(secs(90), 8.0, 5, 5), 10);
        // Beyond the maximum: capped (and still in cooldown meanwhile).
        assert_eq!(a.decide(secs(150), 20.0, 10, 10), 10);
        // Load drops to 1 per replica: ceil(10 / 4) = 3, but scale-in
        // waits 300 s after the last change (90 s).
        assert_eq!(a.decide(secs(300), 1.0, 10, 10), 10);
        assert_eq!(a.decide(secs(390), 1.0, 10, 10), 3);
        // No load at all: the minimum, after another 300 s.
        assert_eq!(a.decide(secs(405), 0.0, 3, 3), 3);
        assert_eq!(a.decide(secs(690), 0.0, 3, 3), 2);
        assert_eq!((a.scale_outs, a.scale_ins), (2, 2));
    }

    #[test]
    fn impossible_bounds_are_errors() {
        let mut s = scaler().cfg;
        s.min_replicas = 11;
        assert!(
            s.validate(None, None)
                .unwrap_err()
                .to_string()
                .contains("max_replicas")
        );
        let mut s = scaler().cfg;
        s.min_replicas = 0;
        assert!(s.validate(None, None).is_err());
        let mut s = scaler().cfg;
        assert!(s.validate(Some(11), None).is_err(), "initial above max");
        s.target = ScaleTarget::Utilization(0.5);
        assert!(
            s.validate(None, None)
                .unwrap_err()
                .to_string()
                .contains("workers")
        );
        assert!(s.validate(None, Some(4)).is_ok());
    }
}
