//! The stable memory layout, and what `init` and `post_upgrade` do to it.
//!
//! All state lives in stable structures, so an upgrade keeps it as it is: there is no
//! `pre_upgrade`, and opening the state reads only headers. Generic over the memory so the
//! whole install/upgrade life cycle runs natively in tests.

use crate::limits::Limits;
use crate::migration::{self, Plan, CURRENT_SCHEMA};
use crate::store::{Store, StoreMemories};
use crate::types::UserCanisterArgs;
use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{Memory, StableCell};

/// The stable memory layout. Ids are never reused for something else: a memory keeps its
/// bytes across upgrades.
pub mod ids {
    use super::MemoryId;
    /// `StableCell<UserCanisterArgs>`: owner, factory, release, app argument (Candid,
    /// `factory_guest::InstallArgs`).
    pub const CONFIG: MemoryId = MemoryId::new(0);
    /// `StableCell<u32>`: the schema version of everything else (0 = no marker).
    pub const SCHEMA: MemoryId = MemoryId::new(1);
    /// Schema 0 values, `StableBTreeMap<String, Vec<u8>>`; empty after the migration.
    pub const LEGACY_VALUES: MemoryId = MemoryId::new(2);
    /// `StableBTreeMap<String, Record>`: each key's metadata and small value.
    pub const RECORDS: MemoryId = MemoryId::new(3);
    /// Raw 4 KiB pages holding values larger than 1 KiB.
    pub const PAGES: MemoryId = MemoryId::new(4);
    /// `StableVec<u32>`: the free pages.
    pub const FREE_PAGES: MemoryId = MemoryId::new(5);
    /// `StableCell<u64>`: bytes counted against the quota.
    pub const DATA_BYTES: MemoryId = MemoryId::new(6);
}

/// Memory-manager buckets of 1 MiB rather than the default 8 MiB: each of the memories
/// above takes at least one bucket, and an idle user's canister should stay small.
/// Fixed forever once the memory manager is created (it is stored in its header).
pub const BUCKET_PAGES: u16 = 16;

pub struct State<M: Memory> {
    manager: MemoryManager<M>,
    config: StableCell<UserCanisterArgs, VirtualMemory<M>>,
    schema: StableCell<u32, VirtualMemory<M>>,
    pub store: Store<VirtualMemory<M>>,
}

/// What `post_upgrade` did, for the log and the tests.
#[derive(Debug, PartialEq, Eq)]
pub struct Migrated {
    pub from: u32,
    pub to: u32,
    pub records: u64,
}

impl<M: Memory> State<M> {
    /// Opens every structure (creating the empty ones). Reads headers only.
    pub fn open(memory: M) -> Self {
        let manager = MemoryManager::init_with_bucket_size(memory, BUCKET_PAGES);
        let unset = UserCanisterArgs {
            owner: Principal::anonymous(),
            factory: Principal::anonymous(),
            version: String::new(),
            app_arg: None,
        };
        State {
            config: StableCell::init(manager.get(ids::CONFIG), unset),
            schema: StableCell::init(manager.get(ids::SCHEMA), 0),
            store: Store::init(
                StoreMemories {
                    records: manager.get(ids::RECORDS),
                    pages: manager.get(ids::PAGES),
                    free_pages: manager.get(ids::FREE_PAGES),
                    data_bytes: manager.get(ids::DATA_BYTES),
                },
                Limits::DEFAULT,
            ),
            manager,
        }
    }

    /// A fresh install: the memory is empty, so the data is at the current schema.
    pub fn init(&mut self, args: UserCanisterArgs) -> Result<(), String> {
        validate(&args)?;
        self.schema.set(CURRENT_SCHEMA);
        self.config.set(args);
        Ok(())
    }

