//! Client groups: workloads (open and closed loop) and their target, as
//! written in a file and validated. Their runtime is `world/client.rs`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sim_core::{Dist, DistSpec, SimDuration, SimTime};

use super::model::*;
use super::spec::*;
use super::validation::*;

// The file format.

fn yes() -> bool {
    true
}

/// How requests arrive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum WorkloadSpec {
    /// Open loop, exponential gaps.
    Poisson {
        /// Mean arrivals per second.
        rate_per_s: f64,
    },
    /// Open loop, equal gaps.
    Constant {
        /// Arrivals per second.
        rate_per_s: f64,
    },
    /// Open loop: `size` requests at once, one burst every `every` (S1:
    /// 350 every 80ms). With `size` equal to `requests`, all at once.
    Bursts {
        /// Requests per burst.
        size: u32,
        /// Time between bursts.
        every: SimDuration,
    },
    /// Open loop, piecewise-constant rate: each step holds from its `at`
    /// until the next step (e.g. 8/s with a 5 s spike to 30/s). Poisson
    /// arrivals unless `poisson: false` (equal gaps).
    Schedule {
        /// The steps, in increasing order of time.
        steps: Vec<RateStep>,
        #[serde(default = "yes")]
        /// Poisson arrivals (default) or equal gaps.
        poisson: bool,
    },
    /// Open loop: arrival instants from a CSV file (path relative to the
    /// scenario), one per line in the first column, either seconds
    /// ("0.125") or with a unit ("125ms"); a header line is skipped.
    Replay {
        /// The CSV file, relative to the scenario.
        file: String,
    },
    /// Closed loop: `users` callers, each sending a request, waiting for it
    /// to end, then thinking before the next.
    ClosedLoop {
        /// Users, each with one request at a time.
        users: u32,
        #[serde(default)]
        /// Think time between a request's end and the next (default none).
        think: Option<DistSpec>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// One step of a rate schedule.
pub struct RateStep {
    /// When the step starts.
    pub at: SimDuration,
    /// Its rate, per second (0 pauses the workload).
    pub rate_per_s: f64,
}

// Validated.

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

#[derive(Clone, Debug)]
/// A validated client group.
pub struct Client {
    /// Its name.
    pub name: String,
    /// When its requests start.
    pub workload: Workload,
    /// At most this many requests.
    pub requests: Option<u64>,
    /// No requests before this instant.
    pub start: SimTime,
    /// No requests from this instant on.
    pub stop: Option<SimTime>,
    /// Where its requests go.
    pub target: ClientTarget,
    /// Its requests' business priority (0: most important).
    pub priority: u8,
    /// Independent clients it stands for, each with its own policies.
    pub instances: u32,
}

#[derive(Clone, Debug)]
/// A validated workload.
pub enum Workload {
    /// Poisson arrivals.
    Poisson {
        /// Exponential gaps with this mean.
        mean_gap: Dist,
    },
    /// Equal gaps.
    Constant {
        /// The gap.
        gap: SimDuration,
    },
    /// Bursts of simultaneous requests.
    Bursts {
        /// Requests per burst.
        size: u32,
        /// Time between bursts.
        every: SimDuration,
    },
    /// Steps sorted by time; rates per second.
    Schedule {
        /// (start, rate per second), sorted by time.
        steps: Vec<(SimTime, f64)>,
        /// Poisson arrivals or equal gaps.
        poisson: bool,
    },
    /// Arrival instants read from a file.
    Replay {
        /// The instants, sorted.
        arrivals: Vec<SimTime>,
    },
    /// Users that wait for their request, then think.
    ClosedLoop {
        /// Users.
        users: u32,
        /// Think time, if any.
        think: Option<Dist>,
    },
}

// Validation.

pub(super) fn validate_client(
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
    } else if find(names.services, &c.target).is_none() {
        e.push(
            format!("{path}.target"),
            format!(
                "no service, bus or log named {:?} (services: {}; buses: {}; logs: {})",
                c.target,
                super::validation::name_list(names.services),
                super::validation::name_list(names.buses),
                super::validation::name_list(names.logs),
            ),
        );
        None
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
            super::limits::at_most(
                e,
                format!("{wpath}.size"),
                (*size).into(),
                super::limits::MAX_COUNT,
            );
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
                if !(s.rate_per_s.is_finite()
                    && s.rate_per_s >= 0.0
                    && s.rate_per_s <= super::limits::MAX_RATE_PER_S)
                {
                    e.push(
                        format!("{wpath}.steps[{i}].rate_per_s"),
                        format!(
                            "must be a finite number from 0 to {:e}, got {}",
                            super::limits::MAX_RATE_PER_S,
                            s.rate_per_s
                        ),
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
            super::limits::at_most(
                e,
                format!("{wpath}.users"),
                (*users).into(),
                super::limits::MAX_COUNT,
            );
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
    if let Some(n) = c.requests {
        super::limits::at_most(
            e,
            format!("{path}.requests"),
            n,
            super::limits::MAX_REQUESTS,
        );
    }
    if let Some(stop) = c.stop
        && stop <= c.start
    {
        e.push(format!("{path}.stop"), "must be after start");
    }
    let instances = c.instances.unwrap_or(1);
    if let Some(n) = c.instances {
        let p = format!("{path}.instances");
        if n == 0 {
            e.push(p, "must be >= 1");
        } else if !matches!(target, Some(ClientTarget::Service(_)) | None) {
            e.push(p, "only a client calling a service has policies to copy");
        } else {
            super::limits::at_most(e, p.clone(), n.into(), super::limits::MAX_INSTANCES);
            if let Some(ClientTarget::Service(caller)) = &target {
                let entries: u64 = caller
                    .layers
                    .iter()
                    .filter_map(crate::policy::Policy::as_breaker)
                    .map(|b| b.window_entries())
                    .sum();
                if entries * u64::from(n) > super::limits::MAX_WINDOW {
                    e.push(
                        p,
                        format!(
                            "{n} copies of a breaker window of {entries} entries exceed {}: use fewer instances or a smaller window",
                            super::limits::MAX_WINDOW
                        ),
                    );
                }
            }
        }
    }
    let priority = c.priority.unwrap_or(0);
    if usize::from(priority) >= crate::admission::BUSINESS_LEVELS {
        e.push(
            format!("{path}.priority"),
            format!(
                "must be in 0..={} (0 is the most important), got {priority}",
                crate::admission::BUSINESS_LEVELS - 1
            ),
        );
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
        priority,
        instances,
    })
}

/// Reads arrival instants: first CSV column, seconds or a duration with a
/// unit; a first line that is not a time is a header.
pub(super) fn load_replay(path: &Path) -> Result<Vec<SimTime>, String> {
    let text = super::limits::read_text_bounded(path, super::limits::MAX_REPLAY_BYTES)
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
                // The line is not echoed: the file may be anything.
                return Err(format!(
                    "{}:{}: the first column is not a time (seconds, or a duration like \"125ms\")",
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

/// Clients that publish to a bus or append to a log have no call policies.
pub(super) fn no_policies(e: &mut Errors, path: &str, c: &ClientSpec, what: &str) {
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

/// The span of schedule steps whose rate exceeds the schedule's first rate.
pub(super) fn schedule_spike_span(clients: &[Client]) -> Option<(SimTime, SimTime)> {
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
