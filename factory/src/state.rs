//! The factory's state, all of it in stable structures (nothing to save in
//! `pre_upgrade`), and its memory layout.

use crate::audit::{AuditAction, AuditEntry, AuditPage, BoundedAction, MAX_AUDIT_PAGE};
use crate::canister_index::CanisterIndex;
use crate::config::FactoryConfig;
use crate::cycles::reclaim::store::{ReclaimMemories, ReclaimStore};
use crate::cycles::store::{KeeperMemories, KeeperStore};
use crate::fleet::store::{FleetMemories, FleetStore};
use crate::rate_limit::TokenBucket;
use crate::rollout::store::{Scheduler, SchedulerMemories};
use crate::storable::{candid_storable, CandidCell};
use crate::user_store::UserStore;
use crate::users::UserRecord;
use candid::{CandidType, Deserialize, Principal};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, StableLog};
use wasm_registry::{Registry, RegistryMemories};

/// Memory ids. Never reuse or renumber one: a factory upgrade reopens each
/// structure on the memory with the same id.
mod ids {
    pub const CONFIG: u8 = 0;
    pub const ADMINS: u8 = 1;
    pub const ALLOWLIST: u8 = 2;
    pub const USERS: u8 = 3;
    /// The reverse index of canister ids not of the replica form (`canister_index`).
    pub const CANISTERS_WIDE: u8 = 4;
    pub const AUDIT_INDEX: u8 = 5;
    pub const AUDIT_DATA: u8 = 6;
    pub const COUNTERS: u8 = 7;
    pub const CHUNK_STORE: u8 = 8;
    pub const VERSION_COUNTS: u8 = 9;
    /// The rollout scheduler (`rollout::store`), 10..=18.
    pub const SCHED_PLAN: u8 = 10;
    pub const SCHED_STATE: u8 = 11;
    pub const SCHED_ITEMS: u8 = 12;
    pub const SCHED_QUEUE: u8 = 13;
    pub const SCHED_RETRIES: u8 = 14;
    pub const SCHED_RUNNING: u8 = 15;
    pub const SCHED_REASONS: u8 = 16;
    pub const SCHED_HISTORY_INDEX: u8 = 17;
    pub const SCHED_HISTORY_DATA: u8 = 18;
    /// The compact reverse index (`canister_index`).
    pub const CANISTERS: u8 = 19;
    /// `wasm_registry` uses `RegistryMemories::COUNT` ids from here.
    pub const REGISTRY_FIRST: u8 = 20;
    /// The cycles keeper and paid provisioning (`cycles::store`), 40..=45.
    pub const KEEPER_RECORDS: u8 = 40;
    pub const KEEPER_DUE: u8 = 41;
    pub const KEEPER_AT_RISK: u8 = 42;
    pub const KEEPER_CURSOR: u8 = 43;
    pub const KEEPER_SPEND: u8 = 44;
    pub const PAYMENTS: u8 = 45;
    /// The fleet (`fleet::store`): role, shards, placements, 50..=54.
    pub const FLEET_ROLE: u8 = 50;
    pub const FLEET_SHARDS: u8 = 51;
    pub const FLEET_PLACEMENTS: u8 = 52;
    pub const FLEET_ROLLOUT: u8 = 53;
    pub const FLEET_GATE: u8 = 54;
    /// Reclaiming dormant canisters (`cycles::reclaim::store`), 60..=65.
    pub const RECLAIM_ACTIVITY: u8 = 60;
    pub const RECLAIM_BY_ACTIVITY: u8 = 61;
    pub const RECLAIMED: u8 = 62;
    pub const RECLAIMED_BY_TIME: u8 = 63;
    pub const RECLAIM_CURSOR: u8 = 64;
    pub const RECLAIM_TOTALS: u8 = 65;
}

/// Small global values kept together in one cell.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Counters {
    /// Incremented by every factory upgrade; locks of older epochs are stale.
    pub epoch: u64,
    pub provision_bucket: Option<TokenBucket>,
    pub canisters_created: u64,
    pub provision_failures: u64,
    pub audit_seq: u64,
}
candid_storable!(Counters);

