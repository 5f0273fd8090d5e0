//! The scenario file as written: serde types, every field documented with
//! its default. `docs/scenario-format.md` is the user-facing reference and
//! must agree with this file. Nothing here is validated; see
//! `validate.rs` for the checked `Scenario`.

use serde::{Deserialize, Serialize};
use sim_core::{DistSpec, SimDuration};

pub use crate::policy::PolicyKind;
use crate::policy::backoff::BackoffSpec;
pub use crate::policy::bulkhead::BulkheadSpec;
use crate::policy::limiter::RateLimiterSpec;
pub use crate::policy::rate_limit::RateLimitSpec;
pub use crate::policy::retry::{RetryOn, RetrySpec};
use crate::station::Discipline;

fn one() -> u32 {
    1
}
fn default_seed() -> u64 {
    1
}

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Master seed (default 1). Replication k uses seed + k.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time to run. `None`: until all work is done, which needs
    /// every workload to be finite (a `requests` limit, a `stop`, or a replay).
    #[serde(default)]
    pub duration: Option<SimDuration>,
    /// Independent replications (default 1); metrics are averaged with 95%
    /// confidence intervals when there are several.
    #[serde(default = "one")]
    pub replications: u32,
    #[serde(default)]
    pub metrics: MetricsSpec,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    pub clients: Vec<ClientSpec>,
    /// Token buckets that `rate_limit` policies refer to by name.
    #[serde(default)]
    pub rate_limiters: Vec<RateLimiterSpec>,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Message queues with consumers (event-driven paths).
    #[serde(default)]
    pub buses: Vec<BusSpec>,
    /// Partitioned, durable logs with a consumer group.
    #[serde(default)]
    pub logs: Vec<LogSpec>,
    /// Leased locks with contending holders.
    #[serde(default)]
    pub locks: Vec<LockSpec>,
}

fn hundred_ms() -> SimDuration {
    SimDuration::from_millis(100)
}
fn one_second() -> SimDuration {
    SimDuration::from_secs(1)
}
fn five_percent() -> f64 {
    0.05
}

/// How metrics over time are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// Width of the time-series buckets (default 100ms).
    #[serde(default = "hundred_ms")]
    pub bucket: SimDuration,
    /// Window over which the success rate is judged when measuring the time
    /// to recover (default 1s).
    #[serde(default = "one_second")]
    pub recovery_window: SimDuration,
    /// Recovered means the windowed success rate is back within this
    /// fraction of its pre-disturbance level (default 0.05, i.e. 5%).
    #[serde(default = "five_percent")]
    pub recovery_tolerance: f64,
    /// The disturbance that recovery is measured from, as [start, end].
    /// Default: the span of the fault schedule; without faults, the span of
    /// workload schedule steps above their first rate; otherwise none.
    #[serde(default)]
    pub disturbance: Option<(SimDuration, SimDuration)>,
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec {
            bucket: hundred_ms(),
            recovery_window: one_second(),
            recovery_tolerance: five_percent(),
            disturbance: None,
        }
    }
}

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
    pub service_time: DistSpec,
    /// Probability that a job fails (reported when its service time ends).
    #[serde(default)]
    pub failure_probability: f64,
    #[serde(default)]
    pub overload: Option<OverloadSpec>,
    #[serde(default)]
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
fn one_f() -> f64 {
    1.0
}

/// Latency and failure rising with work in flight past a knee (S1):
/// `load = max(min_load_factor, in_flight / knee_in_flight)` with
/// `in_flight` counting the starting job itself; past load 1, latency gains
/// `(load - 1) * latency_per_unit` and the failure probability becomes
/// `min(max_failure, failure_probability + (load - 1) * failure_per_unit)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverloadSpec {
    pub knee_in_flight: f64,
    #[serde(default = "half")]
    pub min_load_factor: f64,
    pub latency_per_unit: SimDuration,
    pub failure_per_unit: f64,
    #[serde(default = "one_f")]
    pub max_failure: f64,
}

