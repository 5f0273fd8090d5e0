//! What one run reports: per client group and per service counters,
//! latency summaries, amplification, time to recover, and time series.
//! Every name here is part of the JSON contract of `sim run --json`.

use sim_core::SimTime;
use sim_core::stats::LatencySummary;

pub use sim_results::run::{
    AdmissionMetrics, AutoscaleMetrics, BusMetrics, BusSeries, CallMetrics, CallSeries,
    ClientMetrics, ClientSeries, EjectionMetrics, EngineMetrics, FailureBreakdown, FaultWindow,
    Flag, HedgeMetrics, Latency, LimitMetrics, LockMetrics, LogMetrics, LogSeries, Named, Num,
    ReplicaMetrics, RunMetrics, Series, ServiceMetrics, ServiceSeries, StateChange,
};

/// A histogram's summary as a document's latency.
pub fn latency(s: LatencySummary) -> Latency {
    let ms = |x: Option<f64>| x.map(Num::from);
    Latency {
        count: s.count.into(),
        mean: ms(s.mean),
        p50: ms(s.p50),
        p90: ms(s.p90),
        p95: ms(s.p95),
        p99: ms(s.p99),
        p999: ms(s.p999),
        max: ms(s.max),
    }
}

/// Time to recover from per-bucket completion counts.
///
/// `pre` is the success rate of requests completing before the disturbance
/// starts. Recovery is the first window of `window_buckets` buckets, starting
/// at or after the disturbance's end, that holds completions and whose
/// success rate is at least `pre * (1 - tolerance)`. Returns (pre-level,
/// time to recover in seconds, recovered).
pub fn time_to_recover(
    ok: &[u64],
    failed: &[u64],
    bucket_s: f64,
    window_buckets: usize,
    disturbance: (SimTime, SimTime),
    tolerance: f64,
) -> (Option<f64>, Option<f64>, bool) {
    let window_buckets = window_buckets.max(1);
    let (start, end) = disturbance;
    let start_bucket = ((start.as_secs_f64() / bucket_s).floor() as usize).min(ok.len());
    let pre_ok: u64 = ok[..start_bucket].iter().sum();
    let pre_failed: u64 = failed[..start_bucket].iter().sum();
    if pre_ok + pre_failed == 0 {
        return (None, None, false);
    }
    let pre = pre_ok as f64 / (pre_ok + pre_failed) as f64;
    let end_s = end.as_secs_f64();
    let first = (end_s / bucket_s).ceil() as usize;
    let target = pre * (1.0 - tolerance);
    let mut b = first;
    while b + window_buckets <= ok.len() {
        let o: u64 = ok[b..b + window_buckets].iter().sum();
        let f: u64 = failed[b..b + window_buckets].iter().sum();
        if o + f > 0 && o as f64 / (o + f) as f64 >= target - 1e-12 {
            let t = (b as f64 * bucket_s - end_s).max(0.0);
            return (Some(pre), Some(t), true);
        }
        b += 1;
    }
    (Some(pre), None, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    fn at(s: f64) -> SimTime {
        SimTime::at(SimDuration::from_secs_f64(s))
    }

    #[test]
    fn recovery_is_the_first_healthy_window_after_the_end() {
        // 1 s buckets; healthy (10 ok), fault in [3, 5), sick until bucket 7.
        let ok = [10, 10, 10, 0, 0, 2, 5, 10, 10, 10];
        let failed = [0, 0, 0, 10, 10, 8, 5, 0, 0, 0];
        let (pre, ttr, rec) = time_to_recover(&ok, &failed, 1.0, 1, (at(3.0), at(5.0)), 0.05);
        assert_eq!(pre, Some(1.0));
        assert_eq!(ttr, Some(2.0));
        assert!(rec);
        // With a 2-bucket window it is the same start.
        let (_, ttr, _) = time_to_recover(&ok, &failed, 1.0, 2, (at(3.0), at(5.0)), 0.05);
        assert_eq!(ttr, Some(2.0));
    }

    #[test]
    fn never_recovering_is_reported() {
        let ok = [10, 10, 0, 0, 1, 1];
        let failed = [0, 0, 10, 10, 9, 9];
        let (_, ttr, rec) = time_to_recover(&ok, &failed, 1.0, 1, (at(2.0), at(3.0)), 0.05);
        assert_eq!(ttr, None);
        assert!(!rec);
    }

    #[test]
    fn tolerance_is_relative_to_the_pre_level() {
        // Pre level 0.8; 0.77 is within 5% (>= 0.76).
        let ok = [80, 0, 77];
        let failed = [20, 100, 23];
        let (pre, ttr, _) = time_to_recover(&ok, &failed, 1.0, 1, (at(1.0), at(2.0)), 0.05);
        assert_eq!(pre, Some(0.8));
        assert_eq!(ttr, Some(0.0));
    }
}
