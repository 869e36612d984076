//! The files of a state directory and their names. Every file but the
//! manifest is named by the generation that wrote it (or, for modules, by its
//! hash) and never rewritten: a save writes new files beside the old ones,
//! renames the manifest into place (the one step that commits it), then
//! deletes what the new manifest no longer names. A save that stops half-way
//! leaves the previous generation whole.

use super::files::create_dir;
use super::StateError;
use candid::Principal;
use std::collections::HashSet;
use std::path::Path;

const MODULES_DIR: &str = "modules";
const CANISTERS_DIR: &str = "canisters";

pub fn create_dirs(root: &Path) -> Result<(), StateError> {
    create_dir(&root.join(MODULES_DIR))?;
    create_dir(&root.join(CANISTERS_DIR))
}

/// The subnet's own state and the list of record files (`records::SubnetRecord`).
pub fn subnet_file(generation: u64) -> String {
    format!("subnet.{generation}.json")
}

/// The subnet's capacity state (`crate::subnet::SubnetState`).
pub fn capacity_file(generation: u64) -> String {
    format!("capacity.{generation}.json")
}

/// The other subnets, the cross-subnet latency and the doubles (`topology`).
pub fn topology_file(generation: u64) -> String {
    format!("subnets.{generation}.json")
}

/// A canister's record (everything of it but memory, code and chunks),
/// written by `generation`.
pub fn record_file(id: &Principal, generation: u64) -> String {
    format!("{CANISTERS_DIR}/{id}.{generation}.json")
}

/// A canister's memory pages, chunks and snapshots, written by `generation`.
pub fn blob_file(id: &Principal, generation: u64) -> String {
    format!("{CANISTERS_DIR}/{id}.{generation}.bin.gz")
}

/// A module as submitted, by its SHA-256.
pub fn module_file(hash: &[u8; 32]) -> String {
    format!("{MODULES_DIR}/{}.wasm", hex::encode(hash))
}

/// Deletes the files of earlier generations (and of saves that stopped
/// half-way): everything in `canisters/` and `modules/` that `live` does not
/// name, and the generation files beside the manifest. Only called once the
/// new manifest is in place; a file left behind wastes space, nothing more.
pub fn remove_unreferenced(root: &Path, generation: u64, live: &HashSet<String>) {
    for dir in [CANISTERS_DIR, MODULES_DIR] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = format!("{dir}/{}", entry.file_name().to_string_lossy());
            if !live.contains(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let current = [
        subnet_file(generation),
        capacity_file(generation),
        topology_file(generation),
    ];
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = ["subnet.", "capacity.", "subnets."]
            .iter()
            .any(|prefix| name.starts_with(prefix));
        if ours && name.ends_with(".json") && !current.contains(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