/// Declares a caller's spec struct: the given fields, then one field per
/// policy of [`for_each_policy!`](crate::for_each_policy) (in its order),
/// then `order`.
macro_rules! with_policy_fields {
    ([ $(#[$m:meta])* pub struct $name:ident { $($pre:tt)* } ]
     $( $kind:ident $field:ident : $spec:ty, $layer:ty, $rank:literal, $doc:literal; )*) => {
        $(#[$m])*
        pub struct $name {
            $($pre)*
            $( #[doc = $doc] #[serde(default)] pub $field: $spec, )*
            /// The configured policies, outermost first. Default: those
            /// configured, in [`PolicyKind::default_order`].
            #[serde(default)]
            pub order: Option<Vec<PolicyKind>>,
        }
    };
}

crate::for_each_policy!(
    with_policy_fields,
    /// The policies around one caller's calls to one target. Each is
    /// optional; `order` lists them outermost first (see
    /// [`for_each_policy!`](crate::for_each_policy) for the default).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CallSpec {
        pub target: String,
        /// One-way network latency, applied to the request and to the response.
        #[serde(default)]
        pub network: Option<DistSpec>,
    }
);

crate::for_each_policy!(
    with_policy_fields,
    /// A group of callers sharing one workload and one set of policies.
    ///
    /// The call fields (`target` to `order`) are `CallSpec`'s: serde's
    /// `flatten` cannot be combined with `deny_unknown_fields`, and unknown
    /// fields must be errors, so both structs are declared from the same
    /// list. [`ClientSpec::call`] turns them into a `CallSpec`, so
    /// everything after parsing has one code path.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ClientSpec {
        pub name: String,
        pub workload: WorkloadSpec,
        /// Stop after this many requests.
        #[serde(default)]
        pub requests: Option<u64>,
        /// No requests before this instant (default 0s).
        #[serde(default)]
        pub start: SimDuration,
        /// No new requests from this instant on.
        #[serde(default)]
        pub stop: Option<SimDuration>,
        pub target: String,
        /// One-way network latency, applied to the request and to the response.
        #[serde(default)]
        pub network: Option<DistSpec>,
    }
);

macro_rules! client_call {
    ([] $( $kind:ident $field:ident : $spec:ty, $layer:ty, $rank:literal, $doc:literal; )*) => {
        impl ClientSpec {
            /// The client's calls, described like any other caller's.
            pub fn call(&self) -> CallSpec {
                CallSpec {
                    target: self.target.clone(),
                    network: self.network.clone(),
                    $( $field: self.$field.clone(), )*
                    order: self.order.clone(),
                }
            }

            /// The call fields this client sets, by name (a client that
            /// publishes to a bus or a log may set none).
            pub fn call_fields_set(&self) -> Vec<&'static str> {
                let mut set = Vec::new();
                if self.network.is_some() {
                    set.push("network");
                }
                $(
                    if <$layer as $crate::policy::FromSpec>::configured(&self.$field) {
                        set.push(stringify!($field));
                    }
                )*
                if self.order.is_some() {
                    set.push("order");
                }
                set
            }
        }
    };
}

crate::for_each_policy!(client_call);

fn yes() -> bool {
    true
}

/// How requests arrive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum WorkloadSpec {
    /// Open loop, exponential gaps.
    Poisson { rate_per_s: f64 },
    /// Open loop, equal gaps.
    Constant { rate_per_s: f64 },
    /// Open loop: `size` requests at once, one burst every `every` (S1:
    /// 350 every 80ms). With `size` equal to `requests`, all at once.
    Bursts { size: u32, every: SimDuration },
    /// Open loop, piecewise-constant rate: each step holds from its `at`
    /// until the next step (e.g. 8/s with a 5 s spike to 30/s). Poisson
    /// arrivals unless `poisson: false` (equal gaps).
    Schedule {
        steps: Vec<RateStep>,
        #[serde(default = "yes")]
        poisson: bool,
    },
    /// Open loop: arrival instants from a CSV file (path relative to the
    /// scenario), one per line in the first column, either seconds
    /// ("0.125") or with a unit ("125ms"); a header line is skipped.
    Replay { file: String },
    /// Closed loop: `users` callers, each sending a request, waiting for it
    /// to end, then thinking before the next.
    ClosedLoop {
        users: u32,
        #[serde(default)]
        think: Option<DistSpec>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    pub at: SimDuration,
    pub rate_per_s: f64,
}

/// Whether an unavailable service answers.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutageMode {
    /// Every request fails at once with an error (connection refused).
    #[default]
    FailFast,
    /// Requests vanish without an answer; only a caller's timeout ends them.
    Hang,
}

/// A fault at simulated times [start, end). `target` names a service (or,
/// for outages, a bus or log: the broker).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FaultSpec {
    /// Unavailable: work in progress is lost (failed at once with FailFast,
    /// dropped silently with Hang) and arrivals are refused or dropped.
    Outage {
        target: String,
        start: SimDuration,
        end: SimDuration,
        #[serde(default)]
        mode: OutageMode,
    },
    /// Jobs starting in the window take `service_time * multiply + add`.
    LatencySpike {
        target: String,
        start: SimDuration,
        end: SimDuration,
        #[serde(default)]
        add: SimDuration,
        #[serde(default = "one_f")]
        multiply: f64,
    },
    /// Jobs starting in the window also fail with this probability
    /// (independently of the service's own failures).
    ErrorSpike {
        target: String,
        start: SimDuration,
        end: SimDuration,
        failure_probability: f64,
    },
    /// The service has only `workers` workers in the window; jobs in service
    /// finish, new ones wait.
    CapacityDrop {
        target: String,
        start: SimDuration,
        end: SimDuration,
        workers: u32,
    },
}

