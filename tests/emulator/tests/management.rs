//! The management canister (issue item 3): each method, from users and from canisters.

mod common;
use candid::{Decode, Encode, Nat};
use common::*;
use ic_emulator::management_types::*;
use ic_emulator::{Emulator, ErrorCode, Fault, Principal, RejectCode};
use sha2::{Digest, Sha256};

fn user(n: u8) -> Principal {
    Principal::self_authenticating([n; 32])
}

fn sha(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn installed(emu: &Emulator, version: u8) -> Principal {
    let id = emu.create_canister();
    emu.install_canister(id, versioned(version), vec![], None);
    id
}

fn get(emu: &Emulator, id: Principal, method: &str) -> i64 {
    i64_of(&query(emu, id, method, vec![]).unwrap())
}

#[test]
fn create_canister_from_a_canister_charges_the_fee_and_makes_the_caller_controller() {
    let emu = Emulator::new();
    let proxy = install(&emu, PROXY);
    let arg = Encode!(&CreateCanisterArgs::default()).unwrap();
    let reply = via_proxy(
        &emu,
        proxy,
        "create_canister",
        arg.clone(),
        2_000_000_000_000,
    )
    .unwrap();
    let id = Decode!(&reply, CanisterIdRecord).unwrap().canister_id;
    assert_eq!(
        emu.cycle_balance(id),
        2_000_000_000_000 - ic_emulator::costs::CREATE_CANISTER_FEE
    );
    assert_eq!(emu.get_controllers(id), vec![proxy]);
    let (code, msg) = via_proxy(&emu, proxy, "create_canister", arg, 1_000).unwrap_err();
    assert_eq!(code, 4, "{msg}");
    assert!(msg.contains("fee"), "{msg}");
    // Users cannot call create_canister directly.
    let e = emu
        .update_call(
            Principal::management_canister(),
            user(1),
            "create_canister",
            Encode!(&CreateCanisterArgs::default()).unwrap(),
        )
        .unwrap_err();
    assert_eq!(e.reject_code, RejectCode::CanisterReject);
}

#[test]
fn provisional_create_honours_amount_settings_and_specified_id() {
    let emu = Emulator::new();
    let settings = CanisterSettings {
        controllers: Some(vec![user(1), user(2)]),
        ..Default::default()
    };
    let id = emu
        .try_create_canister(Some(user(1)), Some(settings), Some(5_000_000_000_000), None)
        .unwrap();
    assert_eq!(emu.cycle_balance(id), 5_000_000_000_000);
    assert_eq!(emu.get_controllers(id), vec![user(1), user(2)]);
    assert_eq!(
        emu.cycle_balance(emu.create_canister()),
        ic_emulator::costs::DEFAULT_PROVISIONAL_CYCLES
    );
    let wanted = ic_emulator::ids::canister_id_from_u64(4242);
    assert_eq!(
        emu.create_canister_with_id(None, None, wanted).unwrap(),
        wanted
    );
    assert!(
        emu.create_canister_with_id(None, None, wanted).is_err(),
        "an id is never given twice"
    );
    assert_eq!(
        emu.add_cycles(id, 7),
        5_000_000_000_007,
        "provisional_top_up_canister"
    );
}

#[test]
fn update_settings_is_for_controllers_and_records_controller_changes() {
    let emu = Emulator::new();
    let id = emu.create_canister_with_settings(Some(user(1)), None);
    let e = emu
        .set_controllers(id, Some(user(2)), vec![user(2)])
        .unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (
            RejectCode::CanisterError,
            ErrorCode::CanisterInvalidController
        )
    );
    emu.set_controllers(id, Some(user(1)), vec![user(1), user(3)])
        .unwrap();
    assert_eq!(emu.get_controllers(id), vec![user(1), user(3)]);
    let too_many: Vec<Principal> = (10..21).map(user).collect();
    let e = emu
        .set_controllers(id, Some(user(1)), too_many)
        .unwrap_err();
    assert_eq!(e.reject_code, RejectCode::CanisterReject);
    let settings = CanisterSettings {
        freezing_threshold: Some(Nat::from(1234u32)),
        ..Default::default()
    };
    emu.update_canister_settings(id, Some(user(3)), settings)
        .unwrap();
    let status = emu.canister_status(id, Some(user(1))).unwrap();
    assert_eq!(status.settings.freezing_threshold, Nat::from(1234u32));
    let (total, history) = emu.canister_history(id).unwrap();
    assert_eq!(
        total, 2,
        "creation + one controllers change (settings without controllers are not recorded)"
    );
    assert!(matches!(
        history[1].details,
        Some(ChangeDetails::ControllersChange(_))
    ));
}

