//! The result document of a run (`sim run --json`) as Rust types, for
//! writing and for reading back: every metric, its intervals, the scenario
//! as run and the series of replication 0.
//!
//! A metric is a [`Num`]: an integer count in a single replication's
//! document, the mean across replications (a float) in a document of
//! several, so one type holds both and writes them back exactly as read.
//! A flag (`recovered`, `healthy_at_end`) is a [`Flag`]: a boolean, or the
//! fraction of replications where it held.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// A metric's number, kept exactly as written (integer or float).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Num(pub serde_json::Number);

impl Num {
    /// Its value.
    pub fn get(&self) -> f64 {
        self.0.as_f64().unwrap_or(f64::NAN)
    }

    /// Whether it is zero (integer or float).
    pub fn is_zero(&self) -> bool {
        self.get() == 0.0
    }
}

impl Default for Num {
    fn default() -> Self {
        Num(0u64.into())
    }
}

impl From<u64> for Num {
    fn from(n: u64) -> Self {
        Num(n.into())
    }
}

/// A float metric; non-finite values (which no metric produces) become 0.
impl From<f64> for Num {
    fn from(x: f64) -> Self {
        Num(serde_json::Number::from_f64(x).unwrap_or_else(|| 0u64.into()))
    }
}

/// A yes/no metric: a boolean in a single replication, the fraction of
/// replications where it held in a document of several.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Flag {
    /// One replication's answer.
    Bool(bool),
    /// The fraction of replications where it held.
    Mean(Num),
}

impl Flag {
    /// 1 for yes, 0 for no, or the fraction.
    pub fn get(&self) -> f64 {
        match self {
            Flag::Bool(b) => f64::from(u8::from(*b)),
            Flag::Mean(n) => n.get(),
        }
    }
}

impl From<bool> for Flag {
    fn from(b: bool) -> Self {
        Flag::Bool(b)
    }
}

/// A latency distribution in milliseconds; `None` (null) without
/// observations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Durations recorded.
    pub count: Num,
    /// Exact mean.
    pub mean: Option<Num>,
    /// Median.
    pub p50: Option<Num>,
    /// 90th percentile.
    pub p90: Option<Num>,
    /// 95th percentile.
    pub p95: Option<Num>,
    /// 99th percentile.
    pub p99: Option<Num>,
    /// 99.9th percentile.
    pub p999: Option<Num>,
    /// The longest (exact).
    pub max: Option<Num>,
}

/// A breaker's state, as recorded over time.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls are refused.
    Open,
    /// Trial calls decide.
    HalfOpen,
}

impl BreakerState {
    /// Every state, in the order charts list them.
    pub const ALL: [BreakerState; 3] = [
        BreakerState::Closed,
        BreakerState::HalfOpen,
        BreakerState::Open,
    ];

    /// Its name as written in documents (`"HalfOpen"`).
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "Closed",
            BreakerState::Open => "Open",
            BreakerState::HalfOpen => "HalfOpen",
        }
    }
}

