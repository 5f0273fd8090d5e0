//! Jobs at a service.
//!
//! A job is one attempt that reached a service. It waits for a worker
//! (the service's [`Station`](crate::station::Station)), does its own work
//! (service time, stretched by overload and latency spikes, failing with the
//! service's probability plus overload and error spikes), then makes the
//! service's downstream calls in order while holding its worker, and answers.
//! Answers always travel as events (`Reply`), after the caller's network
//! delay if it has one.

use sim_core::{Scheduler, SimDuration, SimTime};

use super::slab::Ref;
use super::{
    CallEvent, ErrorKind, Event, Job, JobState, Origin, Outcome, Rejection, ReplyTo, ServiceEvent,
    World,
};
use crate::scenario::{AbandonMode, FaultSpec, FaultTarget, OutageMode};
use crate::station::{Admission, Dequeued};

/// The kind of a failure drawn with probability `p_fail`: of it, `p_base`
/// is the service's own, `p_overload - p_base` overload's, and the rest
/// error spikes' (Unavailable). A second draw, from the errors stream,
/// only when the kinds differ.
fn failure_kind(
    svc: &mut super::ServiceRt,
    p_base: f64,
    p_overload: f64,
    p_fail: f64,
) -> ErrorKind {
    let base = svc.cfg.failure_kind;
    let overload = svc.cfg.overload.as_ref().map_or(base, |o| o.failure_kind);
    let spike = ErrorKind::Unavailable;
    if base == overload && overload == spike {
        return base;
    }
    let u = svc.errors_rng.uniform01() * p_fail;
    if u < p_base {
        base
    } else if u < p_overload {
        overload
    } else {
        spike
    }
}

impl World {
    /// The station of replica `s` changed: its service's totals follow.
    /// (Its levels over time are the station's own series, kept at every
    /// change.)
    #[inline]
    fn gauges(&mut self, s: usize, now: sim_core::SimTime) {
        let svc = &mut self.services[s];
        if svc.replicated {
            let now_levels = (svc.station.busy(), svc.station.queue_len());
            let before = std::mem::replace(&mut svc.reported, now_levels);
            self.replica_changed(now, s, before);
        }
    }

    /// An attempt of `call` reaches its target.
    pub(crate) fn arrive(&mut self, sched: &mut Scheduler<Event>, attempt: Ref, call: Ref) {
        let a = &self.attempts[attempt];
        let p = a.pipeline as usize;
        let pl = &self.pipelines[p];
        let s = (pl.first_replica + u32::from(a.replica)) as usize;
        if pl.balancer.is_some() {
            self.wake_autoscaler(sched, pl.target.service());
            if self.services[s].state == super::replicas::ReplicaState::Off {
                // Sent before it was scaled in: it serves what reaches it.
                self.services[s].state = super::replicas::ReplicaState::Draining;
            }
        }
        let deadline = match self.services[s].cfg.propagate_deadline {
            Some(_) => self.attempt_deadline(call),
            None => SimTime::MAX,
        };
        let message = match self.calls[call].origin {
            Origin::Consumer { bus, consumer } => self.consumer_message(bus.index(), consumer),
            _ => None,
        };
        let priority = if self.by_priority {
            self.calls[call].priority
        } else {
            crate::admission::Priority::default()
        };
        self.admit_job(
            sched,
            s,
            ReplyTo::Attempt(attempt),
            priority,
            message,
            deadline,
        );
    }

    /// A job for `caller` arrives at replica `s`: it is counted, then
    /// refused, lost, queued or started. `message`: the bus message a
    /// consumer's call works on; `deadline`: the one it carries
    /// (`SimTime::MAX`: none).
    #[inline(always)]
    pub(crate) fn admit_job(
        &mut self,
        sched: &mut Scheduler<Event>,
        s: usize,
        caller: ReplyTo,
        priority: crate::admission::Priority,
        message: Option<Ref>,
        deadline: SimTime,
    ) {
        let now = sched.now();
        let svc = &mut self.services[s];
        svc.stats.arrivals += 1;
        svc.arrivals_series.add(now, 1);
        if let Some(msg) = message {
            self.retain_message(msg);
        }
        let job = self.jobs.insert(Job {
            service: s as u16,
            caller: Some(caller),
            arrived: now,
            state: JobState::Queued,
            fail: None,
            next_call: 0,
            priority,
            admitted: false,
        });
        if let Some(msg) = message {
            self.job_messages.insert(job, msg);
        }
        self.link_attempt(caller, Some(job));
        if deadline != SimTime::MAX {
            if deadline <= now {
                // Its caller has given up already: no work at all.
                self.services[s].stats.expired += 1;
                self.discard_job(now, job);
                self.link_attempt(caller, None);
                return;
            }
            self.job_deadlines.insert(job, deadline);
            sched.schedule_at(deadline, Event::Service(ServiceEvent::Deadline { job }));
        }
        let svc = &mut self.services[s];
        if svc.fail_fast > 0 {
            svc.stats.lost += 1;
            self.respond(sched, job, Outcome::Error(ErrorKind::Unavailable));
            self.discard_job(now, job);
            return;
        }
        if svc.hang > 0 {
            svc.stats.lost += 1;
            self.discard_job(now, job);
            self.link_attempt(caller, None);
            return;
        }
        if (svc.gradient.is_some() || svc.dagor.is_some()) && !self.admit(sched, s, job, priority) {
            return;
        }
        let svc = &mut self.services[s];
        match svc.station.arrive(now, job) {
            Admission::Started => self.start_work(sched, job),
            Admission::Queued => {}
            Admission::Blocked => {
                self.services[s].stats.rejected += 1;
                self.respond(sched, job, Outcome::Rejected(Rejection::Server));
                self.discard_job(now, job);
            }
        }
        self.gauges(s, now);
    }

