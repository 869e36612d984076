//! What the fleet stores: the factory's role, and at an index the shards
//! and where each owner was placed. All in stable structures.

use crate::error::FactoryError;
use crate::fleet::gate::FleetGate;
use crate::fleet::placement;
use crate::storable::{candid_storable, CandidCell};
use candid::{CandidType, Deserialize, Principal};
use factory_api::fleet::{DEFAULT_SHARD_CAPACITY, SUBNET_CANISTER_LIMIT};
use factory_api::{AddShardArgs, FactoryRole, FleetRollout, ShardView};
use ic_stable_structures::{Memory, StableBTreeMap};

/// A shard as the index stores it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardRecord {
    pub users: u64,
    pub capacity: u64,
    pub added_ns: u64,
}
candid_storable!(ShardRecord);

/// Where an owner lives. Written before the index forwards the owner's
/// first `provision`, so a retry (or a racing call) goes to the same shard.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub shard: Principal,
    /// Known once a forward came back with it.
    pub canister_id: Option<Principal>,
}
candid_storable!(Placement);

/// The role, stored as a Candid value in its cell.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct StoredRole(pub FactoryRole);
candid_storable!(StoredRole);

/// The index's fleet rollout (the last one, kept once it ended).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct StoredFleetRollout(pub Option<FleetRollout>);
candid_storable!(StoredFleetRollout);

pub struct FleetMemories<M> {
    pub role: M,
    pub shards: M,
    pub placements: M,
    pub rollout: M,
    pub gate: M,
}

pub struct FleetStore<M: Memory> {
    role: CandidCell<StoredRole, M>,
    shards: StableBTreeMap<Principal, ShardRecord, M>,
    /// owner → shard (index only)
    placements: StableBTreeMap<Principal, Placement, M>,
    rollout: CandidCell<StoredFleetRollout, M>,
    /// At a shard: the hold on its part of a fleet rollout.
    gate: CandidCell<FleetGate, M>,
    /// At an index: the row the next tick's round-robin polls start from
    /// (heap: after an upgrade they start again from the first).
    poll_cursor: usize,
}

impl<M: Memory> FleetStore<M> {
    pub fn init(m: FleetMemories<M>) -> Self {
        FleetStore {
            role: CandidCell::init(m.role, StoredRole::default()),
            shards: StableBTreeMap::init(m.shards),
            placements: StableBTreeMap::init(m.placements),
            rollout: CandidCell::init(m.rollout, StoredFleetRollout::default()),
            gate: CandidCell::init(m.gate, FleetGate::default()),
            poll_cursor: 0,
        }
    }

    pub fn role(&self) -> FactoryRole {
        self.role.get().0
    }

    /// Set once, at install.
    pub fn set_role(&mut self, role: FactoryRole) {
        self.role.set(StoredRole(role));
    }

    /// The index this shard takes work from.
    pub fn index(&self) -> Option<Principal> {
        match self.role() {
            FactoryRole::Shard { index } => Some(index),
            _ => None,
        }
    }

    pub fn add_shard(
        &mut self,
        args: AddShardArgs,
        now_ns: u64,
    ) -> Result<ShardView, FactoryError> {
        let capacity = args.capacity.unwrap_or(DEFAULT_SHARD_CAPACITY);
        if capacity == 0 || capacity >= SUBNET_CANISTER_LIMIT {
            return Err(FactoryError::OutOfRange {
                field: "capacity".into(),
                why: format!("must be within 1..{SUBNET_CANISTER_LIMIT} (a subnet's limit)"),
            });
        }
        let id = args.canister_id;
        if id == Principal::anonymous() || id == Principal::management_canister() {
            return Err(FactoryError::InvalidArgument(
                "a shard is a canister: not anonymous, not the management canister".into(),
            ));
        }
        if self.shards.contains_key(&id) {
            return Err(FactoryError::ShardExists { canister_id: id });
        }
        let record = ShardRecord {
            users: 0,
            capacity,
            added_ns: now_ns,
        };
        self.shards.insert(id, record.clone());
        Ok(view(id, &record))
    }

    pub fn shards(&self) -> Vec<ShardView> {
        self.shards
            .iter()
            .map(|e| {
                let (id, record) = e.into_pair();
                view(id, &record)
            })
            .collect()
    }

