use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::time::SimDuration;

/// Highest value the histogram resolves: one hour. Longer latencies are
/// counted at one hour in the percentiles; mean and max stay exact.
const HIGHEST_TRACKABLE_NS: u64 = 3_600_000_000_000;
/// Three significant digits: every percentile is within 0.1% of the truth.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// The bucket layout of an HdrHistogram with lowest discernible value 1 ns,
/// highest trackable value [`HIGHEST_TRACKABLE_NS`] and `digits`
/// significant digits: the layout of the `hdrhistogram` crate's
/// `Histogram::new_with_bounds(1, HIGHEST_TRACKABLE_NS, digits)`, whose
/// formulas these are, so that every counter and percentile is the one that
/// crate gives (a test compares them on random data).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Shape {
    digits: u8,
    /// log2 of half the sub-buckets of a bucket.
    half_magnitude: u32,
    /// Values up to this all land in bucket 0 (sub-bucket count - 1).
    sub_bucket_mask: u64,
    leading_zero_count_base: u32,
    /// Counters in all.
    len: usize,
    /// Where values past the last counter are counted (at one hour).
    saturated_index: usize,
}

impl Shape {
    const fn new(digits: u8) -> Shape {
        // Unit resolution up to 2 x 10^digits, in a power-of-two number of
        // sub-buckets.
        let largest = 2 * 10u64.pow(digits as u32);
        let magnitude = u64::BITS - (largest - 1).leading_zeros();
        let sub_bucket_count = 1u64 << magnitude;
        let mut shape = Shape {
            digits,
            half_magnitude: magnitude - 1,
            sub_bucket_mask: sub_bucket_count - 1,
            leading_zero_count_base: 64 - magnitude,
            len: 0,
            saturated_index: 0,
        };
        // Buckets to cover the highest trackable value (each doubles).
        let mut smallest_untrackable = sub_bucket_count;
        let mut buckets = 1;
        while smallest_untrackable <= HIGHEST_TRACKABLE_NS {
            smallest_untrackable <<= 1;
            buckets += 1;
        }
        shape.len = (buckets + 1) << shape.half_magnitude;
        shape.saturated_index = shape.index_unchecked(HIGHEST_TRACKABLE_NS);
        shape
    }

    fn of(digits: u8) -> &'static Shape {
        static SHAPES: [Shape; 3] = [Shape::new(1), Shape::new(2), Shape::new(3)];
        &SHAPES[usize::from(digits.clamp(1, 3)) - 1]
    }

    /// The power-of-two bucket of `v`.
    #[inline]
    const fn bucket(&self, v: u64) -> u32 {
        self.leading_zero_count_base - (v | self.sub_bucket_mask).leading_zeros()
    }

    #[inline]
    const fn index_unchecked(&self, v: u64) -> usize {
        let bucket = self.bucket(v);
        let sub_bucket = (v >> bucket) as usize;
        ((bucket as usize + 1) << self.half_magnitude) + sub_bucket - (1 << self.half_magnitude)
    }

    /// The counter of `v`; past the last one, the counter of one hour.
    #[inline]
    fn index(&self, v: u64) -> usize {
        let i = self.index_unchecked(v);
        if i < self.len {
            i
        } else {
            self.saturated_index
        }
    }

    /// The lowest value counted at counter `i`.
    fn value_at(&self, i: usize) -> u64 {
        let half = 1usize << self.half_magnitude;
        let bucket = (i >> self.half_magnitude) as i64 - 1;
        let sub_bucket = (i & (half - 1)) + half;
        let (bucket, sub_bucket) = if bucket < 0 {
            (0, sub_bucket - half)
        } else {
            (bucket as u32, sub_bucket)
        };
        (sub_bucket as u64) << bucket
    }

    fn lowest_equivalent(&self, v: u64) -> u64 {
        let bucket = self.bucket(v);
        (v >> bucket) << bucket
    }

    fn equivalent_range(&self, v: u64) -> u64 {
        1 << self.bucket(v)
    }

    fn highest_equivalent(&self, v: u64) -> u64 {
        if v == u64::MAX {
            u64::MAX
        } else {
            self.lowest_equivalent(v)
                .saturating_add(self.equivalent_range(v))
                - 1
        }
    }

    fn median_equivalent(&self, v: u64) -> u64 {
        self.lowest_equivalent(v)
            .saturating_add(self.equivalent_range(v) >> 1)
    }
}

/// Zeroed counter arrays kept per thread and per precision, at most this
/// many of each (32 of 270 KiB: under 9 MiB a thread).
const POOLED_PER_SHAPE: usize = 32;

