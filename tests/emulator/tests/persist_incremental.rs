//! A save into the directory a state came from writes only the canisters
//! whose memory changed, commits by renaming the manifest, and leaves the
//! previous generation whole until then. The committed `golden/state-v3`
//! directory is decoded by this version (regenerate with `UPDATE_GOLDEN=1`
//! after a deliberate format change, bumping `STATE_FORMAT_VERSION`).

mod common;

use common::*;
use ic_emulator::{Emulator, Principal, SaveReport, STATE_FORMAT_VERSION};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `put` stores its 8-byte argument in heap memory and stable memory,
/// `heap_get` (query) reads it back from the heap.
const STORE: &str = r#"
  (func (export "canister_update put")
    (drop (call $arg))
    (i64.store (i32.const 0x3000) (i64.load (i32.const 0x2000)))
    (call $stable_set (i64.load (i32.const 0x2000)))
    (call $reply_i64 (i64.load (i32.const 0x3000))))
  (func (export "canister_query heap_get") (call $reply_i64 (i64.load (i32.const 0x3000))))
  (func (export "canister_query stable_get") (call $reply_i64 (call $stable_get)))
"#;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "ic-emulator-incremental-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn put(emu: &Emulator, id: Principal, v: i64) {
    update(emu, id, "put", v.to_le_bytes().to_vec()).unwrap();
}

fn stored(emu: &Emulator, id: Principal) -> (i64, i64) {
    let heap = i64_of(&query(emu, id, "heap_get", vec![]).unwrap());
    let stable = i64_of(&query(emu, id, "stable_get", vec![]).unwrap());
    (heap, stable)
}

/// The blob files in `canisters/` (memory), by name.
fn blob_files(dir: &Path) -> BTreeSet<String> {
    canister_files(dir, ".bin.gz")
}

/// The files in `canisters/` whose names end in `suffix`.
fn canister_files(dir: &Path, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir.join("canisters"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(suffix))
        .collect()
}

fn blob_of(dir: &Path, id: Principal) -> String {
    let prefix = format!("{id}.");
    let mine: Vec<_> = blob_files(dir)
        .into_iter()
        .filter(|f| f.starts_with(&prefix))
        .collect();
    assert_eq!(mine.len(), 1, "one blob file per canister: {mine:?}");
    mine[0].clone()
}

/// Two STORE canisters holding `va` and `vb`, saved into `dir`.
fn two_saved(dir: &Path, va: i64, vb: i64) -> (Emulator, Principal, Principal) {
    let emu = Emulator::new();
    let (a, b) = (install(&emu, STORE), install(&emu, STORE));
    put(&emu, a, va);
    put(&emu, b, vb);
    emu.save_state(dir).unwrap();
    (emu, a, b)
}

fn modified(dir: &Path, file: &str) -> std::time::SystemTime {
    std::fs::metadata(dir.join("canisters").join(file))
        .unwrap()
        .modified()
        .unwrap()
}

#[test]
fn a_save_rewrites_only_the_canisters_whose_memory_changed() {
    let tmp = TempDir::new("only-changed");
    let dir = &tmp.0;
    let emu = Emulator::new();
    let (a, b) = (install(&emu, STORE), install(&emu, STORE));
    put(&emu, a, 1);
    put(&emu, b, 2);
    emu.save_state(dir).unwrap();
    let (a1, b1) = (blob_of(dir, a), blob_of(dir, b));
    let b1_written = modified(dir, &b1);

    // Rounds and queries touch no memory: nothing is written again.
    emu.tick_n(3);
    let _ = stored(&emu, b);
    emu.save_state(dir).unwrap();
    assert_eq!((blob_of(dir, a), blob_of(dir, b)), (a1.clone(), b1.clone()));

    put(&emu, a, 10);
    emu.save_state(dir).unwrap();
    let a3 = blob_of(dir, a);
    assert_ne!(a3, a1, "the changed canister gets a new file");
    assert_eq!(blob_of(dir, b), b1, "the other keeps its file");
    assert_eq!(modified(dir, &b1), b1_written, "untouched on disk");
    assert_eq!(blob_files(dir).len(), 2, "the old file of a is removed");

    // The same from a loaded emulator, as in one factoryctl command.
    let loaded = Emulator::load_state(dir).unwrap();
    assert_eq!(stored(&loaded, a), (10, 10));
    assert_eq!(stored(&loaded, b), (2, 2));
    put(&loaded, b, 20);
    loaded.save_state(dir).unwrap();
    assert_eq!(blob_of(dir, a), a3);
    assert_ne!(blob_of(dir, b), b1);
    let again = Emulator::load_state(dir).unwrap();
    assert_eq!((stored(&again, a), stored(&again, b)), ((10, 10), (20, 20)));
}