    /// An upgrade: migrates the data if (and only if) its schema is older, then records the
    /// new args. An error leaves everything as it was (and traps, rolling the upgrade back).
    pub fn post_upgrade(
        &mut self,
        args: UserCanisterArgs,
        now: u64,
    ) -> Result<Option<Migrated>, String> {
        validate(&args)?;
        let migrated = match migration::plan(*self.schema.get(), CURRENT_SCHEMA) {
            Plan::UpToDate => None,
            Plan::Refuse { stored } => {
                return Err(format!(
                    "stable memory is at schema {stored}, this code knows up to {CURRENT_SCHEMA}: refusing to downgrade"
                ))
            }
            Plan::Migrate { from, to } => {
                let mut records = 0;
                for step in from..to {
                    records += self.migrate_step(step, now)?;
                }
                self.schema.set(to);
                Some(Migrated { from, to, records })
            }
        };
        self.config.set(args);
        Ok(migrated)
    }

    fn migrate_step(&mut self, from: u32, now: u64) -> Result<u64, String> {
        match from {
            0 => migration::v0_to_v1(self.manager.get(ids::LEGACY_VALUES), &mut self.store, now)
                // Its only error: stable memory cannot grow.
                .map_err(|_| "migrating schema 0 to 1: stable memory cannot grow".to_string()),
            _ => Err(format!("no migration from schema {from}")),
        }
    }

    pub fn args(&self) -> &UserCanisterArgs {
        self.config.get()
    }

    pub fn schema_version(&self) -> u32 {
        *self.schema.get()
    }
}

