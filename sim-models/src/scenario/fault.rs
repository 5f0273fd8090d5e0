//! The fault schedule: outages, latency and error spikes, capacity drops,
//! as written in a file and validated. Faults act in `world/service.rs`,
//! `world/bus.rs` and `world/log.rs`.

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

use super::model::*;
use super::spec::*;
use super::validation::*;

// The file format.

/// Whether an unavailable service answers.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutageMode {
    /// Every request fails at once with an error (connection refused).
    #[default]
    FailFast,
    /// Requests vanish without an answer; only a caller's timeout ends them.
    Hang,
}

/// A fault at simulated times [start, end). `target` names a service (or,
/// for outages, a bus or log: the broker).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FaultSpec {
    /// Unavailable: work in progress is lost (failed at once with FailFast,
    /// dropped silently with Hang) and arrivals are refused or dropped.
    Outage {
        /// The service, bus or log.
        target: String,
        /// When it starts.
        start: SimDuration,
        /// When it ends (after the start).
        end: SimDuration,
        /// Which replicas of the service it hits (default all of them).
        #[serde(default, skip_serializing_if = "ReplicaSelection::is_all")]
        replicas: ReplicaSelection,
        #[serde(default)]
        /// Whether requests fail fast or hang (default `FailFast`).
        mode: OutageMode,
    },
    /// Jobs starting in the window take `service_time * multiply + add`.
    LatencySpike {
        /// The service.
        target: String,
        /// When it starts.
        start: SimDuration,
        /// When it ends.
        end: SimDuration,
        /// Which replicas of the service it hits (default all of them).
        #[serde(default, skip_serializing_if = "ReplicaSelection::is_all")]
        replicas: ReplicaSelection,
        #[serde(default)]
        /// Added to each service time (default 0).
        add: SimDuration,
        #[serde(default = "one_f")]
        /// Multiplies each service time (default 1).
        multiply: f64,
    },
    /// Jobs starting in the window also fail with this probability
    /// (independently of the service's own failures).
    ErrorSpike {
        /// The service.
        target: String,
        /// When it starts.
        start: SimDuration,
        /// When it ends.
        end: SimDuration,
        /// Which replicas of the service it hits (default all of them).
        #[serde(default, skip_serializing_if = "ReplicaSelection::is_all")]
        replicas: ReplicaSelection,
        /// Chance that a job fails, besides its own failures.
        failure_probability: f64,
    },
    /// The service has only `workers` workers in the window; jobs in service
    /// finish, new ones wait.
    CapacityDrop {
        /// The service.
        target: String,
        /// When it starts.
        start: SimDuration,
        /// When it ends.
        end: SimDuration,
        /// Which replicas of the service it hits (default all of them).
        #[serde(default, skip_serializing_if = "ReplicaSelection::is_all")]
        replicas: ReplicaSelection,
        /// Workers left (at least 1).
        workers: u32,
    },
}

impl FaultSpec {
    /// The name of what it hits.
    pub fn target(&self) -> &str {
        match self {
            FaultSpec::Outage { target, .. }
            | FaultSpec::LatencySpike { target, .. }
            | FaultSpec::ErrorSpike { target, .. }
            | FaultSpec::CapacityDrop { target, .. } => target,
        }
    }
    /// Its window, [start, end).
    pub fn window(&self) -> (SimDuration, SimDuration) {
        match self {
            FaultSpec::Outage { start, end, .. }
            | FaultSpec::LatencySpike { start, end, .. }
            | FaultSpec::ErrorSpike { start, end, .. }
            | FaultSpec::CapacityDrop { start, end, .. } => (*start, *end),
        }
    }
    /// Which replicas it hits.
    pub fn replicas(&self) -> &ReplicaSelection {
        match self {
            FaultSpec::Outage { replicas, .. }
            | FaultSpec::LatencySpike { replicas, .. }
            | FaultSpec::ErrorSpike { replicas, .. }
            | FaultSpec::CapacityDrop { replicas, .. } => replicas,
        }
    }
    /// Its kind, as written in results (`outage`, `latency_spike`...).
    pub fn kind(&self) -> &'static str {
        match self {
            FaultSpec::Outage { .. } => "outage",
            FaultSpec::LatencySpike { .. } => "latency_spike",
            FaultSpec::ErrorSpike { .. } => "error_spike",
            FaultSpec::CapacityDrop { .. } => "capacity_drop",
        }
    }
}

/// Which replicas of a service a fault hits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum ReplicaSelection {
    /// Every replica slot (a zone outage of a one-zone service, or a
    /// service without replicas).
    #[default]
    All,
    /// One replica (numbered from 0).
    One(u32),
    /// These replicas.
    List(Vec<u32>),
    /// The first `ceil(fraction * replicas)` of the replicas at the start
    /// (a zone's share), between 0 (excluded) and 1.
    Fraction(f64),
}

