//! Notes, release 1: an app of its own that the factory manages, built only on
//! the guest library (`factory_guest`) and ic-cdk.
//!
//! Schema 1: each note is its text, keyed by a sequence number, in memory 1.
//! Release 2 (`examples/notes_v2`) migrates it.

use candid::Principal;
use factory_guest::InstallArgs;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, StableBTreeMap, StableCell};
use std::cell::RefCell;

type Memory = VirtualMemory<DefaultMemoryImpl>;

thread_local! {
    static MEMORY: MemoryManager<DefaultMemoryImpl> = MemoryManager::init(DefaultMemoryImpl::default());
    /// The factory's argument, kept for `version` and the owner check.
    static ARGS: RefCell<StableCell<InstallArgs, Memory>> = RefCell::new(StableCell::init(
        MEMORY.with(|m| m.get(MemoryId::new(0))),
        InstallArgs { owner: Principal::anonymous(), factory: Principal::anonymous(), version: String::new(), app_arg: None },
    ));
    static NOTES: RefCell<StableBTreeMap<u64, String, Memory>> =
        RefCell::new(StableBTreeMap::init(MEMORY.with(|m| m.get(MemoryId::new(1)))));
}

fn keep(args: InstallArgs) {
    // A broken argument fails the install: nothing is half set.
    let args = args
        .checked()
        .unwrap_or_else(|e| ic_cdk::trap(e.to_string()));
    ARGS.with_borrow_mut(|c| c.set(args));
}

fn args() -> InstallArgs {
    ARGS.with_borrow(|c| c.get().clone())
}

#[ic_cdk::init]
fn init(args: InstallArgs) {
    keep(args);
}

#[ic_cdk::post_upgrade]
fn post_upgrade(args: InstallArgs) {
    keep(args);
}

// `version` and the owner's one-way `request_upgrade`.
factory_guest::factory_managed!(args());

fn owner_only() -> Result<(), String> {
    (ic_cdk::api::msg_caller() == args().owner)
        .then_some(())
        .ok_or_else(|| "only the owner".to_string())
}

#[ic_cdk::update]
fn add_note(text: String) -> Result<u64, String> {
    owner_only()?;
    NOTES.with_borrow_mut(|n| {
        let id = n.last_key_value().map_or(0, |(k, _)| k + 1);
        n.insert(id, text);
        Ok(id)
    })
}

#[ic_cdk::query]
fn notes() -> Result<Vec<(u64, String)>, String> {
    owner_only()?;
    Ok(NOTES.with_borrow(|n| n.iter().map(|e| e.into_pair()).collect()))
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    #[test]
    fn committed_did_matches_the_exported_service() {
        let did = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("notes_v1.did");
        canister_artifacts::assert_did_matches(&did, &super::__export_service());
    }
}
