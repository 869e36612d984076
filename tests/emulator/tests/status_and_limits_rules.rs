//! Digest §3 "Canister status", §4 lifecycle methods and §5 limits and
//! `canister_version`, rule by rule, where the other suites do not assert them yet.

mod common;

use candid::{Encode, Nat};
use common::*;
use ic_emulator::management_types::{CanisterIdRecord, CanisterSettings, EnvironmentVariable};
use ic_emulator::{Emulator, ErrorCode, Fault, Principal, RejectCode};

fn version_of(emu: &Emulator, id: Principal) -> u64 {
    emu.canister_status(id, None).unwrap().version
}

/// Counts heartbeats and timer runs in stable memory; `arm` sets the timer a second ahead.
const TASKS: &str = r#"
  (func $bump (param $at i64)
    (call $stable_init)
    (call $stable_read (i64.const 0x1800) (local.get $at) (i64.const 8))
    (i64.store (i32.const 0x1800) (i64.add (i64.load (i32.const 0x1800)) (i64.const 1)))
    (call $stable_write (local.get $at) (i64.const 0x1800) (i64.const 8)))
  (func $count (param $at i64) (result i64)
    (call $stable_init)
    (call $stable_read (i64.const 0x1800) (local.get $at) (i64.const 8))
    (i64.load (i32.const 0x1800)))
  (func (export "canister_heartbeat") (call $bump (i64.const 0)))
  (func (export "canister_global_timer") (call $bump (i64.const 8)))
  (func (export "canister_update arm")
    (drop (call $timer_set (i64.add (call $time) (i64.const 1_000_000_000))))
    (call $reply_i64 (i64.const 0)))
  (func (export "canister_query beats") (call $reply_i64 (call $count (i64.const 0))))
  (func (export "canister_query timers") (call $reply_i64 (call $count (i64.const 8))))
"#;

fn stop_arg(id: Principal) -> Vec<u8> {
    Encode!(&CanisterIdRecord { canister_id: id }).unwrap()
}

#[test]
fn a_stopping_canister_runs_no_heartbeat_and_no_timer() {
    let emu = Emulator::new();
    let id = install(&emu, TASKS);
    emu.inject_fault(id, Fault::NeverStop).unwrap();
    update(&emu, id, "arm", vec![]).unwrap(); // due in one second
    let beats = i64_of(&query(&emu, id, "beats", vec![]).unwrap());
    emu.submit_call(
        Principal::management_canister(),
        Principal::anonymous(),
        "stop_canister",
        stop_arg(id),
    )
    .unwrap();
    emu.tick(); // this round's heartbeat runs before the stop is processed
    let status = emu.canister_status(id, None).unwrap().status;
    assert_eq!(
        status,
        ic_emulator::management_types::CanisterStatusType::Stopping
    );
    emu.advance_time(std::time::Duration::from_secs(5));
    emu.tick_n(5);
    emu.start_canister(id, None).unwrap();
    assert_eq!(
        i64_of(&query(&emu, id, "beats", vec![]).unwrap()),
        beats + 1
    );
    assert_eq!(
        i64_of(&query(&emu, id, "timers", vec![]).unwrap()),
        0,
        "the due timer did not fire while stopping"
    );
    emu.tick();
    assert_eq!(
        i64_of(&query(&emu, id, "timers", vec![]).unwrap()),
        1,
        "running again, the timer fires"
    );
}

#[test]
fn an_empty_canister_rejects_calls_and_queries() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    let e = update(&emu, id, "inc", vec![]).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (
            RejectCode::CanisterError,
            ErrorCode::CanisterWasmModuleNotFound
        )
    );
    let e = query(&emu, id, "get", vec![]).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterWasmModuleNotFound);
}

#[test]
fn start_canister_on_a_running_canister_only_bumps_the_version() {
    let emu = Emulator::new();
    let id = install(&emu, CALLEE);
    let v = version_of(&emu, id);
    emu.start_canister(id, None).unwrap();
    assert_eq!(version_of(&emu, id), v + 1);
    assert_eq!(i64_of(&update(&emu, id, "inc", vec![]).unwrap()), 1);
}

#[test]
fn update_settings_bumps_the_version_and_leaves_absent_fields_unchanged() {
    let emu = Emulator::new();
    let id = install(&emu, CALLEE);
    let before = emu.canister_status(id, None).unwrap();
    let settings = CanisterSettings {
        freezing_threshold: Some(Nat::from(1_234u32)),
        ..Default::default()
    };
    emu.update_canister_settings(id, None, settings).unwrap();
    let after = emu.canister_status(id, None).unwrap();
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.settings.freezing_threshold, Nat::from(1_234u32));
    assert_eq!(after.settings.controllers, before.settings.controllers);
    assert_eq!(
        after.settings.reserved_cycles_limit,
        before.settings.reserved_cycles_limit
    );
}

