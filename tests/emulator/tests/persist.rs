//! Saving the emulator to a directory and loading it in a fresh `Emulator`:
//! canisters carry on (heap, stable memory, timers, calls in flight), and bad
//! directories give a typed `StateError`.

mod common;

use candid::Principal;
use common::copy_dir;
use factory_client::{
    FactoryArg, FactoryClient, FactoryInitArgs, PublishOptions, RegistryConfig, Transport,
    TransportError,
};
use ic_emulator::management_types::CanisterSettings;
use ic_emulator::{Emulator, Fault, MessageId, StateError, STATE_FORMAT_VERSION};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fresh directory under the temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("ic-emulator-persist-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// A path inside, not created.
    fn state(&self) -> PathBuf {
        self.0.join("state")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn probe(emu: &Emulator) -> Principal {
    let id = emu.create_canister();
    emu.install_canister(
        id,
        canister_artifacts::artifacts().probe.wasm_gz.clone(),
        candid::encode_args(()).unwrap(),
        None,
    );
    id
}

fn get(emu: &Emulator, id: Principal, key: u64) -> Option<String> {
    emu.query_candid::<_, (Option<String>,)>(id, "get", (key,))
        .unwrap()
        .0
}

fn count(emu: &Emulator, id: Principal, method: &str) -> u64 {
    emu.query_candid::<_, (u64,)>(id, method, ()).unwrap().0
}

fn put(emu: &Emulator, id: Principal, key: u64, value: &str) -> Option<String> {
    emu.update_candid::<_, (Option<String>,)>(id, "put", (key, value.to_string()))
        .unwrap()
        .0
}

fn save_and_load(emu: &Emulator, dir: &Path) -> Emulator {
    emu.save_state(dir).unwrap();
    Emulator::load_state(dir).unwrap()
}

#[test]
fn a_probe_keeps_heap_stable_memory_and_its_timer() {
    let tmp = TempDir::new("probe");
    let emu = Emulator::new();
    let id = probe(&emu);
    put(&emu, id, 1, "one");
    put(&emu, id, 2, "two");
    emu.advance_time(Duration::from_secs(10));
    emu.tick_n(4);
    assert_eq!(
        count(&emu, id, "ticks"),
        1,
        "the interval ran once before saving"
    );
    let status_before = emu.canister_status(id, None).unwrap();
    let time = emu.get_time();

    let loaded = save_and_load(&emu, &tmp.state());
    drop(emu);
    assert_eq!(loaded.get_time(), time);
    assert_eq!(get(&loaded, id, 1), Some("one".into()), "stable memory");
    assert_eq!(count(&loaded, id, "heap_counter"), 2, "heap (thread_local)");
    assert_eq!(count(&loaded, id, "ticks"), 1);
    let status_after = loaded.canister_status(id, None).unwrap();
    assert_eq!(status_after.module_hash, status_before.module_hash);
    assert_eq!(status_after.settings, status_before.settings);
    assert_eq!(status_after.cycles, status_before.cycles);
    assert_eq!(status_after.memory_size, status_before.memory_size);

    // Updates work on the loaded heap, and the armed interval fires again.
    assert_eq!(put(&loaded, id, 1, "uno"), Some("one".into()));
    assert_eq!(count(&loaded, id, "heap_counter"), 3);
    loaded.advance_time(Duration::from_secs(10));
    loaded.tick_n(4);
    assert_eq!(
        count(&loaded, id, "ticks"),
        2,
        "the timer fired after the load"
    );
    assert_eq!(loaded.open_call_contexts(id), 0);
}

#[test]
fn time_rounds_and_id_allocation_carry_on() {
    let tmp = TempDir::new("subnet");
    let emu = Emulator::with_seed(7);
    let a = emu.create_canister();
    let gone = emu.create_canister();
    emu.stop_canister(gone, None).unwrap();
    emu.delete_canister(gone, None).unwrap();
    emu.advance_time(Duration::from_secs(3600));
    emu.tick_n(3);
    let (time, rounds) = (emu.get_time(), emu.rounds());

    let loaded = save_and_load(&emu, &tmp.state());
    assert_eq!(loaded.get_time(), time);
    assert_eq!(loaded.rounds(), rounds);
    assert!(loaded.canister_exists(a));
    assert!(!loaded.canister_exists(gone));
    // The next id is the one the saved emulator would have allocated.
    assert_eq!(loaded.create_canister(), emu.create_canister());
    // The deterministic randomness continues identically too.
    let p1 = probe(&emu);
    let p2 = probe(&loaded);
    assert_eq!(p1, p2);
    let r1: (Vec<u8>,) = emu.update_candid(p1, "random", ()).unwrap();
    let r2: (Vec<u8>,) = loaded.update_candid(p2, "random", ()).unwrap();
    assert_eq!(r1, r2);
}

#[test]
fn calls_between_canisters_work_after_a_load_and_in_flight_calls_complete() {
    let tmp = TempDir::new("calls");
    let emu = Emulator::new();
    let a = probe(&emu);
    let b = probe(&emu);
    // Submitted and half-way (a's request to b is queued) when saved.
    let payload = candid::encode_args((b, 7u64, "in flight".to_string())).unwrap();
    let MessageId(n) = emu
        .submit_call(a, Principal::anonymous(), "put_on", payload)
        .unwrap();
    emu.tick();
    assert!(emu.queued_messages() > 0 && emu.open_call_contexts(a) == 1);

    let loaded = save_and_load(&emu, &tmp.state());
    let reply = loaded.await_call(MessageId(n)).unwrap();
    let (r,): (Result<Option<String>, String>,) = candid::decode_args(&reply).unwrap();
    assert_eq!(r, Ok(None));
    assert_eq!(get(&loaded, b, 7), Some("in flight".into()));
    assert_eq!(loaded.open_call_contexts(a), 0);

    // A new call from the first canister to the second.
    let (r,): (Result<Option<String>, String>,) = loaded
        .update_candid(a, "put_on", (b, 8u64, "after load".to_string()))
        .unwrap();
    assert_eq!(r, Ok(None));
    assert_eq!(get(&loaded, b, 8), Some("after load".into()));
}

#[test]
fn settings_status_history_chunks_snapshots_and_faults_round_trip() {
    let tmp = TempDir::new("settings");
    let emu = Emulator::new();
    let owner = Principal::from_slice(&[9; 29]);
    let id = emu.create_canister_with_settings(
        Some(owner),
        Some(CanisterSettings {
            controllers: Some(vec![owner, Principal::anonymous()]),
            freezing_threshold: Some(12_345u64.into()),
            ..Default::default()
        }),
    );
    emu.install_canister(
        id,
        canister_artifacts::artifacts().probe.wasm_gz.clone(),
        candid::encode_args(()).unwrap(),
        Some(owner),
    );
    put(&emu, id, 1, "snapshotted");
    let snapshot = emu.take_canister_snapshot(id, Some(owner), None).unwrap();
    put(&emu, id, 1, "later");
    let chunk = emu.upload_chunk(id, Some(owner), vec![5; 3000]).unwrap();
    let stopped = probe(&emu);
    emu.stop_canister(stopped, None).unwrap();
    emu.inject_fault(id, Fault::TrapNextMessage).unwrap();

    let loaded = save_and_load(&emu, &tmp.state());
    assert_eq!(loaded.canister_history(id), emu.canister_history(id));
    assert_eq!(
        loaded.canister_status(id, Some(owner)).unwrap().settings,
        emu.canister_status(id, Some(owner)).unwrap().settings
    );
    assert_eq!(loaded.stored_chunks(id, Some(owner)).unwrap(), vec![chunk]);
    assert_eq!(
        loaded.list_canister_snapshots(id, Some(owner)).unwrap(),
        emu.list_canister_snapshots(id, Some(owner)).unwrap()
    );
    assert!(
        loaded
            .query_call(
                stopped,
                Principal::anonymous(),
                "len",
                candid::encode_args(()).unwrap()
            )
            .is_err(),
        "a stopped canister stays stopped"
    );
    loaded.start_canister(stopped, None).unwrap();
    assert_eq!(count(&loaded, stopped, "len"), 0);
    // The armed fault survives: the next message traps, the one after runs.
    let e = loaded
        .update_candid::<_, (Option<String>,)>(id, "put", (2u64, "x".to_string()))
        .unwrap_err();
    assert!(e.reject_message.contains("trap"), "{e}");
    assert_eq!(put(&loaded, id, 2, "y"), None);
    // The snapshot's memory was saved: loading it brings the old value back.
    loaded.stop_canister(id, Some(owner)).unwrap();
    loaded
        .load_canister_snapshot(id, Some(owner), snapshot.id)
        .unwrap();
    loaded.start_canister(id, Some(owner)).unwrap();
    assert_eq!(get(&loaded, id, 1), Some("snapshotted".into()));
}

/// `factory_client` over the emulator, as factoryctl uses it.
struct Client<'a> {
    emu: &'a Emulator,
    sender: Principal,
}

fn transport_error(r: ic_emulator::RejectResponse) -> TransportError {
    TransportError {
        reject_code: r.reject_code as u32,
        message: r.reject_message,
    }
}

impl Transport for Client<'_> {
    fn sender(&self) -> Principal {
        self.sender
    }
    fn update(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        self.emu
            .update_call(canister, self.sender, method, arg)
            .map_err(transport_error)
    }
    fn query(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        self.emu
            .query_call(canister, self.sender, method, arg)
            .map_err(transport_error)
    }
}

