//! The scenario world: client groups, services, their call pipelines and
//! faults, as one `sim_core::Model`.
//!
//! Calls, attempts, jobs and messages are rows in generational slabs;
//! everything that happens is an [`Event`], nested by the component it
//! concerns, and `handle` routes it. Where to read:
//! - `pipeline.rs`: how a call passes through its layers (the policies of
//!   `crate::policy`) and sends its attempts.
//! - `service.rs`: jobs at a service: queueing, overload, failures,
//!   downstream calls, cancellation, faults.
//! - `client.rs`: workloads and the end of requests.
//! - `collect.rs`: turning the state at the end into [`RunMetrics`].

mod bus;
mod client;
mod collect;
mod follow_up;
mod lock;
mod log;
mod pipeline;
mod replicas;
mod service;
pub mod slab;
mod trace;

pub use lock::LockWake;
pub use log::LogWake;
pub use trace::TraceSink;

pub(crate) use follow_up::{FollowUp, FollowUpSlot};

use sim_core::stats::{CountSeries, GaugeSeries, LatencyHistogram};
use sim_core::{EventId, Model, RngStream, RunLimits, Scheduler, Seeds, SimError, SimTime};

use crate::metrics::{RunMetrics, Series};
use crate::policy::limiter::TokenBucket;
use crate::policy::{FrameState, LayerCounters, Policy};
pub use crate::scenario::ErrorKind;
use crate::scenario::{
    Caller, Client, ClientTarget, Fault, FaultTarget, Handler, MetricsConfig, Scenario, Service,
};
use crate::station::Station;
use slab::{Ref, Slab};

/// Buckets kept per time series; longer runs get wider buckets.
pub(crate) const MAX_SERIES_BUCKETS: usize = 2000;

/// Significant digits of each replica's own latency and wait histograms:
/// 2 (within 1%) keeps a replica at about 80 KiB instead of 540; the
/// service's totals are kept apart at full precision.
pub(crate) const REPLICA_DIGITS: u8 = 2;

/// How a call (or an attempt) ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Succeeded.
    Ok,
    /// A failure turned into a success by a fallback.
    Degraded,
    /// The service answered with an error of this kind.
    Error(ErrorKind),
    /// A timeout or deadline fired.
    Timeout,
    /// Refused before reaching the service, or by it.
    Rejected(Rejection),
}

/// Who refused a call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The service's queue was full.
    Server,
    /// The breaker was open.
    Breaker,
    /// The bulkhead was full.
    Bulkhead,
    /// No rate-limiter token in time.
    RateLimit,
    /// The adaptive throttle refused.
    Throttle,
    /// The adaptive concurrency limit was reached.
    ConcurrencyLimit,
    /// A custom layer ([`Policy::custom`](crate::policy::Policy::custom)).
    Policy,
}

impl Outcome {
    /// Whether the call counts as a success (degraded included).
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Degraded)
    }

    /// Every outcome, in the order of [`Outcome::index`].
    pub const ALL: [Outcome; 15] = {
        use crate::scenario::ErrorKind as E;
        [
            Outcome::Ok,
            Outcome::Degraded,
            Outcome::Error(E::Unavailable),
            Outcome::Error(E::Overloaded),
            Outcome::Error(E::Internal),
            Outcome::Error(E::InvalidRequest),
            Outcome::Error(E::Conflict),
            Outcome::Timeout,
            Outcome::Rejected(Rejection::Server),
            Outcome::Rejected(Rejection::Breaker),
            Outcome::Rejected(Rejection::Bulkhead),
            Outcome::Rejected(Rejection::RateLimit),
            Outcome::Rejected(Rejection::Throttle),
            Outcome::Rejected(Rejection::ConcurrencyLimit),
            Outcome::Rejected(Rejection::Policy),
        ]
    };

    /// Its place in [`Outcome::ALL`] (a bit of
    /// [`Outcomes`](crate::policy::retry::Outcomes)). Every variant is
    /// named, so that a new one must be given its place here and in `ALL`
    /// (a test checks that the two agree).
    #[inline]
    pub fn index(self) -> u32 {
        use crate::scenario::ErrorKind as E;
        match self {
            Outcome::Ok => 0,
            Outcome::Degraded => 1,
            Outcome::Error(E::Unavailable) => 2,
            Outcome::Error(E::Overloaded) => 3,
            Outcome::Error(E::Internal) => 4,
            Outcome::Error(E::InvalidRequest) => 5,
            Outcome::Error(E::Conflict) => 6,
            Outcome::Timeout => 7,
            Outcome::Rejected(Rejection::Server) => 8,
            Outcome::Rejected(Rejection::Breaker) => 9,
            Outcome::Rejected(Rejection::Bulkhead) => 10,
            Outcome::Rejected(Rejection::RateLimit) => 11,
            Outcome::Rejected(Rejection::Throttle) => 12,
            Outcome::Rejected(Rejection::ConcurrencyLimit) => 13,
            Outcome::Rejected(Rejection::Policy) => 14,
        }
    }
}

