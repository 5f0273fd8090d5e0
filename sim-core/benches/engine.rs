//! Engine benchmarks: the hold model, hold with timeout resets, and M/M/1.
//!
//! ```text
//! cargo bench -p sim-core --bench engine
//! ```
//!
//! Hold: N events pending; one op pops the earliest and schedules one new
//! event at now + Exp(mean 1 s) (integer ns; the mean is large so that even at
//! N = 1e6 simultaneous events are rare). Every variant draws from its own
//! copy of the same `RngStream`, so all do the same RNG work, and all pop in
//! the same (time, insertion order). Queues are filled and brought to steady
//! state before timing and persist across criterion's batches, so only ops
//! are timed, never the fill.
//!
//! See BENCHMARKS.md at the workspace root for results.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use priority_queue::PriorityQueue;
use sim_core::queue::EventQueue;
use sim_core::{
    EventId, Model, RngStream, RunLimits, Scheduler, Seeds, SimDuration, SimTime, Simulation,
};

/// The M/M/1 model, shared with `cargo run --example mm1`.
#[allow(dead_code)]
#[path = "../examples/mm1.rs"]
mod mm1;

const SEED: u64 = 42;
/// Mean of the hold increment: 1 s in ns.
const HOLD_MEAN_NS: f64 = 1e9;
const HOLD_SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];
const MM1_CUSTOMERS: u64 = 1_000_000;

fn hold_rng() -> RngStream {
    Seeds::new(SEED).stream("bench/hold")
}

#[inline]
fn hold_draw(rng: &mut RngStream) -> u64 {
    SimDuration::from_nanos_f64(rng.exponential(HOLD_MEAN_NS)).as_nanos()
}

/// A pending-event set under the hold model.
trait Hold {
    fn new(n: usize) -> Self;
    /// Performs `ops` hold operations.
    fn ops(&mut self, ops: u64);
    /// The time of the last popped event, in ns.
    fn now(&self) -> u64;
}

/// Fills to `n` events, then runs `n` untimed ops so the time distribution of
/// the pending events is near its steady state.
fn steady<H: Hold>(n: usize) -> H {
    let mut h = H::new(n);
    h.ops(n as u64);
    h
}

/// Times `iters` ops of a persistent queue.
fn time_ops<H: Hold>(h: &mut H, iters: u64) -> Duration {
    let start = Instant::now();
    h.ops(iters);
    start.elapsed()
}

// ---- (a) the full engine -------------------------------------------------

struct HoldModel {
    rng: RngStream,
}

impl Model for HoldModel {
    type Event = ();
    #[inline]
    fn handle(&mut self, sched: &mut Scheduler<()>, _: ()) {
        let d = hold_draw(&mut self.rng);
        sched.schedule_in(SimDuration::from_nanos(d), ());
    }
}

impl Hold for Simulation<HoldModel> {
    fn new(n: usize) -> Self {
        let mut sim = Simulation::new(HoldModel { rng: hold_rng() });
        for _ in 0..n {
            let d = hold_draw(&mut sim.model.rng);
            sim.sched.schedule_in(SimDuration::from_nanos(d), ());
        }
        sim
    }
    fn ops(&mut self, ops: u64) {
        let limits = RunLimits::to_exhaustion().with_max_events(self.events_handled() + ops);
        let report = self.run(&limits).expect("hold never storms");
        debug_assert_eq!(report.reason, sim_core::StopReason::EventLimit);
    }
    fn now(&self) -> u64 {
        Simulation::now(self).as_nanos()
    }
}

// ---- (b) the engine's EventQueue directly ---------------------------------

struct HoldEventQueue {
    q: EventQueue<()>,
    now: SimTime,
    rng: RngStream,
}

