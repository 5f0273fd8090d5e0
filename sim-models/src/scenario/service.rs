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

/// What kind of error a service answers with (a gRPC status, roughly).
/// Every failure is `Unavailable` unless the scenario says otherwise, so
/// `retry_on: [Error]` (every kind) keeps round 1's behaviour.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// Transient: the service cannot serve now (gRPC UNAVAILABLE, HTTP
    /// 503). The default for every failure.
    #[default]
    Unavailable,
    /// The service is overloaded (RESOURCE_EXHAUSTED, HTTP 429).
    Overloaded,
    /// A bug or broken dependency (INTERNAL, HTTP 500).
    Internal,
    /// The request itself is wrong (INVALID_ARGUMENT, HTTP 400): retrying
    /// cannot help.
    InvalidRequest,
    /// A write conflict (ABORTED, HTTP 409): what `write_conflicts` fail
    /// with.
    Conflict,
}

/// An extra way a job fails, with its own kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// The kind it answers with.
    pub kind: ErrorKind,
    /// Chance that a job which did not fail otherwise fails this way.
    pub probability: f64,
}

/// A delay the service asks its callers to wait before retrying (gRPC's
/// server pushback, HTTP's Retry-After), on some of its answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryAfterSpec {
    /// Which answers carry it: `Rejection` (the service refused: queue
    /// full, shed, admission control), `Error` (every error) or an error
    /// kind (`Overloaded`...).
    pub on: crate::policy::retry::RetryOn,
    /// The delay; `None`: do not retry at all (gRPC's negative pushback).
    pub delay: Option<SimDuration>,
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
    /// The kind of those failures (default `Unavailable`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub failure_kind: ErrorKind,
    /// Other ways a job fails, each with its kind and probability (drawn
    /// in order for a job that did not fail otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorSpec>,
    /// Retry-after delays the service sends with some answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_after: Vec<RetryAfterSpec>,
    #[serde(default)]
    /// Latency and failures rising with load (default none).
    pub overload: Option<OverloadSpec>,
    #[serde(default)]
    /// What happens to work its caller gave up on (default `Orphan`).
    pub on_abandon: AbandonMode,
    /// Load shedding at the queue: `QueueTimeout("200ms")` or
    /// `CoDel(target: "5ms", interval: "100ms", adaptive_lifo: true)`
    /// (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shed: Option<crate::station::Shedding>,
    /// Envoy's adaptive concurrency filter in front of the service: a
    /// request beyond the gradient controller's limit is refused at once
    /// (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive_concurrency: Option<crate::admission::GradientControllerSpec>,
    /// DAGOR's priority admission: after overloaded windows, requests of
    /// the lowest priorities are refused at arrival (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_admission: Option<crate::admission::DagorSpec>,
    /// Optimistic concurrency: a job fails (a write conflict) if another job
    /// of this service succeeded between its start and its end.
    #[serde(default)]
    pub write_conflicts: bool,
    /// Copies of the service (default 1), each with its own workers, queue,
    /// overload, admission control and faults, and its own downstream
    /// calls' policies; callers spread their attempts with their
    /// `load_balancer`. With `autoscale`, the replicas at the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Target-tracking autoscaling of the replicas (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<crate::autoscale::AutoscaleSpec>,
    /// Honour the deadline a request arrives with (gRPC style): the job is
    /// dropped when its caller's deadline passes, and its downstream calls
    /// carry the same deadline less `margin` (default none: work goes on
    /// whatever the caller does, as in round 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_deadline: Option<DeadlinePropagationSpec>,
    /// Downstream calls made in order after the service's own work, each
    /// through its own policies; the worker is held meanwhile. A failed call
    /// fails the job.
    #[serde(default)]
    pub calls: Vec<CallSpec>,
}

fn half() -> f64 {
    0.5
}

/// Deadline propagation at a service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinePropagationSpec {
    /// Taken off the deadline passed to downstream calls, for the answer's
    /// way back (default 0).
    #[serde(default)]
    pub margin: SimDuration,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}
/// What an overload counts when a job starts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoadMeasure {
    /// Jobs in service, the starting one included (S1).
    #[default]
    InService,
    /// Jobs in service (the starting one included) and waiting.
    InSystem,
    /// Jobs waiting (the starting one no longer counted).
    Queued,
}

impl LoadMeasure {
    fn is_default(&self) -> bool {
        *self == LoadMeasure::default()
    }
}

