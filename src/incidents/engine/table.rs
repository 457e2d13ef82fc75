//! The table of open incidents, in two parts: those of one real server, and the rest.
//!
//! Hundreds of thousands of real servers can be out at once (ten directors' logs end with
//! a quarter of a million still out), and a table of them is tens of megabytes: every
//! lookup in it misses the cache. The other incidents (a FAULT, a service down, repeated
//! adverts) are a handful, looked up by most events (every MASTER and BACKUP closes a
//! FAULT, every "no destination" repeats a service down), and kept apart they stay in
//! cache.
//!
//! Each part is an [`indexmap::IndexMap`]: the incidents themselves lie side by side in
//! one vector, appended as they open, and the hash table holds only their places. An
//! incident opening writes at the end of the vector, which is in cache, not a 96-byte key
//! into a random slot of a tens-of-MB table plus a box of its own (ten directors' logs:
//! 7.59 → 7.26 s, by turns). Dense, the incidents need no box to spare a hash table's
//! empty slots. (Its growth came to cost once an incident grew to 300 bytes: each
//! doubling copies the table into fresh pages the kernel zeroes, and `analyze` now makes
//! room up front, [`super::Engine::with_room_for_real_servers`]. When the table was first
//! reserved for half a million, it ran in the same time.)

use super::{Key, Open};

/// What [`OpenTable::entry`] finds.
pub(super) use indexmap::map::Entry;

type Map = indexmap::IndexMap<Key, Open, foldhash::fast::RandomState>;

#[derive(Debug, Clone, Default)]
pub(super) struct OpenTable {
    /// Keys naming a real server.
    real_servers: Map,
    /// Every other key.
    rest: Map,
}

impl OpenTable {
    fn part(&self, k: &Key) -> &Map {
        if k.rs.is_some() {
            &self.real_servers
        } else {
            &self.rest
        }
    }

    fn part_mut(&mut self, k: &Key) -> &mut Map {
        if k.rs.is_some() {
            &mut self.real_servers
        } else {
            &mut self.rest
        }
    }

    pub(super) fn len(&self) -> usize {
        self.real_servers.len() + self.rest.len()
    }

    /// Room for `n` real servers' incidents ([`super::Engine::with_room_for_real_servers`]).
    pub(super) fn reserve_real_servers(&mut self, n: usize) {
        self.real_servers
            .reserve(n.saturating_sub(self.real_servers.len()));
    }

    pub(super) fn entry(&mut self, k: Key) -> Entry<'_, Key, Open> {
        self.part_mut(&k).entry(k)
    }

    pub(super) fn get(&self, k: &Key) -> Option<&Open> {
        self.part(k).get(k)
    }

    pub(super) fn get_mut(&mut self, k: &Key) -> Option<&mut Open> {
        self.part_mut(k).get_mut(k)
    }

    pub(super) fn contains_key(&self, k: &Key) -> bool {
        self.part(k).contains_key(k)
    }

    /// Takes `k`'s incident out with the table's own copy of its key, which the closed
    /// incident keeps (the last one takes its place: order is not kept, and nothing
    /// reads it).
    pub(super) fn remove_entry(&mut self, k: &Key) -> Option<(Key, Open)> {
        self.part_mut(k).swap_remove_entry(k)
    }

    pub(super) fn insert(&mut self, k: Key, o: Open) {
        self.part_mut(&k).insert(k, o);
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &Key> {
        self.real_servers.keys().chain(self.rest.keys())
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&Key, &Open)> {
        self.real_servers.iter().chain(self.rest.iter())
    }

    /// The real servers' incidents, in the table's order, and the rest.
    pub(super) fn into_parts(self) -> (indexmap::map::IntoIter<Key, Open>, Map) {
        (self.real_servers.into_iter(), self.rest)
    }
}

impl IntoIterator for OpenTable {
    type Item = (Key, Open);
    type IntoIter =
        std::iter::Chain<indexmap::map::IntoIter<Key, Open>, indexmap::map::IntoIter<Key, Open>>;

    fn into_iter(self) -> Self::IntoIter {
        self.real_servers.into_iter().chain(self.rest)
    }
}
