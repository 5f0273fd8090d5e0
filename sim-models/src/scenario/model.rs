//! A validated scenario: what the world is built from (each component's
//! validated form is in its own module). Every value here has
//! been checked (`validation.rs` makes these from a parsed file), so the
//! world can use them without checking again. Names are resolved to
//! indices into the scenario's lists.

use super::bus::*;
use super::client::*;
use super::fault::*;
use super::lock::*;
use super::log::*;
use super::service::*;
use sim_core::{Dist, SimDuration, SimTime};

use super::spec::*;
use crate::policy::Policy;
use crate::policy::limiter::TokenBucket;
use sim_core::FieldError;

/// Most replications a scenario, a sweep cell or a baseline may ask for:
/// enough for any confidence interval, and bounded so that a typo cannot
/// make a run take days or hold millions of results.
pub const MAX_REPLICATIONS: u32 = 10_000;

/// A probability, known to lie in [0, 1].
#[derive(Copy, Clone, Debug, Default, PartialEq, PartialOrd)]
pub struct Probability(f64);

impl Probability {
    /// `p`, if it lies in [0, 1]; otherwise an error at `field`.
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
    /// The probability.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// A validated scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// What it is about.
    pub description: String,
    /// The master seed.
    pub seed: u64,
    /// Simulated time to run (`None`: until all work is done).
    pub duration: Option<SimDuration>,
    /// Independent replications.
    pub replications: u32,
    /// How metrics over time are kept.
    pub metrics: MetricsConfig,
    /// Services, in file order.
    pub services: Vec<Service>,
    /// Client groups, in file order.
    pub clients: Vec<Client>,
    /// Rate limiters by name, in file order.
    pub limiters: Vec<(String, TokenBucket)>,
    /// The fault schedule.
    pub faults: Vec<Fault>,
    /// Buses.
    pub buses: Vec<Bus>,
    /// Logs.
    pub logs: Vec<Log>,
    /// Locks.
    pub locks: Vec<Lock>,
    /// The file this was validated from (after any overrides).
    pub source: ScenarioFile,
}

#[derive(Clone, Debug)]
/// How metrics over time are kept, validated.
pub struct MetricsConfig {
    /// Width of the time-series buckets.
    pub bucket: SimDuration,
    /// Window of the success rate for the time to recover.
    pub recovery_window: SimDuration,
    /// Recovered: within this fraction of the level before.
    pub recovery_tolerance: f64,
    /// The disturbance recovery is measured from, if any.
    pub disturbance: Option<(SimTime, SimTime)>,
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
    /// Where its attempts go.
    pub target: Target,
    /// One-way network latency, if any.
    pub network: Option<Dist>,
    /// The policies, outermost first. A scenario built in Rust may add its
    /// own layers here ([`Policy::custom`]).
    pub layers: Vec<Policy>,
    /// How attempts are spread over the target's replicas.
    pub load_balancer: crate::balancer::LoadBalancerSpec,
    /// Retries avoid the replica of the attempt before.
    pub avoid_previous_replica: bool,
    /// Outlier ejection, if configured.
    pub outlier_ejection: Option<crate::balancer::OutlierEjection>,
}
