//! How a call passes through its layers. Nothing here knows any policy:
//! each layer answers with a [`Step`] and this file carries it out.
//!
//! A pipeline (a caller at run time) is a list of layers, outermost first,
//! with the attempt itself at position `layers.len()`. A call activates
//! layers one by one ([`World::enter`], `Layer::enter`); an attempt's answer
//! travels back out ([`World::exit`]), each layer reacting to its inner
//! result (`Layer::on_result`). A step may end a layer early (`Step::Abort`,
//! a timeout), in which case every layer inside it is released first
//! ([`World::abort_from`], `Layer::on_abort`): timers cancelled, bulkhead
//! slots returned, breaker probes freed, and the attempts' work at the
//! service cancelled or orphaned.
//!
//! A walk ([`World::walk`]) carries these steps out: it asks one layer, then
//! follows the answers from layer to layer in a loop, with one [`Cx`] for the
//! whole walk, until they leave the layers (an attempt to send, the call's
//! end, an abort) or a layer holds the call.
//!
//! Retries and bulkhead hand-overs always pass through an event (or the
//! follow-up in its place, handled after the current event), never a
//! direct call, so an immediately failing retry loop cannot recurse: it
//! shows up as a zero-delay storm instead.

use sim_core::Scheduler;

use super::slab::Ref;
use super::{Attempt, Call, CallEvent, Event, Origin, Outcome, World};
use crate::policy::{AnyState, Cx, Frame, FrameState, Policy, Step};

/// What a walk asks of the first layer it reaches.
#[derive(Clone, Copy)]
enum Act {
    Enter,
    Result(Outcome),
    Timer,
    Grant,
}

/// Where a walk through a call's layers left them.
enum Leave {
    /// A layer holds the call (a timer or a grant will resume it).
    Held,
    /// The innermost layer let it through: send an attempt.
    Send,
    /// The outermost layer is done: the call ends.
    Finish(Outcome),
    /// Layer `.0` gave up: release the positions inside it, then exit it.
    Abort(usize, Outcome),
}

/// A call's frames, one per layer of its pipeline.
struct Block<'a> {
    states: &'a mut [FrameState],
    /// Custom layers' states (empty when the pipeline has none).
    customs: &'a mut [Option<AnyState>],
    /// Where a built-in layer's frame points for its (unused) custom state.
    no_custom: Option<AnyState>,
}

impl Block<'_> {
    /// Layer `i`'s frame.
    #[inline(always)]
    fn frame(&mut self, i: usize) -> Frame<'_> {
        Frame {
            state: &mut self.states[i],
            custom: match self.customs.get_mut(i) {
                Some(c) => c,
                None => &mut self.no_custom,
            },
        }
    }
}

impl World {
    /// Starts a call through pipeline `p` on behalf of `origin`. Always
    /// inlined: each caller knows its origin's kind, and out of line the
    /// origin was assembled on the stack and copied into the call's row
    /// 16 bytes at a time, a store-forwarding stall per call (perf: 58% of
    /// `start_call`'s samples on S1's RPC path).
    #[inline(always)]
    pub(crate) fn start_call(
        &mut self,
        sched: &mut Scheduler<Event>,
        p: u32,
        origin: Origin,
    ) -> Ref {
        let pl = &mut self.pipelines[p as usize];
        pl.stats.calls += 1;
        if matches!(origin, Origin::Job(_)) {
            pl.calls_series.add(sched.now(), 1);
        }
        let frames = pl.frames.alloc();
        let priority = match origin {
            _ if !self.by_priority => crate::admission::Priority::default(),
            Origin::Client { client, .. } => self.request_priority(client),
            Origin::Job(job) => self.jobs[job].priority,
            Origin::Consumer { .. } => crate::admission::Priority::default(),
        };
        let call = self.calls.insert_with(|| Call {
            pipeline: p,
            origin,
            start: sched.now(),
            depth: 0,
            retries: 0,
            sent: 0,
            answered: 0,
            priority,
            answered_by_server: false,
            last_replica: 0,
            frames,
            attempts: None,
        });
        if matches!(origin, Origin::Job(_)) && !self.job_deadlines.is_empty() {
            // A deadline passed down is enforced on the caller's side too
            // (gRPC fails the call with DEADLINE_EXCEEDED): its job can
            // still answer before its own deadline, the margin's purpose.
            let deadline = self.inherited_deadline(&self.calls[call]);
            if deadline != sim_core::SimTime::MAX {
                sched.schedule_at(
                    deadline.max(sched.now()),
                    Event::Call(CallEvent::Expire { call }),
                );
            }
        }
        self.enter(sched, call, 0);
        call
    }

