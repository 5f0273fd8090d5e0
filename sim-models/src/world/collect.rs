//! The state at the end of a run, as metrics and series.

use sim_core::{SimDuration, SimTime};

use super::World;
use crate::metrics::*;
use crate::scenario::ClientTarget;

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// A breaker's state changes as a document's series.
fn state_changes(b: &crate::policy::breaker::Breaker) -> Vec<StateChange> {
    b.transitions
        .iter()
        .map(|&(t, state)| StateChange {
            t_s: t.as_secs_f64(),
            state,
        })
        .collect()
}

/// Counts per bucket added up across series (empty without any).
fn sum_counts(series: impl Iterator<Item = Vec<u64>>) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    for counts in series {
        if out.len() < counts.len() {
            out.resize(counts.len(), 0);
        }
        for (o, c) in out.iter_mut().zip(counts) {
            *o += c;
        }
    }
    out
}

/// Means per bucket added up across series (exact for one series).
fn sum_means(series: impl Iterator<Item = Vec<f64>>) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for (k, means) in series.enumerate() {
        if k == 0 {
            out = means;
            continue;
        }
        if out.len() < means.len() {
            out.resize(means.len(), 0.0);
        }
        for (o, m) in out.iter_mut().zip(means) {
            *o += m;
        }
    }
    out
}

/// What the replicas' DAGOR admission did, together (one replica's as
/// it is).
fn admission_metrics(reps: &[super::ServiceRt], end: SimTime) -> Option<AdmissionMetrics> {
    let all: Vec<AdmissionMetrics> = reps
        .iter()
        .filter_map(|r| {
            r.dagor.as_ref().map(|d| {
                let (windows, overloaded) = d.windows();
                AdmissionMetrics {
                    rejected: d.rejected().into(),
                    level_mean: d.track.mean(end).into(),
                    level_min: u64::from(d.track.min()).into(),
                    windows: windows.into(),
                    overloaded_windows: overloaded.into(),
                }
            })
        })
        .collect();
    let (first, rest) = all.split_first()?;
    if rest.is_empty() {
        return Some(first.clone());
    }
    let whole = |f: fn(&AdmissionMetrics) -> f64| all.iter().map(move |m| f(m) as u64);
    Some(AdmissionMetrics {
        rejected: whole(|m| m.rejected.get()).sum::<u64>().into(),
        level_mean: (all.iter().map(|m| m.level_mean.get()).sum::<f64>() / all.len() as f64).into(),
        level_min: whole(|m| m.level_min.get()).min().unwrap_or(0).into(),
        windows: whole(|m| m.windows.get()).sum::<u64>().into(),
        overloaded_windows: whole(|m| m.overloaded_windows.get()).sum::<u64>().into(),
    })
}

impl World {
    /// Each replica of service `g`, with what its callers' outlier
    /// detectors did to it.
    fn replica_metrics(&self, g: usize, end: SimTime) -> Vec<ReplicaMetrics> {
        let group = &self.groups[g];
        (0..group.slots as usize)
            .map(|k| {
                let r = &self.services[group.first as usize + k];
                let (mut ejections, mut ejected) = (0u64, 0.0f64);
                for p in &self.pipelines {
                    if p.target.service() == g
                        && let Some(o) = p.balancer.as_ref().and_then(|b| b.outlier.as_ref())
                    {
                        let (n, t) = o.host_ejected(k, end);
                        ejections += n;
                        ejected += t.as_secs_f64();
                    }
                }
                ReplicaMetrics {
                    arrivals: r.stats.arrivals.into(),
                    ok: r.stats.ok.into(),
                    errors: r.stats.errors.into(),
                    rejected: r.stats.rejected.into(),
                    in_flight_mean: r.station.stats.in_service.mean(end).into(),
                    queue_mean: r.station.stats.queue_len.mean(end).into(),
                    latency_ms: crate::metrics::latency(r.latency.summary()),
                    ejections: ejections.into(),
                    ejected_s: ejected.into(),
                }
            })
            .collect()
    }

