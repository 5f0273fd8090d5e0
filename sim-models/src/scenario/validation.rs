//! From a parsed file to a `Scenario` that can only hold sensible values:
//! names resolved to indices, distributions and policies validated,
//! probabilities in [0, 1], rates finite and positive, the call graph free
//! of cycles. Every problem is reported with its field path, all at once.

use std::path::Path;

use sim_core::{Dist, DistSpec, FieldError, SimTime};

use super::bus::*;
use super::client::*;
use super::fault::*;
use super::lock::*;
use super::log::*;
use super::model::*;
use super::service::*;
use super::spec::*;
use crate::policy::limiter::TokenBucket;
use crate::policy::{Policy, PolicyKind, SpecCx};

/// Collects errors with their paths instead of stopping at the first.
#[derive(Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    /// Keeps `r`'s value, or records its error under `path`.
    pub fn check<T>(&mut self, path: &str, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e.under(path));
                None
            }
        }
    }
    /// Records an invalid value at `path`.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }
}

/// What is wrong with `text` if it holds a control character other than tab
/// or newline (it would reach terminals and make report SVGs invalid XML).
pub fn control_char(text: &str) -> Option<String> {
    let c = text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n'))?;
    Some(format!(
        "holds the control character {c:?}; write plain text (tabs and newlines are fine)"
    ))
}

pub(super) fn positive_rate(v: f64, field: &str) -> Result<f64, FieldError> {
    if v.is_finite() && v > super::limits::MAX_RATE_PER_S {
        Err(FieldError::new(
            field,
            format!(
                "must be at most {:e} per second (one per nanosecond, the clock's resolution), got {v}",
                super::limits::MAX_RATE_PER_S
            ),
        ))
    } else if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(FieldError::new(
            field,
            format!("must be a finite number > 0, got {v}"),
        ))
    }
}

pub(super) fn dist(errors: &mut Errors, path: &str, spec: &DistSpec) -> Option<Dist> {
    errors.check(path, spec.validate())
}

pub(super) fn find(names: &[&str], wanted: &str) -> Option<usize> {
    names.iter().position(|n| *n == wanted)
}

fn check_names<'a>(errors: &mut Errors, what: &str, names: impl Iterator<Item = &'a str>) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, n) in names.enumerate() {
        if n.is_empty() {
            errors.push(format!("{what}[{i}].name"), "must not be empty");
        } else if !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            // Names become parts of dotted metric paths and file names.
            errors.push(
                format!("{what}[{i}].name"),
                format!("{n:?} may only hold letters, digits, '_' and '-'"),
            );
        } else if seen.contains(&n) {
            errors.push(format!("{what}[{i}].name"), format!("duplicate name {n:?}"));
        }
        seen.push(n);
    }
}