    /// The priority of a new request of `client`: its group's, and a
    /// user's drawn from the group's stream, where some service admits by
    /// priority (elsewhere the default, and nothing drawn).
    #[inline(always)]
    pub(crate) fn request_priority(
        &mut self,
        client: super::ClientId,
    ) -> crate::admission::Priority {
        if !self.by_priority {
            return crate::admission::Priority::default();
        }
        let c = &mut self.clients[client.index()];
        crate::admission::Priority {
            business: c.cfg.priority,
            user: c
                .priority_rng
                .as_mut()
                .map_or(0, |r| r.index(crate::admission::USER_LEVELS) as u8),
        }
    }

    /// The deadline a call inherited passed: it ends with a timeout,
    /// every layer and attempt released (unless it ended before).
    pub(crate) fn on_call_expired(&mut self, sched: &mut Scheduler<Event>, call: Ref) {
        if self.calls.contains(call) {
            self.abort_from(sched, call, 0, Some(Outcome::Timeout));
            self.finish_call(sched, call, Outcome::Timeout);
        }
    }

    /// Lends the call's layers, its block of frames and a [`Cx`] to `f`.
    /// The block stays where it is, in its pipeline's arena, split out of
    /// it: the layers may reach the frames around it, other calls' (a
    /// bulkhead's waiters), through `Cx`. Moving a frame out and back
    /// instead cost a store-forwarding stall per layer step: the layer
    /// writes the frame's fields one by one and the move back read them 16
    /// bytes at a time (a quarter of `enter`'s samples on S1's RPC path).
    #[inline(always)]
    fn with_layers<R>(
        &mut self,
        sched: &mut Scheduler<Event>,
        call: Ref,
        f: impl FnOnce(&mut Cx, &mut [Policy], Block) -> R,
    ) -> R {
        let c = &self.calls[call];
        let pl = &mut self.pipelines[c.pipeline as usize];
        let width = pl.layers.len();
        let start = pl.frames.index(c.frames, 0);
        let (before, rest) = pl.frames.frames.split_at_mut(start);
        let (states, after) = rest.split_at_mut(width);
        let customs = pl
            .frames
            .custom
            .get_mut(start..start + width)
            .unwrap_or_default();
        let mut cx = Cx {
            sched,
            calls: &mut self.calls,
            call,
            layer: 0,
            rng: &mut pl.rng,
            limiters: &mut self.limiters,
            retry_after: &pl.retry_after,
            frames: crate::policy::OtherFrames {
                width,
                start,
                before,
                after,
            },
            follow_up: &mut self.follow_up,
        };
        f(
            &mut cx,
            &mut pl.layers,
            Block {
                states,
                customs,
                no_custom: None,
            },
        )
    }

    /// Runs what `first` asks of layer `i`, then carries out the layers'
    /// answers for as long as they stay among the layers: one [`Cx`] and
    /// one look-up of the call's row and frames for the whole walk, not
    /// one per layer step. Returns where the walk left the layers.
    fn walk_layers(
        &mut self,
        sched: &mut Scheduler<Event>,
        call: Ref,
        i: usize,
        first: Act,
    ) -> Leave {
        self.with_layers(sched, call, |cx, layers, mut block| {
            let n = layers.len();
            let (mut i, mut act) = (i, first);
            // The call's depth as the steps move it, written back to its
            // row once, when the walk leaves the layers (nothing in a
            // layer's step reads it).
            let mut depth = None;
            let leave = loop {
                cx.layer = i as u8;
                let fr = block.frame(i);
                let l = &mut layers[i];
                let step = match act {
                    Act::Enter => l.enter(cx, fr),
                    Act::Result(outcome) => l.on_result(cx, fr, outcome),
                    Act::Timer => l.on_timer(cx, fr),
                    Act::Grant => l.on_grant(cx, fr),
                };
                match step {
                    Step::Inward => {
                        // What `enter(i + 1)` sets: position i + 1 active.
                        depth = Some(i + 2);
                        if i + 1 == n {
                            break Leave::Send;
                        }
                        i += 1;
                        act = Act::Enter;
                    }
                    Step::Hold => break Leave::Held,
                    Step::Outward(outcome) => {
                        // What `exit(i)` sets below the attempt position.
                        depth = Some(i);
                        if i == 0 {
                            break Leave::Finish(outcome);
                        }
                        i -= 1;
                        act = Act::Result(outcome);
                    }
                    Step::Abort(outcome) => break Leave::Abort(i, outcome),
                }
            };
            if let Some(d) = depth {
                cx.calls[call].depth = d as u8;
            }
            leave
        })
    }