    /// The common bucket width of every series: the widest any of them
    /// reached (they all start from the configured width and double), and
    /// at least wide enough that [0, end] takes no more than the bound on
    /// buckets (a long run whose events stopped early still ends late).
    fn common_width(&self, end: SimTime) -> SimDuration {
        let mut w = self.metrics.bucket;
        let base = w.as_nanos().max(1);
        let needed = end.as_nanos().div_ceil(super::MAX_SERIES_BUCKETS as u64);
        while w.as_nanos() < needed {
            // Doubling from the configured width, as the series coarsen.
            w = SimDuration::from_nanos(w.as_nanos().saturating_mul(2).max(base));
        }
        for c in &self.clients {
            w = w
                .max(c.offered_series.width())
                .max(c.ok_series.width())
                .max(c.failed_series.width())
                .max(c.in_flight_series.width());
        }
        for s in &self.services {
            w = w
                .max(s.arrivals_series.width())
                .max(s.completed_series.width())
                .max(s.in_flight_series().width())
                .max(s.queue_series().width());
            if let Some(g) = &s.gradient {
                w = w.max(g.track.width());
            }
            if let Some(d) = &s.dagor {
                w = w.max(d.track.width());
            }
        }
        for g in &self.groups {
            w = w.max(g.replicas_series.width());
        }
        for p in &self.pipelines {
            w = w
                .max(p.attempts_series.width())
                .max(p.calls_series.width())
                .max(p.failed_series.width());
            if let Some(l) = p.concurrency_limit() {
                w = w.max(l.track.width());
            }
        }
        for b in &self.buses {
            w = w.max(b.series_width());
        }
        for l in &self.logs {
            w = w.max(l.series_width());
        }
        w
    }

    /// Requests offered by the clients whose calls can reach service `s`
    /// (directly, through other services, or through a bus's consumers):
    /// the denominator of the service's load amplification.
    fn offered_reaching(&self, s: usize) -> u64 {
        let first_service = |c: &super::ClientRt| match &c.cfg.target {
            ClientTarget::Service(caller) => Some(caller.target.service()),
            ClientTarget::Bus(b) => self.buses[*b]
                .pipeline
                .map(|p| self.pipelines[p as usize].target.service()),
            ClientTarget::Log(_) => None,
        };
        let reaches = |from: usize| {
            let mut seen = vec![false; self.groups.len()];
            let mut stack = vec![from];
            while let Some(v) = stack.pop() {
                if std::mem::replace(&mut seen[v], true) {
                    continue;
                }
                for &p in &self.services[self.groups[v].first as usize].calls {
                    stack.push(self.pipelines[p as usize].target.service());
                }
            }
            seen[s]
        };
        self.clients
            .iter()
            .filter(|c| first_service(c).is_some_and(reaches))
            .map(|c| c.offered)
            .sum()
    }

    /// The name of what a client's requests go to.
    fn client_target_name(&self, c: &super::ClientRt) -> String {
        match &c.cfg.target {
            ClientTarget::Service(caller) => self.groups[caller.target.service()].name.clone(),
            ClientTarget::Bus(b) => self.buses[*b].cfg.name.clone(),
            ClientTarget::Log(l) => self.logs[*l].cfg.name.clone(),
        }
    }

