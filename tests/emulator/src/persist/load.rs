//! Rebuilding an emulator from a state directory, checking every reference.

use super::blobs::BlobReader;
use super::files::{read, read_gz, read_json};
use super::manifest::Manifest;
use super::records::{
    CanisterRecord, ChunkRecord, HeapRecord, PagesRecord, SnapshotRecord, SubnetRecord,
};
use super::saved::{BlobsRecords, MemoryView, Saved, SavedCanister};
use super::{layout, StateError};
use crate::engine::exec::HeapState;
use crate::engine::pages::{PageMap, PAGE_SIZE};
use crate::engine::{self, CompiledModule};
use crate::limits;
use crate::state::canister::{Canister, CanisterSnapshot};
use crate::state::StateMachine;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// 4 KiB pages per 64 KiB wasm or stable page.
const PAGES_PER_WASM_PAGE: u64 = limits::WASM_PAGE / PAGE_SIZE as u64;
/// A 32-bit heap has at most 65,536 wasm pages.
const MAX_HEAP_WASM_PAGES: u64 = 1 << 16;

/// Modules compiled so far (through the engine's caches), by hash.
struct Modules {
    dir: PathBuf,
    loaded: HashMap<[u8; 32], Arc<CompiledModule>>,
}

impl Modules {
    fn get(&mut self, hash: [u8; 32]) -> Result<Arc<CompiledModule>, StateError> {
        if let Some(m) = self.loaded.get(&hash) {
            return Ok(m.clone());
        }
        let path = self.dir.join(layout::module_file(&hash));
        let bytes = read(&path)?;
        if engine::sha256(&bytes) != hash {
            return Err(StateError::corrupt(
                &path,
                "the module does not match its hash",
            ));
        }
        let module = engine::load(&bytes)
            .map_err(|e| StateError::corrupt(&path, format!("invalid module: {}", e.0)))?;
        self.loaded.insert(hash, module.clone());
        Ok(module)
    }
}

/// The state in `dir`, the rounds per call it was saved with, and what it
/// was read from (for the next save's comparison).
pub fn read_state(dir: &Path) -> Result<(StateMachine, u64, Saved), StateError> {
    if !dir.is_dir() {
        return Err(StateError::NotFound {
            path: dir.to_path_buf(),
        });
    }
    let manifest = Manifest::read(dir)?;
    let subnet_path = dir.join(layout::subnet_file(manifest.generation));
    let subnet: SubnetRecord = read_json(&subnet_path)?;
    if subnet.canisters.len() != manifest.canisters {
        return Err(StateError::corrupt(
            &subnet_path,
            format!(
                "{} canisters, the manifest says {}",
                subnet.canisters.len(),
                manifest.canisters
            ),
        ));
    }
    let mut modules = Modules {
        dir: dir.to_path_buf(),
        loaded: HashMap::new(),
    };
    let mut canisters = BTreeMap::new();
    let mut saved = HashMap::with_capacity(subnet.canisters.len());
    for record in subnet.canisters {
        let blobs = BlobsRecords {
            file: record.blobs.clone(),
            heap: record.heap.clone(),
            stable: record.stable.clone(),
            chunk_store: record.chunk_store.clone(),
            snapshots: record.snapshots.clone(),
        };
        let canister = canister_from(dir, &subnet_path, record, &mut modules)?;
        let view = MemoryView::of(&canister);
        saved.insert(canister.id, SavedCanister { view, blobs });
        if canisters.insert(canister.id, canister).is_some() {
            return Err(StateError::corrupt(
                &subnet_path,
                "a canister is listed twice",
            ));
        }
    }
    let rng_seed = subnet.rng_seed;
    let (subnets, xnet, doubles) =
        super::topology::read(
        &dir.join(layout::topology_file(manifest.generation)),
        super::capacity::read(&dir.join(layout::capacity_file(manifest.generation)))?,
    )?;
    let sm = StateMachine {
        canisters,
        deleted: subnet.deleted.into_iter().collect(),
        time: subnet.time,
        round: subnet.round,
        time_step_nanos: subnet.time_step_nanos,
        inbox: subnet.inbox.into(),
        ingress: subnet.ingress.into_iter().collect(),
        next_ingress: subnet.next_ingress,
        rng_seed,
        rng_counter: subnet.rng_counter,
        debug_log: subnet.debug_log,
        mgmt_in_flight: subnet.mgmt_in_flight.into_iter().collect(),
        root_key: subnet.root_key,
        instruction_limits: subnet.instruction_limits,
        subnets,
        xnet,
        doubles,
    };
    let saved = Saved {
        dir: dir.to_path_buf(),
        generation: manifest.generation,
        canisters: saved,
    };
    Ok((sm, subnet.max_rounds_per_call, saved))
}

