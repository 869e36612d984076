//! Schema versions of the data in stable memory, and the steps between them.
//!
//! `post_upgrade` reads the stored schema version and runs the steps from it to
//! [`CURRENT_SCHEMA`], then records the new version: the data is visited only when the
//! version changes, never on a plain upgrade. A stored version newer than this code is
//! refused (the upgrade traps and is rolled back) rather than misread.
//!
//! - 0: no schema marker. Values in one `StableBTreeMap<String, Vec<u8>>`
//!   (`LEGACY_VALUES`), no metadata, the same key rules as today. Also what a canister installed before any data
//!   existed has (an empty map, or no memory at all).
//! - 1: per-record metadata (size, updated_at) in `RECORDS`, large values in pages.

use crate::store::Store;
use crate::types::UserError;
use ic_stable_structures::{Memory, StableBTreeMap};

pub const CURRENT_SCHEMA: u32 = 1;

#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    UpToDate,
    Migrate {
        from: u32,
        to: u32,
    },
    /// The data was written by newer code; this code must not run on it.
    Refuse {
        stored: u32,
    },
}

pub fn plan(stored: u32, current: u32) -> Plan {
    use std::cmp::Ordering::*;
    match stored.cmp(&current) {
        Equal => Plan::UpToDate,
        Less => Plan::Migrate {
            from: stored,
            to: current,
        },
        Greater => Plan::Refuse { stored },
    }
}

/// Schema 0 → 1: moves every legacy value into the store, stamped `now` (the old layout
/// kept no time), then empties the legacy map. Returns how many records moved.
///
/// Limits are not applied: every old record must survive. Fails only when stable memory
/// cannot grow, and then the whole upgrade is rolled back.
pub fn v0_to_v1<M: Memory>(legacy: M, store: &mut Store<M>, now: u64) -> Result<u64, UserError> {
    if legacy.size() == 0 {
        // Never written: nothing to move, and no need to create the map.
        return Ok(0);
    }
    let mut values: StableBTreeMap<String, Vec<u8>, M> = StableBTreeMap::init(legacy);
    let mut moved = 0;
    for entry in values.iter() {
        let (key, value) = entry.into_pair();
        store.insert(key, &value, now)?;
        moved += 1;
    }
    // The memory stays allocated (buckets are never returned), but the map is empty.
    values.clear_new();
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::store::tests::memories;
    use ic_stable_structures::VectorMemory;

    #[test]
    fn plan_migrates_only_when_the_version_is_older() {
        assert_eq!(plan(1, 1), Plan::UpToDate);
        assert_eq!(plan(0, 1), Plan::Migrate { from: 0, to: 1 });
        assert_eq!(plan(0, 3), Plan::Migrate { from: 0, to: 3 });
        assert_eq!(plan(2, 1), Plan::Refuse { stored: 2 });
    }

    fn legacy_with(entries: &[(&str, Vec<u8>)]) -> VectorMemory {
        let mem = VectorMemory::default();
        let mut map: StableBTreeMap<String, Vec<u8>, _> = StableBTreeMap::init(mem.clone());
        for (k, v) in entries {
            map.insert(k.to_string(), v.clone());
        }
        mem
    }

    #[test]
    fn v0_to_v1_moves_every_value_with_metadata() {
        let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let legacy = legacy_with(&[("a", b"x".to_vec()), ("big", big.clone()), ("e", vec![])]);
        let mut store = Store::init(memories(), Limits::DEFAULT);
        assert_eq!(v0_to_v1(legacy.clone(), &mut store, 42), Ok(3));
        assert_eq!(store.get("a").unwrap(), Some(b"x".to_vec()));
        assert_eq!(store.get("big").unwrap(), Some(big));
        assert_eq!(store.get("e").unwrap(), Some(vec![]));
        let page = store.list(None, 10).unwrap();
        let meta: Vec<_> = page
            .keys
            .iter()
            .map(|k| (k.key.as_str(), k.size, k.updated_at))
            .collect();
        assert_eq!(meta, vec![("a", 1, 42), ("big", 200_000, 42), ("e", 0, 42)]);
        assert_eq!(store.stats().data_bytes, 2 + 3 + 200_000 + 1);
        // The legacy map is emptied, so a second run would move nothing.
        let map: StableBTreeMap<String, Vec<u8>, _> = StableBTreeMap::init(legacy.clone());
        assert!(map.is_empty());
        assert_eq!(v0_to_v1(legacy, &mut store, 43), Ok(0));
        assert_eq!(store.stats().records, 3);
    }

    #[test]
    fn v0_to_v1_carries_records_beyond_todays_quota() {
        let legacy = legacy_with(&[("a", vec![1; 10]), ("b", vec![2; 5000])]);
        let tight = Limits {
            quota_bytes: 5,
            max_records: 1,
            ..Limits::DEFAULT
        };
        let mut store = Store::init(memories(), tight);
        assert_eq!(v0_to_v1(legacy, &mut store, 0), Ok(2));
        assert_eq!(store.get("b").unwrap(), Some(vec![2; 5000]));
        // New writes are refused until the owner deletes enough.
        assert!(matches!(
            store.put("a".into(), b"", 1),
            Err(UserError::QuotaExceeded { .. })
        ));
        assert_eq!(store.delete("b"), Ok(true));
        assert_eq!(store.delete("a"), Ok(true));
        assert_eq!(store.put("c".into(), b"1234", 1), Ok(()));
    }

    #[test]
    fn v0_to_v1_on_never_written_memory_creates_nothing() {
        let legacy = VectorMemory::default();
        let mut store = Store::init(memories(), Limits::DEFAULT);
        assert_eq!(v0_to_v1(legacy.clone(), &mut store, 0), Ok(0));
        assert_eq!(legacy.size(), 0);
    }
}
