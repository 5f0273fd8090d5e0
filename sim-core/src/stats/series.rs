use crate::time::{SimDuration, SimTime};

/// Buckets of a fixed width over simulated time. When an instant falls past
/// the last allowed bucket, neighbouring buckets merge pairwise and the width
/// doubles, so memory is bounded by `max_buckets` however long a run lasts.
///
/// The bucket last used is cached with its bounds: simulated time moves
/// forward, so nearly every update lands in it and costs two compares
/// instead of a 64-bit division. What is added to it meanwhile is kept
/// beside the bounds (`cur_sum`, `cur_max`), not in the vectors, so an
/// update touches no vector (no bounds check, no second cache line); it
/// goes into `sums` and `maxima` when another bucket is cached and before
/// anything reads them (`flush`). Sums add and maxima compare, so the
/// result is the same integers either way.
#[derive(Clone, Debug)]
struct Buckets {
    width_ns: u64,
    sums: Vec<u128>,
    maxima: Vec<u64>,
    max_buckets: usize,
    /// The cached bucket: its index and its [start, end) in nanoseconds
    /// (empty, start > end, when there is none).
    cur: usize,
    cur_start: u64,
    cur_end: u64,
    /// Added to the cached bucket and not yet to `sums[cur]`.
    cur_sum: u128,
    /// The maximum seen in the cached bucket not yet in `maxima[cur]`.
    cur_max: u64,
}

impl Buckets {
    fn new(width: SimDuration, max_buckets: usize) -> Self {
        Buckets {
            width_ns: width.as_nanos().max(1),
            sums: Vec::new(),
            maxima: Vec::new(),
            max_buckets: max_buckets.max(2),
            cur: 0,
            cur_start: 1,
            cur_end: 0,
            cur_sum: 0,
            cur_max: 0,
        }
    }

    /// Whether a bucket is cached (its bounds are not empty).
    fn has_cached(&self) -> bool {
        self.cur_start <= self.cur_end
    }

    /// Everything added, the cached bucket's pending sum included.
    fn total(&self) -> u128 {
        self.sums.iter().sum::<u128>() + self.cur_sum
    }

    /// Moves what the cached bucket holds beside it into the vectors.
    fn flush(&mut self) {
        if self.has_cached() {
            self.sums[self.cur] += self.cur_sum;
            let m = &mut self.maxima[self.cur];
            *m = (*m).max(self.cur_max);
        }
        self.cur_sum = 0;
        self.cur_max = 0;
    }

    /// Adds `n` to the bucket holding `t`.
    #[inline]
    fn add(&mut self, t: SimTime, n: u128) {
        self.index(t);
        self.cur_sum += n;
    }

    /// Raises the maximum of the bucket holding `t` to `v`.
    #[inline]
    fn raise(&mut self, t: SimTime, v: u64) {
        self.index(t);
        self.cur_max = self.cur_max.max(v);
    }

    /// The bucket holding `t`, coarsening first if needed; it is then the
    /// cached bucket (`cur_end` is its end).
    #[inline]
    fn index(&mut self, t: SimTime) -> usize {
        let t = t.as_nanos();
        if self.cur_start <= t && t < self.cur_end {
            return self.cur;
        }
        self.index_slow(t)
    }

    fn index_slow(&mut self, t: u64) -> usize {
        self.flush();
        loop {
            let i = (t / self.width_ns) as usize;
            if i < self.max_buckets {
                if i >= self.sums.len() {
                    self.sums.resize(i + 1, 0);
                    self.maxima.resize(i + 1, 0);
                }
                self.cur = i;
                self.cur_start = i as u64 * self.width_ns;
                self.cur_end = (i as u64 + 1).saturating_mul(self.width_ns);
                return i;
            }
            self.coarsen();
        }
    }

    fn coarsen(&mut self) {
        self.flush();
        (self.cur_start, self.cur_end) = (1, 0);
        self.sums = self.sums.chunks(2).map(|c| c.iter().sum()).collect();
        self.maxima = self
            .maxima
            .chunks(2)
            .map(|c| c.iter().copied().max().unwrap_or(0))
            .collect();
        self.width_ns = self.width_ns.saturating_mul(2);
    }

    fn width(&self) -> SimDuration {
        SimDuration::from_nanos(self.width_ns)
    }

    /// Coarsens until the width is at least `width`. Series built with the
    /// same initial width then share buckets exactly.
    fn coarsen_to(&mut self, width: SimDuration) {
        while self.width_ns < width.as_nanos() {
            self.coarsen();
        }
    }

    /// Number of buckets needed to cover [0, end].
    fn covering(&self, end: SimTime) -> usize {
        (end.as_nanos().div_ceil(self.width_ns) as usize).max(self.sums.len())
    }
}

