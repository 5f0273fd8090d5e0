//! The streaming statistics on every request's path (issue 15): a gauge
//! series change, a histogram record, and building and dropping a
//! histogram as each replication of a sweep does.
//!
//!     cargo bench -p sim-core --bench stats

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim_core::stats::{GaugeSeries, LatencyHistogram};
use sim_core::{SimDuration, SimTime};
use std::hint::black_box;

fn stats(c: &mut Criterion) {
    let mut g = c.benchmark_group("stats");
    g.sample_size(20);
    const N: u64 = 100_000;
    g.throughput(Throughput::Elements(N));
    // A gauge changing every 100 µs on average in 1 s buckets: nearly every
    // change falls in the cached bucket.
    g.bench_function("gauge_series_set", |b| {
        b.iter(|| {
            let mut s = GaugeSeries::new(SimDuration::from_secs(1));
            for i in 0..N {
                s.set(
                    SimTime::from_nanos(i * 100_000 + (i * 7919) % 50_000),
                    i % 16,
                );
            }
            black_box(s.value())
        })
    });
    // Latencies spread over 1 µs to 100 ms, as an M/M/1 near saturation.
    let latencies: Vec<SimDuration> = (0..N)
        .map(|i| SimDuration::from_nanos(1_000 + (i * 2_654_435_761) % 100_000_000))
        .collect();
    g.bench_function("histogram_record", |b| {
        let mut h = LatencyHistogram::new();
        b.iter(|| {
            for &d in &latencies {
                h.record(d);
            }
            black_box(h.count())
        })
    });
    g.throughput(Throughput::Elements(1));
    // One histogram of a replication: built, 100 records, read, dropped.
    g.bench_function("histogram_per_replication", |b| {
        b.iter(|| {
            let mut h = LatencyHistogram::new();
            for &d in &latencies[..100] {
                h.record(d);
            }
            black_box(h.summary())
        })
    });
    g.finish();
}

criterion_group!(benches, stats);
criterion_main!(benches);