pub struct FactoryState<M: Memory> {
    pub config: CandidCell<FactoryConfig, M>,
    pub admins: StableBTreeMap<Principal, (), M>,
    pub allowlist: StableBTreeMap<Principal, (), M>,
    /// owner → record
    pub users: UserStore<M>,
    /// user canister → owner
    pub canisters: CanisterIndex<M>,
    pub audit: StableLog<AuditEntry, M, M>,
    pub counters: StableCell<Counters, M>,
    /// Module hashes whose chunks are in the factory's own chunk store.
    pub chunk_store: StableBTreeMap<[u8; 32], (), M>,
    /// Ready canisters per installed version, kept by `put_user`/`remove_user`
    /// so metrics never scan the users.
    pub version_counts: StableBTreeMap<String, u64, M>,
    pub registry: Registry<M>,
    pub sched: Scheduler<M>,
    pub keeper: KeeperStore<M>,
    /// Owners' last activity and the reclaimed canisters.
    pub reclaim: ReclaimStore<M>,
    /// The factory's role, and at an index its shards and placements.
    pub fleet: FleetStore<M>,
    /// The memories the per-user structures live in (users, both reverse
    /// indexes, version counts), for the stable-bytes-per-user metric.
    pub user_memories: Vec<M>,
    /// The rollout's admission window, learned from completions; heap only
    /// (re-learned after an upgrade, see `rollout::admission`).
    pub admission: crate::rollout::admission::Admission,
}

pub type VMem<I> = VirtualMemory<I>;

impl<I: Memory> FactoryState<VMem<I>> {
    /// Opens (or creates, on empty memory) every structure.
    pub fn init(mm: &MemoryManager<I>) -> Self {
        let m = |id: u8| mm.get(MemoryId::new(id));
        FactoryState {
            config: CandidCell::init(m(ids::CONFIG), FactoryConfig::default()),
            admins: StableBTreeMap::init(m(ids::ADMINS)),
            allowlist: StableBTreeMap::init(m(ids::ALLOWLIST)),
            users: UserStore::init(m(ids::USERS)),
            canisters: CanisterIndex::init(m(ids::CANISTERS), m(ids::CANISTERS_WIDE)),
            audit: StableLog::init(m(ids::AUDIT_INDEX), m(ids::AUDIT_DATA)),
            counters: StableCell::init(m(ids::COUNTERS), Counters::default()),
            chunk_store: StableBTreeMap::init(m(ids::CHUNK_STORE)),
            version_counts: StableBTreeMap::init(m(ids::VERSION_COUNTS)),
            registry: Registry::init(RegistryMemories::from_fn(|i| m(ids::REGISTRY_FIRST + i))),
            sched: Scheduler::init(SchedulerMemories {
                plan: m(ids::SCHED_PLAN),
                sched: m(ids::SCHED_STATE),
                items: m(ids::SCHED_ITEMS),
                queue: m(ids::SCHED_QUEUE),
                retries: m(ids::SCHED_RETRIES),
                running: m(ids::SCHED_RUNNING),
                reasons: m(ids::SCHED_REASONS),
                history_index: m(ids::SCHED_HISTORY_INDEX),
                history_data: m(ids::SCHED_HISTORY_DATA),
            }),
            keeper: KeeperStore::init(KeeperMemories {
                records: m(ids::KEEPER_RECORDS),
                due: m(ids::KEEPER_DUE),
                at_risk: m(ids::KEEPER_AT_RISK),
                cursor: m(ids::KEEPER_CURSOR),
                spend: m(ids::KEEPER_SPEND),
                payments: m(ids::PAYMENTS),
            }),
            reclaim: ReclaimStore::init(ReclaimMemories {
                activity: m(ids::RECLAIM_ACTIVITY),
                by_activity: m(ids::RECLAIM_BY_ACTIVITY),
                reclaimed: m(ids::RECLAIMED),
                by_deletion: m(ids::RECLAIMED_BY_TIME),
                cursor: m(ids::RECLAIM_CURSOR),
                totals: m(ids::RECLAIM_TOTALS),
            }),
            fleet: FleetStore::init(FleetMemories {
                role: m(ids::FLEET_ROLE),
                shards: m(ids::FLEET_SHARDS),
                placements: m(ids::FLEET_PLACEMENTS),
                rollout: m(ids::FLEET_ROLLOUT),
                gate: m(ids::FLEET_GATE),
            }),
            user_memories: [
                ids::USERS,
                ids::CANISTERS_WIDE,
                ids::CANISTERS,
                ids::VERSION_COUNTS,
            ]
            .map(m)
            .into(),
            admission: crate::rollout::admission::Admission::new(),
        }
    }
}

impl<M: Memory> FactoryState<M> {
    /// Stable bytes the per-user structures occupy (64 KiB pages grown).
    pub fn user_stable_bytes(&self) -> u64 {
        self.user_memories.iter().map(|m| m.size() * 65_536).sum()
    }

    pub fn epoch(&self) -> u64 {
        self.counters.get().epoch
    }

