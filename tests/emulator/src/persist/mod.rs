//! Saving the whole emulator to a directory and loading it back, so a tool
//! such as factoryctl can run one command per process against the same
//! subnet, as against a local replica.
//!
//! A state directory (format version 1) holds:
//! - `manifest.json`: the format name and version, and a summary;
//! - `subnet.json`: everything but memory, code and chunks: time, rounds,
//!   canister-id allocation, randomness, queued messages and pending
//!   ingress, and one record per canister (settings, status, cycles, call
//!   contexts and callbacks, timer, history, faults, ...);
//! - `capacity.json`: the subnet's capacity state (`crate::subnet`): its
//!   config, budgets left, queued management work, install debits, compiled
//!   modules and the per-round and stopped-interval records; optional (a
//!   state without it loads with the application subnet's defaults);
//! - `subnets.json`: the other subnets, their id ranges and capacity, the
//!   cross-subnet latency and the test doubles (`topology.rs`; optional: a
//!   state without it has one subnet);
//! - `modules/<sha256>.wasm`: every module in use, as submitted; loading
//!   compiles it again through the engine's compiled-module disk cache;
//! - `canisters/<n>.bin.gz`: per canister, its heap pages that differ from
//!   its module's initial image, its stable memory pages, its chunks and its
//!   snapshots' memory, gzipped.
//!
//! Messages never stop half-way in the emulator (no DTS), so between two
//! rounds all in-flight work is plain data in the state: a save may happen at
//! any time and the loaded emulator carries on where the saved one was.

mod blobs;
mod capacity;
mod error;
mod files;
mod load;
mod manifest;
mod records;
mod replace;
mod save;
mod topology;

pub use error::StateError;
pub use manifest::FORMAT_VERSION;

use crate::driver::Emulator;
use std::cell::RefCell;
use std::path::Path;

const SUBNET_FILE: &str = "subnet.json";
const MODULES_DIR: &str = "modules";
const CANISTERS_DIR: &str = "canisters";

impl Emulator {
    /// Writes the whole emulator state into `dir` (created if missing;
    /// replaced as a whole: written to a sibling directory, then renamed).
    /// Refuses to replace a file or a non-empty directory that is not a saved state.
    pub fn save_state(&self, dir: &Path) -> Result<(), StateError> {
        replace::check_replaceable(dir)?;
        let staging = replace::staging_dir(dir)?;
        let written = save::write_state(&self.sm.borrow(), self.max_rounds_per_call, &staging);
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        replace::move_into_place(&staging, dir).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&staging);
        })
    }

    /// Restores an emulator saved by [`Emulator::save_state`].
    pub fn load_state(dir: &Path) -> Result<Emulator, StateError> {
        let (sm, max_rounds_per_call) = load::read_state(dir)?;
        Ok(Emulator {
            sm: RefCell::new(sm),
            max_rounds_per_call,
        })
    }
}