#[test]
fn install_runs_init_with_the_argument_and_refuses_a_non_empty_canister() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    emu.install_canister(id, versioned(1), b"abc".to_vec(), None);
    assert_eq!(get(&emu, id, "stable_get"), 3, "init saw its argument");
    let e = emu
        .install_code(CanisterInstallMode::Install, id, versioned(1), vec![], None)
        .unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::CanisterError, ErrorCode::CanisterNonEmpty)
    );
    let e = emu
        .install_code(
            CanisterInstallMode::Install,
            id,
            b"not wasm".to_vec(),
            vec![],
            None,
        )
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidWasm);
    let other = emu.create_canister_with_settings(Some(user(1)), None);
    let e = emu
        .install_code(
            CanisterInstallMode::Install,
            other,
            versioned(1),
            vec![],
            None,
        )
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidController);
}

#[test]
fn upgrade_keeps_stable_memory_discards_the_heap_and_runs_pre_upgrade_unless_skipped() {
    let emu = Emulator::new();
    let id = installed(&emu, 1);
    update(&emu, id, "inc", vec![]).unwrap();
    update(&emu, id, "inc", vec![]).unwrap();
    emu.upgrade_canister(id, versioned(2), vec![], None)
        .unwrap();
    assert_eq!(get(&emu, id, "version"), 2);
    assert_eq!(get(&emu, id, "get"), 0, "heap discarded");
    assert_eq!(
        get(&emu, id, "stable_get"),
        102,
        "pre_upgrade wrote the counter to stable memory, which was kept"
    );
    update(&emu, id, "inc", vec![]).unwrap();
    let flags = UpgradeFlags {
        skip_pre_upgrade: Some(true),
        wasm_memory_persistence: None,
    };
    emu.upgrade_canister_with_flags(id, versioned(3), vec![], None, flags)
        .unwrap();
    assert_eq!(get(&emu, id, "stable_get"), 102, "pre_upgrade skipped");
    let (_, history) = emu.canister_history(id).unwrap();
    let last = history.last().unwrap();
    match &last.details {
        Some(ChangeDetails::CodeDeployment(d)) => {
            assert_eq!(d.mode, CodeDeploymentMode::Upgrade);
            assert_eq!(d.module_hash, sha(&versioned(3)));
        }
        other => panic!("unexpected change {other:?}"),
    }
}

#[test]
fn a_trap_in_pre_or_post_upgrade_leaves_the_old_module_and_state() {
    let emu = Emulator::new();
    let id = installed(&emu, 1);
    update(&emu, id, "inc", vec![]).unwrap();
    let version = emu.canister_status(id, None).unwrap().version;
    // post_upgrade traps when its argument is "trap".
    let e = emu
        .upgrade_canister(id, versioned(2), b"trap".to_vec(), None)
        .unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::CanisterError, ErrorCode::CanisterCalledTrap)
    );
    assert_eq!(get(&emu, id, "version"), 1);
    assert_eq!(get(&emu, id, "get"), 1, "the heap is untouched");
    assert_eq!(
        get(&emu, id, "stable_get"),
        0,
        "pre_upgrade's stable write was rolled back"
    );
    // The injected fault does the same for a post_upgrade that would succeed.
    emu.inject_fault(id, Fault::TrapNextPostUpgrade).unwrap();
    let e = emu
        .upgrade_canister(id, versioned(2), vec![], None)
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterTrapped);
    assert_eq!(get(&emu, id, "version"), 1);
    // pre_upgrade traps once armed.
    update(&emu, id, "arm_pre_trap", vec![]).unwrap();
    let e = emu
        .upgrade_canister(id, versioned(2), vec![], None)
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterTrapped);
    assert_eq!(get(&emu, id, "version"), 1);
    assert_eq!(
        emu.canister_status(id, None).unwrap().module_hash,
        Some(sha(&versioned(1)))
    );
    assert_eq!(
        emu.canister_status(id, None).unwrap().version,
        version + 1,
        "only arm_pre_trap bumped it"
    );
    // Upgrading an empty canister fails.
    let empty = emu.create_canister();
    let e = emu
        .upgrade_canister(empty, versioned(2), vec![], None)
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterWasmModuleNotFound);
}