impl Hold for HoldEventQueue {
    fn new(n: usize) -> Self {
        let mut h = HoldEventQueue {
            q: EventQueue::new(),
            now: SimTime::ZERO,
            rng: hold_rng(),
        };
        for _ in 0..n {
            let d = hold_draw(&mut h.rng);
            h.q.push(SimTime::from_nanos(d), ());
        }
        h
    }
    fn ops(&mut self, ops: u64) {
        for _ in 0..ops {
            let (now, ()) = self.q.pop().expect("hold queue never empties");
            self.now = now;
            let d = hold_draw(&mut self.rng);
            self.q.push(now + SimDuration::from_nanos(d), ());
        }
    }
    fn now(&self) -> u64 {
        self.now.as_nanos()
    }
}

// ---- (c) a bare std BinaryHeap ---------------------------------------------

struct HoldBinaryHeap {
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    now: u64,
    seq: u64,
    rng: RngStream,
}

impl Hold for HoldBinaryHeap {
    fn new(n: usize) -> Self {
        let mut h = HoldBinaryHeap {
            heap: BinaryHeap::new(),
            now: 0,
            seq: 0,
            rng: hold_rng(),
        };
        for _ in 0..n {
            let d = hold_draw(&mut h.rng);
            h.heap.push(Reverse((d, h.seq)));
            h.seq += 1;
        }
        h
    }
    fn ops(&mut self, ops: u64) {
        for _ in 0..ops {
            let Reverse((now, _)) = self.heap.pop().expect("hold heap never empties");
            self.now = now;
            let d = hold_draw(&mut self.rng);
            self.heap.push(Reverse((now.saturating_add(d), self.seq)));
            self.seq += 1;
        }
    }
    fn now(&self) -> u64 {
        self.now
    }
}

// ---- (d) the priority-queue crate ------------------------------------------

/// Items are unique u64 keys (the insertion sequence); the priority carries
/// (time, seq) reversed so that the max-queue pops the earliest first.
struct HoldPriorityQueue {
    pq: PriorityQueue<u64, Reverse<(u64, u64)>>,
    now: u64,
    seq: u64,
    rng: RngStream,
}

impl Hold for HoldPriorityQueue {
    fn new(n: usize) -> Self {
        let mut h = HoldPriorityQueue {
            pq: PriorityQueue::new(),
            now: 0,
            seq: 0,
            rng: hold_rng(),
        };
        for _ in 0..n {
            let d = hold_draw(&mut h.rng);
            h.pq.push(h.seq, Reverse((d, h.seq)));
            h.seq += 1;
        }
        h
    }
    fn ops(&mut self, ops: u64) {
        for _ in 0..ops {
            let (_, Reverse((now, _))) = self.pq.pop().expect("hold queue never empties");
            self.now = now;
            let d = hold_draw(&mut self.rng);
            self.pq
                .push(self.seq, Reverse((now.saturating_add(d), self.seq)));
            self.seq += 1;
        }
    }
    fn now(&self) -> u64 {
        self.now
    }
}

fn bench_one<H: Hold>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    n: usize,
) {
    let mut h = steady::<H>(n);
    c.bench_function(BenchmarkId::new(name, n), |b| {
        b.iter_custom(|iters| time_ops(&mut h, iters))
    });
}

/// Checks that every variant pops the same events in the same order (the
/// clocks agree after the same number of ops).
fn check_same_work() {
    const N: usize = 1_000;
    const OPS: u64 = 50_000;
    fn clock<H: Hold>() -> u64 {
        let mut h = H::new(N);
        h.ops(OPS);
        h.now()
    }
    let want = clock::<HoldBinaryHeap>();
    assert_eq!(clock::<Simulation<HoldModel>>(), want, "engine_sim");
    assert_eq!(clock::<HoldEventQueue>(), want, "event_queue");
    assert_eq!(clock::<HoldPriorityQueue>(), want, "priority_queue");
    assert_eq!(
        clock::<CancelEventQueue>(),
        clock::<CancelPriorityQueue>(),
        "hold_cancel"
    );
}

