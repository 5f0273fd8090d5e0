//! Services: workers, a queue, service time, failures, overload and
//! downstream calls, as written in a file, validated, and checked for call
//! cycles. Their runtime is `world/service.rs`.

use serde::{Deserialize, Serialize};
use sim_core::{Dist, DistSpec, SimDuration};

use super::model::*;
use super::spec::*;
use super::validation::*;
use crate::station::Discipline;

// The file format.

/// What happens to work at a service when its caller stops waiting for it
/// (a timeout or deadline fires, or the caller itself is cancelled).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AbandonMode {
    /// The work keeps running to completion and its result is thrown away
    /// (counted as `orphaned`): what real servers do unless told otherwise,
    /// and what feeds metastable collapse.
    #[default]
    Orphan,
    /// The work is cancelled at once (S1): it leaves the queue or frees its
    /// worker, and in-flight drops at the timeout.
    Cancel,
}

/// A service: workers, a queue, service time, failures, overload behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Its name (unique among services, buses and logs).
    pub name: String,
    /// Concurrent jobs in service. `None` (default): unlimited, every
    /// arriving job starts at once (S1).
    #[serde(default)]
    pub workers: Option<u32>,
    /// Jobs that may wait for a worker. `None` (default): unbounded. A job
    /// arriving at a full queue is rejected.
    #[serde(default)]
    pub queue_capacity: Option<u32>,
    /// Fifo (default) or Lifo.
    #[serde(default)]
    pub discipline: Discipline,
    /// Time a job takes, before overload and faults.
    pub service_time: DistSpec,
    /// Probability that a job fails (reported when its service time ends).
    #[serde(default)]
    pub failure_probability: f64,
    #[serde(default)]
    /// Latency and failures rising with load (default none).
    pub overload: Option<OverloadSpec>,
    #[serde(default)]
    /// What happens to work its caller gave up on (default `Orphan`).
    pub on_abandon: AbandonMode,
    /// Optimistic concurrency: a job fails (a write conflict) if another job
    /// of this service succeeded between its start and its end.
    #[serde(default)]
    pub write_conflicts: bool,
    /// Downstream calls made in order after the service's own work, each
    /// through its own policies; the worker is held meanwhile. A failed call
    /// fails the job.
    #[serde(default)]
    pub calls: Vec<CallSpec>,
}

fn half() -> f64 {
    0.5
}
/// Latency and failure rising with work in flight past a knee (S1):
/// `load = max(min_load_factor, in_flight / knee_in_flight)` with
/// `in_flight` counting the starting job itself; past load 1, latency gains
/// `(load - 1) * latency_per_unit` and the failure probability becomes
/// `min(max_failure, failure_probability + (load - 1) * failure_per_unit)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverloadSpec {
    /// In-flight jobs at which overload starts.
    pub knee_in_flight: f64,
    #[serde(default = "half")]
    /// Smallest load the formula uses (default 0.5).
    pub min_load_factor: f64,
    /// Latency added per unit of load above 1.
    pub latency_per_unit: SimDuration,
    /// Failure probability added per unit of load above 1.
    pub failure_per_unit: f64,
    #[serde(default = "one_f")]
    /// Highest failure probability (default 1).
    pub max_failure: f64,
}

// Validated.

#[derive(Clone, Debug)]
/// A validated service.
pub struct Service {
    /// Its name.
    pub name: String,
    /// Concurrent jobs (`None`: unlimited).
    pub workers: Option<usize>,
    /// Jobs that may wait (`None`: unbounded).
    pub queue_capacity: Option<usize>,
    /// Which waiting job goes next.
    pub discipline: Discipline,
    /// Time a job takes.
    pub service_time: Dist,
    /// Chance that a job fails.
    pub failure_probability: Probability,
    /// Overload, if any.
    pub overload: Option<Overload>,
    /// What happens to abandoned work.
    pub on_abandon: AbandonMode,
    /// Whether concurrent successes conflict.
    pub write_conflicts: bool,
    /// Downstream calls, in order.
    pub calls: Vec<Caller>,
}

