//! A partitioned, durable log with one consumer group (S5).
//!
//! Producers append to partitions (by key, or round robin). Each consumer
//! owns the partitions `p` with `p % consumers == c` and processes their
//! messages one at a time, in offset order, visiting its partitions round
//! robin. It commits its positions every N messages and/or every interval.
//! A consumer crash loses its uncommitted progress: on restart it resumes
//! from the last commit, so the messages processed since are processed
//! again (duplicates). A broker outage holds appends and stops fetching and
//! committing until it ends.
//!
//! Lag is Kafka's: log end offset minus committed offset, over all
//! partitions. Duplicates are counted in O(1) memory: an offset below the
//! partition's highest processed offset is a replay.

use std::collections::VecDeque;

use sim_core::stats::{CountSeries, GaugeSeries, LatencyHistogram, TimeWeighted};
use sim_core::{EventId, RngStream, Scheduler, SimTime};

use super::{ClientId, Event, LogEvent, LogId, World};
use crate::scenario::Log;

/// What wakes a log consumer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LogWake {
    /// The message being processed is done.
    Processed,
    /// The commit interval elapsed.
    CommitTimer,
    /// Crash number `n` of the log's crash list happens.
    Crash(u16),
    /// Back from a crash.
    Restart,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ConsumerState {
    Idle,
    Processing { partition: usize, done: EventId },
    Down,
}

#[derive(Clone)]
struct LogConsumer {
    state: ConsumerState,
    /// Next partition (index into its own list) to look at.
    next: usize,
    since_commit: u32,
}

#[derive(Clone)]
pub(crate) struct LogRt {
    pub(crate) cfg: Log,
    /// Log end offset per partition.
    end: Vec<u64>,
    /// Next offset to process per partition.
    position: Vec<u64>,
    committed: Vec<u64>,
    /// One past the highest offset ever processed, per partition.
    high_water: Vec<u64>,
    /// Append times of offsets from `times_base[p]` on, for latency; trimmed
    /// as commits advance, so memory follows the lag, not the log.
    times: Vec<VecDeque<SimTime>>,
    times_base: Vec<u64>,
    consumers: Vec<LogConsumer>,
    pub(crate) rng: RngStream,
    round_robin: u64,
    pub(crate) down: u32,
    /// Appends held during a broker outage: (client, user, requested at).
    held: VecDeque<(ClientId, u32, SimTime)>,
    appended: u64,
    processed: u64,
    duplicates: u64,
    commits: u64,
    crashes: u64,
    lag: TimeWeighted,
    held_gauge: TimeWeighted,
    latency: LatencyHistogram,
    lag_series: GaugeSeries,
    appended_series: CountSeries,
    processed_series: CountSeries,
    /// Disturbances (start, end) for the catch-up time, and the lag when
    /// each began.
    disturbances: Vec<(SimTime, SimTime)>,
    lag_at_start: Vec<Option<u64>>,
    catch_up: Option<SimTime>,
}

impl LogRt {
    pub(crate) fn new(
        cfg: &Log,
        rng: RngStream,
        bucket: sim_core::SimDuration,
        outages: Vec<(SimTime, SimTime)>,
    ) -> Self {
        let n = cfg.partitions;
        let mut disturbances: Vec<(SimTime, SimTime)> = cfg
            .crashes
            .iter()
            .map(|&(_, at, down)| (at, at + down))
            .chain(outages)
            .collect();
        disturbances.sort();
        LogRt {
            end: vec![0; n],
            position: vec![0; n],
            committed: vec![0; n],
            high_water: vec![0; n],
            times: vec![VecDeque::new(); n],
            times_base: vec![0; n],
            consumers: (0..cfg.consumers)
                .map(|_| LogConsumer {
                    state: ConsumerState::Idle,
                    next: 0,
                    since_commit: 0,
                })
                .collect(),
            rng,
            round_robin: 0,
            down: 0,
            held: VecDeque::new(),
            appended: 0,
            processed: 0,
            duplicates: 0,
            commits: 0,
            crashes: 0,
            lag: TimeWeighted::new(SimTime::ZERO, 0),
            held_gauge: TimeWeighted::new(SimTime::ZERO, 0),
            latency: LatencyHistogram::new(),
            lag_series: GaugeSeries::with_max_buckets(bucket, super::MAX_SERIES_BUCKETS),
            appended_series: CountSeries::with_max_buckets(bucket, super::MAX_SERIES_BUCKETS),
            processed_series: CountSeries::with_max_buckets(bucket, super::MAX_SERIES_BUCKETS),
            lag_at_start: vec![None; disturbances.len()],
            disturbances,
            catch_up: None,
            cfg: cfg.clone(),
        }
    }

    fn total_lag(&self) -> u64 {
        self.end
            .iter()
            .zip(&self.committed)
            .map(|(e, c)| e - c)
            .sum()
    }

