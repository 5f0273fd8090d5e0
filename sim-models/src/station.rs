//! A queueing station: c servers (or unlimited), a FIFO or LIFO queue with an
//! optional system capacity K, and the statistics queueing theory talks about.
//!
//! [`Station`] is only the queueing discipline and its bookkeeping; it does
//! not schedule anything. Whoever owns it (the standalone [`StationModel`]
//! used to validate the engine against M/M/c, M/M/1/K, M/D/1 and Erlang B,
//! or a scenario `Service`) samples service times and schedules completions.
//! One implementation therefore serves both the validated model and the
//! resilience scenarios.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use sim_core::stats::{GaugeSeries, LatencyHistogram, TimeWeighted};
use sim_core::{
    Dist, Model, RngStream, RunLimits, Scheduler, Seeds, SimDuration, SimError, SimTime, Simulation,
};

/// Order in which waiting jobs are served.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Discipline {
    /// First come, first served.
    #[default]
    Fifo,
    /// Last come, first served: the newest waiting job starts next. Under
    /// overload this serves fresh requests whose callers are still waiting.
    Lifo,
}

/// What happened to an arriving job.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A server was free: service starts now.
    Started,
    /// All servers busy: the job waits in the queue.
    Queued,
    /// The system was at capacity K: the job is turned away.
    Blocked,
}

#[derive(Clone, Debug)]
struct Waiting<K> {
    key: K,
    arrived: SimTime,
    /// Dropped (shed) if still waiting after this instant.
    deadline: SimTime,
}

/// Load shedding at the queue: work that waited too long is dropped when a
/// worker would take it, instead of being served for a caller that has
/// likely given up.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shedding {
    /// Drop a job that waited longer than this.
    QueueTimeout(SimDuration),
    /// Controlled delay as Facebook's "Fail at Scale" (2015) describes it:
    /// a job may wait `interval`, or only `target` if the queue had not been
    /// empty for longer than `interval` when it arrived; with
    /// `adaptive_lifo`, the newest job is served first while the queue has
    /// not been empty for longer than `interval` (the overloaded state), the
    /// oldest otherwise.
    CoDel {
        /// The short allowance under sustained queueing (M, 5 ms).
        target: SimDuration,
        /// How long the queue may stay non-empty before it counts as
        /// overloaded, and the normal allowance (N, 100 ms).
        interval: SimDuration,
        /// Serve LIFO while overloaded.
        #[serde(default)]
        adaptive_lifo: bool,
    },
}

/// What [`Station::next_or_shed`] took from the queue.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Dequeued<K> {
    /// Started on a free server, after waiting this long.
    Start(K, SimDuration),
    /// Dropped: it waited past its allowance.
    Shed(K),
}

/// Counters and time-weighted gauges of a station.
#[derive(Clone, Debug)]
pub struct StationStats {
    /// Jobs that arrived.
    pub arrivals: u64,
    /// Jobs refused (the station was full).
    pub blocked: u64,
    /// Jobs that started service.
    pub started: u64,
    /// Jobs that had to wait (all servers busy on arrival).
    pub waited: u64,
    /// Jobs that finished service.
    pub completed: u64,
    /// Jobs removed from the queue before they started (caller cancelled).
    pub abandoned: u64,
    /// Jobs dropped from the queue by load shedding.
    pub shed: u64,
    /// Waits for a server, of the jobs that started.
    pub wait: LatencyHistogram,
    /// Jobs waiting, over time.
    pub queue_len: Occupancy,
    /// Jobs in service, over time.
    pub in_service: Occupancy,
}

/// How a station keeps one of its levels (jobs waiting, jobs in service)
/// over time: a time-weighted mean and maximum, or, where the station's
/// owner reports the level per time bucket (a scenario's service), a
/// series that gives the same mean and maximum over the run, so that one
/// update per change serves both.
#[derive(Clone, Debug)]
pub enum Occupancy {
    /// The time-weighted mean and maximum over the run.
    Total(TimeWeighted),
    /// The same, kept per time bucket too.
    Series(GaugeSeries),
}