/// How a penalty grows with the load.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PenaltyShape {
    /// In proportion to the load above the knee: `(load - 1) * per_unit`,
    /// `load = max(min_load_factor, count / knee)` (S1).
    #[default]
    Linear,
    /// All at once above it: `per_unit` when `count > knee`, else nothing.
    Step,
}

impl PenaltyShape {
    fn is_default(&self) -> bool {
        *self == PenaltyShape::default()
    }
}

/// Latency and failure rising with work past a knee (S1):
/// `load = max(min_load_factor, count / knee_in_flight)` with `count` the
/// `load` measure read when a job starts (default: jobs in service, the
/// starting job itself included); past load 1, latency gains
/// `(load - 1) * latency_per_unit` and the failure probability becomes
/// `min(max_failure, failure_probability + (load - 1) * failure_per_unit)`.
/// With a `Step` shape the whole `per_unit` applies once `count >
/// knee_in_flight`; `max_latency` caps the added latency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverloadSpec {
    /// The count at which overload starts.
    pub knee_in_flight: f64,
    /// What is counted (default: jobs in service).
    #[serde(default, skip_serializing_if = "LoadMeasure::is_default")]
    pub load: LoadMeasure,
    #[serde(default = "half")]
    /// Smallest load the linear formula uses (default 0.5).
    pub min_load_factor: f64,
    /// Latency added per unit of load above 1 (all of it at once for a
    /// step).
    pub latency_per_unit: SimDuration,
    /// How the added latency grows (default linear).
    #[serde(default, skip_serializing_if = "PenaltyShape::is_default")]
    pub latency_shape: PenaltyShape,
    /// The added latency's cap (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_latency: Option<SimDuration>,
    /// Failure probability added per unit of load above 1 (all of it at
    /// once for a step).
    pub failure_per_unit: f64,
    /// How the added failure probability grows (default linear).
    #[serde(default, skip_serializing_if = "PenaltyShape::is_default")]
    pub failure_shape: PenaltyShape,
    #[serde(default = "one_f")]
    /// Highest failure probability (default 1).
    pub max_failure: f64,
    /// The kind of the failures overload adds (default `Unavailable`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub failure_kind: ErrorKind,
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
    /// The kind of those failures.
    pub failure_kind: ErrorKind,
    /// Other ways a job fails, drawn in order.
    pub errors: Vec<(ErrorKind, Probability)>,
    /// Retry-after delays on answers of these kinds (`None`: do not retry).
    pub retry_after: Vec<(crate::policy::retry::RetryOn, Option<SimDuration>)>,
    /// Overload, if any.
    pub overload: Option<Overload>,
    /// What happens to abandoned work.
    pub on_abandon: AbandonMode,
    /// Load shedding at the queue.
    pub shed: Option<crate::station::Shedding>,
    /// Envoy's adaptive concurrency, in its initial state.
    pub adaptive_concurrency: Option<crate::admission::GradientController>,
    /// DAGOR's priority admission, in its initial state.
    pub priority_admission: Option<crate::admission::Dagor>,
    /// Whether concurrent successes conflict.
    pub write_conflicts: bool,
    /// Downstream calls, in order.
    pub calls: Vec<Caller>,
    /// Replicas in service at the start.
    pub replicas: u32,
    /// Replica slots: `replicas`, or the autoscaler's maximum.
    pub slots: u32,
    /// The autoscaler, in its initial state.
    pub autoscale: Option<crate::autoscale::Autoscaler>,
    /// Deadline propagation: the margin taken off for downstream calls.
    pub propagate_deadline: Option<SimDuration>,
}

#[derive(Clone, Debug)]
/// Latency and failures rising with load, validated.
pub struct Overload {
    /// The count at which overload starts.
    pub knee_in_flight: f64,
    /// What is counted.
    pub load: LoadMeasure,
    /// Smallest load the linear formula uses.
    pub min_load_factor: f64,
    /// Latency added per unit of load above 1.
    pub latency_per_unit: SimDuration,
    /// How the added latency grows.
    pub latency_shape: PenaltyShape,
    /// The added latency's cap.
    pub max_latency: Option<SimDuration>,
    /// Failure probability added per unit of load above 1.
    pub failure_per_unit: f64,
    /// How the added failure probability grows.
    pub failure_shape: PenaltyShape,
    /// Highest failure probability.
    pub max_failure: Probability,
    /// The kind of the failures overload adds.
    pub failure_kind: ErrorKind,
}

