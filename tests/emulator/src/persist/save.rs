//! Writing an emulator's state into its directory: the blob and record files
//! of the canisters that changed since `previous` (the last save or load of
//! this directory), the small files of the new generation, and the manifest last.

use super::blobs::BlobWriter;
use super::files::{to_json, write, write_atomically, write_gz};
use super::manifest::Manifest;
use super::records::{
    CanisterRecord, ChunkRecord, HeapRecord, PagesRecord, SnapshotRecord, SubnetRecord,
};
use super::saved::{BlobsRecords, MemoryView, Saved, SavedCanister};
use super::{layout, StateError};
use crate::engine::exec::HeapState;
use crate::engine::pages::PageMap;
use crate::engine::CompiledModule;
use crate::state::canister::{Canister, CanisterSnapshot};
use crate::state::StateMachine;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// Modules referred to by the canisters written so far, by hash.
type Modules = BTreeMap<[u8; 32], Arc<CompiledModule>>;

/// What one save wrote (files created or replaced, and their bytes): the
/// deterministic cost of a command against a state directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SaveReport {
    pub files_written: usize,
    pub bytes_written: u64,
}

impl SaveReport {
    fn add(&mut self, bytes: usize) {
        self.files_written += 1;
        self.bytes_written += bytes as u64;
    }
}

/// A save that wrote something: what it wrote (for the next save), the
/// files the new generation names in `canisters/` and `modules/`, and its cost.
pub struct Written {
    pub saved: Saved,
    pub live: HashSet<String>,
    pub report: SaveReport,
}

/// Writes generation `generation` of the state into `root` (which holds the
/// previous one, untouched until the manifest names the new one). `None`
/// when the state is the one `previous` describes: then nothing is written.
pub fn write_state(
    sm: &StateMachine,
    max_rounds_per_call: u64,
    root: &Path,
    generation: u64,
    previous: Option<&Saved>,
) -> Result<Option<Written>, StateError> {
    let mut modules = Modules::new();
    let mut record_files = Vec::with_capacity(sm.canisters.len());
    // What this save must write: blob files and record files (name, bytes).
    let mut new_blobs = Vec::new();
    let mut new_records = Vec::new();
    let mut saved = HashMap::with_capacity(sm.canisters.len());
    for canister in sm.canisters.values() {
        let view = MemoryView::of(canister);
        let blobs = match previous.and_then(|p| p.unchanged(&canister.id, &view)) {
            Some(records) => {
                add_modules(canister, &mut modules);
                records.clone()
            }
            None => {
                let (records, bytes) = encode_blobs(canister, generation, &mut modules);
                new_blobs.push((records.file.clone(), bytes));
                records
            }
        };
        let record = canister_record(canister, blobs.clone());
        let record_file = match previous.and_then(|p| p.record_file(&canister.id, &record)) {
            Some(file) => file.to_string(),
            None => {
                let file = layout::record_file(&canister.id, generation);
                new_records.push((file.clone(), to_json("a canister record", &record)?));
                file
            }
        };
        record_files.push(record_file.clone());
        saved.insert(
            canister.id,
            SavedCanister {
                view,
                blobs,
                record,
                record_file,
            },
        );
    }
    let small = small_files(sm, max_rounds_per_call, record_files)?;
    let digest = small.digest();
    if let Some(p) = previous {
        let same_canisters = new_blobs.is_empty() && new_records.is_empty();
        if same_canisters && p.canisters.len() == saved.len() && p.digest == digest {
            return Ok(None);
        }
    }
    layout::create_dirs(root)?;
    let mut report = SaveReport::default();
    for (file, bytes) in &new_blobs {
        report.add(write_gz(&root.join(file), bytes)?);
    }
    for (file, bytes) in &new_records {
        write(&root.join(file), bytes)?;
        report.add(bytes.len());
    }
    let mut live: HashSet<String> = saved
        .values()
        .flat_map(|c| [c.blobs.file.clone(), c.record_file.clone()])
        .collect();
    for (hash, module) in &modules {
        let name = layout::module_file(hash);
        let path = root.join(&name);
        live.insert(name);
        // Named by its hash: a module already there is this one.
        if !path.is_file() {
            write_atomically(&path, &module.submitted)?;
            report.add(module.submitted.len());
        }
    }
    for (name, bytes) in small.files(generation) {
        write(&root.join(name), bytes)?;
        report.add(bytes.len());
    }
    let manifest = Manifest::new(sm.time, sm.round, sm.canisters.len(), generation);
    report.add(manifest.write(root)?);
    let saved = Saved {
        dir: root.to_path_buf(),
        generation,
        canisters: saved,
        digest,
    };
    Ok(Some(Written {
        saved,
        live,
        report,
    }))
}