    /// Points the attempt a job serves at it (`None`: at no job).
    #[inline(always)]
    fn link_attempt(&mut self, caller: ReplyTo, job: Option<Ref>) {
        if let ReplyTo::Attempt(attempt) = caller {
            self.attempts[attempt].job = job;
        }
    }

    /// Admission control, before the queue: Envoy's filter in front of the
    /// service, then DAGOR in it. Either answers a refusal at once (and
    /// the job is gone: false).
    #[cold]
    fn admit(
        &mut self,
        sched: &mut Scheduler<Event>,
        s: usize,
        job: Ref,
        priority: crate::admission::Priority,
    ) -> bool {
        let now = sched.now();
        let svc = &mut self.services[s];
        let forwarded = svc.gradient.as_mut().is_none_or(|g| g.forward(now));
        if forwarded && svc.gradient.is_some() {
            self.jobs[job].admitted = true;
        }
        let svc = &mut self.services[s];
        let admitted = forwarded && svc.dagor.as_mut().is_none_or(|d| d.admit(now, priority));
        if !admitted {
            self.respond(sched, job, Outcome::Rejected(Rejection::Server));
            self.discard_job(now, job);
            self.gauges(s, now);
        }
        admitted
    }

    /// A worker takes the job: draws its service time and whether it fails.
    fn start_work(&mut self, sched: &mut Scheduler<Event>, job: Ref) {
        let s = self.jobs[job].service as usize;
        let svc = &mut self.services[s];
        if let Some(d) = &mut svc.dagor {
            let now = sched.now();
            d.started(now, now.since(self.jobs[job].arrived));
        }
        if svc.replicated {
            let waited = sched.now().since(self.jobs[job].arrived);
            if let Some(w) = &mut self.groups[svc.group as usize].wait {
                w.record(waited);
            }
        }
        let svc = &mut self.services[s];
        let mut duration = svc.cfg.service_time.sample(&mut svc.rng);
        let p_base = svc.cfg.failure_probability.get();
        let mut p_fail = p_base;
        if let Some(overload) = &svc.cfg.overload {
            let (extra, p) = overload.apply(svc.station.busy(), svc.station.queue_len(), p_fail);
            duration += extra;
            p_fail = p;
        }
        let p_overload = p_fail;
        for &f in &svc.active {
            match self.faults[f as usize].spec {
                FaultSpec::LatencySpike { add, multiply, .. } => {
                    duration = duration.mul_f64(multiply) + add;
                }
                FaultSpec::ErrorSpike {
                    failure_probability,
                    ..
                } => p_fail = 1.0 - (1.0 - p_fail) * (1.0 - failure_probability),
                _ => {}
            }
        }
        let fail = if svc.rng.bernoulli(p_fail) {
            Some(failure_kind(svc, p_base, p_overload, p_fail))
        } else {
            // The extra kinds, each drawn in turn from their own stream.
            svc.cfg
                .errors
                .iter()
                .find(|(_, p)| svc.errors_rng.bernoulli(p.get()))
                .map(|&(kind, _)| kind)
        };
        if svc.cfg.write_conflicts {
            self.job_versions.insert(job, svc.version);
        }
        let done = sched.schedule_in(duration, Event::Service(ServiceEvent::WorkDone { job }));
        let j = &mut self.jobs[job];
        j.fail = fail;
        j.state = JobState::Working(done);
    }