/// Declares an id: an index into one of the world's tables, as a type of
/// its own so that a bus index cannot be used as a service index.
macro_rules! ids {
    ($( $(#[$doc:meta])* $name:ident($int:ty); )*) => {$(
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub(crate) $int);

        impl $name {
            /// The position in its table (scenario order).
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

ids! {
    /// A client group.
    ClientId(u16);
    /// A fault of the schedule.
    FaultId(u16);
    /// A bus.
    BusId(u16);
    /// A log.
    LogId(u16);
    /// A lock.
    LockId(u16);
}

/// Everything that can happen in the world, by the component it concerns;
/// the world routes each to its component.
#[derive(Copy, Clone, Debug)]
pub enum Event {
    /// When client groups issue requests.
    Client(ClientEvent),
    /// A call, its layers and its attempts.
    Call(CallEvent),
    /// What happens at a service.
    Service(ServiceEvent),
    /// A fault window opens or closes.
    Fault(FaultEdge),
    /// What happens at a bus.
    Bus(BusEvent),
    /// A log consumer wakes up.
    Log(LogEvent),
    /// A lock contender wakes up.
    Lock(LockEvent),
}

/// When client groups issue requests.
#[derive(Copy, Clone, Debug)]
pub enum ClientEvent {
    /// The next arrival (or burst) of an open-loop client group.
    Arrival {
        /// The client group.
        client: ClientId,
    },
    /// A closed-loop user is ready to send its next request.
    UserReady {
        /// The client group.
        client: ClientId,
        /// The user within it.
        user: u32,
    },
}

/// What happens to a call: its layers' timers and grants, its attempts.
#[derive(Copy, Clone, Debug)]
pub enum CallEvent {
    /// A timer of a call's layer: a timeout, a backoff, a wait.
    Timer {
        /// The call.
        call: Ref,
        /// The layer's position in its caller.
        layer: u8,
    },
    /// A slot a layer waited for was handed to the call (a bulkhead);
    /// where nothing else is due now, the world's follow-up instead.
    Grant {
        /// The call.
        call: Ref,
        /// The layer's position in its caller.
        layer: u8,
    },
    /// An attempt reaches its service after the network delay.
    Transmit {
        /// The attempt.
        attempt: Ref,
    },
    /// An attempt's answer reaches the caller (with no network delay and
    /// nothing else due now, the world's follow-up instead).
    Reply {
        /// The attempt.
        attempt: Ref,
        /// How it ended.
        outcome: Outcome,
    },
    /// The answer to a direct request (a client's request through a
    /// pipeline with nothing in it, which has no call or attempt row)
    /// reaches its client, when it could not be a follow-up (something
    /// else was due at that instant before it).
    Answer {
        /// The answer (in [`World`]'s `answers`).
        answer: Ref,
    },
    /// The deadline a call inherited from its job passed (deadline
    /// propagation).
    Expire {
        /// The call (gone already if it ended).
        call: Ref,
    },
    /// A caller's outlier-ejection sweep (Envoy's interval timer).
    OutlierSweep {
        /// The caller's pipeline.
        pipeline: u32,
    },
}

/// What happens at a service.
#[derive(Copy, Clone, Debug)]
pub enum ServiceEvent {
    /// A job's own work at a service is done.
    WorkDone {
        /// The job.
        job: Ref,
    },
    /// The deadline a job arrived with has passed (deadline propagation).
    Deadline {
        /// The job (gone already if it finished).
        job: Ref,
    },
    /// A replica scaled out is provisioned and takes traffic.
    ReplicaReady {
        /// The replica (index into the world's replicas).
        replica: u32,
    },
    /// A service's autoscaler decides.
    Autoscale {
        /// The service (index into the scenario's services).
        service: u16,
    },
}

/// A fault window opens or closes.
#[derive(Copy, Clone, Debug)]
pub struct FaultEdge {
    /// The fault.
    pub fault: FaultId,
    /// Its window opens (true) or closes.
    pub begin: bool,
}

/// What happens at a bus.
#[derive(Copy, Clone, Debug)]
pub enum BusEvent {
    /// A bus consumer's work is done, its backoff is over, or it is back
    /// from a crash.
    ConsumerReady {
        /// The bus.
        bus: BusId,
        /// The consumer.
        consumer: u32,
    },
    /// A delayed message (redelivery delay or visibility timeout) is due.
    MessageDue {
        /// The message.
        msg: Ref,
    },
}

/// A log consumer wakes up.
#[derive(Copy, Clone, Debug)]
pub struct LogEvent {
    /// The log.
    pub log: LogId,
    /// The consumer.
    pub consumer: u32,
    /// Why it wakes.
    pub wake: LogWake,
}

/// A lock contender wakes up.
#[derive(Copy, Clone, Debug)]
pub struct LockEvent {
    /// The lock.
    pub lock: LockId,
    /// The contender.
    pub contender: u32,
    /// Why it wakes.
    pub wake: LockWake,
}

/// Where a call came from, to be told how it ended.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Origin {
    Client {
        client: ClientId,
        user: u32,
    },
    Job(Ref),
    /// A bus consumer handling a message.
    Consumer {
        bus: BusId,
        consumer: u32,
    },
}

/// One call through one pipeline: a client request, or a service's
/// downstream call.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pipeline: u32,
    origin: Origin,
    pub(crate) start: SimTime,
    /// Positions entered: layers `0..depth` are active; `depth ==
    /// layers.len() + 1` means an attempt is out.
    depth: u8,
    /// Retries made so far (0 on the first attempt). The counts of a
    /// call are 16 bits (a call row is 48 bytes, not 56): the built-in
    /// policies make at most 1,000 tries of at most 5 hedged attempts
    /// each; past 65,535 (a custom layer's endless retries) they stay
    /// there.
    pub(crate) retries: u16,
    /// Attempts sent so far; an attempt's number is the count before it.
    pub(crate) sent: u16,
    /// The number of the attempt whose answer is being handled.
    pub(crate) answered: u16,
    /// The request's priority, inherited by its downstream calls.
    priority: crate::admission::Priority,
    /// The outcome being handled is the service's answer (so it may carry
    /// the service's retry-after); false from the next attempt on.
    pub(crate) answered_by_server: bool,
    /// The replica of the call's latest attempt (to avoid on a retry).
    last_replica: u16,
    /// Its block of frames in its pipeline's [`FrameArena`]: what the
    /// call remembers per layer (meaningless for a pipeline without
    /// layers).
    pub(crate) frames: u32,
    /// The call's attempts in flight (the first of a list through
    /// [`Attempt::next`]): rows of their own, so several may be out at once.
    attempts: Option<Ref>,
}

/// One attempt of a call: sent to the call's target, answered once.
#[derive(Clone, Debug)]
pub(crate) struct Attempt {
    call: Ref,
    /// The call's pipeline (kept here: answers need its network).
    pipeline: u32,
    /// The job serving it, once it has arrived.
    job: Option<Ref>,
    /// The attempt or its answer in the network.
    transit: Option<EventId>,
    /// The call's next attempt in flight.
    next: Option<Ref>,
    /// Which of the call's attempts it is (0: the first sent).
    nth: u16,
    /// The replica of the target it went to (0 without replicas).
    replica: u16,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum JobState {
    Queued,
    Working(EventId),
    /// Waiting for downstream call (None while it is being started).
    Calling(Option<Ref>),
}

/// Where a job's answer goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReplyTo {
    /// The attempt it serves.
    Attempt(Ref),
    /// A client's direct request: a call through a pipeline with nothing
    /// in it (no layers, no network delay, one replica) needs no call or
    /// attempt row; the job answers the client itself.
    Request(DirectRequest),
}

/// A client's request sent straight to its service ([`ReplyTo::Request`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct DirectRequest {
    client: ClientId,
    /// The client instance (its pipeline among the group's).
    instance: u16,
    /// The closed-loop user (0 for open-loop requests).
    user: u32,
}

/// The answer to a direct request on its way to the client: what its call
/// would have reported when it ended.
#[derive(Copy, Clone, Debug)]
pub(crate) struct DirectAnswer {
    request: DirectRequest,
    /// When the request started (its job arrived at once).
    start: SimTime,
    outcome: Outcome,
}

#[derive(Clone, Debug)]
pub(crate) struct Job {
    service: u16,
    /// Where its answer goes; `None` once its caller gave up (orphaned).
    caller: Option<ReplyTo>,
    arrived: SimTime,
    state: JobState,
    /// The error its work ends with, if it fails.
    fail: Option<ErrorKind>,
    next_call: u16,
    /// The priority of the request it serves.
    priority: crate::admission::Priority,
    /// Counted outstanding by the service's adaptive concurrency filter
    /// (until it is answered or dropped).
    admitted: bool,
}

/// Counters of one pipeline that no single layer owns.
#[derive(Clone, Debug, Default)]
pub(crate) struct PipelineStats {
    calls: u64,
    attempts: u64,
    failed: u64,
}

impl PipelineStats {
    /// The counters of several pipelines added up.
    fn sum<'a>(all: impl Iterator<Item = &'a PipelineStats>) -> PipelineStats {
        let mut s = PipelineStats::default();
        for p in all {
            s.calls += p.calls;
            s.attempts += p.attempts;
            s.failed += p.failed;
        }
        s
    }
}