#[test]
fn reinstall_wipes_heap_and_stable_memory() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    emu.install_canister(id, versioned(1), b"abcd".to_vec(), None);
    update(&emu, id, "inc", vec![]).unwrap();
    emu.reinstall_canister(id, versioned(2), b"ab".to_vec(), None)
        .unwrap();
    assert_eq!(get(&emu, id, "get"), 0);
    assert_eq!(
        get(&emu, id, "stable_get"),
        2,
        "fresh stable memory, written by init"
    );
    assert_eq!(get(&emu, id, "version"), 2);
}

#[test]
fn uninstall_code_empties_the_canister_and_rejects_open_call_contexts() {
    let emu = Emulator::new();
    let a = installed(&emu, 1);
    let b = install(&emu, CALLEE);
    emu.inject_fault(a, Fault::DelayResponses(20)).unwrap();
    let waiting = emu
        .submit_call(
            a,
            Principal::anonymous(),
            "call_other",
            call_arg(b, "inc", &[]),
        )
        .unwrap();
    emu.tick_n(2);
    emu.uninstall_canister(a, None).unwrap();
    let e = emu.await_call(waiting).unwrap_err();
    assert_eq!(e.reject_code, RejectCode::CanisterReject);
    assert!(e.reject_message.contains("uninstalled"), "{e}");
    emu.tick_n(25);
    assert_eq!(
        emu.open_call_contexts(a),
        0,
        "the late response was dropped without a callback"
    );
    let status = emu.canister_status(a, None).unwrap();
    assert_eq!(status.module_hash, None);
    let e = update(&emu, a, "inc", vec![]).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterWasmModuleNotFound);
    let (_, history) = emu.canister_history(a).unwrap();
    assert!(matches!(
        history.last().unwrap().details,
        Some(ChangeDetails::CodeUninstall)
    ));
}

#[test]
fn canister_status_for_controllers_and_the_canister_itself_only() {
    let emu = Emulator::new();
    let proxy = install(&emu, PROXY);
    let status = emu.canister_status(proxy, None).unwrap();
    assert_eq!(status.status, CanisterStatusType::Running);
    assert_eq!(status.module_hash, Some(sha(&canister(PROXY))));
    assert_eq!(status.settings.controllers, vec![Principal::anonymous()]);
    assert!(status.memory_size > 0u8);
    assert_eq!(status.cycles, Nat::from(emu.cycle_balance(proxy)));
    let own = via_proxy(
        &emu,
        proxy,
        "canister_status",
        Encode!(&CanisterIdRecord { canister_id: proxy }).unwrap(),
        0,
    )
    .unwrap();
    assert_eq!(
        Decode!(&own, CanisterStatusResult).unwrap().status,
        CanisterStatusType::Running
    );
    let other = emu.create_canister();
    let (code, msg) = via_proxy(
        &emu,
        proxy,
        "canister_status",
        Encode!(&CanisterIdRecord { canister_id: other }).unwrap(),
        0,
    )
    .unwrap_err();
    assert_eq!(code, 5, "{msg}");
    assert!(msg.contains("controllers"), "{msg}");
    let e = emu.canister_status(other, Some(user(9))).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidController);
}

