//! How a call passes through its policies.
//!
//! A pipeline is a list of layers, outermost first, with the attempt itself
//! at position `layers.len()`. A call activates layers one by one
//! ([`World::enter`]); the attempt's answer travels back out, each layer
//! reacting to its inner result ([`World::on_result`]) and then finishing
//! ([`World::exit`]). A timer may end a layer early (a timeout), in which
//! case every layer inside it is released first ([`World::abort_from`]):
//! timers cancelled, bulkhead slots returned, breaker probes freed, and the
//! attempt's work at the service cancelled or orphaned.
//!
//! Retries and bulkhead hand-overs always pass through an event, never a
//! direct call, so an immediately failing retry loop cannot recurse: it
//! shows up as a zero-delay storm instead.

use sim_core::Scheduler;

use super::slab::Ref;
use super::{Call, Event, Origin, Outcome, World};
use crate::policy::{Cx, FrameState, Policy, Step};

impl World {
    /// Starts a call through pipeline `p` on behalf of `origin`.
    pub(crate) fn start_call(
        &mut self,
        sched: &mut Scheduler<Event>,
        p: u32,
        origin: Origin,
    ) -> Ref {
        let pl = &mut self.pipelines[p as usize];
        pl.stats.calls += 1;
        let mut frames = pl.spare_frames.pop().unwrap_or_default();
        frames.extend(pl.layers.iter().map(Policy::fresh_state));
        let call = self.calls.insert(Call {
            pipeline: p,
            origin,
            start: sched.now(),
            depth: 0,
            retries: 0,
            frames,
            job: None,
            transit: None,
        });
        self.enter(sched, call, 0);
        call
    }

    /// Lets layer `i` of the call act (`f`) on the call's frame for it, and
    /// returns its answer. The frame is out of the call meanwhile, so the
    /// layer may look at other calls' frames (a bulkhead's waiters).
    fn act(
        &mut self,
        sched: &mut Scheduler<Event>,
        call: Ref,
        i: usize,
        f: impl FnOnce(&mut Policy, &mut Cx, &mut FrameState) -> Step,
    ) -> Step {
        let p = self.calls[call].pipeline as usize;
        let mut frame = std::mem::take(&mut self.calls[call].frames[i]);
        let pl = &mut self.pipelines[p];
        let mut cx = Cx {
            sched,
            calls: &mut self.calls,
            call,
            layer: i as u8,
            rng: &mut pl.rng,
            limiters: &mut self.limiters,
        };
        let step = f(&mut pl.layers[i], &mut cx, &mut frame);
        self.calls[call].frames[i] = frame;
        step
    }

    /// Carries out what layer `i` answered.
    fn follow(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize, step: Step) {
        match step {
            Step::Inward => self.enter(sched, call, i + 1),
            Step::Hold => {}
            Step::Outward(outcome) => self.exit(sched, call, i, outcome),
            Step::Abort(outcome) => {
                self.abort_from(sched, call, i + 1);
                self.exit(sched, call, i, outcome);
            }
        }
    }

    /// Activates position `i` of the call's pipeline.
    pub(crate) fn enter(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize) {
        self.calls[call].depth = (i + 1) as u8;
        let p = self.calls[call].pipeline as usize;
        if i == self.pipelines[p].layers.len() {
            return self.send_attempt(sched, call);
        }
        let step = self.act(sched, call, i, |l, cx, st| l.enter(cx, st));
        self.follow(sched, call, i, step);
    }

    /// Position `i` is done with `outcome`; hands it to the layer outside.
    pub(crate) fn exit(
        &mut self,
        sched: &mut Scheduler<Event>,
        call: Ref,
        i: usize,
        outcome: Outcome,
    ) {
        self.calls[call].depth = i as u8;
        if i == 0 {
            self.finish_call(sched, call, outcome);
        } else {
            let step = self.act(sched, call, i - 1, |l, cx, st| l.on_result(cx, st, outcome));
            self.follow(sched, call, i - 1, step);
        }
    }