impl Occupancy {
    /// The level becomes `value` at `now`.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: u64) {
        match self {
            Occupancy::Total(t) => t.set(now, value),
            Occupancy::Series(s) => s.set(now, value),
        }
    }

    /// The level now.
    pub fn value(&self) -> u64 {
        match self {
            Occupancy::Total(t) => t.value(),
            Occupancy::Series(s) => s.value(),
        }
    }

    /// The time-weighted mean from the start of the statistics to `now`.
    pub fn mean(&self, now: SimTime) -> f64 {
        match self {
            Occupancy::Total(t) => t.mean(now),
            Occupancy::Series(s) => s.total_mean(now),
        }
    }

    /// The highest level so far.
    pub fn max(&self) -> u64 {
        match self {
            Occupancy::Total(t) => t.max(),
            Occupancy::Series(s) => s.peak(),
        }
    }

    /// The level per time bucket, where it is kept.
    pub fn series(&self) -> Option<&GaugeSeries> {
        match self {
            Occupancy::Total(_) => None,
            Occupancy::Series(s) => Some(s),
        }
    }

    /// The same, to coarsen it.
    pub fn series_mut(&mut self) -> Option<&mut GaugeSeries> {
        match self {
            Occupancy::Total(_) => None,
            Occupancy::Series(s) => Some(s),
        }
    }
}

impl StationStats {
    fn new(now: SimTime) -> Self {
        StationStats {
            arrivals: 0,
            blocked: 0,
            started: 0,
            waited: 0,
            completed: 0,
            abandoned: 0,
            shed: 0,
            wait: LatencyHistogram::new(),
            queue_len: Occupancy::Total(TimeWeighted::new(now, 0)),
            in_service: Occupancy::Total(TimeWeighted::new(now, 0)),
        }
    }
}

impl<K> Station<K> {
    /// The same station keeping its waits at `digits` significant digits
    /// (see `LatencyHistogram::with_digits`).
    pub fn with_wait_digits(mut self, digits: u8) -> Self {
        self.stats.wait = LatencyHistogram::with_digits(digits);
        self
    }

    /// The same station keeping its levels (jobs waiting, in service) per
    /// time bucket of `width` too (merged in pairs past `max_buckets`), as
    /// [`GaugeSeries`]: the mean and maximum over the run are the same.
    /// For a new station (time 0, empty).
    pub fn with_series(mut self, width: SimDuration, max_buckets: usize) -> Self {
        self.stats.queue_len = Occupancy::Series(GaugeSeries::with_max_buckets(width, max_buckets));
        self.stats.in_service =
            Occupancy::Series(GaugeSeries::with_max_buckets(width, max_buckets));
        self
    }
}

/// The queueing core: admission, queue discipline, server occupancy.
///
/// Jobs are named by keys of the owner's choosing. Cancelling a queued job is
/// O(1): the owner marks it dead in its own table and calls
/// [`Station::forget_queued`]; the stale key is skipped when it reaches the
/// head of the queue (the owner's `is_live` says so).
#[derive(Clone, Debug)]
pub struct Station<K> {
    servers: Option<usize>,
    capacity: Option<usize>,
    discipline: Discipline,
    queue: VecDeque<Waiting<K>>,
    forgotten: usize,
    busy: usize,
    shedding: Option<Shedding>,
    /// Since when the queue has held a job without a break (None: empty).
    nonempty_since: Option<SimTime>,
    /// What it measured.
    pub stats: StationStats,
}

