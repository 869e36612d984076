//! A rollout plan as an admin writes it (`start_rollout`), and the validated
//! plan the status shows.

use candid::{CandidType, Deserialize, Principal};

/// What `start_rollout` takes. `opt` fields have defaults (see [`Plan`]).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RolloutPlan {
    pub target_version: String,
    /// Canary first. Each stage covers the fleet up to `fleet_bps`
    /// (cumulative); the last one must reach 10,000. Empty: one stage, 100 %.
    pub stages: Vec<StagePlan>,
    /// Upgrades in flight at once, 1..=500: each has one management call
    /// outstanding at a time.
    pub max_in_flight: u32,
    /// New upgrades a timer tick may start (default: `max_in_flight`).
    pub max_starts_per_tick: Option<u32>,
    /// Between ticks; 0 = the next round (default 1 s).
    pub tick_interval_ns: Option<u64>,
    pub retry: Option<RetryPolicy>,
    pub filter: Option<RolloutFilter>,
    /// Default: `ReplacePrevious`.
    pub snapshot: Option<SnapshotPolicy>,
    pub top_up: Option<TopUpPolicy>,
    /// Canisters above the target are skipped unless this is true.
    pub allow_downgrade: Option<bool>,
    /// Replace the active rollout, which is archived as superseded.
    pub supersede: Option<bool>,
    /// Default: `Adaptive`.
    pub admission: Option<AdmissionPolicy>,
}

/// How many upgrades run at once.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AdmissionPolicy {
    /// As many as the subnet is seen to serve without a queue (learned from
    /// the upgrades' own latencies and the IC's rejects), at most
    /// `max_in_flight`.
    #[default]
    Adaptive,
    /// Always `max_in_flight`: the schedule before admission, for
    /// comparisons, or for a subnet whose capacity the operator knows.
    Fixed,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StagePlan {
    pub name: String,
    /// Share of the fleet upgraded once this stage is done (cumulative, bps).
    pub fleet_bps: u16,
    /// The rollout halts when the stage's failures exceed this share of its
    /// attempted upgrades (bps).
    pub max_failure_bps: u16,
    /// Attempts needed before the rate is judged mid-stage (default 20); the
    /// stage is always judged when it ends.
    pub min_sample: Option<u32>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per canister, including the first (1 = no retry).
    pub max_attempts: u8,
    /// Wait before the first retry; doubled each time up to `max_backoff_ns`.
    pub initial_backoff_ns: u64,
    pub max_backoff_ns: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct RolloutFilter {
    /// Only canisters on one of these versions (empty: any).
    pub from_versions: Vec<String>,
    pub exclude_versions: Vec<String>,
    /// Only these canisters (empty: the whole fleet).
    pub canisters: Vec<Principal>,
    pub exclude_canisters: Vec<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotPolicy {
    Never,
    /// Snapshot before installing, replacing the one of the previous upgrade
    /// (the IC keeps at most 10 per canister).
    ReplacePrevious,
    /// Snapshot in every stage but the last (the canary stages, where a
    /// rollback is most likely), none in the stage that completes the fleet:
    /// a snapshot counts 2 B instructions against the subnet's round, so it
    /// bounds the rollout to about one upgrade per round.
    CanaryStages,
}

/// Cycles for user canisters about to be upgraded: an install costs cycles,
/// and a frozen canister cannot be upgraded.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopUpPolicy {
    /// Top up a canister whose balance is below this ...
    pub below: u128,
    /// ... with this many cycles (0 disables top-ups).
    pub amount: u128,
}

/// A validated plan with every default filled in; what the scheduler stores.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub target_version: String,
    pub stages: Vec<Stage>,
    pub max_in_flight: u32,
    pub max_starts_per_tick: u32,
    pub tick_interval_ns: u64,
    pub retry: RetryPolicy,
    /// Sorted and deduplicated, for binary search.
    pub from_versions: Vec<String>,
    pub exclude_versions: Vec<String>,
    pub canisters: Vec<Principal>,
    pub exclude_canisters: Vec<Principal>,
    pub snapshot: SnapshotPolicy,
    pub top_up: TopUpPolicy,
    pub allow_downgrade: bool,
    pub admission: AdmissionPolicy,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub fleet_bps: u16,
    pub max_failure_bps: u16,
    pub min_sample: u32,
}
