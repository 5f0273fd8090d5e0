//! The pending-event set: a 4-ary min-heap ordered by (time, insertion
//! sequence) with O(1) cancellation through generation tombstones.
//!
//! Why this shape (measured numbers are in ARCHITECTURE.md): a cancelled event
//! is not removed from the heap. Each scheduled event owns a slot whose
//! generation is bumped when the event fires or is cancelled; a heap entry is
//! live only while its generation matches its slot's. Cancelling is therefore
//! two array writes, and a stale entry costs one comparison when it surfaces.
//! When stale entries outnumber live ones the heap is rebuilt in O(n), so
//! memory stays proportional to the live events even when millions of
//! timeouts are cancelled long before they would fire.
//!
//! Events scheduled for the current instant (the time of the last pop: a
//! reply with no network delay, a job starting as another ends) skip the
//! heap: they go to a FIFO lane, O(1) in and out. The order stays exactly
//! (time, sequence): every heap entry at the current instant was pushed
//! before the clock reached it, so it precedes every lane entry, and the
//! lane pops in push order; an entry at a later time pops only once the
//! lane is empty.
//!
//! Events scheduled a fixed delay ahead, where the caller reuses that delay
//! (a configured timeout: set on every attempt, nearly always cancelled),
//! can go to a FIFO lane of their own per delay ([`EventQueue::push_after`]):
//! the clock only moves forward, so `now + delay` arrives in time order, and
//! the lane is sorted by (time, seq) without a heap. The next event is the
//! least (time, seq) among the heap's top and the lanes' fronts, so the
//! order is exactly the same as with one heap.

use std::collections::VecDeque;

use crate::heap::{Entry, Heap};

use crate::time::SimTime;

/// Names one scheduled event so that it can be cancelled.
///
/// Ids are never reused in a way that matters: cancelling an id whose event
/// already fired or was cancelled returns `false` and does nothing, even if
/// its slot now holds a newer event.
///
/// The slot is kept plus one, as a `NonZeroU32`, so that an
/// `Option<EventId>` is 8 bytes (models keep one per timer, per call).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct EventId {
    slot_plus_one: std::num::NonZeroU32,
    generation: u32,
}

impl EventId {
    #[inline]
    fn slot(self) -> usize {
        self.slot_plus_one.get() as usize - 1
    }
}

/// Which store holds the next entry.
#[derive(Copy, Clone)]
enum Source {
    Heap,
    Lane,
    Delay(usize),
}

/// At most this many fixed-delay lanes; events of further delays go to the
/// heap.
pub const MAX_DELAY_LANES: usize = 16;

/// Entries pushed `delay_ns` ahead, in push (= time, seq) order.
#[derive(Clone)]
struct DelayLane<E> {
    delay_ns: u64,
    entries: VecDeque<Entry<E>>,
}

/// What [`EventQueue::pop_until`] found.
#[derive(Debug, PartialEq)]
pub enum Next<E> {
    /// The earliest live event, now removed.
    Event(SimTime, E),
    /// The earliest live event is due after the limit, at this time (it is
    /// still pending).
    Later(SimTime),
    /// No live event is pending.
    Empty,
}

/// Stale entries below this count are never worth a rebuild.
const MIN_STALE_FOR_COMPACTION: usize = 4096;