impl<K: Copy> Station<K> {
    /// `servers`: `None` for unlimited concurrency. `capacity`: the most jobs
    /// in the system (waiting plus in service), Kendall's K; `None` for no
    /// bound.
    pub fn new(servers: Option<usize>, capacity: Option<usize>, discipline: Discipline) -> Self {
        Station {
            servers,
            capacity,
            discipline,
            queue: VecDeque::new(),
            forgotten: 0,
            busy: 0,
            shedding: None,
            nonempty_since: None,
            stats: StationStats::new(SimTime::ZERO),
        }
    }

    /// The same station, shedding work as `shedding` says.
    pub fn with_shedding(mut self, shedding: Option<Shedding>) -> Self {
        self.shedding = shedding;
        self
    }

    /// Whether the queue has held a job for longer than `interval` without
    /// a break (CoDel's overloaded state).
    fn queueing_for_longer_than(&self, now: SimTime, interval: SimDuration) -> bool {
        self.nonempty_since.is_some_and(|t| now.since(t) > interval)
    }

    /// Keeps `nonempty_since` in step after the queue changed.
    fn note_queue(&mut self, now: SimTime) {
        if self.queue_len() == 0 {
            self.nonempty_since = None;
        } else if self.nonempty_since.is_none() {
            self.nonempty_since = Some(now);
        }
    }

    /// Jobs waiting (cancelled ones excluded).
    pub fn queue_len(&self) -> usize {
        self.queue.len() - self.forgotten
    }

    /// Jobs in service.
    pub fn busy(&self) -> usize {
        self.busy
    }

    /// Jobs waiting or in service.
    pub fn in_system(&self) -> usize {
        self.busy + self.queue_len()
    }

    /// Changes the number of servers (a capacity drop or its end). Jobs in
    /// service finish; no new job starts while `busy >= servers`. Returns
    /// the number of queued jobs that may start now (call [`Station::next`]
    /// that many times).
    pub fn set_servers(&mut self, servers: Option<usize>) -> usize {
        self.servers = servers;
        let free = match servers {
            None => usize::MAX,
            Some(c) => c.saturating_sub(self.busy),
        };
        free.min(self.queue_len())
    }

    fn has_free_server(&self) -> bool {
        self.servers.is_none_or(|c| self.busy < c)
    }

    /// A job arrives. On `Started` the caller begins its service.
    pub fn arrive(&mut self, now: SimTime, key: K) -> Admission {
        self.stats.arrivals += 1;
        if self.capacity.is_some_and(|k| self.in_system() >= k) {
            self.stats.blocked += 1;
            return Admission::Blocked;
        }
        if self.has_free_server() && self.queue_len() == 0 {
            self.start(now, now, false);
            Admission::Started
        } else {
            let allowance = match self.shedding {
                None => None,
                Some(Shedding::QueueTimeout(t)) => Some(t),
                Some(Shedding::CoDel {
                    target, interval, ..
                }) => Some(if self.queueing_for_longer_than(now, interval) {
                    target
                } else {
                    interval
                }),
            };
            self.queue.push_back(Waiting {
                key,
                arrived: now,
                deadline: allowance.map_or(SimTime::MAX, |a| now + a),
            });
            self.note_queue(now);
            self.stats.queue_len.set(now, self.queue_len() as u64);
            Admission::Queued
        }
    }

    fn start(&mut self, now: SimTime, arrived: SimTime, waited: bool) {
        self.busy += 1;
        self.stats.started += 1;
        if waited {
            self.stats.waited += 1;
        }
        self.stats.wait.record(now.since(arrived));
        self.stats.in_service.set(now, self.busy as u64);
    }

    /// A job in service finishes (or is cancelled while in service) and
    /// frees its server.
    pub fn finish(&mut self, now: SimTime, completed: bool) {
        debug_assert!(self.busy > 0);
        self.busy = self.busy.saturating_sub(1);
        if completed {
            self.stats.completed += 1;
        }
        self.stats.in_service.set(now, self.busy as u64);
    }