#[test]
fn a_save_after_another_writer_rewrites_everything() {
    let tmp = TempDir::new("other-writer");
    let dir = &tmp.0;
    let (first, a, b) = two_saved(dir, 1, 2);
    // A second process loads, changes and saves: it removes the files it replaced.
    let second = Emulator::load_state(dir).unwrap();
    put(&second, b, 200);
    second.save_state(dir).unwrap();
    // The first one's notion of what is on disk is stale: it must not keep
    // any file by it, and its own state replaces the second's as a whole.
    put(&first, a, 100);
    first.save_state(dir).unwrap();
    let loaded = Emulator::load_state(dir).unwrap();
    assert_eq!(
        (stored(&loaded, a), stored(&loaded, b)),
        ((100, 100), (2, 2))
    );
}

#[test]
fn a_save_cut_short_before_its_manifest_leaves_the_previous_state() {
    let tmp = TempDir::new("cut-short");
    let dir = &tmp.0;
    let emu = Emulator::new();
    let a = install(&emu, STORE);
    put(&emu, a, 7);
    emu.save_state(dir).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let next = manifest["generation"].as_u64().unwrap() + 1;
    // What a save stopped half-way leaves: files of the next generation, half written.
    std::fs::write(dir.join(format!("subnet.{next}.json")), b"{\"time\":").unwrap();
    std::fs::write(
        dir.join(format!("canisters/{a}.{next}.bin.gz")),
        b"\x1f\x8b",
    )
    .unwrap();
    std::fs::write(dir.join(format!("canisters/{a}.{next}.json")), b"{").unwrap();
    std::fs::write(dir.join("manifest.json.tmp"), b"{").unwrap();

    let loaded = Emulator::load_state(dir).unwrap();
    assert_eq!(stored(&loaded, a), (7, 7));
    put(&loaded, a, 8);
    loaded.save_state(dir).unwrap();
    let again = Emulator::load_state(dir).unwrap();
    assert_eq!(stored(&again, a), (8, 8));
    assert_eq!(blob_files(dir).len(), 1, "the leftovers are gone");
    assert_eq!(canister_files(dir, ".json").len(), 1, "one record");
    let root: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = [
        "manifest.json".to_string(),
        format!("subnet.{next}.json"),
        format!("capacity.{next}.json"),
        format!("subnets.{next}.json"),
        "canisters".into(),
        "modules".into(),
    ]
    .into();
    assert_eq!(root, expected);
}

/// Every file of the state and its modification time.
fn file_times(dir: &Path) -> BTreeSet<(PathBuf, std::time::SystemTime)> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(file_times(&path));
        } else {
            out.insert((
                path.clone(),
                std::fs::metadata(&path).unwrap().modified().unwrap(),
            ));
        }
    }
    out
}

