//! A service's replicas: which take traffic, the totals across them, the
//! autoscaler's decisions, and each caller's choice of replica and its
//! outlier ejection (the state machines are `crate::balancer` and
//! `crate::autoscale`; this file carries their answers out).
//!
//! Every replica is a station of its own (`World::services` holds them,
//! service by service); a service without replicas is one, numbered like
//! the service, so nothing here runs for it.

use sim_core::stats::{GaugeSeries, LatencyHistogram, TimeWeighted};
use sim_core::{Scheduler, SimTime};

use super::{CallEvent, Event, MAX_SERIES_BUCKETS, Outcome, Rejection, ServiceEvent, World};
use crate::balancer::ReplicaSet;
use crate::scenario::{ErrorKind, Service};

/// Whether a replica takes traffic.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReplicaState {
    /// Takes new attempts.
    InService,
    /// Scaled out, not ready yet.
    Provisioning,
    /// Scaled in (or sent an attempt while off): takes nothing new, leaves
    /// when its jobs are done.
    Draining,
    /// Not running (a slot above the current count).
    Off,
}

/// One service's replicas, seen together.
#[derive(Clone)]
pub(crate) struct GroupRt {
    pub(crate) name: String,
    /// Its first replica in `World::services`.
    pub(crate) first: u32,
    pub(crate) slots: u32,
    /// Per slot: takes traffic.
    in_service: Vec<bool>,
    in_service_count: u32,
    provisioning: u32,
    pub(crate) autoscaler: Option<crate::autoscale::Autoscaler>,
    /// Jobs in service and waiting across every replica (several only).
    pub(crate) busy: TimeWeighted,
    pub(crate) queue: TimeWeighted,
    /// Time at the service and waits of every replica's jobs, at full
    /// precision (several replicas only; each replica's own are coarser).
    pub(crate) latency: Option<LatencyHistogram>,
    pub(crate) wait: Option<LatencyHistogram>,
    /// Replicas in service over time.
    pub(crate) in_service_tw: TimeWeighted,
    /// Fewest replicas in service at once.
    replicas_min: u32,
    pub(crate) replicas_series: GaugeSeries,
}

impl ReplicaSet for GroupRt {
    fn slots(&self) -> usize {
        self.slots as usize
    }
    fn in_service(&self) -> usize {
        self.in_service_count as usize
    }
    fn is_in_service(&self, r: usize) -> bool {
        self.in_service[r]
    }
}

impl GroupRt {
    pub(crate) fn new(s: &Service, first: u32, bucket: sim_core::SimDuration) -> Self {
        let mut replicas_series = GaugeSeries::with_max_buckets(bucket, MAX_SERIES_BUCKETS);
        replicas_series.set(SimTime::ZERO, u64::from(s.replicas));
        GroupRt {
            name: s.name.clone(),
            first,
            slots: s.slots,
            in_service: (0..s.slots).map(|k| k < s.replicas).collect(),
            in_service_count: s.replicas,
            provisioning: 0,
            autoscaler: s.autoscale.clone(),
            latency: (s.slots > 1).then(LatencyHistogram::new),
            wait: (s.slots > 1).then(LatencyHistogram::new),
            busy: TimeWeighted::new(SimTime::ZERO, 0),
            queue: TimeWeighted::new(SimTime::ZERO, 0),
            in_service_tw: TimeWeighted::new(SimTime::ZERO, u64::from(s.replicas)),
            replicas_min: s.replicas,
            replicas_series,
        }
    }

    /// Fewest replicas in service at once.
    pub(crate) fn replicas_series_min(&self) -> u64 {
        self.replicas_min.into()
    }

    /// Whether the service has more than one replica slot.
    pub(crate) fn replicated(&self) -> bool {
        self.slots > 1
    }
}

/// A server error, as Envoy's outlier detection counts them: a 5xx
/// (Unavailable, Internal, a refusal by the service) or a timeout (504).
fn server_error(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Error(ErrorKind::Unavailable | ErrorKind::Internal)
            | Outcome::Timeout
            | Outcome::Rejected(Rejection::Server)
    )
}

