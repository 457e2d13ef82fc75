//! The table of open incidents, in two parts: those of one real server, and the rest.
//!
//! Hundreds of thousands of real servers can be out at once (ten directors' logs end with
//! a quarter of a million still out), and a table of them is tens of megabytes: every
//! lookup in it misses the cache. The other incidents (a FAULT, a service down, repeated
//! adverts) are a handful, looked up by most events (every MASTER and BACKUP closes a
//! FAULT, every "no destination" repeats a service down), and kept apart they stay in
//! cache.

use super::{HashMap, Key, Open};
use std::collections::hash_map::Entry;

#[derive(Debug, Clone, Default)]
pub(super) struct OpenTable {
    /// Keys naming a real server.
    real_servers: HashMap<Key, Box<Open>>,
    /// Every other key.
    rest: HashMap<Key, Box<Open>>,
}

impl OpenTable {
    fn part(&self, k: &Key) -> &HashMap<Key, Box<Open>> {
        if k.rs.is_some() {
            &self.real_servers
        } else {
            &self.rest
        }
    }

    fn part_mut(&mut self, k: &Key) -> &mut HashMap<Key, Box<Open>> {
        if k.rs.is_some() {
            &mut self.real_servers
        } else {
            &mut self.rest
        }
    }

    pub(super) fn len(&self) -> usize {
        self.real_servers.len() + self.rest.len()
    }

    pub(super) fn entry(&mut self, k: Key) -> Entry<'_, Key, Box<Open>> {
        self.part_mut(&k).entry(k)
    }

    pub(super) fn get(&self, k: &Key) -> Option<&Open> {
        self.part(k).get(k).map(|o| &**o)
    }

    pub(super) fn get_mut(&mut self, k: &Key) -> Option<&mut Open> {
        self.part_mut(k).get_mut(k).map(|o| &mut **o)
    }

    pub(super) fn contains_key(&self, k: &Key) -> bool {
        self.part(k).contains_key(k)
    }

    pub(super) fn remove(&mut self, k: &Key) -> Option<Box<Open>> {
        self.part_mut(k).remove(k)
    }

    pub(super) fn insert(&mut self, k: Key, o: Box<Open>) {
        self.part_mut(&k).insert(k, o);
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &Key> {
        self.real_servers.keys().chain(self.rest.keys())
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&Key, &Open)> {
        self.real_servers
            .iter()
            .chain(self.rest.iter())
            .map(|(k, o)| (k, &**o))
    }
}

impl IntoIterator for OpenTable {
    type Item = (Key, Box<Open>);
    type IntoIter = std::iter::Chain<
        std::collections::hash_map::IntoIter<Key, Box<Open>>,
        std::collections::hash_map::IntoIter<Key, Box<Open>>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.real_servers.into_iter().chain(self.rest)
    }
}