/// As one factoryctl command: load a state of many canisters, touch one.
#[test]
fn a_loaded_state_reads_only_what_is_touched_and_writes_only_what_changed() {
    let tmp = TempDir::new("lazy");
    let dir = &tmp.0;
    let emu = Emulator::new();
    let ids: Vec<_> = (0..6).map(|_| install(&emu, STORE)).collect();
    for (i, id) in ids.iter().enumerate() {
        put(&emu, *id, i as i64);
    }
    emu.save_state(dir).unwrap();
    assert_eq!(emu.canisters_in_memory(), ids.len());

    let loaded = Emulator::load_state(dir).unwrap();
    assert_eq!(loaded.canisters_in_memory(), 0, "nothing read at load");
    assert_eq!(stored(&loaded, ids[2]), (2, 2));
    assert_eq!(loaded.canisters_in_memory(), 1, "only the queried one");
    let before = file_times(dir);
    assert_eq!(
        loaded.save_state(dir).unwrap(),
        SaveReport::default(),
        "a read-only session writes nothing"
    );
    assert_eq!(file_times(dir), before);

    put(&loaded, ids[4], 40);
    let report = loaded.save_state(dir).unwrap();
    // Its blob and record files, the generation's three files and the manifest.
    assert_eq!(report.files_written, 6, "{report:?}");
    let new_in_canisters: Vec<String> = file_times(dir)
        .difference(&before)
        .map(|(path, _)| path.strip_prefix(dir).unwrap().display().to_string())
        .filter(|path| path.starts_with("canisters"))
        .collect();
    let prefix = format!("canisters/{}.", ids[4]);
    assert_eq!(new_in_canisters.len(), 2, "{new_in_canisters:?}");
    assert!(
        new_in_canisters.iter().all(|p| p.starts_with(&prefix)),
        "only the changed canister's files: {new_in_canisters:?}"
    );
    assert_eq!(loaded.canisters_in_memory(), 2);
    let again = Emulator::load_state(dir).unwrap();
    assert_eq!(stored(&again, ids[4]), (40, 40));
    assert_eq!(stored(&again, ids[5]), (5, 5));
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/state-v3")
}

/// The golden state: two STORE canisters holding 41 and 42.
#[test]
fn the_golden_state_directory_decodes() {
    let dir = golden_dir();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        let emu = Emulator::new();
        let (a, b) = (install(&emu, STORE), install(&emu, STORE));
        put(&emu, a, 41);
        put(&emu, b, 42);
        emu.save_state(&dir).unwrap();
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["version"], STATE_FORMAT_VERSION);
    // Loaded from a copy: loading must not need to write, and a save must not touch the golden files.
    let tmp = TempDir::new("golden");
    copy_dir(&dir, &tmp.0);
    let emu = Emulator::load_state(&tmp.0).unwrap();
    // Canister ids are allocated in order: a fresh emulator's first two.
    let fresh = Emulator::new();
    let (a, b) = (fresh.create_canister(), fresh.create_canister());
    assert_eq!(stored(&emu, a), (41, 41));
    assert_eq!(stored(&emu, b), (42, 42));
}

/// A blob file damaged after the load (memory is read on first use) makes the
/// message that first needs it fail, naming the file; the others run on.
#[test]
fn a_memory_file_damaged_after_the_load_fails_its_message_naming_the_file() {
    let tmp = TempDir::new("damaged");
    let dir = &tmp.0;
    let (_, a, b) = two_saved(dir, 1, 2);
    let loaded = Emulator::load_state(dir).unwrap();
    let file = blob_of(dir, a);
    std::fs::write(dir.join("canisters").join(&file), b"not gzip").unwrap();
    for result in [
        query(&loaded, a, "heap_get", vec![]),
        update(&loaded, a, "put", 3i64.to_le_bytes().to_vec()),
    ] {
        let reject = result.expect_err("the damaged canister's message fails");
        assert!(reject.reject_message.contains(&file), "{reject:?}");
        assert_eq!(
            reject.error_code,
            ic_emulator::ErrorCode::CanisterWasmEngineError
        );
    }
    assert_eq!(stored(&loaded, b), (2, 2), "the others run on");
}
