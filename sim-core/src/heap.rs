//! The event queue's 4-ary min-heap on (time, sequence), written by hand.
//!
//! Why not a crate (`dary_heap` was used before): its sift moves the
//! element being placed through a stack temporary, written as five 8-byte
//! stores and read back as 16-byte loads, a store-forwarding stall on every
//! push and pop (perf put 60% of `pop`'s samples on two such loads in
//! `sim run` on M/M/1). Here the element being placed never moves until
//! its place is known: a push compares the new key with parents, moving
//! them down, then writes the new entry once; a pop moves the least child
//! up level by level to the bottom, then parents down until the last
//! entry fits, and copies the last entry into the hole once. Keys are
//! compared from registers, entries only ever copied whole from memory to
//! memory.
//!
//! Four children per node, as before: fewer levels and cache misses than a
//! binary heap with many events pending (ARCHITECTURE.md, "Event queue").

use std::ptr;

use crate::time::SimTime;

/// One pending event: its key (time, then insertion sequence, unique) and
/// its slot and generation (for cancellation).
#[derive(Clone)]
pub(crate) struct Entry<E> {
    pub(crate) time: SimTime,
    pub(crate) seq: u64,
    pub(crate) slot: u32,
    pub(crate) generation: u32,
    pub(crate) event: E,
}

/// (`time`, `seq`) as one number, ordered as the pair: compared as one
/// 128-bit number, a key is one compare-and-borrow (`cmp`, `sbb`), where
/// the pair's compare took a chain of six flag operations, and a pop's
/// sift waits on that chain at every level.
#[inline(always)]
pub(crate) fn key(time: SimTime, seq: u64) -> u128 {
    (u128::from(time.as_nanos()) << 64) | u128::from(seq)
}

impl<E> Entry<E> {
    /// Its (time, seq) as one [`key`].
    #[inline(always)]
    pub(crate) fn key(&self) -> u128 {
        key(self.time, self.seq)
    }

    /// Whether `self` comes before (`time`, `seq`).
    #[inline(always)]
    fn before(&self, time: SimTime, seq: u64) -> bool {
        self.key() < key(time, seq)
    }

    /// Whether `self` comes before `other`.
    #[inline(always)]
    fn precedes(&self, other: &Entry<E>) -> bool {
        self.before(other.time, other.seq)
    }
}

const ARITY: usize = 4;

/// Which of `kids` (siblings, at most `ARITY`) comes first.
#[inline(always)]
fn least<E>(kids: &[Entry<E>]) -> usize {
    let (mut best, mut least) = (0, &kids[0]);
    for (c, e) in kids.iter().enumerate().skip(1) {
        if e.precedes(least) {
            (best, least) = (c, e);
        }
    }
    best
}

/// Moves the hole at `hole` up past every parent that does not come
/// before (`time`, `seq`), each parent copied down into it, and returns
/// where the hole ends: the place of the entry with that key.
///
/// # Safety
/// `base` points to a heap's entries, valid up to `hole` (the hole itself
/// may be past the initialized ones); the caller writes an entry into the
/// returned position before anything reads it.
#[inline(always)]
unsafe fn hole_up<E>(base: *mut Entry<E>, mut hole: usize, time: SimTime, seq: u64) -> usize {
    while hole > 0 {
        let parent = (hole - 1) / ARITY;
        // SAFETY: `parent < hole`, within the initialized entries; copying
        // it into the hole leaves its old position as the hole.
        unsafe {
            if (*base.add(parent)).before(time, seq) {
                break;
            }
            ptr::copy_nonoverlapping(base.add(parent), base.add(hole), 1);
        }
        hole = parent;
    }
    hole
}

/// A min-heap of entries on (time, seq).
#[derive(Clone)]
pub(crate) struct Heap<E> {
    data: Vec<Entry<E>>,
}

