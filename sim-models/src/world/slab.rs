//! A slab of rows named by generational references: a reference to a row
//! that was removed (and perhaps reused) no longer resolves. Calls and jobs
//! live here, so stale events about them are recognised, not misapplied.

/// A reference to a slab row.
///
/// The row's index is kept plus one, as a `NonZeroU32`, so that an
/// `Option<Ref>` (a call's attempts, a job's caller) is 8 bytes, not 12:
/// every call in flight holds several.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref {
    idx_plus_one: std::num::NonZeroU32,
    generation: u32,
}

impl Ref {
    #[inline]
    fn new(idx: u32, generation: u32) -> Ref {
        Ref {
            idx_plus_one: std::num::NonZeroU32::new(idx.wrapping_add(1))
                .expect("fewer than 4 billion rows"),
            generation,
        }
    }

    /// The row's index.
    #[inline]
    fn idx(self) -> usize {
        self.idx_plus_one.get() as usize - 1
    }
}

impl std::fmt::Display for Ref {
    /// `index.generation`, as written in traces.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.idx(), self.generation)
    }
}

#[derive(Clone, Debug)]
struct Row<T> {
    generation: u32,
    value: Option<T>,
}

#[derive(Clone, Debug)]
/// Rows named by generational references.
pub struct Slab<T> {
    rows: Vec<Row<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            rows: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value` in a free row.
    #[inline(always)]
    pub fn insert(&mut self, value: T) -> Ref {
        self.insert_with(|| value)
    }

    /// Stores what `make` builds in a free row, building it where it goes:
    /// the row is found first, so that the value's fields are written into
    /// it directly. Built first and then moved in, a row was assembled on
    /// the stack in narrow stores and copied 16 bytes at a time, a
    /// store-forwarding stall per row (perf: 70% of `start_call`'s samples
    /// on M/M/1).
    #[inline(always)]
    pub fn insert_with(&mut self, make: impl FnOnce() -> T) -> Ref {
        self.live += 1;
        let idx = match self.free.pop() {
            Some(idx) => idx,
            None => {
                let idx = u32::try_from(self.rows.len())
                    .ok()
                    .filter(|&i| i < u32::MAX)
                    .expect("more than 4 billion live rows");
                self.rows.push(Row {
                    generation: 0,
                    value: None,
                });
                idx
            }
        };
        let row = &mut self.rows[idx as usize];
        debug_assert!(row.value.is_none(), "a free row holds nothing");
        // SAFETY: writing over a valid `Option<T>` without dropping it is
        // sound; it is `None` (the row is free), so nothing is leaked. (An
        // assignment would read it first, for its drop glue.)
        unsafe { std::ptr::write(&mut row.value, Some(make())) };
        Ref::new(idx, row.generation)
    }

    /// The row, if `r` still names it.
    #[inline]
    pub fn get(&self, r: Ref) -> Option<&T> {
        let row = self.rows.get(r.idx())?;
        if row.generation == r.generation {
            row.value.as_ref()
        } else {
            None
        }
    }

    /// The row, if `r` still names it.
    #[inline]
    pub fn get_mut(&mut self, r: Ref) -> Option<&mut T> {
        let row = self.rows.get_mut(r.idx())?;
        if row.generation == r.generation {
            row.value.as_mut()
        } else {
            None
        }
    }

    /// Whether `r` still names a row.
    #[inline]
    pub fn contains(&self, r: Ref) -> bool {
        self.get(r).is_some()
    }

    /// Takes the row out; `r` and copies of it no longer resolve.
    #[inline]
    pub fn remove(&mut self, r: Ref) -> Option<T> {
        let row = self.rows.get_mut(r.idx())?;
        if row.generation != r.generation {
            return None;
        }
        let value = row.value.take()?;
        row.generation = row.generation.wrapping_add(1);
        self.free.push(r.idx() as u32);
        self.live -= 1;
        Some(value)
    }

    /// Rows in use.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no row is in use.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Live rows in index order (deterministic).
    pub fn iter(&self) -> impl Iterator<Item = (Ref, &T)> {
        self.rows.iter().enumerate().filter_map(|(i, row)| {
            row.value
                .as_ref()
                .map(|v| (Ref::new(i as u32, row.generation), v))
        })
    }
}

impl<T> std::ops::Index<Ref> for Slab<T> {
    type Output = T;
    fn index(&self, r: Ref) -> &T {
        self.get(r).expect("stale slab reference")
    }
}

impl<T> std::ops::IndexMut<Ref> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, r: Ref) -> &mut T {
        self.get_mut(r).expect("stale slab reference")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_references_do_not_resolve() {
        let mut s = Slab::default();
        let a = s.insert("a");
        assert_eq!(s.remove(a), Some("a"));
        let b = s.insert("b");
        assert_eq!(s.get(a), None);
        assert_eq!(s.get(b), Some(&"b"));
        assert_eq!(s.remove(a), None);
        assert_eq!(s.len(), 1);
    }
}