    /// A layer's timer fired.
    pub(crate) fn on_timer(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize) {
        if self.calls.contains(call) {
            let step = self.act(sched, call, i, |l, cx, st| l.on_timer(cx, st));
            self.follow(sched, call, i, step);
        }
    }

    /// A grant a layer scheduled for the call arrived.
    pub(crate) fn on_grant(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize) {
        if self.calls.contains(call) {
            let step = self.act(sched, call, i, |l, cx, st| l.on_grant(cx, st));
            self.follow(sched, call, i, step);
        }
    }

    /// Releases every position from `keep` inwards, innermost first, leaving
    /// `keep` positions active. Nothing is reported to the released layers;
    /// their frames start afresh.
    pub(crate) fn abort_from(&mut self, sched: &mut Scheduler<Event>, call: Ref, keep: usize) {
        let p = self.calls[call].pipeline as usize;
        let n = self.pipelines[p].layers.len();
        let depth = self.calls[call].depth as usize;
        for pos in (keep..depth).rev() {
            if pos == n {
                self.abandon_attempt(sched, call);
                continue;
            }
            self.act(sched, call, pos, |l, cx, st| {
                l.on_abort(cx, st);
                Step::Hold
            });
            self.calls[call].frames[pos] = self.pipelines[p].layers[pos].fresh_state();
        }
        self.calls[call].depth = keep as u8;
    }

    /// Sends an attempt to the pipeline's target.
    fn send_attempt(&mut self, sched: &mut Scheduler<Event>, call: Ref) {
        let now = sched.now();
        let p = self.calls[call].pipeline as usize;
        let pl = &mut self.pipelines[p];
        pl.stats.attempts += 1;
        pl.attempts_series.add(now, 1);
        match &pl.network {
            Some(net) => {
                let d = net.sample(&mut pl.net_rng);
                self.calls[call].transit = Some(sched.schedule_in(d, Event::Transmit { call }));
            }
            None => self.arrive(sched, call),
        }
    }

    pub(crate) fn on_transmit(&mut self, sched: &mut Scheduler<Event>, call: Ref) {
        if let Some(c) = self.calls.get_mut(call) {
            c.transit = None;
            self.arrive(sched, call);
        }
    }

    /// The answer to the current attempt arrives.
    pub(crate) fn on_reply(&mut self, sched: &mut Scheduler<Event>, call: Ref, outcome: Outcome) {
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        c.transit = None;
        c.job = None;
        let n = self.pipelines[c.pipeline as usize].layers.len();
        self.exit(sched, call, n, outcome);
    }

    /// The caller stops waiting for its attempt (a timeout fired outside it).
    fn abandon_attempt(&mut self, sched: &mut Scheduler<Event>, call: Ref) {
        let c = &mut self.calls[call];
        if let Some(t) = c.transit.take() {
            sched.cancel(t);
        }
        if let Some(job) = c.job.take() {
            self.abandon_job(sched, job);
        }
    }

    /// A call has passed its outermost layer.
    fn finish_call(&mut self, sched: &mut Scheduler<Event>, call: Ref, outcome: Outcome) {
        let mut c = self.calls.remove(call).expect("live call");
        let pl = &mut self.pipelines[c.pipeline as usize];
        if !outcome.is_success() {
            pl.stats.failed += 1;
        }
        c.frames.clear();
        pl.spare_frames.push(c.frames);
        match c.origin {
            Origin::Client { client, user } => {
                self.finish_request(sched, client as usize, user, c.start, outcome)
            }
            Origin::Job(job) => self.on_downstream_done(sched, job, outcome),
            Origin::Consumer { bus, consumer } => {
                self.on_consumer_call_done(sched, bus as usize, consumer, outcome)
            }
        }
    }

    /// Ends a call without telling its origin (its job was cancelled).
    pub(crate) fn cancel_call(&mut self, sched: &mut Scheduler<Event>, call: Ref) {
        if self.calls.contains(call) {
            self.abort_from(sched, call, 0);
            let mut c = self.calls.remove(call).expect("live call");
            c.frames.clear();
            self.pipelines[c.pipeline as usize]
                .spare_frames
                .push(c.frames);
        }
    }
}