#[test]
fn canister_info_keeps_the_last_20_changes_and_counts_them_all() {
    let emu = Emulator::new();
    let proxy = install(&emu, PROXY);
    let id = emu.create_canister();
    emu.install_canister(id, versioned(1), vec![], None);
    for i in 0..25 {
        emu.set_controllers(id, None, vec![Principal::anonymous(), user(i)])
            .unwrap();
    }
    let info = |n: Option<u64>| {
        let arg = Encode!(&CanisterInfoArgs {
            canister_id: id,
            num_requested_changes: n
        })
        .unwrap();
        Decode!(
            &via_proxy(&emu, proxy, "canister_info", arg, 0).unwrap(),
            CanisterInfoResult
        )
        .unwrap()
    };
    let all = info(Some(100));
    assert_eq!(all.total_num_changes, 27);
    assert_eq!(all.recent_changes.len(), 20);
    assert_eq!(all.module_hash, Some(sha(&versioned(1))));
    assert_eq!(all.controllers, vec![Principal::anonymous(), user(24)]);
    assert_eq!(
        info(Some(3)).recent_changes,
        all.recent_changes[17..].to_vec()
    );
    assert!(info(None).recent_changes.is_empty());
    match &all.recent_changes[19].details {
        Some(ChangeDetails::ControllersChange(c)) => {
            assert_eq!(c.controllers, vec![Principal::anonymous(), user(24)])
        }
        other => panic!("{other:?}"),
    }
    let e = emu
        .update_call(
            Principal::management_canister(),
            user(1),
            "canister_info",
            Encode!(&CanisterInfoArgs {
                canister_id: id,
                num_requested_changes: None
            })
            .unwrap(),
        )
        .unwrap_err();
    assert_eq!(
        e.reject_code,
        RejectCode::CanisterReject,
        "users cannot call canister_info"
    );
}

#[test]
fn stop_replies_only_once_stopped_and_start_rejects_pending_stops() {
    let emu = Emulator::new();
    let id = installed(&emu, 1);
    emu.inject_fault(id, Fault::NeverStop).unwrap();
    let stop_arg = Encode!(&CanisterIdRecord { canister_id: id }).unwrap();
    let stop = emu
        .submit_call(
            Principal::management_canister(),
            Principal::anonymous(),
            "stop_canister",
            stop_arg.clone(),
        )
        .unwrap();
    emu.tick_n(10);
    assert!(
        emu.ingress_status(stop).is_none(),
        "a canister with an open call context does not stop"
    );
    assert_eq!(
        emu.canister_status(id, None).unwrap().status,
        CanisterStatusType::Stopping
    );
    emu.start_canister(id, None).unwrap();
    let e = emu.await_call(stop).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (
            RejectCode::CanisterError,
            ErrorCode::CanisterStoppingCancelled
        )
    );
    assert_eq!(
        emu.canister_status(id, None).unwrap().status,
        CanisterStatusType::Running
    );
    // Once the open call is gone, stop completes.
    let stop = emu
        .submit_call(
            Principal::management_canister(),
            Principal::anonymous(),
            "stop_canister",
            stop_arg,
        )
        .unwrap();
    emu.tick_n(3);
    assert!(emu.ingress_status(stop).is_none());
    emu.inject_fault(id, Fault::AllowStop).unwrap();
    emu.await_call(stop).unwrap();
    assert_eq!(
        emu.canister_status(id, None).unwrap().status,
        CanisterStatusType::Stopped
    );
    emu.stop_canister(id, None).unwrap();
}

#[test]
fn a_stop_request_times_out_after_five_minutes() {
    let emu = Emulator::new();
    let id = installed(&emu, 1);
    emu.inject_fault(id, Fault::NeverStop).unwrap();
    let stop = emu
        .submit_call(
            Principal::management_canister(),
            Principal::anonymous(),
            "stop_canister",
            Encode!(&CanisterIdRecord { canister_id: id }).unwrap(),
        )
        .unwrap();
    emu.tick();
    emu.advance_time(std::time::Duration::from_secs(301));
    let e = emu.await_call(stop).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (
            RejectCode::SysTransient,
            ErrorCode::StopCanisterRequestTimeout
        )
    );
    assert_eq!(
        emu.canister_status(id, None).unwrap().status,
        CanisterStatusType::Stopping
    );
}

#[test]
fn delete_canister_requires_stopped_and_the_id_is_gone() {
    let emu = Emulator::new();
    let id = installed(&emu, 1);
    let e = emu.delete_canister(id, None).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterNotStopped);
    emu.stop_canister(id, None).unwrap();
    emu.delete_canister(id, None).unwrap();
    assert!(!emu.canister_exists(id));
    let e = update(&emu, id, "inc", vec![]).unwrap_err();
    assert_eq!(e.reject_code, RejectCode::DestinationInvalid);
    assert!(
        emu.create_canister_with_id(None, None, id).is_err(),
        "ids are never reused"
    );
}

