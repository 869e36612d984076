//! Reclaiming dormant canisters: the policy (part of `FactoryConfig`), the
//! state of a reclaimed canister, and what `reclaim_status` answers.

use crate::error::FactoryError;
use candid::{CandidType, Deserialize, Principal};

const SECOND_NS: u64 = 1_000_000_000;
const DAY_NS: u64 = 86_400 * SECOND_NS;

/// When the factory reclaims a canister whose owner is gone, and what then.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReclaimPolicy {
    /// A canister whose owner's activity was last reported this long ago is
    /// reclaimed: snapshotted, its code uninstalled (id, controllers,
    /// cycles and snapshot kept), stopped.
    pub inactive_after_ns: u64,
    /// How long a reclaimed canister is kept revivable (`revive`, by its
    /// owner or recovery principal) before it may be deleted.
    pub keep_ns: u64,
    /// Delete a reclaimed canister after `keep_ns` (its cycles returned to
    /// the factory first); false: kept reclaimed until revived.
    pub delete_after_keep: bool,
    /// How often the reclaim tick runs.
    pub tick_interval_ns: u64,
    /// The most reclaims plus deletions a tick starts, and the most users it
    /// registers: bounded work per tick whatever the fleet's size.
    pub max_per_tick: u32,
}

pub const MAX_RECLAIM_BATCH: u32 = 100;
/// The factory records a canister's activity report at most once per this
/// (a report within it changes nothing and costs one B-tree read).
pub const ACTIVITY_REPORT_INTERVAL_NS: u64 = 3_600 * SECOND_NS;

impl Default for ReclaimPolicy {
    fn default() -> Self {
        ReclaimPolicy {
            inactive_after_ns: 180 * DAY_NS,
            keep_ns: 90 * DAY_NS,
            delete_after_keep: false,
            tick_interval_ns: 600 * SECOND_NS,
            max_per_tick: 10,
        }
    }
}

impl ReclaimPolicy {
    pub fn validate(&self) -> Result<(), FactoryError> {
        let invalid = |why: &str| Err(FactoryError::InvalidConfig(format!("reclaim: {why}")));
        // Reports are recorded at most hourly: a shorter window would call
        // an owner dormant between two of them.
        if self.inactive_after_ns < 2 * ACTIVITY_REPORT_INTERVAL_NS {
            return invalid("inactive_after_ns must be at least two hours");
        }
        if self.keep_ns == 0 || self.tick_interval_ns == 0 {
            return invalid("keep_ns and tick_interval_ns must be positive");
        }
        if self.max_per_tick == 0 || self.max_per_tick > MAX_RECLAIM_BATCH {
            return invalid("max_per_tick must be in 1..=100");
        }
        Ok(())
    }
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReclaimedView {
    pub canister_id: Principal,
    pub owner: Principal,
    /// The release that ran when it was reclaimed.
    pub version: Option<String>,
    pub last_active_ns: u64,
    pub reclaimed_at_ns: u64,
    /// When it is deleted (None: the policy keeps it).
    pub deletes_at_ns: Option<u64>,
    /// Its balance when reclaimed.
    pub cycles_at_reclaim: u128,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReclaimQuery {
    /// Canisters after this one (paging), in id order.
    pub after: Option<Principal>,
    pub limit: u32,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReclaimStatus {
    pub policy: Option<ReclaimPolicy>,
    /// Canisters whose last activity the factory knows.
    pub tracked: u64,
    pub reclaimed: u64,
    pub deleted_total: u64,
    pub revived_total: u64,
    /// Cycles deleted canisters sent back to the factory.
    pub cycles_returned_total: u128,
    pub canisters: Vec<ReclaimedView>,
    pub next_after: Option<Principal>,
}
