//! The one trait every policy implements, and what a policy may do.
//!
//! A call passes through its caller's layers, outermost first, and then
//! sends an attempt. Each layer is told when the call reaches it
//! ([`Layer::enter`]), when the layers inside it have a result
//! ([`Layer::on_result`]), when a timer it set fires ([`Layer::on_timer`])
//! or a slot it waited for is handed to it ([`Layer::on_grant`]), and when
//! an outer layer gives up on the call while it is inside
//! ([`Layer::on_abort`]). It answers with a [`Step`]: go on inwards, hold
//! the call here, or end this layer with an outcome.
//!
//! A layer's own state (a breaker's window, a bulkhead's slots) lives in the
//! layer; what it remembers about one call (a pending timer, the tries so
//! far) lives in its [`Layer::State`], which the call holds only for the
//! layers its caller has. Built-in layers are dispatched through the
//! [`Policy`](super::Policy) enum, with no allocation or dynamic dispatch
//! per event; a layer written outside this crate is wrapped with
//! [`Policy::custom`](super::Policy::custom).

use std::any::Any;
use std::fmt::Debug;

use sim_core::{EventId, RngStream, Scheduler, SimDuration, SimTime};

use super::FrameState;
use crate::metrics::Named;
use crate::world::slab::{Ref, Slab};
use crate::world::{Call, CallEvent, Event, FollowUp, FollowUpSlot, Outcome};

/// What a layer tells the call after it acted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Go on inwards: to the next layer, or send the attempt.
    Inward,
    /// Stay here until this layer's timer fires or its grant arrives.
    Hold,
    /// This layer is done; hand the outcome to the layer outside.
    Outward(Outcome),
    /// Release every layer inside this one (their timers cancelled, slots
    /// returned, the attempt abandoned), then hand the outcome outwards: a
    /// timeout.
    Abort(Outcome),
}

/// What a layer sees of the world while it acts on one call.
pub struct Cx<'a> {
    pub(crate) sched: &'a mut Scheduler<Event>,
    pub(crate) calls: &'a mut Slab<Call>,
    pub(crate) call: Ref,
    pub(crate) layer: u8,
    pub(crate) rng: &'a mut RngStream,
    pub(crate) limiters: &'a mut [crate::policy::limiter::TokenBucket],
    pub(crate) retry_after: &'a [(super::retry::RetryOn, Option<SimDuration>)],
    /// The frames of the caller's other calls.
    pub(crate) frames: OtherFrames<'a>,
    /// Where a grant may wait as the follow-up instead of an event.
    pub(crate) follow_up: &'a mut FollowUpSlot,
}

/// A call's frame for the layer acting on it: a built-in layer's state
/// where it lies in the arena, and the state of a custom layer (kept
/// beside the frames, since it is boxed: the frames themselves are plain
/// data).
pub(crate) struct Frame<'a> {
    pub(crate) state: &'a mut FrameState,
    pub(crate) custom: &'a mut Option<AnyState>,
}

/// The frames of a caller's calls around the one its layers are acting on
/// (whose block the walk holds): the arena split around that block.
pub(crate) struct OtherFrames<'a> {
    /// Frames per call.
    pub(crate) width: usize,
    /// Where the held block starts.
    pub(crate) start: usize,
    pub(crate) before: &'a mut [FrameState],
    pub(crate) after: &'a mut [FrameState],
}