#[test]
fn deposit_cycles_adds_the_attached_cycles() {
    let emu = Emulator::new();
    let proxy = install(&emu, PROXY);
    let target = emu.create_canister();
    let before = emu.cycle_balance(target);
    via_proxy(
        &emu,
        proxy,
        "deposit_cycles",
        Encode!(&CanisterIdRecord {
            canister_id: target
        })
        .unwrap(),
        123_456,
    )
    .unwrap();
    assert_eq!(emu.cycle_balance(target), before + 123_456);
}

#[test]
fn raw_rand_is_32_fresh_bytes_and_seeded() {
    let draw = |seed| {
        let emu = Emulator::with_seed(seed);
        let proxy = install(&emu, PROXY);
        let a = Decode!(
            &via_proxy(&emu, proxy, "raw_rand", Encode!().unwrap(), 0).unwrap(),
            Vec<u8>
        )
        .unwrap();
        let b = Decode!(
            &via_proxy(&emu, proxy, "raw_rand", Encode!().unwrap(), 0).unwrap(),
            Vec<u8>
        )
        .unwrap();
        (a, b)
    };
    let (a, b) = draw(1);
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    assert_eq!(
        draw(1),
        (a.clone(), b),
        "the same seed gives the same bytes"
    );
    assert_ne!(draw(2).0, a);
}

#[test]
fn chunk_store_upload_list_clear() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    let h = emu.upload_chunk(id, None, b"chunk one".to_vec()).unwrap();
    assert_eq!(h, sha(b"chunk one"));
    assert_eq!(
        emu.upload_chunk(id, None, b"chunk one".to_vec()).unwrap(),
        h,
        "idempotent"
    );
    emu.upload_chunk(id, None, b"chunk two".to_vec()).unwrap();
    let mut stored = emu.stored_chunks(id, None).unwrap();
    stored.sort();
    let mut want = vec![sha(b"chunk one"), sha(b"chunk two")];
    want.sort();
    assert_eq!(stored, want);
    let e = emu
        .upload_chunk(id, None, vec![0; (1 << 20) + 1])
        .unwrap_err();
    assert_eq!(e.reject_code, RejectCode::CanisterReject);
    let e = emu
        .upload_chunk(id, Some(user(5)), b"x".to_vec())
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidController);
    emu.clear_chunk_store(id, None).unwrap();
    assert!(emu.stored_chunks(id, None).unwrap().is_empty());
}

#[test]
fn install_chunked_code_checks_hashes_and_store_rules() {
    let emu = Emulator::new();
    let wasm = versioned(7);
    let (first, second) = wasm.split_at(wasm.len() / 2);
    let store = emu.create_canister();
    let target = emu.create_canister();
    let h1 = emu.upload_chunk(store, None, first.to_vec()).unwrap();
    let h2 = emu.upload_chunk(store, None, second.to_vec()).unwrap();
    let install = |sender, hashes: Vec<Vec<u8>>, hash: Vec<u8>| {
        emu.install_chunked_canister(
            target,
            sender,
            CanisterInstallMode::Install,
            store,
            hashes,
            hash,
            vec![],
        )
    };
    let e = install(None, vec![h1.clone(), h2.clone()], sha(b"other")).unwrap_err();
    assert!(e.reject_message.contains("does not match"), "{e}");
    let e = install(None, vec![h1.clone(), sha(b"missing")], sha(&wasm)).unwrap_err();
    assert!(e.reject_message.contains("not found"), "{e}");
    // The sender controls the target but not the store.
    emu.set_controllers(target, None, vec![Principal::anonymous(), user(1)])
        .unwrap();
    let e = install(Some(user(1)), vec![h1.clone(), h2.clone()], sha(&wasm)).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidController);
    install(None, vec![h1, h2], sha(&wasm)).unwrap();
    assert_eq!(get(&emu, target, "version"), 7);
    assert_eq!(
        emu.canister_status(target, None).unwrap().module_hash,
        Some(sha(&wasm))
    );
}

