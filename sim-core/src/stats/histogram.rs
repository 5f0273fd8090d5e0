use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::time::SimDuration;

/// Highest value the histogram resolves: one hour. Longer latencies are
/// counted at one hour in the percentiles; mean and max stay exact.
const HIGHEST_TRACKABLE_NS: u64 = 3_600_000_000_000;
/// Three significant digits: every percentile is within 0.1% of the truth.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency distribution in bounded memory (about 270 KiB, whatever the
/// number of observations).
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    hist: Histogram<u64>,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::with_digits(SIGNIFICANT_DIGITS)
    }

    /// An empty histogram resolving `digits` significant digits (1 to 3):
    /// two (percentiles within 1%) take about a seventh of the memory of
    /// three, for the many small histograms of a service's replicas.
    pub fn with_digits(digits: u8) -> Self {
        LatencyHistogram {
            hist: Histogram::new_with_bounds(1, HIGHEST_TRACKABLE_NS, digits.clamp(1, 3))
                .expect("static histogram bounds are valid"),
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }

    #[inline]
    /// Records one duration.
    pub fn record(&mut self, d: SimDuration) {
        let ns = d.as_nanos();
        self.hist.saturating_record(ns);
        self.sum_ns += u128::from(ns);
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Durations recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// Exact mean, or `None` without observations.
    pub fn mean(&self) -> Option<SimDuration> {
        let n = self.count();
        (n > 0).then(|| SimDuration::from_nanos((self.sum_ns / u128::from(n)) as u64))
    }

    /// The exact mean in seconds (`None` when empty).
    pub fn mean_secs(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.sum_ns as f64 / n as f64 / 1e9)
    }

    /// The longest duration (exact).
    pub fn max(&self) -> Option<SimDuration> {
        (!self.is_empty()).then_some(SimDuration::from_nanos(self.max_ns))
    }

    /// The shortest duration (exact).
    pub fn min(&self) -> Option<SimDuration> {
        (!self.is_empty()).then_some(SimDuration::from_nanos(self.min_ns))
    }

    /// The value at quantile `q` in [0, 1] within 0.1%, or `None` if empty.
    pub fn quantile(&self, q: f64) -> Option<SimDuration> {
        if self.is_empty() {
            return None;
        }
        let v = self.hist.value_at_quantile(q.clamp(0.0, 1.0));
        Some(SimDuration::from_nanos(self.snap(v)))
    }

    /// A value the histogram reported, as a quantile: the bucket's midpoint
    /// (half the worst-case error of its top edge), clamped so that p100 is
    /// the exact max and p0 the exact min.
    fn snap(&self, v: u64) -> u64 {
        self.hist
            .median_equivalent(v)
            .min(self.max_ns)
            .max(self.min_ns)
    }

    /// Adds another histogram's observations to this one.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        if other.is_empty() {
            return;
        }
        self.hist
            .add(&other.hist)
            .expect("histograms share the same bounds");
        self.sum_ns += other.sum_ns;
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// Clears all observations (used at the end of a warm-up period).
    pub fn reset(&mut self) {
        self.hist.reset();
        self.sum_ns = 0;
        self.min_ns = u64::MAX;
        self.max_ns = 0;
    }

    /// Percentiles and moments in milliseconds.
    pub fn summary(&self) -> LatencySummary {
        let ms = |d: Option<SimDuration>| d.map(|d| d.as_millis_f64());
        // One pass over the buckets for all five (each is what
        // `quantile` gives; see `quantiles`).
        let [p50, p90, p95, p99, p999] = match self.quantiles([0.50, 0.90, 0.95, 0.99, 0.999]) {
            Some(q) => q.map(Some),
            None => [None; 5],
        };
        LatencySummary {
            count: self.count(),
            mean: self.mean_secs().map(|s| s * 1e3),
            p50: ms(p50),
            p90: ms(p90),
            p95: ms(p95),
            p99: ms(p99),
            p999: ms(p999),
            max: ms(self.max()),
        }
    }

    /// [`LatencyHistogram::quantile`] of each of `qs` (ascending), in one
    /// pass over the histogram's buckets instead of one per quantile.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> Option<[SimDuration; N]> {
        if self.is_empty() {
            return None;
        }
        debug_assert!(qs.windows(2).all(|w| w[0] <= w[1]), "ascending quantiles");
        let mut out = [SimDuration::ZERO; N];
        let values = self
            .hist
            .value_at_quantiles(qs.iter().map(|q| q.clamp(0.0, 1.0)));
        for (slot, v) in out.iter_mut().zip(values) {
            *slot = SimDuration::from_nanos(self.snap(v));
        }
        Some(out)
    }
}

