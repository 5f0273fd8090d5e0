//! Bulkhead: at most `max_concurrent` calls inside at once; others wait
//! (FIFO, up to `max_waiting` of them, each up to `max_wait`) or are
//! refused. Built on the same [`Station`] as a service's workers: one
//! implementation of "wait for a slot".
//!
//! A freed slot goes to the first caller still waiting; the hand-over is an
//! event at the same instant (a grant), or the world's follow-up in its
//! place (`Cx::grant`), so releasing a slot never re-enters another call's
//! processing.

use serde::{Deserialize, Serialize};
use sim_core::{EventId, SimDuration};

use super::{Cx, FromSpec, Layer, LayerCounters, SpecCx, Step};
use crate::station::{Admission, Discipline, Station};
use crate::world::slab::Ref;
use crate::world::{Outcome, Rejection};

fn zero_waiting() -> Option<u32> {
    Some(0)
}

/// Concurrency limit on attempts in flight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkheadSpec {
    /// Calls inside at once.
    pub max_concurrent: u32,
    /// Calls that may wait (FIFO) for a slot: default 0, rejecting at once
    /// like resilience4j's semaphore bulkhead; `None` waits without bound.
    #[serde(default = "zero_waiting")]
    pub max_waiting: Option<u32>,
    /// Longest wait for a slot; `None` (default): no limit.
    #[serde(default)]
    pub max_wait: Option<SimDuration>,
}

#[derive(Clone, Debug)]
/// A validated bulkhead with its slots and waiters.
pub struct Bulkhead {
    max_wait: Option<SimDuration>,
    /// Slots as servers, waiting calls as its queue.
    slots: Station<Ref>,
    rejected: u64,
}

/// A call's place at the bulkhead.
#[derive(Clone, Copy, Debug, Default)]
pub struct BulkheadState {
    /// The wait's deadline, or the pending grant.
    timer: Option<EventId>,
    /// Holds a slot.
    holding: bool,
    /// Waits for a slot.
    waiting: bool,
}

impl Bulkhead {
    /// Frees a slot; the first call still waiting gets it at once.
    fn release(&mut self, cx: &mut Cx) {
        let now = cx.now();
        self.slots.finish(now, true);
        let next = self
            .slots
            .next(now, |r| cx.peer::<Bulkhead>(r).is_some_and(|f| f.waiting));
        if let Some((waiter, _)) = next {
            let f = cx.peer::<Bulkhead>(waiter).expect("a live waiter");
            f.waiting = false;
            f.holding = true;
            let pending = f.timer.take();
            if let Some(t) = pending {
                cx.cancel(t);
            }
            let grant = cx.grant(waiter);
            cx.peer::<Bulkhead>(waiter).expect("a live waiter").timer = grant;
        }
    }
}

impl FromSpec for Bulkhead {
    type Spec = Option<BulkheadSpec>;
    fn configured(spec: &Self::Spec) -> bool {
        spec.is_some()
    }
    fn validate(spec: &Self::Spec, path: &str, cx: &mut SpecCx) -> Option<Self> {
        let b = spec.as_ref()?;
        if b.max_concurrent == 0 {
            cx.push(format!("{path}.max_concurrent"), "must be >= 1");
            return None;
        }
        if b.max_wait.is_some_and(|w| w.is_zero()) {
            cx.push(
                format!("{path}.max_wait"),
                "must be > 0 (use max_waiting: 0 to refuse waiting)",
            );
        }
        let concurrent = b.max_concurrent as usize;
        Some(Bulkhead {
            max_wait: b.max_wait,
            // Kendall's K: the slots plus the waiting room.
            slots: Station::new(
                Some(concurrent),
                b.max_waiting.map(|w| w as usize + concurrent),
                Discipline::Fifo,
            ),
            rejected: 0,
        })
    }
}

impl Layer for Bulkhead {
    type State = BulkheadState;

    fn name(&self) -> String {
        "Bulkhead".into()
    }

    fn enter(&mut self, cx: &mut Cx, st: &mut BulkheadState) -> Step {
        match self.slots.arrive(cx.now(), cx.call()) {
            Admission::Started => {
                st.holding = true;
                Step::Inward
            }
            Admission::Queued => {
                st.timer = self.max_wait.map(|w| cx.set_fixed_timer(w));
                st.waiting = true;
                Step::Hold
            }
            Admission::Blocked => {
                self.rejected += 1;
                Step::Outward(Outcome::Rejected(Rejection::Bulkhead))
            }
        }
    }

    fn on_result(&mut self, cx: &mut Cx, st: &mut BulkheadState, outcome: Outcome) -> Step {
        st.holding = false;
        self.release(cx);
        Step::Outward(outcome)
    }

    /// The longest wait for a slot has passed.
    fn on_timer(&mut self, cx: &mut Cx, st: &mut BulkheadState) -> Step {
        st.timer = None;
        st.waiting = false;
        self.slots.forget_queued(cx.now());
        self.rejected += 1;
        Step::Outward(Outcome::Rejected(Rejection::Bulkhead))
    }

    /// A slot was handed over by `Bulkhead::release`.
    fn on_grant(&mut self, _: &mut Cx, st: &mut BulkheadState) -> Step {
        st.timer = None;
        Step::Inward
    }

    fn on_abort(&mut self, cx: &mut Cx, st: &mut BulkheadState) {
        cx.clear_timer(&mut st.timer);
        if st.holding {
            // A slot granted but not yet taken: its grant may wait as
            // the follow-up rather than as the event just cancelled.
            cx.take_back_grant(cx.call());
            self.release(cx);
        } else if st.waiting {
            self.slots.forget_queued(cx.now());
        }
    }

    fn report(&self, c: &mut LayerCounters) {
        c.bulkhead_rejected += self.rejected;
    }
}
