//! From a parsed file to a `Scenario` that can only hold sensible values:
//! names resolved to indices, distributions and policies validated,
//! probabilities in [0, 1], rates finite and positive, the call graph free
//! of cycles. Every problem is reported with its field path, all at once.

use std::path::Path;

use sim_core::{Dist, DistSpec, FieldError, SimDuration, SimTime};

use super::model::*;
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

fn positive_rate(v: f64, field: &str) -> Result<f64, FieldError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(FieldError::new(
            field,
            format!("must be a finite number > 0, got {v}"),
        ))
    }
}

fn dist(errors: &mut Errors, path: &str, spec: &DistSpec) -> Option<Dist> {
    errors.check(path, spec.validate())
}

fn find(names: &[&str], wanted: &str) -> Option<usize> {
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
    if file.replications == 0 {
        e.push("replications", "must be >= 1");
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
    let ctx = Names {
        services: &service_names,
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

fn span(windows: &[(SimTime, SimTime)]) -> Option<(SimTime, SimTime)> {
    let start = windows.iter().map(|w| w.0).min()?;
    let end = windows.iter().map(|w| w.1).max()?;
    Some((start, end))
}

/// The span of schedule steps whose rate exceeds the schedule's first rate.
fn schedule_spike_span(clients: &[Client]) -> Option<(SimTime, SimTime)> {
    let mut windows = Vec::new();
    for c in clients {
        if let Workload::Schedule { steps, .. } = &c.workload {
            let base = steps.first().map_or(0.0, |s| s.1);
            for (k, &(at, rate)) in steps.iter().enumerate() {
                if rate > base {
                    let end = steps.get(k + 1).map_or(SimTime::MAX, |s| s.0);
                    windows.push((at, end));
                }
            }
        }
    }
    span(&windows)
}

pub(crate) struct Names<'a> {
    services: &'a [&'a str],
    limiters: &'a [&'a str],
    buses: &'a [&'a str],
    logs: &'a [&'a str],
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