/// A latency distribution in milliseconds. Fields are `None` (JSON `null`)
/// when there were no observations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Durations recorded.
    pub count: u64,
    /// Exact mean, in ms.
    pub mean: Option<f64>,
    /// Median, in ms.
    pub p50: Option<f64>,
    /// 90th percentile, in ms.
    pub p90: Option<f64>,
    /// 95th percentile, in ms.
    pub p95: Option<f64>,
    /// 99th percentile, in ms.
    pub p99: Option<f64>,
    /// 99.9th percentile, in ms.
    pub p999: Option<f64>,
    /// The longest, in ms (exact).
    pub max: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_quantiles_equal_each_quantile() {
        let mut h = LatencyHistogram::new();
        let mut x = 12345u64;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            h.record(SimDuration::from_nanos(1 + (x >> 40)));
        }
        let qs = [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];
        let one_pass = h.quantiles(qs).unwrap();
        for (q, v) in qs.iter().zip(one_pass) {
            assert_eq!(Some(v), h.quantile(*q), "q = {q}");
        }
        assert!(LatencyHistogram::new().quantiles([0.5]).is_none());
    }

    #[test]
    fn percentiles_are_within_stated_relative_error() {
        let mut h = LatencyHistogram::new();
        for us in 1..=100_000u64 {
            h.record(SimDuration::from_micros(us));
        }
        for (q, exact_us) in [
            (0.5, 50_000.0),
            (0.9, 90_000.0),
            (0.99, 99_000.0),
            (0.999, 99_900.0),
        ] {
            let got = h.quantile(q).unwrap().as_nanos() as f64 / 1e3;
            assert!(
                (got - exact_us).abs() / exact_us <= 1e-3,
                "q={q}: {got} vs {exact_us}"
            );
        }
        assert_eq!(h.max().unwrap(), SimDuration::from_micros(100_000));
        assert_eq!(h.min().unwrap(), SimDuration::from_micros(1));
        let mean = h.mean_secs().unwrap();
        assert!((mean - 0.0500005).abs() < 1e-12, "{mean}");
    }

    #[test]
    fn empty_summary_is_null_not_zero() {
        let s = LatencyHistogram::new().summary();
        assert_eq!(s.count, 0);
        assert_eq!(s.p99, None);
        assert_eq!(s.mean, None);
    }

    #[test]
    fn merge_equals_recording_together() {
        let mut a = LatencyHistogram::new();
        let mut b = LatencyHistogram::new();
        let mut both = LatencyHistogram::new();
        for i in 0..1000u64 {
            let d = SimDuration::from_micros(i * 37 % 1009 + 1);
            if i % 3 == 0 {
                a.record(d)
            } else {
                b.record(d)
            }
            both.record(d);
        }
        a.merge(&b);
        assert_eq!(a.summary(), both.summary());
    }

    #[test]
    fn huge_values_saturate_without_panicking() {
        let mut h = LatencyHistogram::new();
        h.record(SimDuration::from_secs(100_000));
        assert_eq!(h.max().unwrap(), SimDuration::from_secs(100_000));
        assert!(h.quantile(0.5).is_some());
    }
}
