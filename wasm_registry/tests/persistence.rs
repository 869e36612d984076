//! Stable memory: the registry survives being reopened on the same memories (a factory
//! upgrade), and what a release costs there, measured.

mod common;
use candid::Encode;
use common::*;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
use ic_stable_structures::{DefaultMemoryImpl, Memory, StableBTreeMap, VectorMemory};
use std::cell::Cell;
use std::rc::Rc;
use wasm_registry::*;

/// Everything observable, to compare before and after a reopen.
#[derive(Debug, PartialEq)]
struct Snapshot {
    releases: Vec<Release>,
    stats: RegistryStats,
    config: RegistryConfig,
    modules: Vec<(ModuleInfo, Vec<u8>)>,
    chunk_hashes: std::collections::BTreeSet<Sha256>,
    newest: Option<Release>,
    upload: UploadStatus,
    uploads: Vec<semver::Version>,
}

fn snapshot<M: Memory>(reg: &Registry<M>) -> Snapshot {
    Snapshot {
        releases: reg.list_releases(None, MAX_PAGE_SIZE),
        stats: reg.stats(),
        config: reg.config(),
        modules: reg
            .needed_modules()
            .iter()
            .map(|h| (reg.module_info(h).unwrap(), reg.module_bytes(h).unwrap()))
            .collect(),
        chunk_hashes: reg.needed_chunk_hashes(),
        newest: reg.newest_approved(),
        upload: reg.upload_status(&v("2.0.0")).unwrap(),
        uploads: reg.uploads_in_progress(),
    }
}

fn open(raw: &DefaultMemoryImpl) -> Registry<impl Memory> {
    // As in the factory: one MemoryManager, the registry on ids 3..8.
    let mm = MemoryManager::init(raw.clone());
    Registry::init(RegistryMemories::from_fn(|i| mm.get(MemoryId::new(3 + i))))
}

#[test]
fn reopening_on_the_same_memory_finds_everything_as_it_was() {
    let raw = DefaultMemoryImpl::default();
    // Someone else's structure in the same MemoryManager must not interfere.
    let mut other: StableBTreeMap<u64, u64, _> =
        StableBTreeMap::init(MemoryManager::init(raw.clone()).get(MemoryId::new(0)));
    other.insert(1, 2);
    drop(other);

    let mut reg = open(&raw);
    reg.set_config(
        RegistryConfig {
            approvals_required: 2,
            uploader_counts: true,
        },
        0,
    )
    .unwrap();
    let big = wasm(MIB as usize + 100, 1);
    publish(&mut reg, "1.0.0", &big);
    publish(&mut reg, "1.0.1", &big); // shares the module
    for version in ["1.0.0", "1.1.0"] {
        if version == "1.1.0" {
            publish(&mut reg, version, &wasm(500, 2));
        }
        reg.approve(&v(version), alice(), 1).unwrap();
        reg.approve(&v(version), bob(), 2).unwrap();
    }
    reg.deprecate(&v("1.1.0"), bob(), 3, "superseded".into())
        .unwrap();
    let revoked = publish(&mut reg, "1.2.0", &wasm(700, 3));
    reg.revoke(&v("1.2.0"), carol(), 4, "bug".into()).unwrap();
    publish(&mut reg, "1.3.0", &wasm(900, 4));
    reg.approve(&v("1.3.0"), carol(), 5).unwrap();
    let pending = wasm(MIB as usize + 10, 5);
    reg.begin_upload(begin_args("2.0.0", &pending), alice(), 6)
        .unwrap();
    reg.upload_chunk(chunk_args("2.0.0", 1, chunk_of(&pending, 1)), 7)
        .unwrap();

    let before = snapshot(&reg);
    assert_eq!(before.releases.len(), 6);
    assert_eq!(before.newest.as_ref().unwrap().version, "1.0.0");
    assert_eq!(before.upload.missing_chunks, vec![0]);
    assert_eq!(before.uploads, vec![v("2.0.0")]);
    drop(reg);

    // "Upgrade": new heap, same stable memory.
    let mut reg = open(&raw);
    assert_eq!(snapshot(&reg), before);
    let other: StableBTreeMap<u64, u64, _> =
        StableBTreeMap::init(MemoryManager::init(raw.clone()).get(MemoryId::new(0)));
    assert_eq!(other.get(&1), Some(2));

    // And it carries on where it stopped.
    reg.upload_chunk(chunk_args("2.0.0", 0, chunk_of(&pending, 0)), 8)
        .unwrap();
    let committed = reg.commit_upload(&v("2.0.0"), 9).unwrap();
    assert_eq!(reg.module_bytes(&committed.sha256).unwrap(), pending);
    assert!(reg.uploads_in_progress().is_empty());
    // The stored config still says the uploader counts and two approvals are needed.
    assert_eq!(
        reg.approve(&v("1.3.0"), alice(), 10),
        Ok(ReleaseState::Approved)
    );
    assert!(matches!(
        reg.begin_upload(begin_args("3.0.0", &wasm(700, 3)), alice(), 11),
        Err(RegistryError::ModuleRevoked { .. })
    ));
    assert!(!reg.is_module_needed(&revoked.sha256));
}