impl Overload {
    /// Extra latency and the failure probability for a job starting with
    /// `in_service` jobs in service (itself included) and `queued` waiting.
    pub fn apply(&self, in_service: usize, queued: usize, base_failure: f64) -> (SimDuration, f64) {
        let count = match self.load {
            LoadMeasure::InService => in_service,
            LoadMeasure::InSystem => in_service + queued,
            LoadMeasure::Queued => queued,
        } as f64;
        let over = |shape: PenaltyShape| match shape {
            PenaltyShape::Linear => (count / self.knee_in_flight).max(self.min_load_factor) - 1.0,
            PenaltyShape::Step if count > self.knee_in_flight => 1.0,
            PenaltyShape::Step => 0.0,
        };
        let (lat, fail) = (over(self.latency_shape), over(self.failure_shape));
        let mut extra = if lat > 0.0 {
            self.latency_per_unit.mul_f64(lat)
        } else {
            SimDuration::ZERO
        };
        if let Some(cap) = self.max_latency {
            extra = extra.min(cap);
        }
        let p = if fail > 0.0 {
            (base_failure + fail * self.failure_per_unit).min(self.max_failure.get())
        } else {
            base_failure
        };
        (extra, p)
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
            load: o.load,
            min_load_factor: o.min_load_factor,
            latency_per_unit: o.latency_per_unit,
            latency_shape: o.latency_shape,
            max_latency: o.max_latency,
            failure_per_unit: o.failure_per_unit,
            failure_shape: o.failure_shape,
            max_failure,
            failure_kind: o.failure_kind,
        })
    });
    if let Some(shed) = &s.shed {
        use crate::station::Shedding;
        let p = format!("{path}.shed");
        match *shed {
            Shedding::QueueTimeout(t) if t == SimDuration::ZERO => {
                e.push(format!("{p}.QueueTimeout"), "must be > 0");
            }
            Shedding::CoDel {
                target, interval, ..
            } => {
                if target == SimDuration::ZERO {
                    e.push(format!("{p}.target"), "must be > 0");
                }
                if interval < target {
                    e.push(
                        format!("{p}.interval"),
                        format!("must be >= target ({target}), got {interval}"),
                    );
                }
            }
            Shedding::QueueTimeout(_) => {}
        }
        if s.workers.is_none() {
            e.push(
                p.clone(),
                "sheds queued work, but with unlimited workers nothing queues: set workers",
            );
        }
    }
    let errors: Vec<(ErrorKind, Probability)> = s
        .errors
        .iter()
        .enumerate()
        .filter_map(|(i, x)| {
            let p = format!("{path}.errors[{i}]");
            e.check(&p, Probability::new(x.probability, "probability"))
                .map(|pr| (x.kind, pr))
        })
        .collect();
    let retry_after = validate_retry_after(e, path, s);
    let adaptive_concurrency = s
        .adaptive_concurrency
        .as_ref()
        .and_then(|a| e.check(&format!("{path}.adaptive_concurrency"), a.validate()));
    let priority_admission = s
        .priority_admission
        .as_ref()
        .and_then(|d| e.check(&format!("{path}.priority_admission"), d.validate()));
    if s.priority_admission.is_some() && s.workers.is_none() {
        e.push(
            format!("{path}.priority_admission"),
            "detects overload by queueing time, but with unlimited workers nothing queues: set workers",
        );
    }
    let calls: Vec<Caller> = s
        .calls
        .iter()
        .enumerate()
        .filter_map(|(i, c)| validate_caller(e, &format!("{path}.calls[{i}]"), c, names))
        .collect();
    let max = super::limits::MAX_REPLICAS;
    match s.replicas {
        Some(0) => e.push(
            format!("{path}.replicas"),
            "must be >= 1 (a service with no replica answers nothing)",
        ),
        Some(n) if n > max => e.push(
            format!("{path}.replicas"),
            super::limits::message(n.into(), max.into()),
        ),
        _ => {}
    }
    let autoscale = s.autoscale.as_ref().and_then(|a| {
        e.check(
            &format!("{path}.autoscale"),
            a.validate(s.replicas.filter(|&n| n > 0), s.workers),
        )
    });
    if e.0.len() > before {
        return None;
    }
    let replicas = s
        .replicas
        .or(autoscale.as_ref().map(|a| a.cfg.min_replicas))
        .unwrap_or(1);
    Some(Service {
        name: s.name.clone(),
        workers: s.workers.map(|w| w as usize),
        queue_capacity: s.queue_capacity.map(|q| q as usize),
        discipline: s.discipline,
        service_time: service_time?,
        failure_probability: failure_probability?,
        failure_kind: s.failure_kind,
        errors,
        retry_after,
        overload,
        on_abandon: s.on_abandon,
        shed: s.shed,
        adaptive_concurrency,
        priority_admission,
        write_conflicts: s.write_conflicts,
        calls,
        replicas,
        slots: autoscale.as_ref().map_or(replicas, |a| a.cfg.max_replicas),
        autoscale,
        propagate_deadline: s.propagate_deadline.as_ref().map(|d| d.margin),
    })
}

