//! The run loop and the model API.
//!
//! A model is a state machine: one `Model::handle` call per event, with a
//! typed event enum of the model's own. Hundreds of thousands of concurrent
//! requests are rows in the model's tables plus pending events, not threads
//! or coroutines. The handler gets a [`Scheduler`] to read the clock,
//! schedule and cancel; randomness comes from the [`crate::rng::RngStream`]s
//! a model's components own (see ARCHITECTURE.md for why this shape).

use crate::queue::{EventId, EventQueue, Next};
use crate::time::{SimDuration, SimTime};

/// The clock and the pending events, as seen by a model's handler.
#[derive(Clone)]
pub struct Scheduler<E> {
    now: SimTime,
    queue: EventQueue<E>,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Scheduler<E> {
    /// A scheduler at time zero with nothing pending.
    pub fn new() -> Self {
        Scheduler {
            now: SimTime::ZERO,
            queue: EventQueue::new(),
        }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `at`. An instant in the past is a model bug; it
    /// is clamped to now (and asserted in debug builds) so time never runs
    /// backwards.
    #[inline(always)]
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> EventId {
        debug_assert!(
            at >= self.now,
            "event scheduled in the past: {at} < {}",
            self.now
        );
        self.queue.push(at.max(self.now), event)
    }

    /// Schedules `event` after `delay` from now.
    #[inline(always)]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> EventId {
        self.queue.push(self.now + delay, event)
    }

    /// Schedules `event` after `delay` from now, for a delay this caller
    /// uses again and again (a configured timeout, set on every attempt):
    /// such events wait in a FIFO per delay instead of the heap
    /// ([`EventQueue::push_after`]). The order is the same as
    /// [`Scheduler::schedule_in`]'s.
    #[inline]
    pub fn schedule_in_fixed(&mut self, delay: SimDuration, event: E) -> EventId {
        self.queue.push_after(self.now, delay, event)
    }

    /// Schedules `event` now, after every event already scheduled for now.
    #[inline(always)]
    pub fn schedule_now(&mut self, event: E) -> EventId {
        self.queue.push(self.now, event)
    }

    /// Whether nothing is pending at the current instant (every pending
    /// event, cancelled ones included, is due later). A follow-up made now
    /// ([`Model::has_follow_up`]) then takes exactly the place an event
    /// scheduled now would: it precedes every pending event and follows
    /// the events this handler made before it; otherwise the model must
    /// schedule an event instead.
    #[inline]
    pub fn nothing_due_now(&self) -> bool {
        self.queue.all_due_after(self.now)
    }

    /// Cancels a pending event; returns whether it was still pending.
    #[inline]
    pub fn cancel(&mut self, id: EventId) -> bool {
        self.queue.cancel(id)
    }

    /// Whether the event is still pending.
    pub fn is_pending(&self, id: EventId) -> bool {
        self.queue.is_pending(id)
    }

    /// Live pending events.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// A simulation model: its own state plus a handler for its own events.
pub trait Model {
    /// The model's own events.
    type Event;
    /// Reacts to one event at `sched.now()`, scheduling or cancelling others.
    fn handle(&mut self, sched: &mut Scheduler<Self::Event>, event: Self::Event);

    /// Whether the model holds a follow-up: an event of its own at the
    /// current instant, kept by the model rather than in the queue (so it
    /// may carry more than an event's bytes, and costs no push or pop).
    /// A model makes one only while [`Scheduler::nothing_due_now`] holds,
    /// so that it precedes every pending event, and keeps them in the
    /// order made. The run loop handles each ([`Model::follow_up`]) as an
    /// event of its own, counted, with the limits and the stop condition
    /// checked before and after it, before it takes the next event from
    /// the queue: the run is the one it would be had the model scheduled
    /// an event now. None by default.
    #[inline(always)]
    fn has_follow_up(&self) -> bool {
        false
    }

    /// Handles the oldest follow-up (only called while
    /// [`Model::has_follow_up`] holds).
    fn follow_up(&mut self, sched: &mut Scheduler<Self::Event>) {
        let _ = sched;
    }
}

/// When a run stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLimits {
    /// Fire every event at or before this instant, then set the clock to it.
    /// `None` runs until no events remain.
    pub until: Option<SimTime>,
    /// Stop after this many events (counted over the simulation's lifetime).
    pub max_events: Option<u64>,
    /// More events than this at one instant is reported as a zero-delay storm
    /// rather than looping forever.
    pub max_events_per_instant: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            until: None,
            max_events: None,
            max_events_per_instant: DEFAULT_MAX_EVENTS_PER_INSTANT,
        }
    }
}

