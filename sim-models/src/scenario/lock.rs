//! Leased locks with contending holders and fencing, as written in a file
//! and validated. Their runtime is `world/lock.rs`.

use serde::{Deserialize, Serialize};
use sim_core::{Dist, DistSpec, SimDuration};

use super::model::*;
use super::validation::*;

// The file format.

/// A lock with a lease, contended by holders that may stall (S8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockSpec {
    /// Its name.
    pub name: String,
    /// Holders contending for it.
    pub contenders: u32,
    /// How long a grant lasts unless renewed by release.
    pub lease: SimDuration,
    /// Length of the critical section.
    pub hold: DistSpec,
    /// Chance that a holder stalls (a GC pause) in its critical section.
    #[serde(default)]
    pub stall_probability: f64,
    /// Length of a stall (required with a stall probability).
    #[serde(default)]
    pub stall: Option<DistSpec>,
    /// Time between a release and the next request (default 0).
    #[serde(default)]
    pub think: Option<DistSpec>,
    /// The protected resource rejects writes carrying an older fencing token
    /// than one it has already accepted.
    #[serde(default)]
    pub fencing: bool,
}

// Validated.

#[derive(Clone, Debug)]
/// A validated lock.
pub struct Lock {
    /// Its name.
    pub name: String,
    /// Holders contending for it.
    pub contenders: usize,
    /// How long a grant lasts.
    pub lease: SimDuration,
    /// Length of the critical section.
    pub hold: Dist,
    /// Chance that a holder stalls inside it.
    pub stall_probability: Probability,
    /// Length of a stall.
    pub stall: Option<Dist>,
    /// Time between a release and the next request.
    pub think: Option<Dist>,
    /// Whether the resource rejects writes with an old fencing token.
    pub fencing: bool,
}

// Validation.

pub(super) fn validate_lock(e: &mut Errors, path: &str, l: &LockSpec) -> Option<Lock> {
    let before = e.0.len();
    if l.contenders == 0 {
        e.push(format!("{path}.contenders"), "must be >= 1");
    }
    super::limits::at_most(
        e,
        format!("{path}.contenders"),
        l.contenders.into(),
        super::limits::MAX_COUNT,
    );
    if l.lease.is_zero() {
        e.push(format!("{path}.lease"), "must be > 0");
    }
    let hold = dist(e, &format!("{path}.hold"), &l.hold);
    let stall_probability = e.check(
        path,
        Probability::new(l.stall_probability, "stall_probability"),
    );
    let stall = match &l.stall {
        Some(d) => dist(e, &format!("{path}.stall"), d),
        None => {
            if l.stall_probability > 0.0 {
                e.push(
                    format!("{path}.stall"),
                    "is required when stall_probability > 0",
                );
            }
            None
        }
    };
    let think = l
        .think
        .as_ref()
        .and_then(|d| dist(e, &format!("{path}.think"), d));
    if e.0.len() > before {
        return None;
    }
    Some(Lock {
        name: l.name.clone(),
        contenders: l.contenders as usize,
        lease: l.lease,
        hold: hold?,
        stall_probability: stall_probability?,
        stall,
        think,
        fencing: l.fencing,
    })
}