    pub(crate) fn on_work_done(&mut self, sched: &mut Scheduler<Event>, job: Ref) {
        let Some(j) = self.jobs.get(job) else {
            return;
        };
        let s = j.service as usize;
        let svc = &mut self.services[s];
        if let Some(kind) = j.fail {
            return self.finish_job(sched, job, Outcome::Error(kind));
        }
        if svc.cfg.write_conflicts && self.job_versions.get(&job) != Some(&svc.version) {
            svc.stats.conflicts += 1;
            return self.finish_job(sched, job, Outcome::Error(ErrorKind::Conflict));
        }
        self.next_downstream_call(sched, job);
    }

    /// Makes the job's next downstream call, or finishes it when none is left.
    fn next_downstream_call(&mut self, sched: &mut Scheduler<Event>, job: Ref) {
        let j = &self.jobs[job];
        let s = j.service as usize;
        match self.services[s].calls.get(j.next_call as usize).copied() {
            None => {
                let svc = &mut self.services[s];
                if svc.cfg.write_conflicts {
                    svc.version += 1;
                }
                self.finish_job(sched, job, Outcome::Ok);
            }
            Some(p) => {
                self.jobs[job].state = JobState::Calling(None);
                let call = self.start_call(sched, p, Origin::Job(job));
                // The call may already have ended (refused at once); then the
                // job has moved on and must not be pointed at it.
                if let Some(j) = self.jobs.get_mut(job)
                    && j.state == JobState::Calling(None)
                    && self.calls.contains(call)
                {
                    j.state = JobState::Calling(Some(call));
                }
            }
        }
    }

    /// A downstream call of `job` ended.
    pub(crate) fn on_downstream_done(
        &mut self,
        sched: &mut Scheduler<Event>,
        job: Ref,
        outcome: Outcome,
    ) {
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        j.next_call += 1;
        if outcome.is_success() {
            self.next_downstream_call(sched, job);
        } else {
            // The service answers its own caller with an error: the
            // downstream error's kind passed on as most servers do, or
            // Unavailable for a downstream timeout or refusal.
            let kind = match outcome {
                Outcome::Error(kind) => kind,
                _ => ErrorKind::Unavailable,
            };
            self.finish_job(sched, job, Outcome::Error(kind));
        }
    }

    /// A job that held a worker is done: answer, free the worker, start the
    /// next waiting job.
    fn finish_job(&mut self, sched: &mut Scheduler<Event>, job: Ref, outcome: Outcome) {
        let now = sched.now();
        let (j, message) = self.remove_job(job).expect("live job");
        if let Some(msg) = message {
            // A consumer's work takes effect at the service, answered or not.
            self.release_message(now, msg, outcome == Outcome::Ok);
        }
        let s = j.service as usize;
        let svc = &mut self.services[s];
        if j.admitted
            && let Some(g) = &mut svc.gradient
        {
            g.record(now, j.arrived, &mut svc.admission_rng);
        }
        svc.station.finish(now, true);
        svc.completed_series.add(now, 1);
        svc.latency.record(now.since(j.arrived));
        if svc.replicated
            && let Some(l) = &mut self.groups[svc.group as usize].latency
        {
            l.record(now.since(j.arrived));
        }
        let svc = &mut self.services[s];
        if outcome == Outcome::Ok {
            svc.stats.ok += 1;
        } else {
            svc.stats.errors += 1;
        }
        match j.caller {
            Some(to) => self.reply(sched, to, j.arrived, outcome),
            None => self.services[s].stats.orphaned += 1,
        }
        self.start_queued(sched, s);
    }

    /// Starts waiting jobs while workers are free.
    fn start_queued(&mut self, sched: &mut Scheduler<Event>, s: usize) {
        let now = sched.now();
        loop {
            let jobs = &self.jobs;
            let next = self.services[s]
                .station
                .next_or_shed(now, |r| jobs.contains(r));
            match next {
                Some(Dequeued::Start(job, _)) => self.start_work(sched, job),
                // Waited past its allowance: the caller hears the service
                // is overloaded, as from a full queue.
                Some(Dequeued::Shed(job)) => {
                    self.respond(sched, job, Outcome::Rejected(Rejection::Server));
                    self.discard_job(now, job);
                }
                None => break,
            }
        }
        self.gauges(s, now);
    }

    /// Sends `outcome` back to the caller of `job` (before the job is freed).
    fn respond(&mut self, sched: &mut Scheduler<Event>, job: Ref, outcome: Outcome) {
        let j = &mut self.jobs[job];
        if std::mem::take(&mut j.admitted) {
            // The answer passes Envoy's filter: a latency sample.
            let svc = &mut self.services[j.service as usize];
            if let Some(g) = &mut svc.gradient {
                g.record(sched.now(), j.arrived, &mut svc.admission_rng);
            }
        }
        let j = &mut self.jobs[job];
        if let Some(to) = j.caller.take() {
            let arrived = j.arrived;
            self.reply(sched, to, arrived, outcome);
        }
    }

