//! Writing an emulator's state into a (staging) directory.

use super::blobs::BlobWriter;
use super::files::{create_dir, write, write_gz, write_json};
use super::manifest::Manifest;
use super::records::{
    CanisterRecord, ChunkRecord, HeapRecord, PagesRecord, SnapshotRecord, SubnetRecord,
};
use super::{StateError, CANISTERS_DIR, MODULES_DIR, SUBNET_FILE};
use crate::engine::exec::HeapState;
use crate::engine::pages::PageMap;
use crate::engine::CompiledModule;
use crate::state::canister::{Canister, CanisterSnapshot};
use crate::state::StateMachine;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Modules referred to by the canisters written so far, by hash.
type Modules = BTreeMap<[u8; 32], Arc<CompiledModule>>;

/// Writes every file of the state into `root`, the manifest last.
pub fn write_state(
    sm: &StateMachine,
    max_rounds_per_call: u64,
    root: &Path,
) -> Result<(), StateError> {
    create_dir(&root.join(MODULES_DIR))?;
    create_dir(&root.join(CANISTERS_DIR))?;
    let mut modules = Modules::new();
    let mut canisters = Vec::with_capacity(sm.canisters.len());
    for (index, canister) in sm.canisters.values().enumerate() {
        let blobs_name = format!("{CANISTERS_DIR}/{index}.bin.gz");
        let mut blobs = BlobWriter::default();
        canisters.push(canister_record(
            canister,
            blobs_name.clone(),
            &mut blobs,
            &mut modules,
        ));
        write_gz(&root.join(&blobs_name), &blobs.into_bytes())?;
    }
    for (hash, module) in &modules {
        let path = root
            .join(MODULES_DIR)
            .join(format!("{}.wasm", hex::encode(hash)));
        write(&path, &module.submitted)?;
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
        xnet_requests: _,
    } = sm;
    super::capacity::write(root, &subnets[0].capacity)?;
    super::topology::write(root, sm)?;
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
    write_json(&root.join(SUBNET_FILE), &subnet)?;
    Manifest::new(sm.time, sm.round, sm.canisters.len()).write(root)
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

fn canister_record(
    c: &Canister,
    blobs_name: String,
    blobs: &mut BlobWriter,
    modules: &mut Modules,
) -> CanisterRecord {
    // Exhaustive, so that a new field fails to compile until it is persisted.
    let Canister {
        id,
        settings,
        status,
        cycles,
        version,
        heap,
        stable,
        stable_pages,
        certified_data,
        global_timer,
        call_contexts,
        callbacks,
        next_context_id,
        next_callback_id,
        outstanding,
        stop_requests,
        chunk_store,
        history,
        total_changes,
        snapshots,
        next_snapshot,
        stats,
        faults,
    } = c;
    CanisterRecord {
        id: *id,
        blobs: blobs_name,
        settings: settings.clone(),
        status: *status,
        cycles: *cycles,
        version: *version,
        heap: heap.as_ref().map(|h| heap_record(h, blobs, modules)),
        stable: pages_record(stable, &PageMap::default(), blobs),
        stable_pages: *stable_pages,
        certified_data: certified_data.clone(),
        global_timer: *global_timer,
        call_contexts: call_contexts.clone(),
        callbacks: callbacks.clone(),
        next_context_id: *next_context_id,
        next_callback_id: *next_callback_id,
        outstanding: outstanding.iter().map(|(p, n)| (*p, *n)).collect(),
        stop_requests: stop_requests.clone(),
        chunk_store: chunk_records(chunk_store, blobs),
        history: history.iter().cloned().collect(),
        total_changes: *total_changes,
        snapshots: snapshots
            .values()
            .map(|s| snapshot_record(s, blobs, modules))
            .collect(),
        next_snapshot: *next_snapshot,
        stats: stats.clone(),
        faults: faults.clone(),
    }
}
