//! The version convention: every managed canister answers `version : () ->
//! (VersionInfo) query`, so the factory's tools (and anyone) can see which
//! release and build run there without knowing the app.

use candid::{CandidType, Deserialize};

/// What `version` answers: which build of which release runs here.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    /// The release version the factory installed, from the init/upgrade arg.
    pub release: String,
    /// The crate version this module was compiled from.
    pub crate_version: String,
    /// The git commit this module was built from, when the build knew it.
    pub git_commit: Option<String>,
}
