//! The emulator against the interface spec where it used to deviate (issue 14,
//! "Spec deviations"): each test failed before its fix.

mod common;

use candid::{Encode, Nat, Principal};
use common::*;
use ic_emulator::management_types::{
    CanisterInstallMode, CanisterSettings, ChangeDetails, UpdateSettingsArgs,
};
use ic_emulator::{Emulator, ErrorCode, Fault, RejectCode};

fn settings(f: impl FnOnce(&mut CanisterSettings)) -> CanisterSettings {
    let mut s = CanisterSettings::default();
    f(&mut s);
    s
}

fn version_of(emu: &Emulator, id: Principal) -> u64 {
    emu.canister_status(id, None).unwrap().version
}

fn module_hash(emu: &Emulator, id: Principal) -> Option<Vec<u8>> {
    emu.canister_status(id, None).unwrap().module_hash
}

// ---- 1. install_code on a canister that is frozen or cannot pay ----

fn assert_out_of_cycles(e: &ic_emulator::RejectResponse, id: Principal) {
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::SysTransient, ErrorCode::CanisterOutOfCycles),
        "{e}"
    );
    let prefix =
        format!("Canister installation failed with `Canister {id} is out of cycles: requested ");
    assert!(e.reject_message.starts_with(&prefix), "{e}");
}

#[test]
fn install_code_is_refused_to_a_canister_that_is_frozen_or_cannot_pay_for_it() {
    let emu = Emulator::new();
    // An install may run 300 B instructions, so it needs 300 B cycles above the freezing limit.
    let id = emu
        .try_create_canister(None, None, Some(200_000_000_000), None)
        .unwrap();
    let e = emu
        .install_code(
            CanisterInstallMode::Install,
            id,
            canister(CALLEE),
            vec![],
            None,
        )
        .unwrap_err();
    assert_out_of_cycles(&e, id);
    assert_eq!(module_hash(&emu, id), None, "nothing was installed");
    assert_eq!(
        emu.cycle_balance(id),
        200_000_000_000,
        "nothing was charged"
    );

    emu.add_cycles(id, 200_000_000_000);
    emu.install_canister(id, canister(CALLEE), vec![], None);
    assert!(
        emu.cycle_balance(id) < 400_000_000_000,
        "the install paid for its instructions"
    );
    let installed = module_hash(&emu, id);

    // Not frozen, but paying for the upgrade would leave it below its freezing limit.
    let per_day = emu
        .canister_status(id, None)
        .unwrap()
        .idle_cycles_burned_per_day;
    let per_day = u128::try_from(per_day.0).unwrap();
    let balance = emu.cycle_balance(id);
    let seconds = (balance - 100_000_000_000) * 86_400 / per_day;
    let s = settings(|s| s.freezing_threshold = Some(Nat::from(seconds)));
    emu.update_canister_settings(id, None, s).unwrap();
    i64_of(&update(&emu, id, "inc", vec![]).unwrap()); // still runs messages
    let e = emu
        .upgrade_canister(id, canister(CALLEE), vec![], None)
        .unwrap_err();
    assert_out_of_cycles(&e, id);

    // Frozen: install_chunked_code is refused the same way, and nothing changes.
    let s = settings(|s| s.freezing_threshold = Some(Nat::from(u64::MAX / 1_000_000_000)));
    emu.update_canister_settings(id, None, s).unwrap();
    let wasm = canister(&format!(
        "{CALLEE} (func (export \"canister_query v2\") (call $reply_i64 (i64.const 2)))"
    ));
    let hash = emu.upload_chunk(id, None, wasm.clone()).unwrap();
    let e = emu
        .install_chunked_canister(
            id,
            None,
            CanisterInstallMode::Upgrade(None),
            id,
            vec![hash.clone()],
            hash,
            vec![],
        )
        .unwrap_err();
    assert_out_of_cycles(&e, id);
    assert_eq!(module_hash(&emu, id), installed);
}

// ---- 2. sender_canister_version ----