thread_local! {
    /// Counter arrays of dropped histograms, zeroed, for the next ones:
    /// a sweep builds a world per replication, and zeroing a fresh 270 KiB
    /// for each of its histograms was most of building one.
    static POOL: RefCell<[Vec<Vec<u64>>; 3]> =
        const { RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

/// A zeroed counter array of `shape`.
fn take_counts(shape: &Shape) -> Vec<u64> {
    POOL.try_with(|p| p.borrow_mut()[usize::from(shape.digits) - 1].pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| vec![0; shape.len])
}

/// A latency distribution in bounded memory (about 270 KiB, whatever the
/// number of observations).
///
/// Why the counters are our own and not an `hdrhistogram::Histogram` (as
/// they were until issue 15): the bucket layout and the percentile walk are
/// that crate's, to the count, but recording is a few inlined instructions
/// instead of a call, and a dropped histogram hands its array back zeroed
/// over the range it used (see `POOL`) instead of every histogram of every
/// replication zeroing a fresh one.
#[derive(Debug)]
pub struct LatencyHistogram {
    shape: &'static Shape,
    counts: Vec<u64>,
    total: u64,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for LatencyHistogram {
    fn clone(&self) -> Self {
        let mut counts = take_counts(self.shape);
        let used = self.used();
        counts[used.clone()].copy_from_slice(&self.counts[used]);
        LatencyHistogram {
            shape: self.shape,
            counts,
            total: self.total,
            sum_ns: self.sum_ns,
            min_ns: self.min_ns,
            max_ns: self.max_ns,
        }
    }
}

impl Drop for LatencyHistogram {
    fn drop(&mut self) {
        self.zero_used();
        let counts = std::mem::take(&mut self.counts);
        let digits = usize::from(self.shape.digits);
        let _ = POOL.try_with(|p| {
            let pool = &mut p.borrow_mut()[digits - 1];
            if pool.len() < POOLED_PER_SHAPE {
                pool.push(counts);
            }
        });
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
        let shape = Shape::of(digits);
        LatencyHistogram {
            shape,
            counts: take_counts(shape),
            total: 0,
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }

    /// The counters recording or merging may have touched: those of the
    /// least to the greatest value seen (counters grow with values, and a
    /// value past the last counter is counted at one hour's). Every counter
    /// outside is zero.
    fn used(&self) -> std::ops::Range<usize> {
        if self.is_empty() {
            return 0..0;
        }
        // min <= max once anything is recorded; a min past the last counter
        // is counted at one hour's, which is below the last.
        let from = self.shape.index(self.min_ns);
        let to = self
            .shape
            .index_unchecked(self.max_ns)
            .min(self.shape.len - 1);
        from..to + 1
    }

    /// Zeroes the counters in use (see `used`).
    fn zero_used(&mut self) {
        let used = self.used();
        self.counts[used].fill(0);
    }

    /// Records one duration.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        let ns = d.as_nanos();
        let i = self.shape.index(ns);
        self.counts[i] = self.counts[i].saturating_add(1);
        self.total = self.total.saturating_add(1);
        self.sum_ns += u128::from(ns);
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Durations recorded.
    pub fn count(&self) -> u64 {
        self.total
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
        self.quantiles([q]).map(|[d]| d)
    }

    /// A value the histogram reported, as a quantile: the bucket's midpoint
    /// (half the worst-case error of its top edge), clamped so that p100 is
    /// the exact max and p0 the exact min.
    fn snap(&self, v: u64) -> u64 {
        self.shape
            .median_equivalent(v)
            .min(self.max_ns)
            .max(self.min_ns)
    }

    /// Adds another histogram's observations to this one.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        if other.is_empty() {
            return;
        }
        if other.shape == self.shape {
            let used = other.used();
            for (c, o) in self.counts[used.clone()]
                .iter_mut()
                .zip(&other.counts[used])
            {
                *c = c.saturating_add(*o);
            }
        } else {
            // Another precision: each of its counters at its lowest value,
            // as hdrhistogram adds histograms of different layouts.
            for (i, &n) in other.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                let j = self.shape.index(other.shape.value_at(i));
                self.counts[j] = self.counts[j].saturating_add(n);
            }
        }
        self.total = self.total.saturating_add(other.total);
        self.sum_ns += other.sum_ns;
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// Clears all observations (used at the end of a warm-up period).
    pub fn reset(&mut self) {
        self.zero_used();
        self.total = 0;
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
        // hdrhistogram's `value_at_quantiles`: the first counter where the
        // running count reaches ceil(q x total) (at least 1), at its highest
        // equivalent value (its lowest for q = 0).
        let mut out = [SimDuration::ZERO; N];
        // Counters before the first in use are zero: the walk starts there.
        let used = self.used();
        let mut counters = self.counts[used.clone()].iter().enumerate();
        let (mut running, mut at) = (0u64, 0usize);
        for (slot, &q) in out.iter_mut().zip(&qs) {
            let q = q.clamp(0.0, 1.0);
            let target = ((q * self.total as f64).ceil() as u64).max(1);
            while running < target {
                let Some((i, &n)) = counters.next() else {
                    break;
                };
                at = i;
                running += n;
            }
            let v = self.shape.value_at(used.start + at);
            let v = if q == 0.0 {
                self.shape.lowest_equivalent(v)
            } else {
                self.shape.highest_equivalent(v)
            };
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

    /// The counters and percentiles are hdrhistogram's (the crate the
    /// layout comes from), for every precision, over values of every
    /// magnitude: zero, bucket edges, past the one-hour limit.
    #[test]
    fn buckets_and_percentiles_are_hdrhistograms() {
        let mut next = crate::test_draws(0x9E37_79B9_7F4A_7C15u64);
        for digits in 1..=3u8 {
            for round in 0..20 {
                let mut ours = LatencyHistogram::with_digits(digits);
                let mut theirs = hdrhistogram::Histogram::<u64>::new_with_bounds(
                    1,
                    HIGHEST_TRACKABLE_NS,
                    digits,
                )
                .unwrap();
                assert_eq!(ours.counts.len(), theirs.distinct_values());
                let n = 1 + next() % 3000;
                for _ in 0..n {
                    let v = match next() % 8 {
                        0 => 0,
                        1 => 1u64 << (next() % 64),
                        2 => (1u64 << (next() % 63)) - 1,
                        3 => HIGHEST_TRACKABLE_NS + next() % HIGHEST_TRACKABLE_NS,
                        4 => next(),
                        // Spread over 1 ns to about 1 hour, most mass low.
                        _ => next() >> (22 + next() % 42),
                    };
                    ours.record(SimDuration::from_nanos(v));
                    theirs.saturating_record(v);
                }
                let mut bins = 0;
                for (i, bin) in theirs.iter_all().enumerate() {
                    let at = ours.shape.value_at(i);
                    assert_eq!(
                        ours.counts[i],
                        bin.count_at_value(),
                        "digits {digits} counter {i}"
                    );
                    assert_eq!(ours.shape.highest_equivalent(at), bin.value_iterated_to());
                    bins += 1;
                }
                assert_eq!(bins, ours.counts.len());
                // A clone and a merge into an empty one copy every counter
                // (they touch only the range in use).
                assert_eq!(ours.clone().counts, ours.counts);
                let mut merged = LatencyHistogram::with_digits(digits);
                merged.merge(&ours);
                assert_eq!(merged.counts, ours.counts);
                let qs = [
                    0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0,
                ];
                let got = ours.quantiles(qs).unwrap();
                for (q, g) in qs.iter().zip(got) {
                    let v = theirs.value_at_quantile(*q);
                    let want = theirs
                        .median_equivalent(v)
                        .min(ours.max_ns)
                        .max(ours.min_ns);
                    assert_eq!(g.as_nanos(), want, "digits {digits} round {round} q {q}");
                }
            }
        }
    }

    /// A dropped histogram's counters come back zeroed to the next one, and
    /// a reset one counts from zero, whatever it had recorded.
    #[test]
    fn pooled_and_reset_counters_start_at_zero() {
        for values in [
            vec![0u64, 5, 7_000_000],
            vec![u64::MAX],
            vec![3_600_000_000_001, 1],
        ] {
            let mut h = LatencyHistogram::new();
            for &v in &values {
                h.record(SimDuration::from_nanos(v));
            }
            let mut merged = LatencyHistogram::with_digits(2);
            merged.merge(&h);
            drop(h);
            drop(merged);
            let fresh = [LatencyHistogram::new(), LatencyHistogram::with_digits(2)];
            for f in &fresh {
                assert!(f.counts.iter().all(|&c| c == 0), "{values:?}");
            }
            let mut r = LatencyHistogram::new();
            for &v in &values {
                r.record(SimDuration::from_nanos(v));
            }
            r.reset();
            assert!(r.counts.iter().all(|&c| c == 0), "{values:?}");
            assert!(r.is_empty());
        }
    }
}