/// Limit metrics of several limiters together: refusals added up, the
/// mean and final limit averaged, the extremes over all of them (one
/// limiter's as they are).
pub(crate) fn merge_limit_metrics(
    all: Vec<crate::metrics::LimitMetrics>,
) -> Option<crate::metrics::LimitMetrics> {
    let (first, rest) = all.split_first()?;
    if rest.is_empty() {
        return Some(first.clone());
    }
    let n = all.len() as f64;
    // Counts and extremes stay whole numbers, as one limiter's are.
    let whole = |f: fn(&crate::metrics::LimitMetrics) -> f64| all.iter().map(move |m| f(m) as u64);
    let mean = |f: fn(&crate::metrics::LimitMetrics) -> f64| all.iter().map(f).sum::<f64>() / n;
    Some(crate::metrics::LimitMetrics {
        rejected: whole(|m| m.rejected.get()).sum::<u64>().into(),
        limit_mean: mean(|m| m.limit_mean.get()).into(),
        limit_min: whole(|m| m.limit_min.get()).min().unwrap_or(0).into(),
        limit_max: whole(|m| m.limit_max.get()).max().unwrap_or(0).into(),
        limit_final: mean(|m| m.limit_final.get()).into(),
    })
}

/// The mean per bucket of several series (one series as it is; none:
/// empty).
pub(crate) fn mean_series(all: Vec<Vec<f64>>) -> Vec<f64> {
    match all.as_slice() {
        [] => Vec::new(),
        [one] => one.clone(),
        many => (0..many[0].len())
            .map(|i| {
                many.iter()
                    .map(|s| s.get(i).copied().unwrap_or(0.0))
                    .sum::<f64>()
                    / many.len() as f64
            })
            .collect(),
    }
}

/// A caller's policies with their running state.
#[derive(Clone)]
pub(crate) struct Pipeline {
    target: crate::scenario::Target,
    /// The target's first replica in `World::services`.
    first_replica: u32,
    /// The load balancer over the target's replicas (when it has several).
    balancer: Option<crate::balancer::Balancer>,
    /// Retries avoid the replica of the attempt before.
    avoid_previous_replica: bool,
    /// The target's retry-after delays (`Service::retry_after`).
    retry_after: Vec<(crate::policy::retry::RetryOn, Option<sim_core::SimDuration>)>,
    network: Option<sim_core::Dist>,
    /// A client's requests through it are direct ([`ReplyTo::Request`]):
    /// no layers, no network, one replica, and no trace (whose lines name
    /// every call and attempt by its row).
    direct: bool,
    layers: Vec<Policy>,
    /// The frames of its calls in flight.
    frames: FrameArena,
    rng: RngStream,
    net_rng: RngStream,
    stats: PipelineStats,
    attempts_series: CountSeries,
    /// Calls made and calls failed over time, for a service's downstream
    /// calls only (a client group has its own request series).
    calls_series: CountSeries,
    failed_series: CountSeries,
}

/// The frames of one pipeline's calls: a block of one frame per layer for
/// each call in flight, in one vector, blocks of ended calls reused. A
/// call holds its block's number (4 bytes) instead of a vector of its own
/// (24 bytes, and moved through the stack when a call starts and ends, a
/// store-forwarding stall each time). Frames are plain data, so a new
/// call's block is one copy of `fresh`; custom layers' states, boxed, are
/// kept in `custom`, one per frame, only where the pipeline has a custom
/// layer.
#[derive(Clone)]
pub(crate) struct FrameArena {
    /// A new call's frames, one per layer, built once: copying them is
    /// cheaper than building each state afresh per call (which compiled to
    /// partial stack writes read back whole, a store-forwarding stall:
    /// 12% of S1's RPC path, where most calls end at the open breaker).
    fresh: Vec<FrameState>,
    /// Every block, in use or free.
    frames: Vec<FrameState>,
    /// Custom layers' states, at the same positions as `frames` (empty
    /// when the pipeline has no custom layer).
    custom: Vec<Option<crate::policy::AnyState>>,
    has_custom: bool,
    /// Blocks of ended calls.
    free: Vec<u32>,
}

impl FrameArena {
    fn new(fresh: Vec<FrameState>) -> Self {
        FrameArena {
            has_custom: fresh.iter().any(|f| matches!(f, FrameState::Custom)),
            fresh,
            frames: Vec::new(),
            custom: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Frames per block: the pipeline's layers.
    #[inline]
    pub(crate) fn width(&self) -> usize {
        self.fresh.len()
    }

    /// A block of fresh frames for a new call (none without layers).
    #[inline(always)]
    fn alloc(&mut self) -> u32 {
        let w = self.width();
        if w == 0 {
            return 0;
        }
        let b = match self.free.pop() {
            Some(b) => {
                let at = b as usize * w;
                self.frames[at..at + w].copy_from_slice(&self.fresh);
                b
            }
            None => {
                let b = u32::try_from(self.frames.len() / w).expect("fewer than 4 billion calls");
                self.frames.extend_from_slice(&self.fresh);
                if self.has_custom {
                    self.custom.resize(self.frames.len(), None);
                }
                b
            }
        };
        if self.has_custom {
            let at = b as usize * w;
            self.custom[at..at + w].fill(None);
        }
        b
    }

    /// An ended call's block, for the next call (its frames are reset when
    /// it is taken again).
    #[inline]
    fn release(&mut self, block: u32) {
        if self.width() > 0 {
            self.free.push(block);
        }
    }

    /// Where frame `layer` of `block` is.
    #[inline]
    pub(crate) fn index(&self, block: u32, layer: usize) -> usize {
        block as usize * self.width() + layer
    }

    /// Frame `layer` of `block` starts afresh.
    fn reset(&mut self, block: u32, layer: usize) {
        let at = self.index(block, layer);
        self.frames[at] = self.fresh[layer];
        if self.has_custom {
            self.custom[at] = None;
        }
    }

    /// The first `depth` frames of `block`.
    pub(crate) fn block(&self, block: u32, depth: usize) -> &[FrameState] {
        let at = self.index(block, 0);
        &self.frames[at..at + depth.min(self.width())]
    }
}

impl Pipeline {
    /// The counters of every layer of several pipelines (a client group's
    /// instances, a service's replicas), added up (a custom counter once
    /// per name).
    fn counters_of(instances: &[&Pipeline]) -> LayerCounters {
        let mut c = LayerCounters::default();
        for p in instances {
            for l in &p.layers {
                l.report(&mut c);
            }
        }
        if instances.len() > 1 {
            let mut merged: Vec<(String, u64)> = Vec::new();
            for (name, v) in c.custom.0.drain(..) {
                match merged.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, total)) => *total += v,
                    None => merged.push((name, v)),
                }
            }
            c.custom.0 = merged;
        }
        c
    }

    /// What the adaptive concurrency limits of several pipelines did.
    fn limit_metrics_of(
        instances: &[&Pipeline],
        end: SimTime,
    ) -> Option<crate::metrics::LimitMetrics> {
        merge_limit_metrics(
            instances
                .iter()
                .filter_map(|p| p.limit_metrics(end))
                .collect(),
        )
    }

    /// The mean limit per bucket across several pipelines.
    fn limit_series_of(instances: &[&Pipeline], end: SimTime) -> Vec<f64> {
        mean_series(instances.iter().map(|p| p.limit_series(end)).collect())
    }

    /// What the outlier ejection of several pipelines did; `None` without
    /// one.
    fn ejection_metrics_of(instances: &[&Pipeline]) -> Option<crate::metrics::EjectionMetrics> {
        let mut any = false;
        let (mut ejections, mut overflow, mut panic) = (0u64, 0u64, 0u64);
        for p in instances {
            if let Some(b) = &p.balancer
                && let Some(o) = &b.outlier
            {
                any = true;
                let (e, f) = o.ejections();
                ejections += e;
                overflow += f;
                panic += b.panic_picks;
            }
        }
        any.then(|| crate::metrics::EjectionMetrics {
            ejections: ejections.into(),
            overflow: overflow.into(),
            panic_picks: panic.into(),
        })
    }

    /// What its hedge policy did; `None` without one.
    fn hedging(&self, c: &LayerCounters) -> Option<crate::metrics::HedgeMetrics> {
        self.layers
            .iter()
            .any(|l| l.kind() == Some(crate::policy::PolicyKind::Hedge))
            .then(|| crate::metrics::HedgeMetrics {
                hedges: c.hedges.into(),
                hedges_won: c.hedges_won.into(),
                attempts_cancelled: c.attempts_cancelled.into(),
            })
    }

    /// The adaptive concurrency limit among the layers, if any.
    fn concurrency_limit(&self) -> Option<&crate::policy::concurrency_limit::ConcurrencyLimit> {
        self.layers.iter().find_map(Policy::as_concurrency_limit)
    }

    /// What its adaptive concurrency limit did; `None` without one.
    fn limit_metrics(&self, end: SimTime) -> Option<crate::metrics::LimitMetrics> {
        self.concurrency_limit()
            .map(|l| l.track.metrics(end, l.rejected()))
    }

    /// Its adaptive concurrency limit per bucket; empty without one.
    fn limit_series(&self, end: SimTime) -> Vec<f64> {
        self.concurrency_limit()
            .map_or_else(Vec::new, |l| l.track.series(end))
    }

    /// The breaker among the layers, if any.
    fn breaker(&self) -> Option<&crate::policy::breaker::Breaker> {
        self.layers.iter().find_map(Policy::as_breaker)
    }
}

