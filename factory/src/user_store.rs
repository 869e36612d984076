//! owner → [`UserRecord`], stored without the owner: the key already holds
//! it, so each value is 30 bytes shorter (`user_codec`). Reads put the owner
//! back, so callers only ever see whole records.

use crate::user_codec;
use crate::users::UserRecord;
use candid::Principal;
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{Memory, StableBTreeMap, Storable};
use std::borrow::Cow;
use std::ops::RangeBounds;

/// A record as stored: its owner is a placeholder until the key fills it in.
struct StoredUser(UserRecord);

impl Storable for StoredUser {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(user_codec::encode(&self.0))
    }
    fn into_bytes(self) -> Vec<u8> {
        user_codec::encode(&self.0)
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        // Only this factory writes the map; unreadable bytes are a bug of
        // ours, not input, and trapping keeps them from being overwritten.
        StoredUser(
            user_codec::decode(&bytes, Principal::anonymous())
                .expect("stable user record written by this factory"),
        )
    }
    const BOUND: Bound = Bound::Unbounded;
}

impl StoredUser {
    fn owned_by(self, owner: Principal) -> UserRecord {
        let mut r = self.0;
        r.owner = owner;
        r
    }
}

pub struct UserStore<M: Memory> {
    map: StableBTreeMap<Principal, StoredUser, M>,
}

impl<M: Memory> UserStore<M> {
    pub fn init(memory: M) -> Self {
        UserStore {
            map: StableBTreeMap::init(memory),
        }
    }

    pub fn get(&self, owner: &Principal) -> Option<UserRecord> {
        self.map.get(owner).map(|r| r.owned_by(*owner))
    }

    pub fn contains_key(&self, owner: &Principal) -> bool {
        self.map.contains_key(owner)
    }

    /// Stores the record under its owner; returns the one it replaced.
    pub fn insert(&mut self, record: UserRecord) -> Option<UserRecord> {
        let owner = record.owner;
        self.map
            .insert(owner, StoredUser(record))
            .map(|r| r.owned_by(owner))
    }

    pub fn remove(&mut self, owner: &Principal) -> Option<UserRecord> {
        self.map.remove(owner).map(|r| r.owned_by(*owner))
    }

    pub fn len(&self) -> u64 {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Owners in order, without decoding a record.
    pub fn keys(&self) -> impl Iterator<Item = Principal> + '_ {
        self.map.keys()
    }

    pub fn keys_range(
        &self,
        range: impl RangeBounds<Principal>,
    ) -> impl Iterator<Item = Principal> + '_ {
        self.map.keys_range(range)
    }

    /// Whole records in owner order.
    pub fn range(
        &self,
        range: impl RangeBounds<Principal>,
    ) -> impl Iterator<Item = UserRecord> + '_ {
        self.map.range(range).map(|e| {
            let (owner, stored) = e.into_pair();
            stored.owned_by(owner)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::footprint_tests::upgraded_user;
    use ic_stable_structures::VectorMemory;
    use std::ops::Bound as B;

    #[test]
    fn records_come_back_whole_with_their_owner() {
        let mut store = UserStore::init(VectorMemory::default());
        let users: Vec<UserRecord> = (0..50).map(upgraded_user).collect();
        for u in &users {
            assert_eq!(store.insert(u.clone()), None);
        }
        assert_eq!(store.len(), 50);
        for u in &users {
            assert_eq!(store.get(&u.owner).as_ref(), Some(u));
        }
        let mut sorted = users.clone();
        sorted.sort_by_key(|u| u.owner);
        let all: Vec<UserRecord> = store.range(..).collect();
        assert_eq!(all, sorted);
        let after: Vec<Principal> = store
            .keys_range((B::Excluded(sorted[9].owner), B::Unbounded))
            .collect();
        assert_eq!(after.first(), Some(&sorted[10].owner));
        let mut changed = users[3].clone();
        changed.version = Some("2.0.0".into());
        assert_eq!(store.insert(changed.clone()).as_ref(), Some(&users[3]));
        assert_eq!(store.remove(&users[3].owner), Some(changed));
        assert!(!store.contains_key(&users[3].owner));
    }
}
