//! Rebuilding an emulator from a state directory, checking every reference.

use super::blobs::BlobReader;
use super::files::{from_json, read, read_gz};
use super::manifest::Manifest;
use super::records::{
    CanisterRecord, ChunkRecord, HeapRecord, PagesRecord, SnapshotRecord, SubnetRecord,
};
use super::saved::{BlobsRecords, MemoryView, Saved, SavedCanister};
use super::{layout, save, StateError};
use crate::engine::exec::HeapState;
use crate::engine::pages::{PageMap, PAGE_SIZE};
use crate::engine::{self, CompiledModule};
use crate::limits;
use crate::state::canister::{Canister, CanisterSnapshot};
use crate::state::StateMachine;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

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
    let capacity_path = dir.join(layout::capacity_file(manifest.generation));
    let topology_path = dir.join(layout::topology_file(manifest.generation));
    let (subnet_bytes, capacity_bytes, topology_bytes) = (
        read(&subnet_path)?,
        read(&capacity_path)?,
        read(&topology_path)?,
    );
    let digest = save::small_digest(&subnet_bytes, &capacity_bytes, &topology_bytes);
    let subnet: SubnetRecord = from_json(&subnet_path, &subnet_bytes)?;
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
    for record_file in subnet.canisters {
        let path = inside(dir, &subnet_path, &record_file)?;
        let record: CanisterRecord = from_json(&path, &read(&path)?)?;
        let blobs = BlobsRecords {
            file: record.blobs.clone(),
            heap: record.heap.clone(),
            stable: record.stable.clone(),
            chunk_store: record.chunk_store.clone(),
            snapshots: record.snapshots.clone(),
        };
        let kept = record.clone();
        let canister = canister_from(dir, &path, record, &mut modules)?;
        let view = MemoryView::of(&canister);
        saved.insert(
            canister.id,
            SavedCanister {
                view,
                blobs,
                record: kept,
                record_file,
            },
        );
        if canisters.insert(canister.id, canister).is_some() {
            return Err(StateError::corrupt(
                &subnet_path,
                "a canister is listed twice",
            ));
        }
    }
    let rng_seed = subnet.rng_seed;
    let (subnets, xnet, doubles) = super::topology::read(
        &topology_path,
        &topology_bytes,
        from_json(&capacity_path, &capacity_bytes)?,
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
        xnet_requests: 0,
    };
    let saved = Saved {
        dir: dir.to_path_buf(),
        generation: manifest.generation,
        canisters: saved,
        digest,
    };
    Ok((sm, subnet.max_rounds_per_call, saved))
}

/// A canister's blob file, read and inflated on first use (by whichever of
/// its memories is touched first) and then shared by all of them.
struct LazyBlob {
    path: PathBuf,
    reader: OnceLock<Result<BlobReader, String>>,
}

