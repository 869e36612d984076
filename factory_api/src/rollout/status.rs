//! What `rollout_status`, `rollout_history` and `upgrade_status` answer.

use super::model::*;
use super::plan::Plan;
use crate::users::Outcome;
use candid::{CandidType, Deserialize, Principal};

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RolloutStatus {
    pub active: Option<ActiveRollout>,
    /// Everything the scheduler holds, rollouts and on-demand requests.
    pub queued: u64,
    pub retrying: u64,
    pub in_flight: u32,
    pub max_in_flight: u32,
    pub totals: Totals,
    pub admission: AdmissionStatus,
}

/// The admission window, learned from the factory's own completions: how
/// many upgrades the subnet is seen to serve, and what waits stopped now.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct AdmissionStatus {
    /// Upgrades allowed in flight now (under `max_in_flight`).
    pub window: u32,
    /// Canisters stopping, stopped or being installed right now.
    pub stopped_now: u32,
    /// Least and latest latency of one upgrade, taken to recorded.
    pub base_latency_ns: u64,
    pub latency_ns: u64,
    /// The controller's current rate: upgrades it lets start per 1,000 s
    /// (about 1,000 rounds on the IC), learned from what the subnet served.
    pub upgrades_per_ks: u64,
    /// Most upgrades per 1,000 rounds the current stage's snapshot policy
    /// allows: a snapshot counts 2 B instructions against a subnet's 437 M
    /// round budget for heavy messages, so about one per round; None when
    /// no snapshot is taken (the installs' own cost bounds it).
    pub policy_bound_per_kround: Option<u64>,
    /// The rest of the rollout at `upgrades_per_ks`.
    pub eta_at_rate_ns: Option<u64>,
    /// Times a SysTransient reject or a timeout halved the window.
    pub cuts: u64,
    /// Stopped intervals (stop sent → start answered) of the latest
    /// upgrades, as the factory saw them: p50, p99, max.
    pub downtime_p50_ns: u64,
    pub downtime_p99_ns: u64,
    pub downtime_max_ns: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ActiveRollout {
    pub id: u64,
    pub plan: Plan,
    pub state: RolloutState,
    pub current_stage: u8,
    pub stages: Vec<StageStatus>,
    /// Most frequent first.
    pub failure_reasons: Vec<FailureReason>,
    pub started_by: Principal,
    pub started_ns: u64,
    /// The current stage's pass over the users is done.
    pub current_stage_enumerated: bool,
    /// Canisters the rollout should touch, estimated at its start.
    pub eligible_estimate: u64,
    /// Upgrades (done or failed) per hour since the start.
    pub per_hour: u64,
    pub eta_ns: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum StagePhase {
    Waiting,
    Running,
    Done,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StageStatus {
    pub name: String,
    pub fleet_bps: u16,
    pub max_failure_bps: u16,
    pub phase: StagePhase,
    pub pending: u64,
    pub counters: StageCounters,
    pub failure_bps: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct HistoryQuery {
    /// Entries before this index (newest first); none = the newest.
    pub before: Option<u64>,
    pub limit: u32,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    pub rollouts: Vec<RolloutSummary>,
    pub next_before: Option<u64>,
    pub total: u64,
}

/// One canister's upgrade state: its last outcome and what is pending.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UpgradeStatus {
    pub canister_id: Principal,
    pub version: Option<String>,
    pub last_outcome: Option<Outcome>,
    pub pending: Option<PendingUpgrade>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PendingUpgrade {
    pub target_version: String,
    pub on_demand: bool,
    pub rollout_id: Option<u64>,
    /// queued, retrying or in_flight
    pub state: String,
    pub phase: Option<JobPhase>,
    pub attempts: u8,
    pub next_try_ns: Option<u64>,
    pub last_error: Option<String>,
}