    /// Takes a job's row out, with what is kept apart for it: its version
    /// (dropped) and its bus message (returned).
    #[inline]
    fn remove_job(&mut self, job: Ref) -> Option<(Job, Option<Ref>)> {
        let j = self.jobs.remove(job)?;
        if !self.job_versions.is_empty() {
            self.job_versions.remove(&job);
        }
        let message = match self.job_messages.is_empty() {
            true => None,
            false => self.job_messages.remove(&job),
        };
        Some((j, message))
    }

    /// A job counted by Envoy's filter leaves without an answer.
    fn cancel_admission(&mut self, now: sim_core::SimTime, j: &Job) {
        if j.admitted
            && let Some(g) = &mut self.services[j.service as usize].gradient
        {
            g.cancel(now);
        }
    }

    /// Sends `outcome` back to the caller of a job that arrived at
    /// `arrived`: to an attempt after its network delay, or to the client
    /// of a direct request.
    #[inline]
    fn reply(
        &mut self,
        sched: &mut Scheduler<Event>,
        to: ReplyTo,
        arrived: SimTime,
        outcome: Outcome,
    ) {
        let attempt = match to {
            ReplyTo::Attempt(attempt) => attempt,
            ReplyTo::Request(request) => {
                let answer = super::DirectAnswer {
                    request,
                    start: arrived,
                    outcome,
                };
                return self.send_answer(sched, answer);
            }
        };
        let Some(a) = self.attempts.get_mut(attempt) else {
            return;
        };
        a.job = None;
        let pl = &mut self.pipelines[a.pipeline as usize];
        let delay = match &pl.network {
            Some(net) => net.sample(&mut pl.net_rng),
            None if self
                .follow_up
                .offer(sched, super::FollowUp::Reply { attempt, outcome }) =>
            {
                return;
            }
            None => SimDuration::ZERO,
        };
        a.transit =
            Some(sched.schedule_in(delay, Event::Call(CallEvent::Reply { attempt, outcome })));
    }

    /// The caller gave up on `job`: cancel it or let it run orphaned.
    pub(crate) fn abandon_job(&mut self, sched: &mut Scheduler<Event>, job: Ref) {
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        j.caller = None;
        let s = j.service as usize;
        // Envoy's filter sees the caller go away: no sample, no longer
        // outstanding, whether or not the work goes on.
        if std::mem::take(&mut j.admitted)
            && let Some(g) = &mut self.services[s].gradient
        {
            g.cancel(sched.now());
        }
        if self.services[s].cfg.on_abandon == AbandonMode::Cancel {
            self.services[s].stats.cancelled += 1;
            self.drop_job(sched, job);
            self.start_queued(sched, s);
        }
    }

    /// Removes a job from its service without answering: from the queue, or
    /// from its worker (its work or downstream call cancelled).
    fn drop_job(&mut self, sched: &mut Scheduler<Event>, job: Ref) {
        let now = sched.now();
        let (j, message) = self.remove_job(job).expect("live job");
        self.cancel_admission(now, &j);
        if let Some(msg) = message {
            self.release_message(now, msg, false);
        }
        let s = j.service as usize;
        match j.state {
            JobState::Queued => self.services[s].station.forget_queued(now),
            JobState::Working(done) => {
                sched.cancel(done);
                self.services[s].station.finish(now, false);
            }
            JobState::Calling(call) => {
                if let Some(call) = call {
                    self.cancel_call(sched, call);
                }
                self.services[s].station.finish(now, false);
            }
        }
    }

    /// Frees a job that never held a worker.
    fn discard_job(&mut self, now: sim_core::SimTime, job: Ref) {
        if let Some((j, message)) = self.remove_job(job) {
            self.cancel_admission(now, &j);
            if let Some(msg) = message {
                self.release_message(now, msg, false);
            }
        }
    }

    /// The deadline `job` arrived with has passed: its caller has given up,
    /// so the work stops (gRPC cancels the server's context): it leaves
    /// the queue or its worker, its downstream call is cancelled (and that
    /// cancellation reaches the tier below), and nothing is answered.
    pub(crate) fn on_job_deadline(&mut self, sched: &mut Scheduler<Event>, job: Ref) {
        self.job_deadlines.remove(&job);
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        let s = j.service as usize;
        if let Some(ReplyTo::Attempt(attempt)) = j.caller.take()
            && let Some(a) = self.attempts.get_mut(attempt)
        {
            a.job = None;
        }
        self.services[s].stats.expired += 1;
        self.drop_job(sched, job);
        self.start_queued(sched, s);
    }