impl LazyBlob {
    fn reader(&self) -> Result<&BlobReader, String> {
        self.reader
            .get_or_init(|| {
                read_gz(&self.path)
                    .map(|bytes| BlobReader::new(&self.path, bytes))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Checks what can be checked of a page record without its blob file
/// (`max_pages` bounds what a corrupt record could make us allocate) and
/// returns a map of its pages over `base`, read from `blob` on first use.
fn pages_from(
    record: &PagesRecord,
    base: &PageMap,
    max_pages: u64,
    blob: &Arc<LazyBlob>,
) -> Result<PageMap, StateError> {
    let corrupt = |why: String| StateError::corrupt(&blob.path, why);
    if record.page_count > max_pages {
        return Err(corrupt(format!(
            "{} pages where at most {max_pages} fit",
            record.page_count
        )));
    }
    if record.data.len != (record.changed.len() * PAGE_SIZE) as u64 {
        return Err(corrupt(format!(
            "{} bytes for {} pages",
            record.data.len,
            record.changed.len()
        )));
    }
    if let Some(index) = record.changed.iter().find(|&&i| i >= record.page_count) {
        return Err(corrupt(format!("page {index} is past the memory's end")));
    }
    let (record, base, blob) = (record.clone(), base.clone(), blob.clone());
    Ok(PageMap::lazy(record.page_count as usize, move || {
        let blobs = blob.reader()?;
        let data = blobs.get(record.data).map_err(|e| e.to_string())?;
        let mut map = base.clone();
        for (&index, bytes) in record.changed.iter().zip(data.chunks_exact(PAGE_SIZE)) {
            let page: &[u8; PAGE_SIZE] = bytes.try_into().map_err(|_| "a short page")?;
            map.set_page(index as usize, page);
        }
        map.set_page_count(record.page_count as usize);
        Ok(map)
    }))
}

fn heap_from(
    record: &HeapRecord,
    blob: &Arc<LazyBlob>,
    modules: &mut Modules,
) -> Result<HeapState, StateError> {
    let module = modules.get(record.module)?;
    if record.heap_pages > MAX_HEAP_WASM_PAGES {
        return Err(StateError::corrupt(
            &blob.path,
            format!("a heap of {} wasm pages", record.heap_pages),
        ));
    }
    if record.globals.len() != module.mutable_global_count() {
        return Err(StateError::corrupt(
            &blob.path,
            format!(
                "{} globals saved for a module with {}",
                record.globals.len(),
                module.mutable_global_count()
            ),
        ));
    }
    let max_pages = record.heap_pages * PAGES_PER_WASM_PAGE;
    Ok(HeapState {
        heap: pages_from(&record.pages, module.base_heap(), max_pages, blob)?,
        heap_pages: record.heap_pages,
        globals: record.globals.clone(),
        module,
    })
}

fn stable_from(
    record: &PagesRecord,
    stable_pages: u64,
    blob: &Arc<LazyBlob>,
) -> Result<PageMap, StateError> {
    if stable_pages > limits::MAX_STABLE_PAGES {
        return Err(StateError::corrupt(
            &blob.path,
            format!("{stable_pages} stable pages"),
        ));
    }
    pages_from(
        record,
        &PageMap::default(),
        stable_pages * PAGES_PER_WASM_PAGE,
        blob,
    )
}

/// Chunks are read at load (only canisters that have some read their blob
/// file for them): a chunk store is a plain map, with no place to defer to.
fn chunks_from(
    records: &[ChunkRecord],
    blob: &LazyBlob,
) -> Result<BTreeMap<[u8; 32], Vec<u8>>, StateError> {
    if records.is_empty() {
        return Ok(BTreeMap::new());
    }
    let blobs = blob
        .reader()
        .map_err(|e| StateError::corrupt(&blob.path, e))?;
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
    blob: &Arc<LazyBlob>,
    modules: &mut Modules,
) -> Result<CanisterSnapshot, StateError> {
    Ok(CanisterSnapshot {
        heap: heap_from(&record.heap, blob, modules)?,
        stable: stable_from(&record.stable, record.stable_pages, blob)?,
        chunk_store: chunks_from(&record.chunk_store, blob)?,
        id: record.id,
        taken_at: record.taken_at,
        stable_pages: record.stable_pages,
        certified_data: record.certified_data,
        global_timer: record.global_timer,
        canister_version: record.canister_version,
    })
}

/// `file` (named in `by`) in the state directory `dir`: refused if it would
/// be outside it or is missing.
fn inside(dir: &Path, by: &Path, file: &str) -> Result<PathBuf, StateError> {
    let path = dir.join(file);
    if !path.starts_with(dir) || file.contains("..") {
        return Err(StateError::corrupt(
            by,
            format!("file {file:?} is outside the state"),
        ));
    }
    if !path.is_file() {
        return Err(StateError::corrupt(by, format!("file {file:?} is missing")));
    }
    Ok(path)
}

fn canister_from(
    dir: &Path,
    record_path: &Path,
    record: CanisterRecord,
    modules: &mut Modules,
) -> Result<Canister, StateError> {
    // Memory is read when first touched; a missing file is caught now.
    let blobs_path = inside(dir, record_path, &record.blobs)?;
    let blob = Arc::new(LazyBlob {
        path: blobs_path,
        reader: OnceLock::new(),
    });
    let heap = record
        .heap
        .as_ref()
        .map(|h| heap_from(h, &blob, modules))
        .transpose()?;
    let mut snapshots = BTreeMap::new();
    for s in record.snapshots {
        let snapshot = snapshot_from(s, &blob, modules)?;
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
        stable: stable_from(&record.stable, record.stable_pages, &blob)?,
        stable_pages: record.stable_pages,
        certified_data: record.certified_data,
        global_timer: record.global_timer,
        call_contexts: record.call_contexts,
        callbacks: record.callbacks,
        next_context_id: record.next_context_id,
        next_callback_id: record.next_callback_id,
        outstanding: record.outstanding.into_iter().collect(),
        stop_requests: record.stop_requests,
        chunk_store: chunks_from(&record.chunk_store, &blob)?,
        history: record.history.into(),
        total_changes: record.total_changes,
        snapshots,
        next_snapshot: record.next_snapshot,
        stats: record.stats,
        faults: record.faults,
    })
}
