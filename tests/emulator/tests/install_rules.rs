//! Digest §3 "install_code modes" and "Upgrades with outstanding callbacks",
//! rule by rule, where the other suites do not assert them yet.

mod common;

use common::*;
use ic_emulator::management_types::{UpgradeFlags, WasmMemoryPersistence};
use ic_emulator::{Emulator, ErrorCode, Fault, Principal};

/// `swap_timer(t)` sets the global timer and replies with the previous one;
/// `post_upgrade` arms the timer far in the future when its argument is non-empty;
/// pre_upgrade / post_upgrade record `ic0.canister_version` in stable[0..8] / [8..16].
const LIFECYCLE: &str = r#"
  (func (export "canister_update swap_timer")
    (drop (call $arg))
    (call $reply_i64 (call $timer_set (i64.load (i32.const 0x2000)))))
  (func (export "canister_global_timer"))
  (func $record (param $at i64)
    (call $stable_init)
    (i64.store (i32.const 0x1800) (call $canister_version))
    (call $stable_write (local.get $at) (i64.const 0x1800) (i64.const 8)))
  (func $recorded (param $at i64) (result i64)
    (call $stable_init)
    (call $stable_read (i64.const 0x1800) (local.get $at) (i64.const 8))
    (i64.load (i32.const 0x1800)))
  (func (export "canister_pre_upgrade") (call $record (i64.const 0)))
  (func (export "canister_post_upgrade")
    (call $record (i64.const 8))
    (if (call $arg_size) (then (drop (call $timer_set (i64.const 0x7000000000000000))))))
  (func (export "canister_query seen_by_pre") (call $reply_i64 (call $recorded (i64.const 0))))
  (func (export "canister_query seen_by_post") (call $reply_i64 (call $recorded (i64.const 8))))
"#;

const FAR: u64 = 0x7000_0000_0000_0000;

fn swap_timer(emu: &Emulator, id: Principal, t: u64) -> u64 {
    i64_of(&update(emu, id, "swap_timer", t.to_le_bytes().to_vec()).unwrap()) as u64
}

fn lifecycle() -> Vec<u8> {
    canister(LIFECYCLE)
}

#[test]
fn reinstall_works_on_an_empty_canister() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    emu.reinstall_canister(id, lifecycle(), vec![], None)
        .expect("reinstall of an empty canister proceeds as install");
    assert!(emu.canister_status(id, None).unwrap().module_hash.is_some());
}

#[test]
fn upgrade_and_reinstall_reset_the_global_timer_unless_post_upgrade_sets_it() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    emu.install_canister(id, lifecycle(), vec![], None);
    swap_timer(&emu, id, FAR - 1);
    emu.upgrade_canister(id, lifecycle(), vec![], None).unwrap();
    assert_eq!(swap_timer(&emu, id, FAR - 1), 0, "reset by the upgrade");
    emu.upgrade_canister(id, lifecycle(), b"arm".to_vec(), None)
        .unwrap();
    assert_eq!(swap_timer(&emu, id, FAR - 1), FAR, "set by post_upgrade");
    emu.reinstall_canister(id, lifecycle(), vec![], None)
        .unwrap();
    assert_eq!(swap_timer(&emu, id, 0), 0, "reset by the reinstall");
}

#[test]
fn pre_upgrade_sees_the_old_canister_version_and_post_upgrade_the_new() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    emu.install_canister(id, lifecycle(), vec![], None);
    swap_timer(&emu, id, 0);
    let before = emu.canister_status(id, None).unwrap().version;
    emu.upgrade_canister(id, lifecycle(), vec![], None).unwrap();
    assert_eq!(
        i64_of(&query(&emu, id, "seen_by_pre", vec![]).unwrap()) as u64,
        before
    );
    assert_eq!(
        i64_of(&query(&emu, id, "seen_by_post", vec![]).unwrap()) as u64,
        before + 1
    );
    assert_eq!(emu.canister_status(id, None).unwrap().version, before + 1);
}

#[test]
fn keep_needs_a_module_with_enhanced_orthogonal_persistence() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    emu.install_canister(id, lifecycle(), vec![], None);
    let flags = UpgradeFlags {
        skip_pre_upgrade: None,
        wasm_memory_persistence: Some(WasmMemoryPersistence::Keep),
    };
    let e = emu
        .upgrade_canister_with_flags(id, lifecycle(), vec![], None, flags)
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::InvalidManagementPayload, "{e}");
    let replace = UpgradeFlags {
        skip_pre_upgrade: None,
        wasm_memory_persistence: Some(WasmMemoryPersistence::Replace),
    };
    emu.upgrade_canister_with_flags(id, lifecycle(), vec![], None, replace)
        .expect("replace is what a Rust canister uses");
}

#[test]
fn a_reinstall_keeps_call_contexts_and_the_fresh_module_runs_their_callbacks() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    emu.install_canister(id, versioned(1), vec![], None);
    let other = install(&emu, CALLEE);
    emu.inject_fault(id, Fault::DelayResponses(5)).unwrap();
    let pending = emu
        .submit_call(
            id,
            Principal::anonymous(),
            "call_other",
            call_arg(other, "inc", &[]),
        )
        .unwrap();
    emu.tick();
    emu.reinstall_canister(id, versioned(2), vec![], None)
        .unwrap();
    assert_eq!(
        i64_of(&emu.await_call(pending).unwrap()),
        2,
        "v2, freshly installed, ran v1's callback"
    );
}
