//! Writing an emulator's state into its directory: the blob files of the
//! canisters that changed since `previous` (the last save or load of this
//! directory), the small files of the new generation, and the manifest last.

use super::blobs::BlobWriter;
use super::files::{write_atomically, write_gz, write_json};
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

/// Writes generation `generation` of the state into `root` (which holds the
/// previous one, untouched until the manifest names the new one) and
/// returns what it wrote, for the next save, and the files the new
/// generation names in `canisters/` and `modules/`.
pub fn write_state(
    sm: &StateMachine,
    max_rounds_per_call: u64,
    root: &Path,
    generation: u64,
    previous: Option<&Saved>,
) -> Result<(Saved, HashSet<String>), StateError> {
    layout::create_dirs(root)?;
    let mut modules = Modules::new();
    let mut canisters = Vec::with_capacity(sm.canisters.len());
    let mut saved = HashMap::with_capacity(sm.canisters.len());
    for canister in sm.canisters.values() {
        let view = MemoryView::of(canister);
        let blobs = match previous.and_then(|p| p.unchanged(&canister.id, &view)) {
            Some(blobs) => {
                add_modules(canister, &mut modules);
                blobs.clone()
            }
            None => write_blobs(root, canister, generation, &mut modules)?,
        };
        canisters.push(canister_record(canister, blobs.clone()));
        saved.insert(canister.id, SavedCanister { view, blobs });
    }
    let mut live: HashSet<String> = saved.values().map(|c| c.blobs.file.clone()).collect();
    for (hash, module) in &modules {
        let name = layout::module_file(hash);
        let path = root.join(&name);
        live.insert(name);
        // Named by its hash: a module already there is this one.
        if !path.is_file() {
            write_atomically(&path, &module.submitted)?;
        }
    }
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
    } = sm;
    super::capacity::write(
        &root.join(layout::capacity_file(generation)),
        &subnets[0].capacity,
    )?;
    super::topology::write(&root.join(layout::topology_file(generation)), sm)?;
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
    write_json(&root.join(layout::subnet_file(generation)), &subnet)?;
    Manifest::new(sm.time, sm.round, sm.canisters.len(), generation).write(root)?;
    let saved = Saved {
        dir: root.to_path_buf(),
        generation,
        canisters: saved,
    };
    Ok((saved, live))
}

/// Writes `c`'s memory, chunks and snapshots into a new blob file of this
/// generation.
fn write_blobs(
    root: &Path,
    c: &Canister,
    generation: u64,
    modules: &mut Modules,
) -> Result<BlobsRecords, StateError> {
    let file = layout::blob_file(&c.id, generation);
    let mut blobs = BlobWriter::default();
    let records = BlobsRecords {
        heap: c
            .heap
            .as_ref()
            .map(|h| heap_record(h, &mut blobs, modules)),
        stable: pages_record(&c.stable, &PageMap::default(), &mut blobs),
        chunk_store: chunk_records(&c.chunk_store, &mut blobs),
        snapshots: c
            .snapshots
            .values()
            .map(|s| snapshot_record(s, &mut blobs, modules))
            .collect(),
        file,
    };
    write_gz(&root.join(&records.file), &blobs.into_bytes())?;
    Ok(records)
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