/// Rebuilds a page map as `base` plus the stored pages; `max_pages` bounds
/// what a corrupt record could make us allocate.
fn pages_from(
    record: &PagesRecord,
    base: &PageMap,
    max_pages: u64,
    blobs: &BlobReader,
) -> Result<PageMap, StateError> {
    let corrupt = |why: String| StateError::corrupt(blobs.path(), why);
    if record.page_count > max_pages {
        return Err(corrupt(format!(
            "{} pages where at most {max_pages} fit",
            record.page_count
        )));
    }
    let data = blobs.get(record.data)?;
    if data.len() != record.changed.len() * PAGE_SIZE {
        return Err(corrupt(format!(
            "{} bytes for {} pages",
            data.len(),
            record.changed.len()
        )));
    }
    let mut map = base.clone();
    for (&index, bytes) in record.changed.iter().zip(data.chunks_exact(PAGE_SIZE)) {
        if index >= record.page_count {
            return Err(corrupt(format!("page {index} is past the memory's end")));
        }
        map.set_page(
            index as usize,
            bytes.try_into().expect("chunks of PAGE_SIZE"),
        );
    }
    map.set_page_count(record.page_count as usize);
    Ok(map)
}

fn heap_from(
    record: &HeapRecord,
    blobs: &BlobReader,
    modules: &mut Modules,
) -> Result<HeapState, StateError> {
    let module = modules.get(record.module)?;
    if record.heap_pages > MAX_HEAP_WASM_PAGES {
        return Err(StateError::corrupt(
            blobs.path(),
            format!("a heap of {} wasm pages", record.heap_pages),
        ));
    }
    if record.globals.len() != module.mutable_global_count() {
        return Err(StateError::corrupt(
            blobs.path(),
            format!(
                "{} globals saved for a module with {}",
                record.globals.len(),
                module.mutable_global_count()
            ),
        ));
    }
    let max_pages = record.heap_pages * PAGES_PER_WASM_PAGE;
    Ok(HeapState {
        heap: pages_from(&record.pages, module.base_heap(), max_pages, blobs)?,
        heap_pages: record.heap_pages,
        globals: record.globals.clone(),
        module,
    })
}

fn stable_from(
    record: &PagesRecord,
    stable_pages: u64,
    blobs: &BlobReader,
) -> Result<PageMap, StateError> {
    if stable_pages > limits::MAX_STABLE_PAGES {
        return Err(StateError::corrupt(
            blobs.path(),
            format!("{stable_pages} stable pages"),
        ));
    }
    pages_from(
        record,
        &PageMap::default(),
        stable_pages * PAGES_PER_WASM_PAGE,
        blobs,
    )
}

fn chunks_from(
    records: &[ChunkRecord],
    blobs: &BlobReader,
) -> Result<BTreeMap<[u8; 32], Vec<u8>>, StateError> {
    records
        .iter()
        .map(|c| {
            let data = blobs.get(c.data)?;
            if engine::sha256(data) != c.hash {
                return Err(StateError::corrupt(
                    blobs.path(),
                    "a chunk does not match its hash",
                ));
            }
            Ok((c.hash, data.to_vec()))
        })
        .collect()
}

fn snapshot_from(
    record: SnapshotRecord,
    blobs: &BlobReader,
    modules: &mut Modules,
) -> Result<CanisterSnapshot, StateError> {
    Ok(CanisterSnapshot {
        heap: heap_from(&record.heap, blobs, modules)?,
        stable: stable_from(&record.stable, record.stable_pages, blobs)?,
        chunk_store: chunks_from(&record.chunk_store, blobs)?,
        id: record.id,
        taken_at: record.taken_at,
        stable_pages: record.stable_pages,
        certified_data: record.certified_data,
        global_timer: record.global_timer,
        canister_version: record.canister_version,
    })
}

fn canister_from(
    dir: &Path,
    subnet_path: &Path,
    record: CanisterRecord,
    modules: &mut Modules,
) -> Result<Canister, StateError> {
    let blobs_path = dir.join(&record.blobs);
    if !blobs_path.starts_with(dir) || record.blobs.contains("..") {
        return Err(StateError::corrupt(
            subnet_path,
            format!("blob file {:?} is outside the state", record.blobs),
        ));
    }
    let blobs = BlobReader::new(&blobs_path, read_gz(&blobs_path)?);
    let heap = record
        .heap
        .as_ref()
        .map(|h| heap_from(h, &blobs, modules))
        .transpose()?;
    let mut snapshots = BTreeMap::new();
    for s in record.snapshots {
        let snapshot = snapshot_from(s, &blobs, modules)?;
        snapshots.insert(snapshot.id.clone(), snapshot);
    }
    // A struct literal, so that a new field fails to compile until it is persisted.
    Ok(Canister {
        id: record.id,
        settings: record.settings,
        status: record.status,
        cycles: record.cycles,
        version: record.version,
        heap,
        stable: stable_from(&record.stable, record.stable_pages, &blobs)?,
        stable_pages: record.stable_pages,
        certified_data: record.certified_data,
        global_timer: record.global_timer,
        call_contexts: record.call_contexts,
        callbacks: record.callbacks,
        next_context_id: record.next_context_id,
        next_callback_id: record.next_callback_id,
        outstanding: record.outstanding.into_iter().collect(),
        stop_requests: record.stop_requests,
        chunk_store: chunks_from(&record.chunk_store, &blobs)?,
        history: record.history.into(),
        total_changes: record.total_changes,
        snapshots,
        next_snapshot: record.next_snapshot,
        stats: record.stats,
        faults: record.faults,
    })
}