    /// If a server is free and a live job waits, starts it and returns its
    /// key and how long it waited. `is_live` lets the owner skip jobs it has
    /// cancelled. A station that sheds load uses [`Station::next_or_shed`].
    pub fn next(
        &mut self,
        now: SimTime,
        is_live: impl FnMut(K) -> bool,
    ) -> Option<(K, SimDuration)> {
        debug_assert!(
            self.shedding.is_none(),
            "a shedding station uses next_or_shed"
        );
        match self.next_or_shed(now, is_live)? {
            Dequeued::Start(k, wait) => Some((k, wait)),
            Dequeued::Shed(_) => None,
        }
    }

    /// Like [`Station::next`], for a station that may shed: the next live
    /// job either starts or, past its allowance, is dropped (call again for
    /// the one after it).
    #[inline]
    pub fn next_or_shed(
        &mut self,
        now: SimTime,
        mut is_live: impl FnMut(K) -> bool,
    ) -> Option<Dequeued<K>> {
        if !self.has_free_server() {
            return None;
        }
        let lifo = self.discipline == Discipline::Lifo
            || matches!(self.shedding, Some(Shedding::CoDel {
                interval,
                adaptive_lifo: true,
                ..
            }) if self.queueing_for_longer_than(now, interval));
        loop {
            let w = if lifo {
                self.queue.pop_back()
            } else {
                self.queue.pop_front()
            }?;
            if !is_live(w.key) {
                self.forgotten -= 1;
                continue;
            }
            let out = if now > w.deadline {
                self.stats.shed += 1;
                Dequeued::Shed(w.key)
            } else {
                self.start(now, w.arrived, true);
                Dequeued::Start(w.key, now.since(w.arrived))
            };
            self.note_queue(now);
            self.stats.queue_len.set(now, self.queue_len() as u64);
            return Some(out);
        }
    }

    /// The owner cancelled a queued job: it no longer counts as waiting and
    /// will be skipped by [`Station::next`].
    pub fn forget_queued(&mut self, now: SimTime) {
        self.forgotten += 1;
        self.stats.abandoned += 1;
        self.note_queue(now);
        self.stats.queue_len.set(now, self.queue_len() as u64);
    }

    /// Removes every waiting job (a crash), returning their keys (live ones
    /// only, as judged by `is_live`).
    pub fn drain_queue(&mut self, now: SimTime, mut is_live: impl FnMut(K) -> bool) -> Vec<K> {
        let keys = self
            .queue
            .drain(..)
            .map(|w| w.key)
            .filter(|&k| is_live(k))
            .collect();
        self.forgotten = 0;
        self.nonempty_since = None;
        self.stats.queue_len.set(now, 0);
        keys
    }

    /// Starts the statistics afresh at `now` (end of warm-up), the levels
    /// as time-weighted totals from `now` (a series, which starts at 0, is
    /// not kept across a reset).
    pub fn reset_stats(&mut self, now: SimTime) {
        let mut fresh = StationStats::new(now);
        fresh.queue_len = Occupancy::Total(TimeWeighted::new(now, self.queue_len() as u64));
        fresh.in_service = Occupancy::Total(TimeWeighted::new(now, self.busy as u64));
        self.stats = fresh;
    }
}

// ---------------------------------------------------------------------------
// The standalone station model used for validation against queueing theory.
// ---------------------------------------------------------------------------

/// A single station fed by a renewal arrival process (`G/G/c/K`).
#[derive(Clone, Debug)]
pub struct StationConfig {
    /// Time between arrivals (exponential for Poisson arrivals).
    pub interarrival: Dist,
    /// Service times.
    pub service: Dist,
    /// `None`: infinitely many servers.
    pub servers: Option<usize>,
    /// System capacity K (waiting plus in service); `None`: unbounded.
    pub capacity: Option<usize>,
    /// Which waiting job goes next.
    pub discipline: Discipline,
    /// Statistics are reset at the end of the warm-up.
    pub warmup: SimDuration,
    /// Length of the measured period after the warm-up.
    pub measure: SimDuration,
}