/// A list of named entries that serializes as a JSON object in list order
/// (the scenario's order), never in hash order.
#[derive(Clone, Debug, PartialEq)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Named<T> {
    /// Entries in document order.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = Named<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of named entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Named<T>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(Named(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Per client group, in scenario order.
    pub clients: Named<ClientMetrics>,
    /// Per service.
    pub services: Named<ServiceMetrics>,
    #[serde(default, skip_serializing_if = "Named::is_empty")]
    /// Per bus (absent without buses).
    pub buses: Named<BusMetrics>,
    #[serde(default, skip_serializing_if = "Named::is_empty")]
    /// Per log (absent without logs).
    pub logs: Named<LogMetrics>,
    #[serde(default, skip_serializing_if = "Named::is_empty")]
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

    /// How many entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The first entry named `name`.
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<T> IntoIterator for Named<T> {
    type Item = (String, T);
    type IntoIter = std::vec::IntoIter<(String, T)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<T> FromIterator<(String, T)> for Named<T> {
    fn from_iter<I: IntoIterator<Item = (String, T)>>(iter: I) -> Self {
        Named(iter.into_iter().collect())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// What the engine did (not a property of the system studied).
pub struct EngineMetrics {
    /// Events handled.
    pub events: Num,
    /// Simulated time at the end of the run.
    pub end_s: Num,
}

/// Requests that failed, by the outcome that ended them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FailureBreakdown {
    /// The service answered with an error.
    pub error: Num,
    /// A timeout or deadline fired.
    pub timeout: Num,
    /// The breaker refused.
    pub breaker: Num,
    /// The bulkhead refused.
    pub bulkhead: Num,
    /// The rate limiter refused.
    pub rate_limiter: Num,
    /// The adaptive throttle refused.
    pub throttle: Num,
    /// The service refused (queue full).
    pub server_rejected: Num,
    /// Refused by a custom layer (absent when none did).
    #[serde(default, skip_serializing_if = "Num::is_zero")]
    pub policy: Num,
    /// Refused by the adaptive concurrency limit (absent when none was).
    #[serde(default, skip_serializing_if = "Num::is_zero")]
    pub concurrency_limit: Num,
}

/// One client group. Request-level counts (`offered`, `ok`, `failed`...)
/// and attempt-level counts (`attempts`, `retries`, `timeouts`...) are kept
/// apart: S1's source mixes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientMetrics {
    /// The service, bus or log the requests go to.
    pub target: String,
    /// Requests issued by the workload.
    pub offered: Num,
    /// Requests that succeeded.
    pub ok: Num,
    /// Failed calls turned into successes by a fallback.
    pub degraded: Num,
    /// Requests that failed (`failures` says why).
    pub failed: Num,
    /// Still in progress when the run ended.
    pub unfinished: Num,
    /// (ok + degraded) / offered.
    pub success_rate: Option<Num>,
    /// Failed requests by the outcome that ended them.
    pub failures: FailureBreakdown,
    /// Attempts sent to the target (first attempts and retries).
    pub attempts: Num,
    /// Retries made.
    pub retries: Num,
    /// Attempts ended by the per-attempt timeout.
    pub timeouts: Num,
    /// Requests ended by the overall deadline.
    pub deadlines_exceeded: Num,
    /// Calls refused because the breaker was open (or its probes were out).
    pub cb_open: Num,
    /// Attempts the bulkhead refused.
    pub bulkhead_rejected: Num,
    /// Attempts the rate limiter refused.
    pub rate_limited: Num,
    /// Attempts the adaptive throttle refused.
    pub throttled: Num,
    /// Retries refused by the retry budget.
    pub budget_denied: Num,
    /// Times the breaker opened.
    pub breaker_opened: Num,
    /// Attempts per offered request (1 + retries + hedges per request,
    /// less the requests refused before any attempt: below 1 when a
    /// breaker or bulkhead refuses requests).
    pub retry_amplification: Option<Num>,
    /// Retries per offered request: what the retry policy added.
    #[serde(default)]
    pub retries_per_request: Option<Num>,
    /// Latency of successful requests (ok or degraded), from the request's
    /// start, earlier attempts and backoff included.
    pub latency_ms: Latency,
    /// Latency of every finished request, failures included.
    pub latency_all_ms: Latency,
    /// When the last request finished (time to drain).
    pub makespan_s: Option<Num>,
    /// Time from the end of the disturbance until the windowed success rate
    /// is back within the tolerance of its level before the disturbance;
    /// null when it never was, or when there is no disturbance.
    pub time_to_recover_s: Option<Num>,
    /// Whether it recovered (null without a disturbance).
    pub recovered: Option<Flag>,
    /// Success rate before the disturbance.
    pub pre_disturbance_success_rate: Option<Num>,
    /// Success rate of the requests that finished in the last
    /// `recovery_window` of the run (null if none did).
    pub final_success_rate: Option<Num>,
    /// Whether the final success rate is within the recovery tolerance of
    /// the pre-disturbance level (of 100% without a disturbance): false for
    /// a run that ended collapsed, whatever triggered it.
    pub healthy_at_end: Option<Flag>,
    /// Most attempts sent in one time bucket (the herd's peak).
    pub peak_attempts_per_bucket: Num,
    /// What hedging did (absent without a hedge policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedging: Option<HedgeMetrics>,
    /// What its outlier ejection did (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_ejection: Option<EjectionMetrics>,
    /// What the adaptive concurrency limit did (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<LimitMetrics>,
    /// Retries that waited the server's retry-after instead of the backoff
    /// (absent when none did).
    #[serde(default, skip_serializing_if = "Num::is_zero")]
    pub retry_after_honoured: Num,
    /// Retries not made because the server asked for none (absent when
    /// none).
    #[serde(default, skip_serializing_if = "Num::is_zero")]
    pub retry_after_refused: Num,
    /// Counters of custom layers, by the names they report (absent when
    /// the client has none).
    #[serde(default, skip_serializing_if = "Named::is_empty")]
    pub custom: Named<Num>,
}

/// Calls a service makes downstream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallMetrics {
    /// The service called.
    pub target: String,
    /// Calls made (one per job that reached this call).
    pub calls: Num,
    /// Attempts sent.
    pub attempts: Num,
    /// Retries made.
    pub retries: Num,
    /// Attempts that timed out.
    pub timeouts: Num,
    /// Calls the breaker refused.
    pub cb_open: Num,
    /// Calls that failed.
    pub failed: Num,
    /// Attempts per call at this hop.
    pub retry_amplification: Option<Num>,
    /// Retries per call at this hop.
    #[serde(default)]
    pub retries_per_request: Option<Num>,
    /// What hedging did (absent without a hedge policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedging: Option<HedgeMetrics>,
    /// What its outlier ejection did (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_ejection: Option<EjectionMetrics>,
    /// What the adaptive concurrency limit did (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<LimitMetrics>,
    /// Retries that waited the server's retry-after instead of the backoff
    /// (absent when none did).
    #[serde(default, skip_serializing_if = "Num::is_zero")]
    pub retry_after_honoured: Num,
    /// Retries not made because the server asked for none (absent when
    /// none).
    #[serde(default, skip_serializing_if = "Num::is_zero")]
    pub retry_after_refused: Num,
}