fn validate_service(e: &mut Errors, path: &str, s: &ServiceSpec, names: &Names) -> Option<Service> {
    let before = e.0.len();
    if s.workers == Some(0) {
        e.push(
            format!("{path}.workers"),
            "must be >= 1 (or None for unlimited)",
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
fn check_call_graph(e: &mut Errors, file: &ScenarioFile, names: &[&str]) {
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

fn validate_caller(e: &mut Errors, path: &str, c: &CallSpec, names: &Names) -> Option<Caller> {
    let before = e.0.len();
    let target = find(names.services, &c.target);
    if target.is_none() {
        e.push(
            format!("{path}.target"),
            format!(
                "no service named {:?} (services: {})",
                c.target,
                names.services.join(", ")
            ),
        );
    }
    let network = c
        .network
        .as_ref()
        .and_then(|d| dist(e, &format!("{path}.network"), d));
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
    })
}

fn validate_client(
    e: &mut Errors,
    path: &str,
    c: &ClientSpec,
    names: &Names,
    base_dir: &Path,
    duration: Option<SimDuration>,
) -> Option<Client> {
    let before = e.0.len();
    let target = if let Some(b) = find(names.buses, &c.target) {
        no_policies(e, path, c, "a bus");
        Some(ClientTarget::Bus(b))
    } else if let Some(l) = find(names.logs, &c.target) {
        no_policies(e, path, c, "a log");
        Some(ClientTarget::Log(l))
    } else {
        validate_caller(e, path, &c.call(), names).map(|c| ClientTarget::Service(Box::new(c)))
    };
    let wpath = format!("{path}.workload");
    let workload = match &c.workload {
        WorkloadSpec::Poisson { rate_per_s } => e
            .check(&wpath, positive_rate(*rate_per_s, "rate_per_s"))
            .map(|r| Workload::Poisson {
                mean_gap: Dist::exponential(SimDuration::from_secs_f64(1.0 / r)),
            }),
        WorkloadSpec::Constant { rate_per_s } => e
            .check(&wpath, positive_rate(*rate_per_s, "rate_per_s"))
            .map(|r| Workload::Constant {
                gap: SimDuration::from_secs_f64(1.0 / r),
            }),
        WorkloadSpec::Bursts { size, every } => {
            if *size == 0 {
                e.push(format!("{wpath}.size"), "must be >= 1");
            }
            if every.is_zero() {
                e.push(format!("{wpath}.every"), "must be > 0");
            }
            Some(Workload::Bursts {
                size: *size,
                every: *every,
            })
        }
        WorkloadSpec::Schedule { steps, poisson } => {
            if steps.is_empty() {
                e.push(format!("{wpath}.steps"), "must hold at least one step");
            }
            for (i, s) in steps.iter().enumerate() {
                if !(s.rate_per_s.is_finite() && s.rate_per_s >= 0.0) {
                    e.push(
                        format!("{wpath}.steps[{i}].rate_per_s"),
                        format!("must be a finite number >= 0, got {}", s.rate_per_s),
                    );
                }
                if i > 0 && s.at <= steps[i - 1].at {
                    e.push(
                        format!("{wpath}.steps[{i}].at"),
                        "steps must be in increasing order of time",
                    );
                }
            }
            Some(Workload::Schedule {
                steps: steps
                    .iter()
                    .map(|s| (SimTime::at(s.at), s.rate_per_s))
                    .collect(),
                poisson: *poisson,
            })
        }
        WorkloadSpec::Replay { file } => match load_replay(&base_dir.join(file)) {
            Ok(arrivals) => Some(Workload::Replay { arrivals }),
            Err(msg) => {
                e.push(format!("{wpath}.file"), msg);
                None
            }
        },
        WorkloadSpec::ClosedLoop { users, think } => {
            if *users == 0 {
                e.push(format!("{wpath}.users"), "must be >= 1");
            }
            let think = match think {
                None => Some(None),
                Some(d) => dist(e, &format!("{wpath}.think"), d).map(Some),
            };
            think.map(|think| Workload::ClosedLoop {
                users: *users,
                think,
            })
        }
    };
    if c.requests == Some(0) {
        e.push(
            format!("{path}.requests"),
            "must be >= 1 (or None for no limit)",
        );
    }
    if let Some(stop) = c.stop
        && stop <= c.start
    {
        e.push(format!("{path}.stop"), "must be after start");
    }
    let finite = c.requests.is_some()
        || c.stop.is_some()
        || matches!(c.workload, WorkloadSpec::Replay { .. });
    if duration.is_none() && !finite {
        e.push(
            format!("{path}.requests"),
            "the scenario has no duration, so this client needs a requests limit or a stop time",
        );
    }
    if e.0.len() > before {
        return None;
    }
    Some(Client {
        name: c.name.clone(),
        workload: workload?,
        requests: c.requests,
        start: SimTime::at(c.start),
        stop: c.stop.map(SimTime::at),
        target: target?,
    })
}

/// Reads arrival instants: first CSV column, seconds or a duration with a
/// unit; a first line that is not a time is a header.
fn load_replay(path: &Path) -> Result<Vec<SimTime>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let cell = line.split(',').next().unwrap_or("").trim();
        if cell.is_empty() || cell.starts_with('#') {
            continue;
        }
        let parsed = cell.parse::<SimDuration>().ok().or_else(|| {
            cell.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(SimDuration::from_secs_f64)
        });
        match parsed {
            Some(d) => out.push(SimTime::at(d)),
            None if n == 0 => {} // header
            None => {
                return Err(format!(
                    "{}:{}: {cell:?} is not a time (seconds, or a duration like \"125ms\")",
                    path.display(),
                    n + 1
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("{} holds no arrival times", path.display()));
    }
    out.sort();
    Ok(out)
}

fn validate_fault(e: &mut Errors, path: &str, f: &FaultSpec, names: &Names) -> Option<Fault> {
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
    Some(Fault {
        spec: f.clone(),
        target: target?,
        start: SimTime::at(start),
        end: SimTime::at(end),
    })
}

/// Clients that publish to a bus or append to a log have no call policies.
fn no_policies(e: &mut Errors, path: &str, c: &ClientSpec, what: &str) {
    for field in c.call_fields_set() {
        e.push(
            format!("{path}.{field}"),
            format!(
                "the target {:?} is {what}: publishing has no call policies",
                c.target
            ),
        );
    }
}

fn validate_bus(e: &mut Errors, path: &str, b: &BusSpec, names: &Names) -> Option<Bus> {
    let before = e.0.len();
    if b.capacity == Some(0) {
        e.push(
            format!("{path}.capacity"),
            "must be >= 1 (or None for unbounded)",
        );
    }
    if b.consumers == 0 {
        e.push(format!("{path}.consumers"), "must be >= 1");
    }
    let handler = match &b.handler {
        HandlerSpec::Call(c) => validate_caller(e, &format!("{path}.handler.Call"), c, names)
            .map(|c| Handler::Call(Box::new(c))),
        HandlerSpec::Work {
            duration,
            failure_probability,
        } => {
            let hp = format!("{path}.handler.Work");
            let d = dist(e, &format!("{hp}.duration"), duration);
            let p = e.check(
                &hp,
                Probability::new(*failure_probability, "failure_probability"),
            );
            d.zip(p)
                .map(|(duration, failure_probability)| Handler::Work {
                    duration,
                    failure_probability,
                })
        }
    };
    let r = &b.redelivery;
    if r.max_deliveries == 0 {
        e.push(
            format!("{path}.redelivery.max_deliveries"),
            "must be >= 1 (it counts the first delivery)",
        );
    }
    let backoff = e.check(&format!("{path}.redelivery.backoff"), r.backoff.validate());
    if b.idempotency.as_ref().is_some_and(|i| i.window.is_zero()) {
        e.push(format!("{path}.idempotency.window"), "must be > 0");
    }
    let crashes = b.crashes.as_ref().and_then(|c| {
        let cp = format!("{path}.crashes");
        let p = e.check(&cp, Probability::new(c.probability, "probability"));
        if c.visibility_timeout.is_zero() {
            e.push(format!("{cp}.visibility_timeout"), "must be > 0");
        }
        p.map(|probability| ConsumerCrashes {
            probability,
            restart: c.restart,
            visibility_timeout: c.visibility_timeout,
        })
    });
    if e.0.len() > before {
        return None;
    }
    Some(Bus {
        name: b.name.clone(),
        capacity: b.capacity.map(|c| c as usize),
        when_full: b.when_full,
        consumers: b.consumers as usize,
        handler: handler?,
        max_deliveries: r.max_deliveries,
        backoff: backoff?,
        mode: r.mode,
        idempotency_window: b.idempotency.as_ref().map(|i| i.window),
        crashes,
    })
}

fn validate_log(e: &mut Errors, path: &str, l: &LogSpec) -> Option<Log> {
    let before = e.0.len();
    if l.partitions == 0 {
        e.push(format!("{path}.partitions"), "must be >= 1");
    }
    if l.consumers == 0 {
        e.push(format!("{path}.consumers"), "must be >= 1");
    }
    if l.keys == Some(0) {
        e.push(
            format!("{path}.keys"),
            "must be >= 1 (or None for round robin)",
        );
    }
    let processing = dist(e, &format!("{path}.processing"), &l.processing);
    match (&l.commit.every_messages, &l.commit.interval) {
        (None, None) => e.push(
            format!("{path}.commit"),
            "needs every_messages, interval, or both",
        ),
        (Some(0), _) => e.push(format!("{path}.commit.every_messages"), "must be >= 1"),
        (_, Some(i)) if i.is_zero() => e.push(format!("{path}.commit.interval"), "must be > 0"),
        _ => {}
    }
    for (i, c) in l.crashes.iter().enumerate() {
        if c.consumer >= l.consumers {
            e.push(
                format!("{path}.crashes[{i}].consumer"),
                format!("must be < consumers ({}), got {}", l.consumers, c.consumer),
            );
        }
    }
    if e.0.len() > before {
        return None;
    }
    Some(Log {
        name: l.name.clone(),
        partitions: l.partitions as usize,
        keys: l.keys,
        consumers: l.consumers as usize,
        processing: processing?,
        commit_every: l.commit.every_messages,
        commit_interval: l.commit.interval,
        crashes: l
            .crashes
            .iter()
            .map(|c| (c.consumer as usize, SimTime::at(c.at), c.restart_after))
            .collect(),
    })
}

fn validate_lock(e: &mut Errors, path: &str, l: &LockSpec) -> Option<Lock> {
    let before = e.0.len();
    if l.contenders == 0 {
        e.push(format!("{path}.contenders"), "must be >= 1");
    }
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