#[derive(Clone)]
pub(crate) struct ServiceRt {
    cfg: Service,
    /// Its service (index into the scenario's services): a replica of it.
    group: u16,
    /// Its number among the service's replicas.
    replica: u16,
    /// Whether it takes traffic.
    state: replicas::ReplicaState,
    /// Its service has several replica slots.
    replicated: bool,
    station: Station<Ref>,
    rng: RngStream,
    /// Envoy's adaptive concurrency filter, if configured.
    gradient: Option<crate::admission::GradientController>,
    /// DAGOR's priority admission, if configured.
    dagor: Option<crate::admission::Dagor>,
    /// The admission controllers' draws (Envoy's jitter), apart from the
    /// service's own so that they move no other number.
    admission_rng: RngStream,
    /// Which kind a failure is, and the extra `errors`: apart from the
    /// service's own stream for the same reason.
    errors_rng: RngStream,
    calls: Vec<u32>,
    fail_fast: u32,
    hang: u32,
    /// Faults active now (latency and error spikes).
    active: Vec<u16>,
    version: u64,
    stats: ServiceStats,
    latency: LatencyHistogram,
    arrivals_series: CountSeries,
    completed_series: CountSeries,
    /// Its jobs in service and waiting as last added to its service's
    /// totals (a replica of a service with several).
    reported: (usize, usize),
}

impl ServiceRt {
    /// Its jobs in service per time bucket (its station's series).
    fn in_flight_series(&self) -> &GaugeSeries {
        self.station
            .stats
            .in_service
            .series()
            .expect("a service's station keeps series")
    }

    /// Its jobs waiting per time bucket (its station's series).
    fn queue_series(&self) -> &GaugeSeries {
        self.station
            .stats
            .queue_len
            .series()
            .expect("a service's station keeps series")
    }