/// What an adaptive concurrency limit did: the attempts it refused and
/// the limit over the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LimitMetrics {
    /// Attempts refused because the limit was reached.
    pub rejected: Num,
    /// The limit, time-weighted mean.
    pub limit_mean: Num,
    /// The lowest limit.
    pub limit_min: Num,
    /// The highest limit.
    pub limit_max: Num,
    /// The limit at the end.
    pub limit_final: Num,
}

/// What a caller's outlier ejection did over its target's replicas.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EjectionMetrics {
    /// Replicas ejected (each time counted).
    pub ejections: Num,
    /// Ejections refused by `max_ejection_percent`.
    pub overflow: Num,
    /// Attempts sent while more than half the replicas in service were
    /// ejected, to any of them (Envoy's panic mode).
    pub panic_picks: Num,
}

/// One replica of a service with several.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaMetrics {
    /// Attempts that reached it.
    pub arrivals: Num,
    /// Jobs that succeeded.
    pub ok: Num,
    /// Jobs that failed.
    pub errors: Num,
    /// Refused: its queue was full, or shed.
    pub rejected: Num,
    /// Jobs in service, time-weighted mean.
    pub in_flight_mean: Num,
    /// Jobs waiting, time-weighted mean.
    pub queue_mean: Num,
    /// Time at the replica of jobs that finished.
    pub latency_ms: Latency,
    /// Times its callers ejected it, added up over callers.
    pub ejections: Num,
    /// Seconds it spent ejected, added up over callers.
    pub ejected_s: Num,
}

/// What a service's autoscaler did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoscaleMetrics {
    /// Replicas in service, time-weighted mean.
    pub replicas_mean: Num,
    /// Fewest replicas in service at once.
    pub replicas_min: Num,
    /// Most replicas in service at once.
    pub replicas_max: Num,
    /// Replicas in service at the end.
    pub replicas_final: Num,
    /// Decisions that added replicas.
    pub scale_outs: Num,
    /// Decisions that removed replicas.
    pub scale_ins: Num,
}

/// What a caller's hedge policy did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HedgeMetrics {
    /// Hedges sent: attempts after the first of a hedged group (also
    /// counted in `attempts`).
    pub hedges: Num,
    /// Groups won by a hedge rather than by their first attempt.
    pub hedges_won: Num,
    /// Attempts still out when their group ended (a success or a fatal
    /// failure), cancelled at the service as a timeout's are.
    pub attempts_cancelled: Num,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// One service: what reached it and what it did.
