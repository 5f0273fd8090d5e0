//! What one run reports: per client group and per service counters,
//! latency summaries, amplification, time to recover, and time series.
//! Every name here is part of the JSON contract of `sim run --json`.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use sim_core::SimTime;
use sim_core::stats::LatencySummary;

use crate::policy::breaker::BreakerState;

/// A list of named entries that serializes as a JSON object in list order
/// (the scenario's order), never in hash order.
#[derive(Clone, Debug, PartialEq)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Everything one replication measured.
#[derive(Clone, Debug, Serialize)]
pub struct RunMetrics {
    /// Per client group, in scenario order.
    pub clients: Named<ClientMetrics>,
    /// Per service.
    pub services: Named<ServiceMetrics>,
    #[serde(skip_serializing_if = "Named::is_empty")]
    /// Per bus (absent without buses).
    pub buses: Named<BusMetrics>,
    #[serde(skip_serializing_if = "Named::is_empty")]
    /// Per log (absent without logs).
    pub logs: Named<LogMetrics>,
    #[serde(skip_serializing_if = "Named::is_empty")]
    /// Per lock (absent without locks).
    pub locks: Named<LockMetrics>,
    /// What the engine did.
    pub engine: EngineMetrics,
}

impl<T> Named<T> {
    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Clone, Debug, Serialize)]
/// What the engine did (not a property of the system studied).
pub struct EngineMetrics {
    /// Events handled.
    pub events: u64,
    /// Simulated time at the end of the run.
    pub end_s: f64,
}

/// Requests that failed, by the outcome that ended them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FailureBreakdown {
    /// The service answered with an error.
    pub error: u64,
    /// A timeout or deadline fired.
    pub timeout: u64,
    /// The breaker refused.
    pub breaker: u64,
    /// The bulkhead refused.
    pub bulkhead: u64,
    /// The rate limiter refused.
    pub rate_limiter: u64,
    /// The adaptive throttle refused.
    pub throttle: u64,
    /// The service refused (queue full).
    pub server_rejected: u64,
    /// Refused by a custom layer (absent when none did).
    #[serde(skip_serializing_if = "is_zero")]
    pub policy: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One client group. Request-level counts (`offered`, `ok`, `failed`...)
/// and attempt-level counts (`attempts`, `retries`, `timeouts`...) are kept
/// apart: S1's source mixes them.
#[derive(Clone, Debug, Serialize)]
pub struct ClientMetrics {
    /// The service, bus or log the requests go to.
    pub target: String,
    /// Requests issued by the workload.
    pub offered: u64,
    /// Requests that succeeded.
    pub ok: u64,
    /// Failed calls turned into successes by a fallback.
    pub degraded: u64,
    /// Requests that failed (`failures` says why).
    pub failed: u64,
    /// Still in progress when the run ended.
    pub unfinished: u64,
    /// (ok + degraded) / offered.
    pub success_rate: Option<f64>,
    /// Failed requests by the outcome that ended them.
    pub failures: FailureBreakdown,
    /// Attempts sent to the target (first attempts and retries).
    pub attempts: u64,
    /// Retries made.
    pub retries: u64,
    /// Attempts ended by the per-attempt timeout.
    pub timeouts: u64,
    /// Requests ended by the overall deadline.
    pub deadlines_exceeded: u64,
    /// Calls refused because the breaker was open (or its probes were out).
    pub cb_open: u64,
    /// Attempts the bulkhead refused.
    pub bulkhead_rejected: u64,
    /// Attempts the rate limiter refused.
    pub rate_limited: u64,
    /// Attempts the adaptive throttle refused.
    pub throttled: u64,
    /// Retries refused by the retry budget.
    pub budget_denied: u64,
    /// Times the breaker opened.
    pub breaker_opened: u64,
    /// Attempts per offered request.
    pub retry_amplification: Option<f64>,
    /// Latency of successful requests (ok or degraded), from the request's
    /// start, earlier attempts and backoff included.
    pub latency_ms: LatencySummary,
    /// Latency of every finished request, failures included.
    pub latency_all_ms: LatencySummary,
    /// When the last request finished (time to drain).
    pub makespan_s: Option<f64>,
    /// Time from the end of the disturbance until the windowed success rate
    /// is back within the tolerance of its level before the disturbance;
    /// null when it never was, or when there is no disturbance.
    pub time_to_recover_s: Option<f64>,
    /// Whether it recovered (null without a disturbance).
    pub recovered: Option<bool>,
    /// Success rate before the disturbance.
    pub pre_disturbance_success_rate: Option<f64>,
    /// Success rate of the requests that finished in the last
    /// `recovery_window` of the run (null if none did).
    pub final_success_rate: Option<f64>,
    /// Whether the final success rate is within the recovery tolerance of
    /// the pre-disturbance level (of 100% without a disturbance): false for
    /// a run that ended collapsed, whatever triggered it.
    pub healthy_at_end: Option<bool>,
    /// Most attempts sent in one time bucket (the herd's peak).
    pub peak_attempts_per_bucket: u64,
    /// Counters of custom layers, by the names they report (absent when
    /// the client has none).
    #[serde(skip_serializing_if = "Named::is_empty")]
    pub custom: Named<u64>,
}