fn hold(c: &mut Criterion) {
    check_same_work();
    let mut g = c.benchmark_group("hold");
    g.throughput(Throughput::Elements(1));
    for n in HOLD_SIZES {
        bench_one::<Simulation<HoldModel>>(&mut g, "engine_sim", n);
        bench_one::<HoldEventQueue>(&mut g, "event_queue", n);
        bench_one::<HoldBinaryHeap>(&mut g, "binary_heap", n);
        bench_one::<HoldPriorityQueue>(&mut g, "priority_queue", n);
    }
    g.finish();
}

// ---- hold with cancellation ------------------------------------------------

/// The pending events, for picking a uniformly random victim in O(1): `live`
/// holds (handle, token) pairs, each event carries its token, and
/// `pos[token]` is the token's index in `live`, kept right across
/// `swap_remove`. Both cancel variants use this same bookkeeping.
struct Live<H> {
    live: Vec<(H, u32)>,
    pos: Vec<u32>,
    free: Vec<u32>,
}

impl<H: Copy> Live<H> {
    fn new() -> Self {
        Live {
            live: Vec::new(),
            pos: Vec::new(),
            free: Vec::new(),
        }
    }

    #[inline]
    fn token(&mut self) -> u32 {
        self.free.pop().unwrap_or_else(|| {
            self.pos.push(u32::MAX);
            (self.pos.len() - 1) as u32
        })
    }

    #[inline]
    fn insert(&mut self, token: u32, handle: H) {
        self.pos[token as usize] = self.live.len() as u32;
        self.live.push((handle, token));
    }

    #[inline]
    fn remove_at(&mut self, i: usize) -> (H, u32) {
        let (handle, token) = self.live.swap_remove(i);
        if let Some(&(_, moved)) = self.live.get(i) {
            self.pos[moved as usize] = i as u32;
        }
        self.free.push(token);
        (handle, token)
    }

    /// Forgets an event that fired.
    #[inline]
    fn fired(&mut self, token: u32) {
        let i = self.pos[token as usize] as usize;
        self.remove_at(i);
    }

    /// Removes and returns a uniformly random pending event.
    #[inline]
    fn victim(&mut self, rng: &mut RngStream) -> (H, u32) {
        let i = rng.index(self.live.len());
        self.remove_at(i)
    }
}

/// Engine queue: cancellation leaves a tombstone in the heap.
struct CancelEventQueue {
    q: EventQueue<u32>,
    now: SimTime,
    live: Live<EventId>,
    rng: RngStream,
    op: u64,
}

impl CancelEventQueue {
    #[inline]
    fn schedule(&mut self, at: SimTime) {
        let token = self.live.token();
        let id = self.q.push(at, token);
        self.live.insert(token, id);
    }
}

impl Hold for CancelEventQueue {
    fn new(n: usize) -> Self {
        let mut h = CancelEventQueue {
            q: EventQueue::new(),
            now: SimTime::ZERO,
            live: Live::new(),
            rng: hold_rng(),
            op: 0,
        };
        for _ in 0..n {
            let d = hold_draw(&mut h.rng);
            h.schedule(SimTime::from_nanos(d));
        }
        h
    }
    fn ops(&mut self, ops: u64) {
        for _ in 0..ops {
            let (now, token) = self.q.pop().expect("hold queue never empties");
            self.now = now;
            self.live.fired(token);
            let d = hold_draw(&mut self.rng);
            self.schedule(now + SimDuration::from_nanos(d));
            if self.op & 1 == 1 {
                // A timeout reset: cancel a random pending event, schedule its replacement.
                let (id, _) = self.live.victim(&mut self.rng);
                let was_pending = self.q.cancel(id);
                debug_assert!(was_pending);
                let d = hold_draw(&mut self.rng);
                self.schedule(now + SimDuration::from_nanos(d));
            }
            self.op += 1;
        }
    }
    fn now(&self) -> u64 {
        self.now.as_nanos()
    }
}

