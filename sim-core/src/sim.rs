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
        let (time, event) = self.sched.queue.pop()?;
        self.advance_to(time);
        self.model.handle(&mut self.sched, event);
        self.events_handled += 1;
        Some(time)
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
        let reason = loop {
            if self.events_handled >= max_events {
                break StopReason::EventLimit;
            }
            let (time, event) = match self.sched.queue.pop_until(until) {
                Next::Event(time, event) => (time, event),
                Next::Later(_) => break StopReason::TimeLimit,
                Next::Empty => break StopReason::NoEvents,
            };
            self.advance_to(time);
            if self.same_instant > storm {
                return Err(SimError::ZeroDelayStorm {
                    at: time,
                    events: self.same_instant - 1,
                });
            }
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

    #[test]
    fn zero_delay_storm_is_an_error_not_a_hang() {
        let mut sim = Simulation::new(Storm);
        sim.sched.schedule_at(SimTime::from_nanos(42), ());
        let limits = RunLimits {
            max_events_per_instant: 1000,
            ..RunLimits::default()
        };
        let err = sim.run(&limits).unwrap_err();
        assert_eq!(
            err,
            SimError::ZeroDelayStorm {
                at: SimTime::from_nanos(42),
                events: 1000
            }
        );
        assert!(err.to_string().contains("zero-delay"));
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