impl Cx<'_> {
    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.sched.now()
    }

    /// The call being acted on.
    pub fn call(&self) -> Ref {
        self.call
    }

    /// When the call started (its first layer was entered).
    pub fn call_start(&self) -> SimTime {
        self.calls[self.call].start
    }

    /// Retries the call has made so far (0 during its first attempt).
    pub fn retries(&self) -> u32 {
        u32::from(self.calls[self.call].retries)
    }

    /// The caller's policy stream: every random draw of a policy comes from
    /// it, so results stay deterministic.
    pub fn rng(&mut self) -> &mut RngStream {
        self.rng
    }

    /// Schedules this layer's [`Layer::on_timer`] for this call, `after`
    /// from now. Keep the id to cancel it.
    pub fn set_timer(&mut self, after: SimDuration) -> EventId {
        self.sched.schedule_in(
            after,
            Event::Call(CallEvent::Timer {
                call: self.call,
                layer: self.layer,
            }),
        )
    }

    /// Like [`Cx::set_timer`], for a delay fixed by the policy's
    /// configuration (a timeout, a hedging delay): cheaper, since timers of
    /// one delay are due in the order they are set.
    pub fn set_fixed_timer(&mut self, after: SimDuration) -> EventId {
        self.sched.schedule_in_fixed(
            after,
            Event::Call(CallEvent::Timer {
                call: self.call,
                layer: self.layer,
            }),
        )
    }

    /// Cancels a timer set earlier (a timer that already fired is ignored).
    pub fn cancel(&mut self, timer: EventId) {
        self.sched.cancel(timer);
    }

    /// Cancels the timer kept in `slot`, if one is pending, and empties it.
    pub fn clear_timer(&mut self, slot: &mut Option<EventId>) {
        if let Some(t) = slot.take() {
            self.sched.cancel(t);
        }
    }

    /// Attempts the call has sent so far (retries and hedges included).
    pub fn attempts_sent(&self) -> u32 {
        u32::from(self.calls[self.call].sent)
    }

    /// Which of the call's attempts (0: the first it sent) the result being
    /// handled came from.
    pub fn answered_attempt(&self) -> u32 {
        u32::from(self.calls[self.call].answered)
    }

    /// The retry-after the service sent with `outcome`, its answer to the
    /// call's latest attempt: `None` when it sent none (or the outcome is
    /// not its answer), `Some(None)` when it asks not to retry,
    /// `Some(Some(delay))` to retry after `delay` (gRPC's pushback).
    pub fn retry_after(&self, outcome: Outcome) -> Option<Option<SimDuration>> {
        if !self.calls[self.call].answered_by_server {
            return None;
        }
        self.retry_after
            .iter()
            .find(|(on, _)| on.matches(outcome))
            .map(|&(_, delay)| delay)
    }

    /// Counts a retry of the call (what [`Cx::retries`] reports).
    pub(crate) fn count_retry(&mut self) {
        let c = &mut self.calls[self.call];
        c.retries = c.retries.saturating_add(1);
    }

    pub(crate) fn limiter(&mut self, i: usize) -> &mut crate::policy::limiter::TokenBucket {
        &mut self.limiters[i]
    }

    /// The state of this same layer in another call of the same caller (a
    /// bulkhead handing its slot to a waiter); `None` once that call ended.
    pub(crate) fn peer<L: super::Builtin>(&mut self, call: Ref) -> Option<&mut L::State> {
        let f = &mut self.frames;
        let at = self.calls.get(call)?.frames as usize * f.width + self.layer as usize;
        let frame = if at < f.start {
            f.before.get_mut(at)?
        } else if at >= f.start + f.width {
            f.after.get_mut(at - f.start - f.width)?
        } else {
            // The call being acted on is not its own peer.
            return None;
        };
        L::state_mut(frame)
    }

    /// Schedules [`Layer::on_grant`] of this layer for another call, at
    /// once (after this event, so a release never re-enters another call's
    /// processing). Returns the grant's event, or `None` when the grant
    /// is the follow-up instead, where that event would be next anyway
    /// ([`Cx::take_back_grant`] cancels it then).
    pub(crate) fn grant(&mut self, call: Ref) -> Option<EventId> {
        let layer = self.layer;
        if self
            .follow_up
            .offer(self.sched, FollowUp::Grant { call, layer })
        {
            None
        } else {
            Some(
                self.sched
                    .schedule_now(Event::Call(CallEvent::Grant { call, layer })),
            )
        }
    }

    /// Cancels this layer's grant to `call` if it waits as the follow-up
    /// ([`Cx::grant`]).
    pub(crate) fn take_back_grant(&mut self, call: Ref) {
        let layer = self.layer;
        self.follow_up.take_back(
            |f| matches!(*f, FollowUp::Grant { call: c, layer: l } if c == call && l == layer),
        );
    }
}

