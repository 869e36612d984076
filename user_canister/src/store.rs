//! The owner's key-value store (schema 1): metadata in a B-tree, large values in pages.
//!
//! Every method checks its input first and writes only once nothing can fail any more
//! (growing stable memory is the one late failure, and it happens before any write).
//! Authorization is not done here: callers go through `auth` first.

use crate::limits::Limits;
use crate::pages::PageStore;
use crate::record::{Body, Record, INLINE_MAX};
use crate::types::{KeyInfo, ListPage, UserError};
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};
use std::ops::Bound;

/// The memories the store is made of (see `state` for their ids).
pub struct StoreMemories<M> {
    pub records: M,
    pub pages: M,
    pub free_pages: M,
    pub data_bytes: M,
}

/// What `health` reports about the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreStats {
    pub records: u64,
    pub data_bytes: u64,
    pub total_pages: u64,
    pub free_pages: u64,
}

pub struct Store<M: Memory> {
    records: StableBTreeMap<String, Record, M>,
    pages: PageStore<M>,
    /// Keys plus values, kept up to date so the quota check needs no scan.
    data_bytes: StableCell<u64, M>,
    limits: Limits,
}

impl<M: Memory> Store<M> {
    /// Opens the store, or creates it on empty memories. Reads only headers: its cost does
    /// not depend on how much is stored.
    pub fn init(m: StoreMemories<M>, limits: Limits) -> Self {
        Store {
            records: StableBTreeMap::init(m.records),
            pages: PageStore::init(m.pages, m.free_pages),
            data_bytes: StableCell::init(m.data_bytes, 0),
            limits,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Inserts or replaces a value.
    pub fn put(&mut self, key: String, value: &[u8], now: u64) -> Result<(), UserError> {
        self.limits.check_key(&key)?;
        self.limits.check_value(value.len())?;
        let old_size = self.records.get(&key).map(|r| r.size);
        if old_size.is_none() && self.records.len() >= self.limits.max_records {
            return Err(UserError::TooManyRecords {
                max: self.limits.max_records,
            });
        }
        let used = *self.data_bytes.get();
        let freed = old_size.map_or(0, |s| key.len() as u64 + s);
        let needed = key.len() as u64 + value.len() as u64;
        if used.saturating_sub(freed) + needed > self.limits.quota_bytes {
            return Err(UserError::QuotaExceeded {
                used,
                needed,
                quota: self.limits.quota_bytes,
            });
        }
        self.insert(key, value, now)
    }

    /// Stores without checking limits: for migrations, which must carry every old record
    /// over. Still all or nothing.
    pub(crate) fn insert(&mut self, key: String, value: &[u8], now: u64) -> Result<(), UserError> {
        let body = if value.len() <= INLINE_MAX {
            Body::Inline(value.to_vec())
        } else {
            // The only step that can fail, and it fails before anything is written.
            Body::Pages(self.pages.write(value)?)
        };
        let key_len = key.len() as u64;
        let record = Record {
            size: value.len() as u64,
            updated_at: now,
            body,
        };
        let mut used = *self.data_bytes.get() + key_len + record.size;
        if let Some(old) = self.records.insert(key, record) {
            // The new pages were taken before the old ones are given back, so an overwrite
            // never writes over the value it replaces.
            self.pages.release(old.pages());
            used = used.saturating_sub(key_len + old.size);
        }
        self.data_bytes.set(used);
        Ok(())
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, UserError> {
        self.limits.check_key(key)?;
        Ok(self.records.get(&key.to_string()).map(|r| match r.body {
            Body::Inline(v) => v,
            Body::Pages(p) => self.pages.read(&p, r.size),
        }))
    }

    /// Removes a value; false when there was none.
    pub fn delete(&mut self, key: &str) -> Result<bool, UserError> {
        self.limits.check_key(key)?;
        let Some(old) = self.records.remove(&key.to_string()) else {
            return Ok(false);
        };
        self.pages.release(old.pages());
        let used = self
            .data_bytes
            .get()
            .saturating_sub(key.len() as u64 + old.size);
        self.data_bytes.set(used);
        Ok(true)
    }

    /// One page of keys, in ascending order, after `start_after`.
    pub fn list(&self, start_after: Option<&str>, limit: u32) -> Result<ListPage, UserError> {
        self.limits.check_list_limit(limit)?;
        let lower = match start_after {
            Some(k) => {
                self.limits.check_key_len(k)?;
                Bound::Excluded(k.to_string())
            }
            None => Bound::Unbounded,
        };
        let mut entries = self.records.range((lower, Bound::Unbounded));
        let keys: Vec<KeyInfo> = entries
            .by_ref()
            .take(limit as usize)
            .map(|e| {
                let r = e.value();
                KeyInfo {
                    key: e.key().clone(),
                    size: r.size,
                    updated_at: r.updated_at,
                }
            })
            .collect();
        let next = match entries.next() {
            Some(_) => keys.last().map(|k| k.key.clone()),
            None => None,
        };
        Ok(ListPage { keys, next })
    }

    pub fn stats(&self) -> StoreStats {
        StoreStats {
            records: self.records.len(),
            data_bytes: *self.data_bytes.get(),
            total_pages: self.pages.total_pages(),
            free_pages: self.pages.free_pages(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    pub(crate) fn memories() -> StoreMemories<VectorMemory> {
        StoreMemories {
            records: VectorMemory::default(),
            pages: VectorMemory::default(),
            free_pages: VectorMemory::default(),
            data_bytes: VectorMemory::default(),
        }
    }

    fn reopen(m: &StoreMemories<VectorMemory>, limits: Limits) -> Store<VectorMemory> {
        Store::init(
            StoreMemories {
                records: m.records.clone(),
                pages: m.pages.clone(),
                free_pages: m.free_pages.clone(),
                data_bytes: m.data_bytes.clone(),
            },
            limits,
        )
    }

    fn store() -> Store<VectorMemory> {
        Store::init(memories(), Limits::DEFAULT)
    }

    const SMALL: Limits = Limits {
        max_key_bytes: 8,
        max_value_bytes: 10_000,
        quota_bytes: 20_000,
        max_records: 3,
        max_list: 2,
    };

    fn value(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
    }

    #[test]
    fn put_get_delete_small_and_large_values() {
        let mut s = store();
        for (k, len) in [
            ("empty", 0),
            ("note", 12),
            ("edge", INLINE_MAX),
            ("big", 1 << 20),
        ] {
            s.put(k.into(), &value(len, 1), 5).unwrap();
            assert_eq!(s.get(k).unwrap(), Some(value(len, 1)), "{k}");
        }
        assert_eq!(s.stats().records, 4);
        assert!(s.delete("big").unwrap());
        assert!(!s.delete("big").unwrap());
        assert_eq!(s.get("big").unwrap(), None);
        assert_eq!(s.stats().records, 3);
    }

    #[test]
    fn overwrite_replaces_the_value_and_frees_the_old_pages() {
        let mut s = store();
        s.put("k".into(), &value(100_000, 1), 1).unwrap();
        let grown = s.stats().total_pages;
        s.put("k".into(), &value(5, 2), 2).unwrap();
        assert_eq!(s.get("k").unwrap(), Some(value(5, 2)));
        assert_eq!(s.stats().free_pages, grown);
        s.put("k".into(), &value(90_000, 3), 3).unwrap();
        assert_eq!(s.get("k").unwrap(), Some(value(90_000, 3)));
        // Reused, not grown.
        assert_eq!(s.stats().total_pages, grown);
        assert_eq!(s.stats().data_bytes, 1 + 90_000);
    }

    #[test]
    fn data_bytes_count_keys_and_values() {
        let mut s = store();
        s.put("ab".into(), &value(10, 0), 0).unwrap();
        s.put("cde".into(), &value(5000, 0), 0).unwrap();
        assert_eq!(s.stats().data_bytes, 2 + 10 + 3 + 5000);
        s.put("ab".into(), &value(1, 0), 0).unwrap();
        assert_eq!(s.stats().data_bytes, 2 + 1 + 3 + 5000);
        s.delete("cde").unwrap();
        assert_eq!(s.stats().data_bytes, 3);
    }

    #[test]
    fn data_survives_reopening_the_memories() {
        let m = memories();
        let mut s = reopen(&m, Limits::DEFAULT);
        s.put("small".into(), b"hello", 1).unwrap();
        s.put("large".into(), &value(300_000, 7), 2).unwrap();
        drop(s);
        let s = reopen(&m, Limits::DEFAULT);
        assert_eq!(s.get("small").unwrap(), Some(b"hello".to_vec()));
        assert_eq!(s.get("large").unwrap(), Some(value(300_000, 7)));
        assert_eq!(s.stats().data_bytes, 5 + 5 + 5 + 300_000);
    }

    #[test]
    fn bad_keys_are_refused_everywhere() {
        let mut s = Store::init(memories(), SMALL);
        let long = "k".repeat(9);
        let too_long = UserError::KeyTooLong { len: 9, max: 8 };
        assert_eq!(s.put("".into(), b"v", 0), Err(UserError::EmptyKey));
        assert_eq!(s.put(long.clone(), b"v", 0), Err(too_long.clone()));
        assert_eq!(s.get(""), Err(UserError::EmptyKey));
        assert_eq!(s.get(&long), Err(too_long.clone()));
        assert_eq!(s.delete(""), Err(UserError::EmptyKey));
        assert_eq!(s.delete(&long), Err(too_long.clone()));
        assert_eq!(s.list(Some(&long), 1), Err(too_long));
        assert_eq!(s.stats().records, 0);
    }

    #[test]
    fn too_large_values_are_refused_and_nothing_is_written() {
        let mut s = Store::init(memories(), SMALL);
        s.put("k".into(), b"old", 0).unwrap();
        assert_eq!(
            s.put("k".into(), &value(10_001, 0), 1),
            Err(UserError::ValueTooLarge {
                size: 10_001,
                max: 10_000
            })
        );
        assert_eq!(s.get("k").unwrap(), Some(b"old".to_vec()));
        assert_eq!(s.stats().data_bytes, 4);
        assert_eq!(s.stats().total_pages, 0);
    }

    #[test]
    fn the_default_limits_take_a_full_mebibyte() {
        let mut s = store();
        assert_eq!(s.put("k".into(), &value(1 << 20, 0), 0), Ok(()));
        assert_eq!(
            s.put("k".into(), &value((1 << 20) + 1, 0), 0),
            Err(UserError::ValueTooLarge {
                size: (1 << 20) + 1,
                max: 1 << 20
            })
        );
    }

    #[test]
    fn the_quota_counts_what_an_overwrite_frees() {
        let mut s = Store::init(memories(), SMALL);
        s.put("a".into(), &value(9_999, 0), 0).unwrap(); // 10_000 bytes
        s.put("b".into(), &value(9_999, 0), 0).unwrap(); // 20_000: the quota
        assert_eq!(
            s.put("c".into(), b"", 0),
            Err(UserError::QuotaExceeded {
                used: 20_000,
                needed: 1,
                quota: 20_000
            })
        );
        // Replacing a value with one of the same size fits.
        assert_eq!(s.put("a".into(), &value(9_999, 1), 1), Ok(()));
        assert_eq!(
            s.put("a".into(), &value(10_000, 1), 1),
            Err(UserError::QuotaExceeded {
                used: 20_000,
                needed: 10_001,
                quota: 20_000
            })
        );
        assert_eq!(s.get("a").unwrap(), Some(value(9_999, 1)));
        s.delete("b").unwrap();
        assert_eq!(s.put("c".into(), b"", 0), Ok(()));
    }

    #[test]
    fn the_record_count_is_bounded_but_overwrites_pass() {
        let mut s = Store::init(memories(), SMALL);
        for k in ["a", "b", "c"] {
            s.put(k.into(), b"v", 0).unwrap();
        }
        assert_eq!(
            s.put("d".into(), b"v", 0),
            Err(UserError::TooManyRecords { max: 3 })
        );
        assert_eq!(s.put("a".into(), b"w", 1), Ok(()));
        assert_eq!(s.stats().records, 3);
    }

    #[test]
    fn list_pages_through_all_keys_in_order() {
        let mut s = Store::init(memories(), SMALL);
        s.put("b".into(), &value(2, 0), 20).unwrap();
        s.put("a".into(), &value(1, 0), 10).unwrap();
        s.put("c".into(), &value(3000, 0), 30).unwrap();
        let info = |key: &str, size, updated_at| KeyInfo {
            key: key.into(),
            size,
            updated_at,
        };
        let p1 = s.list(None, 2).unwrap();
        assert_eq!(p1.keys, vec![info("a", 1, 10), info("b", 2, 20)]);
        assert_eq!(p1.next.as_deref(), Some("b"));
        let p2 = s.list(p1.next.as_deref(), 2).unwrap();
        assert_eq!(p2.keys, vec![info("c", 3000, 30)]);
        assert_eq!(p2.next, None);
        // A page that ends exactly at the last key says there is no more.
        let exact = s.list(Some("a"), 2).unwrap();
        assert_eq!(exact.keys.len(), 2);
        assert_eq!(exact.next, None);
        // An empty start_after is the start; one past the end is an empty last page.
        assert_eq!(s.list(Some(""), 1).unwrap().keys[0].key, "a");
        assert_eq!(
            s.list(Some("zz"), 2).unwrap(),
            ListPage {
                keys: vec![],
                next: None
            }
        );
    }

    #[test]
    fn list_limit_is_checked() {
        let s = Store::init(memories(), SMALL);
        assert_eq!(
            s.list(None, 0),
            Err(UserError::InvalidLimit { limit: 0, max: 2 })
        );
        assert_eq!(
            s.list(None, 3),
            Err(UserError::InvalidLimit { limit: 3, max: 2 })
        );
    }

    /// A tiny deterministic generator (xorshift): no dependency, same run every time.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, below: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % below
        }
    }

    /// Every page is either free or owned by exactly one record, never both.
    fn assert_pages_accounted(s: &Store<VectorMemory>) {
        let mut owned: Vec<u32> = s
            .records
            .iter()
            .flat_map(|e| e.value().pages().to_vec())
            .collect();
        let free = s.pages.free_list();
        let total = owned.len() + free.len();
        owned.extend(free);
        owned.sort_unstable();
        owned.dedup();
        assert_eq!(owned.len(), total, "a page is listed twice");
        assert_eq!(total as u64, s.stats().total_pages, "a page leaked");
    }

    #[test]
    fn matches_a_model_under_random_operations() {
        let m = memories();
        let mut s = reopen(&m, Limits::DEFAULT);
        let mut model = std::collections::BTreeMap::<String, Vec<u8>>::new();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for step in 0..1500u64 {
            let key = format!("k{:03}", rng.next(60));
            match rng.next(10) {
                0..=5 => {
                    // Sizes around the inline limit and the page size, and a few large ones.
                    let len = match rng.next(4) {
                        0 => rng.next(INLINE_MAX as u64 + 2),
                        1 => rng.next(3 * 4096),
                        2 => 4096 * rng.next(4),
                        _ => rng.next(150_000),
                    } as usize;
                    let v = value(len, step as u8);
                    s.put(key.clone(), &v, step).unwrap();
                    model.insert(key, v);
                }
                6..=8 => assert_eq!(s.delete(&key).unwrap(), model.remove(&key).is_some()),
                _ => s = reopen(&m, Limits::DEFAULT), // an upgrade
            }
            if step % 50 == 0 {
                assert_pages_accounted(&s);
            }
        }
        assert_pages_accounted(&s);
        for (k, v) in &model {
            assert_eq!(s.get(k).unwrap().as_ref(), Some(v), "{k}");
        }
        let used: u64 = model.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
        assert_eq!(s.stats().data_bytes, used);
        assert_eq!(s.stats().records, model.len() as u64);
    }

    #[test]
    fn list_walks_many_keys_across_b_tree_nodes() {
        let mut s = store();
        let mut keys: Vec<String> = (0..500)
            .map(|i| format!("note/{:04}", (i * 7919) % 500))
            .collect();
        for k in &keys {
            s.put(k.clone(), k.as_bytes(), 0).unwrap();
        }
        keys.sort();
        let mut seen = vec![];
        let mut next = None;
        loop {
            let page = s.list(next.as_deref(), 7).unwrap();
            assert!(page.keys.len() <= 7);
            seen.extend(page.keys.into_iter().map(|k| k.key));
            next = page.next;
            if next.is_none() {
                break;
            }
        }
        assert_eq!(seen, keys);
    }
}
