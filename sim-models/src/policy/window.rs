//! A sliding window over simulated time, split into equal slots, with exact
//! integer running totals. Libraries bucket their windows the same way
//! (Hystrix 10 x 1 s, Finagle 10 slices, resilience4j per-second buckets), so
//! trip times move by up to one slot, as theirs do.

use sim_core::{SimDuration, SimTime};

#[derive(Clone, Debug)]
/// A sliding window of `N` integer totals, in buckets.
pub struct SlidingWindow<const N: usize> {
    slot_ns: u64,
    slots: Vec<[i64; N]>,
    totals: [i64; N],
    /// Absolute index (time / slot length) of the newest slot.
    head: u64,
}

impl<const N: usize> SlidingWindow<N> {
    /// Its number of slots.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// A window of `length` split into `slots` slots.
    pub fn new(length: SimDuration, slots: usize) -> Self {
        let slots = slots.max(1);
        SlidingWindow {
            slot_ns: (length.as_nanos() / slots as u64).max(1),
            slots: vec![[0; N]; slots],
            totals: [0; N],
            head: 0,
        }
    }

    /// Expires the slots that have left the window by `now`.
    fn advance(&mut self, now: SimTime) {
        let idx = now.as_nanos() / self.slot_ns;
        if idx <= self.head {
            return;
        }
        let len = self.slots.len() as u64;
        let expired = (idx - self.head).min(len);
        for k in 1..=expired {
            let slot = ((self.head + k) % len) as usize;
            for (total, v) in self.totals.iter_mut().zip(self.slots[slot]) {
                *total -= v;
            }
            self.slots[slot] = [0; N];
        }
        self.head = idx;
    }

    /// Adds `amounts` to the slot of `now`.
    pub fn add(&mut self, now: SimTime, amounts: [i64; N]) {
        self.advance(now);
        let slot = (self.head % self.slots.len() as u64) as usize;
        for ((v, total), a) in self.slots[slot]
            .iter_mut()
            .zip(self.totals.iter_mut())
            .zip(amounts)
        {
            *v += a;
            *total += a;
        }
    }

    /// Totals over the window ending at `now`.
    pub fn totals(&mut self, now: SimTime) -> [i64; N] {
        self.advance(now);
        self.totals
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        for s in &mut self.slots {
            *s = [0; N];
        }
        self.totals = [0; N];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> SimTime {
        SimTime::from_nanos(secs * 1_000_000_000)
    }

    #[test]
    fn old_slots_expire() {
        let mut w: SlidingWindow<2> = SlidingWindow::new(SimDuration::from_secs(10), 10);
        w.add(s(0), [1, 0]);
        w.add(s(5), [1, 1]);
        assert_eq!(w.totals(s(9)), [2, 1]);
        assert_eq!(w.totals(s(10)), [1, 1], "slot 0 left the window");
        assert_eq!(w.totals(s(15)), [0, 0]);
        w.add(s(100), [3, 3]);
        assert_eq!(w.totals(s(100)), [3, 3]);
    }
}