    pub fn is_shard(&self, p: &Principal) -> bool {
        self.shards.contains_key(p)
    }

    pub fn poll_cursor(&self) -> usize {
        self.poll_cursor
    }

    pub fn set_poll_cursor(&mut self, cursor: usize) {
        self.poll_cursor = cursor;
    }

    pub fn shard_ids(&self) -> Vec<Principal> {
        self.shards.keys().collect()
    }

    pub fn placement(&self, owner: &Principal) -> Option<Placement> {
        self.placements.get(owner)
    }

    /// The owner's shard: the one recorded, else the least loaded with room,
    /// recorded now (sticky from here on).
    pub fn place(&mut self, owner: Principal) -> Result<Placement, FactoryError> {
        if let Some(p) = self.placements.get(&owner) {
            return Ok(p);
        }
        let candidates = self.shards.iter().map(|e| {
            let (shard, r) = e.into_pair();
            placement::Candidate {
                shard,
                users: r.users,
                capacity: r.capacity,
            }
        });
        let shard = placement::choose(candidates).ok_or(FactoryError::NoShardCapacity)?;
        if let Some(mut record) = self.shards.get(&shard) {
            record.users += 1;
            self.shards.insert(shard, record);
        }
        let p = Placement {
            shard,
            canister_id: None,
        };
        self.placements.insert(owner, p.clone());
        Ok(p)
    }

    pub fn rollout(&self) -> Option<FleetRollout> {
        self.rollout.get().0.clone()
    }

    pub fn set_rollout(&mut self, r: FleetRollout) {
        self.rollout.set(StoredFleetRollout(Some(r)));
    }

    /// Applies `f` to the fleet rollout `id`, if it is still the current one.
    pub fn update_rollout<T>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut FleetRollout) -> T,
    ) -> Option<T> {
        let mut r = self.rollout().filter(|r| r.id == id)?;
        let out = f(&mut r);
        self.set_rollout(r);
        Some(out)
    }

    pub fn gate(&self) -> FleetGate {
        self.gate.get().clone()
    }

    pub fn set_gate(&mut self, gate: FleetGate) {
        self.gate.set(gate);
    }

    /// Remembers the canister a forward came back with.
    pub fn placed(&mut self, owner: Principal, canister_id: Principal) {
        if let Some(mut p) = self.placements.get(&owner) {
            p.canister_id = Some(canister_id);
            self.placements.insert(owner, p);
        }
    }
}

/// `add_shard` at the index, audited.
pub fn add_shard<M: Memory>(
    s: &mut crate::state::FactoryState<M>,
    caller: Principal,
    args: AddShardArgs,
    now_ns: u64,
) -> Result<ShardView, FactoryError> {
    let shard = args.canister_id;
    let result = s.fleet.add_shard(args, now_ns);
    let error = result.as_ref().err().map(ToString::to_string);
    s.audit(
        now_ns,
        caller,
        crate::audit::AuditAction::ShardAdded { shard },
        error,
    );
    result
}