    pub(crate) fn collect(&mut self, end: SimTime, events: u64) -> (RunMetrics, Series) {
        for p in &mut self.pipelines {
            for l in &mut p.layers {
                l.finish(end);
            }
        }
        let width = self.common_width(end);
        for c in &mut self.clients {
            c.offered_series.coarsen_to(width);
            c.ok_series.coarsen_to(width);
            c.failed_series.coarsen_to(width);
            c.in_flight_series.coarsen_to(width);
        }
        for s in &mut self.services {
            s.arrivals_series.coarsen_to(width);
            s.completed_series.coarsen_to(width);
            s.series_mut(|g| g.coarsen_to(width));
            if let Some(g) = &mut s.gradient {
                g.advance(end);
                g.track.coarsen_to(width);
            }
            if let Some(d) = &mut s.dagor {
                d.track.coarsen_to(width);
            }
        }
        for g in &mut self.groups {
            g.replicas_series.coarsen_to(width);
        }
        for p in &mut self.pipelines {
            p.attempts_series.coarsen_to(width);
            p.calls_series.coarsen_to(width);
            p.failed_series.coarsen_to(width);
            for l in &mut p.layers {
                l.coarsen_series_to(width);
            }
        }
        let bucket_s = width.as_secs_f64();
        let window_buckets = (self
            .metrics
            .recovery_window
            .as_nanos()
            .div_ceil(width.as_nanos())) as usize;

        let mut clients = Named::default();
        let mut client_series = Named::default();
        let mut breakers = Named::default();
        let no_pipeline = super::PipelineStats::default();
        for c in &self.clients {
            // A group of several instances reports them added up (its
            // breaker's states: the first instance's).
            let pls: Vec<&super::Pipeline> = match c.pipeline {
                Some(p) => self.pipelines[p as usize..(p + c.instances) as usize]
                    .iter()
                    .collect(),
                None => Vec::new(),
            };
            let pl = pls.first().copied();
            let summed;
            let st = match pls.as_slice() {
                [] => &no_pipeline,
                [one] => &one.stats,
                many => {
                    summed = super::PipelineStats::sum(many.iter().map(|p| &p.stats));
                    &summed
                }
            };
            let failed = c.stats.failures.total();
            let ok_counts = c.ok_series.counts(end);
            let failed_counts = c.failed_series.counts(end);
            let attempts_counts = sum_counts(pls.iter().map(|p| p.attempts_series.counts(end)));
            let (pre, ttr, recovered) = match self.metrics.disturbance {
                Some(d) => {
                    let (pre, ttr, rec) = time_to_recover(
                        &ok_counts,
                        &failed_counts,
                        bucket_s,
                        window_buckets,
                        d,
                        self.metrics.recovery_tolerance,
                    );
                    (pre, ttr, pre.map(|_| rec))
                }
                None => (None, None, None),
            };
            let final_buckets = window_buckets.min(ok_counts.len());
            let tail = ok_counts.len() - final_buckets;
            let final_ok: u64 = ok_counts[tail..].iter().sum();
            let final_failed: u64 = failed_counts[tail..].iter().sum();
            let final_success_rate = ratio(final_ok, final_ok + final_failed);
            let healthy_at_end = final_success_rate
                .map(|f| f >= pre.unwrap_or(1.0) * (1.0 - self.metrics.recovery_tolerance) - 1e-12);
            let breaker = pl.and_then(|p| p.breaker());
            let lc = super::Pipeline::counters_of(&pls);
            clients.0.push((
                c.cfg.name.clone(),
                ClientMetrics {
                    target: self.client_target_name(c),
                    offered: c.offered.into(),
                    ok: c.stats.ok.into(),
                    degraded: c.stats.degraded.into(),
                    failed: failed.into(),
                    unfinished: (c.offered - c.stats.ok - c.stats.degraded - failed).into(),
                    success_rate: ratio(c.stats.ok + c.stats.degraded, c.offered).map(Num::from),
                    failures: c.stats.failures.breakdown(),
                    attempts: st.attempts.into(),
                    retries: lc.retries.into(),
                    timeouts: lc.timeouts.into(),
                    deadlines_exceeded: lc.deadlines_exceeded.into(),
                    cb_open: lc.cb_open.into(),
                    bulkhead_rejected: lc.bulkhead_rejected.into(),
                    rate_limited: lc.rate_limited.into(),
                    throttled: lc.throttled.into(),
                    budget_denied: lc.budget_denied.into(),
                    breaker_opened: lc.breaker_opened.into(),
                    retry_amplification: (c.pipeline.and_then(|_| ratio(st.attempts, c.offered)))
                        .map(Num::from),
                    retries_per_request: (c.pipeline.and_then(|_| ratio(lc.retries, c.offered)))
                        .map(Num::from),
                    latency_ms: crate::metrics::latency(c.latency_ok.summary()),
                    latency_all_ms: crate::metrics::latency({
                        let mut all = c.latency_ok.clone();
                        all.merge(&c.latency_failed);
                        all.summary()
                    }),
                    makespan_s: c.last_completion.map(|t| t.as_secs_f64()).map(Num::from),
                    time_to_recover_s: ttr.map(Num::from),
                    recovered: recovered.map(Flag::from),
                    pre_disturbance_success_rate: pre.map(Num::from),
                    final_success_rate: final_success_rate.map(Num::from),
                    healthy_at_end: healthy_at_end.map(Flag::from),
                    peak_attempts_per_bucket: (attempts_counts.iter().copied().max().unwrap_or(0))
                        .into(),
                    hedging: pl.and_then(|p| p.hedging(&lc)),
                    outlier_ejection: super::Pipeline::ejection_metrics_of(&pls),
                    concurrency_limit: super::Pipeline::limit_metrics_of(&pls, end),
                    retry_after_honoured: lc.retry_after_honoured.into(),
                    retry_after_refused: lc.retry_after_refused.into(),
                    custom: crate::metrics::Named(
                        lc.custom
                            .0
                            .into_iter()
                            .map(|(k, v)| (k, v.into()))
                            .collect(),
                    ),
                },
            ));
            client_series.0.push((
                c.cfg.name.clone(),
                ClientSeries {
                    offered: c.offered_series.counts(end),
                    ok: ok_counts,
                    failed: failed_counts,
                    attempts: attempts_counts,
                    in_flight: c.in_flight_series.means(end),
                    concurrency_limit: super::Pipeline::limit_series_of(&pls, end),
                },
            ));
            if let Some(b) = breaker {
                breakers.0.push((c.cfg.name.clone(), state_changes(b)));
            }
        }

        let mut services = Named::default();
        let mut service_series = Named::default();
        for g in 0..self.groups.len() {
            let group = &self.groups[g];
            let reps = &self.services[group.first as usize..(group.first + group.slots) as usize];
            let s = &reps[0];
            let replicated = group.replicated();
            // Each replica's pipelines for the downstream call `i`.
            let call_pipelines = |i: usize| -> Vec<&super::Pipeline> {
                reps.iter()
                    .map(|r| &self.pipelines[r.calls[i] as usize])
                    .collect()
            };
            let calls = (0..s.calls.len())
                .map(|i| {
                    let slice = call_pipelines(i);
                    let pl = slice[0];
                    let st = super::PipelineStats::sum(slice.iter().map(|p| &p.stats));
                    let lc = super::Pipeline::counters_of(&slice);
                    CallMetrics {
                        target: self.groups[pl.target.service()].name.clone(),
                        calls: st.calls.into(),
                        attempts: st.attempts.into(),
                        retries: lc.retries.into(),
                        timeouts: lc.timeouts.into(),
                        cb_open: lc.cb_open.into(),
                        failed: st.failed.into(),
                        retry_amplification: (ratio(st.attempts, st.calls)).map(Num::from),
                        retries_per_request: (ratio(lc.retries, st.calls)).map(Num::from),
                        hedging: pl.hedging(&lc),
                        outlier_ejection: super::Pipeline::ejection_metrics_of(&slice),
                        concurrency_limit: super::Pipeline::limit_metrics_of(&slice, end),
                        retry_after_honoured: lc.retry_after_honoured.into(),
                        retry_after_refused: lc.retry_after_refused.into(),
                    }
                })
                .collect();
            let mut st = super::ServiceStats::default();
            for r in reps {
                st.add(&r.stats);
            }
            let sum = |f: &dyn Fn(&super::ServiceRt) -> f64| reps.iter().map(f).sum::<f64>();
            let (latency, wait) = match (&group.latency, &group.wait) {
                (Some(l), Some(w)) => (l, w),
                _ => (&s.latency, &s.station.stats.wait),
            };
            let (in_flight_max, queue_max) = if replicated {
                (group.busy.max(), group.queue.max())
            } else {
                (
                    s.station.stats.in_service.max(),
                    s.station.stats.queue_len.max(),
                )
            };
            let waited: u64 = reps.iter().map(|r| r.station.stats.waited).sum();
            let started: u64 = reps.iter().map(|r| r.station.stats.started).sum();
            let shed: u64 = reps.iter().map(|r| r.station.stats.shed).sum();
            let limits: Vec<LimitMetrics> = reps
                .iter()
                .filter_map(|r| {
                    r.gradient
                        .as_ref()
                        .map(|g| g.track.metrics(end, g.rejected()))
                })
                .collect();
            services.0.push((
                group.name.clone(),
                ServiceMetrics {
                    arrivals: st.arrivals.into(),
                    ok: st.ok.into(),
                    errors: st.errors.into(),
                    rejected: st.rejected.into(),
                    lost: st.lost.into(),
                    cancelled: st.cancelled.into(),
                    orphaned: st.orphaned.into(),
                    conflicts: st.conflicts.into(),
                    amplification: (ratio(st.arrivals, self.offered_reaching(g))).map(Num::from),
                    in_flight_mean: sum(&|r| r.station.stats.in_service.mean(end)).into(),
                    in_flight_max: in_flight_max.into(),
                    queue_mean: sum(&|r| r.station.stats.queue_len.mean(end)).into(),
                    queue_max: queue_max.into(),
                    latency_ms: crate::metrics::latency(latency.summary()),
                    wait_ms: crate::metrics::latency(wait.summary()),
                    shed: shed.into(),
                    waited_fraction: ratio(waited, started).map(Num::from),
                    adaptive_concurrency: super::merge_limit_metrics(limits),
                    priority_admission: admission_metrics(reps, end),
                    deadline_expired: s.cfg.propagate_deadline.map(|_| st.expired.into()),
                    autoscaling: group.autoscaler.as_ref().map(|a| AutoscaleMetrics {
                        replicas_mean: group.in_service_tw.mean(end).into(),
                        replicas_min: group.replicas_series_min().into(),
                        replicas_max: group.in_service_tw.max().into(),
                        replicas_final: group.in_service_tw.value().into(),
                        scale_outs: a.scale_outs.into(),
                        scale_ins: a.scale_ins.into(),
                    }),
                    replicas: if replicated {
                        self.replica_metrics(g, end)
                    } else {
                        Vec::new()
                    },
                    calls,
                },
            ));
            let mut call_series = Vec::new();
            for i in 0..s.calls.len() {
                let slice = call_pipelines(i);
                let pl = slice[0];
                let target = self.groups[pl.target.service()].name.clone();
                if let Some(b) = pl.breaker() {
                    breakers
                        .0
                        .push((format!("{} -> {target}", group.name), state_changes(b)));
                }
                call_series.push(CallSeries {
                    target,
                    calls: sum_counts(slice.iter().map(|p| p.calls_series.counts(end))),
                    attempts: sum_counts(slice.iter().map(|p| p.attempts_series.counts(end))),
                    failed: sum_counts(slice.iter().map(|p| p.failed_series.counts(end))),
                    concurrency_limit: super::Pipeline::limit_series_of(&slice, end),
                });
            }
            let mean_series = super::mean_series;
            service_series.0.push((
                group.name.clone(),
                ServiceSeries {
                    arrivals: sum_counts(reps.iter().map(|r| r.arrivals_series.counts(end))),
                    completed: sum_counts(reps.iter().map(|r| r.completed_series.counts(end))),
                    in_flight: sum_means(reps.iter().map(|r| r.in_flight_series().means(end))),
                    queue: sum_means(reps.iter().map(|r| r.queue_series().means(end))),
                    concurrency_limit: mean_series(
                        reps.iter()
                            .filter_map(|r| r.gradient.as_ref().map(|g| g.track.series(end)))
                            .collect(),
                    ),
                    admission_level: mean_series(
                        reps.iter()
                            .filter_map(|r| r.dagor.as_ref().map(|d| d.track.series(end)))
                            .collect(),
                    ),
                    replicas: if replicated {
                        group.replicas_series.means(end)
                    } else {
                        Vec::new()
                    },
                    replica_arrivals: if replicated {
                        reps.iter().map(|r| r.arrivals_series.counts(end)).collect()
                    } else {
                        Vec::new()
                    },
                    calls: call_series,
                },
            ));
        }

        let faults = self
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| FaultWindow {
                kind: f.spec.kind().to_string(),
                target: self.fault_target_name(i).to_string(),
                start_s: f.start.as_secs_f64(),
                end_s: f.end.as_secs_f64(),
            })
            .collect();
        let buses = Named(
            (0..self.buses.len())
                .map(|b| (self.buses[b].cfg.name.clone(), self.bus_metrics(b, end)))
                .collect(),
        );
        let bus_series = Named(
            (0..self.buses.len())
                .map(|b| {
                    (
                        self.buses[b].cfg.name.clone(),
                        self.bus_series(b, width, end),
                    )
                })
                .collect(),
        );
        let logs = Named(
            (0..self.logs.len())
                .map(|l| (self.logs[l].cfg.name.clone(), self.log_metrics(l, end)))
                .collect(),
        );
        let log_series = Named(
            (0..self.logs.len())
                .map(|l| {
                    (
                        self.logs[l].cfg.name.clone(),
                        self.log_series(l, width, end),
                    )
                })
                .collect(),
        );
        let locks = Named(
            (0..self.locks.len())
                .map(|k| (self.locks[k].cfg.name.clone(), self.lock_metrics(k)))
                .collect(),
        );
        (
            RunMetrics {
                clients,
                services,
                buses,
                logs,
                locks,
                engine: EngineMetrics {
                    events: events.into(),
                    end_s: end.as_secs_f64().into(),
                },
            },
            Series {
                bucket_s,
                clients: client_series,
                services: service_series,
                breakers,
                faults,
                buses: bus_series,
                logs: log_series,
            },
        )
    }
}