/// priority-queue crate: cancellation removes the entry.
struct CancelPriorityQueue {
    pq: PriorityQueue<u32, Reverse<(u64, u64)>>,
    now: u64,
    live: Live<()>,
    seq: u64,
    rng: RngStream,
    op: u64,
}

impl CancelPriorityQueue {
    #[inline]
    fn schedule(&mut self, at: u64) {
        let token = self.live.token();
        self.pq.push(token, Reverse((at, self.seq)));
        self.seq += 1;
        self.live.insert(token, ());
    }
}

impl Hold for CancelPriorityQueue {
    fn new(n: usize) -> Self {
        let mut h = CancelPriorityQueue {
            pq: PriorityQueue::new(),
            now: 0,
            live: Live::new(),
            seq: 0,
            rng: hold_rng(),
            op: 0,
        };
        for _ in 0..n {
            let d = hold_draw(&mut h.rng);
            h.schedule(d);
        }
        h
    }
    fn ops(&mut self, ops: u64) {
        for _ in 0..ops {
            let (token, Reverse((now, _))) = self.pq.pop().expect("hold queue never empties");
            self.now = now;
            self.live.fired(token);
            let d = hold_draw(&mut self.rng);
            self.schedule(now.saturating_add(d));
            if self.op & 1 == 1 {
                let ((), token) = self.live.victim(&mut self.rng);
                let removed = self.pq.remove(&token);
                debug_assert!(removed.is_some());
                let d = hold_draw(&mut self.rng);
                self.schedule(now.saturating_add(d));
            }
            self.op += 1;
        }
    }
    fn now(&self) -> u64 {
        self.now
    }
}

fn hold_cancel(c: &mut Criterion) {
    let mut g = c.benchmark_group("hold_cancel");
    g.throughput(Throughput::Elements(1));
    for n in HOLD_SIZES {
        bench_one::<CancelEventQueue>(&mut g, "event_queue", n);
        bench_one::<CancelPriorityQueue>(&mut g, "priority_queue", n);
    }
    g.finish();
}

// ---- M/M/1 -----------------------------------------------------------------

fn mm1_bench(c: &mut Criterion) {
    // The two implementations must do identical work.
    let engine = mm1::run_mm1(mm1::mm1_simulation(MM1_CUSTOMERS, SEED));
    let bare = mm1::mm1_bare(MM1_CUSTOMERS, SEED);
    assert_eq!(engine.customers, MM1_CUSTOMERS);
    assert_eq!(
        (
            engine.events,
            engine.end,
            engine.sojourn.mean(),
            engine.sojourn.max()
        ),
        (
            bare.events,
            bare.end,
            bare.sojourn.mean(),
            bare.sojourn.max()
        ),
        "engine and bare M/M/1 diverged"
    );
    let mean_ms = engine.sojourn.mean_secs().unwrap_or(f64::NAN) * 1e3;
    println!(
        "mm1: {} customers, {} events per run ({:.3} events/customer); \
         mean sojourn {mean_ms:.3} ms (analytic {:.3} ms)",
        engine.customers,
        engine.events,
        engine.events as f64 / engine.customers as f64,
        mm1::analytic_mean_sojourn_ns() / 1e6,
    );

    let mut g = c.benchmark_group("mm1");
    g.sampling_mode(SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(MM1_CUSTOMERS));
    g.bench_function(BenchmarkId::new("engine", MM1_CUSTOMERS), |b| {
        // Construction (histogram allocation) is timed, as in the bare loop.
        b.iter(|| {
            black_box(mm1::run_mm1(mm1::mm1_simulation(black_box(MM1_CUSTOMERS), SEED)).events)
        })
    });
    g.bench_function(BenchmarkId::new("bare_heap", MM1_CUSTOMERS), |b| {
        b.iter(|| black_box(mm1::mm1_bare(black_box(MM1_CUSTOMERS), SEED).events))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = hold, hold_cancel, mm1_bench
}
criterion_main!(benches);
