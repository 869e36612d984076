//! The per-user canister: the app every user gets from the factory.
//!
//! Built to `wasm32-unknown-unknown` by `canister_artifacts`; the same crate
//! compiles natively so its Candid interface can be checked in a unit test.

use candid::{CandidType, Deserialize, Principal};
use std::cell::RefCell;

/// Named by the factory at install and at every upgrade.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UserCanisterArgs {
    /// The end user this canister belongs to.
    pub owner: Principal,
    /// The factory that provisioned and upgrades this canister.
    pub factory: Principal,
    /// The release version (semver) being installed.
    pub version: String,
}

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

thread_local! {
    static ARGS: RefCell<Option<UserCanisterArgs>> = const { RefCell::new(None) };
}

#[ic_cdk::init]
fn init(args: UserCanisterArgs) {
    ARGS.with_borrow_mut(|a| *a = Some(args));
}

#[ic_cdk::post_upgrade]
fn post_upgrade(args: UserCanisterArgs) {
    ARGS.with_borrow_mut(|a| *a = Some(args));
}

#[ic_cdk::query]
fn version() -> VersionInfo {
    VersionInfo {
        release: ARGS.with_borrow(|a| a.as_ref().map(|a| a.version.clone()).unwrap_or_default()),
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("CANISTER_GIT_COMMIT").map(str::to_string),
    }
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface_test {
    #[test]
    fn committed_did_matches_the_exported_service() {
        let did = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("user_canister.did");
        canister_artifacts::assert_did_matches(&did, &super::__export_service());
    }
}
