//! A map looked up in much the same order on every pass.
//!
//! A target writes its series in the same order scrape after scrape, and the transaction
//! makes its points in the same order too. The scrape cache and the start-time adjuster
//! look up one entry per series (or per point) in tables of 100,000 entries and more, and
//! each hash-table probe of that size misses the CPU cache: perf put the two probes at about
//! 15 % of a 100k-series scrape into remote write. A [`Sequenced`] map keeps its entries in
//! the order of the last pass and first tries the entry after the one found last, which
//! sits next to it in memory; only when that is not the key does it probe the hash table.
//! After a pass that found entries away from where they were expected, the entries are put
//! in that pass's order, so the next pass runs in sequence again.

use std::hash::{BuildHasher, Hash};

use indexmap::{Equivalent, IndexMap};

struct Slot<V> {
    value: V,
    /// The pass that last found or inserted the entry, and where in that pass.
    pass: u32,
    pos: u32,
}

pub(crate) struct Sequenced<K, V, S> {
    map: IndexMap<K, Slot<V>, S>,
    /// Where the next lookup is expected.
    next: usize,
    /// The pass under way (numbered from 1) and the lookups that found or inserted an
    /// entry in it so far.
    pass: u32,
    found: u32,
    /// Entries of this pass found or inserted away from where they were expected.
    jumps: u32,
    /// Passes to leave unsorted: after a sort that did not help (the next pass jumped
    /// about as much), the order is not stable and sorting every pass would only cost.
    skip_sorts: u32,
    backoff: u32,
    sorted_last: bool,
}