impl<E> Heap<E> {
    pub(crate) fn new() -> Self {
        Heap { data: Vec::new() }
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    /// The least entry.
    #[inline]
    pub(crate) fn peek(&self) -> Option<&Entry<E>> {
        self.data.first()
    }

    /// Adds an entry.
    #[inline(always)]
    pub(crate) fn push(&mut self, entry: Entry<E>) {
        let (time, seq) = (entry.time, entry.seq);
        self.data.reserve(1);
        let len = self.data.len();
        // SAFETY: `reserve` made room for index `len`. Every position the
        // hole visits is below `len + 1`; an entry copied into the hole
        // leaves a bitwise duplicate behind, which is then overwritten (by
        // the next copy or by `entry`), so each entry is owned once when
        // `set_len` publishes the new length. Nothing here can panic
        // between the first copy and `set_len`.
        unsafe {
            let base = self.data.as_mut_ptr();
            let hole = hole_up(base, len, time, seq);
            ptr::write(base.add(hole), entry);
            self.data.set_len(len + 1);
        }
    }

    /// Removes and returns the least entry.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<Entry<E>> {
        let len = self.data.len();
        if len == 0 {
            return None;
        }
        let last = len - 1;
        // SAFETY: the root is read out (owned by the caller from here on),
        // leaving a hole; every copy moves an entry into the hole and its
        // old position becomes the hole, so each entry stays owned once.
        // Only positions below `last` take part, so the last entry itself
        // is never moved until it is copied into the final hole, and
        // `set_len(last)` then forgets its old position. No panic can
        // happen in between.
        unsafe {
            let base = self.data.as_mut_ptr();
            let top = ptr::read(base);
            if last > 0 {
                // Floyd's way, as std's heap: down to the bottom along the
                // least children (three compares a level, none against
                // the entry being placed, which usually belongs near the
                // bottom), then up to where the last entry fits.
                let mut hole = 0;
                loop {
                    let first = hole * ARITY + 1;
                    if first >= last {
                        break;
                    }
                    let best = if first + ARITY <= last {
                        // All four children: the least of two pairs, then
                        // of the two winners, picked by flag arithmetic
                        // (a branch here is mispredicted half the time).
                        let at = |i: usize| &*base.add(i);
                        let a = first + usize::from(at(first + 1).precedes(at(first)));
                        let b = first + 2 + usize::from(at(first + 3).precedes(at(first + 2)));
                        if at(b).precedes(at(a)) { b } else { a }
                    } else {
                        // Fewer than four: positions `first..last` hold
                        // entries (the hole is above them).
                        first + least(std::slice::from_raw_parts(base.add(first), last - first))
                    };
                    ptr::copy_nonoverlapping(base.add(best), base.add(hole), 1);
                    hole = best;
                }
                let (time, seq) = ((*base.add(last)).time, (*base.add(last)).seq);
                let hole = hole_up(base, hole, time, seq);
                ptr::copy_nonoverlapping(base.add(last), base.add(hole), 1);
            }
            self.data.set_len(last);
            Some(top)
        }
    }

    /// Keeps only the entries `keep` accepts, then restores the heap order
    /// in O(n).
    pub(crate) fn retain(&mut self, keep: impl FnMut(&Entry<E>) -> bool) {
        self.data.retain(keep);
        let n = self.data.len();
        if n < 2 {
            return;
        }
        for i in (0..=(n - 2) / ARITY).rev() {
            self.sift_down(i);
        }
    }

    /// Moves the entry at `i` down to its place (heap order below it is
    /// assumed). Only used to rebuild, so it swaps: simple rather than fast.
    fn sift_down(&mut self, mut i: usize) {
        let n = self.data.len();
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                return;
            }
            let end = (first + ARITY).min(n);
            let best = first + least(&self.data[first..end]);
            if !self.data[best].precedes(&self.data[i]) {
                return;
            }
            self.data.swap(i, best);
            i = best;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: u64, seq: u64) -> Entry<String> {
        Entry {
            time: SimTime::from_nanos(time),
            seq,
            slot: 0,
            generation: 0,
            // An owned payload, so that a double drop or a leak would show
            // (under Miri or a leak checker) if the moves were wrong.
            event: format!("{time}/{seq}"),
        }
    }

    /// Random pushes, pops and rebuilds against a sorted reference.
    #[test]
    fn pops_in_key_order_against_a_sort() {
        let mut next = crate::test_draws(0xD1B5_4A32_D192_ED03);
        for round in 0..200 {
            let mut heap = Heap::new();
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let mut seq = 0;
            for _ in 0..(round * 7 % 300 + 1) {
                match next() % 8 {
                    0..=4 => {
                        // Few distinct times, so ties on time are common.
                        let t = next() % 20;
                        heap.push(entry(t, seq));
                        reference.push((t, seq));
                        seq += 1;
                    }
                    5 | 6 => {
                        reference.sort_unstable();
                        let want = (!reference.is_empty()).then(|| reference.remove(0));
                        let got = heap.pop().map(|e| {
                            assert_eq!(e.event, format!("{}/{}", e.time.as_nanos(), e.seq));
                            (e.time.as_nanos(), e.seq)
                        });
                        assert_eq!(got, want);
                    }
                    _ => {
                        let m = next() % 3;
                        heap.retain(|e| e.seq % 3 != m);
                        reference.retain(|&(_, s)| s % 3 != m);
                    }
                }
                assert_eq!(heap.len(), reference.len());
                reference.sort_unstable();
                assert_eq!(
                    heap.peek().map(|e| (e.time.as_nanos(), e.seq)),
                    reference.first().copied()
                );
            }
            reference.sort_unstable();
            let rest: Vec<_> = std::iter::from_fn(|| heap.pop())
                .map(|e| (e.time.as_nanos(), e.seq))
                .collect();
            assert_eq!(rest, reference);
        }
    }
}