/// Default bound on the number of buckets of one series.
pub const DEFAULT_MAX_BUCKETS: usize = 10_000;

/// Counts of events per bucket (arrivals, completions, failures).
#[derive(Clone, Debug)]
pub struct CountSeries {
    buckets: Buckets,
}

impl CountSeries {
    /// Buckets of `width`, merged in pairs past the default bound.
    pub fn new(width: SimDuration) -> Self {
        Self::with_max_buckets(width, DEFAULT_MAX_BUCKETS)
    }

    /// Buckets of `width`, merged in pairs past `max_buckets`.
    pub fn with_max_buckets(width: SimDuration, max_buckets: usize) -> Self {
        CountSeries {
            buckets: Buckets::new(width, max_buckets),
        }
    }

    #[inline]
    /// Counts `n` at `now`.
    pub fn add(&mut self, now: SimTime, n: u64) {
        self.buckets.add(now, u128::from(n));
    }

    /// The current bucket width (it doubles when the series is coarsened).
    pub fn width(&self) -> SimDuration {
        self.buckets.width()
    }

    /// Merges buckets until the width is at least `width` (see
    /// [`GaugeSeries::coarsen_to`]); used to bring the series of one run to a
    /// common width.
    pub fn coarsen_to(&mut self, width: SimDuration) {
        self.buckets.coarsen_to(width);
    }

    /// Counts per bucket covering [0, end].
    pub fn counts(&self, end: SimTime) -> Vec<u64> {
        let mut out: Vec<u64> = self.buckets.sums.iter().map(|&s| s as u64).collect();
        if self.buckets.has_cached() {
            out[self.buckets.cur] += self.buckets.cur_sum as u64;
        }
        out.resize(self.buckets.covering(end), 0);
        out
    }

    /// Counts per second per bucket covering [0, end].
    pub fn rates_per_sec(&self, end: SimTime) -> Vec<f64> {
        let w = self.width().as_secs_f64();
        self.counts(end).into_iter().map(|c| c as f64 / w).collect()
    }

    /// Everything counted.
    pub fn total(&self) -> u64 {
        self.buckets.total() as u64
    }
}

/// The time-weighted mean and the maximum of a gauge per bucket (in flight,
/// queue depth).
#[derive(Clone, Debug)]
pub struct GaugeSeries {
    buckets: Buckets,
    last: SimTime,
    value: u64,
    /// The highest value ever set.
    peak: u64,
}

impl GaugeSeries {
    /// Buckets of `width`, merged in pairs past the default bound.
    pub fn new(width: SimDuration) -> Self {
        Self::with_max_buckets(width, DEFAULT_MAX_BUCKETS)
    }

    /// Buckets of `width`, merged in pairs past `max_buckets`.
    pub fn with_max_buckets(width: SimDuration, max_buckets: usize) -> Self {
        GaugeSeries {
            buckets: Buckets::new(width, max_buckets),
            last: SimTime::ZERO,
            value: 0,
            peak: 0,
        }
    }