impl World {
    /// Replica `r`'s station changed: the service's totals follow (its
    /// busy and waiting jobs before the change are `before`), and a
    /// draining replica with nothing left leaves.
    pub(crate) fn replica_changed(&mut self, now: SimTime, r: usize, before: (usize, usize)) {
        let svc = &self.services[r];
        let (busy, queue) = (svc.station.busy(), svc.station.queue_len());
        let g = &mut self.groups[svc.group as usize];
        let total = |tw: &TimeWeighted, old: usize, new: usize| {
            (tw.value() + new as u64).saturating_sub(old as u64)
        };
        let b = total(&g.busy, before.0, busy);
        let q = total(&g.queue, before.1, queue);
        g.busy.set(now, b);
        g.queue.set(now, q);
        if svc.state == ReplicaState::Draining && busy + queue == 0 {
            self.services[r].state = ReplicaState::Off;
        }
    }

    /// Picks the replica of `pipeline`'s next attempt (0 without replicas).
    pub(crate) fn pick_replica(&mut self, p: usize, avoid: Option<u16>) -> u16 {
        let pl = &mut self.pipelines[p];
        match &mut pl.balancer {
            None => 0,
            Some(b) => {
                let g = &self.groups[pl.target.service()];
                b.pick(g, avoid.map(usize::from)) as u16
            }
        }
    }

    /// An attempt of pipeline `p` to replica `r` ended with `outcome`: its
    /// outlier detector, if any, counts it.
    pub(crate) fn replica_answered(
        &mut self,
        sched: &mut Scheduler<Event>,
        p: usize,
        r: u16,
        outcome: Outcome,
    ) {
        let pl = &mut self.pipelines[p];
        let Some(o) = pl.balancer.as_mut().and_then(|b| b.outlier.as_mut()) else {
            return;
        };
        let now = sched.now();
        let hosts = self.groups[pl.target.service()].in_service_count as usize;
        o.record(now, r as usize, server_error(outcome), hosts);
        if !o.sweep_pending {
            o.sweep_pending = true;
            sched.schedule_at(
                o.next_sweep(now),
                Event::Call(CallEvent::OutlierSweep { pipeline: p as u32 }),
            );
        }
    }

    /// A caller's outlier-ejection sweep; the next is scheduled while one
    /// can change anything.
    pub(crate) fn on_outlier_sweep(&mut self, sched: &mut Scheduler<Event>, p: usize) {
        let now = sched.now();
        let pl = &mut self.pipelines[p];
        let hosts = self.groups[pl.target.service()].in_service_count as usize;
        let Some(o) = pl.balancer.as_mut().and_then(|b| b.outlier.as_mut()) else {
            return;
        };
        if o.sweep(now, hosts) {
            sched.schedule_at(
                o.next_sweep(now),
                Event::Call(CallEvent::OutlierSweep { pipeline: p as u32 }),
            );
        } else {
            o.sweep_pending = false;
        }
    }

    /// An attempt reached service `g`: its autoscaler wakes up if it was
    /// idle.
    pub(crate) fn wake_autoscaler(&mut self, sched: &mut Scheduler<Event>, g: usize) {
        if let Some(a) = &mut self.groups[g].autoscaler
            && !a.pending
        {
            a.pending = true;
            let at = a.next_decision(sched.now());
            sched.schedule_at(
                at,
                Event::Service(ServiceEvent::Autoscale { service: g as u16 }),
            );
        }
    }