/// The generation's files beside the manifest, encoded.
pub struct SmallFiles {
    subnet: Vec<u8>,
    capacity: Vec<u8>,
    topology: Vec<u8>,
}

impl SmallFiles {
    /// What tells a save that nothing but memory could have changed.
    pub fn digest(&self) -> [u8; 32] {
        small_digest(&self.subnet, &self.capacity, &self.topology)
    }

    fn files(&self, generation: u64) -> [(String, &[u8]); 3] {
        [
            (layout::subnet_file(generation), &self.subnet),
            (layout::capacity_file(generation), &self.capacity),
            (layout::topology_file(generation), &self.topology),
        ]
    }
}

pub fn small_digest(subnet: &[u8], capacity: &[u8], topology: &[u8]) -> [u8; 32] {
    // Lengths first, so that no two triples hash alike.
    let lengths = [subnet.len(), capacity.len(), topology.len()].map(|n| (n as u64).to_le_bytes());
    crate::engine::sha256(&[&lengths.concat()[..], subnet, capacity, topology].concat())
}

fn small_files(
    sm: &StateMachine,
    max_rounds_per_call: u64,
    canisters: Vec<String>,
) -> Result<SmallFiles, StateError> {
    let StateMachine {
        canisters: _,
        deleted,
        time,
        round,
        time_step_nanos,
        inbox,
        ingress,
        next_ingress,
        rng_seed,
        rng_counter,
        debug_log,
        mgmt_in_flight,
        root_key,
        instruction_limits,
        subnets,
        xnet: _,
        doubles: _,
        xnet_requests: _,
    } = sm;
    let subnet = SubnetRecord {
        time: *time,
        round: *round,
        time_step_nanos: *time_step_nanos,
        next_canister: subnets[0].next_canister,
        deleted: deleted.iter().copied().collect(),
        inbox: inbox.iter().cloned().collect(),
        ingress: {
            // Sorted, so that saving the same state writes the same bytes.
            let mut v: Vec<_> = ingress.iter().map(|(id, s)| (*id, s.clone())).collect();
            v.sort_by_key(|(id, _)| *id);
            v
        },
        next_ingress: *next_ingress,
        rng_seed: *rng_seed,
        rng_counter: *rng_counter,
        debug_log: debug_log.clone(),
        mgmt_in_flight: mgmt_in_flight
            .iter()
            .map(|(p, f)| (*p, f.clone()))
            .collect(),
        root_key: root_key.clone(),
        instruction_limits: *instruction_limits,
        max_rounds_per_call,
        canisters,
    };
    Ok(SmallFiles {
        subnet: to_json("subnet", &subnet)?,
        capacity: to_json("capacity", &subnets[0].capacity)?,
        topology: to_json("subnets", &super::topology::record(sm))?,
    })
}

/// `c`'s memory, chunks and snapshots as a new blob file of this generation.
fn encode_blobs(c: &Canister, generation: u64, modules: &mut Modules) -> (BlobsRecords, Vec<u8>) {
    let file = layout::blob_file(&c.id, generation);
    let mut blobs = BlobWriter::default();
    let records = BlobsRecords {
        heap: c.heap.as_ref().map(|h| heap_record(h, &mut blobs, modules)),
        stable: pages_record(&c.stable, &PageMap::default(), &mut blobs),
        chunk_store: chunk_records(&c.chunk_store, &mut blobs),
        snapshots: c
            .snapshots
            .values()
            .map(|s| snapshot_record(s, &mut blobs, modules))
            .collect(),
        file,
    };
    (records, blobs.into_bytes())
}

