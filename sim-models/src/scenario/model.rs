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

#[derive(Clone, Debug)]
pub struct MetricsConfig {
    pub bucket: SimDuration,
    pub recovery_window: SimDuration,
    pub recovery_tolerance: f64,
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
    pub target: Target,
    pub network: Option<Dist>,
    /// The policies, outermost first. A scenario built in Rust may add its
    /// own layers here ([`Policy::custom`]).
    pub layers: Vec<Policy>,
}