#[test]
fn a_canister_may_install_from_its_own_chunk_store() {
    let emu = Emulator::new();
    let proxy = install(&emu, PROXY);
    let target = emu.create_canister_with_settings(
        None,
        Some(CanisterSettings {
            controllers: Some(vec![proxy]),
            ..Default::default()
        }),
    );
    let wasm = versioned(8);
    let up = Encode!(&UploadChunkArgs {
        canister_id: proxy,
        chunk: wasm.clone()
    })
    .unwrap();
    via_proxy(&emu, proxy, "upload_chunk", up, 0).unwrap();
    let args = InstallChunkedCodeArgs {
        mode: CanisterInstallMode::Install,
        target_canister: target,
        store_canister: Some(proxy),
        chunk_hashes_list: vec![ChunkHash { hash: sha(&wasm) }],
        wasm_module_hash: sha(&wasm),
        arg: vec![],
        sender_canister_version: None,
    };
    via_proxy(
        &emu,
        proxy,
        "install_chunked_code",
        Encode!(&args).unwrap(),
        0,
    )
    .unwrap();
    assert_eq!(get(&emu, target, "version"), 8);
}

#[test]
fn snapshots_take_load_list_delete() {
    let emu = Emulator::new();
    let id = installed(&emu, 1);
    update(&emu, id, "inc", vec![]).unwrap();
    let snap = emu.take_canister_snapshot(id, None, None).unwrap();
    update(&emu, id, "inc", vec![]).unwrap();
    emu.upgrade_canister(id, versioned(2), vec![], None)
        .unwrap();
    assert_eq!(
        emu.list_canister_snapshots(id, None).unwrap(),
        vec![snap.clone()]
    );
    emu.load_canister_snapshot(id, None, snap.id.clone())
        .unwrap();
    assert_eq!(get(&emu, id, "version"), 1, "module restored");
    assert_eq!(get(&emu, id, "get"), 1, "heap restored");
    assert_eq!(get(&emu, id, "stable_get"), 0, "stable memory restored");
    let (_, history) = emu.canister_history(id).unwrap();
    assert!(matches!(
        history.last().unwrap().details,
        Some(ChangeDetails::LoadSnapshot(_))
    ));
    for _ in 1..10 {
        emu.take_canister_snapshot(id, None, None).unwrap();
    }
    let e = emu.take_canister_snapshot(id, None, None).unwrap_err();
    assert!(e.reject_message.contains("maximum"), "{e}");
    let replaced = emu
        .take_canister_snapshot(id, None, Some(snap.id.clone()))
        .unwrap();
    assert_eq!(emu.list_canister_snapshots(id, None).unwrap().len(), 10);
    emu.delete_canister_snapshot(id, None, replaced.id.clone())
        .unwrap();
    let e = emu
        .load_canister_snapshot(id, None, replaced.id)
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterSnapshotNotFound);
    assert_eq!(emu.list_canister_snapshots(id, None).unwrap().len(), 9);
    let e = emu
        .take_canister_snapshot(id, Some(user(3)), None)
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidController);
}

#[test]
fn unsupported_management_methods_reject_clearly() {
    let emu = Emulator::new();
    let proxy = install(&emu, PROXY);
    let (code, msg) = via_proxy(&emu, proxy, "http_request", Encode!().unwrap(), 0).unwrap_err();
    assert_eq!(code, 4);
    assert!(msg.contains("not supported by the emulator"), "{msg}");
}

#[test]
fn management_calls_in_flight_are_counted_per_caller() {
    let emu = Emulator::new();
    let proxy = install(&emu, PROXY);
    emu.inject_fault(proxy, Fault::DelayResponses(5)).unwrap();
    let arg = |_| {
        let mut p = 0u64.to_le_bytes().to_vec();
        p.extend(call_arg(
            Principal::management_canister(),
            "raw_rand",
            &Encode!().unwrap(),
        ));
        p
    };
    let ids: Vec<_> = (0..3)
        .map(|i| {
            emu.submit_call(proxy, Principal::anonymous(), "call_with_cycles", arg(i))
                .unwrap()
        })
        .collect();
    emu.tick_n(2);
    assert_eq!(emu.management_calls_in_flight(proxy).current, 3);
    for id in ids {
        emu.await_call(id).unwrap();
    }
    let f = emu.management_calls_in_flight(proxy);
    assert_eq!((f.current, f.max), (0, 3));
}