/// Validates a parsed scenario. `base_dir` resolves relative paths (replay
/// files).
pub fn validate(file: &ScenarioFile, base_dir: &Path) -> Result<Scenario, Vec<FieldError>> {
    let mut e = Errors::default();
    if file.name.trim().is_empty() {
        e.push("name", "must not be empty");
    }
    for (field, text) in [("name", &file.name), ("description", &file.description)] {
        if let Some(message) = control_char(text) {
            e.push(field, message);
        }
    }
    if file.replications == 0 {
        e.push("replications", "must be >= 1");
    } else if file.replications > MAX_REPLICATIONS {
        e.push(
            "replications",
            format!(
                "must be at most {MAX_REPLICATIONS}, got {}",
                file.replications
            ),
        );
    }
    if file.duration.is_some_and(|d| d.is_zero()) {
        e.push(
            "duration",
            "must be > 0 (or None to run until all work is done)",
        );
    }
    let metrics = validate_metrics(&mut e, &file.metrics);

    check_names(
        &mut e,
        "services",
        file.services.iter().map(|s| s.name.as_str()),
    );
    check_names(
        &mut e,
        "clients",
        file.clients.iter().map(|c| c.name.as_str()),
    );
    check_names(
        &mut e,
        "rate_limiters",
        file.rate_limiters.iter().map(|l| l.name.as_str()),
    );
    check_names(&mut e, "buses", file.buses.iter().map(|b| b.name.as_str()));
    check_names(&mut e, "logs", file.logs.iter().map(|l| l.name.as_str()));
    check_names(&mut e, "locks", file.locks.iter().map(|l| l.name.as_str()));
    let service_names: Vec<&str> = file.services.iter().map(|s| s.name.as_str()).collect();
    let limiter_names: Vec<&str> = file.rate_limiters.iter().map(|l| l.name.as_str()).collect();
    let bus_names: Vec<&str> = file.buses.iter().map(|b| b.name.as_str()).collect();
    let log_names: Vec<&str> = file.logs.iter().map(|l| l.name.as_str()).collect();
    // Targets share one namespace, so a name always means one thing.
    for (i, b) in bus_names.iter().enumerate() {
        if service_names.contains(b) {
            e.push(
                format!("buses[{i}].name"),
                format!("{b:?} is also a service name"),
            );
        }
    }
    for (i, l) in log_names.iter().enumerate() {
        if service_names.contains(l) || bus_names.contains(l) {
            e.push(
                format!("logs[{i}].name"),
                format!("{l:?} is also a service or bus name"),
            );
        }
    }
    let slots: Vec<u32> = file
        .services
        .iter()
        .map(|s| {
            s.autoscale
                .as_ref()
                .map(|a| a.max_replicas)
                .or(s.replicas)
                .unwrap_or(1)
        })
        .collect();
    let replicated: u64 = slots
        .iter()
        .filter(|&&n| n > 1)
        .map(|&n| u64::from(n))
        .sum();
    let total = super::limits::MAX_TOTAL_REPLICAS;
    if replicated > total {
        e.push(
            "services",
            format!(
                "{replicated} replica slots in all (replicas, autoscale.max_replicas): at most {total}"
            ),
        );
    }
    let initial: Vec<u32> = file
        .services
        .iter()
        .map(|s| {
            s.replicas
                .or(s.autoscale.as_ref().map(|a| a.min_replicas))
                .unwrap_or(1)
        })
        .collect();
    let ctx = Names {
        services: &service_names,
        slots: &slots,
        initial: &initial,
        limiters: &limiter_names,
        buses: &bus_names,
        logs: &log_names,
    };

    let limiters: Vec<(String, TokenBucket)> = file
        .rate_limiters
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            e.check(&format!("rate_limiters[{i}]"), l.validate())
                .map(|b| (l.name.clone(), b))
        })
        .collect();

    let services: Vec<Service> = file
        .services
        .iter()
        .enumerate()
        .filter_map(|(i, s)| validate_service(&mut e, &format!("services[{i}]"), s, &ctx))
        .collect();
    check_call_graph(&mut e, file, &service_names);

    let clients: Vec<Client> = file
        .clients
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            validate_client(
                &mut e,
                &format!("clients[{i}]"),
                c,
                &ctx,
                base_dir,
                file.duration,
            )
        })
        .collect();

    let faults: Vec<Fault> = file
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, f)| validate_fault(&mut e, &format!("faults[{i}]"), f, &ctx))
        .collect();
    let buses: Vec<Bus> = file
        .buses
        .iter()
        .enumerate()
        .filter_map(|(i, b)| validate_bus(&mut e, &format!("buses[{i}]"), b, &ctx))
        .collect();
    let logs: Vec<Log> = file
        .logs
        .iter()
        .enumerate()
        .filter_map(|(i, l)| validate_log(&mut e, &format!("logs[{i}]"), l))
        .collect();
    let locks: Vec<Lock> = file
        .locks
        .iter()
        .enumerate()
        .filter_map(|(i, l)| validate_lock(&mut e, &format!("locks[{i}]"), l))
        .collect();
    if file.duration.is_none() && !file.locks.is_empty() {
        e.push(
            "duration",
            "a scenario with locks needs a duration: lock contenders never stop on their own",
        );
    }

    let disturbance = metrics.as_ref().and_then(|m| m.disturbance).or_else(|| {
        let windows: Vec<(SimTime, SimTime)> = faults.iter().map(|f| (f.start, f.end)).collect();
        span(&windows).or_else(|| schedule_spike_span(&clients))
    });

    if !e.0.is_empty() {
        return Err(e.0);
    }
    let mut metrics = metrics.expect("no errors");
    metrics.disturbance = disturbance;
    Ok(Scenario {
        name: file.name.clone(),
        description: file.description.clone(),
        seed: file.seed,
        duration: file.duration,
        replications: file.replications,
        metrics,
        services,
        clients,
        limiters,
        faults,
        buses,
        logs,
        locks,
        source: file.clone(),
    })
}

pub(super) fn span(windows: &[(SimTime, SimTime)]) -> Option<(SimTime, SimTime)> {
    let start = windows.iter().map(|w| w.0).min()?;
    let end = windows.iter().map(|w| w.1).max()?;
    Some((start, end))
}

/// Names for a message: in order, a name holding a control character
/// quoted and escaped (it is reported on its own; it must not reach the
/// terminal raw).
pub(super) fn name_list(names: &[&str]) -> String {
    let shown: Vec<String> = names
        .iter()
        .map(|n| {
            if n.chars().any(char::is_control) {
                format!("{n:?}")
            } else {
                n.to_string()
            }
        })
        .collect();
    shown.join(", ")
}