/// A deterministic priority queue of events with cancellation. A clone
/// continues exactly as the original would (same order, same ids).
#[derive(Clone)]
pub struct EventQueue<E> {
    heap: Heap<E>,
    /// Entries at `current`, in push (= sequence) order.
    lane: VecDeque<Entry<E>>,
    delay_lanes: Vec<DelayLane<E>>,
    /// The time of the last pop.
    current: SimTime,
    next_seq: u64,
    generations: Vec<u32>,
    free_slots: Vec<u32>,
    stale: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: Heap::new(),
            lane: VecDeque::new(),
            delay_lanes: Vec::new(),
            current: SimTime::ZERO,
            next_seq: 0,
            generations: Vec::new(),
            free_slots: Vec::new(),
            stale: 0,
        }
    }

    /// Adds an event; events at equal times pop in the order they were pushed.
    /// Always inlined: called out of line, the event was passed through
    /// memory, written by the caller field by field and read back 16 bytes
    /// at a time, a store-forwarding stall on every push (perf: a sixth of
    /// `push`'s samples on M/M/1).
    #[inline(always)]
    pub fn push(&mut self, time: SimTime, event: E) -> EventId {
        let (entry, id) = self.entry(time, event);
        if time == self.current {
            self.lane.push_back(entry);
        } else {
            self.heap.push(entry);
        }
        id
    }

    /// Adds an event `delay` after `now` (the current instant), for a delay
    /// the caller uses again and again (a configured timeout): such events
    /// share a FIFO lane instead of the heap. Pops in the same order as
    /// [`EventQueue::push`] at `now + delay` would.
    #[inline]
    pub fn push_after(&mut self, now: SimTime, delay: crate::SimDuration, event: E) -> EventId {
        let time = now + delay;
        let delay_ns = delay.as_nanos();
        let lane = match self.delay_lanes.iter().position(|l| l.delay_ns == delay_ns) {
            Some(i) => Some(i),
            None if delay_ns > 0 && self.delay_lanes.len() < MAX_DELAY_LANES => {
                self.delay_lanes.push(DelayLane {
                    delay_ns,
                    entries: VecDeque::new(),
                });
                Some(self.delay_lanes.len() - 1)
            }
            None => None,
        };
        match lane {
            // In time order (the clock never goes back): the lane's back is
            // never later.
            Some(i)
                if self.delay_lanes[i]
                    .entries
                    .back()
                    .is_none_or(|b| b.time <= time) =>
            {
                let (entry, id) = self.entry(time, event);
                self.delay_lanes[i].entries.push_back(entry);
                id
            }
            _ => self.push(time, event),
        }
    }

    /// A new entry with its slot and sequence number.
    #[inline(always)]
    fn entry(&mut self, time: SimTime, event: E) -> (Entry<E>, EventId) {
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(self.generations.len())
                    .ok()
                    .filter(|&s| s < u32::MAX)
                    .expect("more than 4 billion simultaneously pending events");
                self.generations.push(0);
                slot
            }
        };
        let generation = self.generations[slot as usize];
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            time,
            seq,
            slot,
            generation,
            event,
        };
        let slot_plus_one = std::num::NonZeroU32::new(slot + 1).expect("slot below u32::MAX");
        (
            entry,
            EventId {
                slot_plus_one,
                generation,
            },
        )
    }

    /// Where the next entry in (time, seq) order is, live or stale: the
    /// least of the heap's top and the lanes' fronts.
    #[inline(always)]
    fn next_source(&self) -> Option<Source> {
        let mut best: Option<(u128, Source)> = self.heap.peek().map(|e| (e.key(), Source::Heap));
        let mut consider = |e: Option<&Entry<E>>, source: Source| {
            if let Some(e) = e
                && best.is_none_or(|(k, _)| e.key() < k)
            {
                best = Some((e.key(), source));
            }
        };
        consider(self.lane.front(), Source::Lane);
        for (i, l) in self.delay_lanes.iter().enumerate() {
            consider(l.entries.front(), Source::Delay(i));
        }
        best.map(|b| b.1)
    }

    #[inline(always)]
    fn peek_entry(&self, source: Source) -> &Entry<E> {
        match source {
            Source::Heap => self.heap.peek(),
            Source::Lane => self.lane.front(),
            Source::Delay(i) => self.delay_lanes[i].entries.front(),
        }
        .expect("next_source found it")
    }

    #[inline(always)]
    fn take_entry(&mut self, source: Source) -> Entry<E> {
        match source {
            Source::Heap => self.heap.pop(),
            Source::Lane => self.lane.pop_front(),
            Source::Delay(i) => self.delay_lanes[i].entries.pop_front(),
        }
        .expect("next_source found it")
    }

    /// Removes and returns the earliest live event if it is due at or
    /// before `until`: one look at the queue where a peek then a pop would
    /// take two.
    #[inline(always)]
    pub fn pop_until(&mut self, until: SimTime) -> Next<E> {
        if self.lane.is_empty() && self.delay_lanes.is_empty() {
            return self.pop_heap_until(until);
        }
        while let Some(source) = self.next_source() {
            let e = self.peek_entry(source);
            if self.generations[e.slot as usize] != e.generation {
                self.take_entry(source);
                self.stale -= 1;
                continue;
            }
            if e.time > until {
                return Next::Later(e.time);
            }
            let entry = self.take_entry(source);
            self.fired(entry.slot, entry.time);
            return Next::Event(entry.time, entry.event);
        }
        Next::Empty
    }

    /// [`EventQueue::pop_until`] with both lanes empty (M/M/1, and any
    /// model between zero-delay events without fixed-delay timers): the
    /// heap's top is next, found without comparing it with the lanes'
    /// fronts (3% of M/M/1's instructions, 2% of its time; folded into
    /// `next_source` instead, the branches on the source stayed and saved
    /// nothing).
    #[inline(always)]
    fn pop_heap_until(&mut self, until: SimTime) -> Next<E> {
        while let Some(e) = self.heap.peek() {
            if self.generations[e.slot as usize] != e.generation {
                self.heap.pop();
                self.stale -= 1;
                continue;
            }
            if e.time > until {
                return Next::Later(e.time);
            }
            let entry = self.heap.pop().expect("peeked");
            self.fired(entry.slot, entry.time);
            return Next::Event(entry.time, entry.event);
        }
        Next::Empty
    }

    /// A live entry at `time` in `slot` leaves the queue: the slot is
    /// freed (its id no longer cancels anything) and the clock's instant
    /// is its time.
    #[inline(always)]
    fn fired(&mut self, slot: u32, time: SimTime) {
        let gen_slot = &mut self.generations[slot as usize];
        *gen_slot = gen_slot.wrapping_add(1);
        self.free_slots.push(slot);
        self.current = time;
    }

    /// Removes and returns the earliest live event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        match self.pop_until(SimTime::MAX) {
            Next::Event(time, event) => Some((time, event)),
            Next::Later(_) | Next::Empty => None,
        }
    }

    /// The time of the earliest live event, discarding stale entries first.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        while let Some(source) = self.next_source() {
            let e = self.peek_entry(source);
            if self.generations[e.slot as usize] == e.generation {
                return Some(e.time);
            }
            self.take_entry(source);
            self.stale -= 1;
        }
        None
    }

    /// Cancels a pending event. Returns whether it was still pending; a
    /// cancelled event never pops.
    #[inline]
    pub fn cancel(&mut self, id: EventId) -> bool {
        match self.generations.get_mut(id.slot()) {
            Some(generation) if *generation == id.generation => {
                *generation = generation.wrapping_add(1);
                self.free_slots.push(id.slot() as u32);
                self.stale += 1;
                // Fixed-delay timers (timeouts) are mostly cancelled
                // oldest first: stale entries at a lane's front leave now,
                // not when they would have surfaced in a pop.
                let generations = &self.generations;
                for l in &mut self.delay_lanes {
                    while let Some(e) = l.entries.front()
                        && generations[e.slot as usize] != e.generation
                    {
                        l.entries.pop_front();
                        self.stale -= 1;
                    }
                }
                if self.stale >= MIN_STALE_FOR_COMPACTION && self.stale > self.len() {
                    self.compact();
                }
                true
            }
            _ => false,
        }
    }

    /// Whether every entry held (cancelled ones included) is due after
    /// `t`: something done at `t` before the next pop precedes all of them
    /// in the (time, sequence) order.
    #[inline]
    pub fn all_due_after(&self, t: SimTime) -> bool {
        self.lane.is_empty()
            && self.heap.peek().is_none_or(|e| e.time > t)
            && self
                .delay_lanes
                .iter()
                .all(|l| l.entries.front().is_none_or(|e| e.time > t))
    }

    /// Whether the event is still pending (scheduled, not fired or cancelled).
    pub fn is_pending(&self, id: EventId) -> bool {
        self.generations.get(id.slot()) == Some(&id.generation)
    }

    /// Number of live (not cancelled) pending events.
    pub fn len(&self) -> usize {
        self.held() - self.stale
    }

    /// Entries held, stale ones included.
    fn held(&self) -> usize {
        self.heap.len()
            + self.lane.len()
            + self
                .delay_lanes
                .iter()
                .map(|l| l.entries.len())
                .sum::<usize>()
    }

    /// Whether no live event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries held in memory, stale ones included (for memory accounting).
    pub fn capacity_used(&self) -> usize {
        self.held()
    }

    /// Drops every stale entry in O(n). Order is unaffected because the
    /// (time, seq) key is unique.
    fn compact(&mut self) {
        let generations = &self.generations;
        self.heap
            .retain(|e| generations[e.slot as usize] == e.generation);
        self.lane
            .retain(|e| generations[e.slot as usize] == e.generation);
        for l in &mut self.delay_lanes {
            l.entries
                .retain(|e| generations[e.slot as usize] == e.generation);
        }
        self.stale = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ns: u64) -> SimTime {
        SimTime::from_nanos(ns)
    }

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.push(t(5), "c");
        q.push(t(1), "a");
        q.push(t(5), "d");
        q.push(t(1), "b");
        q.push(t(3), "x");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["a", "b", "x", "c", "d"]);
    }

    #[test]
    fn ties_keep_insertion_order_at_scale() {
        let mut q = EventQueue::new();
        for i in 0..10_000u32 {
            q.push(t(u64::from(i % 7)), i);
        }
        let mut last = (t(0), 0u32);
        let mut first = true;
        while let Some((time, i)) = q.pop() {
            if !first {
                assert!(time > last.0 || (time == last.0 && i > last.1));
            }
            first = false;
            last = (time, i);
        }
    }

    #[test]
    fn cancel_reports_whether_pending_and_event_never_fires() {
        let mut q = EventQueue::new();
        let a = q.push(t(1), 'a');
        let b = q.push(t(2), 'b');
        assert!(q.is_pending(a));
        assert!(q.cancel(a));
        assert!(!q.is_pending(a));
        assert!(!q.cancel(a), "second cancel must report not pending");
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(), Some((t(2), 'b')));
        assert!(!q.cancel(b), "fired event is not pending");
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn stale_id_cannot_cancel_a_reused_slot() {
        let mut q = EventQueue::new();
        let a = q.push(t(1), 1);
        assert_eq!(q.pop(), Some((t(1), 1)));
        let b = q.push(t(2), 2); // reuses a's slot
        assert!(!q.cancel(a));
        assert!(q.is_pending(b));
        assert_eq!(q.pop(), Some((t(2), 2)));
    }

    #[test]
    fn compaction_bounds_memory_and_keeps_order() {
        let mut q = EventQueue::new();
        let mut ids = Vec::new();
        for i in 0..100_000u64 {
            ids.push(q.push(t(1_000_000 - i), i));
        }
        // Cancel all but every 10th.
        for (i, id) in ids.iter().enumerate() {
            if i % 10 != 0 {
                assert!(q.cancel(*id));
            }
        }
        assert_eq!(q.len(), 10_000);
        assert!(
            q.capacity_used() < 30_000,
            "stale entries were not compacted: {}",
            q.capacity_used()
        );
        let popped: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(popped.len(), 10_000);
        assert!(popped.iter().all(|i| i % 10 == 0));
        assert!(popped.windows(2).all(|w| w[0] > w[1]), "time order broken");
    }

    /// The lane for the current instant keeps the exact (time, seq) order
    /// against a plain sort, with cancellations, over random schedules.
    #[test]
    fn the_current_instant_lane_keeps_time_then_insertion_order() {
        let mut next = crate::test_draws(0x9E37_79B9_7F4A_7C15u64);
        for _ in 0..50 {
            let mut q = EventQueue::new();
            // Reference: every (time, seq) ever pushed and not cancelled.
            let mut pending: Vec<(u64, u64, EventId)> = Vec::new();
            let mut seq = 0u64;
            let mut now = 0u64;
            let mut popped = Vec::new();
            let mut expected = Vec::new();
            for _ in 0..2000 {
                match next() % 10 {
                    // Often at the current instant, else a little later.
                    0..=3 => {
                        let at = now;
                        pending.push((at, seq, q.push(t(at), seq)));
                        seq += 1;
                    }
                    4..=5 => {
                        let at = now + next() % 5;
                        pending.push((at, seq, q.push(t(at), seq)));
                        seq += 1;
                    }
                    // A few fixed delays, as timeouts (and one that is 0).
                    6 => {
                        let delay = [0, 3, 7][(next() % 3) as usize];
                        let id = q.push_after(t(now), crate::SimDuration::from_nanos(delay), seq);
                        pending.push((now + delay, seq, id));
                        seq += 1;
                    }
                    7 if !pending.is_empty() => {
                        let k = (next() % pending.len() as u64) as usize;
                        let (_, _, id) = pending.swap_remove(k);
                        assert!(q.is_pending(id));
                        assert!(q.cancel(id));
                        assert!(!q.is_pending(id) && !q.cancel(id));
                    }
                    _ => {
                        pending.sort_by_key(|&(at, s, _)| (at, s));
                        if !pending.is_empty() {
                            let (at, s, id) = pending.remove(0);
                            expected.push((at, s));
                            let (time, e) = q.pop().expect("an event is pending");
                            // Fired: its id no longer names anything.
                            assert!(!q.is_pending(id) && !q.cancel(id));
                            assert_eq!(q.peek_time().is_some(), !pending.is_empty());
                            popped.push((time.as_nanos(), e));
                            now = time.as_nanos();
                        }
                    }
                }
                assert_eq!(q.len(), pending.len());
            }
            pending.sort_by_key(|&(at, s, _)| (at, s));
            expected.extend(pending.iter().map(|&(at, s, _)| (at, s)));
            popped.extend(std::iter::from_fn(|| q.pop()).map(|(time, e)| (time.as_nanos(), e)));
            assert_eq!(popped, expected);
        }
    }

    #[test]
    fn peek_skips_cancelled() {
        let mut q = EventQueue::new();
        let a = q.push(t(1), ());
        q.push(t(9), ());
        q.cancel(a);
        assert_eq!(q.peek_time(), Some(t(9)));
    }
}
