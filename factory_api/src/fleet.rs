//! A fleet of factories across subnets: the role a factory runs in, and the
//! wire types of the index ↔ shard endpoints.

use crate::error::FactoryError;
use candid::{CandidType, Deserialize, Principal};
use wasm_registry::ReleaseState;

/// A subnet holds at most this many canisters; creation fails past it
/// (dfinity/ic `rs/config/src/subnet_config.rs`, the subnet's canister limit
/// as the emulator issue cites it). A shard's cap must stay below.
pub const SUBNET_CANISTER_LIMIT: u64 = 100_000;

/// A shard's cap when `add_shard` names none: room left on the subnet for
/// the shard itself, other apps and canisters created outside placement.
pub const DEFAULT_SHARD_CAPACITY: u64 = 90_000;

/// The role of one factory module, chosen at install (`FactoryInitArgs.role`).
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FactoryRole {
    /// One factory, one subnet: today's behaviour, for small apps.
    #[default]
    Standalone,
    /// The fleet's front door: admins, registry and approvals, placement.
    Index,
    /// One per subnet: creates, upgrades and recovers the user canisters of
    /// its subnet; takes work only from its index and its admins.
    Shard { index: Principal },
}

/// `add_shard`: register a factory installed as `Shard { index: <this index> }`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AddShardArgs {
    pub canister_id: Principal,
    /// Most users placed on it; `DEFAULT_SHARD_CAPACITY` when absent, and
    /// below `SUBNET_CANISTER_LIMIT`.
    pub capacity: Option<u64>,
}

/// One shard as the index sees it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardView {
    pub canister_id: Principal,
    /// Owners placed on it (each with at most one canister there).
    pub users: u64,
    pub capacity: u64,
    /// When the index registered it.
    pub added_ns: u64,
}

/// `shard_provision`: the index forwards an owner's `provision`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardProvisionArgs {
    pub owner: Principal,
    pub recovery: Principal,
}

/// `push_release`'s row for one shard.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardReleaseRow {
    pub shard: Principal,
    /// The release's state on the shard after the push, or why not.
    pub result: Result<ReleaseState, FactoryError>,
}

/// Where a fleet rollout stands at the index.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum FleetRolloutState {
    Running,
    /// An admin paused it; every shard was asked to pause.
    Paused,
    /// The stage's failures, summed over every shard, passed its threshold
    /// (or a shard halted by itself); every shard was asked to pause.
    Halted {
        stage: u8,
        reason: String,
    },
    Completed,
    Cancelled,
}

/// One shard's part in a fleet rollout.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FleetShardRow {
    pub shard: Principal,
    /// The fleet stage the shard's own plan begins with: 0 for the canary
    /// shard, 1 for the others (they skip the canary).
    pub first_stage: u8,
    /// The shard's own rollout, once started.
    pub local_id: Option<u64>,
    /// The last fleet stage the shard was let run (it holds at its end).
    pub allowed_stage: Option<u8>,
    /// Per fleet stage, the shard's counters as last read.
    pub stages: Vec<crate::rollout::StageCounters>,
    /// The fleet stage the shard last reported running, and whether its pass
    /// over that stage was done with nothing pending.
    pub current_stage: Option<u8>,
    pub stage_complete: bool,
    /// The shard's rollout ended (all its stages done).
    pub finished: bool,
    /// The last call to the shard that failed, if the latest did.
    pub last_error: Option<String>,
}

/// A fleet rollout: one plan at the index, stages across the shards, and a
/// row per shard. What `fleet_rollout_status` answers.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FleetRollout {
    pub id: u64,
    pub plan: crate::rollout::RolloutPlan,
    pub state: FleetRolloutState,
    /// The fleet stage running now.
    pub stage: u8,
    /// Per fleet stage, summed over the shards.
    pub totals: Vec<crate::rollout::StageCounters>,
    pub shards: Vec<FleetShardRow>,
    pub started_by: Principal,
    pub started_ns: u64,
    /// The stage an admin resumed past its halt: its threshold is not
    /// applied again.
    pub halt_overridden: Option<u8>,
}

/// `shard_rollout`: the index starts the shard's part of a fleet rollout
/// (`plan`), or lets its rollout `rollout_id` run through `allowed_stage`
/// (its own stage numbers). The shard holds at the end of that stage.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardRolloutArgs {
    pub plan: Option<crate::rollout::RolloutPlan>,
    pub rollout_id: Option<u64>,
    pub allowed_stage: u8,
}

/// `shard_progress`: a shard tells its index, one-way, where its part of a
/// fleet rollout stands, when a stage's pass ends, the rollout ends or halts,
/// or failures grow; so the index learns it without polling. A snapshot, not
/// a delta: a duplicate changes nothing, and the index drops one older than
/// what it already holds.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardProgress {
    /// The shard's own rollout (`FleetShardRow.local_id`).
    pub rollout_id: u64,
    /// Per stage of the shard's own plan, its counters.
    pub stages: Vec<crate::rollout::StageCounters>,
    /// The shard's own stage running now (or the last, once ended).
    pub current_stage: u8,
    /// That stage's pass is done with nothing pending.
    pub stage_complete: bool,
    /// The shard's rollout ended, and how.
    pub ended: Option<crate::rollout::RolloutEnd>,
    /// The shard halted it by itself (e.g. its target was revoked there).
    pub halted: Option<String>,
}

/// `create_shard`: the index creates a canister, installs `module` (this
/// factory's own module) in it as its shard, and registers it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateShardArgs {
    pub module: serde_bytes::ByteBuf,
    /// As in `add_shard`.
    pub capacity: Option<u64>,
    /// Cycles the new shard starts with (`DEFAULT_SHARD_CYCLES` when absent).
    pub cycles: Option<u128>,
    /// The subnet to create it on, through the cycles-minting canister's
    /// `subnet_selection` (paid from the index's cycles); absent: the
    /// index's own subnet, through the management canister.
    pub subnet: Option<Principal>,
}

/// Cycles a created shard starts with: room for its first users' canisters.
pub const DEFAULT_SHARD_CYCLES: u128 = 50_000_000_000_000;

/// `upgrade_shards`' row for one shard.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardUpgradeRow {
    pub shard: Principal,
    pub result: Result<(), FactoryError>,
}
