//! user canister → owner, the reverse of the users map, kept small.
//!
//! Canister ids the replica allocates are a u64 and `01 01`; they are keyed
//! by that u64 (8 fixed bytes instead of a length and up to 29). The u64 is
//! scrambled by an invertible mix first: ids are allocated in sequence, and
//! keys inserted in order leave every B-tree node half full, while scrambled
//! ones fill nodes as random keys do. Any other id (none in practice: the
//! replica allocates every canister id) is kept in the `other` map, keyed by
//! the whole principal. Each id lives in exactly one of the two maps.

use crate::user_codec::replica_canister_number;
use candid::Principal;
use ic_stable_structures::{Memory, StableBTreeMap};

/// Odd, so multiplying by it is a bijection on u64.
const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

fn key(canister: &Principal) -> Option<u64> {
    replica_canister_number(canister).map(|n| n.wrapping_mul(MIX).rotate_left(29))
}

pub struct CanisterIndex<M: Memory> {
    compact: StableBTreeMap<u64, Principal, M>,
    other: StableBTreeMap<Principal, Principal, M>,
}

impl<M: Memory> CanisterIndex<M> {
    /// `other` holds the ids not of the replica's form.
    pub fn init(compact: M, other: M) -> Self {
        CanisterIndex {
            compact: StableBTreeMap::init(compact),
            other: StableBTreeMap::init(other),
        }
    }

    pub fn get(&self, canister: &Principal) -> Option<Principal> {
        match key(canister) {
            Some(k) => self.compact.get(&k),
            None => self.other.get(canister),
        }
    }

    pub fn insert(&mut self, canister: Principal, owner: Principal) {
        match key(&canister) {
            Some(k) => self.compact.insert(k, owner),
            None => self.other.insert(canister, owner),
        };
    }

    pub fn remove(&mut self, canister: &Principal) -> Option<Principal> {
        match key(canister) {
            Some(k) => self.compact.remove(&k),
            None => self.other.remove(canister),
        }
    }

    pub fn len(&self) -> u64 {
        self.compact.len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn replica_id(n: u64) -> Principal {
        let mut b = [1u8; 10];
        b[..8].copy_from_slice(&n.to_be_bytes());
        Principal::from_slice(&b)
    }

    fn owner(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    #[test]
    fn replica_ids_and_other_ids_map_to_their_owners() {
        let mut index = CanisterIndex::init(VectorMemory::default(), VectorMemory::default());
        let odd = Principal::from_slice(&[4; 12]);
        for n in 0..300u64 {
            index.insert(replica_id(n), owner(n as u8));
        }
        index.insert(odd, owner(9));
        index.insert(replica_id(u64::MAX), owner(7));
        assert_eq!(index.len(), 302);
        assert_eq!(index.compact.len(), 301);
        for n in 0..300u64 {
            assert_eq!(index.get(&replica_id(n)), Some(owner(n as u8)));
        }
        assert_eq!(index.get(&odd), Some(owner(9)));
        assert_eq!(index.get(&replica_id(u64::MAX)), Some(owner(7)));
        assert_eq!(index.get(&replica_id(300)), None);
        assert_eq!(index.remove(&replica_id(5)), Some(owner(5)));
        assert_eq!(index.get(&replica_id(5)), None);
        assert_eq!(index.remove(&odd), Some(owner(9)));
        assert_eq!(index.remove(&odd), None);
        assert_eq!(index.len(), 300);
    }

    #[test]
    fn the_mix_is_a_bijection_on_a_sample() {
        let keys: std::collections::BTreeSet<u64> = (0..100_000u64)
            .filter_map(|n| key(&replica_id(n)))
            .collect();
        assert_eq!(keys.len(), 100_000);
    }
}
