//! Bytes of memory per in-flight call, measured with a counting allocator:
//!
//!     cargo run --release -p sim-models --example inflight_memory
//!
//! A burst of N requests reaches a service with unlimited workers and a
//! service time far beyond the run, so at the end all N calls are in
//! flight at once (each with its call, attempt and job rows, its frames and
//! its pending events). The run stops there, with the world alive, and the
//! bytes allocated are read; the slope between two values of N is the cost
//! of one more in-flight call. Measured for a caller without policies and
//! for one with S1's (timeout, retry, breaker, bulkhead).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use sim_core::{RunLimits, Seeds, SimDuration, SimTime, Simulation};
use sim_models::scenario::{check, parse};
use sim_models::world::{RunOptions, World};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Bytes allocated with `n` calls in flight.
fn live_bytes(n: u32, policies: &str) -> usize {
    // Bursts of at most the simulator's limit, 1 ms apart: every request is
    // out well before the run stops at 1 s.
    let burst = n.min(sim_models::scenario::limits::MAX_COUNT as u32);
    let text = format!(
        r#"(
        name: "inflight", duration: "10s",
        services: [(name: "s", service_time: Constant("1000s"))],
        clients: [(name: "c", workload: Bursts(size: {burst}, every: "1ms"), requests: {n},
                   target: "s"{policies})],
    )"#
    );
    let path = std::path::Path::new("inflight.ron");
    let scenario = check(&parse(&text, path).unwrap(), path).unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    let world = World::new(&scenario, &Seeds::new(1), &RunOptions::default());
    let mut sim = Simulation::new(world);
    sim.model.start(&mut sim.sched);
    sim.run(&RunLimits::until(SimTime::at(SimDuration::from_secs(1))))
        .unwrap();
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    drop(sim);
    bytes
}

fn main() {
    let s1 = r#", timeout: "2000s",
        retry: (max_attempts: 3, backoff: FullJitter(base: "10ms", cap: "1s")),
        breaker: (trip: ConsecutiveFailures(5), open_for: "1s"),
        bulkhead: (max_concurrent: 1000000)"#;
    let (small, large) = (100_000u32, 200_000u32);
    for (name, policies) in [("no policies", ""), ("S1's policies", s1)] {
        let a = live_bytes(small, policies);
        let b = live_bytes(large, policies);
        let per_call = (b - a) as f64 / f64::from(large - small);
        println!(
            "{name:<14} {per_call:>7.1} bytes per in-flight call ({a} bytes at {small}, {b} at {large})"
        );
    }
}