/// The service's retry-after delays, each on an answer it can give.
fn validate_retry_after(
    e: &mut Errors,
    path: &str,
    s: &ServiceSpec,
) -> Vec<(crate::policy::retry::RetryOn, Option<SimDuration>)> {
    use crate::policy::retry::RetryOn;
    let refuses = s.queue_capacity.is_some()
        || s.shed.is_some()
        || s.adaptive_concurrency.is_some()
        || s.priority_admission.is_some();
    let produces = |k: ErrorKind| {
        // Unavailable also comes from outages and failed downstream calls.
        k == ErrorKind::Unavailable
            || (s.failure_kind == k && s.failure_probability > 0.0)
            || s.errors.iter().any(|x| x.kind == k && x.probability > 0.0)
            || s.overload
                .as_ref()
                .is_some_and(|o| o.failure_kind == k && o.failure_per_unit > 0.0)
            || (k == ErrorKind::Conflict && s.write_conflicts)
            || !s.calls.is_empty()
    };
    let mut out = Vec::new();
    for (i, r) in s.retry_after.iter().enumerate() {
        let p = format!("{path}.retry_after[{i}].on");
        let ok = match r.on {
            RetryOn::Timeout | RetryOn::LocalRejection => {
                e.push(
                    p,
                    format!(
                        "{:?} is decided by the caller, not answered by the service: use Rejection, Error or an error kind",
                        r.on
                    ),
                );
                false
            }
            RetryOn::Rejection if !refuses => {
                e.push(
                    p,
                    "this service never refuses (no queue_capacity, shed, adaptive_concurrency or priority_admission)",
                );
                false
            }
            k => match k.kind() {
                Some(kind) if !produces(kind) => {
                    e.push(p, format!("this service never fails with {kind:?}"));
                    false
                }
                _ => true,
            },
        };
        if ok {
            out.push((r.on, r.delay));
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn overload(shape: PenaltyShape, cap: Option<SimDuration>) -> Overload {
        Overload {
            knee_in_flight: 10.0,
            load: LoadMeasure::InService,
            min_load_factor: 0.5,
            latency_per_unit: SimDuration::from_millis(40),
            latency_shape: shape,
            max_latency: cap,
            failure_per_unit: 0.5,
            failure_shape: shape,
            max_failure: Probability::new(0.9, "max_failure").unwrap(),
            failure_kind: ErrorKind::Unavailable,
        }
    }

    #[test]
    fn penalties_grow_linearly_or_at_once_and_are_capped() {
        let ms = SimDuration::from_millis;
        let linear = overload(PenaltyShape::Linear, None);
        // Load 15 / 10 = 1.5: half a unit of each.
        assert_eq!(linear.apply(15, 0, 0.1), (ms(20), 0.1 + 0.25));
        assert_eq!(linear.apply(10, 5, 0.1), (SimDuration::ZERO, 0.1));
        // Load 3: two units, the failure probability capped at 0.9.
        assert_eq!(linear.apply(30, 0, 0.1), (ms(80), 0.9));
        let step = overload(PenaltyShape::Step, None);
        assert_eq!(
            step.apply(10, 0, 0.1),
            (SimDuration::ZERO, 0.1),
            "not above the knee"
        );
        assert_eq!(step.apply(11, 0, 0.1), (ms(40), 0.6));
        assert_eq!(
            step.apply(100, 0, 0.1),
            (ms(40), 0.6),
            "the same however far above"
        );
        let capped = overload(PenaltyShape::Linear, Some(ms(30)));
        assert_eq!(capped.apply(30, 0, 0.0).0, ms(30));
        // The measure: in the system counts the queue too.
        let mut in_system = overload(PenaltyShape::Step, None);
        in_system.load = LoadMeasure::InSystem;
        assert_eq!(in_system.apply(6, 5, 0.0), (ms(40), 0.5));
        in_system.load = LoadMeasure::Queued;
        assert_eq!(in_system.apply(16, 5, 0.0), (SimDuration::ZERO, 0.0));
    }
}
