//! Workloads (when requests start) and the end of requests.
//!
//! Open-loop workloads keep arriving whatever happens to earlier requests;
//! closed-loop users wait for their request to end and think before the
//! next, so they slow down when the system does (backoff helps them, not
//! open-loop arrivals).
//!
//! A request through a pipeline with nothing in it is direct (`send_direct`):
//! no call or attempt row, its job answers the client, and the answer comes
//! back as the engine's follow-up where an event now would be next anyway
//! (`send_answer`; ARCHITECTURE.md, "Calls and attempts").

use sim_core::{Scheduler, SimDuration, SimTime};

use super::slab::Ref;
use super::{
    CallEvent, ClientEvent, ClientId, DirectAnswer, DirectRequest, Event, FollowUp, Origin,
    Outcome, Rejection, ReplyTo, World,
};
use crate::scenario::{ClientTarget, Workload};

impl World {
    /// Whether client `k` may start another request now.
    fn can_issue(&self, k: usize, now: SimTime) -> bool {
        let c = &self.clients[k];
        c.cfg.requests.is_none_or(|r| c.offered < r) && c.cfg.stop.is_none_or(|s| now < s)
    }

    pub(crate) fn schedule_first_arrivals(&mut self, sched: &mut Scheduler<Event>, k: usize) {
        let start = self.clients[k].cfg.start;
        let client = ClientId(k as u16);
        let c = &mut self.clients[k];
        match &c.cfg.workload {
            Workload::ClosedLoop { users, .. } => {
                for user in 0..*users {
                    sched.schedule_at(
                        start,
                        Event::Client(ClientEvent::UserReady { client, user }),
                    );
                }
            }
            Workload::Poisson { mean_gap } => {
                let gap = mean_gap.sample(&mut c.rng);
                sched.schedule_at(start + gap, Event::Client(ClientEvent::Arrival { client }));
            }
            Workload::Constant { .. } | Workload::Bursts { .. } => {
                sched.schedule_at(start, Event::Client(ClientEvent::Arrival { client }));
            }
            Workload::Schedule { .. } => {
                if let Some(t) = self.next_scheduled_arrival(k, start) {
                    sched.schedule_at(t, Event::Client(ClientEvent::Arrival { client }));
                }
            }
            Workload::Replay { arrivals } => {
                if let Some(&t) = arrivals.iter().find(|&&t| t >= start) {
                    sched.schedule_at(t, Event::Client(ClientEvent::Arrival { client }));
                }
            }
        }
    }

    /// The next arrival of a piecewise-constant rate schedule after `from`.
    /// Poisson gaps are memoryless, so a gap crossing a step boundary is
    /// simply redrawn from the boundary at the new rate.
    fn next_scheduled_arrival(&mut self, k: usize, from: SimTime) -> Option<SimTime> {
        let c = &mut self.clients[k];
        let Workload::Schedule { steps, poisson } = &c.cfg.workload else {
            return None;
        };
        let mut t = from;
        loop {
            let idx = steps.iter().rposition(|s| s.0 <= t);
            let seg_end = steps
                .get(idx.map_or(0, |i| i + 1))
                .map_or(SimTime::MAX, |s| s.0);
            let rate = idx.map_or(0.0, |i| steps[i].1);
            if rate <= 0.0 {
                if seg_end == SimTime::MAX {
                    return None;
                }
                t = seg_end;
                continue;
            }
            let mean = 1.0 / rate;
            let gap = if *poisson {
                SimDuration::from_secs_f64(c.rng.exponential(mean))
            } else {
                SimDuration::from_secs_f64(mean)
            };
            let next = t + gap;
            if next < seg_end {
                return Some(next);
            }
            if seg_end == SimTime::MAX {
                // The gap runs past the end of time (a rate so small that
                // the clock saturates): no further arrival.
                return None;
            }
            t = seg_end;
        }
    }

    pub(crate) fn on_arrival(&mut self, sched: &mut Scheduler<Event>, k: usize) {
        let now = sched.now();
        if !self.can_issue(k, now) {
            return;
        }
        let client = ClientId(k as u16);
        let c = &mut self.clients[k];
        let next = match &c.cfg.workload {
            Workload::Poisson { mean_gap } => {
                let gap = mean_gap.sample(&mut c.rng);
                self.issue(sched, k, 0);
                Some(now + gap)
            }
            Workload::Constant { gap } => {
                let gap = *gap;
                self.issue(sched, k, 0);
                Some(now + gap)
            }
            Workload::Bursts { size, every } => {
                let (size, every) = (*size, *every);
                for _ in 0..size {
                    if !self.can_issue(k, now) {
                        break;
                    }
                    self.issue(sched, k, 0);
                }
                Some(now + every)
            }
            Workload::Schedule { .. } => {
                self.issue(sched, k, 0);
                self.next_scheduled_arrival(k, now)
            }
            Workload::Replay { .. } => {
                self.issue(sched, k, 0);
                let c = &mut self.clients[k];
                c.replay_next += 1;
                let Workload::Replay { arrivals } = &c.cfg.workload else {
                    unreachable!()
                };
                arrivals.get(c.replay_next).copied()
            }
            Workload::ClosedLoop { .. } => None,
        };
        if let Some(t) = next
            && self.can_issue(k, t)
        {
            sched.schedule_at(t, Event::Client(ClientEvent::Arrival { client }));
        }
    }

    pub(crate) fn on_user_ready(&mut self, sched: &mut Scheduler<Event>, k: usize, user: u32) {
        if self.can_issue(k, sched.now()) {
            self.issue(sched, k, user);
        }
    }