pub struct ServiceMetrics {
    /// Attempts that reached the service.
    pub arrivals: Num,
    /// Jobs that succeeded.
    pub ok: Num,
    /// Jobs that failed.
    pub errors: Num,
    /// Refused because the queue was full.
    pub rejected: Num,
    /// Lost to an outage (failed or dropped).
    pub lost: Num,
    /// Cancelled because the caller gave up (on_abandon: Cancel).
    pub cancelled: Num,
    /// Finished after the caller had given up: wasted work.
    pub orphaned: Num,
    /// Failed optimistic-concurrency writes.
    pub conflicts: Num,
    /// Arrivals per request offered by the clients whose calls can reach
    /// this service: the load multiplication it sees (S4's 3 tiers of 3
    /// retries give 64 at the bottom).
    pub amplification: Option<Num>,
    /// Jobs in service, time-weighted mean.
    pub in_flight_mean: Num,
    /// Jobs in service, most at once.
    pub in_flight_max: Num,
    /// Jobs waiting, time-weighted mean.
    pub queue_mean: Num,
    /// Jobs waiting, most at once.
    pub queue_max: Num,
    /// Time at the service (arrival to answer) of jobs that finished.
    pub latency_ms: Latency,
    /// Queueing delay (arrival to start of work) of the jobs that started
    /// work.
    #[serde(default)]
    pub wait_ms: Latency,
    /// Jobs dropped from the queue by load shedding (their callers saw a
    /// rejection).
    #[serde(default)]
    pub shed: Num,
    /// The fraction of the jobs that started work which had to queue for a
    /// worker: P(wait > 0), Erlang C's C(c, a) for M/M/c.
    #[serde(default)]
    pub waited_fraction: Option<Num>,
    /// What Envoy's adaptive concurrency filter did (absent without one):
    /// requests refused at arrival and the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive_concurrency: Option<LimitMetrics>,
    /// What DAGOR's priority admission did (absent without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_admission: Option<AdmissionMetrics>,
    /// Jobs dropped when the deadline they arrived with passed (absent
    /// unless the service propagates deadlines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_expired: Option<Num>,
    /// What its autoscaler did (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscaleMetrics>,
    /// Each replica, in order (absent for a service of one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaMetrics>,
    /// Its downstream calls, in order.
    pub calls: Vec<CallMetrics>,
}

/// What a service's priority admission (DAGOR) did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdmissionMetrics {
    /// Requests refused at arrival: their priority was below the level.
    pub rejected: Num,
    /// The admission level (`business * 128 + user`; everything up to it
    /// is admitted, 8191 admits all), time-weighted mean.
    pub level_mean: Num,
    /// The lowest admission level.
    pub level_min: Num,
    /// Windows closed.
    pub windows: Num,
    /// Windows whose mean queueing time was above the threshold.
    pub overloaded_windows: Num,
}

/// A message bus. Message-level counts (`published`, `ok`, `failed`,
/// `dead_lettered`, `dropped`) and delivery-level counts (`delivered`,
/// `failed_deliveries`, `retries`, `timeouts`) are kept apart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusMetrics {
    /// Messages published by producers (redeliveries not counted).
    pub published: Num,
    /// Messages acknowledged after a successful delivery.
    pub ok: Num,
    /// Messages that never succeeded: dead-lettered or dropped.
    pub failed: Num,
    /// Messages dropped because the queue was full (or the broker down).
    pub dropped: Num,
    /// Messages sent to the dead-letter queue.
    pub dead_lettered: Num,
    /// Messages still queued, held, delayed or waiting when the run ended.
    pub pending: Num,
    /// Deliveries (a message taken by a consumer).
    pub delivered: Num,
    /// Deliveries that failed.
    pub failed_deliveries: Num,
    /// Deliveries after the first of the same message.
    pub retries: Num,
    /// Deliveries ended by the delivery timeout.
    pub timeouts: Num,
    /// Times the work of a message took effect (idempotent repeats excluded).
    pub effects: Num,
    /// Messages whose work took effect at least once.
    pub messages_with_effect: Num,
    /// Effects beyond the first of the same message (duplicates processed).
    pub duplicates: Num,
    /// Repeats turned into no-ops by the idempotency key.
    pub deduplicated: Num,
    /// Consumer crashes between doing the work and acknowledging it.
    pub crashes: Num,
    /// Messages waiting, time-weighted mean.
    pub depth_mean: Num,
    /// Messages waiting, most at once.
    pub depth_max: Num,
    /// Total time publishers spent blocked on a full queue (backpressure).
    pub producer_blocked_s: Num,
    /// Successful deliveries, from dequeue to done (how S1's source measures).
    pub delivery_latency_ms: Latency,
    /// From first publish to acknowledgement.
    pub end_to_end_latency_ms: Latency,
}