/// Counters a layer adds to its caller's metrics (`clients.NAME.*`,
/// `services.NAME.calls[i].*`). Built-in layers fill the named fields;
/// a custom layer reports under its own names in `custom`.
#[derive(Clone, Debug, Default)]
pub struct LayerCounters {
    /// Retries made.
    pub retries: u64,
    /// Per-attempt timeouts that fired.
    pub timeouts: u64,
    /// Deadlines that fired.
    pub deadlines_exceeded: u64,
    /// Retries the budget refused.
    pub budget_denied: u64,
    /// Calls the bulkhead refused.
    pub bulkhead_rejected: u64,
    /// Calls the rate limiter refused.
    pub rate_limited: u64,
    /// Calls the adaptive throttle refused.
    pub throttled: u64,
    /// Calls the breaker refused.
    pub cb_open: u64,
    /// Times the breaker opened.
    pub breaker_opened: u64,
    /// Hedges sent (attempts after the first of a hedged group).
    pub hedges: u64,
    /// Hedged groups won by a hedge, not by their first attempt.
    pub hedges_won: u64,
    /// Attempts still out when their group ended, cancelled.
    pub attempts_cancelled: u64,
    /// Attempts the adaptive concurrency limit refused.
    pub concurrency_limited: u64,
    /// Retries that waited the server's retry-after instead of the backoff.
    pub retry_after_honoured: u64,
    /// Retries not made because the server asked for none.
    pub retry_after_refused: u64,
    /// Counters of custom layers, by name (`clients.NAME.custom.KEY`).
    pub custom: Named<u64>,
}

/// A resilience policy around calls: one module per policy implements this.
pub trait Layer: Clone + Debug + Send + Sync + 'static {
    /// What the layer remembers about one call passing through it.
    /// `Clone` so that a running simulation can be copied (splitting).
    type State: Default + Debug + Clone + Send + Sync + 'static;

    /// The layer's name in traces (`"Retry"`, `"Timeout(120ms)"`).
    fn name(&self) -> String;

    /// The call reached this layer (on its way in).
    fn enter(&mut self, cx: &mut Cx, state: &mut Self::State) -> Step;

    /// The layers inside have a result. By default it passes outwards.
    fn on_result(&mut self, cx: &mut Cx, state: &mut Self::State, outcome: Outcome) -> Step {
        let _ = (cx, state);
        Step::Outward(outcome)
    }

    /// A timer this layer set for the call fired.
    fn on_timer(&mut self, cx: &mut Cx, state: &mut Self::State) -> Step {
        let _ = (cx, state);
        Step::Hold
    }

    /// A grant this layer scheduled for the call arrived.
    fn on_grant(&mut self, cx: &mut Cx, state: &mut Self::State) -> Step {
        let _ = (cx, state);
        Step::Inward
    }

    /// An outer layer gave up on the call while it was inside this one:
    /// cancel timers, give back what the call held. Nothing is reported
    /// outwards; the state is reset to its default afterwards.
    fn on_abort(&mut self, cx: &mut Cx, state: &mut Self::State) {
        let _ = (cx, state);
    }

    /// When this layer gives up on the call, if it has a deadline running
    /// for it (a timeout, a deadline): what the attempts carry to services
    /// that propagate deadlines.
    fn expiry(&self, state: &Self::State) -> Option<SimTime> {
        let _ = state;
        None
    }

    /// The run ended at `end` (settle time-weighted state).
    fn finish(&mut self, end: SimTime) {
        let _ = end;
    }

    /// Adds this layer's counters to its caller's.
    fn report(&self, counters: &mut LayerCounters) {
        let _ = counters;
    }
}

/// A custom layer's per-call state, behind `Any`, with the function that
/// copies it (its type is known only where it was made).
pub struct AnyState {
    value: Box<dyn Any + Send + Sync>,
    copy: fn(&(dyn Any + Send + Sync)) -> Box<dyn Any + Send + Sync>,
}

impl Clone for AnyState {
    fn clone(&self) -> Self {
        AnyState {
            value: (self.copy)(&*self.value),
            copy: self.copy,
        }
    }
}

impl Debug for AnyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnyState")
    }
}

fn copy_state<S: Clone + Send + Sync + 'static>(
    v: &(dyn Any + Send + Sync),
) -> Box<dyn Any + Send + Sync> {
    Box::new(
        v.downcast_ref::<S>()
            .expect("a custom layer's state is its own type")
            .clone(),
    )
}