fn view(canister_id: Principal, r: &ShardRecord) -> ShardView {
    ShardView {
        canister_id,
        users: r.users,
        capacity: r.capacity,
        added_ns: r.added_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn store() -> FleetStore<VectorMemory> {
        FleetStore::init(FleetMemories {
            role: VectorMemory::default(),
            shards: VectorMemory::default(),
            placements: VectorMemory::default(),
            rollout: VectorMemory::default(),
            gate: VectorMemory::default(),
        })
    }

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    fn add(s: &mut FleetStore<VectorMemory>, n: u8, capacity: u64) {
        s.add_shard(
            AddShardArgs {
                canister_id: p(n),
                capacity: Some(capacity),
            },
            7,
        )
        .expect("added");
    }

    #[test]
    fn role_defaults_to_standalone_and_names_the_index() {
        let mut s = store();
        assert_eq!(s.role(), FactoryRole::Standalone);
        assert_eq!(s.index(), None);
        s.set_role(FactoryRole::Shard { index: p(9) });
        assert_eq!(s.index(), Some(p(9)));
    }

    #[test]
    fn placement_is_sticky_balanced_and_capped() {
        let mut s = store();
        assert_eq!(s.place(p(100)), Err(FactoryError::NoShardCapacity));
        add(&mut s, 1, 2);
        add(&mut s, 2, 2);
        let first = s.place(p(100)).expect("placed");
        // Sticky: the same owner again changes nothing.
        assert_eq!(s.place(p(100)), Ok(first.clone()));
        let second = s.place(p(101)).expect("placed");
        assert_ne!(first.shard, second.shard, "least loaded first");
        s.place(p(102)).expect("placed");
        s.place(p(103)).expect("placed");
        assert_eq!(s.place(p(104)), Err(FactoryError::NoShardCapacity));
        assert!(s.shards().iter().all(|v| v.users == 2));
        s.placed(p(100), p(50));
        assert_eq!(
            s.placement(&p(100)).and_then(|p| p.canister_id),
            Some(p(50))
        );
    }

    #[test]
    fn bad_shards_are_refused() {
        let mut s = store();
        add(&mut s, 1, 10);
        let again = AddShardArgs {
            canister_id: p(1),
            capacity: None,
        };
        assert_eq!(
            s.add_shard(again, 0),
            Err(FactoryError::ShardExists { canister_id: p(1) })
        );
        for capacity in [0, SUBNET_CANISTER_LIMIT] {
            let args = AddShardArgs {
                canister_id: p(2),
                capacity: Some(capacity),
            };
            assert!(matches!(
                s.add_shard(args, 0),
                Err(FactoryError::OutOfRange { .. })
            ));
        }
        let anon = AddShardArgs {
            canister_id: Principal::anonymous(),
            capacity: None,
        };
        assert!(matches!(
            s.add_shard(anon, 0),
            Err(FactoryError::InvalidArgument(_))
        ));
        assert_eq!(s.shards()[0].capacity, 10);
    }

    /// The stored layouts, byte for byte: a change here breaks decoding of
    /// what deployed indexes and shards hold.
    #[test]
    fn stored_records_decode_from_their_golden_bytes() {
        use ic_stable_structures::Storable;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/fleet/golden");
        let plan = factory_api::RolloutPlan {
            target_version: "2.0.0".into(),
            stages: vec![],
            max_in_flight: 10,
            max_starts_per_tick: None,
            tick_interval_ns: None,
            retry: None,
            filter: None,
            snapshot: None,
            admission: None,
            top_up: None,
            allow_downgrade: None,
            supersede: None,
        };
        let rollout =
            crate::fleet::rollout::new_rollout(4, plan, &[p(5)], p(6), 7).expect("rollout");
        let cases: [(&str, Vec<u8>); 5] = [
            (
                "shard_record",
                ShardRecord {
                    users: 3,
                    capacity: 90_000,
                    added_ns: 5,
                }
                .into_bytes(),
            ),
            (
                "placement",
                Placement {
                    shard: p(1),
                    canister_id: Some(p(2)),
                }
                .into_bytes(),
            ),
            (
                "role_shard",
                StoredRole(FactoryRole::Shard { index: p(3) }).into_bytes(),
            ),
            (
                "gate",
                FleetGate {
                    rollout_id: Some(8),
                    allowed_stage: 1,
                }
                .into_bytes(),
            ),
            (
                "fleet_rollout",
                StoredFleetRollout(Some(rollout)).into_bytes(),
            ),
        ];
        for (name, bytes) in cases {
            let path = dir.join(format!("{name}.bin"));
            if std::env::var_os("UPDATE_GOLDEN").is_some() {
                std::fs::create_dir_all(&dir).expect("golden dir");
                std::fs::write(&path, &bytes).expect("write golden");
            }
            let golden = std::fs::read(&path).expect("golden file committed");
            assert_eq!(golden, bytes, "{name}: layout changed");
        }
        let golden = |name: &str| {
            std::borrow::Cow::Owned(std::fs::read(dir.join(format!("{name}.bin"))).expect("golden"))
        };
        assert_eq!(ShardRecord::from_bytes(golden("shard_record")).users, 3);
        assert_eq!(Placement::from_bytes(golden("placement")).shard, p(1));
        assert_eq!(
            StoredRole::from_bytes(golden("role_shard")).0,
            FactoryRole::Shard { index: p(3) }
        );
        assert_eq!(FleetGate::from_bytes(golden("gate")).rollout_id, Some(8));
        let r = StoredFleetRollout::from_bytes(golden("fleet_rollout")).0;
        assert_eq!(r.map(|r| (r.id, r.shards.len())), Some((4, 1)));
    }
}