    /// Applies `f` to both of its station's series.
    fn series_mut(&mut self, mut f: impl FnMut(&mut GaugeSeries)) {
        let st = &mut self.station.stats;
        for o in [&mut st.in_service, &mut st.queue_len] {
            f(o.series_mut().expect("a service's station keeps series"));
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ServiceStats {
    arrivals: u64,
    ok: u64,
    errors: u64,
    rejected: u64,
    lost: u64,
    cancelled: u64,
    orphaned: u64,
    conflicts: u64,
    /// Jobs dropped because their caller's deadline passed.
    expired: u64,
}

impl ServiceStats {
    /// Adds another replica's counts.
    fn add(&mut self, o: &ServiceStats) {
        self.arrivals += o.arrivals;
        self.ok += o.ok;
        self.errors += o.errors;
        self.rejected += o.rejected;
        self.lost += o.lost;
        self.cancelled += o.cancelled;
        self.orphaned += o.orphaned;
        self.conflicts += o.conflicts;
        self.expired += o.expired;
    }
}

#[derive(Clone)]
pub(crate) struct ClientRt {
    cfg: Client,
    /// The call pipeline, for clients that call a service: the first of
    /// `instances` consecutive ones, one per client the group stands for.
    pipeline: Option<u32>,
    instances: u32,
    /// The instance the next open-loop request goes to.
    next_instance: u32,
    rng: RngStream,
    /// Draws each request's user priority; only when some service admits
    /// by priority (so other scenarios draw nothing more).
    priority_rng: Option<RngStream>,
    offered: u64,
    replay_next: usize,
    stats: ClientStats,
    latency_ok: LatencyHistogram,
    /// Latencies of failed requests: with `latency_ok`, every request's
    /// (merged at the end: one record per request instead of two).
    latency_failed: LatencyHistogram,
    offered_series: CountSeries,
    ok_series: CountSeries,
    failed_series: CountSeries,
    /// Requests in flight, now (its value) and over time.
    in_flight_series: GaugeSeries,
    last_completion: Option<SimTime>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ClientStats {
    ok: u64,
    degraded: u64,
    failures: Failures,
}

/// Failed requests by the outcome that ended them, counted during a run
/// (the document's `FailureBreakdown` at the end).
#[derive(Clone, Debug, Default)]
pub(crate) struct Failures {
    error: u64,
    timeout: u64,
    breaker: u64,
    bulkhead: u64,
    rate_limiter: u64,
    throttle: u64,
    server_rejected: u64,
    policy: u64,
    concurrency_limit: u64,
}

impl Failures {
    fn total(&self) -> u64 {
        self.error
            + self.timeout
            + self.breaker
            + self.bulkhead
            + self.rate_limiter
            + self.throttle
            + self.server_rejected
            + self.policy
            + self.concurrency_limit
    }

    fn breakdown(&self) -> crate::metrics::FailureBreakdown {
        crate::metrics::FailureBreakdown {
            error: self.error.into(),
            timeout: self.timeout.into(),
            breaker: self.breaker.into(),
            bulkhead: self.bulkhead.into(),
            rate_limiter: self.rate_limiter.into(),
            throttle: self.throttle.into(),
            server_rejected: self.server_rejected.into(),
            policy: self.policy.into(),
            concurrency_limit: self.concurrency_limit.into(),
        }
    }
}

/// The whole simulated system.
#[derive(Clone)]
pub struct World {
    /// Some service admits by priority: only then do requests carry one
    /// (everything else skips the bookkeeping).
    by_priority: bool,
    clients: Vec<ClientRt>,
    /// Every replica of every service (a service without replicas is one),
    /// service by service.
    services: Vec<ServiceRt>,
    /// Per service of the scenario: its replicas.
    groups: Vec<replicas::GroupRt>,
    pipelines: Vec<Pipeline>,
    limiters: Vec<TokenBucket>,
    faults: Vec<Fault>,
    calls: Slab<Call>,
    attempts: Slab<Attempt>,
    jobs: Slab<Job>,
    /// An answer due now, handled before every pending event
    /// ([`Model::has_follow_up`]).
    follow_up: FollowUpSlot,
    /// Answers to direct requests waiting in the queue
    /// ([`CallEvent::Answer`]).
    answers: Slab<DirectAnswer>,
    buses: Vec<bus::BusRt>,
    logs: Vec<log::LogRt>,
    locks: Vec<lock::LockRt>,
    messages: Slab<bus::Message>,
    /// The deadline each job arrived with, at services that honour
    /// deadlines (kept apart so that jobs elsewhere pay nothing for it; an
    /// entry leaves when its deadline event fires).
    job_deadlines: std::collections::BTreeMap<Ref, SimTime>,
    /// The bus message each job a consumer's call started works on (kept
    /// apart for the same reason; an entry leaves with its job).
    job_messages: std::collections::BTreeMap<Ref, Ref>,
    /// The version of its service's data each job started with, at
    /// services with write conflicts (the same; an entry leaves with its
    /// job).
    job_versions: std::collections::BTreeMap<Ref, u64>,
    metrics: MetricsConfig,
    trace: Option<trace::TraceSink>,
    /// The first error writing the trace (the run goes on; it is reported
    /// at the end).
    trace_error: Option<String>,
}

/// A level of the running state, by what it counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Level {
    /// Jobs waiting at a service (index into the scenario's services).
    Queue(usize),
    /// Jobs waiting or in service at a service.
    InSystem(usize),
    /// Requests of a client group in flight.
    ClientInFlight(usize),
}

impl Level {
    /// Parses `services.NAME.queue`, `services.NAME.in_system` or
    /// `clients.NAME.in_flight` against `scenario`'s names.
    pub fn parse(text: &str, scenario: &Scenario) -> Result<Level, String> {
        let parts: Vec<&str> = text.splitn(3, '.').collect();
        let bad = || {
            format!(
                "{text:?}: expected services.NAME.queue, services.NAME.in_system or clients.NAME.in_flight"
            )
        };
        let [group, name, what] = parts[..] else {
            return Err(bad());
        };
        let find = |names: Vec<&str>| {
            names.iter().position(|n| *n == name).ok_or_else(|| {
                format!(
                    "{text:?}: no {group} named {name:?} (there are: {})",
                    names.join(", ")
                )
            })
        };
        match (group, what) {
            ("services", "queue") => {
                find(scenario.services.iter().map(|s| s.name.as_str()).collect()).map(Level::Queue)
            }
            ("services", "in_system") => {
                find(scenario.services.iter().map(|s| s.name.as_str()).collect())
                    .map(Level::InSystem)
            }
            ("clients", "in_flight") => {
                find(scenario.clients.iter().map(|c| c.name.as_str()).collect())
                    .map(Level::ClientInFlight)
            }
            _ => Err(bad()),
        }
    }
}

/// Options of one run that are not part of the scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Write a JSON-lines trace of every event there.
    pub trace: Option<trace::TraceSink>,
    /// Stop with an error after this many events (protects `--trace`).
    pub max_events: Option<u64>,
}

/// What one replication produced.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// Every metric of the replication.
    pub metrics: RunMetrics,
    /// Its time series.
    pub series: Series,
    /// Events handled.
    pub events: u64,
}

/// Why a replication could not finish.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    /// The engine stopped (a zero-delay storm).
    Engine(#[from] SimError),
    #[error("stopped after {0} events (--max-events)")]
    /// The run reached `max_events`.
    EventLimit(u64),
    #[error("cannot write the trace: {0}")]
    /// Writing the trace failed.
    Trace(String),
}

fn pipeline(
    name: String,
    caller: &Caller,
    scenario: &Scenario,
    seeds: &Seeds,
    bucket: sim_core::SimDuration,
) -> Pipeline {
    let mut layers = caller.layers.clone();
    for l in &mut layers {
        l.set_series_bucket(bucket);
    }
    let target = &scenario.services[caller.target.service()];
    let balancer = (target.slots > 1).then(|| {
        crate::balancer::Balancer::new(
            caller.load_balancer.clone(),
            target.slots as usize,
            seeds.stream(&format!("{name}/balancer")),
            caller.outlier_ejection.as_ref(),
        )
    });
    let first_replica = scenario.services[..caller.target.service()]
        .iter()
        .map(|s| s.slots)
        .sum();
    Pipeline {
        target: caller.target.clone(),
        first_replica,
        balancer,
        avoid_previous_replica: caller.avoid_previous_replica,
        retry_after: scenario.services[caller.target.service()]
            .retry_after
            .clone(),
        network: caller.network.clone(),
        direct: false,
        frames: FrameArena::new(layers.iter().map(Policy::fresh_state).collect()),
        layers,
        rng: seeds.stream(&format!("{name}/policies")),
        net_rng: seeds.stream(&format!("{name}/network")),
        stats: PipelineStats::default(),
        attempts_series: CountSeries::with_max_buckets(bucket, MAX_SERIES_BUCKETS),
        calls_series: CountSeries::with_max_buckets(bucket, MAX_SERIES_BUCKETS),
        failed_series: CountSeries::with_max_buckets(bucket, MAX_SERIES_BUCKETS),
    }
}

impl World {
    /// Builds the world of one replication.
    pub fn new(scenario: &Scenario, seeds: &Seeds, options: &RunOptions) -> Self {
        let bucket = scenario.metrics.bucket;
        let mut pipelines = Vec::new();
        let mut services = Vec::new();
        let mut groups = Vec::new();
        for (g, s) in scenario.services.iter().enumerate() {
            groups.push(replicas::GroupRt::new(s, services.len() as u32, bucket));
            for k in 0..s.slots {
                // Replica 0 keeps the service's stream names, so a service
                // of one replica draws what it always drew.
                let name = match k {
                    0 => s.name.clone(),
                    k => format!("{}#{k}", s.name),
                };
                let calls = s
                    .calls
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        pipelines.push(pipeline(
                            format!("services.{name}.calls[{i}]"),
                            c,
                            scenario,
                            seeds,
                            bucket,
                        ));
                        (pipelines.len() - 1) as u32
                    })
                    .collect();
                services.push(ServiceRt {
                    group: g as u16,
                    replica: k as u16,
                    replicated: s.slots > 1,
                    state: if k < s.replicas {
                        replicas::ReplicaState::InService
                    } else {
                        replicas::ReplicaState::Off
                    },
                    // Kendall's K is workers plus waiting room; with unlimited
                    // workers nothing ever waits.
                    station: {
                        let st = Station::new(
                            s.workers,
                            s.workers.zip(s.queue_capacity).map(|(w, q)| w + q),
                            s.discipline,
                        )
                        .with_shedding(s.shed)
                        // Its levels per bucket are the service's series
                        // of in flight and queued.
                        .with_series(bucket, MAX_SERIES_BUCKETS);
                        if s.slots > 1 {
                            st.with_wait_digits(REPLICA_DIGITS)
                        } else {
                            st
                        }
                    },
                    rng: seeds.stream(&format!("services.{name}")),
                    gradient: s.adaptive_concurrency.clone().map(|mut g| {
                        g.track.set_bucket(bucket);
                        g
                    }),
                    dagor: s.priority_admission.clone().map(|mut d| {
                        d.track.set_bucket(bucket);
                        d
                    }),
                    admission_rng: seeds.stream(&format!("services.{name}/admission")),
                    errors_rng: seeds.stream(&format!("services.{name}/errors")),
                    calls,
                    fail_fast: 0,
                    hang: 0,
                    active: Vec::new(),
                    version: 0,
                    stats: ServiceStats::default(),
                    latency: if s.slots > 1 {
                        LatencyHistogram::with_digits(REPLICA_DIGITS)
                    } else {
                        LatencyHistogram::new()
                    },
                    arrivals_series: CountSeries::with_max_buckets(bucket, MAX_SERIES_BUCKETS),
                    completed_series: CountSeries::with_max_buckets(bucket, MAX_SERIES_BUCKETS),
                    reported: (0, 0),
                    cfg: s.clone(),
                });
            }
        }
        let by_priority = scenario
            .services
            .iter()
            .any(|s| s.priority_admission.is_some());
        let clients = scenario
            .clients
            .iter()
            .map(|c| {
                let name = format!("clients.{}", c.name);
                let client_pipeline = match &c.target {
                    ClientTarget::Service(caller) => {
                        let first = pipelines.len() as u32;
                        for k in 0..c.instances {
                            // Instance 0 keeps the group's stream names, so
                            // a group of one draws what it always drew.
                            let name = match k {
                                0 => name.clone(),
                                k => format!("{name}#{k}"),
                            };
                            pipelines.push(pipeline(name, caller, scenario, seeds, bucket));
                        }
                        Some(first)
                    }
                    ClientTarget::Bus(_) | ClientTarget::Log(_) => None,
                };
                ClientRt {
                    pipeline: client_pipeline,
                    instances: c.instances,
                    next_instance: 0,
                    rng: seeds.stream(&format!("{name}/workload")),
                    priority_rng: by_priority.then(|| seeds.stream(&format!("{name}/priority"))),
                    offered: 0,
                    replay_next: 0,
                    stats: ClientStats::default(),
                    latency_ok: LatencyHistogram::new(),
                    latency_failed: LatencyHistogram::new(),
                    offered_series: CountSeries::with_max_buckets(bucket, MAX_SERIES_BUCKETS),
                    ok_series: CountSeries::with_max_buckets(bucket, MAX_SERIES_BUCKETS),
                    failed_series: CountSeries::with_max_buckets(bucket, MAX_SERIES_BUCKETS),
                    in_flight_series: GaugeSeries::with_max_buckets(bucket, MAX_SERIES_BUCKETS),
                    last_completion: None,
                    cfg: c.clone(),
                }
            })
            .collect();
        let buses = scenario
            .buses
            .iter()
            .map(|b| {
                let name = format!("buses.{}", b.name);
                let handler = match &b.handler {
                    Handler::Call(caller) => {
                        pipelines.push(pipeline(
                            format!("{name}.handler"),
                            caller,
                            scenario,
                            seeds,
                            bucket,
                        ));
                        Some((pipelines.len() - 1) as u32)
                    }
                    Handler::Work { .. } => None,
                };
                bus::BusRt::new(b, handler, seeds.stream(&name), bucket)
            })
            .collect();
        let logs = scenario
            .logs
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let outages = scenario
                    .faults
                    .iter()
                    .filter(|f| f.target == FaultTarget::Log(i))
                    .map(|f| (f.start, f.end))
                    .collect();
                log::LogRt::new(
                    l,
                    seeds.stream(&format!("logs.{}", l.name)),
                    bucket,
                    outages,
                )
            })
            .collect();
        let locks = scenario
            .locks
            .iter()
            .map(|l| lock::LockRt::new(l, seeds.stream(&format!("locks.{}", l.name))))
            .collect();
        for p in &mut pipelines {
            p.direct = p.layers.is_empty()
                && p.network.is_none()
                && p.balancer.is_none()
                && options.trace.is_none();
        }
        World {
            by_priority,
            clients,
            services,
            groups,
            buses,
            logs,
            locks,
            messages: Slab::default(),
            job_deadlines: Default::default(),
            job_messages: Default::default(),
            job_versions: Default::default(),
            pipelines,
            limiters: scenario.limiters.iter().map(|(_, b)| b.clone()).collect(),
            faults: scenario.faults.clone(),
            calls: Slab::default(),
            attempts: Slab::default(),
            jobs: Slab::default(),
            follow_up: FollowUpSlot::new(true),
            answers: Slab::default(),
            metrics: scenario.metrics.clone(),
            trace: options.trace.clone(),
            trace_error: None,
        }
    }

    /// The metrics and series of the world as it is at `end`, after
    /// `events` events (what [`run_replication`] reports at the end).
    pub fn collect_metrics(&mut self, end: SimTime, events: u64) -> (RunMetrics, Series) {
        self.collect(end, events)
    }

    /// Forks every random stream of the world into branch `branch` (see
    /// [`RngStream::fork`]): a copy of a running world that is forked
    /// continues differently from the original, and two copies forked with
    /// the same branch continue identically. What splitting estimators do
    /// at a level crossing.
    pub fn fork(&mut self, branch: u64) {
        for c in &mut self.clients {
            c.rng.fork(branch);
            if let Some(r) = &mut c.priority_rng {
                r.fork(branch);
            }
        }
        for s in &mut self.services {
            s.rng.fork(branch);
            s.admission_rng.fork(branch);
            s.errors_rng.fork(branch);
        }
        for p in &mut self.pipelines {
            p.rng.fork(branch);
            p.net_rng.fork(branch);
            if let Some(b) = &mut p.balancer {
                b.fork(branch);
            }
        }
        for b in &mut self.buses {
            b.rng.fork(branch);
        }
        for l in &mut self.logs {
            l.rng.fork(branch);
        }
        for l in &mut self.locks {
            l.rng.fork(branch);
        }
    }

    /// The current value of a level of the state (a splitting estimator's
    /// distance to collapse).
    pub fn level(&self, level: Level) -> u64 {
        match level {
            Level::Queue(s) => self
                .replicas_of(s)
                .map(|r| r.station.queue_len() as u64)
                .sum(),
            Level::InSystem(s) => self
                .replicas_of(s)
                .map(|r| (r.station.busy() + r.station.queue_len()) as u64)
                .sum(),
            Level::ClientInFlight(c) => self.clients[c].in_flight_series.value(),
        }
    }

    /// The replicas of service `s` (one for a service without replicas).
    pub(crate) fn replicas_of(&self, s: usize) -> impl Iterator<Item = &ServiceRt> {
        let g = &self.groups[s];
        self.services[g.first as usize..(g.first + g.slots) as usize].iter()
    }

    /// Schedules the first arrivals and the fault edges.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        for k in 0..self.clients.len() {
            self.schedule_first_arrivals(sched, k);
        }
        for (i, f) in self.faults.iter().enumerate() {
            sched.schedule_at(
                f.start,
                Event::Fault(FaultEdge {
                    fault: FaultId(i as u16),
                    begin: true,
                }),
            );
            sched.schedule_at(
                f.end,
                Event::Fault(FaultEdge {
                    fault: FaultId(i as u16),
                    begin: false,
                }),
            );
        }
        for l in 0..self.logs.len() {
            self.start_log(sched, l);
        }
        for k in 0..self.locks.len() {
            self.start_lock(sched, k);
        }
    }

    /// The name of what a fault hits.
    pub(crate) fn fault_target_name(&self, f: usize) -> &str {
        match self.faults[f].target {
            FaultTarget::Service(s) => &self.groups[s].name,
            FaultTarget::Bus(b) => &self.buses[b].cfg.name,
            FaultTarget::Log(l) => &self.logs[l].cfg.name,
        }
    }

    fn trace_event(&mut self, now: SimTime, event: &Event) {
        use trace::TraceEvent as T;
        let what = match *event {
            Event::Client(ClientEvent::Arrival { client }) => T::Arrival {
                client: &self.clients[client.index()].cfg.name,
            },
            Event::Client(ClientEvent::UserReady { client, user }) => T::UserReady {
                client: &self.clients[client.index()].cfg.name,
                user,
            },
            Event::Call(CallEvent::Timer { call, layer }) => T::Timer {
                call,
                layer: self.layer_name(call, layer as usize),
            },
            Event::Call(CallEvent::Grant { call, layer }) => T::BulkheadGrant { call, layer },
            Event::Call(CallEvent::Transmit { attempt }) => T::Transmit {
                call: self.attempt_call(attempt),
            },
            Event::Call(CallEvent::Reply { attempt, outcome }) => T::Reply {
                call: self.attempt_call(attempt),
                outcome,
            },
            // Never while tracing (no request is direct then); named by
            // the answer's row should that change.
            Event::Call(CallEvent::Answer { answer }) => T::Reply {
                call: answer,
                outcome: self.answers.get(answer).map_or(Outcome::Ok, |a| a.outcome),
            },
            Event::Service(ServiceEvent::WorkDone { job }) => {
                let svc = self
                    .jobs
                    .get(job)
                    .map(|j| &self.services[j.service as usize]);
                T::WorkDone {
                    job,
                    service: svc.map_or("?", |s| s.cfg.name.as_str()),
                    replica: svc
                        .filter(|s| self.groups[s.group as usize].replicated())
                        .map(|s| s.replica),
                }
            }
            Event::Service(ServiceEvent::Deadline { job }) => T::JobDeadline { job },
            Event::Service(ServiceEvent::ReplicaReady { replica }) => {
                let svc = &self.services[replica as usize];
                T::ReplicaReady {
                    service: &svc.cfg.name,
                    replica: svc.replica,
                }
            }
            Event::Service(ServiceEvent::Autoscale { service }) => T::Autoscale {
                service: &self.groups[service as usize].name,
            },
            Event::Call(CallEvent::OutlierSweep { pipeline }) => T::OutlierSweep { pipeline },
            Event::Call(CallEvent::Expire { call }) => T::CallExpired { call },
            Event::Fault(FaultEdge { fault, begin }) => {
                let f = fault.index();
                let (fault, target) = (self.faults[f].spec.kind(), self.fault_target_name(f));
                if begin {
                    T::FaultBegin { fault, target }
                } else {
                    T::FaultEnd { fault, target }
                }
            }
            Event::Bus(BusEvent::ConsumerReady { bus, consumer }) => T::ConsumerReady {
                bus: &self.buses[bus.index()].cfg.name,
                consumer,
            },
            Event::Bus(BusEvent::MessageDue { msg }) => T::MessageDue { msg },
            Event::Log(LogEvent {
                log,
                consumer,
                wake,
            }) => T::LogWake {
                log: &self.logs[log.index()].cfg.name,
                consumer,
                wake,
            },
            Event::Lock(LockEvent {
                lock,
                contender,
                wake,
            }) => T::LockWake {
                lock: &self.locks[lock.index()].cfg.name,
                contender,
                wake,
            },
        };
        let line = trace::Record {
            t_ns: now.as_nanos(),
            event: what,
        }
        .line();
        self.trace_line(|| line);
    }

    /// The call an attempt belongs to, for the trace (the attempt itself if
    /// it is gone).
    fn attempt_call(&self, attempt: Ref) -> Ref {
        self.attempts.get(attempt).map_or(attempt, |a| a.call)
    }

    /// A layer's name for the trace (its position if the call is gone).
    fn layer_name(&self, call: Ref, layer: usize) -> String {
        self.calls
            .get(call)
            .and_then(|c| self.pipelines[c.pipeline as usize].layers.get(layer))
            .map_or_else(|| layer.to_string(), Policy::name)
    }

    pub(crate) fn trace_line(&mut self, line: impl FnOnce() -> String) {
        if let Some(trace) = &self.trace
            && self.trace_error.is_none()
            && let Err(e) = trace.line(&line())
        {
            self.trace_error = Some(e.to_string());
        }
    }

    /// Traces `event` at `now`, when tracing.
    pub(crate) fn trace_record(&mut self, now: SimTime, event: trace::TraceEvent) {
        if self.trace.is_some() {
            let line = trace::Record {
                t_ns: now.as_nanos(),
                event,
            }
            .line();
            self.trace_line(|| line);
        }
    }
}