fn factory_client(
    emu: &Emulator,
    factory: Principal,
    sender: Principal,
) -> FactoryClient<Client<'_>> {
    FactoryClient::new(Client { emu, sender }, factory)
}

fn principal(n: u8) -> Principal {
    let mut bytes = [n; 29];
    bytes[28] = 0x02;
    Principal::from_slice(&bytes)
}

/// What the factory answers to its queries, as text (every type is `Debug`).
fn factory_answers(
    emu: &Emulator,
    factory: Principal,
    admin: Principal,
    user: Principal,
) -> Vec<String> {
    let a = factory_client(emu, factory, admin);
    let u = factory_client(emu, factory, user);
    vec![
        format!("{:?}", a.version()),
        format!("{:?}", a.get_config()),
        format!("{:?}", a.list_admins()),
        format!("{:?}", a.list_releases(None, 10)),
        format!("{:?}", a.list_users(None, 10)),
        format!("{:?}", a.audit_log(None, 50)),
        format!("{:?}", a.rollout_status()),
        format!("{:?}", u.my_canister()),
    ]
}

#[test]
fn the_factory_round_trips_and_answers_identically() {
    let tmp = TempDir::new("factory");
    let artifacts = canister_artifacts::artifacts();
    let emu = Emulator::new();
    let (operator, admin, user, user2) = (principal(1), principal(2), principal(3), principal(4));
    let factory = emu.create_canister_with_settings(
        Some(operator),
        Some(CanisterSettings {
            controllers: Some(vec![operator]),
            ..Default::default()
        }),
    );
    emu.add_cycles(factory, 10_000_000_000_000_000);
    let arg = FactoryArg::Init(FactoryInitArgs {
        admins: vec![admin],
        config: None,
        approvals: Some(RegistryConfig {
            approvals_required: 1,
            uploader_counts: true,
        }),
        role: None,
    });
    emu.install_canister(
        factory,
        artifacts.factory.wasm_gz.clone(),
        candid::encode_one(arg).unwrap(),
        Some(operator),
    );
    let options = PublishOptions {
        notes: "first".into(),
        approve: true,
        ..Default::default()
    };
    factory_client(&emu, factory, admin)
        .publish_release(
            "1.0.0",
            &artifacts.user_canister.wasm_gz,
            &options,
            |_, _| {},
        )
        .unwrap();
    let canister = factory_client(&emu, factory, user)
        .provision(principal(5))
        .unwrap();
    let before = factory_answers(&emu, factory, admin, user);
    assert!(
        before[7].contains(&format!("{canister:?}")),
        "{}",
        before[7]
    );

    let loaded = save_and_load(&emu, &tmp.state());
    drop(emu);
    assert_eq!(factory_answers(&loaded, factory, admin, user), before);
    // The loaded factory still provisions: management calls, a new canister
    // id, installing the module it stored in its heap and stable memory.
    let second = factory_client(&loaded, factory, user2)
        .provision(principal(6))
        .unwrap();
    assert_ne!(second, canister);
    assert_eq!(
        loaded
            .canister_status(second, Some(factory))
            .unwrap()
            .module_hash,
        loaded
            .canister_status(canister, Some(factory))
            .unwrap()
            .module_hash
    );
}

