//! Arguments and small replies of the factory's endpoints.

use crate::config::FactoryConfig;
use candid::{CandidType, Deserialize, Principal};
use wasm_registry::RegistryConfig;

/// The install/upgrade argument (one type for both, as dfx expects).
#[derive(CandidType, Deserialize, Clone, Debug)]
// Decoded once per install or upgrade: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum FactoryArg {
    Init(FactoryInitArgs),
    Upgrade(FactoryUpgradeArgs),
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct FactoryInitArgs {
    /// The first admins; admins manage admins afterwards.
    pub admins: Vec<Principal>,
    /// Defaults apply when absent.
    pub config: Option<FactoryConfig>,
    /// Release approval policy; the registry's default when absent.
    pub approvals: Option<RegistryConfig>,
    /// Standalone when absent (`fleet::FactoryRole`).
    pub role: Option<crate::fleet::FactoryRole>,
}

/// Nothing to change at upgrade yet; a record so fields can be added.
#[derive(CandidType, Deserialize, Clone, Debug, Default)]
pub struct FactoryUpgradeArgs {}

/// What `version` answers: which build of the factory runs here.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    pub crate_version: String,
    /// The git commit this module was built from, when the build knew it.
    pub git_commit: Option<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FactorySettings {
    pub config: FactoryConfig,
    pub approvals: RegistryConfig,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct ProvisionArgs {
    /// A second controller of the new canister, able to recover it without
    /// the factory. May be the owner's own principal.
    pub recovery: Principal,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct RotateRecoveryArgs {
    pub canister_id: Principal,
    pub new_recovery: Principal,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct ListReleasesArgs {
    /// Versions after this one (exclusive), ascending.
    pub after: Option<String>,
    pub limit: u32,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct ReleaseStateChange {
    pub version: String,
    pub reason: String,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct AuditQuery {
    /// Entries with a sequence number below this (newest first); none = newest.
    pub before: Option<u64>,
    pub limit: u32,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct RequestUpgradeArgs {
    pub canister_id: Principal,
    /// None: the newest approved release.
    pub version: Option<String>,
}
