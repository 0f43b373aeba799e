//! Per-stream state with a ceiling on the number of streams and expiry of streams not seen
//! for a while. The key is already a good hash, so the map does not hash it again.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::StreamId;

/// Passes a [`StreamId`]'s bits through as the hash.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for keys other than StreamId; fold them in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

struct Entry<V> {
    value: V,
    /// Unix nanoseconds of the last time the stream was seen (what that means is the
    /// caller's: the point's timestamp or the wall clock).
    seen: u64,
}

/// The map is at its ceiling; the new stream was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Bounded per-stream state.
pub struct StreamMap<V> {
    entries: HashMap<StreamId, Entry<V>, BuildHasherDefault<IdHasher>>,
    limit: usize,
}

impl<V> StreamMap<V> {
    /// A map holding at most `limit` streams.
    pub fn new(limit: usize) -> Self {
        StreamMap {
            entries: HashMap::default(),
            limit,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.entries.contains_key(&id)
    }

    /// The state of a stream, marking it seen at `seen`.
    pub fn get_mut(&mut self, id: StreamId, seen: u64) -> Option<&mut V> {
        self.entries.get_mut(&id).map(|e| {
            e.seen = seen;
            &mut e.value
        })
    }

    /// Adds a stream, or refuses when the map is full.
    pub fn insert(&mut self, id: StreamId, value: V, seen: u64) -> Result<&mut V, Full> {
        use std::collections::hash_map::Entry as E;
        let at_limit = self.entries.len() >= self.limit;
        match self.entries.entry(id) {
            E::Occupied(o) => {
                let e = o.into_mut();
                e.value = value;
                e.seen = seen;
                Ok(&mut e.value)
            }
            E::Vacant(_) if at_limit => Err(Full),
            E::Vacant(v) => Ok(&mut v.insert(Entry { value, seen }).value),
        }
    }

    /// Adds a stream; when the map is full, first forgets the least recently seen half of
    /// it (one O(n) pass per n/2 insertions). Returns the stream's state and how many
    /// streams were forgotten.
    pub fn insert_evicting(&mut self, id: StreamId, value: V, seen: u64) -> (&mut V, usize) {
        let mut evicted = 0;
        if self.entries.len() >= self.limit && !self.entries.contains_key(&id) {
            let mut times: Vec<u64> = self.entries.values().map(|e| e.seen).collect();
            // The lower half, ties at the cut included: at least one goes.
            let mid = (times.len() - 1) / 2;
            let (_, cut, _) = times.select_nth_unstable(mid);
            let cut = *cut;
            let before = self.entries.len();
            self.entries.retain(|_, e| e.seen > cut);
            evicted = before - self.entries.len();
        }
        use std::collections::hash_map::Entry as E;
        let v = match self.entries.entry(id) {
            E::Occupied(o) => {
                let e = o.into_mut();
                e.value = value;
                e.seen = seen;
                &mut e.value
            }
            E::Vacant(v) => &mut v.insert(Entry { value, seen }).value,
        };
        (v, evicted)
    }

    pub fn remove(&mut self, id: StreamId) -> Option<V> {
        self.entries.remove(&id).map(|e| e.value)
    }

    /// Forgets every stream last seen before `before`; returns how many.
    pub fn expire_before(&mut self, before: u64) -> usize {
        let n = self.entries.len();
        self.entries.retain(|_, e| e.seen >= before);
        n - self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_new_streams_at_the_limit_but_updates_known_ones() {
        let mut m = StreamMap::new(2);
        m.insert(StreamId(1), 'a', 10).unwrap();
        m.insert(StreamId(2), 'b', 10).unwrap();
        assert_eq!(m.insert(StreamId(3), 'c', 10), Err(Full));
        assert_eq!(*m.insert(StreamId(1), 'z', 11).unwrap(), 'z');
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn a_full_map_forgets_its_least_recently_seen_half_to_take_a_new_stream() {
        let mut m = StreamMap::new(4);
        for i in 0..4u64 {
            m.insert(StreamId(i as u128), (), 10 * (i + 1)).unwrap();
        }
        let (_, evicted) = m.insert_evicting(StreamId(9), (), 100);
        // seen 10 and 20 are the older half: gone; 30, 40 and the new one stay
        assert_eq!(evicted, 2);
        assert!(m.contains(StreamId(2)) && m.contains(StreamId(3)) && m.contains(StreamId(9)));
        assert_eq!(m.len(), 3);
        // an update of a known stream never evicts
        m.insert_evicting(StreamId(3), (), 110);
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn expiry_forgets_streams_not_seen_since() {
        let mut m = StreamMap::new(10);
        m.insert(StreamId(1), (), 10).unwrap();
        m.insert(StreamId(2), (), 20).unwrap();
        m.get_mut(StreamId(1), 30);
        assert_eq!(m.expire_before(25), 1);
        assert!(m.contains(StreamId(1)));
        assert!(!m.contains(StreamId(2)));
    }
}