    /// Lets layer `i` act (`first`) and follows the walk to its end.
    fn walk(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize, first: Act) {
        match self.walk_layers(sched, call, i, first) {
            Leave::Held => {}
            Leave::Send => self.send_attempt(sched, call),
            Leave::Finish(outcome) => self.finish_call(sched, call, outcome),
            Leave::Abort(i, outcome) => {
                self.abort_from(sched, call, i + 1, Some(outcome));
                self.exit(sched, call, i, outcome);
            }
        }
    }

    /// Activates position `i` of the call's pipeline.
    #[inline(always)]
    pub(crate) fn enter(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize) {
        let c = &mut self.calls[call];
        c.depth = (i + 1) as u8;
        let p = c.pipeline as usize;
        if i == self.pipelines[p].layers.len() {
            return self.send_attempt(sched, call);
        }
        self.walk(sched, call, i, Act::Enter);
    }

    /// Position `i` is done with `outcome`; hands it to the layer outside.
    #[inline]
    pub(crate) fn exit(
        &mut self,
        sched: &mut Scheduler<Event>,
        call: Ref,
        i: usize,
        outcome: Outcome,
    ) {
        let c = &mut self.calls[call];
        // An answer with other attempts still out (hedging) leaves the
        // attempt position active, so that ending the call cancels them.
        let attempt_position = i == self.pipelines[c.pipeline as usize].layers.len();
        c.depth = if attempt_position && c.attempts.is_some() {
            i + 1
        } else {
            i
        } as u8;
        if i == 0 {
            self.finish_call(sched, call, outcome);
        } else {
            self.walk(sched, call, i - 1, Act::Result(outcome));
        }
    }

    /// A layer's timer fired.
    pub(crate) fn on_timer(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize) {
        if self.calls.contains(call) {
            self.walk(sched, call, i, Act::Timer);
        }
    }

    /// A grant a layer scheduled for the call arrived.
    pub(crate) fn on_grant(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize) {
        if self.calls.contains(call) {
            self.walk(sched, call, i, Act::Grant);
        }
    }

    /// Releases every position from `keep` inwards, innermost first, leaving
    /// `keep` positions active. Nothing is reported to the released layers;
    /// their frames start afresh. `why`: the outcome the aborting layer
    /// ends with (a timeout counts against the replicas left waiting).
    pub(crate) fn abort_from(
        &mut self,
        sched: &mut Scheduler<Event>,
        call: Ref,
        keep: usize,
        why: Option<Outcome>,
    ) {
        let p = self.calls[call].pipeline as usize;
        let n = self.pipelines[p].layers.len();
        let depth = self.calls[call].depth as usize;
        for pos in (keep..depth).rev() {
            if pos == n {
                self.abandon_attempts(sched, call, why);
                continue;
            }
            self.with_layers(sched, call, |cx, layers, mut block| {
                cx.layer = pos as u8;
                layers[pos].on_abort(cx, block.frame(pos));
            });
            let block = self.calls[call].frames;
            self.pipelines[p].frames.reset(block, pos);
        }
        self.calls[call].depth = keep as u8;
    }

    /// Sends an attempt of the call to the pipeline's target.
    #[inline(always)]
    fn send_attempt(&mut self, sched: &mut Scheduler<Event>, call: Ref) {
        let now = sched.now();
        let c = &self.calls[call];
        let p = c.pipeline as usize;
        let replica = if self.pipelines[p].balancer.is_some() {
            let avoid =
                (c.sent > 0 && self.pipelines[p].avoid_previous_replica).then_some(c.last_replica);
            self.pick_replica(p, avoid)
        } else {
            0
        };
        let c = &mut self.calls[call];
        c.last_replica = replica;
        let attempt = self.attempts.insert(Attempt {
            call,
            pipeline: c.pipeline,
            job: None,
            transit: None,
            next: c.attempts,
            nth: c.sent,
            replica,
        });
        c.sent = c.sent.saturating_add(1);
        c.attempts = Some(attempt);
        c.answered_by_server = false;
        let pl = &mut self.pipelines[p];
        pl.stats.attempts += 1;
        pl.attempts_series.add(now, 1);
        match &pl.network {
            Some(net) => {
                let d = net.sample(&mut pl.net_rng);
                self.attempts[attempt].transit =
                    Some(sched.schedule_in(d, Event::Call(CallEvent::Transmit { attempt })));
            }
            None => self.arrive(sched, attempt, call),
        }
    }

