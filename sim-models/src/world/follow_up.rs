//! Answers handled as the engine's follow-up (`Model::has_follow_up`)
//! instead of as events at the current instant.
//!
//! An answer due now (a job's answer with no network delay, a bulkhead's
//! slot handed over) is an event at the current instant. Where nothing else
//! is due now, that event would be the next one handled anyway: it precedes
//! every pending event (none is due before the next instant) and follows
//! nothing the handler has not already done. Then it waits here instead,
//! and the run loop hands it to the model right after the current event,
//! counted as an event: the same order, without the queue's push, pop and
//! cancellation slot. Where something is due now, or another answer waits
//! here, it is an event as before (the lane for the current instant keeps
//! the order behind the one waiting here).
//!
//! What would cancel the event takes the follow-up back instead (an
//! attempt abandoned, a waiter aborted before its grant), so an answer
//! that would not be handled is not counted either.

use sim_core::Scheduler;

use super::slab::Ref;
use super::{DirectAnswer, Event, Outcome};

/// An answer in the place of an event at the current instant.
#[derive(Copy, Clone, Debug)]
pub(crate) enum FollowUp {
    /// A direct request's answer (`CallEvent::Answer`'s place).
    Answer(DirectAnswer),
    /// An attempt's answer with no network delay (`CallEvent::Reply`'s).
    Reply { attempt: Ref, outcome: Outcome },
    /// A bulkhead's slot handed to a waiting call (`CallEvent::Grant`'s).
    Grant { call: Ref, layer: u8 },
}

/// The one follow-up that may wait. One is enough: an answer made while one
/// waits goes to the queue's lane for the current instant, behind it.
#[derive(Clone, Debug)]
pub(crate) struct FollowUpSlot {
    next: Option<FollowUp>,
    /// Off, every answer is an event (to prove the two runs equal).
    enabled: bool,
}

impl FollowUpSlot {
    pub(crate) fn new(enabled: bool) -> Self {
        FollowUpSlot {
            next: None,
            enabled,
        }
    }

    /// Makes `answer` the follow-up where the event in its place would be
    /// next anyway; `false` if it must be that event.
    #[inline(always)]
    pub(crate) fn offer(&mut self, sched: &Scheduler<Event>, answer: FollowUp) -> bool {
        if self.enabled && self.next.is_none() && sched.nothing_due_now() {
            self.next = Some(answer);
            true
        } else {
            false
        }
    }

    #[inline(always)]
    pub(crate) fn is_waiting(&self) -> bool {
        self.next.is_some()
    }

    #[inline(always)]
    pub(crate) fn take(&mut self) -> Option<FollowUp> {
        self.next.take()
    }

    /// Takes back the follow-up if `is_it` names it: what would have
    /// cancelled the event in its place happened first.
    #[inline]
    pub(crate) fn take_back(&mut self, is_it: impl FnOnce(&FollowUp) -> bool) {
        if self.next.as_ref().is_some_and(is_it) {
            self.next = None;
        }
    }
}