    pub fn update_counters(&mut self, f: impl FnOnce(&mut Counters)) {
        let mut c = self.counters.get().clone();
        f(&mut c);
        self.counters.set(c);
    }

    /// Writes a user record; every write goes through here (or `remove_user`)
    /// so the per-version counts stay exact.
    pub fn put_user(&mut self, record: UserRecord) {
        let version = record.version.clone();
        let old = self.users.insert(record).and_then(|r| r.version);
        if old != version {
            self.count_version(old, -1);
            self.count_version(version, 1);
        }
    }

    pub fn remove_user(&mut self, owner: &Principal) -> Option<UserRecord> {
        let old = self.users.remove(owner)?;
        if let Some(canister) = old.canister_id {
            self.canisters.remove(&canister);
            self.keeper.remove(&canister);
            self.reclaim.forget(&canister);
        }
        self.count_version(old.version.clone(), -1);
        Some(old)
    }

    fn count_version(&mut self, version: Option<String>, delta: i64) {
        let Some(version) = version else { return };
        let n = self.version_counts.get(&version).unwrap_or(0);
        let n = n.saturating_add_signed(delta);
        if n == 0 {
            self.version_counts.remove(&version);
        } else {
            self.version_counts.insert(version, n);
        }
    }

    pub fn is_admin(&self, p: &Principal) -> bool {
        self.admins.contains_key(p)
    }

    pub fn owner_of_canister(&self, canister: &Principal) -> Option<Principal> {
        self.canisters.get(canister)
    }

    /// The record of the user whose canister this is.
    pub fn user_by_canister(&self, canister: &Principal) -> Option<UserRecord> {
        self.owner_of_canister(canister)
            .and_then(|owner| self.users.get(&owner))
    }

    pub fn audit(
        &mut self,
        time_ns: u64,
        caller: Principal,
        action: AuditAction,
        error: Option<String>,
    ) {
        let mut seq = 0;
        self.update_counters(|c| {
            seq = c.audit_seq;
            c.audit_seq += 1;
        });
        let entry = AuditEntry {
            seq,
            time_ns,
            caller,
            action: action.bounded(),
            error: error.map(crate::audit::bounded_error),
        };
        // A full stable memory is the only failure; the action itself already
        // happened, so losing its audit line must not undo it.
        let _ = self.audit.append(&entry);
    }

    /// Entries older than `before` (or the newest), newest first.
    pub fn audit_page(&self, before: Option<u64>, limit: u32) -> AuditPage {
        let total = self.audit.len();
        let end = before.unwrap_or(total).min(total);
        let limit = u64::from(limit.clamp(1, MAX_AUDIT_PAGE));
        let start = end.saturating_sub(limit);
        let entries = (start..end)
            .rev()
            .filter_map(|i| self.audit.get(i).map(Into::into))
            .collect();
        AuditPage {
            entries,
            next_before: (start > 0).then_some(start),
            total,
        }
    }
}

impl<M: Memory> FactoryState<M> {
    /// Takes the per-canister lock for `action`, or says why not.
    pub fn lock_canister(
        &mut self,
        canister_id: Principal,
        action: &str,
        now_ns: u64,
    ) -> Result<UserRecord, crate::error::FactoryError> {
        use crate::error::FactoryError;
        let mut record = self
            .user_by_canister(&canister_id)
            .ok_or(FactoryError::UnknownCanister { canister_id })?;
        if record.is_locked(self.epoch()) {
            return Err(FactoryError::CanisterBusy { canister_id });
        }
        // A reclaimed canister has no code: only its revival or deletion
        // may act on it (recovery, upgrades and detach wait for a revive).
        let reclaim_step = [
            crate::cycles::reclaim::flow::REVIVE_LOCK,
            crate::cycles::reclaim::flow::DELETE_LOCK,
        ];
        if self.reclaim.is_reclaimed(&canister_id) && !reclaim_step.contains(&action) {
            return Err(FactoryError::CanisterReclaimed { canister_id });
        }
        record.lock = Some(crate::users::Lock {
            action: action.to_string(),
            since_ns: now_ns,
            epoch: self.epoch(),
        });
        self.put_user(record.clone());
        Ok(record)
    }

    /// Releases the lock and applies `f` to the record, if it still exists.
    pub fn unlock_canister(&mut self, owner: Principal, f: impl FnOnce(&mut UserRecord)) {
        if let Some(mut record) = self.users.get(&owner) {
            record.lock = None;
            f(&mut record);
            self.put_user(record);
        }
    }
}