/// What one run of a station measured after the warm-up.
#[derive(Clone, Debug)]
pub struct StationReport {
    /// Jobs that arrived after the warm-up.
    pub arrivals: u64,
    /// Of them, refused.
    pub blocked: u64,
    /// Of them, done.
    pub completed: u64,
    /// Fraction of arrivals turned away.
    pub blocking_probability: f64,
    /// Fraction of admitted (started) jobs that had to wait.
    pub wait_probability: f64,
    /// Mean wait in queue of started jobs, seconds.
    pub mean_wait: f64,
    /// Mean time in system of completed jobs, seconds.
    pub mean_sojourn: f64,
    /// Time-weighted mean number waiting.
    pub mean_queue_len: f64,
    /// Time-weighted mean number in the system.
    pub mean_in_system: f64,
    /// Time in the system of the jobs done.
    pub sojourn: LatencyHistogram,
    /// Events handled.
    pub events: u64,
}

/// Events of the standalone station model.
#[derive(Copy, Clone, Debug)]
pub enum StationEvent {
    /// The next job arrives.
    Arrival,
    /// A job leaves.
    Departure {
        /// When it arrived.
        arrived: SimTime,
    },
    /// The warm-up ends: statistics restart.
    EndWarmup,
}

/// The station plus its arrival process, as a simulation model.
pub struct StationModel {
    station: Station<SimTime>,
    interarrival: Dist,
    service: Dist,
    arrivals_rng: RngStream,
    service_rng: RngStream,
    sojourn: LatencyHistogram,
    in_system: TimeWeighted,
}

impl StationModel {
    /// The model of `config`, with streams from `seeds`.
    pub fn new(config: &StationConfig, seeds: &Seeds) -> Self {
        StationModel {
            station: Station::new(config.servers, config.capacity, config.discipline),
            interarrival: config.interarrival.clone(),
            service: config.service.clone(),
            arrivals_rng: seeds.stream("station/arrivals"),
            service_rng: seeds.stream("station/service"),
            sojourn: LatencyHistogram::new(),
            in_system: TimeWeighted::new(SimTime::ZERO, 0),
        }
    }

    fn begin_service(&mut self, sched: &mut Scheduler<StationEvent>, arrived: SimTime) {
        let d = self.service.sample(&mut self.service_rng);
        sched.schedule_in(d, StationEvent::Departure { arrived });
    }
}

impl Model for StationModel {
    type Event = StationEvent;

    fn handle(&mut self, sched: &mut Scheduler<StationEvent>, event: StationEvent) {
        let now = sched.now();
        match event {
            StationEvent::Arrival => {
                let gap = self.interarrival.sample(&mut self.arrivals_rng);
                sched.schedule_in(gap, StationEvent::Arrival);
                if self.station.arrive(now, now) == Admission::Started {
                    self.begin_service(sched, now);
                }
                self.in_system.set(now, self.station.in_system() as u64);
            }
            StationEvent::Departure { arrived } => {
                self.station.finish(now, true);
                self.sojourn.record(now.since(arrived));
                if let Some((next_arrived, _)) = self.station.next(now, |_| true) {
                    self.begin_service(sched, next_arrived);
                }
                self.in_system.set(now, self.station.in_system() as u64);
            }
            StationEvent::EndWarmup => {
                self.station.reset_stats(now);
                self.sojourn.reset();
                self.in_system.reset(now);
            }
        }
    }
}