#[test]
fn new_canisters_get_the_specified_default_settings() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    let s = emu.canister_status(id, None).unwrap();
    assert_eq!(s.version, 0);
    assert_eq!(s.settings.freezing_threshold, Nat::from(2_592_000u32));
    assert_eq!(
        s.settings.reserved_cycles_limit,
        Nat::from(5_000_000_000_000u64)
    );
    assert_eq!(s.settings.controllers, vec![Principal::anonymous()]);
    assert_eq!(s.module_hash, None);
}

#[test]
fn a_trapped_message_does_not_bump_the_version_and_a_callback_does() {
    let emu = Emulator::new();
    let callee = install(&emu, CALLEE);
    let proxy = install(&emu, PROXY);
    let v = version_of(&emu, callee);
    update(&emu, callee, "trap", vec![]).unwrap_err();
    assert_eq!(version_of(&emu, callee), v, "trapped: no increment");
    let v = version_of(&emu, proxy);
    update(&emu, proxy, "call", call_arg(callee, "inc", &[])).unwrap();
    assert_eq!(
        version_of(&emu, proxy),
        v + 2,
        "the update and its callback"
    );
}

#[test]
fn more_than_ten_controllers_are_refused() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    let many: Vec<Principal> = (0..11u8)
        .map(|i| Principal::self_authenticating([i; 32]))
        .collect();
    let e = emu.set_controllers(id, None, many.clone()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::InvalidManagementPayload, "{e}");
    emu.set_controllers(id, None, many[..10].to_vec())
        .expect("ten are allowed");
}

#[test]
fn environment_variables_past_the_limits_are_refused() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    let var = |name: String, len: usize| EnvironmentVariable {
        name,
        value: "v".repeat(len),
    };
    let set = |vars: Vec<EnvironmentVariable>| {
        emu.update_canister_settings(
            id,
            None,
            CanisterSettings {
                environment_variables: Some(vars),
                ..Default::default()
            },
        )
    };
    let twenty: Vec<_> = (0..20).map(|i| var(format!("V{i}"), 128)).collect();
    set(twenty.clone()).expect("20 variables of 128 bytes");
    let mut too_many = twenty;
    too_many.push(var("V20".into(), 1));
    assert_eq!(
        set(too_many).unwrap_err().error_code,
        ErrorCode::InvalidManagementPayload
    );
    assert_eq!(
        set(vec![var("LONG".into(), 129)]).unwrap_err().error_code,
        ErrorCode::InvalidManagementPayload
    );
}

#[test]
fn certified_data_over_32_bytes_traps() {
    let emu = Emulator::new();
    let id = install(
        &emu,
        r#"(func (export "canister_update certify")
             (call $certified_data_set (i32.const 0x100) (call $arg))
             (call $reply_i64 (i64.const 0)))"#,
    );
    update(&emu, id, "certify", vec![1; 32]).expect("32 bytes");
    let e = update(&emu, id, "certify", vec![1; 33]).unwrap_err();
    assert_eq!(e.reject_code, RejectCode::CanisterError, "{e}");
}

#[test]
fn an_ingress_payload_over_2_mib_is_refused() {
    let emu = Emulator::new();
    let id = install(&emu, CALLEE);
    emu.submit_call(id, Principal::anonymous(), "inc", vec![0; 2 << 20])
        .expect("2 MiB is accepted");
    let e = emu
        .submit_call(id, Principal::anonymous(), "echo", vec![0; (2 << 20) + 1])
        .unwrap_err();
    assert!(e.reject_message.contains("2 MiB"), "{e}");
}

#[test]
fn a_reply_over_2_mib_traps() {
    let emu = Emulator::new();
    let id = install(
        &emu,
        r#"(func (export "canister_update big")
             (drop (memory.grow (i32.const 40)))
             (call $reply_append (i32.const 0) (i32.add (i32.const 0x200000) (call $arg_size)))
             (call $msg_reply))"#,
    );
    update(&emu, id, "big", vec![]).expect("exactly 2 MiB");
    let e = update(&emu, id, "big", vec![1]).unwrap_err();
    assert!(e.reject_message.contains("exceeds"), "{e}");
}

#[test]
fn stable_memory_grows_to_500_gib_and_no_further() {
    let emu = Emulator::new();
    let id = install(
        &emu,
        r#"(func (export "canister_update grow")
             (drop (call $arg))
             (call $reply_i64 (call $stable_grow (i64.load (i32.const 0x2000)))))"#,
    );
    let max_pages: u64 = (500 << 30) / (64 << 10);
    let grow =
        |pages: u64| i64_of(&update(&emu, id, "grow", pages.to_le_bytes().to_vec()).unwrap());
    assert_eq!(grow(max_pages + 1), -1, "past 500 GiB fails");
    assert_eq!(
        grow(max_pages),
        0,
        "up to 500 GiB succeeds; the old size is returned"
    );
}
