//! The factory canister: provisions one canister per user, keeps the registry of
//! approved releases and upgrades the fleet.

use candid::{CandidType, Deserialize, Principal};
use std::cell::RefCell;

/// Given once, at install.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FactoryInitArgs {
    /// The first admins; admins manage admins afterwards.
    pub admins: Vec<Principal>,
}

/// What `version` answers: which build of the factory runs here.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// The crate version this module was compiled from.
    pub crate_version: String,
    /// The git commit this module was built from, when the build knew it.
    pub git_commit: Option<String>,
}

thread_local! {
    static ADMINS: RefCell<Vec<Principal>> = const { RefCell::new(Vec::new()) };
}

#[ic_cdk::init]
fn init(args: FactoryInitArgs) {
    ADMINS.with_borrow_mut(|a| *a = args.admins);
}

#[ic_cdk::query]
fn version() -> BuildInfo {
    BuildInfo {
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("CANISTER_GIT_COMMIT").map(str::to_string),
    }
}

#[ic_cdk::query]
fn admins() -> Vec<Principal> {
    ADMINS.with_borrow(Clone::clone)
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface_test {
    #[test]
    fn committed_did_matches_the_exported_service() {
        let did = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("factory.did");
        canister_artifacts::assert_did_matches(&did, &super::__export_service());
    }
}
