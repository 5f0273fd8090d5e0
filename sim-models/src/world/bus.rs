//! Message buses: a bounded queue, consumers, redelivery, dead letters,
//! at-least-once delivery with duplicates and optional idempotency.
//!
//! A message's life: published (or dropped when the queue is full, or its
//! publisher blocked until there is room), queued, delivered to an idle
//! consumer, handled (a call to a service through policies, or local work),
//! then acknowledged, redelivered after a backoff, or dead-lettered after
//! `max_deliveries`. A consumer may crash after the work took effect but
//! before acknowledging: the message becomes visible again after the
//! visibility timeout and is processed twice unless an idempotency key
//! turns the repeat into a no-op.
//!
//! Conservation (tested): every published message ends as exactly one of
//! acknowledged, dead-lettered, dropped, or pending at the end.

use std::collections::VecDeque;

use sim_core::stats::{CountSeries, GaugeSeries, LatencyHistogram, TimeWeighted};
use sim_core::{EventId, RngStream, Scheduler, SimTime};

use super::slab::Ref;
use super::{BusEvent, BusId, ClientId, Event, Origin, Outcome, World};
use crate::scenario::{Bus, Handler, RedeliveryMode, WhenFull};

/// A message on a bus.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub(crate) bus: BusId,
    published: SimTime,
    deliveries: u32,
    effects: u32,
    last_effect: Option<SimTime>,
    /// Jobs at services still working on this message (they may take effect
    /// after the message was acknowledged or dead-lettered).
    refs: u32,
    done: bool,
    prev_delay: Option<sim_core::SimDuration>,
}

/// Who waits for room in a full queue.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Publisher {
    /// A producer's request (a client publishing).
    Client {
        client: ClientId,
        user: u32,
        start: SimTime,
        msg: Ref,
    },
    /// A consumer republishing after its backoff.
    Consumer { consumer: u32, msg: Ref },
    /// A delayed redelivery coming due.
    Broker { msg: Ref },
}