    /// The deadline an attempt of `call` carries: the earliest of its
    /// layers' deadlines and timeouts now running and the deadline its
    /// origin passed down (`SimTime::MAX`: none).
    fn attempt_deadline(&self, call: Ref) -> SimTime {
        let c = &self.calls[call];
        let pl = &self.pipelines[c.pipeline as usize];
        let own = pl
            .layers
            .iter()
            .zip(pl.frames.block(c.frames, c.depth as usize))
            .filter_map(|(l, f)| l.expiry(f))
            .min()
            .unwrap_or(SimTime::MAX);
        own.min(self.inherited_deadline(c))
    }

    /// The deadline a call's origin passes down: its job's, less the
    /// margin of the service it runs at.
    pub(crate) fn inherited_deadline(&self, c: &super::Call) -> SimTime {
        match c.origin {
            Origin::Job(job) => match (self.jobs.get(job), self.job_deadlines.get(&job)) {
                (Some(j), Some(deadline)) => {
                    let margin = self.services[j.service as usize]
                        .cfg
                        .propagate_deadline
                        .unwrap_or_default();
                    SimTime::from_nanos(deadline.as_nanos().saturating_sub(margin.as_nanos()))
                }
                _ => SimTime::MAX,
            },
            _ => SimTime::MAX,
        }
    }

    /// A fault window opens or closes.
    pub(crate) fn on_fault_edge(&mut self, sched: &mut Scheduler<Event>, f: usize, begin: bool) {
        let g = match self.faults[f].target {
            FaultTarget::Service(g) => g,
            FaultTarget::Bus(b) => return self.bus_outage(sched, b, begin),
            FaultTarget::Log(l) => return self.log_outage(sched, l, begin),
        };
        let first = self.groups[g].first as usize;
        for k in 0..self.faults[f].replicas.len() {
            let r = first + self.faults[f].replicas[k] as usize;
            self.replica_fault_edge(sched, f, r, begin);
        }
        let now = sched.now();
        self.trace_record(
            now,
            super::trace::TraceEvent::FaultState { service: g, begin },
        );
    }

    /// A fault window opens or closes at replica `s`.
    fn replica_fault_edge(
        &mut self,
        sched: &mut Scheduler<Event>,
        f: usize,
        s: usize,
        begin: bool,
    ) {
        match self.faults[f].spec.clone() {
            FaultSpec::Outage { mode, .. } => {
                let counter = match mode {
                    OutageMode::FailFast => &mut self.services[s].fail_fast,
                    OutageMode::Hang => &mut self.services[s].hang,
                };
                if begin {
                    *counter += 1;
                    self.crash(sched, s, mode);
                } else {
                    *counter = counter.saturating_sub(1);
                }
            }
            FaultSpec::LatencySpike { .. } | FaultSpec::ErrorSpike { .. } => {
                let active = &mut self.services[s].active;
                if begin {
                    active.push(f as u16);
                } else {
                    active.retain(|&x| x as usize != f);
                }
            }
            FaultSpec::CapacityDrop { .. } => {
                let svc = &mut self.services[s];
                if begin {
                    svc.active.push(f as u16);
                } else {
                    svc.active.retain(|&x| x as usize != f);
                }
                // The tightest active drop wins; without one, the configured workers.
                let limit = svc
                    .active
                    .iter()
                    .filter_map(|&x| match self.faults[x as usize].spec {
                        FaultSpec::CapacityDrop { workers, .. } => Some(workers as usize),
                        _ => None,
                    })
                    .min()
                    .or(svc.cfg.workers);
                svc.station.set_servers(limit);
                self.start_queued(sched, s);
            }
        }
    }

    /// An outage begins: every job at the service is lost, answered with an
    /// error (FailFast) or never (Hang).
    fn crash(&mut self, sched: &mut Scheduler<Event>, s: usize, mode: OutageMode) {
        let victims: Vec<Ref> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.service as usize == s)
            .map(|(r, _)| r)
            .collect();
        for job in victims {
            self.services[s].stats.lost += 1;
            match mode {
                OutageMode::FailFast => {
                    self.respond(sched, job, Outcome::Error(ErrorKind::Unavailable))
                }
                OutageMode::Hang => {
                    if let Some(to) = self.jobs[job].caller.take() {
                        self.link_attempt(to, None);
                    }
                }
            }
            self.drop_job(sched, job);
        }
        self.gauges(s, sched.now());
    }
}