/// A partitioned log and its consumer group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogMetrics {
    /// Messages appended.
    pub appended: Num,
    /// Messages processed, replays included.
    pub processed: Num,
    /// Messages processed again after a consumer resumed from an older commit.
    pub duplicates: Num,
    /// Offset commits.
    pub commits: Num,
    /// Consumer crashes.
    pub crashes: Num,
    /// Consumer lag (log end offset minus committed offset, all partitions).
    pub lag_mean: Num,
    /// Largest lag (messages appended, not yet processed).
    pub lag_max: Num,
    /// Lag at the end.
    pub lag_end: Num,
    /// From the end of the last disturbance (consumer crash or broker
    /// outage) until the lag is back to its level when it began; null if it
    /// never was, or there was no disturbance.
    pub catch_up_s: Option<Num>,
    /// Total time producers waited on an unavailable broker.
    pub producer_blocked_s: Num,
    /// From append to the end of the first processing.
    pub end_to_end_latency_ms: Latency,
}

/// A leased lock and its contenders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockMetrics {
    /// Times the lock was granted.
    pub acquisitions: Num,
    /// Critical sections finished while still holding the lease.
    pub completed: Num,
    /// Leases that ran out while their holder was still working.
    pub lease_expirations: Num,
    /// Writes accepted from holders whose lease had expired, without
    /// fencing. With fencing such a write is refused (`rejected_writes`) or
    /// lands before any newer holder's write, which is safe.
    pub unsafe_writes: Num,
    /// Stale writes refused by fencing tokens.
    pub rejected_writes: Num,
    /// Time from asking for the lock to getting it.
    pub wait_ms: Latency,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Bucket width, in seconds.
    pub bucket_s: f64,
    /// Per client group.
    pub clients: Named<ClientSeries>,
    /// Per service.
    pub services: Named<ServiceSeries>,
    /// Each breaker's state changes, by its caller: a client group's
    /// name, or `"SERVICE -> TARGET"` for a service's downstream call.
    pub breakers: Named<Vec<StateChange>>,
    /// The fault windows.
    pub faults: Vec<FaultWindow>,
    #[serde(default, skip_serializing_if = "Named::is_empty")]
    /// Per bus (absent without buses).
    pub buses: Named<BusSeries>,
    #[serde(default, skip_serializing_if = "Named::is_empty")]
    /// Per log (absent without logs).
    pub logs: Named<LogSeries>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// The adaptive concurrency limit (mean; absent without one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub concurrency_limit: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// Envoy's adaptive concurrency limit (mean; absent without it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub concurrency_limit: Vec<f64>,
    /// DAGOR's admission level (mean; absent without it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admission_level: Vec<f64>,
    /// Replicas in service (mean; absent for a service of one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<f64>,
    /// Arrivals at each replica (absent for a service of one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_arrivals: Vec<Vec<u64>>,
    /// Its downstream calls, in the order of `services.NAME.calls` (absent
    /// for a service that calls nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallSeries>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// One downstream call of a service over time, per bucket (its breaker's
/// states are in `series.breakers` under `"SERVICE -> TARGET"`).
pub struct CallSeries {
    /// The service called.
    pub target: String,
    /// Calls made (one per job that reached the call).
    pub calls: Vec<u64>,
    /// Attempts sent, retries and hedges included.
    pub attempts: Vec<u64>,
    /// Calls that failed, after every retry.
    pub failed: Vec<u64>,
    /// The adaptive concurrency limit (mean; absent without one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub concurrency_limit: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// A breaker's state from an instant on.
pub struct StateChange {
    /// The instant, in seconds.
    pub t_s: f64,
    /// The state.
    pub state: BreakerState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// The whole document of `sim run --json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunDocument {
    /// Always `"run"`.
    pub kind: String,
    /// The scenario's name.
    pub scenario: String,
    /// What it is about.
    pub description: String,
    /// The master seed (replication k used seed + k).
    pub seed: u64,
    /// Replications averaged.
    pub replications: u64,
    /// Simulated time per replication (`None`: until all work was done).
    pub duration_s: Option<f64>,
    /// The metrics: one replication's, or the means of several.
    #[serde(flatten)]
    pub metrics: RunMetrics,
    /// The 95% interval `[low, high]` of each metric, by dotted path (with
    /// several replications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95: Option<Named<[f64; 2]>>,
    /// The scenario as run (its file, overrides applied); null when a
    /// document made by hand leaves it out.
    #[serde(default)]
    pub config: serde_json::Value,
    /// The time series of replication 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
}