#[test]
fn sender_canister_version_must_equal_the_callers_canister_version() {
    let emu = Emulator::new();
    let proxy = install(&emu, PROXY);
    let target = emu.create_canister_with_settings(
        None,
        Some(settings(|s| {
            s.controllers = Some(vec![proxy, Principal::anonymous()])
        })),
    );
    let args = |v: Option<u64>| {
        Encode!(&UpdateSettingsArgs {
            canister_id: target,
            settings: CanisterSettings::default(),
            sender_canister_version: v,
        })
        .unwrap()
    };
    // During the proxy's update, ic0.canister_version is its version before that update.
    let v = version_of(&emu, proxy);
    via_proxy(&emu, proxy, "update_settings", args(Some(v)), 0).expect("the right version");
    via_proxy(&emu, proxy, "update_settings", args(None), 0).expect("no version given");

    let before = version_of(&emu, target);
    let v = version_of(&emu, proxy);
    let (code, message) =
        via_proxy(&emu, proxy, "update_settings", args(Some(v + 7)), 0).unwrap_err();
    assert_eq!(code, RejectCode::CanisterError as u8, "{message}");
    assert_eq!(
        message,
        format!("Management canister call payload includes sender canister version {} that does not match the actual sender canister version {v}.", v + 7)
    );
    assert_eq!(version_of(&emu, target), before, "the call had no effect");
}

// ---- 3. wasm_memory_limit ----

/// Grows the heap by the pages given as the 4-byte argument.
const GROWER: &str = r#"
  (func $grow_by_arg (drop (call $arg)) (drop (memory.grow (i32.load (i32.const 0x2000)))))
  (func (export "canister_update grow") (call $grow_by_arg) (call $reply_i64 (i64.extend_i32_u (memory.size))))
  (func (export "canister_query pages") (call $reply_i64 (i64.extend_i32_u (memory.size))))
  (func (export "canister_init") (if (call $arg_size) (then (call $grow_by_arg))))
  (func (export "canister_post_upgrade") (if (call $arg_size) (then (call $grow_by_arg))))
"#;

const PAGE: u64 = 64 * 1024;

fn pages(n: i32) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

fn assert_memory_limit(e: &ic_emulator::RejectResponse, limit: u64) {
    assert_eq!(
        (e.reject_code, e.error_code),
        (
            RejectCode::CanisterError,
            ErrorCode::CanisterWasmMemoryLimitExceeded
        ),
        "{e}"
    );
    let needle = format!("Canister exceeded its current Wasm memory limit of {limit} bytes.");
    assert!(e.reject_message.contains(&needle), "{e}");
}