impl FaultSpec {
    pub fn target(&self) -> &str {
        match self {
            FaultSpec::Outage { target, .. }
            | FaultSpec::LatencySpike { target, .. }
            | FaultSpec::ErrorSpike { target, .. }
            | FaultSpec::CapacityDrop { target, .. } => target,
        }
    }
    pub fn window(&self) -> (SimDuration, SimDuration) {
        match self {
            FaultSpec::Outage { start, end, .. }
            | FaultSpec::LatencySpike { start, end, .. }
            | FaultSpec::ErrorSpike { start, end, .. }
            | FaultSpec::CapacityDrop { start, end, .. } => (*start, *end),
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            FaultSpec::Outage { .. } => "outage",
            FaultSpec::LatencySpike { .. } => "latency_spike",
            FaultSpec::ErrorSpike { .. } => "error_spike",
            FaultSpec::CapacityDrop { .. } => "capacity_drop",
        }
    }
}

/// What a publish to a full queue does.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WhenFull {
    /// The message is dropped and counted (S1).
    #[default]
    Drop,
    /// The publisher waits until there is room (backpressure, S2).
    Block,
}

/// A bounded queue with consumers, redelivery and dead letters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusSpec {
    pub name: String,
    /// Messages that may wait in the queue (not counting those held by
    /// consumers or waiting for redelivery). `None` (default): unbounded.
    #[serde(default)]
    pub capacity: Option<u32>,
    #[serde(default)]
    pub when_full: WhenFull,
    /// Consumers, each handling one message at a time.
    pub consumers: u32,
    pub handler: HandlerSpec,
    #[serde(default)]
    pub redelivery: RedeliverySpec,
    /// Repeats of a message within the window have no effect.
    #[serde(default)]
    pub idempotency: Option<IdempotencySpec>,
    /// Consumers that crash after doing the work but before acknowledging.
    #[serde(default)]
    pub crashes: Option<ConsumerCrashSpec>,
}

/// What a consumer does with a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum HandlerSpec {
    /// Calls a service through the given policies (the delivery timeout is
    /// `timeout`). The work's effect happens at the service, so a timeout
    /// after the work was done causes a duplicate on redelivery.
    Call(Box<CallSpec>),
    /// Does the work itself.
    Work {
        duration: DistSpec,
        #[serde(default)]
        failure_probability: f64,
    },
}

fn four() -> u32 {
    4
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeliverySpec {
    /// Deliveries before the message is dead-lettered, the first included
    /// (default 4: one delivery and 3 retries).
    #[serde(default = "four")]
    pub max_deliveries: u32,
    /// Delay before delivery k + 1 after failed delivery k (default Immediate).
    #[serde(default)]
    pub backoff: BackoffSpec,
    #[serde(default)]
    pub mode: RedeliveryMode,
}

impl Default for RedeliverySpec {
    fn default() -> Self {
        RedeliverySpec {
            max_deliveries: four(),
            backoff: BackoffSpec::Immediate,
            mode: RedeliveryMode::default(),
        }
    }
}

/// How a failed delivery is retried.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedeliveryMode {
    /// The consumer waits out the backoff holding the message (it takes no
    /// other message meanwhile), then republishes it to the tail (S1).
    #[default]
    HoldThenRequeue,
    /// The consumer waits out the backoff holding the message, then retries
    /// it itself (S2).
    HoldThenRetry,
    /// The message returns to the tail after the backoff; the consumer moves
    /// on at once (a delay queue, SQS-style).
    Delay,
}

fn one_hour() -> SimDuration {
    SimDuration::from_secs(3600)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencySpec {
    /// How long a processed message's key is remembered (default 1h).
    #[serde(default = "one_hour")]
    pub window: SimDuration,
}

fn thirty_seconds() -> SimDuration {
    SimDuration::from_secs(30)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerCrashSpec {
    /// Chance that a consumer crashes after a successful delivery's work,
    /// before acknowledging it.
    pub probability: f64,
    /// How long the crashed consumer is down.
    pub restart: SimDuration,
    /// When the unacknowledged message becomes visible again (SQS's
    /// visibility timeout; default 30s).
    #[serde(default = "thirty_seconds")]
    pub visibility_timeout: SimDuration,
}

/// A partitioned log with one consumer group (S5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSpec {
    pub name: String,
    pub partitions: u32,
    /// Distinct message keys; a message's partition is its key modulo the
    /// partitions. `None` (default): round robin.
    #[serde(default)]
    pub keys: Option<u32>,
    /// Consumers of the group; partition p belongs to consumer p mod consumers.
    pub consumers: u32,
    /// Time to process one message.
    pub processing: DistSpec,
    pub commit: CommitSpec,
    /// Consumer crashes: the consumer resumes from its last commit, so what
    /// it processed since is processed again (duplicates).
    #[serde(default)]
    pub crashes: Vec<LogCrashSpec>,
}

/// When a consumer commits its offsets: every `every_messages` processed
/// messages, every `interval`, or both (at least one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitSpec {
    #[serde(default)]
    pub every_messages: Option<u32>,
    #[serde(default)]
    pub interval: Option<SimDuration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogCrashSpec {
    pub consumer: u32,
    pub at: SimDuration,
    pub restart_after: SimDuration,
}

/// A lock with a lease, contended by holders that may stall (S8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockSpec {
    pub name: String,
    pub contenders: u32,
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