impl World {
    /// A reply or a grant handled as the follow-up: as the event in its
    /// place, traced as that event. Out of line, apart from the direct
    /// answers M/M/1's path takes, so that path stays as short.
    #[inline(never)]
    fn call_follow_up(&mut self, sched: &mut Scheduler<Event>, next: FollowUp) {
        match next {
            FollowUp::Answer(answer) => self.finish_direct(sched, answer),
            FollowUp::Reply { attempt, outcome } => {
                self.trace_follow_up(sched, CallEvent::Reply { attempt, outcome });
                self.on_reply(sched, attempt, outcome);
            }
            FollowUp::Grant { call, layer } => {
                self.trace_follow_up(sched, CallEvent::Grant { call, layer });
                self.on_grant(sched, call, layer as usize);
            }
        }
    }

    /// Traces a follow-up as the event it stands for, when tracing.
    fn trace_follow_up(&mut self, sched: &Scheduler<Event>, event: CallEvent) {
        if self.trace.is_some() {
            self.trace_event(sched.now(), &Event::Call(event));
        }
    }
}

impl Model for World {
    type Event = Event;

    #[inline(always)]
    fn has_follow_up(&self) -> bool {
        self.follow_up.is_waiting()
    }

    #[inline]
    fn follow_up(&mut self, sched: &mut Scheduler<Event>) {
        match self.follow_up.take() {
            Some(FollowUp::Answer(answer)) => self.finish_direct(sched, answer),
            Some(call_event) => self.call_follow_up(sched, call_event),
            None => {}
        }
    }