#[test]
fn growing_the_heap_past_wasm_memory_limit_traps_in_updates_init_and_post_upgrade() {
    let emu = Emulator::new();
    let limit = 4 * PAGE; // the module starts with 2 pages
    let limited = settings(|s| s.wasm_memory_limit = Some(Nat::from(limit)));

    // Update: growing to the limit is fine, past it traps and rolls back.
    let id = install(&emu, GROWER);
    emu.update_canister_settings(id, None, limited.clone())
        .unwrap();
    assert_eq!(i64_of(&update(&emu, id, "grow", pages(2)).unwrap()), 4);
    let e = update(&emu, id, "grow", pages(1)).unwrap_err();
    assert_memory_limit(&e, limit);
    assert_eq!(i64_of(&query(&emu, id, "pages", vec![]).unwrap()), 4);

    // Init: the install fails and leaves the canister empty.
    let id = emu.create_canister_with_settings(None, Some(limited.clone()));
    let e = emu
        .install_code(
            CanisterInstallMode::Install,
            id,
            canister(GROWER),
            pages(3),
            None,
        )
        .unwrap_err();
    assert_memory_limit(&e, limit);
    assert_eq!(module_hash(&emu, id), None);
    // A module that starts above the limit is refused too.
    let big = wat::parse_str(r#"(module (memory (export "memory") 5))"#).unwrap();
    let e = emu
        .install_code(CanisterInstallMode::Install, id, big, vec![], None)
        .unwrap_err();
    assert_memory_limit(&e, limit);

    // post_upgrade: the upgrade fails and the old module stays.
    emu.install_canister(id, canister(GROWER), vec![], None);
    let old = module_hash(&emu, id);
    let v2 = canister(&format!(
        "{GROWER} (func (export \"canister_query v2\") (call $reply_i64 (i64.const 2)))"
    ));
    let e = emu
        .upgrade_canister(id, v2.clone(), pages(3), None)
        .unwrap_err();
    assert_memory_limit(&e, limit);
    assert_eq!(module_hash(&emu, id), old);
    emu.upgrade_canister(id, v2, pages(2), None)
        .expect("up to the limit is allowed");

    // 0 lifts the limit.
    let unlimited = settings(|s| s.wasm_memory_limit = Some(Nat::from(0u8)));
    emu.update_canister_settings(id, None, unlimited).unwrap();
    assert_eq!(i64_of(&update(&emu, id, "grow", pages(4)).unwrap()), 8);
}

/// The limit is ignored by response callbacks (spec `wasm_memory_limit`).
#[test]
fn wasm_memory_limit_does_not_apply_to_callbacks() {
    let emu = Emulator::new();
    let callee = install(&emu, CALLEE);
    let caller = install(
        &emu,
        r#"
  (elem (i32.const 1) $on_reply)
  (func $on_reply (param i32) (drop (memory.grow (i32.const 6))) (call $reply_i64 (i64.extend_i32_u (memory.size))))
  (func (export "canister_update call")
    (call $call_from_arg (i32.const 1) (i32.const 1) (i32.const 0))
    (if (call $call_perform) (then (unreachable))))
"#,
    );
    let limited = settings(|s| s.wasm_memory_limit = Some(Nat::from(4 * PAGE)));
    emu.update_canister_settings(caller, None, limited).unwrap();
    let reply = update(&emu, caller, "call", call_arg(callee, "inc", &[])).unwrap();
    assert_eq!(i64_of(&reply), 8);
}

// ---- 4. load_canister_snapshot keeps the timer in force ----

const TIMER: &str = r#"
  (func (export "canister_update swap_timer")
    (drop (call $arg))
    (call $reply_i64 (call $timer_set (i64.load (i32.const 0x2000)))))
  (func (export "canister_global_timer"))
"#;

fn swap_timer(emu: &Emulator, id: Principal, t: u64) -> u64 {
    i64_of(&update(emu, id, "swap_timer", t.to_le_bytes().to_vec()).unwrap()) as u64
}

#[test]
fn load_canister_snapshot_keeps_the_global_timer_in_force() {
    let emu = Emulator::new();
    let id = install(&emu, TIMER);
    let now = emu.get_time().as_nanos_since_unix_epoch();
    let (armed_in_snapshot, armed_after) = (now + 3_600_000_000_000, now + 7_200_000_000_000);
    assert_eq!(swap_timer(&emu, id, armed_in_snapshot), 0);
    let snapshot = emu.take_canister_snapshot(id, None, None).unwrap();
    assert_eq!(swap_timer(&emu, id, armed_after), armed_in_snapshot);
    emu.load_canister_snapshot(id, None, snapshot.id).unwrap();
    assert_eq!(
        swap_timer(&emu, id, 0),
        armed_after,
        "the timer set after the snapshot is still the one in force"
    );
}

// ---- 5. a snapshot of canister A loaded onto canister B ----

#[test]
fn a_snapshot_of_one_canister_loads_onto_another_the_caller_controls() {
    let emu = Emulator::new();
    let a = emu.create_canister();
    emu.install_canister(a, versioned(1), vec![], None);
    update(&emu, a, "inc", vec![]).unwrap();
    let b = emu.create_canister();
    emu.install_canister(b, versioned(2), vec![], None);
    let snapshot = emu.take_canister_snapshot(a, None, None).unwrap();

    // A caller that controls B but not A may not.
    let other = Principal::self_authenticating([7u8; 32]);
    emu.set_controllers(b, None, vec![Principal::anonymous(), other])
        .unwrap();
    let e = emu
        .load_canister_snapshot(b, Some(other), snapshot.id.clone())
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidController, "{e}");

    emu.load_canister_snapshot(b, None, snapshot.id.clone())
        .expect("the caller controls both");
    assert_eq!(i64_of(&query(&emu, b, "version", vec![]).unwrap()), 1);
    assert_eq!(i64_of(&query(&emu, b, "get", vec![]).unwrap()), 1);
    assert_eq!(module_hash(&emu, b), module_hash(&emu, a));
    let (_, history) = emu.canister_history(b).unwrap();
    match history.last().and_then(|c| c.details.clone()) {
        Some(ChangeDetails::LoadSnapshot(r)) => {
            assert_eq!(r.from_canister_id, Some(a));
            assert_eq!(r.snapshot_id, snapshot.id);
        }
        other => panic!("expected a load_snapshot change, got {other:?}"),
    }
    assert_eq!(
        emu.list_canister_snapshots(b, None).unwrap().len(),
        0,
        "the snapshot stays A's"
    );
}

