//! Stable structures the keeper's and the reclaim's stores both hold: a
//! sweep's cursor and a queue of canisters by time. Each wraps the one
//! `StableBTreeMap` it stands for, so the stored bytes are the map's.

use candid::Principal;
use ic_stable_structures::{Memory, StableBTreeMap};

/// One entry (key 0): the last owner a sweep looked at.
pub struct SweepCursor<M: Memory>(StableBTreeMap<u8, Principal, M>);

impl<M: Memory> SweepCursor<M> {
    pub fn init(m: M) -> Self {
        SweepCursor(StableBTreeMap::init(m))
    }

    pub fn get(&self) -> Option<Principal> {
        self.0.get(&0)
    }

    pub fn set(&mut self, after: Option<Principal>) {
        match after {
            Some(p) => self.0.insert(0, p),
            None => self.0.remove(&0),
        };
    }
}

/// (when, canister): canisters in the order of a time (due, last active, reclaimed).
pub struct TimeQueue<M: Memory>(StableBTreeMap<(u64, Principal), (), M>);

impl<M: Memory> TimeQueue<M> {
    pub fn init(m: M) -> Self {
        TimeQueue(StableBTreeMap::init(m))
    }

    pub fn insert(&mut self, at_ns: u64, canister: Principal) {
        self.0.insert((at_ns, canister), ());
    }

    pub fn remove(&mut self, at_ns: u64, canister: Principal) {
        self.0.remove(&(at_ns, canister));
    }

    pub fn len(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Up to `limit` entries strictly before `cutoff_ns`, earliest first.
    pub fn before(&self, cutoff_ns: u64, limit: usize) -> Vec<(u64, Principal)> {
        // The management canister's id is the smallest principal.
        self.0
            .keys_range(..(cutoff_ns, Principal::management_canister()))
            .take(limit)
            .collect()
    }

    /// Up to `limit` canisters at or before `cutoff_ns`, earliest first.
    pub fn up_to(&self, cutoff_ns: u64, limit: usize) -> Vec<Principal> {
        self.before(cutoff_ns.saturating_add(1), limit)
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::principal;
    use ic_stable_structures::VectorMemory;

    #[test]
    fn cycles_time_queue_bounds_are_strict_before_and_inclusive_up_to() {
        let mut q = TimeQueue::init(VectorMemory::default());
        let (a, b) = (principal(1), principal(2));
        q.insert(10, a);
        q.insert(20, b);
        assert_eq!(q.before(20, 10), vec![(10, a)]);
        assert_eq!(q.up_to(20, 10), vec![a, b]);
        assert_eq!(q.up_to(20, 1), vec![a]);
        q.remove(10, a);
        assert_eq!((q.len(), q.up_to(u64::MAX, 10)), (1, vec![b]));
        q.remove(20, b);
        assert!(q.is_empty());
    }
}