/// Ten million events at one instant: orders of magnitude above any real
/// burst (S1 fires 2000 arrivals at once), reached in about a second by a
/// runaway zero-delay loop.
pub const DEFAULT_MAX_EVENTS_PER_INSTANT: u64 = 10_000_000;

impl RunLimits {
    /// Run until simulated time `t` (events at `t` included).
    pub fn until(t: SimTime) -> Self {
        RunLimits {
            until: Some(t),
            ..Self::default()
        }
    }
    /// Run until no event is pending.
    pub fn to_exhaustion() -> Self {
        Self::default()
    }
    /// Also stop (with an error) after `n` events.
    pub fn with_max_events(mut self, n: u64) -> Self {
        self.max_events = Some(n);
        self
    }
}

/// Why a run stopped.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The `until` instant was reached.
    TimeLimit,
    /// No events remain.
    NoEvents,
    /// `max_events` events have been handled.
    EventLimit,
    /// The stop condition of [`Simulation::run_until`] held after an event.
    Condition,
}

/// What a finished run did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    /// Why the run stopped.
    pub reason: StopReason,
    /// Events handled.
    pub events_handled: u64,
    /// The simulated time at the end.
    pub now: SimTime,
}

/// A run that could not finish.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Too many events at one instant: the clock stopped advancing.
    #[error(
        "zero-delay event storm: {events} events at {at} without the clock advancing \
         (a model keeps scheduling events with no delay; raise max_events_per_instant \
         if this is intended)"
    )]
    ZeroDelayStorm {
        /// The instant that never ended.
        at: SimTime,
        /// Events handled at that instant.
        events: u64,
    },
}

/// A model together with its scheduler.
/// A clone (with a clonable model) is the same run at the same instant:
/// it continues identically unless its model's random streams are forked.
#[derive(Clone)]
pub struct Simulation<M: Model> {
    /// The model, to read its state after the run.
    pub model: M,
    /// Its clock and pending events.
    pub sched: Scheduler<M::Event>,
    events_handled: u64,
    same_instant: u64,
}

