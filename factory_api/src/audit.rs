//! The audit log as `audit_log` answers it.

use candid::{CandidType, Deserialize, Principal};

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum AuditAction {
    ConfigChanged,
    AdminAdded {
        admin: Principal,
    },
    AdminRemoved {
        admin: Principal,
    },
    AllowlistSet {
        entries: u32,
    },
    ReleaseBegun {
        version: String,
    },
    ReleaseCommitted {
        version: String,
    },
    ReleaseAborted {
        version: String,
    },
    ReleaseApproved {
        version: String,
    },
    ReleaseDeprecated {
        version: String,
    },
    ReleaseRevoked {
        version: String,
    },
    RecoveryRotated {
        canister_id: Principal,
        new_recovery: Principal,
    },
    SnapshotRestored {
        canister_id: Principal,
    },
    ReinstalledLastGood {
        canister_id: Principal,
        version: String,
    },
    Detached {
        canister_id: Principal,
    },
    RolloutStarted {
        id: u64,
        target_version: String,
    },
    RolloutPaused {
        id: u64,
    },
    RolloutResumed {
        id: u64,
    },
    RolloutCancelled {
        id: u64,
    },
    /// The keeper cannot keep this canister alive (reported once per episode).
    CanisterAtRisk {
        canister_id: Principal,
        reason: crate::cycles::AtRiskReason,
        balance: u128,
    },
    /// A dormant canister was snapshotted and its code uninstalled.
    CanisterReclaimed {
        canister_id: Principal,
        last_active_ns: u64,
    },
    /// A reclaimed canister was brought back from its snapshot.
    CanisterRevived {
        canister_id: Principal,
    },
    /// A reclaimed canister was deleted after its keep period.
    CanisterDeleted {
        canister_id: Principal,
        cycles_returned: u128,
    },
    /// An index registered a shard.
    ShardAdded {
        shard: Principal,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: u64,
    pub time_ns: u64,
    pub caller: Principal,
    pub action: AuditAction,
    /// None when it succeeded, the error when it failed.
    pub error: Option<String>,
}

/// One page of the log, newest first.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` to get the next (older) page.
    pub next_before: Option<u64>,
    pub total: u64,
}
