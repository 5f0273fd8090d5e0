//! A lock with a lease, contended by holders that may stall (S8).
//!
//! Contenders queue (FIFO) for the lock. The holder gets a lease and a
//! fencing token (increasing). Its critical section takes `hold`, plus a
//! stall (a GC pause) with some probability; at its end it writes to the
//! protected resource and releases. If the lease runs out first, the lock
//! passes to the next waiter while the stalled holder still believes it
//! holds it; its late write is unsafe, unless the resource checks fencing
//! tokens and refuses writes older than one it has accepted.

use std::collections::VecDeque;

use sim_core::stats::LatencyHistogram;
use sim_core::{EventId, RngStream, Scheduler, SimDuration, SimTime};

use super::{Event, LockEvent, LockId, World};
use crate::scenario::Lock;

/// What wakes a lock contender.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LockWake {
    /// Asks for the lock.
    Request,
    /// Its critical section (with the fencing token it got) is over.
    Done {
        /// The fencing token it holds.
        token: u32,
    },
    /// The lease with this token runs out.
    Expire {
        /// The lease's fencing token.
        token: u32,
    },
}

#[derive(Clone)]
pub(crate) struct LockRt {
    pub(crate) cfg: Lock,
    /// (contender, token, lease expiry event)
    holder: Option<(u32, u32, EventId)>,
    queue: VecDeque<(u32, SimTime)>,
    next_token: u32,
    /// Highest token the resource has accepted a write from.
    last_written: u32,
    pub(crate) rng: RngStream,
    acquisitions: u64,
    completed: u64,
    expirations: u64,
    unsafe_writes: u64,
    rejected_writes: u64,
    wait: LatencyHistogram,
}

impl LockRt {
    pub(crate) fn new(cfg: &Lock, rng: RngStream) -> Self {
        LockRt {
            holder: None,
            queue: VecDeque::new(),
            next_token: 0,
            last_written: 0,
            rng,
            acquisitions: 0,
            completed: 0,
            expirations: 0,
            unsafe_writes: 0,
            rejected_writes: 0,
            wait: LatencyHistogram::new(),
            cfg: cfg.clone(),
        }
    }
}

impl World {
    pub(crate) fn start_lock(&mut self, sched: &mut Scheduler<Event>, k: usize) {
        for c in 0..self.locks[k].cfg.contenders {
            sched.schedule_now(Event::Lock(LockEvent {
                lock: LockId(k as u16),
                contender: c as u32,
                wake: LockWake::Request,
            }));
        }
    }

    fn grant_next(&mut self, sched: &mut Scheduler<Event>, k: usize) {
        let now = sched.now();
        let lock = &mut self.locks[k];
        if lock.holder.is_some() {
            return;
        }
        let Some((c, asked)) = lock.queue.pop_front() else {
            return;
        };
        lock.next_token += 1;
        let token = lock.next_token;
        lock.acquisitions += 1;
        lock.wait.record(now.since(asked));
        let mut work = lock.cfg.hold.sample(&mut lock.rng);
        if lock.rng.bernoulli(lock.cfg.stall_probability.get())
            && let Some(stall) = &lock.cfg.stall
        {
            work += stall.sample(&mut lock.rng);
        }
        let lease = lock.cfg.lease;
        let expiry = sched.schedule_in(
            lease,
            Event::Lock(LockEvent {
                lock: LockId(k as u16),
                contender: c,
                wake: LockWake::Expire { token },
            }),
        );
        sched.schedule_in(
            work,
            Event::Lock(LockEvent {
                lock: LockId(k as u16),
                contender: c,
                wake: LockWake::Done { token },
            }),
        );
        self.locks[k].holder = Some((c, token, expiry));
    }

    pub(crate) fn on_lock_wake(
        &mut self,
        sched: &mut Scheduler<Event>,
        k: usize,
        c: u32,
        wake: LockWake,
    ) {
        let now = sched.now();
        match wake {
            LockWake::Request => {
                self.locks[k].queue.push_back((c, now));
                self.grant_next(sched, k);
            }
            LockWake::Expire { token } => {
                let lock = &mut self.locks[k];
                if lock.holder.is_some_and(|h| h.1 == token) {
                    lock.expirations += 1;
                    lock.holder = None;
                    self.grant_next(sched, k);
                }
            }
            LockWake::Done { token } => {
                let lock = &mut self.locks[k];
                let still_holds = lock.holder.is_some_and(|h| h.1 == token);
                if still_holds {
                    lock.completed += 1;
                    lock.last_written = lock.last_written.max(token);
                    if let Some((_, _, expiry)) = lock.holder.take() {
                        sched.cancel(expiry);
                    }
                } else if lock.cfg.fencing && token < lock.last_written {
                    lock.rejected_writes += 1;
                } else {
                    // The lease is gone but the write lands. Without fencing
                    // it is always unsafe (another holder may be writing).
                    // With fencing it is accepted only while no newer token
                    // has written, which keeps writes in token order.
                    if !lock.cfg.fencing {
                        lock.unsafe_writes += 1;
                    }
                    lock.last_written = lock.last_written.max(token);
                }
                let think = lock
                    .cfg
                    .think
                    .as_ref()
                    .map_or(SimDuration::ZERO, |d| d.sample(&mut lock.rng));
                sched.schedule_in(
                    think,
                    Event::Lock(LockEvent {
                        lock: LockId(k as u16),
                        contender: c,
                        wake: LockWake::Request,
                    }),
                );
                self.grant_next(sched, k);
            }
        }
    }

    pub(crate) fn lock_metrics(&self, k: usize) -> crate::metrics::LockMetrics {
        let lock = &self.locks[k];
        crate::metrics::LockMetrics {
            acquisitions: lock.acquisitions.into(),
            completed: lock.completed.into(),
            lease_expirations: lock.expirations.into(),
            unsafe_writes: lock.unsafe_writes.into(),
            rejected_writes: lock.rejected_writes.into(),
            wait_ms: crate::metrics::latency(lock.wait.summary()),
        }
    }
}
