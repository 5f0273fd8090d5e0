//! A validated scenario: what the world is built from. Every value here has
//! been checked (`validation.rs` makes these from a parsed file), so the
//! world can use them without checking again. Names are resolved to
//! indices into the scenario's lists.

use sim_core::{Dist, SimDuration, SimTime};

use super::spec::*;
use crate::policy::Policy;
use crate::policy::backoff::Backoff;
use crate::policy::limiter::TokenBucket;
use crate::station::Discipline;
use sim_core::FieldError;

/// A probability, known to lie in [0, 1].
#[derive(Copy, Clone, Debug, Default, PartialEq, PartialOrd)]
pub struct Probability(f64);

impl Probability {
    pub fn new(p: f64, field: &str) -> Result<Self, FieldError> {
        if (0.0..=1.0).contains(&p) {
            Ok(Probability(p))
        } else {
            Err(FieldError::new(
                field,
                format!("must be a probability in [0, 1], got {p}"),
            ))
        }
    }
    pub fn get(self) -> f64 {
        self.0
    }
}

/// A validated scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub duration: Option<SimDuration>,
    pub replications: u32,
    pub metrics: MetricsConfig,
    pub services: Vec<Service>,
    pub clients: Vec<Client>,
    pub limiters: Vec<(String, TokenBucket)>,
    pub faults: Vec<Fault>,
    pub buses: Vec<Bus>,
    pub logs: Vec<Log>,
    pub locks: Vec<Lock>,
    /// The file this was validated from (after any overrides).
    pub source: ScenarioFile,
}

/// Where a client's requests go.
#[derive(Clone, Debug)]
pub enum ClientTarget {
    /// Calls to a service through the client's policies.
    Service(Box<Caller>),
    /// Publishes to a bus (index into `Scenario::buses`).
    Bus(usize),
    /// Appends to a log (index into `Scenario::logs`).
    Log(usize),
}

/// What a fault hits.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    Service(usize),
    /// The broker of a bus: outages only.
    Bus(usize),
    /// The broker of a log: outages only.
    Log(usize),
}

#[derive(Clone, Debug)]
pub enum Handler {
    Call(Box<Caller>),
    Work {
        duration: Dist,
        failure_probability: Probability,
    },
}

#[derive(Clone, Debug)]
pub struct ConsumerCrashes {
    pub probability: Probability,
    pub restart: SimDuration,
    pub visibility_timeout: SimDuration,
}

#[derive(Clone, Debug)]
pub struct Bus {
    pub name: String,
    pub capacity: Option<usize>,
    pub when_full: WhenFull,
    pub consumers: usize,
    pub handler: Handler,
    pub max_deliveries: u32,
    pub backoff: Backoff,
    pub mode: RedeliveryMode,
    pub idempotency_window: Option<SimDuration>,
    pub crashes: Option<ConsumerCrashes>,
}

#[derive(Clone, Debug)]
pub struct Log {
    pub name: String,
    pub partitions: usize,
    pub keys: Option<u32>,
    pub consumers: usize,
    pub processing: Dist,
    pub commit_every: Option<u32>,
    pub commit_interval: Option<SimDuration>,
    /// (consumer, at, down for)
    pub crashes: Vec<(usize, SimTime, SimDuration)>,
}

#[derive(Clone, Debug)]
pub struct Lock {
    pub name: String,
    pub contenders: usize,
    pub lease: SimDuration,
    pub hold: Dist,
    pub stall_probability: Probability,
    pub stall: Option<Dist>,
    pub think: Option<Dist>,
    pub fencing: bool,
}

#[derive(Clone, Debug)]
pub struct MetricsConfig {
    pub bucket: SimDuration,
    pub recovery_window: SimDuration,
    pub recovery_tolerance: f64,
    pub disturbance: Option<(SimTime, SimTime)>,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    pub workers: Option<usize>,
    pub queue_capacity: Option<usize>,
    pub discipline: Discipline,
    pub service_time: Dist,
    pub failure_probability: Probability,
    pub overload: Option<Overload>,
    pub on_abandon: AbandonMode,
    pub write_conflicts: bool,
    pub calls: Vec<Caller>,
}

#[derive(Clone, Debug)]
pub struct Overload {
    pub knee_in_flight: f64,
    pub min_load_factor: f64,
    pub latency_per_unit: SimDuration,
    pub failure_per_unit: f64,
    pub max_failure: Probability,
}

impl Overload {
    /// Extra latency and the failure probability for a job starting with
    /// `in_flight` jobs in service (itself included).
    pub fn apply(&self, in_flight: usize, base_failure: f64) -> (SimDuration, f64) {
        let load = (in_flight as f64 / self.knee_in_flight).max(self.min_load_factor);
        if load > 1.0 {
            let over = load - 1.0;
            (
                self.latency_per_unit.mul_f64(over),
                (base_failure + over * self.failure_per_unit).min(self.max_failure.get()),
            )
        } else {
            (SimDuration::ZERO, base_failure)
        }
    }
}

/// Where a caller's attempts go. One service today; a set of replicas
/// with a rule for picking one per attempt fits here as another variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A service (index into `Scenario::services`).
    Service(usize),
}

impl Target {
    /// The service the next attempt goes to.
    pub fn pick(&self) -> usize {
        match *self {
            Target::Service(s) => s,
        }
    }

    /// The service behind the target (what the call graph links to).
    pub fn service(&self) -> usize {
        match *self {
            Target::Service(s) => s,
        }
    }
}

/// A validated caller: the policies around calls to one target.
#[derive(Clone, Debug)]
pub struct Caller {
    pub target: Target,
    pub network: Option<Dist>,
    /// The policies, outermost first. A scenario built in Rust may add its
    /// own layers here ([`Policy::custom`]).
    pub layers: Vec<Policy>,
}

#[derive(Clone, Debug)]
pub struct Client {
    pub name: String,
    pub workload: Workload,
    pub requests: Option<u64>,
    pub start: SimTime,
    pub stop: Option<SimTime>,
    pub target: ClientTarget,
}

#[derive(Clone, Debug)]
pub enum Workload {
    Poisson {
        mean_gap: Dist,
    },
    Constant {
        gap: SimDuration,
    },
    Bursts {
        size: u32,
        every: SimDuration,
    },
    /// Steps sorted by time; rates per second.
    Schedule {
        steps: Vec<(SimTime, f64)>,
        poisson: bool,
    },
    Replay {
        arrivals: Vec<SimTime>,
    },
    ClosedLoop {
        users: u32,
        think: Option<Dist>,
    },
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub spec: FaultSpec,
    pub target: FaultTarget,
    pub start: SimTime,
    pub end: SimTime,
}