    fn handle(&mut self, sched: &mut Scheduler<Event>, event: Event) {
        if self.trace.is_some() {
            self.trace_event(sched.now(), &event);
        }
        match event {
            Event::Client(ClientEvent::Arrival { client }) => {
                self.on_arrival(sched, client.index())
            }
            Event::Client(ClientEvent::UserReady { client, user }) => {
                self.on_user_ready(sched, client.index(), user)
            }
            Event::Call(CallEvent::Timer { call, layer }) => {
                self.on_timer(sched, call, layer as usize)
            }
            Event::Call(CallEvent::Grant { call, layer }) => {
                self.on_grant(sched, call, layer as usize)
            }
            Event::Call(CallEvent::Transmit { attempt }) => self.on_transmit(sched, attempt),
            Event::Call(CallEvent::Reply { attempt, outcome }) => {
                self.on_reply(sched, attempt, outcome)
            }
            Event::Call(CallEvent::OutlierSweep { pipeline }) => {
                self.on_outlier_sweep(sched, pipeline as usize)
            }
            Event::Call(CallEvent::Expire { call }) => self.on_call_expired(sched, call),
            Event::Call(CallEvent::Answer { answer }) => self.on_answer(sched, answer),
            Event::Service(ServiceEvent::WorkDone { job }) => self.on_work_done(sched, job),
            Event::Service(ServiceEvent::Deadline { job }) => self.on_job_deadline(sched, job),
            Event::Service(ServiceEvent::ReplicaReady { replica }) => {
                self.on_replica_ready(sched, replica as usize)
            }
            Event::Service(ServiceEvent::Autoscale { service }) => {
                self.on_autoscale(sched, service as usize)
            }
            Event::Fault(FaultEdge { fault, begin }) => {
                self.on_fault_edge(sched, fault.index(), begin)
            }
            Event::Bus(BusEvent::ConsumerReady { bus, consumer }) => {
                self.on_consumer_ready(sched, bus.index(), consumer)
            }
            Event::Bus(BusEvent::MessageDue { msg }) => self.on_message_due(sched, msg),
            Event::Log(LogEvent {
                log,
                consumer,
                wake,
            }) => self.on_log_wake(sched, log.index(), consumer as usize, wake),
            Event::Lock(LockEvent {
                lock,
                contender,
                wake,
            }) => self.on_lock_wake(sched, lock.index(), contender, wake),
        }
    }
}

