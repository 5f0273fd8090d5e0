//! What a user runs, through the whole model (issue 15): one replication
//! of the scenarios of the speed goals, and a sweep's many small
//! replications, each building and dropping a world.
//!
//!     cargo bench -p sim-models --bench user_path
//!
//! Side-by-side numbers for the `sim` binary are in BENCHMARKS.md; these
//! benches are what a change to the hot path is measured with (criterion
//! keeps the last run, so `-- --save-baseline before` and then
//! `-- --baseline before` compare two builds).

use std::path::Path;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use sim_core::Seeds;
use sim_models::scenario::{Scenario, load};
use sim_models::world::{RunOptions, run_replication};

fn scenario(file: &str, overrides: &[&str]) -> Scenario {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load(&root.join(file), &overrides).expect("a shipped scenario loads")
}

fn run_once(s: &Scenario, seed: u64) -> u64 {
    run_replication(s, &Seeds::new(seed), &RunOptions::default())
        .expect("runs")
        .events
}

fn user_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim_run");
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    // M/M/1 at rho 0.9 with the default metrics, as `sim run` runs it.
    let mm1 = scenario("benches/peers/mm1.ron", &["clients[0].requests=200000"]);
    g.throughput(Throughput::Elements(200_000));
    g.bench_function("mm1_200k_customers", |b| b.iter(|| run_once(&mm1, 1)));
    // 16 workers with an overload penalty, 120 ms timeouts, 4 attempts.
    let rpc = scenario(
        "benches/peers/rpc-retries.ron",
        &["clients[0].requests=100000"],
    );
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("rpc_retries_100k_requests", |b| {
        b.iter(|| run_once(&rpc, 1))
    });
    // S1's RPC path (timeout, retry, breaker, bulkhead) at 1e5 requests.
    let s1 = scenario("experiments/s1-rpc.ron", &["clients[0].requests=100000"]);
    g.bench_function("s1_rpc_100k_requests", |b| b.iter(|| run_once(&s1, 1)));
    g.finish();

    // A sweep cell: S1 as shipped (2,000 requests), one world per
    // replication, as a sweep runs its cells.
    let mut g = c.benchmark_group("sweep_cell");
    g.sample_size(10);
    let cell = scenario("experiments/s1.ron", &[]);
    g.throughput(Throughput::Elements(10));
    g.bench_function("s1_10_replications", |b| {
        b.iter(|| (0..10).map(|k| run_once(&cell, 7 + k)).sum::<u64>())
    });
    g.finish();
}

criterion_group!(benches, user_path);
criterion_main!(benches);
