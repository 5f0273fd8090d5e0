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
use super::{Call, Event, Frame, MAX_LAYERS, Origin, Outcome, Rejection, World};
use crate::policy::breaker::{BreakerCheck, Permit};
use crate::scenario::{Layer, RetryOn};
use crate::station::Admission;

impl Outcome {
    /// Whether a retry policy retrying on `on` handles this outcome.
    fn retried_by(self, on: &[RetryOn]) -> bool {
        let kind = match self {
            Outcome::Ok | Outcome::Degraded => return false,
            Outcome::Error => RetryOn::Error,
            Outcome::Timeout => RetryOn::Timeout,
            Outcome::Rejected(Rejection::Server) => RetryOn::Rejection,
            Outcome::Rejected(_) => RetryOn::LocalRejection,
        };
        on.contains(&kind)
    }
}

impl World {
    fn layer(&self, call: Ref, i: usize) -> Option<Layer> {
        let p = self.calls[call].pipeline as usize;
        self.pipelines[p].caller.layers.get(i).copied()
    }

    fn frame(&mut self, call: Ref, i: usize) -> &mut Frame {
        &mut self.calls[call].frames[i]
    }

    /// Starts a call through pipeline `p` on behalf of `origin`.
    pub(crate) fn start_call(
        &mut self,
        sched: &mut Scheduler<Event>,
        p: u32,
        origin: Origin,
    ) -> Ref {
        debug_assert!(self.pipelines[p as usize].caller.layers.len() < MAX_LAYERS);
        self.pipelines[p as usize].stats.calls += 1;
        let call = self.calls.insert(Call {
            pipeline: p,
            origin,
            start: sched.now(),
            depth: 0,
            retries: 0,
            frames: [Frame::default(); MAX_LAYERS],
            job: None,
            transit: None,
        });
        self.enter(sched, call, 0);
        call
    }