    /// Starts one request of client `k`.
    fn issue(&mut self, sched: &mut Scheduler<Event>, k: usize, user: u32) {
        let now = sched.now();
        let c = &mut self.clients[k];
        c.offered += 1;
        c.offered_series.add(now, 1);
        let in_flight = c.in_flight_series.value() + 1;
        c.in_flight_series.set(now, in_flight);
        let client = ClientId(k as u16);
        match (&c.cfg.target, c.pipeline) {
            (ClientTarget::Service(_), Some(first)) => {
                // A closed-loop user is one client; open-loop requests are
                // dealt to the instances in turn.
                let k = match c.cfg.workload {
                    crate::scenario::Workload::ClosedLoop { .. } => user % c.instances,
                    _ => {
                        let k = c.next_instance;
                        c.next_instance = (k + 1) % c.instances;
                        k
                    }
                };
                let p = first + k;
                if self.pipelines[p as usize].direct {
                    let instance = k as u16;
                    self.send_direct(
                        sched,
                        p,
                        DirectRequest {
                            client,
                            instance,
                            user,
                        },
                    );
                } else {
                    self.start_call(sched, p, Origin::Client { client, user });
                }
            }
            (ClientTarget::Bus(b), _) => {
                let b = *b;
                self.publish(sched, b, client, user);
            }
            (ClientTarget::Log(l), _) => {
                let l = *l;
                self.append(sched, l, client, user);
            }
            (ClientTarget::Service(_), None) => unreachable!("service clients have a pipeline"),
        }
    }

    /// Sends a direct request ([`ReplyTo::Request`]) through pipeline `p`:
    /// what a call and its one attempt would count, without their rows.
    #[inline(always)]
    fn send_direct(&mut self, sched: &mut Scheduler<Event>, p: u32, request: DirectRequest) {
        let now = sched.now();
        let priority = self.request_priority(request.client);
        let pl = &mut self.pipelines[p as usize];
        pl.stats.calls += 1;
        pl.stats.attempts += 1;
        pl.attempts_series.add(now, 1);
        let s = pl.first_replica as usize;
        self.admit_job(
            sched,
            s,
            ReplyTo::Request(request),
            priority,
            None,
            SimTime::MAX,
        );
    }

    /// The answer to a direct request goes back to its client: next, as
    /// a follow-up, when nothing else is due now (where an answer through
    /// an event would be next too), else as an event in its place.
    #[inline]
    pub(crate) fn send_answer(&mut self, sched: &mut Scheduler<Event>, answer: DirectAnswer) {
        if !self.follow_up.offer(sched, FollowUp::Answer(answer)) {
            let answer = self.answers.insert(answer);
            sched.schedule_now(Event::Call(CallEvent::Answer { answer }));
        }
    }

    /// A direct request's answer, sent as an event, arrives.
    pub(crate) fn on_answer(&mut self, sched: &mut Scheduler<Event>, answer: Ref) {
        if let Some(answer) = self.answers.remove(answer) {
            self.finish_direct(sched, answer);
        }
    }

    /// A direct request ends: what the end of its call would do.
    #[inline]
    pub(crate) fn finish_direct(&mut self, sched: &mut Scheduler<Event>, answer: DirectAnswer) {
        let DirectAnswer {
            request,
            start,
            outcome,
        } = answer;
        let k = request.client.index();
        if !outcome.is_success()
            && let Some(first) = self.clients[k].pipeline
        {
            self.pipelines[(first + u32::from(request.instance)) as usize]
                .stats
                .failed += 1;
        }
        self.finish_request(sched, k, request.user, start, outcome);
    }

    /// A request of client `k` ended.
    pub(crate) fn finish_request(
        &mut self,
        sched: &mut Scheduler<Event>,
        k: usize,
        user: u32,
        start: SimTime,
        outcome: Outcome,
    ) {
        let now = sched.now();
        let c = &mut self.clients[k];
        let latency = now.since(start);
        let f = &mut c.stats.failures;
        match outcome {
            Outcome::Ok => c.stats.ok += 1,
            Outcome::Degraded => c.stats.degraded += 1,
            Outcome::Error(_) => f.error += 1,
            Outcome::Timeout => f.timeout += 1,
            Outcome::Rejected(Rejection::Breaker) => f.breaker += 1,
            Outcome::Rejected(Rejection::Bulkhead) => f.bulkhead += 1,
            Outcome::Rejected(Rejection::RateLimit) => f.rate_limiter += 1,
            Outcome::Rejected(Rejection::Throttle) => f.throttle += 1,
            Outcome::Rejected(Rejection::Server) => f.server_rejected += 1,
            Outcome::Rejected(Rejection::Policy) => f.policy += 1,
            Outcome::Rejected(Rejection::ConcurrencyLimit) => f.concurrency_limit += 1,
        }
        if outcome.is_success() {
            c.latency_ok.record(latency);
            c.ok_series.add(now, 1);
        } else {
            c.latency_failed.record(latency);
            c.failed_series.add(now, 1);
        }
        let in_flight = c.in_flight_series.value().saturating_sub(1);
        c.in_flight_series.set(now, in_flight);
        c.last_completion = Some(now);
        if let Workload::ClosedLoop { think, .. } = &c.cfg.workload {
            let think = think
                .as_ref()
                .map_or(SimDuration::ZERO, |d| d.sample(&mut c.rng));
            if self.can_issue(k, now + think) {
                sched.schedule_in(
                    think,
                    Event::Client(ClientEvent::UserReady {
                        client: ClientId(k as u16),
                        user,
                    }),
                );
            }
        }
        if self.trace.is_some() {
            let name = self.clients[k].cfg.name.clone();
            self.trace_record(
                now,
                super::trace::TraceEvent::RequestEnd {
                    client: &name,
                    outcome,
                    latency_ns: latency.as_nanos(),
                },
            );
        }
    }
}