/// The factory's args, checked (by the guest library) so that a broken one fails the
/// install instead of leaving a canister nobody can use.
fn validate(args: &UserCanisterArgs) -> Result<(), String> {
    args.clone().checked().map(drop).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::{StableBTreeMap, VectorMemory};
    use std::cell::Cell;
    use std::rc::Rc;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    fn args(version: &str) -> UserCanisterArgs {
        UserCanisterArgs {
            owner: p(1),
            factory: p(2),
            version: version.into(),
            app_arg: None,
        }
    }

    fn installed(memory: &VectorMemory) -> State<VectorMemory> {
        let mut s = State::open(memory.clone());
        s.init(args("1.0.0")).unwrap();
        s
    }

    #[test]
    fn init_records_the_args_at_the_current_schema() {
        let s = installed(&VectorMemory::default());
        assert_eq!(s.args(), &args("1.0.0"));
        assert_eq!(s.schema_version(), CURRENT_SCHEMA);
    }

    #[test]
    fn broken_args_are_refused() {
        let mut s = State::open(VectorMemory::default());
        let anon = Principal::anonymous();
        for bad in [
            UserCanisterArgs {
                owner: anon,
                ..args("1.0.0")
            },
            UserCanisterArgs {
                factory: anon,
                ..args("1.0.0")
            },
            UserCanisterArgs {
                owner: p(2),
                ..args("1.0.0")
            },
        ] {
            assert!(s.init(bad.clone()).is_err());
            assert!(s.post_upgrade(bad, 0).is_err());
        }
    }

    #[test]
    fn data_survives_an_upgrade_and_the_args_are_replaced() {
        let memory = VectorMemory::default();
        let mut s = installed(&memory);
        s.store.put("note".into(), b"hi", 1).unwrap();
        s.store.put("blob".into(), &vec![7; 1 << 20], 2).unwrap();
        drop(s); // the old wasm's heap is gone; stable memory stays

        let mut s = State::open(memory);
        assert_eq!(s.post_upgrade(args("1.1.0"), 3), Ok(None));
        assert_eq!(s.args().version, "1.1.0");
        assert_eq!(s.store.get("note").unwrap(), Some(b"hi".to_vec()));
        assert_eq!(s.store.get("blob").unwrap(), Some(vec![7; 1 << 20]));
        let meta = s.store.list(None, 10).unwrap();
        assert_eq!(meta.keys[0].updated_at, 2); // untouched by the upgrade
    }

    #[test]
    fn upgrading_from_before_any_schema_migrates_once() {
        // A canister of the first release: no schema marker, values in the legacy map.
        let memory = VectorMemory::default();
        {
            let manager = MemoryManager::init_with_bucket_size(memory.clone(), BUCKET_PAGES);
            let mut legacy: StableBTreeMap<String, Vec<u8>, _> =
                StableBTreeMap::init(manager.get(ids::LEGACY_VALUES));
            legacy.insert("a".into(), b"old".to_vec());
            legacy.insert("b".into(), vec![9; 5000]);
        }
        let mut s = State::open(memory.clone());
        assert_eq!(s.schema_version(), 0);
        assert_eq!(
            s.post_upgrade(args("2.0.0"), 77),
            Ok(Some(Migrated {
                from: 0,
                to: 1,
                records: 2
            }))
        );
        assert_eq!(s.schema_version(), 1);
        assert_eq!(s.store.get("b").unwrap(), Some(vec![9; 5000]));
        assert_eq!(s.store.list(None, 1).unwrap().keys[0].updated_at, 77);
        drop(s);

        // The next upgrade finds schema 1 and leaves the data alone.
        let mut s = State::open(memory);
        assert_eq!(s.post_upgrade(args("2.0.1"), 88), Ok(None));
        assert_eq!(s.store.get("a").unwrap(), Some(b"old".to_vec()));
        assert_eq!(s.store.list(None, 1).unwrap().keys[0].updated_at, 77);
    }

    #[test]
    fn upgrading_the_skeleton_release_with_empty_memory_works() {
        // The first user canister release used no stable memory at all.
        let memory = VectorMemory::default();
        let mut s = State::open(memory);
        assert_eq!(
            s.post_upgrade(args("1.0.0"), 0),
            Ok(Some(Migrated {
                from: 0,
                to: 1,
                records: 0
            }))
        );
        assert_eq!(s.store.stats().records, 0);
        assert_eq!(s.args(), &args("1.0.0"));
    }

    #[test]
    fn a_newer_schema_is_refused_and_nothing_changes() {
        let memory = VectorMemory::default();
        let mut s = installed(&memory);
        s.store.put("k".into(), b"v", 1).unwrap();
        s.schema.set(CURRENT_SCHEMA + 1); // written by a newer release
        drop(s);
        let mut s = State::open(memory);
        assert!(s.post_upgrade(args("0.9.0"), 2).is_err());
        assert_eq!(s.args().version, "1.0.0");
        assert_eq!(s.store.get("k").unwrap(), Some(b"v".to_vec()));
    }

    /// Counts the bytes read from the underlying memory.
    #[derive(Clone, Default)]
    struct Counting {
        inner: VectorMemory,
        read: Rc<Cell<u64>>,
    }
    impl Memory for Counting {
        fn size(&self) -> u64 {
            self.inner.size()
        }
        fn grow(&self, pages: u64) -> i64 {
            self.inner.grow(pages)
        }
        fn read(&self, offset: u64, dst: &mut [u8]) {
            self.read.set(self.read.get() + dst.len() as u64);
            self.inner.read(offset, dst)
        }
        fn write(&self, offset: u64, src: &[u8]) {
            self.inner.write(offset, src)
        }
    }

    /// Bytes read by opening the state and running `post_upgrade` over `records` values of
    /// `size` bytes.
    fn upgrade_reads(records: u32, size: usize) -> u64 {
        let memory = Counting::default();
        let mut s = State::open(memory.clone());
        s.init(args("1.0.0")).unwrap();
        for i in 0..records {
            s.store
                .put(format!("key{i:05}"), &vec![1; size], 0)
                .unwrap();
        }
        drop(s);
        memory.read.set(0);
        let mut s = State::open(memory.clone());
        s.post_upgrade(args("1.0.1"), 1).unwrap();
        memory.read.get()
    }

    #[test]
    fn upgrade_work_does_not_grow_with_the_data() {
        let tiny = upgrade_reads(1, 1000);
        assert_eq!(upgrade_reads(100, 1000), tiny);
        assert_eq!(upgrade_reads(20, 1 << 20), tiny); // 20 MiB
    }

    #[test]
    fn an_idle_canister_takes_five_buckets() {
        let memory = VectorMemory::default();
        let mut s = installed(&memory);
        // Header page + CONFIG, SCHEMA, RECORDS, FREE_PAGES, DATA_BYTES: 1 MiB each.
        let idle = 1 + 5 * u64::from(BUCKET_PAGES);
        assert_eq!(memory.size(), idle);
        s.store.put("small".into(), b"note", 0).unwrap();
        assert_eq!(memory.size(), idle);
        s.store.put("large".into(), &[0; 5000], 0).unwrap(); // the first page bucket
        assert_eq!(memory.size(), idle + u64::from(BUCKET_PAGES));
    }
}