    /// A service's autoscaler decides and its decision is carried out:
    /// slots started (provisioning) from the lowest, replicas drained from
    /// the highest.
    pub(crate) fn on_autoscale(&mut self, sched: &mut Scheduler<Event>, g: usize) {
        let now = sched.now();
        let group = &mut self.groups[g];
        let Some(a) = &mut group.autoscaler else {
            return;
        };
        // The metric's mean over the last interval: the decisions stop
        // while the service is idle at its minimum, so the area since the
        // last one all falls within the interval.
        let (area, per) = match a.cfg.target {
            crate::autoscale::ScaleTarget::InFlight(_) => {
                (group.busy.area(now) + group.queue.area(now), 1.0)
            }
            crate::autoscale::ScaleTarget::Utilization(_) => (
                group.busy.area(now),
                self.services[group.first as usize].cfg.workers.unwrap_or(1) as f64,
            ),
        };
        let interval = a.cfg.interval.as_nanos() as f64;
        let in_service = group.in_service_count;
        let mean = (area - a.last_area) as f64 / interval;
        a.last_area = area;
        let per_replica = mean / (f64::from(in_service.max(1)) * per);
        let current = in_service + group.provisioning;
        let wanted = a.decide(now, per_replica, in_service, current);
        let provisioning = a.cfg.provisioning;
        let min = a.cfg.min_replicas;
        let first = group.first as usize;
        let slots = group.slots as usize;
        if wanted > current {
            let mut add = wanted - current;
            for k in 0..slots {
                if add == 0 {
                    break;
                }
                if self.services[first + k].state == ReplicaState::Off {
                    add -= 1;
                    self.services[first + k].state = ReplicaState::Provisioning;
                    self.groups[g].provisioning += 1;
                    sched.schedule_in(
                        provisioning,
                        Event::Service(ServiceEvent::ReplicaReady {
                            replica: (first + k) as u32,
                        }),
                    );
                }
            }
        } else if wanted < current {
            let mut remove = (current - wanted).min(in_service.saturating_sub(min));
            for k in (0..slots).rev() {
                if remove == 0 {
                    break;
                }
                let r = first + k;
                // Replicas still provisioning come up regardless (their
                // ready events stand); only those in service drain.
                match self.services[r].state {
                    ReplicaState::InService if self.groups[g].in_service_count > min.max(1) => {
                        self.take_out_of_service(now, r);
                        self.services[r].state = ReplicaState::Draining;
                        let st = &self.services[r].station;
                        let before = (st.busy(), st.queue_len());
                        self.replica_changed(now, r, before);
                        remove -= 1;
                    }
                    _ => {}
                }
            }
        }
        let group = &self.groups[g];
        let idle = group.busy.value() + group.queue.value() == 0
            && group.provisioning == 0
            && group.in_service_count <= min
            && (first..first + slots).all(|r| self.services[r].state != ReplicaState::Draining);
        let a = self.groups[g].autoscaler.as_mut().expect("autoscaled");
        if idle && mean == 0.0 {
            a.pending = false;
        } else {
            let at = a.next_decision(now);
            sched.schedule_at(
                at,
                Event::Service(ServiceEvent::Autoscale { service: g as u16 }),
            );
        }
    }

    /// Replica `r` stops taking traffic.
    fn take_out_of_service(&mut self, now: SimTime, r: usize) {
        let g = &mut self.groups[self.services[r].group as usize];
        let k = self.services[r].replica as usize;
        if std::mem::replace(&mut g.in_service[k], false) {
            g.in_service_count -= 1;
            g.replicas_min = g.replicas_min.min(g.in_service_count);
            g.in_service_tw.set(now, g.in_service_count.into());
            g.replicas_series.set(now, g.in_service_count.into());
        }
    }

    /// A replica scaled out is ready: it takes traffic from now on (unless
    /// it was scaled in again meanwhile).
    pub(crate) fn on_replica_ready(&mut self, sched: &mut Scheduler<Event>, r: usize) {
        if self.services[r].state != ReplicaState::Provisioning {
            return;
        }
        let now = sched.now();
        self.services[r].state = ReplicaState::InService;
        let g = &mut self.groups[self.services[r].group as usize];
        g.provisioning -= 1;
        let k = self.services[r].replica as usize;
        g.in_service[k] = true;
        g.in_service_count += 1;
        g.in_service_tw.set(now, g.in_service_count.into());
        g.replicas_series.set(now, g.in_service_count.into());
    }
}