/// Runs one replication of a station and reports what it measured.
pub fn run_station(config: &StationConfig, seeds: &Seeds) -> Result<StationReport, SimError> {
    let mut sim = Simulation::new(StationModel::new(config, seeds));
    sim.sched.schedule_at(SimTime::ZERO, StationEvent::Arrival);
    sim.sched
        .schedule_at(SimTime::at(config.warmup), StationEvent::EndWarmup);
    let end = SimTime::at(config.warmup + config.measure);
    let run = sim.run(&RunLimits::until(end))?;
    let m = &sim.model;
    let s = &m.station.stats;
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Ok(StationReport {
        arrivals: s.arrivals,
        blocked: s.blocked,
        completed: s.completed,
        blocking_probability: ratio(s.blocked, s.arrivals),
        wait_probability: ratio(s.waited, s.started),
        mean_wait: s.wait.mean_secs().unwrap_or(0.0),
        mean_sojourn: m.sojourn.mean_secs().unwrap_or(0.0),
        mean_queue_len: s.queue_len.mean(end),
        mean_in_system: m.in_system.mean(end),
        sojourn: m.sojourn.clone(),
        events: run.events_handled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ns: u64) -> SimTime {
        SimTime::from_nanos(ns)
    }

    #[test]
    fn admission_respects_servers_and_capacity() {
        let mut s: Station<u32> = Station::new(Some(1), Some(3), Discipline::Fifo);
        assert_eq!(s.arrive(t(0), 1), Admission::Started);
        assert_eq!(s.arrive(t(1), 2), Admission::Queued);
        assert_eq!(s.arrive(t(2), 3), Admission::Queued);
        assert_eq!(s.arrive(t(3), 4), Admission::Blocked);
        assert_eq!(s.stats.blocked, 1);
        s.finish(t(10), true);
        assert_eq!(
            s.next(t(10), |_| true),
            Some((2, SimDuration::from_nanos(9)))
        );
        assert_eq!(s.in_system(), 2);
    }

    #[test]
    fn lifo_serves_newest_first() {
        let mut s: Station<u32> = Station::new(Some(1), None, Discipline::Lifo);
        s.arrive(t(0), 1);
        s.arrive(t(1), 2);
        s.arrive(t(2), 3);
        s.finish(t(5), true);
        assert_eq!(s.next(t(5), |_| true).map(|x| x.0), Some(3));
    }

    #[test]
    fn forgotten_jobs_are_skipped_and_not_counted() {
        let mut s: Station<u32> = Station::new(Some(1), Some(3), Discipline::Fifo);
        s.arrive(t(0), 1);
        s.arrive(t(0), 2);
        s.arrive(t(0), 3);
        // Job 2 is cancelled by its caller.
        s.forget_queued(t(1));
        assert_eq!(s.queue_len(), 1);
        assert_eq!(
            s.arrive(t(1), 4),
            Admission::Queued,
            "capacity freed by the cancel"
        );
        s.finish(t(2), true);
        assert_eq!(s.next(t(2), |k| k != 2).map(|x| x.0), Some(3));
    }

    #[test]
    fn unlimited_servers_never_queue() {
        let mut s: Station<u32> = Station::new(None, None, Discipline::Fifo);
        for i in 0..1000 {
            assert_eq!(s.arrive(t(0), i), Admission::Started);
        }
        assert_eq!(s.busy(), 1000);
    }

    #[test]
    fn capacity_drop_stops_new_starts_until_restored() {
        let mut s: Station<u32> = Station::new(Some(2), None, Discipline::Fifo);
        s.arrive(t(0), 1);
        s.arrive(t(0), 2);
        s.arrive(t(0), 3);
        assert_eq!(s.set_servers(Some(1)), 0);
        s.finish(t(1), true);
        assert_eq!(s.next(t(1), |_| true), None, "still at the reduced limit");
        assert_eq!(s.set_servers(Some(2)), 1);
        assert!(s.next(t(2), |_| true).is_some());
    }

    fn ms(x: u64) -> SimTime {
        SimTime::from_nanos(x * 1_000_000)
    }

    fn codel(adaptive_lifo: bool) -> Station<u32> {
        Station::new(Some(1), None, Discipline::Fifo).with_shedding(Some(Shedding::CoDel {
            target: SimDuration::from_millis(5),
            interval: SimDuration::from_millis(100),
            adaptive_lifo,
        }))
    }

    /// Fail at Scale's CoDel: a job may wait the interval (100 ms), or only
    /// the target (5 ms) if the queue had been non-empty for longer than the
    /// interval when it arrived; a job past its allowance is shed when a
    /// server would take it.
    #[test]
    fn codel_gives_the_short_allowance_under_sustained_queueing() {
        let mut s = codel(false);
        assert_eq!(s.arrive(ms(0), 0), Admission::Started);
        for k in 1..=3 {
            assert_eq!(s.arrive(ms(0), k), Admission::Queued);
        }
        // The queue has been non-empty since 0: at 150 ms a new job only
        // gets 5 ms.
        assert_eq!(s.arrive(ms(150), 9), Admission::Queued);
        s.finish(ms(150), true);
        // Jobs 1-3 waited 150 ms > 100 ms: shed, one per call; job 9 starts.
        for k in 1..=3 {
            assert_eq!(s.next_or_shed(ms(150), |_| true), Some(Dequeued::Shed(k)));
        }
        assert_eq!(
            s.next_or_shed(ms(150), |_| true),
            Some(Dequeued::Start(9, SimDuration::ZERO))
        );
        assert_eq!(s.stats.shed, 3);
        // The queue emptied: the next job to queue gets the interval again.
        assert_eq!(s.arrive(ms(151), 10), Admission::Queued);
        s.finish(ms(240), true);
        assert!(matches!(
            s.next_or_shed(ms(240), |_| true),
            Some(Dequeued::Start(10, _))
        ));
        // Had it got 5 ms (the queue non-empty since 151 at 160 is not yet
        // over 100 ms), it would have been shed at 240.
        assert_eq!(s.stats.shed, 3);
    }

    /// Adaptive LIFO: while overloaded the newest job goes first, so fresh
    /// work is served while stale work is shed.
    #[test]
    fn adaptive_lifo_serves_the_newest_while_overloaded() {
        let mut s = codel(true);
        s.arrive(ms(0), 0);
        s.arrive(ms(0), 1);
        s.arrive(ms(0), 2);
        s.finish(ms(50), true);
        // Not overloaded yet (non-empty for 50 ms): oldest first.
        assert_eq!(
            s.next_or_shed(ms(50), |_| true),
            Some(Dequeued::Start(1, SimDuration::from_millis(50)))
        );
        // At 110 ms (non-empty since 0) a new job gets 5 ms and, served
        // newest first, starts before job 2, which then waited too long.
        s.arrive(ms(110), 3);
        s.finish(ms(112), true);
        assert_eq!(
            s.next_or_shed(ms(112), |_| true),
            Some(Dequeued::Start(3, SimDuration::from_millis(2)))
        );
        s.finish(ms(120), true);
        assert_eq!(s.next_or_shed(ms(120), |_| true), Some(Dequeued::Shed(2)));
        assert_eq!(s.next_or_shed(ms(120), |_| true), None);
    }

    #[test]
    fn a_queue_timeout_sheds_what_waited_longer() {
        let mut s: Station<u32> = Station::new(Some(1), None, Discipline::Fifo)
            .with_shedding(Some(Shedding::QueueTimeout(SimDuration::from_millis(25))));
        s.arrive(ms(0), 0);
        s.arrive(ms(0), 1);
        s.arrive(ms(10), 2);
        s.finish(ms(25), true);
        // Waited exactly 25 ms: not longer, so it starts.
        assert!(matches!(
            s.next_or_shed(ms(25), |_| true),
            Some(Dequeued::Start(1, _))
        ));
        s.finish(ms(36), true);
        // Job 2 waited 26 ms.
        assert_eq!(s.next_or_shed(ms(36), |_| true), Some(Dequeued::Shed(2)));
    }
}
