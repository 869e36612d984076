//! Reclaim's stable state: each canister's last activity (and an index by
//! time, so the dormant are found oldest first without a scan), the
//! reclaimed canisters (and an index by deletion time), the registration
//! sweep's cursor and a few totals.

use super::record::{Reclaimed, MAX_SNAPSHOT_ID};
use crate::cycles::stable_parts::{SweepCursor, TimeQueue};
use candid::Principal;
use ic_stable_structures::{Memory, StableBTreeMap};

pub struct ReclaimMemories<M> {
    pub activity: M,
    pub by_activity: M,
    pub reclaimed: M,
    pub by_deletion: M,
    pub cursor: M,
    pub totals: M,
}

/// Keys of `totals`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Total {
    Deleted = 0,
    Revived = 1,
    CyclesReturned = 2,
    Reclaimed = 3,
}

pub struct ReclaimStore<M: Memory> {
    /// user canister → when its owner was last active (as the factory saw it)
    activity: StableBTreeMap<Principal, u64, M>,
    /// (last active, canister) for canisters not reclaimed.
    by_activity: TimeQueue<M>,
    /// user canister → its reclaim
    pub reclaimed: StableBTreeMap<Principal, Reclaimed, M>,
    /// (reclaimed at, canister): the oldest reclaims first, for deletion.
    by_deletion: TimeQueue<M>,
    /// The last owner the registration sweep looked at.
    cursor: SweepCursor<M>,
    totals: StableBTreeMap<u8, u128, M>,
}

impl<M: Memory> ReclaimStore<M> {
    pub fn init(m: ReclaimMemories<M>) -> Self {
        ReclaimStore {
            activity: StableBTreeMap::init(m.activity),
            by_activity: TimeQueue::init(m.by_activity),
            reclaimed: StableBTreeMap::init(m.reclaimed),
            by_deletion: TimeQueue::init(m.by_deletion),
            cursor: SweepCursor::init(m.cursor),
            totals: StableBTreeMap::init(m.totals),
        }
    }

    pub fn last_active(&self, canister: &Principal) -> Option<u64> {
        self.activity.get(canister)
    }

    pub fn tracked(&self) -> u64 {
        self.activity.len()
    }

    /// Records activity at `at_ns` (never moves it back).
    pub fn set_active(&mut self, canister: Principal, at_ns: u64) {
        let old = self.activity.get(&canister);
        if old.is_some_and(|o| o >= at_ns) {
            return;
        }
        self.activity.insert(canister, at_ns);
        if let Some(o) = old {
            self.by_activity.remove(o, canister);
        }
        if !self.reclaimed.contains_key(&canister) {
            self.by_activity.insert(at_ns, canister);
        }
    }

    /// Up to `limit` canisters last active before `cutoff_ns`, oldest first.
    pub fn inactive_before(&self, cutoff_ns: u64, limit: usize) -> Vec<(u64, Principal)> {
        self.by_activity.before(cutoff_ns, limit)
    }

    pub fn is_reclaimed(&self, canister: &Principal) -> bool {
        self.reclaimed.contains_key(canister)
    }

    pub fn get(&self, canister: &Principal) -> Option<Reclaimed> {
        self.reclaimed.get(canister)
    }

    /// Marks it reclaimed; false (nothing written) for a snapshot id too
    /// long to store.
    pub fn put_reclaimed(&mut self, canister: Principal, r: Reclaimed) -> bool {
        if r.snapshot_id.len() > MAX_SNAPSHOT_ID {
            return false;
        }
        if let Some(at) = self.activity.get(&canister) {
            self.by_activity.remove(at, canister);
        }
        if let Some(old) = self.reclaimed.insert(canister, r.clone()) {
            self.by_deletion.remove(old.reclaimed_at_ns, canister);
        }
        self.by_deletion.insert(r.reclaimed_at_ns, canister);
        self.add(Total::Reclaimed, 1);
        true
    }

    /// No longer reclaimed (revived): back among the tracked, active now.
    pub fn revived(&mut self, canister: Principal, now_ns: u64) -> Option<Reclaimed> {
        let r = self.take_reclaimed(&canister)?;
        self.set_active(canister, now_ns);
        if let Some(at) = self.activity.get(&canister) {
            self.by_activity.insert(at, canister);
        }
        self.add(Total::Revived, 1);
        Some(r)
    }

    fn take_reclaimed(&mut self, canister: &Principal) -> Option<Reclaimed> {
        let r = self.reclaimed.remove(canister)?;
        self.by_deletion.remove(r.reclaimed_at_ns, *canister);
        Some(r)
    }

    /// Up to `limit` canisters reclaimed at or before `cutoff_ns`, oldest first.
    pub fn reclaimed_by(&self, cutoff_ns: u64, limit: usize) -> Vec<Principal> {
        self.by_deletion.up_to(cutoff_ns, limit)
    }

    /// Forgets the canister entirely (deleted, detached or gone).
    pub fn forget(&mut self, canister: &Principal) {
        self.take_reclaimed(canister);
        if let Some(at) = self.activity.remove(canister) {
            self.by_activity.remove(at, *canister);
        }
    }

    pub fn cursor(&self) -> Option<Principal> {
        self.cursor.get()
    }

    pub fn set_cursor(&mut self, after: Option<Principal>) {
        self.cursor.set(after)
    }

    pub fn add(&mut self, t: Total, n: u128) {
        let v = self.totals.get(&(t as u8)).unwrap_or(0);
        self.totals.insert(t as u8, v.saturating_add(n));
    }

    pub fn total(&self, t: Total) -> u128 {
        self.totals.get(&(t as u8)).unwrap_or(0)
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::testing::principal;
    use ic_stable_structures::VectorMemory;

    pub fn store() -> ReclaimStore<VectorMemory> {
        ReclaimStore::init(ReclaimMemories {
            activity: VectorMemory::default(),
            by_activity: VectorMemory::default(),
            reclaimed: VectorMemory::default(),
            by_deletion: VectorMemory::default(),
            cursor: VectorMemory::default(),
            totals: VectorMemory::default(),
        })
    }

    #[test]
    fn cycles_reclaim_store_finds_the_dormant_oldest_first() {
        let mut s = store();
        let (a, b, c) = (principal(1), principal(2), principal(3));
        s.set_active(a, 30);
        s.set_active(b, 10);
        s.set_active(c, 20);
        assert_eq!(s.inactive_before(25, 10), vec![(10, b), (20, c)]);
        assert_eq!(s.inactive_before(25, 1), vec![(10, b)]);
        // Activity moves forward only.
        s.set_active(b, 40);
        s.set_active(b, 5);
        assert_eq!(s.last_active(&b), Some(40));
        assert_eq!(s.inactive_before(25, 10), vec![(20, c)]);
        // A reclaimed canister is no longer among the dormant candidates.
        let r = Reclaimed {
            snapshot_id: vec![1],
            reclaimed_at_ns: 100,
            ..Default::default()
        };
        assert!(s.put_reclaimed(c, r));
        assert!(s.inactive_before(25, 10).is_empty());
        assert_eq!(s.reclaimed_by(99, 10), Vec::<Principal>::new());
        assert_eq!(s.reclaimed_by(100, 10), vec![c]);
        // Revived: not due for deletion, tracked again as active now.
        assert!(s.revived(c, 50).is_some());
        assert!(s.reclaimed_by(1_000, 10).is_empty());
        assert_eq!(s.inactive_before(51, 10), vec![(30, a), (40, b), (50, c)]);
        s.forget(&a);
        assert_eq!(s.tracked(), 2);
        assert_eq!(s.total(Total::Revived), 1);
    }
}