/// Runs one replication of a scenario with the given seeds.
pub fn run_replication(
    scenario: &Scenario,
    seeds: &Seeds,
    options: &RunOptions,
) -> Result<RunOutput, RunError> {
    run_world(scenario, seeds, options, true)
}

/// [`run_replication`], with answers as follow-ups or (`follow_ups`
/// false) always as events: the two runs are equal (tested below).
fn run_world(
    scenario: &Scenario,
    seeds: &Seeds,
    options: &RunOptions,
    follow_ups: bool,
) -> Result<RunOutput, RunError> {
    let mut sim = sim_core::Simulation::new(World::new(scenario, seeds, options));
    sim.model.follow_up = FollowUpSlot::new(follow_ups);
    sim.model.start(&mut sim.sched);
    let mut limits = match scenario.duration {
        Some(d) => RunLimits::until(SimTime::at(d)),
        None => RunLimits::to_exhaustion(),
    };
    limits.max_events = options.max_events;
    let report = sim.run(&limits)?;
    if let Some(e) = sim.model.trace_error.take() {
        return Err(RunError::Trace(e));
    }
    if report.reason == sim_core::StopReason::EventLimit {
        return Err(RunError::EventLimit(report.events_handled));
    }
    let end = report.now;
    let world = &mut sim.model;
    let (metrics, series) = world.collect(end, report.events_handled);
    Ok(RunOutput {
        metrics,
        series,
        events: report.events_handled,
    })
}

#[cfg(test)]
mod tests {
    /// Answers as follow-ups change no number: replication 0 of every
    /// shipped scenario, and a few that make answers meet other events at
    /// one instant (constant times, bursts, hedges, bulkheads handing
    /// slots over, timeouts, sheds), give the same metrics, series and
    /// event count with every answer an event.
    #[test]
    fn follow_ups_change_no_number() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("the experiments folder")
            .map(|e| e.expect("a folder entry").path())
            .filter(|p| {
                let name = p.to_string_lossy();
                name.ends_with(".ron") && !name.ends_with(".sweep.ron")
            })
            .collect();
        files.sort();
        assert!(files.len() > 10, "{files:?}");
        let mut scenarios: Vec<(String, crate::scenario::Scenario)> = files
            .iter()
            .map(|f| {
                let s = crate::scenario::load(f, &[]).unwrap_or_else(|e| panic!("{e}"));
                (f.display().to_string(), s)
            })
            .collect();
        let inline = [
            r#"(name: "hedged-bulkhead", seed: 11, duration: "3s",
                services: [(name: "s", workers: 3, queue_capacity: 4, service_time: Constant("4ms"),
                            failure_probability: 0.1, shed: QueueTimeout("6ms"))],
                clients: [(name: "c", workload: Bursts(size: 12, every: "10ms"), target: "s",
                           timeout: "9ms", retry: (max_attempts: 3),
                           hedge: (delay: "2ms", max_attempts: 2),
                           bulkhead: (max_concurrent: 4, max_waiting: Some(6), max_wait: "4ms"))])"#,
            r#"(name: "tiers", seed: 12, duration: "3s",
                services: [(name: "front", workers: 4, service_time: Constant("1ms"), on_abandon: Cancel,
                            calls: [(target: "back", timeout: "6ms", retry: (max_attempts: 2),
                                     bulkhead: (max_concurrent: 2, max_waiting: None))]),
                           (name: "back", workers: 2, service_time: Constant("2ms"), on_abandon: Cancel)],
                clients: [(name: "c", workload: Bursts(size: 8, every: "5ms"), target: "front",
                           timeout: "5ms")])"#,
        ];
        for text in inline {
            let path = std::path::Path::new("inline.ron");
            let file = crate::scenario::parse(text, path).unwrap_or_else(|e| panic!("{e}"));
            let s = crate::scenario::check(&file, path).unwrap_or_else(|e| panic!("{e}"));
            scenarios.push((text.to_string(), s));
        }
        for (name, s) in &scenarios {
            let run = |follow_ups| {
                let seeds = sim_core::Seeds::new(s.seed).replication(0);
                let out = super::run_world(s, &seeds, &Default::default(), follow_ups)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let metrics = serde_json::to_string(&out.metrics).expect("metrics as JSON");
                let series = serde_json::to_string(&out.series).expect("series as JSON");
                (metrics, series, out.events)
            };
            assert_eq!(run(true), run(false), "{name}");
        }
    }

    /// Events live in the heap entries; nesting them by component must not
    /// make every entry bigger (16 bytes since round 1).
    #[test]
    fn an_event_is_16_bytes() {
        assert_eq!(std::mem::size_of::<super::Event>(), 16);
    }

    /// A call holds one frame per layer: each built-in layer's per-call
    /// state must keep it at 32 bytes (S1's four layers are 128 bytes of
    /// every call in flight).
    #[test]
    fn a_frame_is_32_bytes() {
        assert_eq!(std::mem::size_of::<crate::policy::FrameState>(), 32);
    }

    /// The rows every call in flight holds: replicas and deadlines must
    /// not make them grow past what they cost (a job's deadline lives in a
    /// side table, only at services that honour deadlines).
    #[test]
    fn rows_of_a_call_in_flight_stay_small() {
        assert_eq!(std::mem::size_of::<super::Job>(), 40);
        assert_eq!(std::mem::size_of::<super::Call>(), 48);
        assert_eq!(std::mem::size_of::<super::Attempt>(), 40);
        // References and event ids have a niche: an absent one costs nothing.
        assert_eq!(std::mem::size_of::<Option<super::Ref>>(), 8);
        assert_eq!(std::mem::size_of::<Option<sim_core::EventId>>(), 8);
    }
}