    fn update_lag(&mut self, now: SimTime) {
        let lag = self.total_lag();
        self.lag.set(now, lag);
        self.lag_series.set(now, lag);
        // Note the lag when each disturbance begins, and the first time after
        // the last one ends that the lag is back to that level.
        for (i, &(start, _)) in self.disturbances.iter().enumerate() {
            if self.lag_at_start[i].is_none() && now >= start {
                self.lag_at_start[i] = Some(lag);
            }
        }
        if let (Some(&(_, end)), Some(Some(before))) =
            (self.disturbances.last(), self.lag_at_start.last())
        {
            // Committed lag moves in steps of up to one commit batch. Strictly
            // after the end: at the end itself, appends held by a broker
            // outage are still landing one by one.
            let slack = u64::from(self.cfg.commit_every.unwrap_or(0));
            if now > end && self.catch_up.is_none() && lag <= before + slack {
                self.catch_up = Some(now);
            }
        }
    }

    fn owned(&self, c: usize) -> impl Iterator<Item = usize> + '_ {
        (c..self.cfg.partitions).step_by(self.cfg.consumers)
    }

    pub(crate) fn series_width(&self) -> sim_core::SimDuration {
        self.lag_series
            .width()
            .max(self.appended_series.width())
            .max(self.processed_series.width())
    }
}

impl World {
    /// Schedules the log's crashes and commit timers.
    pub(crate) fn start_log(&mut self, sched: &mut Scheduler<Event>, l: usize) {
        let log = &self.logs[l];
        for (i, &(consumer, at, _)) in log.cfg.crashes.iter().enumerate() {
            sched.schedule_at(
                at,
                Event::Log(LogEvent {
                    log: LogId(l as u16),
                    consumer: consumer as u32,
                    wake: LogWake::Crash(i as u16),
                }),
            );
        }
        if let Some(interval) = log.cfg.commit_interval {
            for c in 0..log.cfg.consumers {
                sched.schedule_in(
                    interval,
                    Event::Log(LogEvent {
                        log: LogId(l as u16),
                        consumer: c as u32,
                        wake: LogWake::CommitTimer,
                    }),
                );
            }
        }
        let now = sched.now();
        self.logs[l].update_lag(now);
    }

    /// A producer's request appends one message.
    pub(crate) fn append(
        &mut self,
        sched: &mut Scheduler<Event>,
        l: usize,
        client: ClientId,
        user: u32,
    ) {
        let now = sched.now();
        let log = &mut self.logs[l];
        if log.down > 0 {
            log.held.push_back((client, user, now));
            log.held_gauge.set(now, log.held.len() as u64);
            return;
        }
        self.append_now(sched, l, client, user, now);
    }

    fn append_now(
        &mut self,
        sched: &mut Scheduler<Event>,
        l: usize,
        client: ClientId,
        user: u32,
        requested: SimTime,
    ) {
        let now = sched.now();
        let log = &mut self.logs[l];
        let p = match log.cfg.keys {
            Some(keys) => (log.rng.index(keys as usize)) % log.cfg.partitions,
            None => {
                log.round_robin += 1;
                ((log.round_robin - 1) % log.cfg.partitions as u64) as usize
            }
        };
        log.end[p] += 1;
        log.times[p].push_back(now);
        log.appended += 1;
        log.appended_series.add(now, 1);
        log.update_lag(now);
        let consumer = p % log.cfg.consumers;
        self.finish_request(sched, client.index(), user, requested, super::Outcome::Ok);
        self.log_consumer_next(sched, l, consumer);
    }

    /// An idle consumer looks for its next message.
    fn log_consumer_next(&mut self, sched: &mut Scheduler<Event>, l: usize, c: usize) {
        let log = &mut self.logs[l];
        if log.down > 0 || log.consumers[c].state != ConsumerState::Idle {
            return;
        }
        let owned: Vec<usize> = log.owned(c).collect();
        let start = log.consumers[c].next;
        for k in 0..owned.len() {
            let p = owned[(start + k) % owned.len()];
            if log.position[p] < log.end[p] {
                let d = log.cfg.processing.sample(&mut log.rng);
                let done = sched.schedule_in(
                    d,
                    Event::Log(LogEvent {
                        log: LogId(l as u16),
                        consumer: c as u32,
                        wake: LogWake::Processed,
                    }),
                );
                let consumer = &mut log.consumers[c];
                consumer.state = ConsumerState::Processing { partition: p, done };
                consumer.next = (start + k + 1) % owned.len();
                return;
            }
        }
    }

    fn log_commit(&mut self, now: SimTime, l: usize, c: usize) {
        let log = &mut self.logs[l];
        if log.down > 0 {
            return;
        }
        let owned: Vec<usize> = log.owned(c).collect();
        for p in owned {
            log.committed[p] = log.position[p];
            // Offsets below every possible resume point are never needed again.
            while log.times_base[p] < log.committed[p] && !log.times[p].is_empty() {
                log.times[p].pop_front();
                log.times_base[p] += 1;
            }
        }
        log.commits += 1;
        log.consumers[c].since_commit = 0;
        log.update_lag(now);
    }

