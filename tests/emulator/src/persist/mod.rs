//! Saving the whole emulator to a directory and loading it back, so a tool
//! such as factoryctl can run one command per process against the same
//! subnet, as against a local replica.
//!
//! A state directory (format version 3) holds:
//! - `manifest.json`: the format name and version, a summary, and the
//!   generation (the number of the save that wrote it), which names the
//!   other files; replaced by a rename, it is what commits a save;
//! - `subnet.<generation>.json`: the subnet's own state (time, rounds,
//!   canister-id allocation, randomness, queued messages and pending
//!   ingress) and the name of each canister's record file;
//! - `canisters/<canister id>.<generation>.json`: per canister, everything
//!   but memory, code and chunks (settings, status, cycles, call contexts
//!   and callbacks, timer, history, faults, its blob file, ...); written by
//!   the last save in which the record changed, kept by the later ones;
//! - `capacity.<generation>.json`: the subnet's capacity state
//!   (`crate::subnet`): its config, budgets left, queued management work,
//!   install debits, compiled modules and the per-round and stopped-interval
//!   records;
//! - `subnets.<generation>.json`: the other subnets, their id ranges and
//!   capacity, the cross-subnet latency and the test doubles (`topology.rs`);
//! - `modules/<sha256>.wasm`: every module in use, as submitted; loading
//!   compiles it again through the engine's compiled-module disk cache;
//! - `canisters/<canister id>.<generation>.bin.gz`: per canister, its heap
//!   pages that differ from its module's initial image, its stable memory
//!   pages, its chunks and its snapshots' memory, gzipped; written by the
//!   last save in which they changed (`saved`), kept by the later ones.
//!
//! Messages never stop half-way in the emulator (no DTS), so between two
//! rounds all in-flight work is plain data in the state: a save may happen at
//! any time and the loaded emulator carries on where the saved one was.

mod blobs;
mod error;
mod files;
mod layout;
mod load;
mod manifest;
mod records;
mod replace;
mod save;
mod saved;
mod topology;

pub use error::StateError;
pub use manifest::FORMAT_VERSION;
pub use save::SaveReport;
pub(crate) use saved::Saved;

use crate::driver::Emulator;
use manifest::Manifest;
use std::cell::RefCell;
use std::path::Path;

impl Emulator {
    /// Writes the emulator state into `dir` (created if missing), replacing
    /// the state there. Into the directory it was loaded from or last saved
    /// to, only the canisters whose memory changed since are written again,
    /// and nothing at all if nothing changed. Returns what it wrote.
    /// Refuses to replace a file or a non-empty directory that is not a saved state.
    pub fn save_state(&self, dir: &Path) -> Result<SaveReport, StateError> {
        replace::check_replaceable(dir)?;
        let on_disk = Manifest::generation_in(dir);
        let mut last = self.saved.borrow_mut();
        // Only what this emulator itself wrote or read there may be kept.
        let previous = last
            .as_ref()
            .filter(|s| s.dir == dir && s.generation == on_disk);
        let generation = on_disk + 1;
        let written = save::write_state(
            &self.sm.borrow(),
            self.max_rounds_per_call,
            dir,
            generation,
            previous,
        )?;
        let Some(written) = written else {
            return Ok(SaveReport::default());
        };
        layout::remove_unreferenced(dir, generation, &written.live);
        *last = Some(written.saved);
        Ok(written.report)
    }

    /// How many canisters have any memory in this process. A loaded
    /// emulator reads a canister's memory from disk only when something
    /// touches it; one that was not loaded has all of it.
    pub fn canisters_in_memory(&self) -> usize {
        let sm = self.sm.borrow();
        sm.canisters
            .values()
            .filter(|c| {
                let heaps = c.heap.iter().chain(c.snapshots.values().map(|s| &s.heap));
                let mut maps = heaps
                    .map(|h| &h.heap)
                    .chain(std::iter::once(&c.stable))
                    .chain(c.snapshots.values().map(|s| &s.stable));
                maps.any(|m| m.is_loaded())
            })
            .count()
    }

    /// Restores an emulator saved by [`Emulator::save_state`].
    pub fn load_state(dir: &Path) -> Result<Emulator, StateError> {
        let (sm, max_rounds_per_call, saved) = load::read_state(dir)?;
        Ok(Emulator {
            sm: RefCell::new(sm),
            max_rounds_per_call,
            saved: RefCell::new(Some(saved)),
        })
    }
}