#[test]
fn saving_twice_to_one_directory_replaces_the_state() {
    let tmp = TempDir::new("twice");
    let dir = tmp.state();
    let emu = Emulator::new();
    let id = probe(&emu);
    put(&emu, id, 1, "first");
    emu.save_state(&dir).unwrap();
    put(&emu, id, 1, "second");
    let other = emu.create_canister();
    emu.save_state(&dir).unwrap();

    let loaded = Emulator::load_state(&dir).unwrap();
    assert_eq!(get(&loaded, id, 1), Some("second".into()));
    assert!(loaded.canister_exists(other));
    // Only the state is left: no staging or replaced sibling directories.
    let siblings: Vec<_> = std::fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(siblings, vec![std::ffi::OsString::from("state")]);
    // A loaded emulator saves back into the directory it came from.
    put(&loaded, id, 2, "third");
    loaded.save_state(&dir).unwrap();
    let again = Emulator::load_state(&dir).unwrap();
    assert_eq!(get(&again, id, 2), Some("third".into()));
}

#[test]
fn save_refuses_to_replace_what_is_not_a_state() {
    let tmp = TempDir::new("refuse");
    let emu = Emulator::new();
    let file = tmp.0.join("a-file");
    std::fs::write(&file, b"precious").unwrap();
    assert!(matches!(
        emu.save_state(&file),
        Err(StateError::NotAStateDir { path }) if path == file
    ));
    let dir = tmp.0.join("a-dir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), b"precious").unwrap();
    assert!(matches!(
        emu.save_state(&dir),
        Err(StateError::NotAStateDir { .. })
    ));
    assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"precious");
    // An empty directory is fine.
    let empty = tmp.0.join("empty");
    std::fs::create_dir(&empty).unwrap();
    emu.save_state(&empty).unwrap();
    Emulator::load_state(&empty).unwrap();
}

