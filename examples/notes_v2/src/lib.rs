//! Notes, release 2: the same app with a new data schema, and the migration
//! from release 1 in `post_upgrade`. Built only on the guest library.
//!
//! Schema 2: each note is a record (text, word count), in memory 2. Release 1
//! kept plain text in memory 1; the upgrade moves every note across and empties
//! memory 1, once (the schema marker in memory 3 says it is done). A trap in the
//! migration rolls the whole upgrade back: release 1 keeps running on its data.
//!
//! Its release may carry an app argument ([`Settings`]): the longest note the
//! owner may write. A release whose argument is not `Settings` fails to install.

use candid::{CandidType, Deserialize, Principal};
use factory_guest::InstallArgs;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::storable::{Bound, Storable};
use ic_stable_structures::{DefaultMemoryImpl, StableBTreeMap, StableCell};
use std::borrow::Cow;
use std::cell::RefCell;

type Memory = VirtualMemory<DefaultMemoryImpl>;

const SCHEMA: u32 = 2;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub words: u32,
}

/// The app argument an admin attaches to a release of this app
/// (`factoryctl publish --app-arg '(record { max_note_len = 140 : nat32 })'`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Longest note text, in bytes.
    pub max_note_len: u32,
}

impl Note {
    fn new(text: String) -> Self {
        let words = text.split_whitespace().count() as u32;
        Note { text, words }
    }
}

impl Storable for Note {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(candid::encode_one(self).expect("a note encodes"))
    }
    fn into_bytes(self) -> Vec<u8> {
        self.to_bytes().into_owned()
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        candid::decode_one(&bytes).expect("a note written by this app")
    }
    const BOUND: Bound = Bound::Unbounded;
}

thread_local! {
    static MEMORY: MemoryManager<DefaultMemoryImpl> = MemoryManager::init(DefaultMemoryImpl::default());
    static ARGS: RefCell<StableCell<InstallArgs, Memory>> = RefCell::new(StableCell::init(
        MEMORY.with(|m| m.get(MemoryId::new(0))),
        InstallArgs { owner: Principal::anonymous(), factory: Principal::anonymous(), version: String::new(), app_arg: None },
    ));
    /// Release 1's notes, emptied by the migration.
    static NOTES_V1: RefCell<StableBTreeMap<u64, String, Memory>> =
        RefCell::new(StableBTreeMap::init(MEMORY.with(|m| m.get(MemoryId::new(1)))));
    static NOTES: RefCell<StableBTreeMap<u64, Note, Memory>> =
        RefCell::new(StableBTreeMap::init(MEMORY.with(|m| m.get(MemoryId::new(2)))));
    /// 0 until this release's code ran once.
    static SCHEMA_MARK: RefCell<StableCell<u32, Memory>> =
        RefCell::new(StableCell::init(MEMORY.with(|m| m.get(MemoryId::new(3))), 0));
}

fn keep(args: InstallArgs) {
    let args = args
        .checked()
        .unwrap_or_else(|e| ic_cdk::trap(e.to_string()));
    // A release argument of another type fails the install, before anything is kept.
    if let Err(e) = args.app_arg::<Settings>() {
        ic_cdk::trap(e.to_string());
    }
    ARGS.with_borrow_mut(|c| c.set(args));
}

/// The settings of the release running here, if it has any.
fn current_settings() -> Option<Settings> {
    args().app_arg::<Settings>().ok().flatten()
}

fn args() -> InstallArgs {
    ARGS.with_borrow(|c| c.get().clone())
}

#[ic_cdk::init]
fn init(args: InstallArgs) {
    keep(args);
    SCHEMA_MARK.with_borrow_mut(|s| s.set(SCHEMA));
}

#[ic_cdk::post_upgrade]
fn post_upgrade(args: InstallArgs) {
    keep(args);
    if SCHEMA_MARK.with_borrow(|s| *s.get()) < SCHEMA {
        let moved = migrate_from_v1();
        SCHEMA_MARK.with_borrow_mut(|s| s.set(SCHEMA));
        ic_cdk::println!("notes: schema 1 -> 2, {moved} notes");
    }
}

/// Moves every release-1 note into the schema-2 map.
fn migrate_from_v1() -> u64 {
    let old: Vec<(u64, String)> =
        NOTES_V1.with_borrow(|n| n.iter().map(|e| e.into_pair()).collect());
    NOTES.with_borrow_mut(|n| {
        for (id, text) in &old {
            n.insert(*id, Note::new(text.clone()));
        }
    });
    NOTES_V1.with_borrow_mut(|n| n.clear_new());
    old.len() as u64
}

factory_guest::factory_managed!(args());

fn owner_only() -> Result<(), String> {
    (ic_cdk::api::msg_caller() == args().owner)
        .then_some(())
        .ok_or_else(|| "only the owner".to_string())
}

#[ic_cdk::update]
fn add_note(text: String) -> Result<u64, String> {
    owner_only()?;
    if let Some(max) = current_settings().map(|s| s.max_note_len) {
        if text.len() > max as usize {
            return Err(format!("a note is at most {max} bytes in this release"));
        }
    }
    NOTES.with_borrow_mut(|n| {
        let id = n.last_key_value().map_or(0, |(k, _)| k + 1);
        n.insert(id, Note::new(text));
        Ok(id)
    })
}

#[ic_cdk::query]
fn notes() -> Result<Vec<(u64, Note)>, String> {
    owner_only()?;
    Ok(NOTES.with_borrow(|n| n.iter().map(|e| e.into_pair()).collect()))
}

/// The release's app argument, as this app reads it.
#[ic_cdk::query]
fn settings() -> Option<Settings> {
    current_settings()
}

#[ic_cdk::query]
fn schema() -> u32 {
    SCHEMA_MARK.with_borrow(|s| *s.get())
}

ic_cdk::export_candid!();

#[cfg(test)]
mod tests {
    #[test]
    fn committed_did_matches_the_exported_service() {
        let did = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("notes_v2.did");
        canister_artifacts::assert_did_matches(&did, &super::__export_service());
    }
}
