use crate::time::SimTime;

/// The time-weighted mean and maximum of an integer gauge (queue length,
/// requests in flight), computed exactly: the area under the curve is kept in
/// integer count x nanoseconds.
#[derive(Clone, Debug)]
pub struct TimeWeighted {
    start: SimTime,
    last: SimTime,
    value: u64,
    area: u128,
    max: u64,
}

impl TimeWeighted {
    /// A gauge at `value` from `start` on.
    pub fn new(start: SimTime, value: u64) -> Self {
        TimeWeighted {
            start,
            last: start,
            value,
            area: 0,
            max: value,
        }
    }

    #[inline]
    /// The level becomes `value` at `now`.
    pub fn set(&mut self, now: SimTime, value: u64) {
        self.area += u128::from(self.value) * u128::from(now.since(self.last).as_nanos());
        self.last = self.last.max(now);
        self.value = value;
        self.max = self.max.max(value);
    }

    /// The current level.
    pub fn value(&self) -> u64 {
        self.value
    }

    /// The highest level so far.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The area under the curve over [start, now], in count x nanoseconds
    /// (a mean over any span is the difference of two areas over its
    /// length).
    pub fn area(&self, now: SimTime) -> u128 {
        self.area + u128::from(self.value) * u128::from(now.since(self.last).as_nanos())
    }

    /// Mean over [start, now]; the current value if no time has passed.
    pub fn mean(&self, now: SimTime) -> f64 {
        let span = now.since(self.start).as_nanos();
        if span == 0 {
            return self.value as f64;
        }
        let area = self.area + u128::from(self.value) * u128::from(now.since(self.last).as_nanos());
        area as f64 / span as f64
    }

    /// Forgets history before `now` (the end of a warm-up period).
    pub fn reset(&mut self, now: SimTime) {
        *self = TimeWeighted::new(now, self.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    #[test]
    fn mean_weights_by_time() {
        let mut g = TimeWeighted::new(t(0), 0);
        g.set(t(1), 4); // 0 for 1 s
        g.set(t(3), 1); // 4 for 2 s
        // then 1 for 1 s up to t=4: area = 0 + 8 + 1 = 9 over 4 s
        assert!((g.mean(t(4)) - 2.25).abs() < 1e-12);
        assert_eq!(g.max(), 4);
        g.reset(t(4));
        assert!((g.mean(t(6)) - 1.0).abs() < 1e-12);
        assert_eq!(g.max(), 1);
    }
}