/// A memory that records the highest byte ever written: the space its structure really uses
/// (growth is in 64 KiB pages, so `size()` is too coarse).
#[derive(Clone, Default)]
struct Tracked {
    mem: VectorMemory,
    high: Rc<Cell<u64>>,
}

impl Memory for Tracked {
    fn size(&self) -> u64 {
        self.mem.size()
    }
    fn grow(&self, pages: u64) -> i64 {
        self.mem.grow(pages)
    }
    fn read(&self, offset: u64, dst: &mut [u8]) {
        self.mem.read(offset, dst)
    }
    fn write(&self, offset: u64, src: &[u8]) {
        self.high
            .set(self.high.get().max(offset + src.len() as u64));
        self.mem.write(offset, src)
    }
}

fn used(mems: &RegistryMemories<Tracked>) -> u64 {
    [
        &mems.meta,
        &mems.releases,
        &mems.modules,
        &mems.free_extents,
        &mems.blobs,
    ]
    .iter()
    .map(|m| m.high.get())
    .sum()
}

#[test]
fn overhead() {
    const N: u64 = 200;
    const MODULE: usize = 1000;
    let mems = RegistryMemories::from_fn(|_| Tracked::default());
    let mut reg = Registry::init(mems.clone());
    let empty = used(&mems);
    for i in 0..N {
        let version = format!("1.{i}.0");
        let module = wasm(MODULE, i + 1);
        let mut args = begin_args(&version, &module);
        args.notes = String::new();
        reg.begin_upload(args, alice(), 1).unwrap();
        upload_all(&mut reg, &version, &module);
        reg.commit_upload(&v(&version), 2).unwrap();
        reg.approve(&v(&version), bob(), 3).unwrap();
        reg.approve(&v(&version), carol(), 4).unwrap();
    }
    let total = used(&mems) - empty;
    let per_release = (total - N * MODULE as u64).div_ceil(N);
    // Module bytes are packed with no per-module padding.
    assert_eq!(mems.blobs.high.get(), N * MODULE as u64);
    println!(
        "per-release overhead: {per_release} bytes (releases {} B, modules {} B, free list {} B)",
        mems.releases.high.get(),
        mems.modules.high.get(),
        mems.free_extents.high.get()
    );
    assert!(
        per_release <= RELEASE_OVERHEAD_BYTES,
        "measured {per_release} B > documented RELEASE_OVERHEAD_BYTES = {RELEASE_OVERHEAD_BYTES}"
    );
    assert!(
        per_release + 128 > RELEASE_OVERHEAD_BYTES,
        "measured {per_release} B: lower RELEASE_OVERHEAD_BYTES = {RELEASE_OVERHEAD_BYTES}"
    );

    // Each further chunk adds one 32-byte hash (plus its Candid length byte) to the record.
    let mut release = reg.release(&v("1.0.0")).unwrap();
    let one = Encode!(&release).unwrap().len();
    release.chunk_hashes = vec![Sha256([9; 32]); 100];
    let hundred = Encode!(&release).unwrap().len();
    let per_chunk = (hundred - one) as f64 / 99.0;
    println!("per-chunk overhead: {per_chunk:.1} bytes");
    assert!((32.0..=34.0).contains(&per_chunk), "{per_chunk}");
}