impl<K: Hash + Eq, V, S: BuildHasher + Default> Default for Sequenced<K, V, S> {
    fn default() -> Self {
        Sequenced {
            map: IndexMap::default(),
            next: 0,
            pass: 1,
            found: 0,
            jumps: 0,
            skip_sorts: 0,
            backoff: 0,
            sorted_last: false,
        }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> Sequenced<K, V, S> {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The entry of `key`, tried first where the last pass had it.
    pub(crate) fn get_mut<Q: ?Sized + Hash + Equivalent<K>>(&mut self, key: &Q) -> Option<&mut V> {
        let i = match self.map.get_index(self.next) {
            Some((k, _)) if key.equivalent(k) => self.next,
            _ => {
                let i = self.map.get_index_of(key)?;
                self.jumps += 1;
                i
            }
        };
        self.next = i + 1;
        let pos = self.found;
        self.found += 1;
        let slot = &mut self.map[i];
        slot.pass = self.pass;
        slot.pos = pos;
        Some(&mut slot.value)
    }

    /// Adds an entry for a key that [`get_mut`](Self::get_mut) did not find.
    pub(crate) fn insert(&mut self, key: K, value: V) -> &mut V {
        let at_end = self.next == self.map.len();
        let slot = Slot {
            value,
            pass: self.pass,
            pos: self.found,
        };
        self.found += 1;
        let (i, _) = self.map.insert_full(key, slot);
        if at_end {
            self.next = self.map.len();
        } else {
            // Inserted at the end, but met in the middle: the next lookup is still
            // expected where it was.
            self.jumps += 1;
        }
        &mut self.map[i].value
    }

    /// Ends a pass: keeps the entries `keep` says to keep, in their order, and puts them in
    /// this pass's order when lookups jumped (entries this pass did not find go last).
    pub(crate) fn finish_pass(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.map.retain(|k, s| keep(k, &mut s.value));
        let stable = u64::from(self.jumps) * 4 <= u64::from(self.found);
        if self.sorted_last && !stable {
            // The sort did not help: the lookups do not come in a stable order.
            self.backoff = (self.backoff * 2).clamp(1, 64);
            self.skip_sorts = self.backoff;
        } else if stable {
            self.backoff = 0;
        }
        self.sorted_last = false;
        if self.jumps > 0 {
            if self.skip_sorts > 0 {
                self.skip_sorts -= 1;
            } else {
                let pass = self.pass;
                let key = |s: &Slot<V>| if s.pass == pass { s.pos } else { u32::MAX };
                self.map.sort_by(|_, a, _, b| key(a).cmp(&key(b)));
                self.sorted_last = true;
            }
        }
        self.pass = self.pass.wrapping_add(1).max(1);
        self.next = 0;
        self.found = 0;
        self.jumps = 0;
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values().map(|s| &s.value)
    }

    pub(crate) fn into_values(self) -> impl Iterator<Item = V> {
        self.map.into_values().map(|s| s.value)
    }

    #[cfg(test)]
    fn keys(&self) -> impl Iterator<Item = &K> {
        self.map.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Map = Sequenced<String, u32, std::hash::RandomState>;

    /// Looks each key up (inserting the missing ones with the pass number), then ends the
    /// pass keeping what this pass saw; returns how many lookups jumped.
    fn pass(m: &mut Map, keys: &[&str], n: u32) -> u32 {
        for k in keys {
            match m.get_mut(*k) {
                Some(v) => *v = n,
                None => {
                    m.insert(k.to_string(), n);
                }
            }
        }
        let jumps = m.jumps;
        m.finish_pass(|_, v| *v == n);
        jumps
    }

    #[test]
    fn a_stable_order_is_followed_without_probing_the_table() {
        let mut m = Map::default();
        let keys = ["a", "b", "c", "d"];
        assert_eq!(pass(&mut m, &keys, 1), 0);
        assert_eq!(pass(&mut m, &keys, 2), 0);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    }

    #[test]
    fn new_and_moved_entries_are_found_and_put_in_the_passes_order() {
        let mut m = Map::default();
        pass(&mut m, &["a", "b", "c", "d"], 1);
        // "x" appears in the middle, "b" goes away, "d" moves before "c".
        let next = ["a", "x", "d", "c"];
        assert!(pass(&mut m, &next, 2) > 0);
        assert_eq!(m.keys().collect::<Vec<_>>(), next);
        assert_eq!(pass(&mut m, &next, 3), 0, "the pass after runs in sequence");
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [3, 3, 3, 3]);
    }

    #[test]
    fn entries_a_pass_keeps_without_finding_them_go_last_in_their_order() {
        let mut m = Map::default();
        pass(&mut m, &["a", "b", "c", "d"], 1);
        for k in ["d", "a"] {
            *m.get_mut(k).unwrap() = 2;
        }
        m.finish_pass(|_, _| true);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["d", "a", "b", "c"]);
    }

    #[test]
    fn a_sort_that_does_not_help_is_not_repeated_the_next_pass() {
        let mut m = Map::default();
        let forward = ["a", "b", "c", "d"];
        let backward = ["d", "c", "b", "a"];
        pass(&mut m, &forward, 1);
        assert!(pass(&mut m, &backward, 2) > 0);
        assert_eq!(
            m.keys().collect::<Vec<_>>(),
            backward,
            "sorted into the pass's order"
        );
        // The order flipped again right after a sort: the next sort is skipped...
        assert!(pass(&mut m, &forward, 3) > 0);
        assert_eq!(m.keys().collect::<Vec<_>>(), backward, "not sorted");
        // ... and the one after is made again.
        pass(&mut m, &forward, 4);
        assert_eq!(m.keys().collect::<Vec<_>>(), forward);
        assert_eq!(
            pass(&mut m, &forward, 5),
            0,
            "in sequence once the order holds"
        );
    }

    #[test]
    fn an_order_that_changes_every_pass_is_still_looked_up_right() {
        let mut m = Map::default();
        let keys: Vec<String> = (0..64).map(|i| format!("k{i}")).collect();
        let mut order: Vec<&str> = keys.iter().map(String::as_str).collect();
        for n in 1..40u32 {
            // A different permutation each pass (a stride coprime with 64).
            let stride = [5, 7, 9, 11, 13][n as usize % 5];
            order = (0..64)
                .map(|i| keys[(i * stride + n as usize) % 64].as_str())
                .collect();
            pass(&mut m, &order, n);
            assert_eq!(m.len(), 64);
        }
        for k in &order {
            assert_eq!(m.get_mut(*k), Some(&mut 39));
        }
        assert!(m.get_mut("missing").is_none());
    }
}
