//! The state at the end of a run, as metrics and series.

use sim_core::{SimDuration, SimTime};

use super::World;
use crate::metrics::*;

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl World {
    /// The common bucket width of every series: the widest any of them
    /// reached (they all start from the configured width and double).
    fn common_width(&self) -> SimDuration {
        let mut w = self.metrics.bucket;
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
                .max(s.in_flight_series.width())
                .max(s.queue_series.width());
        }
        for p in &self.pipelines {
            w = w.max(p.attempts_series.width());
        }
        w
    }

    pub(crate) fn collect(&mut self, end: SimTime, events: u64) -> (RunMetrics, Series) {
        let width = self.common_width();
        for c in &mut self.clients {
            c.offered_series.coarsen_to(width);
            c.ok_series.coarsen_to(width);
            c.failed_series.coarsen_to(width);
            c.in_flight_series.coarsen_to(width);
        }
        for s in &mut self.services {
            s.arrivals_series.coarsen_to(width);
            s.completed_series.coarsen_to(width);
            s.in_flight_series.coarsen_to(width);
            s.queue_series.coarsen_to(width);
        }
        for p in &mut self.pipelines {
            p.attempts_series.coarsen_to(width);
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
        for c in &self.clients {
            let pl = &self.pipelines[c.pipeline as usize];
            let st = &pl.stats;
            let failed = c.stats.failures.error
                + c.stats.failures.timeout
                + c.stats.failures.breaker
                + c.stats.failures.bulkhead
                + c.stats.failures.rate_limiter
                + c.stats.failures.throttle
                + c.stats.failures.server_rejected;
            let ok_counts = c.ok_series.counts(end);
            let failed_counts = c.failed_series.counts(end);
            let attempts_counts = pl.attempts_series.counts(end);
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
            let breaker = pl.breaker.as_ref();
            clients.0.push((
                c.cfg.name.clone(),
                ClientMetrics {
                    offered: c.offered,
                    ok: c.stats.ok,
                    degraded: c.stats.degraded,
                    failed,
                    unfinished: c.offered - c.stats.ok - c.stats.degraded - failed,
                    success_rate: ratio(c.stats.ok + c.stats.degraded, c.offered),
                    failures: c.stats.failures.clone(),
                    attempts: st.attempts,
                    retries: st.retries,
                    timeouts: st.timeouts,
                    deadlines_exceeded: st.deadlines,
                    cb_open: breaker.map_or(0, |b| b.rejected),
                    bulkhead_rejected: st.bulkhead_rejected,
                    rate_limited: st.rate_limited,
                    throttled: st.throttled,
                    budget_denied: st.budget_denied,
                    breaker_opened: breaker.map_or(0, |b| b.opened),
                    retry_amplification: ratio(st.attempts, c.offered),
                    latency_ms: c.latency_ok.summary(),
                    latency_all_ms: c.latency_all.summary(),
                    makespan_s: c.last_completion.map(|t| t.as_secs_f64()),
                    time_to_recover_s: ttr,
                    recovered,
                    pre_disturbance_success_rate: pre,
                    peak_attempts_per_bucket: attempts_counts.iter().copied().max().unwrap_or(0),
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
                },
            ));
            if let Some(b) = breaker {
                breakers.0.push((
                    c.cfg.name.clone(),
                    b.transitions
                        .iter()
                        .map(|&(t, state)| StateChange {
                            t_s: t.as_secs_f64(),
                            state,
                        })
                        .collect(),
                ));
            }
        }

        let mut services = Named::default();
        let mut service_series = Named::default();
        for s in &self.services {
            let calls = s
                .calls
                .iter()
                .map(|&p| {
                    let pl = &self.pipelines[p as usize];
                    CallMetrics {
                        target: self.services[pl.caller.target].cfg.name.clone(),
                        calls: pl.stats.calls,
                        attempts: pl.stats.attempts,
                        retries: pl.stats.retries,
                        timeouts: pl.stats.timeouts,
                        cb_open: pl.breaker.as_ref().map_or(0, |b| b.rejected),
                        failed: pl.stats.failed,
                        retry_amplification: ratio(pl.stats.attempts, pl.stats.calls),
                    }
                })
                .collect();
            let st = &s.stats;
            services.0.push((
                s.cfg.name.clone(),
                ServiceMetrics {
                    arrivals: st.arrivals,
                    ok: st.ok,
                    errors: st.errors,
                    rejected: st.rejected,
                    lost: st.lost,
                    cancelled: st.cancelled,
                    orphaned: st.orphaned,
                    conflicts: st.conflicts,
                    amplification: ratio(st.arrivals, self.total_offered),
                    in_flight_mean: s.station.stats.in_service.mean(end),
                    in_flight_max: s.station.stats.in_service.max(),
                    queue_mean: s.station.stats.queue_len.mean(end),
                    queue_max: s.station.stats.queue_len.max(),
                    latency_ms: s.latency.summary(),
                    calls,
                },
            ));
            service_series.0.push((
                s.cfg.name.clone(),
                ServiceSeries {
                    arrivals: s.arrivals_series.counts(end),
                    completed: s.completed_series.counts(end),
                    in_flight: s.in_flight_series.means(end),
                    queue: s.queue_series.means(end),
                },
            ));
        }

        let faults = self
            .faults
            .iter()
            .map(|f| FaultWindow {
                kind: f.spec.kind().to_string(),
                target: self.services[f.target].cfg.name.clone(),
                start_s: f.start.as_secs_f64(),
                end_s: f.end.as_secs_f64(),
            })
            .collect();
        (
            RunMetrics {
                clients,
                services,
                engine: EngineMetrics {
                    events,
                    end_s: end.as_secs_f64(),
                },
            },
            Series {
                bucket_s,
                clients: client_series,
                services: service_series,
                breakers,
                faults,
            },
        )
    }
}