impl ReplicaSelection {
    fn is_all(&self) -> bool {
        *self == ReplicaSelection::All
    }
}

// Validated.

/// What a fault hits.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// A service (index into `Scenario::services`).
    Service(usize),
    /// The broker of a bus: outages only.
    Bus(usize),
    /// The broker of a log: outages only.
    Log(usize),
}

#[derive(Clone, Debug)]
/// A validated fault.
pub struct Fault {
    /// As written.
    pub spec: FaultSpec,
    /// What it hits.
    pub target: FaultTarget,
    /// The replica slots it hits (of a service target; `[0]` otherwise).
    pub replicas: Vec<u32>,
    /// When it starts.
    pub start: SimTime,
    /// When it ends.
    pub end: SimTime,
}

// Validation.

/// The slots a selection names, of a service with `slots` slots and
/// `initial` replicas at the start.
fn select_replicas(
    e: &mut Errors,
    path: &str,
    sel: &ReplicaSelection,
    slots: u32,
    initial: u32,
) -> Vec<u32> {
    let path = format!("{path}.replicas");
    if slots == 0 {
        // `replicas: 0` is reported at the service.
        return Vec::new();
    }
    let check = |e: &mut Errors, r: u32| {
        if r >= slots {
            e.push(
                path.clone(),
                format!(
                    "replica {r} does not exist: the service has {slots} replica slot(s), 0 to {}",
                    slots - 1
                ),
            );
        }
    };
    match sel {
        ReplicaSelection::All => (0..slots).collect(),
        ReplicaSelection::One(r) => {
            check(e, *r);
            vec![*r]
        }
        ReplicaSelection::List(list) => {
            if list.is_empty() {
                e.push(path.clone(), "lists no replica");
            }
            for (i, r) in list.iter().enumerate() {
                check(e, *r);
                if list[..i].contains(r) {
                    e.push(path.clone(), format!("replica {r} is listed twice"));
                }
            }
            list.clone()
        }
        ReplicaSelection::Fraction(f) => {
            if !(f.is_finite() && *f > 0.0 && *f <= 1.0) {
                e.push(path, format!("must be in (0, 1], got {f}"));
                return Vec::new();
            }
            let n = ((f64::from(initial) * f) - 1e-9).ceil().max(1.0) as u32;
            (0..n.min(slots)).collect()
        }
    }
}

pub(super) fn validate_fault(
    e: &mut Errors,
    path: &str,
    f: &FaultSpec,
    names: &Names,
) -> Option<Fault> {
    let before = e.0.len();
    let target = if let Some(s) = find(names.services, f.target()) {
        Some(FaultTarget::Service(s))
    } else if let Some(b) = find(names.buses, f.target()) {
        Some(FaultTarget::Bus(b))
    } else {
        find(names.logs, f.target()).map(FaultTarget::Log)
    };
    match target {
        None => e.push(
            format!("{path}.target"),
            format!("no service, bus or log named {:?}", f.target()),
        ),
        Some(FaultTarget::Bus(_) | FaultTarget::Log(_))
            if !matches!(f, FaultSpec::Outage { .. }) =>
        {
            e.push(
                format!("{path}.target"),
                format!(
                    "{:?} is a bus or log: only outages apply to brokers",
                    f.target()
                ),
            )
        }
        Some(_) => {}
    }
    let (start, end) = f.window();
    if end <= start {
        e.push(
            format!("{path}.end"),
            format!("must be after start ({start}), got {end}"),
        );
    }
    match f {
        FaultSpec::LatencySpike { multiply, .. } => {
            if !(multiply.is_finite() && *multiply >= 0.0) {
                e.push(
                    format!("{path}.multiply"),
                    format!("must be >= 0, got {multiply}"),
                );
            }
        }
        FaultSpec::ErrorSpike {
            failure_probability,
            ..
        } => {
            e.check(
                path,
                Probability::new(*failure_probability, "failure_probability"),
            );
        }
        FaultSpec::CapacityDrop { workers, .. } => {
            if *workers == 0 {
                e.push(
                    format!("{path}.workers"),
                    "must be >= 1 (use an Outage for no capacity at all)",
                );
            }
        }
        FaultSpec::Outage { .. } => {}
    }
    if e.0.len() > before {
        return None;
    }
    let replicas = match target? {
        FaultTarget::Service(s) => {
            select_replicas(e, path, f.replicas(), names.slots[s], names.initial[s])
        }
        _ if !f.replicas().is_all() => {
            e.push(format!("{path}.replicas"), "only a service has replicas");
            Vec::new()
        }
        _ => vec![0],
    };
    if e.0.len() > before {
        return None;
    }
    Some(Fault {
        spec: f.clone(),
        replicas,
        target: target?,
        start: SimTime::at(start),
        end: SimTime::at(end),
    })
}
