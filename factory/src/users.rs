//! What the factory remembers about each user and their canister.

use crate::rate_limit::TokenBucket;
use candid::{CandidType, Deserialize, Principal};

pub use factory_api::{Outcome, Phase, UserView};

/// An action holding a canister, so two never interleave on it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    pub action: String,
    pub since_ns: u64,
    /// The factory's epoch when taken: a lock from an earlier epoch is stale
    /// (its callbacks died with the factory's previous module).
    pub epoch: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub owner: Principal,
    pub recovery: Principal,
    pub canister_id: Option<Principal>,
    pub phase: Phase,
    /// The release installed now.
    pub version: Option<String>,
    /// The release that ran before the last successful upgrade.
    pub previous_version: Option<String>,
    /// The snapshot taken before the last upgrade.
    pub snapshot_id: Option<Vec<u8>>,
    pub last_outcome: Option<Outcome>,
    pub created_at_ns: u64,
    pub lock: Option<Lock>,
    /// This user's on-demand upgrade allowance.
    pub upgrade_bucket: Option<TokenBucket>,
}

impl UserRecord {
    pub fn new(owner: Principal, recovery: Principal, now_ns: u64, epoch: u64) -> Self {
        UserRecord {
            owner,
            recovery,
            canister_id: None,
            phase: Phase::Creating,
            version: None,
            previous_version: None,
            snapshot_id: None,
            last_outcome: None,
            created_at_ns: now_ns,
            lock: Some(Lock {
                action: "provision".into(),
                since_ns: now_ns,
                epoch,
            }),
            upgrade_bucket: None,
        }
    }

    /// Held by a live action of this epoch.
    pub fn is_locked(&self, epoch: u64) -> bool {
        self.lock.as_ref().is_some_and(|l| l.epoch == epoch)
    }
}

impl UserRecord {
    pub fn view(&self, epoch: u64) -> UserView {
        UserView {
            owner: self.owner,
            canister_id: self.canister_id,
            recovery: self.recovery,
            phase: self.phase.clone(),
            version: self.version.clone(),
            previous_version: self.previous_version.clone(),
            has_snapshot: self.snapshot_id.is_some(),
            busy: self.is_locked(epoch),
            last_outcome: self.last_outcome.clone(),
            created_at_ns: self.created_at_ns,
        }
    }
}