    pub(crate) fn on_log_wake(
        &mut self,
        sched: &mut Scheduler<Event>,
        l: usize,
        c: usize,
        wake: LogWake,
    ) {
        let now = sched.now();
        match wake {
            LogWake::Processed => {
                let log = &mut self.logs[l];
                let ConsumerState::Processing { partition: p, .. } = log.consumers[c].state else {
                    return;
                };
                let offset = log.position[p];
                if offset < log.high_water[p] {
                    log.duplicates += 1;
                } else {
                    log.high_water[p] = offset + 1;
                    let idx = (offset - log.times_base[p]) as usize;
                    if let Some(&t) = log.times[p].get(idx) {
                        log.latency.record(now.since(t));
                    }
                }
                log.position[p] = offset + 1;
                log.processed += 1;
                log.processed_series.add(now, 1);
                log.consumers[c].state = ConsumerState::Idle;
                log.consumers[c].since_commit += 1;
                if log
                    .cfg
                    .commit_every
                    .is_some_and(|n| log.consumers[c].since_commit >= n)
                {
                    self.log_commit(now, l, c);
                }
                self.log_consumer_next(sched, l, c);
            }
            LogWake::CommitTimer => {
                if self.logs[l].consumers[c].state != ConsumerState::Down {
                    self.log_commit(now, l, c);
                }
                if let Some(interval) = self.logs[l].cfg.commit_interval {
                    sched.schedule_in(
                        interval,
                        Event::Log(LogEvent {
                            log: LogId(l as u16),
                            consumer: c as u32,
                            wake: LogWake::CommitTimer,
                        }),
                    );
                }
            }
            LogWake::Crash(i) => {
                let log = &mut self.logs[l];
                if let ConsumerState::Processing { done, .. } = log.consumers[c].state {
                    sched.cancel(done);
                }
                log.consumers[c].state = ConsumerState::Down;
                log.consumers[c].since_commit = 0;
                log.crashes += 1;
                // Uncommitted progress is lost: resume from the last commit.
                let owned: Vec<usize> = log.owned(c).collect();
                for p in owned {
                    log.position[p] = log.committed[p];
                }
                let down_for = log.cfg.crashes[i as usize].2;
                sched.schedule_in(
                    down_for,
                    Event::Log(LogEvent {
                        log: LogId(l as u16),
                        consumer: c as u32,
                        wake: LogWake::Restart,
                    }),
                );
                log.update_lag(now);
            }
            LogWake::Restart => {
                self.logs[l].consumers[c].state = ConsumerState::Idle;
                self.logs[l].update_lag(now);
                self.log_consumer_next(sched, l, c);
            }
        }
    }

    /// A broker outage of log `l` begins or ends.
    pub(crate) fn log_outage(&mut self, sched: &mut Scheduler<Event>, l: usize, begin: bool) {
        let now = sched.now();
        let log = &mut self.logs[l];
        if begin {
            log.down += 1;
            log.update_lag(now);
            return;
        }
        log.down = log.down.saturating_sub(1);
        if log.down > 0 {
            return;
        }
        while let Some((client, user, requested)) = self.logs[l].held.pop_front() {
            self.append_now(sched, l, client, user, requested);
        }
        let log = &mut self.logs[l];
        log.held_gauge.set(now, 0);
        log.update_lag(now);
        for c in 0..log.cfg.consumers {
            self.log_consumer_next(sched, l, c);
        }
    }

    pub(crate) fn log_metrics(&self, l: usize, end: SimTime) -> crate::metrics::LogMetrics {
        let log = &self.logs[l];
        let last_end = log.disturbances.last().map(|d| d.1);
        crate::metrics::LogMetrics {
            appended: log.appended.into(),
            processed: log.processed.into(),
            duplicates: log.duplicates.into(),
            commits: log.commits.into(),
            crashes: log.crashes.into(),
            lag_mean: log.lag.mean(end).into(),
            lag_max: log.lag.max().into(),
            lag_end: log.total_lag().into(),
            catch_up_s: (match (last_end, log.catch_up) {
                (Some(e), Some(t)) => Some(t.since(e).as_secs_f64()),
                _ => None,
            })
            .map(crate::metrics::Num::from),
            producer_blocked_s: (log.held_gauge.mean(end) * end.as_secs_f64()).into(),
            end_to_end_latency_ms: crate::metrics::latency(log.latency.summary()),
        }
    }

    pub(crate) fn log_series(
        &mut self,
        l: usize,
        width: sim_core::SimDuration,
        end: SimTime,
    ) -> crate::metrics::LogSeries {
        let log = &mut self.logs[l];
        log.lag_series.coarsen_to(width);
        log.appended_series.coarsen_to(width);
        log.processed_series.coarsen_to(width);
        crate::metrics::LogSeries {
            lag: log.lag_series.means(end),
            appended: log.appended_series.counts(end),
            processed: log.processed_series.counts(end),
        }
    }
}