/// The modules an unchanged canister still uses.
fn add_modules(c: &Canister, modules: &mut Modules) {
    let heaps = c.heap.iter().chain(c.snapshots.values().map(|s| &s.heap));
    for heap in heaps {
        modules
            .entry(heap.module.hash)
            .or_insert_with(|| heap.module.clone());
    }
}

fn pages_record(map: &PageMap, base: &PageMap, blobs: &mut BlobWriter) -> PagesRecord {
    let changed = map.pages_differing_from(base);
    let mut data = Vec::with_capacity(changed.len() * crate::engine::pages::PAGE_SIZE);
    for &index in &changed {
        data.extend_from_slice(&map.page_bytes(index));
    }
    PagesRecord {
        page_count: map.page_count() as u64,
        changed: changed.into_iter().map(|i| i as u64).collect(),
        data: blobs.push(&data),
    }
}

fn heap_record(heap: &HeapState, blobs: &mut BlobWriter, modules: &mut Modules) -> HeapRecord {
    modules
        .entry(heap.module.hash)
        .or_insert_with(|| heap.module.clone());
    HeapRecord {
        module: heap.module.hash,
        pages: pages_record(&heap.heap, heap.module.base_heap(), blobs),
        heap_pages: heap.heap_pages,
        globals: heap.globals.clone(),
    }
}

fn chunk_records(store: &BTreeMap<[u8; 32], Vec<u8>>, blobs: &mut BlobWriter) -> Vec<ChunkRecord> {
    store
        .iter()
        .map(|(hash, chunk)| ChunkRecord {
            hash: *hash,
            data: blobs.push(chunk),
        })
        .collect()
}

fn snapshot_record(
    s: &CanisterSnapshot,
    blobs: &mut BlobWriter,
    modules: &mut Modules,
) -> SnapshotRecord {
    SnapshotRecord {
        id: s.id.clone(),
        taken_at: s.taken_at,
        heap: heap_record(&s.heap, blobs, modules),
        stable: pages_record(&s.stable, &PageMap::default(), blobs),
        stable_pages: s.stable_pages,
        certified_data: s.certified_data.clone(),
        global_timer: s.global_timer,
        chunk_store: chunk_records(&s.chunk_store, blobs),
        canister_version: s.canister_version,
    }
}

fn canister_record(c: &Canister, blobs: BlobsRecords) -> CanisterRecord {
    // Exhaustive, so that a new field fails to compile until it is persisted.
    let Canister {
        id,
        settings,
        status,
        cycles,
        version,
        heap: _,
        stable: _,
        stable_pages,
        certified_data,
        global_timer,
        call_contexts,
        callbacks,
        next_context_id,
        next_callback_id,
        outstanding,
        stop_requests,
        chunk_store: _,
        history,
        total_changes,
        snapshots: _,
        next_snapshot,
        stats,
        faults,
    } = c;
    CanisterRecord {
        id: *id,
        blobs: blobs.file,
        settings: settings.clone(),
        status: *status,
        cycles: *cycles,
        version: *version,
        heap: blobs.heap,
        stable: blobs.stable,
        stable_pages: *stable_pages,
        certified_data: certified_data.clone(),
        global_timer: *global_timer,
        call_contexts: call_contexts.clone(),
        callbacks: callbacks.clone(),
        next_context_id: *next_context_id,
        next_callback_id: *next_callback_id,
        outstanding: outstanding.iter().map(|(p, n)| (*p, *n)).collect(),
        stop_requests: stop_requests.clone(),
        chunk_store: blobs.chunk_store,
        history: history.iter().cloned().collect(),
        total_changes: *total_changes,
        snapshots: blobs.snapshots,
        next_snapshot: *next_snapshot,
        stats: stats.clone(),
        faults: faults.clone(),
    }
}