    pub(crate) fn on_transmit(&mut self, sched: &mut Scheduler<Event>, attempt: Ref) {
        if let Some(a) = self.attempts.get_mut(attempt) {
            a.transit = None;
            let call = a.call;
            self.arrive(sched, attempt, call);
        }
    }

    /// Takes `attempt` out of its call's list of attempts in flight.
    fn remove_attempt(&mut self, attempt: Ref) -> Attempt {
        let a = self.attempts.remove(attempt).expect("live attempt");
        if let Some(b) = &mut self.pipelines[a.pipeline as usize].balancer {
            b.done(a.replica as usize);
        }
        let c = &mut self.calls[a.call];
        if c.attempts == Some(attempt) {
            c.attempts = a.next;
        } else {
            let mut at = c.attempts;
            while let Some(r) = at {
                let row = &mut self.attempts[r];
                if row.next == Some(attempt) {
                    row.next = a.next;
                    break;
                }
                at = row.next;
            }
        }
        a
    }

    /// An attempt's answer arrives.
    pub(crate) fn on_reply(
        &mut self,
        sched: &mut Scheduler<Event>,
        attempt: Ref,
        outcome: Outcome,
    ) {
        if !self.attempts.contains(attempt) {
            return;
        }
        let a = self.remove_attempt(attempt);
        if self.pipelines[a.pipeline as usize].balancer.is_some() {
            self.replica_answered(sched, a.pipeline as usize, a.replica, outcome);
        }
        let call = a.call;
        self.calls[call].answered = a.nth;
        self.calls[call].answered_by_server = true;
        let n = self.pipelines[self.calls[call].pipeline as usize]
            .layers
            .len();
        self.exit(sched, call, n, outcome);
    }

    /// The caller stops waiting for its attempts (a timeout fired outside
    /// them): each one's message or answer in the network is dropped, and
    /// its work at the service cancelled or orphaned.
    fn abandon_attempts(&mut self, sched: &mut Scheduler<Event>, call: Ref, why: Option<Outcome>) {
        while let Some(attempt) = self.calls[call].attempts {
            let a = self.remove_attempt(attempt);
            if why == Some(Outcome::Timeout)
                && self.pipelines[a.pipeline as usize].balancer.is_some()
            {
                // Envoy counts a request timeout against the replica.
                self.replica_answered(sched, a.pipeline as usize, a.replica, Outcome::Timeout);
            }
            if let Some(t) = a.transit {
                sched.cancel(t);
            } else {
                // Its answer may wait as the follow-up instead.
                self.follow_up.take_back(
                    |f| matches!(*f, super::FollowUp::Reply { attempt: r, .. } if r == attempt),
                );
            }
            if let Some(job) = a.job {
                self.abandon_job(sched, job);
            }
        }
    }

    /// A call has passed its outermost layer.
    fn finish_call(&mut self, sched: &mut Scheduler<Event>, call: Ref, outcome: Outcome) {
        let c = self.calls.remove(call).expect("live call");
        debug_assert!(c.attempts.is_none(), "a call ends with no attempt out");
        let pl = &mut self.pipelines[c.pipeline as usize];
        if !outcome.is_success() {
            pl.stats.failed += 1;
            if matches!(c.origin, Origin::Job(_)) {
                pl.failed_series.add(sched.now(), 1);
            }
        }
        pl.frames.release(c.frames);
        match c.origin {
            Origin::Client { client, user } => {
                self.finish_request(sched, client.index(), user, c.start, outcome)
            }
            Origin::Job(job) => self.on_downstream_done(sched, job, outcome),
            Origin::Consumer { bus, consumer } => {
                self.on_consumer_call_done(sched, bus.index(), consumer, outcome)
            }
        }
    }

    /// Ends a call without telling its origin (its job was cancelled).
    pub(crate) fn cancel_call(&mut self, sched: &mut Scheduler<Event>, call: Ref) {
        if self.calls.contains(call) {
            self.abort_from(sched, call, 0, None);
            let c = self.calls.remove(call).expect("live call");
            self.pipelines[c.pipeline as usize].frames.release(c.frames);
        }
    }
}