pub(crate) struct Names<'a> {
    pub(super) services: &'a [&'a str],
    /// Each service's replica slots, in the same order.
    pub(super) slots: &'a [u32],
    /// Each service's replicas at the start.
    pub(super) initial: &'a [u32],
    pub(super) limiters: &'a [&'a str],
    pub(super) buses: &'a [&'a str],
    pub(super) logs: &'a [&'a str],
}

fn validate_metrics(e: &mut Errors, m: &MetricsSpec) -> Option<MetricsConfig> {
    let mut ok = true;
    if m.bucket.is_zero() {
        e.push("metrics.bucket", "must be > 0");
        ok = false;
    }
    if m.recovery_window.is_zero() {
        e.push("metrics.recovery_window", "must be > 0");
        ok = false;
    }
    if !(0.0..1.0).contains(&m.recovery_tolerance) {
        e.push(
            "metrics.recovery_tolerance",
            format!("must be in [0, 1), got {}", m.recovery_tolerance),
        );
        ok = false;
    }
    let disturbance = match m.disturbance {
        Some((s, end)) if end <= s => {
            e.push("metrics.disturbance", "end must be after start");
            ok = false;
            None
        }
        Some((s, end)) => Some((SimTime::at(s), SimTime::at(end))),
        None => None,
    };
    ok.then_some(MetricsConfig {
        bucket: m.bucket,
        recovery_window: m.recovery_window,
        recovery_tolerance: m.recovery_tolerance,
        disturbance,
    })
}

pub(super) fn validate_caller(
    e: &mut Errors,
    path: &str,
    c: &CallSpec,
    names: &Names,
) -> Option<Caller> {
    let before = e.0.len();
    let target = find(names.services, &c.target);
    if target.is_none() {
        e.push(
            format!("{path}.target"),
            format!(
                "no service named {:?} (services: {})",
                c.target,
                name_list(names.services)
            ),
        );
    }
    let network = c
        .network
        .as_ref()
        .and_then(|d| dist(e, &format!("{path}.network"), d));
    let load_balancer = c.load_balancer.clone().unwrap_or_default();
    if let Some(t) = target {
        e.check(
            &format!("{path}.load_balancer"),
            crate::balancer::validate_balancer(&load_balancer, names.slots[t] as usize),
        );
    }
    let outlier_ejection = c
        .outlier_ejection
        .as_ref()
        .and_then(|o| e.check(&format!("{path}.outlier_ejection"), o.validate()));
    // Each configured policy validates its own field, in file order.
    let mut cx = SpecCx {
        errors: e,
        limiters: names.limiters,
    };
    let mut policies: Vec<(PolicyKind, Policy)> = PolicyKind::ALL
        .iter()
        .filter(|k| k.configured(c))
        .filter_map(|&k| k.validate(c, path, &mut cx).map(|p| (k, p)))
        .collect();

    let order: Vec<PolicyKind> = match &c.order {
        None => PolicyKind::default_order()
            .into_iter()
            .filter(|k| k.configured(c))
            .collect(),
        Some(order) => {
            for (i, k) in order.iter().enumerate() {
                if order[..i].contains(k) {
                    e.push(
                        format!("{path}.order[{i}]"),
                        format!("{k:?} is listed twice"),
                    );
                } else if !k.configured(c) {
                    e.push(
                        format!("{path}.order[{i}]"),
                        format!("{k:?} is listed but not configured"),
                    );
                }
            }
            for k in PolicyKind::default_order() {
                if k.configured(c) && !order.contains(&k) {
                    e.push(
                        format!("{path}.order"),
                        format!("{k:?} is configured but missing from the order"),
                    );
                }
            }
            if let Some(i) = order[..order.len().saturating_sub(1)]
                .iter()
                .position(|k| k.innermost())
            {
                e.push(
                    format!("{path}.order[{i}]"),
                    format!(
                        "{:?} must come last: it sends the attempts itself, several at once",
                        order[i]
                    ),
                );
            }
            order.clone()
        }
    };
    if e.0.len() > before {
        return None;
    }
    let layers = order
        .iter()
        .map(|k| {
            let i = policies
                .iter()
                .position(|(p, _)| p == k)
                .expect("every ordered policy is configured and valid");
            policies.swap_remove(i).1
        })
        .collect();
    Some(Caller {
        target: Target::Service(target?),
        network,
        layers,
        load_balancer,
        avoid_previous_replica: c.avoid_previous_replica,
        outlier_ejection,
    })
}