/// Calls a service makes downstream.
#[derive(Clone, Debug, Serialize)]
pub struct CallMetrics {
    /// The service called.
    pub target: String,
    /// Calls made (one per job that reached this call).
    pub calls: u64,
    /// Attempts sent.
    pub attempts: u64,
    /// Retries made.
    pub retries: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Calls the breaker refused.
    pub cb_open: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Attempts per call at this hop.
    pub retry_amplification: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
/// One service: what reached it and what it did.
pub struct ServiceMetrics {
    /// Attempts that reached the service.
    pub arrivals: u64,
    /// Jobs that succeeded.
    pub ok: u64,
    /// Jobs that failed.
    pub errors: u64,
    /// Refused because the queue was full.
    pub rejected: u64,
    /// Lost to an outage (failed or dropped).
    pub lost: u64,
    /// Cancelled because the caller gave up (on_abandon: Cancel).
    pub cancelled: u64,
    /// Finished after the caller had given up: wasted work.
    pub orphaned: u64,
    /// Failed optimistic-concurrency writes.
    pub conflicts: u64,
    /// Arrivals per request offered by the clients whose calls can reach
    /// this service: the load multiplication it sees (S4's 3 tiers of 3
    /// retries give 64 at the bottom).
    pub amplification: Option<f64>,
    /// Jobs in service, time-weighted mean.
    pub in_flight_mean: f64,
    /// Jobs in service, most at once.
    pub in_flight_max: u64,
    /// Jobs waiting, time-weighted mean.
    pub queue_mean: f64,
    /// Jobs waiting, most at once.
    pub queue_max: u64,
    /// Time at the service (arrival to answer) of jobs that finished.
    pub latency_ms: LatencySummary,
    /// Its downstream calls, in order.
    pub calls: Vec<CallMetrics>,
}

/// A message bus. Message-level counts (`published`, `ok`, `failed`,
/// `dead_lettered`, `dropped`) and delivery-level counts (`delivered`,
/// `failed_deliveries`, `retries`, `timeouts`) are kept apart.
#[derive(Clone, Debug, Serialize)]
pub struct BusMetrics {
    /// Messages published by producers (redeliveries not counted).
    pub published: u64,
    /// Messages acknowledged after a successful delivery.
    pub ok: u64,
    /// Messages that never succeeded: dead-lettered or dropped.
    pub failed: u64,
    /// Messages dropped because the queue was full (or the broker down).
    pub dropped: u64,
    /// Messages sent to the dead-letter queue.
    pub dead_lettered: u64,
    /// Messages still queued, held, delayed or waiting when the run ended.
    pub pending: u64,
    /// Deliveries (a message taken by a consumer).
    pub delivered: u64,
    /// Deliveries that failed.
    pub failed_deliveries: u64,
    /// Deliveries after the first of the same message.
    pub retries: u64,
    /// Deliveries ended by the delivery timeout.
    pub timeouts: u64,
    /// Times the work of a message took effect (idempotent repeats excluded).
    pub effects: u64,
    /// Messages whose work took effect at least once.
    pub messages_with_effect: u64,
    /// Effects beyond the first of the same message (duplicates processed).
    pub duplicates: u64,
    /// Repeats turned into no-ops by the idempotency key.
    pub deduplicated: u64,
    /// Consumer crashes between doing the work and acknowledging it.
    pub crashes: u64,
    /// Messages waiting, time-weighted mean.
    pub depth_mean: f64,
    /// Messages waiting, most at once.
    pub depth_max: u64,
    /// Total time publishers spent blocked on a full queue (backpressure).
    pub producer_blocked_s: f64,
    /// Successful deliveries, from dequeue to done (how S1's source measures).
    pub delivery_latency_ms: LatencySummary,
    /// From first publish to acknowledgement.
    pub end_to_end_latency_ms: LatencySummary,
}

/// A partitioned log and its consumer group.
#[derive(Clone, Debug, Serialize)]
pub struct LogMetrics {
    /// Messages appended.
    pub appended: u64,
    /// Messages processed, replays included.
    pub processed: u64,
    /// Messages processed again after a consumer resumed from an older commit.
    pub duplicates: u64,
    /// Offset commits.
    pub commits: u64,
    /// Consumer crashes.
    pub crashes: u64,
    /// Consumer lag (log end offset minus committed offset, all partitions).
    pub lag_mean: f64,
    /// Largest lag (messages appended, not yet processed).
    pub lag_max: u64,
    /// Lag at the end.
    pub lag_end: u64,
    /// From the end of the last disturbance (consumer crash or broker
    /// outage) until the lag is back to its level when it began; null if it
    /// never was, or there was no disturbance.
    pub catch_up_s: Option<f64>,
    /// Total time producers waited on an unavailable broker.
    pub producer_blocked_s: f64,
    /// From append to the end of the first processing.
    pub end_to_end_latency_ms: LatencySummary,
}

/// A leased lock and its contenders.
#[derive(Clone, Debug, Serialize)]
pub struct LockMetrics {
    /// Times the lock was granted.
    pub acquisitions: u64,
    /// Critical sections finished while still holding the lease.
    pub completed: u64,
    /// Leases that ran out while their holder was still working.
    pub lease_expirations: u64,
    /// Writes accepted from holders whose lease had expired, without
    /// fencing. With fencing such a write is refused (`rejected_writes`) or
    /// lands before any newer holder's write, which is safe.
    pub unsafe_writes: u64,
    /// Stale writes refused by fencing tokens.
    pub rejected_writes: u64,
    /// Time from asking for the lock to getting it.
    pub wait_ms: LatencySummary,
}

#[derive(Clone, Debug, Serialize)]
/// One bus over time, per bucket.
pub struct BusSeries {
    /// Messages waiting (mean).
    pub depth: Vec<f64>,
    /// Messages published.
    pub published: Vec<u64>,
    /// Messages acknowledged.
    pub acked: Vec<u64>,
    /// Messages dead-lettered.
    pub dead_lettered: Vec<u64>,
    /// Publishers blocked (mean).
    pub blocked_publishers: Vec<f64>,
}

#[derive(Clone, Debug, Serialize)]
/// One log over time, per bucket.
pub struct LogSeries {
    /// Lag (mean).
    pub lag: Vec<f64>,
    /// Messages appended.
    pub appended: Vec<u64>,
    /// Messages processed.
    pub processed: Vec<u64>,
}

/// Per-bucket series of one run, for charts.
#[derive(Clone, Debug, Serialize)]
pub struct Series {
    /// Bucket width, in seconds.
    pub bucket_s: f64,
    /// Per client group.
    pub clients: Named<ClientSeries>,
    /// Per service.
    pub services: Named<ServiceSeries>,
    /// Each breaker's state changes, by its caller.
    pub breakers: Named<Vec<StateChange>>,
    /// The fault windows.
    pub faults: Vec<FaultWindow>,
    #[serde(skip_serializing_if = "Named::is_empty")]
    /// Per bus (absent without buses).
    pub buses: Named<BusSeries>,
    #[serde(skip_serializing_if = "Named::is_empty")]
    /// Per log (absent without logs).
    pub logs: Named<LogSeries>,
}

#[derive(Clone, Debug, Serialize)]
/// One client group over time, per bucket.
pub struct ClientSeries {
    /// Requests issued.
    pub offered: Vec<u64>,
    /// Requests that succeeded.
    pub ok: Vec<u64>,
    /// Requests that failed.
    pub failed: Vec<u64>,
    /// Attempts sent.
    pub attempts: Vec<u64>,
    /// Requests in flight (mean).
    pub in_flight: Vec<f64>,
}

#[derive(Clone, Debug, Serialize)]
/// One service over time, per bucket.
pub struct ServiceSeries {
    /// Attempts that arrived.
    pub arrivals: Vec<u64>,
    /// Jobs that finished.
    pub completed: Vec<u64>,
    /// Jobs in service (mean).
    pub in_flight: Vec<f64>,
    /// Jobs waiting (mean).
    pub queue: Vec<f64>,
}

#[derive(Clone, Debug, Serialize)]
/// A breaker's state from an instant on.
pub struct StateChange {
    /// The instant, in seconds.
    pub t_s: f64,
    /// The state.
    pub state: BreakerState,
}

#[derive(Clone, Debug, Serialize)]
/// A fault's window.
pub struct FaultWindow {
    /// Its kind (`outage`, `latency_spike`...).
    pub kind: String,
    /// What it hits.
    pub target: String,
    /// Start, in seconds.
    pub start_s: f64,
    /// End, in seconds.
    pub end_s: f64,
}

/// Time to recover from per-bucket completion counts.
///
/// `pre` is the success rate of requests completing before the disturbance
/// starts. Recovery is the first window of `window_buckets` buckets, starting
/// at or after the disturbance's end, that holds completions and whose
/// success rate is at least `pre * (1 - tolerance)`. Returns (pre-level,
/// time to recover in seconds, recovered).
pub fn time_to_recover(
    ok: &[u64],
    failed: &[u64],
    bucket_s: f64,
    window_buckets: usize,
    disturbance: (SimTime, SimTime),
    tolerance: f64,
) -> (Option<f64>, Option<f64>, bool) {
    let window_buckets = window_buckets.max(1);
    let (start, end) = disturbance;
    let start_bucket = ((start.as_secs_f64() / bucket_s).floor() as usize).min(ok.len());
    let pre_ok: u64 = ok[..start_bucket].iter().sum();
    let pre_failed: u64 = failed[..start_bucket].iter().sum();
    if pre_ok + pre_failed == 0 {
        return (None, None, false);
    }
    let pre = pre_ok as f64 / (pre_ok + pre_failed) as f64;
    let end_s = end.as_secs_f64();
    let first = (end_s / bucket_s).ceil() as usize;
    let target = pre * (1.0 - tolerance);
    let mut b = first;
    while b + window_buckets <= ok.len() {
        let o: u64 = ok[b..b + window_buckets].iter().sum();
        let f: u64 = failed[b..b + window_buckets].iter().sum();
        if o + f > 0 && o as f64 / (o + f) as f64 >= target - 1e-12 {
            let t = (b as f64 * bucket_s - end_s).max(0.0);
            return (Some(pre), Some(t), true);
        }
        b += 1;
    }
    (Some(pre), None, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    fn at(s: f64) -> SimTime {
        SimTime::at(SimDuration::from_secs_f64(s))
    }

    #[test]
    fn recovery_is_the_first_healthy_window_after_the_end() {
        // 1 s buckets; healthy (10 ok), fault in [3, 5), sick until bucket 7.
        let ok = [10, 10, 10, 0, 0, 2, 5, 10, 10, 10];
        let failed = [0, 0, 0, 10, 10, 8, 5, 0, 0, 0];
        let (pre, ttr, rec) = time_to_recover(&ok, &failed, 1.0, 1, (at(3.0), at(5.0)), 0.05);
        assert_eq!(pre, Some(1.0));
        assert_eq!(ttr, Some(2.0));
        assert!(rec);
        // With a 2-bucket window it is the same start.
        let (_, ttr, _) = time_to_recover(&ok, &failed, 1.0, 2, (at(3.0), at(5.0)), 0.05);
        assert_eq!(ttr, Some(2.0));
    }

    #[test]
    fn never_recovering_is_reported() {
        let ok = [10, 10, 0, 0, 1, 1];
        let failed = [0, 0, 10, 10, 9, 9];
        let (_, ttr, rec) = time_to_recover(&ok, &failed, 1.0, 1, (at(2.0), at(3.0)), 0.05);
        assert_eq!(ttr, None);
        assert!(!rec);
    }

    #[test]
    fn tolerance_is_relative_to_the_pre_level() {
        // Pre level 0.8; 0.77 is within 5% (>= 0.76).
        let ok = [80, 0, 77];
        let failed = [20, 100, 23];
        let (pre, ttr, _) = time_to_recover(&ok, &failed, 1.0, 1, (at(1.0), at(2.0)), 0.05);
        assert_eq!(pre, Some(0.8));
        assert_eq!(ttr, Some(0.0));
    }
}