    /// Activates position `i` of the call's pipeline.
    pub(crate) fn enter(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize) {
        let now = sched.now();
        self.calls[call].depth = (i + 1) as u8;
        let p = self.calls[call].pipeline as usize;
        let Some(layer) = self.layer(call, i) else {
            return self.send_attempt(sched, call);
        };
        match layer {
            Layer::Fallback => self.enter(sched, call, i + 1),
            Layer::Deadline(d) | Layer::Timeout(d) => {
                let id = sched.schedule_in(
                    d,
                    Event::Timer {
                        call,
                        layer: i as u8,
                    },
                );
                self.frame(call, i).timer = Some(id);
                self.enter(sched, call, i + 1);
            }
            Layer::Retry => {
                self.frame(call, i).tries = 1;
                if let Some(b) = &mut self.pipelines[p].budget {
                    b.on_request(now);
                }
                self.enter(sched, call, i + 1);
            }
            Layer::Throttle => {
                let pl = &mut self.pipelines[p];
                let throttle = pl.throttle.as_mut().expect("validated");
                if throttle.admit(now, &mut pl.rng) {
                    self.enter(sched, call, i + 1);
                } else {
                    pl.stats.throttled += 1;
                    self.exit(sched, call, i, Outcome::Rejected(Rejection::Throttle));
                }
            }
            Layer::Breaker => {
                let retries = self.calls[call].retries;
                let breaker = self.pipelines[p].breaker.as_mut().expect("validated");
                let permit = if breaker.check == BreakerCheck::FirstAttempt && retries > 0 {
                    Permit::Granted { probe: false }
                } else {
                    breaker.try_permit(now)
                };
                match permit {
                    Permit::Denied => {
                        self.exit(sched, call, i, Outcome::Rejected(Rejection::Breaker))
                    }
                    Permit::Granted { probe } => {
                        let f = self.frame(call, i);
                        f.started = now;
                        f.probe = probe;
                        f.holding = true;
                        self.enter(sched, call, i + 1);
                    }
                }
            }
            Layer::RateLimit => {
                let (limiter, max_wait) = self.pipelines[p].caller.rate_limit.expect("validated");
                match self.limiters[limiter].acquire(now, max_wait) {
                    None => {
                        self.pipelines[p].stats.rate_limited += 1;
                        self.exit(sched, call, i, Outcome::Rejected(Rejection::RateLimit));
                    }
                    Some(wait) if wait.is_zero() => self.enter(sched, call, i + 1),
                    Some(wait) => {
                        let id = sched.schedule_in(
                            wait,
                            Event::Timer {
                                call,
                                layer: i as u8,
                            },
                        );
                        let f = self.frame(call, i);
                        f.waiting = true;
                        f.timer = Some(id);
                    }
                }
            }
            Layer::Bulkhead => {
                let pl = &mut self.pipelines[p];
                let max_wait = pl.caller.bulkhead.and_then(|b| b.max_wait);
                match pl.bulkhead.as_mut().expect("validated").arrive(now, call) {
                    Admission::Started => {
                        self.frame(call, i).holding = true;
                        self.enter(sched, call, i + 1);
                    }
                    Admission::Queued => {
                        let timer = max_wait.map(|w| {
                            sched.schedule_in(
                                w,
                                Event::Timer {
                                    call,
                                    layer: i as u8,
                                },
                            )
                        });
                        let f = self.frame(call, i);
                        f.waiting = true;
                        f.timer = timer;
                    }
                    Admission::Blocked => {
                        pl.stats.bulkhead_rejected += 1;
                        self.exit(sched, call, i, Outcome::Rejected(Rejection::Bulkhead));
                    }
                }
            }
        }
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
            self.on_result(sched, call, i - 1, outcome);
        }
    }

    /// Layer `i` receives the result of the layers inside it.
    fn on_result(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize, outcome: Outcome) {
        let now = sched.now();
        let p = self.calls[call].pipeline as usize;
        let layer = self.layer(call, i).expect("active layer");
        match layer {
            Layer::Fallback => {
                let out = if outcome.is_success() {
                    outcome
                } else {
                    Outcome::Degraded
                };
                self.exit(sched, call, i, out);
            }
            Layer::Deadline(_) | Layer::Timeout(_) => {
                if let Some(t) = self.frame(call, i).timer.take() {
                    sched.cancel(t);
                }
                self.exit(sched, call, i, outcome);
            }
            Layer::Retry => {
                let pl = &mut self.pipelines[p];
                let retry = pl.caller.retry.as_ref().expect("validated");
                let handled = outcome.retried_by(&retry.retry_on);
                let max_attempts = retry.max_attempts;
                if let Some(b) = &mut pl.budget {
                    b.on_attempt_result(outcome.is_success(), handled);
                }
                let tries = self.calls[call].frames[i].tries;
                if handled && max_attempts.is_none_or(|m| tries < m) {
                    let pl = &mut self.pipelines[p];
                    if pl.budget.as_mut().is_none_or(|b| b.try_retry(now)) {
                        let prev = self.calls[call].frames[i].prev_delay;
                        let retry = pl.caller.retry.as_ref().expect("validated");
                        let delay = retry.backoff.delay(tries, prev, &mut pl.rng);
                        pl.stats.retries += 1;
                        let id = sched.schedule_in(
                            delay,
                            Event::Timer {
                                call,
                                layer: i as u8,
                            },
                        );
                        let c = &mut self.calls[call];
                        c.retries += 1;
                        let f = &mut c.frames[i];
                        f.tries += 1;
                        f.prev_delay = Some(delay);
                        f.timer = Some(id);
                        return;
                    }
                    pl.stats.budget_denied += 1;
                }
                self.exit(sched, call, i, outcome);
            }
            Layer::Throttle => {
                if outcome == Outcome::Ok {
                    if let Some(t) = &mut self.pipelines[p].throttle {
                        t.accepted(now);
                    }
                }
                self.exit(sched, call, i, outcome);
            }
            Layer::Breaker => {
                let f = *self.frame(call, i);
                self.frame(call, i).holding = false;
                let breaker = self.pipelines[p].breaker.as_mut().expect("validated");
                breaker.record(now, !outcome.is_success(), now.since(f.started), f.probe);
                self.exit(sched, call, i, outcome);
            }
            Layer::RateLimit => self.exit(sched, call, i, outcome),
            Layer::Bulkhead => {
                self.frame(call, i).holding = false;
                self.release_bulkhead(sched, p);
                self.exit(sched, call, i, outcome);
            }
        }
    }

    /// A layer's timer fired.
    pub(crate) fn on_timer(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize) {
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        c.frames[i].timer = None;
        let p = c.pipeline as usize;
        match self.layer(call, i).expect("active layer") {
            Layer::Deadline(_) | Layer::Timeout(_) => {
                let is_timeout = matches!(self.layer(call, i), Some(Layer::Timeout(_)));
                let stats = &mut self.pipelines[p].stats;
                if is_timeout {
                    stats.timeouts += 1;
                } else {
                    stats.deadlines += 1;
                }
                self.abort_from(sched, call, i + 1);
                self.exit(sched, call, i, Outcome::Timeout);
            }
            Layer::Retry => self.enter(sched, call, i + 1),
            Layer::RateLimit => {
                self.frame(call, i).waiting = false;
                self.enter(sched, call, i + 1);
            }
            Layer::Bulkhead => {
                // The longest wait for a slot has passed.
                self.frame(call, i).waiting = false;
                let pl = &mut self.pipelines[p];
                pl.bulkhead
                    .as_mut()
                    .expect("validated")
                    .forget_queued(sched.now());
                pl.stats.bulkhead_rejected += 1;
                self.exit(sched, call, i, Outcome::Rejected(Rejection::Bulkhead));
            }
            Layer::Fallback | Layer::Throttle | Layer::Breaker => {}
        }
    }

    /// A bulkhead slot handed over by [`World::release_bulkhead`] is used.
    pub(crate) fn on_grant(&mut self, sched: &mut Scheduler<Event>, call: Ref, i: usize) {
        if let Some(c) = self.calls.get_mut(call) {
            c.frames[i].timer = None;
            self.enter(sched, call, i + 1);
        }
    }

    /// Frees a bulkhead slot of pipeline `p`; the first live waiter gets it
    /// at once (its state changes now, it proceeds through a zero-delay
    /// event, so a release never re-enters another call's processing).
    fn release_bulkhead(&mut self, sched: &mut Scheduler<Event>, p: usize) {
        let now = sched.now();
        let layer = self.pipelines[p].bulkhead_layer;
        let calls = &self.calls;
        let bulkhead = self.pipelines[p].bulkhead.as_mut().expect("validated");
        bulkhead.finish(now, true);
        let next = bulkhead.next(now, |r| {
            calls.get(r).is_some_and(|c| c.frames[layer].waiting)
        });
        if let Some((waiter, _)) = next {
            let f = &mut self.calls[waiter].frames[layer];
            if let Some(t) = f.timer.take() {
                sched.cancel(t);
            }
            f.waiting = false;
            f.holding = true;
            f.timer = Some(sched.schedule_now(Event::Grant {
                call: waiter,
                layer: layer as u8,
            }));
        }
    }

    /// Releases every position from `keep` inwards, innermost first, leaving
    /// `keep` positions active. Nothing is reported to the released layers.
    pub(crate) fn abort_from(&mut self, sched: &mut Scheduler<Event>, call: Ref, keep: usize) {
        let now = sched.now();
        let p = self.calls[call].pipeline as usize;
        let n = self.pipelines[p].caller.layers.len();
        let depth = self.calls[call].depth as usize;
        for pos in (keep..depth).rev() {
            if pos == n {
                self.abandon_attempt(sched, call);
                continue;
            }
            let f = std::mem::take(&mut self.calls[call].frames[pos]);
            if let Some(t) = f.timer {
                sched.cancel(t);
            }
            match self.pipelines[p].caller.layers[pos] {
                Layer::Breaker if f.holding && f.probe => {
                    self.pipelines[p]
                        .breaker
                        .as_mut()
                        .expect("validated")
                        .release_probe();
                }
                Layer::Bulkhead if f.holding => self.release_bulkhead(sched, p),
                Layer::Bulkhead if f.waiting => {
                    self.pipelines[p]
                        .bulkhead
                        .as_mut()
                        .expect("validated")
                        .forget_queued(now);
                }
                _ => {}
            }
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
        match &pl.caller.network {
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
        let n = self.pipelines[c.pipeline as usize].caller.layers.len();
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
        let c = self.calls.remove(call).expect("live call");
        if !outcome.is_success() {
            self.pipelines[c.pipeline as usize].stats.failed += 1;
        }
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
            self.calls.remove(call);
        }
    }
}
