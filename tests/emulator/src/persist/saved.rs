//! What the last save (or load) of a state directory wrote, kept beside the
//! emulator so that the next save into the same directory skips every
//! canister whose memory did not change: at 1,000 users a command touches the
//! factory and a few canisters, and rewriting the others' blob files was most
//! of its time.
//!
//! A canister's memory counts as unchanged when every page is the very
//! allocation the saved view holds (`PageMap::shares_all_pages_with`): the
//! view keeps those pages alive, so a later write copies them and cannot go
//! unnoticed. Chunks are named by their hash, so their names suffice.
//!
//! A canister's record (settings, status, cycles, calls, ...) counts as
//! unchanged when it equals the one saved (compared as values, not encoded):
//! its record file is kept too, so a save costs what changed, not the fleet.

use super::records::{CanisterRecord, ChunkRecord, HeapRecord, PagesRecord, SnapshotRecord};
use crate::engine::exec::HeapState;
use crate::engine::pages::PageMap;
use crate::engine::GlobalValue;
use crate::state::canister::{Canister, CanisterSnapshot};
use candid::Principal;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// The directory and generation a save wrote, and per canister its files.
pub struct Saved {
    pub dir: PathBuf,
    pub generation: u64,
    pub canisters: HashMap<Principal, SavedCanister>,
    /// Of the generation's other files (`save::small_digest`).
    pub digest: [u8; 32],
}

/// One canister's files: its blob file and the records pointing into it,
/// and its record file and what it holds.
pub struct SavedCanister {
    pub view: MemoryView,
    pub blobs: BlobsRecords,
    pub record: CanisterRecord,
    /// Relative to the state directory.
    pub record_file: String,
}

/// The parts of a canister record that refer into its blob file.
#[derive(Clone)]
pub struct BlobsRecords {
    /// Relative to the state directory.
    pub file: String,
    pub heap: Option<HeapRecord>,
    pub stable: PagesRecord,
    pub chunk_store: Vec<ChunkRecord>,
    pub snapshots: Vec<SnapshotRecord>,
}

/// Pages compared by identity, not by content.
struct Shared(PageMap);

impl PartialEq for Shared {
    fn eq(&self, other: &Self) -> bool {
        self.0.shares_all_pages_with(&other.0)
    }
}

#[derive(PartialEq)]
struct HeapView {
    module: [u8; 32],
    pages: Shared,
    heap_pages: u64,
    globals: Vec<GlobalValue>,
}

#[derive(PartialEq)]
struct SnapshotView {
    id: Vec<u8>,
    taken_at: u64,
    heap: HeapView,
    stable: Shared,
    stable_pages: u64,
    certified_data: Vec<u8>,
    global_timer: u64,
    chunks: Vec<[u8; 32]>,
    canister_version: u64,
}

/// Everything a canister's blob file (and the records into it) is made of.
#[derive(PartialEq)]
pub struct MemoryView {
    heap: Option<HeapView>,
    stable: Shared,
    stable_pages: u64,
    chunks: Vec<[u8; 32]>,
    snapshots: Vec<SnapshotView>,
}

fn heap_view(h: &HeapState) -> HeapView {
    HeapView {
        module: h.module.hash,
        pages: Shared(h.heap.clone()),
        heap_pages: h.heap_pages,
        globals: h.globals.clone(),
    }
}

fn chunk_names(store: &BTreeMap<[u8; 32], Vec<u8>>) -> Vec<[u8; 32]> {
    store.keys().copied().collect()
}

fn snapshot_view(s: &CanisterSnapshot) -> SnapshotView {
    SnapshotView {
        id: s.id.clone(),
        taken_at: s.taken_at,
        heap: heap_view(&s.heap),
        stable: Shared(s.stable.clone()),
        stable_pages: s.stable_pages,
        certified_data: s.certified_data.clone(),
        global_timer: s.global_timer,
        chunks: chunk_names(&s.chunk_store),
        canister_version: s.canister_version,
    }
}

impl MemoryView {
    pub fn of(c: &Canister) -> Self {
        MemoryView {
            heap: c.heap.as_ref().map(heap_view),
            stable: Shared(c.stable.clone()),
            stable_pages: c.stable_pages,
            chunks: chunk_names(&c.chunk_store),
            snapshots: c.snapshots.values().map(snapshot_view).collect(),
        }
    }
}

impl Saved {
    /// The blob records of canister `id` as last saved, if its memory (`now`)
    /// is unchanged since.
    pub fn unchanged(&self, id: &Principal, now: &MemoryView) -> Option<&BlobsRecords> {
        let saved = self.canisters.get(id)?;
        (saved.view == *now).then_some(&saved.blobs)
    }

    /// The record file of canister `id` as last saved, if it holds `now`.
    pub fn record_file(&self, id: &Principal, now: &CanisterRecord) -> Option<&str> {
        let saved = self.canisters.get(id)?;
        (saved.record == *now).then_some(&saved.record_file)
    }
}