// ---- 6. stop_canister on a stopped (or stopping) canister ----

#[test]
fn stop_canister_on_a_stopped_or_stopping_canister_replies_and_bumps_the_version() {
    let emu = Emulator::new();
    let id = install(&emu, CALLEE);
    emu.stop_canister(id, None).unwrap();
    let v = version_of(&emu, id);
    emu.stop_canister(id, None)
        .expect("stopping a stopped canister succeeds");
    assert_eq!(version_of(&emu, id), v + 1);

    // Stopping: every further stop_canister counts as well.
    let busy = install(&emu, CALLEE);
    emu.inject_fault(busy, Fault::NeverStop).unwrap();
    let v = version_of(&emu, busy);
    let stop =
        Encode!(&ic_emulator::management_types::CanisterIdRecord { canister_id: busy }).unwrap();
    for _ in 0..2 {
        emu.submit_call(
            Principal::management_canister(),
            Principal::anonymous(),
            "stop_canister",
            stop.clone(),
        )
        .unwrap();
    }
    emu.tick();
    assert_eq!(version_of(&emu, busy), v + 2);
}

// ---- 7. minimum_incoming_canister_call_cycles ----

/// `call_with_cycles` like [`PROXY`], but a reject replies with
/// [reject code: u8][refunded cycles: u64 LE].
const PAYING_PROXY: &str = r#"
  (elem (i32.const 1) $on_reply $on_reject)
  (func $on_reply (param i32) (call $echo))
  (func $on_reject (param i32)
    (i32.store8 (i32.const 0x1000) (call $reject_code))
    (call $cycles_refunded (i32.const 0x1001))
    (call $reply_append (i32.const 0x1000) (i32.const 9))
    (call $msg_reply))
  (func (export "canister_update call_with_cycles")
    (call $call_from_arg_at (i32.const 8) (i32.const 1) (i32.const 2) (i32.const 0))
    (call $call_cycles_add (i64.const 0) (i64.load (i32.const 0x2000)))
    (if (call $call_perform) (then (unreachable))))
  (func (export "canister_update ping") (call $reply_i64 (i64.const 42)))
"#;

fn call_with(
    emu: &Emulator,
    proxy: Principal,
    callee: Principal,
    method: &str,
    cycles: u64,
) -> Vec<u8> {
    let mut payload = cycles.to_le_bytes().to_vec();
    payload.extend(call_arg(callee, method, &[]));
    update(emu, proxy, "call_with_cycles", payload).unwrap()
}

#[test]
fn a_call_short_of_minimum_incoming_cycles_is_rejected_and_refunded() {
    let emu = Emulator::new();
    let proxy = install(&emu, PAYING_PROXY);
    let callee = install(&emu, CALLEE);
    let minimum = 1_000_000u64;
    let s = settings(|s| s.minimum_incoming_canister_call_cycles = Some(Nat::from(minimum)));
    emu.update_canister_settings(callee, None, s.clone())
        .unwrap();

    let before = emu.cycle_balance(proxy);
    let reply = call_with(&emu, proxy, callee, "inc", minimum - 1);
    assert_eq!(reply[0], RejectCode::CanisterError as u8);
    assert_eq!(
        i64_of(&reply[1..]) as u64,
        minimum - 1,
        "every cycle comes back"
    );
    let spent = before - emu.cycle_balance(proxy);
    assert!(spent < 100_000_000, "only fees were spent: {spent}");
    assert_eq!(i64_of(&query(&emu, callee, "get", vec![]).unwrap()), 0);

    assert_eq!(i64_of(&call_with(&emu, proxy, callee, "inc", minimum)), 1);
    // Ingress messages are exempt.
    assert_eq!(i64_of(&update(&emu, callee, "inc", vec![]).unwrap()), 2);
    // So are self-calls: the proxy, with the same minimum, calls itself.
    emu.update_canister_settings(proxy, None, s).unwrap();
    assert_eq!(i64_of(&call_with(&emu, proxy, proxy, "ping", 0)), 42);
}
