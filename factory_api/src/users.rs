//! What the factory answers about a user and their canister.

use candid::{CandidType, Deserialize, Principal};

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct ListUsersArgs {
    pub start_after: Option<Principal>,
    pub limit: u32,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<UserView>,
    /// Pass as `start_after` for the next page.
    pub next: Option<Principal>,
}

/// Where a user's canister is in its life.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// `create_canister` was sent; no id yet.
    Creating,
    /// Created (id known), code not installed yet: the next provision finishes it.
    Installing,
    /// Installed and running a release.
    Ready,
}

/// The last upgrade or recovery action on a canister and how it ended.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub action: String,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    pub at_ns: u64,
    /// None on success, the reason on failure.
    pub error: Option<String>,
}

/// What `my_canister` and admins' `get_user` answer.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    pub owner: Principal,
    pub canister_id: Option<Principal>,
    pub recovery: Principal,
    pub phase: Phase,
    pub version: Option<String>,
    pub previous_version: Option<String>,
    pub has_snapshot: bool,
    pub busy: bool,
    pub last_outcome: Option<Outcome>,
    pub created_at_ns: u64,
}