/// [`Layer`] with the state type erased, for layers written outside this
/// crate (one allocation per call for their state, dynamic dispatch).
trait DynLayer: Debug + Send + Sync {
    fn clone_box(&self) -> Box<dyn DynLayer>;
    fn fresh(&self) -> AnyState;
    fn name(&self) -> String;
    fn enter(&mut self, cx: &mut Cx, state: &mut AnyState) -> Step;
    fn on_result(&mut self, cx: &mut Cx, state: &mut AnyState, outcome: Outcome) -> Step;
    fn on_timer(&mut self, cx: &mut Cx, state: &mut AnyState) -> Step;
    fn on_grant(&mut self, cx: &mut Cx, state: &mut AnyState) -> Step;
    fn on_abort(&mut self, cx: &mut Cx, state: &mut AnyState);
    fn finish(&mut self, end: SimTime);
    fn report(&self, counters: &mut LayerCounters);
}

fn own<L: Layer>(state: &mut AnyState) -> &mut L::State {
    state
        .value
        .downcast_mut::<L::State>()
        .expect("a custom layer's state is its own type")
}

impl<L: Layer> DynLayer for L {
    fn clone_box(&self) -> Box<dyn DynLayer> {
        Box::new(self.clone())
    }
    fn fresh(&self) -> AnyState {
        AnyState {
            value: Box::new(L::State::default()),
            copy: copy_state::<L::State>,
        }
    }
    fn name(&self) -> String {
        Layer::name(self)
    }
    fn enter(&mut self, cx: &mut Cx, state: &mut AnyState) -> Step {
        Layer::enter(self, cx, own::<L>(state))
    }
    fn on_result(&mut self, cx: &mut Cx, state: &mut AnyState, outcome: Outcome) -> Step {
        Layer::on_result(self, cx, own::<L>(state), outcome)
    }
    fn on_timer(&mut self, cx: &mut Cx, state: &mut AnyState) -> Step {
        Layer::on_timer(self, cx, own::<L>(state))
    }
    fn on_grant(&mut self, cx: &mut Cx, state: &mut AnyState) -> Step {
        Layer::on_grant(self, cx, own::<L>(state))
    }
    fn on_abort(&mut self, cx: &mut Cx, state: &mut AnyState) {
        Layer::on_abort(self, cx, own::<L>(state))
    }
    fn finish(&mut self, end: SimTime) {
        Layer::finish(self, end)
    }
    fn report(&self, counters: &mut LayerCounters) {
        Layer::report(self, counters)
    }
}

/// A layer written outside this crate (see [`Policy::custom`](super::Policy::custom)).
#[derive(Debug)]
pub struct CustomLayer(Box<dyn DynLayer>);

impl Clone for CustomLayer {
    fn clone(&self) -> Self {
        CustomLayer(self.0.clone_box())
    }
}

impl CustomLayer {
    pub(crate) fn new<L: Layer>(layer: L) -> Self {
        CustomLayer(Box::new(layer))
    }
}

/// Makes [`CustomLayer`] look like any layer to the dispatch in `policy`.
impl Layer for CustomLayer {
    type State = Option<AnyState>;

    fn name(&self) -> String {
        self.0.name()
    }
    fn enter(&mut self, cx: &mut Cx, state: &mut Self::State) -> Step {
        let s = state.get_or_insert_with(|| self.0.fresh());
        self.0.enter(cx, s)
    }
    fn on_result(&mut self, cx: &mut Cx, state: &mut Self::State, outcome: Outcome) -> Step {
        let s = state.get_or_insert_with(|| self.0.fresh());
        self.0.on_result(cx, s, outcome)
    }
    fn on_timer(&mut self, cx: &mut Cx, state: &mut Self::State) -> Step {
        let s = state.get_or_insert_with(|| self.0.fresh());
        self.0.on_timer(cx, s)
    }
    fn on_grant(&mut self, cx: &mut Cx, state: &mut Self::State) -> Step {
        let s = state.get_or_insert_with(|| self.0.fresh());
        self.0.on_grant(cx, s)
    }
    fn on_abort(&mut self, cx: &mut Cx, state: &mut Self::State) {
        if let Some(s) = state {
            self.0.on_abort(cx, s);
        }
    }
    fn finish(&mut self, end: SimTime) {
        self.0.finish(end)
    }
    fn report(&self, counters: &mut LayerCounters) {
        self.0.report(counters)
    }
}
