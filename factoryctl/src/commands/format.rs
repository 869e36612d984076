//! Shared wording of what commands print.

use factory_api::RolloutState;
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
        RolloutState::Paused(reason) => format!("paused ({reason:?})"),
        RolloutState::Halted { stage, reason } => format!("halted at stage {stage}: {reason}"),
    }
}

pub fn hex(sha: &Sha256) -> String {
    hex::encode(sha.0)
}

pub fn percent_bps(bps: u64) -> String {
    format!("{:.2}%", bps as f64 / 100.0)
}

/// Virtual or real seconds since the epoch, as nanoseconds are hard to read.
pub fn secs(ns: u64) -> String {
    format!("{:.3}s", ns as f64 / 1e9)
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