fn saved_probe(tmp: &TempDir) -> PathBuf {
    let emu = Emulator::new();
    let id = probe(&emu);
    put(&emu, id, 1, "x");
    let dir = tmp.state();
    emu.save_state(&dir).unwrap();
    dir
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

/// The subnet file of the generation the manifest names.
fn subnet_file(dir: &Path) -> PathBuf {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    dir.join(format!("subnet.{}.json", manifest["generation"]))
}

fn load_err(dir: &Path) -> StateError {
    match Emulator::load_state(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn missing_and_wrong_version_directories_are_reported() {
    let tmp = TempDir::new("missing");
    let absent = tmp.0.join("absent");
    assert!(matches!(load_err(&absent), StateError::NotFound { path } if path == absent));
    let empty = tmp.0.join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(load_err(&empty), StateError::NotFound { .. }));

    let dir = saved_probe(&tmp);
    edit_json(&dir.join("manifest.json"), |v| v["version"] = 99.into());
    match load_err(&dir) {
        StateError::UnsupportedVersion {
            found, supported, ..
        } => {
            assert_eq!((found, supported), (99, STATE_FORMAT_VERSION));
        }
        e => panic!("{e}"),
    }
    let shown = load_err(&dir).to_string();
    assert!(shown.contains("version 99"), "{shown}");
}

#[test]
fn corrupt_files_are_reported_as_corrupt_or_io() {
    let tmp = TempDir::new("corrupt");
    let dir = saved_probe(&tmp);
    let pristine = tmp.0.join("pristine");
    std::fs::rename(&dir, &pristine).unwrap();
    let fresh = || {
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&pristine, &dir);
    };
    let is_corrupt = |e: StateError, file: &str| match e {
        StateError::Corrupt { path, .. } => {
            assert!(path.to_string_lossy().ends_with(file), "{}", path.display())
        }
        e => panic!("not Corrupt: {e}"),
    };

    fresh();
    std::fs::write(dir.join("manifest.json"), b"{ not json").unwrap();
    is_corrupt(load_err(&dir), "manifest.json");

    fresh();
    let subnet = subnet_file(&dir);
    let subnet_name = subnet.file_name().unwrap().to_string_lossy().into_owned();
    let in_canisters = |suffix: &str| {
        std::fs::read_dir(dir.join("canisters"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(suffix))
            .unwrap()
    };
    let blob = in_canisters(".bin.gz");
    // The same canister's record (both written by the first save).
    let record = std::path::PathBuf::from(blob.to_string_lossy().replace(".bin.gz", ".json"));
    let record_name = record.file_name().unwrap().to_string_lossy().into_owned();

    fresh();
    std::fs::write(&subnet, b"[]").unwrap();
    is_corrupt(load_err(&dir), &subnet_name);

    // Memory is read when something first touches it (here a save to a new
    // directory, which writes all of it): a damaged blob file is found then,
    // and named.
    fresh();
    std::fs::write(&blob, b"\x1f\x8b\x08 truncated").unwrap();
    let loaded = Emulator::load_state(&dir).expect("memory is read lazily");
    let touched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        loaded.save_state(&tmp.0.join("elsewhere"))
    }));
    let message = touched.expect_err("the damaged memory is found");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains(".bin.gz"), "{message}");

    fresh();
    std::fs::remove_file(&blob).unwrap();
    is_corrupt(load_err(&dir), &record_name);

    fresh();
    std::fs::remove_file(&record).unwrap();
    is_corrupt(load_err(&dir), &subnet_name);

    fresh();
    std::fs::write(&record, b"{").unwrap();
    is_corrupt(load_err(&dir), &record_name);

    fresh();
    edit_json(&record, |v| {
        v["stable"]["data"]["len"] = 1_000_000_000u64.into()
    });
    is_corrupt(load_err(&dir), ".bin.gz");

    fresh();
    edit_json(&record, |v| v["stable"]["page_count"] = u64::MAX.into());
    is_corrupt(load_err(&dir), ".bin.gz");

    fresh();
    edit_json(&record, |v| v["heap"]["globals"] = serde_json::json!([]));
    is_corrupt(load_err(&dir), ".bin.gz");

    fresh();
    edit_json(&record, |v| v["blobs"] = "../../etc/passwd".into());
    is_corrupt(load_err(&dir), &record_name);

    fresh();
    let module = std::fs::read_dir(dir.join("modules"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&module).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&module, bytes).unwrap();
    is_corrupt(load_err(&dir), ".wasm");

    fresh();
    std::fs::remove_file(&module).unwrap();
    match load_err(&dir) {
        StateError::Io { path, source } => {
            assert_eq!(path, module);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        e => panic!("not Io: {e}"),
    }

    fresh();
    assert!(
        Emulator::load_state(&dir).is_ok(),
        "the pristine copy loads"
    );
}