impl<M: Model> Simulation<M> {
    /// A simulation of `model` at time zero with nothing pending.
    pub fn new(model: M) -> Self {
        Simulation {
            model,
            sched: Scheduler::new(),
            events_handled: 0,
            same_instant: 0,
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.sched.now
    }

    /// Events handled so far.
    pub fn events_handled(&self) -> u64 {
        self.events_handled
    }

    /// Handles the next event, if any, regardless of limits.
    pub fn step(&mut self) -> Option<SimTime> {
        if self.model.has_follow_up() {
            let now = self.sched.now;
            self.advance_to(now);
            self.model.follow_up(&mut self.sched);
        } else {
            let (time, event) = self.sched.queue.pop()?;
            self.advance_to(time);
            self.model.handle(&mut self.sched, event);
        }
        self.events_handled += 1;
        Some(self.sched.now)
    }

    #[inline]
    fn advance_to(&mut self, time: SimTime) {
        if time == self.sched.now {
            self.same_instant += 1;
        } else {
            self.same_instant = 1;
            self.sched.now = time;
        }
    }

    /// The event about to be handled is one too many at this instant.
    #[inline(always)]
    fn check_storm(&self, storm: u64) -> Result<(), SimError> {
        if self.same_instant > storm {
            return Err(SimError::ZeroDelayStorm {
                at: self.sched.now,
                events: self.same_instant - 1,
            });
        }
        Ok(())
    }

    /// Runs until a limit is reached. Can be called again to continue.
    pub fn run(&mut self, limits: &RunLimits) -> Result<RunReport, SimError> {
        self.run_until(limits, |_| false)
    }

    /// Like [`Simulation::run`], but also stops (with
    /// [`StopReason::Condition`]) as soon as `stop` holds of the model after
    /// an event: how a splitting estimator catches a level crossing. `run`
    /// is this with a condition that never holds (compiled away). Never
    /// inlined: inlined into its callers, the loop measured 8% slower on
    /// M/M/1 (`sim run benches/peers/mm1.ron`, side by side).
    #[inline(never)]
    pub fn run_until(
        &mut self,
        limits: &RunLimits,
        mut stop: impl FnMut(&M) -> bool,
    ) -> Result<RunReport, SimError> {
        let until = limits.until.unwrap_or(SimTime::MAX);
        let max_events = limits.max_events.unwrap_or(u64::MAX);
        let storm = limits.max_events_per_instant.max(1);
        let reason = 'run: loop {
            // Follow-ups first: they precede every pending event, at now
            // (never after `until`). A model without them pays this one
            // test per event: about 1% of RPC with retries' time (21
            // alternating runs against a build without it).
            while self.model.has_follow_up() {
                if self.events_handled >= max_events {
                    break 'run StopReason::EventLimit;
                }
                self.advance_to(self.sched.now);
                self.check_storm(storm)?;
                self.model.follow_up(&mut self.sched);
                self.events_handled += 1;
                if stop(&self.model) {
                    break 'run StopReason::Condition;
                }
            }
            if self.events_handled >= max_events {
                break StopReason::EventLimit;
            }
            let (time, event) = match self.sched.queue.pop_until(until) {
                Next::Event(time, event) => (time, event),
                Next::Later(_) => break StopReason::TimeLimit,
                Next::Empty => break StopReason::NoEvents,
            };
            self.advance_to(time);
            self.check_storm(storm)?;
            self.model.handle(&mut self.sched, event);
            self.events_handled += 1;
            if stop(&self.model) {
                break StopReason::Condition;
            }
        };
        let reached_until = reason == StopReason::TimeLimit
            || (reason == StopReason::NoEvents && limits.until.is_some());
        if reached_until && until > self.sched.now {
            self.same_instant = 0;
            self.sched.now = until;
        }
        Ok(RunReport {
            reason,
            events_handled: self.events_handled,
            now: self.sched.now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the order in which events fire.
    struct Recorder {
        fired: Vec<(u64, u32)>,
        cancel_next: Option<EventId>,
    }

    impl Model for Recorder {
        type Event = u32;
        fn handle(&mut self, sched: &mut Scheduler<u32>, ev: u32) {
            self.fired.push((sched.now().as_nanos(), ev));
            if ev == 100
                && let Some(id) = self.cancel_next.take()
            {
                assert!(sched.cancel(id));
            }
        }
    }

    #[test]
    fn simultaneous_events_fire_in_scheduling_order() {
        let mut sim = Simulation::new(Recorder {
            fired: vec![],
            cancel_next: None,
        });
        for i in 0..5 {
            sim.sched.schedule_at(SimTime::from_nanos(10), i);
        }
        sim.sched.schedule_at(SimTime::from_nanos(5), 99);
        sim.run(&RunLimits::to_exhaustion()).unwrap();
        assert_eq!(
            sim.model.fired,
            vec![(5, 99), (10, 0), (10, 1), (10, 2), (10, 3), (10, 4)]
        );
    }

    #[test]
    fn a_handler_can_cancel_a_pending_event() {
        let mut sim = Simulation::new(Recorder {
            fired: vec![],
            cancel_next: None,
        });
        sim.sched.schedule_at(SimTime::from_nanos(1), 100);
        let victim = sim.sched.schedule_at(SimTime::from_nanos(2), 7);
        sim.model.cancel_next = Some(victim);
        sim.run(&RunLimits::to_exhaustion()).unwrap();
        assert_eq!(sim.model.fired, vec![(1, 100)]);
    }

    #[test]
    fn until_is_inclusive_and_sets_the_clock() {
        let mut sim = Simulation::new(Recorder {
            fired: vec![],
            cancel_next: None,
        });
        for t in [1, 5, 10, 11] {
            sim.sched.schedule_at(SimTime::from_nanos(t), t as u32);
        }
        let r = sim.run(&RunLimits::until(SimTime::from_nanos(10))).unwrap();
        assert_eq!(r.reason, StopReason::TimeLimit);
        assert_eq!(r.now, SimTime::from_nanos(10));
        assert_eq!(sim.model.fired.len(), 3);
        // Continuing runs the rest.
        let r = sim.run(&RunLimits::to_exhaustion()).unwrap();
        assert_eq!(r.reason, StopReason::NoEvents);
        assert_eq!(sim.model.fired.len(), 4);
    }

    #[test]
    fn until_past_the_last_event_still_advances_the_clock() {
        let mut sim = Simulation::new(Recorder {
            fired: vec![],
            cancel_next: None,
        });
        sim.sched.schedule_at(SimTime::from_nanos(3), 0);
        let r = sim.run(&RunLimits::until(SimTime::from_nanos(50))).unwrap();
        assert_eq!(r.reason, StopReason::NoEvents);
        assert_eq!(r.now, SimTime::from_nanos(50));
    }

    #[test]
    fn max_events_stops_the_run() {
        let mut sim = Simulation::new(Recorder {
            fired: vec![],
            cancel_next: None,
        });
        for t in 0..10 {
            sim.sched.schedule_at(SimTime::from_nanos(t), 0);
        }
        let r = sim
            .run(&RunLimits::to_exhaustion().with_max_events(4))
            .unwrap();
        assert_eq!(r.reason, StopReason::EventLimit);
        assert_eq!(r.events_handled, 4);
    }

    /// Reschedules itself with zero delay forever.
    struct Storm;
    impl Model for Storm {
        type Event = ();
        fn handle(&mut self, sched: &mut Scheduler<()>, _: ()) {
            sched.schedule_now(());
        }
    }

    /// Runs `sim` allowing 1000 events an instant; the error it ends with.
    fn storm_error<M: Model>(sim: &mut Simulation<M>) -> SimError {
        let limits = RunLimits {
            max_events_per_instant: 1000,
            ..RunLimits::default()
        };
        sim.run(&limits).unwrap_err()
    }

    #[test]
    fn zero_delay_storm_is_an_error_not_a_hang() {
        let mut sim = Simulation::new(Storm);
        sim.sched.schedule_at(SimTime::from_nanos(42), ());
        let err = storm_error(&mut sim);
        assert_eq!(
            err,
            SimError::ZeroDelayStorm {
                at: SimTime::from_nanos(42),
                events: 1000
            }
        );
        assert!(err.to_string().contains("zero-delay"));
    }

    /// Answers each event below 100 with a reply (the event plus 1000,
    /// and for even events a second one, plus 2000); every third event
    /// first schedules another event for now (plus 200). With `follow`,
    /// a reply is a follow-up wherever [`Scheduler::nothing_due_now`]
    /// allows (one kept at a time), else an event scheduled now.
    struct Echo {
        follow: bool,
        fired: Vec<(u64, u32)>,
        waiting: Option<u32>,
        follow_ups: u64,
        /// A follow-up makes another follow-up, forever.
        endless: bool,
    }

    impl Echo {
        fn new(follow: bool) -> Self {
            Echo {
                follow,
                fired: vec![],
                waiting: None,
                follow_ups: 0,
                endless: false,
            }
        }

        fn reply(&mut self, sched: &mut Scheduler<u32>, r: u32) {
            if self.follow && self.waiting.is_none() && sched.nothing_due_now() {
                self.waiting = Some(r);
            } else {
                sched.schedule_now(r);
            }
        }

        /// Ten events alone at their instants, then four at each of five
        /// instants: ties in the queue.
        fn simulation(follow: bool) -> Simulation<Echo> {
            let mut sim = Simulation::new(Echo::new(follow));
            for i in 0..30u32 {
                let t = if i < 10 {
                    i * 10
                } else {
                    100 + (i - 10) / 4 * 10
                };
                sim.sched.schedule_at(SimTime::from_nanos(u64::from(t)), i);
            }
            sim
        }
    }

    impl Model for Echo {
        type Event = u32;
        fn handle(&mut self, sched: &mut Scheduler<u32>, ev: u32) {
            self.fired.push((sched.now().as_nanos(), ev));
            if ev < 100 {
                if ev.is_multiple_of(3) {
                    sched.schedule_now(ev + 200);
                }
                self.reply(sched, ev + 1000);
                if ev.is_multiple_of(2) {
                    self.reply(sched, ev + 2000);
                }
            }
        }
        fn has_follow_up(&self) -> bool {
            self.waiting.is_some()
        }
        fn follow_up(&mut self, sched: &mut Scheduler<u32>) {
            let r = self.waiting.take().expect("a follow-up waits");
            self.follow_ups += 1;
            if self.endless {
                self.waiting = Some(r);
            }
            self.handle(sched, r);
        }
    }

    /// Follow-ups take exactly the places the same replies take as events
    /// scheduled now, and count as events.
    #[test]
    fn follow_ups_keep_the_order_of_events_scheduled_now() {
        let mut events = Echo::simulation(false);
        let by_events = events.run(&RunLimits::to_exhaustion()).unwrap();
        let mut follow = Echo::simulation(true);
        let by_follow_ups = follow.run(&RunLimits::to_exhaustion()).unwrap();
        assert_eq!(follow.model.fired, events.model.fired);
        assert_eq!(by_follow_ups, by_events);
        // Both kinds of reply occurred: follow-ups, and events where
        // something was due first.
        assert!(follow.model.follow_ups > 5, "{}", follow.model.follow_ups);
        assert!(follow.model.follow_ups < by_events.events_handled - 30);
    }

    /// A stop condition and an event limit fall between an event and its
    /// follow-up exactly as between two events; the run goes on from there
    /// unchanged.
    #[test]
    fn limits_and_stop_conditions_see_follow_ups_as_events() {
        let mut whole = Echo::simulation(true);
        let total = whole
            .run(&RunLimits::to_exhaustion())
            .unwrap()
            .events_handled;
        for k in 1..total {
            let mut sim = Echo::simulation(true);
            let r = sim
                .run_until(&RunLimits::default(), |m| m.fired.len() as u64 >= k)
                .unwrap();
            assert_eq!((r.reason, r.events_handled), (StopReason::Condition, k));
            assert_eq!(sim.model.fired.len() as u64, k);
            sim.run(&RunLimits::to_exhaustion()).unwrap();
            assert_eq!(sim.model.fired, whole.model.fired, "stopped after {k}");

            let mut sim = Echo::simulation(true);
            let r = sim.run(&RunLimits::default().with_max_events(k)).unwrap();
            assert_eq!((r.reason, r.events_handled), (StopReason::EventLimit, k));
            assert_eq!(sim.model.fired.len() as u64, k);
        }
        // One at a time, too.
        let mut sim = Echo::simulation(true);
        while sim.step().is_some() {}
        assert_eq!(sim.model.fired, whole.model.fired);
        assert_eq!(sim.events_handled(), total);
    }

    /// Endless follow-ups at one instant are a storm, not a hang.
    #[test]
    fn endless_follow_ups_are_a_storm() {
        let mut sim = Echo::simulation(true);
        sim.model.endless = true;
        assert_eq!(
            storm_error(&mut sim),
            SimError::ZeroDelayStorm {
                at: SimTime::from_nanos(10),
                events: 1000
            }
        );
    }

    /// Many events at one instant that do terminate are not a storm.
    #[test]
    fn a_large_finite_burst_is_not_a_storm() {
        let mut sim = Simulation::new(Recorder {
            fired: vec![],
            cancel_next: None,
        });
        for i in 0..5000 {
            sim.sched.schedule_at(SimTime::from_nanos(1), i);
        }
        sim.sched.schedule_at(SimTime::from_nanos(2), 0);
        let limits = RunLimits {
            max_events_per_instant: 5000,
            ..RunLimits::default()
        };
        assert!(sim.run(&limits).is_ok());
    }
}