impl Publisher {
    fn msg(self) -> Ref {
        match self {
            Publisher::Client { msg, .. }
            | Publisher::Consumer { msg, .. }
            | Publisher::Broker { msg } => msg,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ConsumerState {
    Idle,
    /// Calling a service for `msg` (`call` set once the call is running).
    Calling {
        msg: Ref,
        call: Option<Ref>,
    },
    Working {
        msg: Ref,
        fail: bool,
        done: EventId,
    },
    /// Waiting out the backoff while holding the message; `retry`: deliver
    /// it again itself, else republish it.
    Backoff {
        msg: Ref,
        retry: bool,
    },
    /// Waiting for room to republish.
    Blocked {
        msg: Ref,
    },
    Crashed,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct BusStats {
    published: u64,
    acked: u64,
    dropped: u64,
    dead_lettered: u64,
    delivered: u64,
    failed_deliveries: u64,
    retries: u64,
    effects: u64,
    messages_with_effect: u64,
    duplicates: u64,
    deduplicated: u64,
    crashes: u64,
}

#[derive(Clone)]
pub(crate) struct BusRt {
    pub(crate) cfg: Bus,
    queue: VecDeque<Ref>,
    waiting: VecDeque<Publisher>,
    consumers: Vec<ConsumerState>,
    /// When each consumer took its current message.
    delivery_start: Vec<SimTime>,
    idle: VecDeque<u32>,
    pub(crate) pipeline: Option<u32>,
    pub(crate) rng: RngStream,
    /// Broker outages in progress.
    pub(crate) down: u32,
    /// Set while `dispatch` runs: a consumer freed synchronously inside it
    /// (a call refused at once) is picked up by the running loop instead of
    /// a nested one, so long chains of instant failures cannot recurse.
    dispatching: bool,
    stats: BusStats,
    delivery_latency: LatencyHistogram,
    e2e_latency: LatencyHistogram,
    depth: TimeWeighted,
    blocked: TimeWeighted,
    depth_series: GaugeSeries,
    blocked_series: GaugeSeries,
    published_series: CountSeries,
    acked_series: CountSeries,
    dlq_series: CountSeries,
}

impl BusRt {
    pub(crate) fn new(
        cfg: &Bus,
        pipeline: Option<u32>,
        rng: RngStream,
        bucket: sim_core::SimDuration,
    ) -> Self {
        let series = |w| GaugeSeries::with_max_buckets(w, super::MAX_SERIES_BUCKETS);
        let counts = |w| CountSeries::with_max_buckets(w, super::MAX_SERIES_BUCKETS);
        BusRt {
            queue: VecDeque::new(),
            waiting: VecDeque::new(),
            consumers: vec![ConsumerState::Idle; cfg.consumers],
            delivery_start: vec![SimTime::ZERO; cfg.consumers],
            idle: (0..cfg.consumers as u32).collect(),
            pipeline,
            rng,
            down: 0,
            dispatching: false,
            stats: BusStats::default(),
            delivery_latency: LatencyHistogram::new(),
            e2e_latency: LatencyHistogram::new(),
            depth: TimeWeighted::new(SimTime::ZERO, 0),
            blocked: TimeWeighted::new(SimTime::ZERO, 0),
            depth_series: series(bucket),
            blocked_series: series(bucket),
            published_series: counts(bucket),
            acked_series: counts(bucket),
            dlq_series: counts(bucket),
            cfg: cfg.clone(),
        }
    }

    fn has_room(&self) -> bool {
        self.cfg.capacity.is_none_or(|c| self.queue.len() < c)
    }

    fn gauges(&mut self, now: SimTime) {
        let d = self.queue.len() as u64;
        self.depth.set(now, d);
        self.depth_series.set(now, d);
        let b = self.waiting.len() as u64;
        self.blocked.set(now, b);
        self.blocked_series.set(now, b);
    }

    pub(crate) fn series_width(&self) -> sim_core::SimDuration {
        self.depth_series
            .width()
            .max(self.blocked_series.width())
            .max(self.published_series.width())
            .max(self.acked_series.width())
            .max(self.dlq_series.width())
    }
}

impl World {
    /// A producer's request publishes one new message to bus `b`.
    pub(crate) fn publish(
        &mut self,
        sched: &mut Scheduler<Event>,
        b: usize,
        client: ClientId,
        user: u32,
    ) {
        let now = sched.now();
        let msg = self.messages.insert(Message {
            bus: BusId(b as u16),
            published: now,
            deliveries: 0,
            effects: 0,
            last_effect: None,
            refs: 0,
            done: false,
            prev_delay: None,
        });
        let bus = &mut self.buses[b];
        bus.stats.published += 1;
        bus.published_series.add(now, 1);
        self.offer(
            sched,
            b,
            Publisher::Client {
                client,
                user,
                start: now,
                msg,
            },
        );
    }

    /// Puts a message into the queue, or drops it, or makes its publisher
    /// wait, according to the bus's room and `when_full`.
    fn offer(&mut self, sched: &mut Scheduler<Event>, b: usize, p: Publisher) {
        let now = sched.now();
        let bus = &mut self.buses[b];
        let blocked_by_outage = bus.down > 0;
        if !blocked_by_outage && bus.has_room() && bus.waiting.is_empty() {
            self.enqueue(sched, b, p);
        } else if bus.cfg.when_full == WhenFull::Block {
            bus.waiting.push_back(p);
            if let Publisher::Consumer { consumer, msg } = p {
                bus.consumers[consumer as usize] = ConsumerState::Blocked { msg };
            }
            bus.gauges(now);
        } else {
            bus.stats.dropped += 1;
            self.settle(p.msg());
            self.publisher_done(sched, b, p, false);
        }
        self.dispatch(sched, b);
    }

    fn enqueue(&mut self, sched: &mut Scheduler<Event>, b: usize, p: Publisher) {
        let now = sched.now();
        let bus = &mut self.buses[b];
        bus.queue.push_back(p.msg());
        bus.gauges(now);
        self.publisher_done(sched, b, p, true);
    }

    /// The publisher's part is over: a producer's request ends, a consumer
    /// that was republishing is free again.
    fn publisher_done(
        &mut self,
        sched: &mut Scheduler<Event>,
        b: usize,
        p: Publisher,
        accepted: bool,
    ) {
        match p {
            Publisher::Client {
                client,
                user,
                start,
                ..
            } => {
                let outcome = if accepted {
                    Outcome::Ok
                } else {
                    Outcome::Rejected(super::Rejection::Server)
                };
                self.finish_request(sched, client.index(), user, start, outcome);
            }
            Publisher::Consumer { consumer, .. } => {
                let bus = &mut self.buses[b];
                bus.consumers[consumer as usize] = ConsumerState::Idle;
                bus.idle.push_back(consumer);
            }
            Publisher::Broker { .. } => {}
        }
    }

    /// Admits waiting publishers while there is room.
    fn admit_waiting(&mut self, sched: &mut Scheduler<Event>, b: usize) {
        loop {
            let bus = &mut self.buses[b];
            if bus.down > 0 || !bus.has_room() {
                break;
            }
            let Some(p) = bus.waiting.pop_front() else {
                break;
            };
            self.enqueue(sched, b, p);
        }
        let now = sched.now();
        self.buses[b].gauges(now);
    }

    /// Hands queued messages to idle consumers.
    pub(crate) fn dispatch(&mut self, sched: &mut Scheduler<Event>, b: usize) {
        if self.buses[b].dispatching {
            return;
        }
        self.buses[b].dispatching = true;
        loop {
            let bus = &mut self.buses[b];
            if bus.down > 0 || bus.queue.is_empty() || bus.idle.is_empty() {
                bus.dispatching = false;
                break;
            }
            let consumer = bus.idle.pop_front().expect("checked");
            let msg = bus.queue.pop_front().expect("checked");
            let now = sched.now();
            bus.gauges(now);
            self.deliver(sched, b, consumer, msg);
            self.admit_waiting(sched, b);
        }
    }

    fn deliver(&mut self, sched: &mut Scheduler<Event>, b: usize, consumer: u32, msg: Ref) {
        let now = sched.now();
        let m = &mut self.messages[msg];
        m.deliveries += 1;
        let redelivery = m.deliveries > 1;
        let bus = &mut self.buses[b];
        bus.stats.delivered += 1;
        if redelivery {
            bus.stats.retries += 1;
        }
        bus.delivery_start[consumer as usize] = now;
        match &bus.cfg.handler {
            Handler::Call(_) => {
                let p = bus.pipeline.expect("call handlers have a pipeline");
                bus.consumers[consumer as usize] = ConsumerState::Calling { msg, call: None };
                let call = self.start_call(
                    sched,
                    p,
                    Origin::Consumer {
                        bus: BusId(b as u16),
                        consumer,
                    },
                );
                let bus = &mut self.buses[b];
                if let ConsumerState::Calling {
                    msg: m,
                    call: c @ None,
                } = &mut bus.consumers[consumer as usize]
                    && *m == msg
                    && self.calls.contains(call)
                {
                    *c = Some(call);
                }
            }
            Handler::Work {
                duration,
                failure_probability,
            } => {
                let d = duration.sample(&mut bus.rng);
                let fail = bus.rng.bernoulli(failure_probability.get());
                let done = sched.schedule_in(
                    d,
                    Event::Bus(BusEvent::ConsumerReady {
                        bus: BusId(b as u16),
                        consumer,
                    }),
                );
                bus.consumers[consumer as usize] = ConsumerState::Working { msg, fail, done };
            }
        }
    }

    /// The message a consumer is handling (for jobs started by its call).
    pub(crate) fn consumer_message(&self, b: usize, consumer: u32) -> Option<Ref> {
        match self.buses[b].consumers[consumer as usize] {
            ConsumerState::Calling { msg, .. } | ConsumerState::Working { msg, .. } => Some(msg),
            _ => None,
        }
    }

    /// A job working on `msg` was created at a service.
    pub(crate) fn retain_message(&mut self, msg: Ref) {
        if let Some(m) = self.messages.get_mut(msg) {
            m.refs += 1;
        }
    }

    /// A job working on `msg` ended; `effect`: its work took effect.
    pub(crate) fn release_message(&mut self, now: SimTime, msg: Ref, effect: bool) {
        if effect {
            self.apply_effect(now, msg);
        }
        if let Some(m) = self.messages.get_mut(msg) {
            m.refs = m.refs.saturating_sub(1);
            if m.done && m.refs == 0 {
                self.messages.remove(msg);
            }
        }
    }

    /// The message's work takes effect, unless an idempotency key makes
    /// this repeat a no-op.
    fn apply_effect(&mut self, now: SimTime, msg: Ref) {
        let Some(m) = self.messages.get_mut(msg) else {
            return;
        };
        let bus = &mut self.buses[m.bus.index()];
        if let (Some(window), Some(last)) = (bus.cfg.idempotency_window, m.last_effect)
            && now.since(last) <= window
        {
            bus.stats.deduplicated += 1;
            return;
        }
        if m.effects == 0 {
            bus.stats.messages_with_effect += 1;
        } else {
            bus.stats.duplicates += 1;
        }
        bus.stats.effects += 1;
        m.effects += 1;
        m.last_effect = Some(now);
    }

    /// A consumer's call for its message ended.
    pub(crate) fn on_consumer_call_done(
        &mut self,
        sched: &mut Scheduler<Event>,
        b: usize,
        consumer: u32,
        outcome: Outcome,
    ) {
        if let ConsumerState::Calling { msg, .. } = self.buses[b].consumers[consumer as usize] {
            self.delivery_done(sched, b, consumer, msg, outcome.is_success());
        }
    }

    /// A consumer's timer: work done, backoff over, or back from a crash.
    pub(crate) fn on_consumer_ready(
        &mut self,
        sched: &mut Scheduler<Event>,
        b: usize,
        consumer: u32,
    ) {
        match self.buses[b].consumers[consumer as usize] {
            ConsumerState::Working { msg, fail, .. } => {
                if !fail {
                    self.apply_effect(sched.now(), msg);
                }
                self.delivery_done(sched, b, consumer, msg, !fail);
            }
            ConsumerState::Backoff { msg, retry: true } => self.deliver(sched, b, consumer, msg),
            ConsumerState::Backoff { msg, retry: false } => {
                self.offer(sched, b, Publisher::Consumer { consumer, msg });
            }
            ConsumerState::Crashed => {
                let bus = &mut self.buses[b];
                bus.consumers[consumer as usize] = ConsumerState::Idle;
                bus.idle.push_back(consumer);
                self.dispatch(sched, b);
            }
            ConsumerState::Idle | ConsumerState::Calling { .. } | ConsumerState::Blocked { .. } => {
            }
        }
    }

    /// A delayed message (redelivery delay or visibility timeout) is due.
    pub(crate) fn on_message_due(&mut self, sched: &mut Scheduler<Event>, msg: Ref) {
        let Some(m) = self.messages.get(msg) else {
            return;
        };
        let b = m.bus.index();
        self.offer(sched, b, Publisher::Broker { msg });
    }

    /// One delivery of `msg` by `consumer` ended.
    fn delivery_done(
        &mut self,
        sched: &mut Scheduler<Event>,
        b: usize,
        consumer: u32,
        msg: Ref,
        success: bool,
    ) {
        let now = sched.now();
        let bus = &mut self.buses[b];
        let started = bus.delivery_start[consumer as usize];
        if success {
            bus.delivery_latency.record(now.since(started));
            if let Some(crash) = &bus.cfg.crashes
                && bus.rng.bernoulli(crash.probability.get())
            {
                // Crashed before acknowledging: the message comes back
                // after the visibility timeout; the consumer restarts.
                bus.stats.crashes += 1;
                bus.consumers[consumer as usize] = ConsumerState::Crashed;
                let (restart, visibility) = (crash.restart, crash.visibility_timeout);
                sched.schedule_in(
                    restart,
                    Event::Bus(BusEvent::ConsumerReady {
                        bus: BusId(b as u16),
                        consumer,
                    }),
                );
                sched.schedule_in(visibility, Event::Bus(BusEvent::MessageDue { msg }));
                return;
            }
            bus.stats.acked += 1;
            bus.acked_series.add(now, 1);
            let published = self.messages[msg].published;
            self.buses[b].e2e_latency.record(now.since(published));
            self.settle(msg);
            self.consumer_free(sched, b, consumer);
            return;
        }
        bus.stats.failed_deliveries += 1;
        let m = &self.messages[msg];
        if m.deliveries >= bus.cfg.max_deliveries {
            bus.stats.dead_lettered += 1;
            bus.dlq_series.add(now, 1);
            self.settle(msg);
            self.consumer_free(sched, b, consumer);
            return;
        }
        let delay = bus
            .cfg
            .backoff
            .delay(m.deliveries, m.prev_delay, &mut bus.rng);
        self.messages[msg].prev_delay = Some(delay);
        let wake = Event::Bus(BusEvent::ConsumerReady {
            bus: BusId(b as u16),
            consumer,
        });
        match bus.cfg.mode {
            RedeliveryMode::HoldThenRequeue => {
                bus.consumers[consumer as usize] = ConsumerState::Backoff { msg, retry: false };
                sched.schedule_in(delay, wake);
            }
            RedeliveryMode::HoldThenRetry => {
                bus.consumers[consumer as usize] = ConsumerState::Backoff { msg, retry: true };
                sched.schedule_in(delay, wake);
            }
            RedeliveryMode::Delay => {
                sched.schedule_in(delay, Event::Bus(BusEvent::MessageDue { msg }));
                self.consumer_free(sched, b, consumer);
            }
        }
    }

    fn consumer_free(&mut self, sched: &mut Scheduler<Event>, b: usize, consumer: u32) {
        let bus = &mut self.buses[b];
        bus.consumers[consumer as usize] = ConsumerState::Idle;
        bus.idle.push_back(consumer);
        self.dispatch(sched, b);
    }

    /// A message reached its final state (acknowledged, dead-lettered or
    /// dropped); it is forgotten once no job still works on it.
    fn settle(&mut self, msg: Ref) {
        let m = &mut self.messages[msg];
        debug_assert!(!m.done, "a message settled twice");
        m.done = true;
        if m.refs == 0 {
            self.messages.remove(msg);
        }
    }

    /// A broker outage of bus `b` begins or ends.
    pub(crate) fn bus_outage(&mut self, sched: &mut Scheduler<Event>, b: usize, begin: bool) {
        let bus = &mut self.buses[b];
        if begin {
            bus.down += 1;
        } else {
            bus.down = bus.down.saturating_sub(1);
            if bus.down == 0 {
                self.admit_waiting(sched, b);
                self.dispatch(sched, b);
            }
        }
    }

    /// Messages of bus `b` that exist and are not settled: queued, held by
    /// a consumer, delayed, or waiting for room. Counted from the messages
    /// themselves, not from the counters, so conservation can be checked.
    pub(crate) fn bus_pending(&self, b: usize) -> u64 {
        self.messages
            .iter()
            .filter(|(_, m)| m.bus.index() == b && !m.done)
            .count() as u64
    }

    pub(crate) fn bus_metrics(&self, b: usize, end: SimTime) -> crate::metrics::BusMetrics {
        let bus = &self.buses[b];
        let s = &bus.stats;
        let timeouts = bus.pipeline.map_or(0, |p| {
            super::Pipeline::counters_of(&[&self.pipelines[p as usize]]).timeouts
        });
        crate::metrics::BusMetrics {
            published: s.published.into(),
            ok: s.acked.into(),
            failed: (s.dead_lettered + s.dropped).into(),
            dropped: s.dropped.into(),
            dead_lettered: s.dead_lettered.into(),
            pending: self.bus_pending(b).into(),
            delivered: s.delivered.into(),
            failed_deliveries: s.failed_deliveries.into(),
            retries: s.retries.into(),
            timeouts: timeouts.into(),
            effects: s.effects.into(),
            messages_with_effect: s.messages_with_effect.into(),
            duplicates: s.duplicates.into(),
            deduplicated: s.deduplicated.into(),
            crashes: s.crashes.into(),
            depth_mean: bus.depth.mean(end).into(),
            depth_max: bus.depth.max().into(),
            producer_blocked_s: (bus.blocked.mean(end) * end.as_secs_f64()).into(),
            delivery_latency_ms: crate::metrics::latency(bus.delivery_latency.summary()),
            end_to_end_latency_ms: crate::metrics::latency(bus.e2e_latency.summary()),
        }
    }

    pub(crate) fn bus_series(
        &mut self,
        b: usize,
        width: sim_core::SimDuration,
        end: SimTime,
    ) -> crate::metrics::BusSeries {
        let bus = &mut self.buses[b];
        bus.depth_series.coarsen_to(width);
        bus.blocked_series.coarsen_to(width);
        bus.published_series.coarsen_to(width);
        bus.acked_series.coarsen_to(width);
        bus.dlq_series.coarsen_to(width);
        crate::metrics::BusSeries {
            depth: bus.depth_series.means(end),
            published: bus.published_series.counts(end),
            acked: bus.acked_series.counts(end),
            dead_lettered: bus.dlq_series.counts(end),
            blocked_publishers: bus.blocked_series.means(end),
        }
    }
}