#[derive(Clone, Debug)]
/// Latency and failures rising with load, validated.
pub struct Overload {
    /// In-flight jobs at which overload starts.
    pub knee_in_flight: f64,
    /// Smallest load the formula uses.
    pub min_load_factor: f64,
    /// Latency added per unit of load above 1.
    pub latency_per_unit: SimDuration,
    /// Failure probability added per unit of load above 1.
    pub failure_per_unit: f64,
    /// Highest failure probability.
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

// Validation.

pub(super) fn validate_service(
    e: &mut Errors,
    path: &str,
    s: &ServiceSpec,
    names: &Names,
) -> Option<Service> {
    let before = e.0.len();
    if s.workers == Some(0) {
        e.push(
            format!("{path}.workers"),
            "must be >= 1 (or None for unlimited)",
        );
    }
    if let Some(w) = s.workers {
        super::limits::at_most(
            e,
            format!("{path}.workers"),
            w.into(),
            super::limits::MAX_COUNT,
        );
    }
    let service_time = dist(e, &format!("{path}.service_time"), &s.service_time);
    let failure_probability = e.check(
        path,
        Probability::new(s.failure_probability, "failure_probability"),
    );
    let overload = s.overload.as_ref().and_then(|o| {
        let p = format!("{path}.overload");
        if !(o.knee_in_flight.is_finite() && o.knee_in_flight > 0.0) {
            e.push(
                format!("{p}.knee_in_flight"),
                format!("must be > 0, got {}", o.knee_in_flight),
            );
        }
        if !(o.min_load_factor.is_finite() && o.min_load_factor >= 0.0) {
            e.push(
                format!("{p}.min_load_factor"),
                format!("must be >= 0, got {}", o.min_load_factor),
            );
        }
        if !(o.failure_per_unit.is_finite() && o.failure_per_unit >= 0.0) {
            e.push(
                format!("{p}.failure_per_unit"),
                format!("must be >= 0, got {}", o.failure_per_unit),
            );
        }
        let max_failure = e.check(&p, Probability::new(o.max_failure, "max_failure"))?;
        Some(Overload {
            knee_in_flight: o.knee_in_flight,
            min_load_factor: o.min_load_factor,
            latency_per_unit: o.latency_per_unit,
            failure_per_unit: o.failure_per_unit,
            max_failure,
        })
    });
    let calls: Vec<Caller> = s
        .calls
        .iter()
        .enumerate()
        .filter_map(|(i, c)| validate_caller(e, &format!("{path}.calls[{i}]"), c, names))
        .collect();
    if e.0.len() > before {
        return None;
    }
    Some(Service {
        name: s.name.clone(),
        workers: s.workers.map(|w| w as usize),
        queue_capacity: s.queue_capacity.map(|q| q as usize),
        discipline: s.discipline,
        service_time: service_time?,
        failure_probability: failure_probability?,
        overload,
        on_abandon: s.on_abandon,
        write_conflicts: s.write_conflicts,
        calls,
    })
}

/// Rejects cycles in the service call graph: a cycle makes every request
/// call itself forever.
pub(super) fn check_call_graph(e: &mut Errors, file: &ScenarioFile, names: &[&str]) {
    let edges: Vec<Vec<usize>> = file
        .services
        .iter()
        .map(|s| {
            s.calls
                .iter()
                .filter_map(|c| find(names, &c.target))
                .collect()
        })
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    fn visit(
        v: usize,
        edges: &[Vec<usize>],
        mark: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        mark[v] = 1;
        stack.push(v);
        for &w in &edges[v] {
            if mark[w] == 1 {
                let from = stack.iter().position(|&x| x == w).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(w);
                return Some(cycle);
            }
            if mark[w] == 0
                && let Some(c) = visit(w, edges, mark, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        mark[v] = 2;
        None
    }
    let mut mark = vec![0u8; edges.len()];
    for v in 0..edges.len() {
        if mark[v] == 0
            && let Some(cycle) = visit(v, &edges, &mut mark, &mut Vec::new())
        {
            let path: Vec<&str> = cycle.iter().map(|&i| names[i]).collect();
            e.push(
                format!("services[{}].calls", cycle[0]),
                format!("services call each other in a cycle: {}", path.join(" -> ")),
            );
            return;
        }
    }
}
