//! Shared wording of what commands print.

use factory_api::{AuditAction, PauseReason, RolloutState};
use factory_client::{Outcome, ReleaseState, Sha256};

pub fn state_name(state: &ReleaseState) -> &'static str {
    match state {
        ReleaseState::Uploading => "uploading",
        ReleaseState::Committed => "committed",
        ReleaseState::Approved => "approved",
        ReleaseState::Deprecated => "deprecated",
        ReleaseState::Revoked => "revoked",
    }
}

pub fn rollout_state(state: &RolloutState) -> String {
    match state {
        RolloutState::Running => "running".into(),
        RolloutState::Paused(PauseReason::Admin { by }) => format!("paused by {by}"),
        RolloutState::Paused(PauseReason::LowCycles { balance, needed }) => format!(
            "paused: the factory has {balance} cycles and needs {needed}; it resumes by itself"
        ),
        RolloutState::Halted { stage, reason } => format!("halted at stage {stage}: {reason}"),
    }
}

pub fn hex(sha: &Sha256) -> String {
    hex::encode(sha.0)
}

/// Basis points in percent, as the flags take them.
pub fn percent_bps(bps: u64) -> String {
    factory_api::rollout::percent(bps)
}

/// A time (virtual on the embedded network) as RFC 3339, in UTC.
pub fn time(ns: u64) -> String {
    // Milliseconds are enough to read, and whole seconds print without a fraction.
    let ms = i128::from(ns / 1_000_000) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(ms)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ns} ns after the epoch"))
}

/// An audited action, principals as text.
pub fn audit_action(action: &AuditAction) -> String {
    use AuditAction::*;
    match action {
        ConfigChanged => "config changed".into(),
        AdminAdded { admin } => format!("admin {admin} added"),
        AdminRemoved { admin } => format!("admin {admin} removed"),
        AllowlistSet { entries } => format!("allowlist set ({entries} entries)"),
        ReleaseBegun { version } => format!("release {version} upload begun"),
        ReleaseCommitted { version } => format!("release {version} committed"),
        ReleaseAborted { version } => format!("release {version} upload aborted"),
        ReleaseApproved { version } => format!("release {version} approved"),
        ReleaseDeprecated { version } => format!("release {version} deprecated"),
        ReleaseRevoked { version } => format!("release {version} revoked"),
        RecoveryRotated {
            canister_id,
            new_recovery,
        } => format!("canister {canister_id}: recovery rotated to {new_recovery}"),
        SnapshotRestored { canister_id } => format!("canister {canister_id}: snapshot restored"),
        ReinstalledLastGood {
            canister_id,
            version,
        } => format!("canister {canister_id}: reinstalled last good version {version}"),
        Detached { canister_id } => format!("canister {canister_id}: detached"),
        RolloutStarted { id, target_version } => {
            format!("rollout {id} started: target {target_version}")
        }
        RolloutPaused { id } => format!("rollout {id} paused"),
        RolloutResumed { id } => format!("rollout {id} resumed"),
        RolloutCancelled { id } => format!("rollout {id} cancelled"),
        CanisterAtRisk {
            canister_id,
            reason,
            balance,
        } => format!("canister {canister_id}: at risk of freezing ({reason:?}, {balance} cycles)"),
        CanisterReclaimed {
            canister_id,
            last_active_ns,
        } => format!("canister {canister_id}: reclaimed as dormant (last active at {last_active_ns} ns)"),
        CanisterRevived { canister_id } => format!("canister {canister_id}: revived"),
        CanisterDeleted {
            canister_id,
            cycles_returned,
        } => format!("canister {canister_id}: deleted after its keep period, {cycles_returned} cycles returned"),
        ShardAdded { shard } => format!("shard {shard} added"),
    }
}

pub fn outcome(o: &Outcome) -> String {
    let versions = format!(
        "{} -> {}",
        o.from_version.as_deref().unwrap_or("-"),
        o.to_version.as_deref().unwrap_or("-")
    );
    match &o.error {
        None => format!("{} {versions}: ok", o.action),
        Some(e) => format!("{} {versions}: failed: {e}", o.action),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_and_principals_text() {
        assert_eq!(time(1_748_736_000_000_000_000), "2025-06-01T00:00:00Z");
        let p = candid::Principal::from_text("rrkah-fqaaa-aaaaa-aaaaq-cai").unwrap();
        let line = audit_action(&AuditAction::Detached { canister_id: p });
        assert_eq!(line, "canister rrkah-fqaaa-aaaaa-aaaaq-cai: detached");
        let paused = rollout_state(&RolloutState::Paused(PauseReason::Admin { by: p }));
        assert_eq!(paused, "paused by rrkah-fqaaa-aaaaa-aaaaq-cai");
        assert_eq!(percent_bps(1_000), "10%");
    }
}
