//! Rollouts and upgrades: plans, progress, history, on-demand requests.

pub mod membership;
pub mod model;
pub mod plan;
pub mod status;

pub use model::*;
pub use plan::*;
pub use status::*;

use candid::{CandidType, Deserialize, Principal};

/// What an accepted request answers.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UpgradeAccepted {
    pub canister_id: Principal,
    pub from_version: String,
    pub target_version: String,
    /// The same request was already queued or running: nothing was charged.
    pub already_pending: bool,
}

/// Basis points as a percentage, as the command line takes them.
pub fn percent(bps: u64) -> String {
    let text = format!("{}.{:02}", bps / 100, bps % 100);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}