    /// Sets the gauge to `value` at `now`.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: u64) {
        self.peak = self.peak.max(value);
        // Nearly always both the last change and `now` fall in the cached
        // bucket: then the update is one multiply-add and two maxima (what
        // `accumulate` and the general path below do in that case).
        let (last, t) = (self.last.as_nanos(), now.as_nanos());
        let b = &mut self.buckets;
        if b.cur_start <= last && last <= t && t < b.cur_end {
            // (The old value is already in this bucket's maximum: it was
            // set at `last`, in this bucket.)
            b.cur_sum += u128::from(self.value) * u128::from(t - last);
            b.cur_max = b.cur_max.max(value);
            self.last = now;
            self.value = value;
            return;
        }
        self.set_across_buckets(now, value);
    }

    /// [`GaugeSeries::set`] when the change crosses into another bucket.
    fn set_across_buckets(&mut self, now: SimTime, value: u64) {
        self.accumulate(now);
        self.value = value;
        self.buckets.raise(now, value);
    }

    /// The current value.
    pub fn value(&self) -> u64 {
        self.value
    }

    /// The highest value set so far (0 before any).
    pub fn peak(&self) -> u64 {
        self.peak
    }

    /// The time-weighted mean over [0, end]: the same number as a
    /// [`TimeWeighted`](super::TimeWeighted) from 0 given the same changes
    /// (the buckets' areas are exact integers and add up to its area); the
    /// current value if `end` is 0.
    pub fn total_mean(&self, end: SimTime) -> f64 {
        if end.as_nanos() == 0 {
            return self.value as f64;
        }
        let tail = u128::from(self.value) * u128::from(end.since(self.last).as_nanos());
        let area = self.buckets.total() + tail;
        area as f64 / end.as_nanos() as f64
    }

    /// Adds the area of the current value from `last` up to `now`.
    fn accumulate(&mut self, now: SimTime) {
        let mut t = self.last.as_nanos();
        let end = now.as_nanos();
        while t < end {
            self.buckets.index(SimTime::from_nanos(t));
            let bucket_end = self.buckets.cur_end;
            let seg = end.min(bucket_end) - t;
            // Into the bucket holding `t`, now the cached one.
            self.buckets.cur_sum += u128::from(self.value) * u128::from(seg);
            self.buckets.cur_max = self.buckets.cur_max.max(self.value);
            t += seg;
        }
        self.last = self.last.max(now);
    }

    /// The current bucket width.
    pub fn width(&self) -> SimDuration {
        self.buckets.width()
    }

    /// Merges buckets until the width is at least `width`.
    pub fn coarsen_to(&mut self, width: SimDuration) {
        self.buckets.coarsen_to(width);
    }

    fn finished(&self, end: SimTime) -> GaugeSeries {
        let mut done = self.clone();
        done.accumulate(end);
        done.buckets.flush();
        done
    }

    /// Time-weighted mean per bucket covering [0, end]. The last bucket is
    /// averaged over the part of it before `end`.
    pub fn means(&self, end: SimTime) -> Vec<f64> {
        let done = self.finished(end);
        let w = done.buckets.width_ns;
        let n = done.buckets.covering(end);
        (0..n)
            .map(|i| {
                // Saturating: a bucket of a run near the end of the clock
                // may reach past u64::MAX nanoseconds.
                let start = (i as u64).saturating_mul(w);
                let span = (end.as_nanos().min(start.saturating_add(w)))
                    .saturating_sub(start)
                    .max(1);
                let area = done.buckets.sums.get(i).copied().unwrap_or(0);
                area as f64 / span.min(w) as f64
            })
            .collect()
    }

    /// Maximum per bucket covering [0, end].
    pub fn maxima(&self, end: SimTime) -> Vec<u64> {
        let done = self.finished(end);
        let mut out = done.buckets.maxima.clone();
        out.resize(done.buckets.covering(end), done.value);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buckets near the end of the clock (a run of "18446744073709551615ns",
    /// coarsened to few buckets) do not overflow: found by the property
    /// tests with overflow checks on.
    #[test]
    fn means_near_the_end_of_the_clock() {
        let mut g = GaugeSeries::with_max_buckets(SimDuration::from_secs(1), 4);
        g.set(SimTime::ZERO, 2);
        let end = SimTime::from_nanos(u64::MAX);
        g.set(SimTime::from_nanos(u64::MAX / 2), 2);
        let means = g.means(end);
        assert!(!means.is_empty() && means.len() <= 8, "{}", means.len());
        assert!(means.iter().all(|m| (*m - 2.0).abs() < 1e-9), "{means:?}");
    }

    fn ms(v: u64) -> SimTime {
        SimTime::from_nanos(v * 1_000_000)
    }

    #[test]
    fn counts_land_in_their_buckets() {
        let mut s = CountSeries::new(SimDuration::from_millis(10));
        s.add(ms(0), 1);
        s.add(ms(9), 2);
        s.add(ms(10), 5);
        s.add(ms(35), 1);
        assert_eq!(s.counts(ms(50)), vec![3, 5, 0, 1, 0]);
        assert_eq!(s.rates_per_sec(ms(20)), vec![300.0, 500.0, 0.0, 100.0]);
        assert_eq!(s.total(), 9);
    }

    #[test]
    fn coarsening_keeps_totals_and_bounds_memory() {
        let mut s = CountSeries::with_max_buckets(SimDuration::from_millis(1), 8);
        for i in 0..100 {
            s.add(ms(i), 1);
        }
        assert_eq!(s.total(), 100);
        assert!(s.counts(ms(99)).len() <= 8);
        assert_eq!(s.width(), SimDuration::from_millis(16));
    }

    #[test]
    fn gauge_means_are_time_weighted_per_bucket() {
        let mut g = GaugeSeries::new(SimDuration::from_millis(10));
        g.set(ms(5), 2); // [0,5)=0, [5,10)=2 -> mean 1
        g.set(ms(15), 4); // [10,15)=2, [15,20)=4 -> mean 3
        let m = g.means(ms(25)); // [20,25)=4 -> mean 4 over the partial bucket
        assert_eq!(m, vec![1.0, 3.0, 4.0]);
        assert_eq!(g.maxima(ms(25)), vec![2, 4, 4]);
    }

    #[test]
    fn gauge_survives_coarsening() {
        let mut g = GaugeSeries::with_max_buckets(SimDuration::from_millis(1), 4);
        g.set(ms(0), 1);
        g.set(ms(7), 3);
        let m = g.means(ms(8));
        // width 2ms after coarsening: buckets [0,2) .. [6,8): 1,1,1, (1+3)/2
        assert_eq!(g.width(), SimDuration::from_millis(2));
        assert_eq!(m, vec![1.0, 1.0, 1.0, 2.0]);
    }

    /// Counts kept beside the cached bucket end up where they belong:
    /// against a plain count per bucket of the initial width, summed in
    /// pairs as often as the series coarsened, at random instants (many in
    /// one bucket, some far apart, some on bucket boundaries).
    #[test]
    fn counts_match_a_recount_through_coarsening() {
        let mut next = crate::test_draws(0x853C_49E6_748F_EA9Bu64);
        for max_buckets in [4, 64] {
            let width = 1_000u64;
            let mut s = CountSeries::with_max_buckets(SimDuration::from_nanos(width), max_buckets);
            let mut plain: Vec<u64> = Vec::new();
            let mut now = 0u64;
            for _ in 0..5_000 {
                now += match next() % 4 {
                    0 => 0,
                    1 => width - now % width,
                    2 => next() % width,
                    _ => next() % (20 * width),
                };
                let n = next() % 3;
                s.add(SimTime::from_nanos(now), n);
                let i = (now / width) as usize;
                if plain.len() <= i {
                    plain.resize(i + 1, 0);
                }
                plain[i] += n;
            }
            let end = SimTime::from_nanos(now + 1);
            let got = s.counts(end);
            assert_eq!(got.iter().sum::<u64>(), plain.iter().sum::<u64>());
            assert_eq!(s.total(), plain.iter().sum::<u64>());
            let factor = (s.width().as_nanos() / width) as usize;
            let want: Vec<u64> = plain.chunks(factor).map(|c| c.iter().sum()).collect();
            assert_eq!(&got[..want.len()], &want[..]);
            assert!(got[want.len()..].iter().all(|&c| c == 0));
        }
    }

    /// Over the whole run a gauge series gives a `TimeWeighted`'s mean and
    /// maximum, to the bit, through coarsening and repeated instants.
    #[test]
    fn a_gauge_series_totals_like_a_time_weighted_gauge() {
        let mut next = crate::test_draws(0xA076_1D64_78BD_642Fu64);
        for max_buckets in [4, 64] {
            let mut series =
                GaugeSeries::with_max_buckets(SimDuration::from_micros(50), max_buckets);
            let mut tw = crate::stats::TimeWeighted::new(SimTime::ZERO, 0);
            let mut now = 0u64;
            assert_eq!(series.total_mean(SimTime::ZERO), tw.mean(SimTime::ZERO));
            for _ in 0..20_000 {
                now += match next() % 4 {
                    0 => 0,
                    1 => next() % 1_000_000,
                    _ => next() % 100,
                };
                let value = next() % 7;
                series.set(SimTime::from_nanos(now), value);
                tw.set(SimTime::from_nanos(now), value);
                if next().is_multiple_of(1000) {
                    let at = SimTime::from_nanos(now + next() % 1000);
                    assert_eq!(series.total_mean(at).to_bits(), tw.mean(at).to_bits());
                }
            }
            let end = SimTime::from_nanos(now + 12_345);
            assert_eq!(series.total_mean(end).to_bits(), tw.mean(end).to_bits());
            assert_eq!(series.peak(), tw.max());
            assert_eq!(series.value(), tw.value());
        }
    }

    /// The in-bucket fast path of `set` gives exactly what the general
    /// path gives: same areas (integers), same maxima, through coarsening,
    /// repeated instants and unchanged values.
    #[test]
    fn the_fast_path_of_a_gauge_equals_the_general_one() {
        let mut next = crate::test_draws(0x2545_F491_4F6C_DD1Du64);
        for max_buckets in [4, 64] {
            let mut fast = GaugeSeries::with_max_buckets(SimDuration::from_micros(50), max_buckets);
            let mut general = fast.clone();
            let mut now = 0u64;
            for _ in 0..20_000 {
                now += match next() % 4 {
                    0 => 0,
                    1 => next() % 10_000,
                    _ => next() % 100,
                };
                let value = next() % 5;
                fast.set(SimTime::from_nanos(now), value);
                general.set_across_buckets(SimTime::from_nanos(now), value);
            }
            let end = SimTime::from_nanos(now + 1);
            assert_eq!(fast.width(), general.width());
            assert_eq!(
                fast.finished(end).buckets.sums,
                general.finished(end).buckets.sums
            );
            assert_eq!(fast.maxima(end), general.maxima(end));
        }
    }
}
