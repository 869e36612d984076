//! Module preparation and the System API surface (issue item 1).

mod common;
use common::*;
use ic_emulator::{Emulator, ErrorCode, Principal, RejectCode};

fn try_install(emu: &Emulator, wasm: Vec<u8>) -> Result<Principal, ic_emulator::RejectResponse> {
    let id = emu.create_canister();
    emu.install_code(
        ic_emulator::management_types::CanisterInstallMode::Install,
        id,
        wasm,
        vec![],
        None,
    )
    .map(|_| id)
}

#[test]
fn gzipped_modules_are_accepted_and_hashed_as_submitted() {
    use std::io::Write;
    let wasm = canister(CALLEE);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&wasm).unwrap();
    let gz = gz.finish().unwrap();
    let emu = Emulator::new();
    let id = try_install(&emu, gz.clone()).unwrap();
    assert_eq!(i64_of(&update(&emu, id, "inc", vec![]).unwrap()), 1);
    let hash = emu.canister_status(id, None).unwrap().module_hash.unwrap();
    assert_eq!(hash, sha2::Sha256::digest(&gz).to_vec());
    use sha2::Digest;
}

#[test]
fn invalid_modules_are_refused_with_canister_invalid_wasm() {
    let emu = Emulator::new();
    let refuse = |wat: &str, why: &str| {
        let e = try_install(&emu, wat::parse_str(wat).unwrap()).unwrap_err();
        assert_eq!(
            (e.reject_code, e.error_code),
            (RejectCode::CanisterError, ErrorCode::CanisterInvalidWasm),
            "{wat}"
        );
        assert!(e.reject_message.contains(why), "{why}: {e}");
    };
    refuse(
        r#"(module (import "env" "f" (func)))"#,
        "only imports from `ic0`",
    );
    refuse(
        r#"(module (import "ic0" "no_such_call" (func)))"#,
        "unknown System API function",
    );
    refuse(
        r#"(module (import "ic0" "msg_reply" (func (param i32))))"#,
        "invalid import",
    );
    refuse(
        r#"(module (func (export "canister_bogus")))"#,
        "not a valid canister_ export",
    );
    refuse(
        r#"(module (func (export "canister_update f") (param i32)))"#,
        "must have type () -> ()",
    );
    refuse(
        r#"(module (func $f) (export "canister_update f" (func $f)) (export "canister_query f" (func $f)))"#,
        "more than one kind",
    );
    let e = try_install(&emu, b"\0asm\x01\0\0\0\x01".to_vec()).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInvalidWasm);
}

#[test]
fn the_start_function_runs_once_at_install() {
    let emu = Emulator::new();
    let id = install(
        &emu,
        r#"(func $start (global.set $counter (i64.add (global.get $counter) (i64.const 40))))
           (start $start)
           (func (export "canister_update inc") (global.set $counter (i64.add (global.get $counter) (i64.const 1))) (call $reply_i64 (global.get $counter)))"#,
    );
    assert_eq!(i64_of(&update(&emu, id, "inc", vec![]).unwrap()), 41);
    assert_eq!(
        i64_of(&update(&emu, id, "inc", vec![]).unwrap()),
        42,
        "start does not run per message"
    );
}

#[test]
fn an_import_the_emulator_does_not_emulate_traps_clearly() {
    let emu = Emulator::new();
    let wasm = wat::parse_str(
        r#"(module
             (import "ic0" "mint_cycles128" (func $mint (param i64 i64 i32)))
             (memory 1)
             (func (export "canister_update mint") (call $mint (i64.const 0) (i64.const 1) (i32.const 0))))"#,
    )
    .unwrap();
    let id = try_install(&emu, wasm).expect("the module links: every ic0 name is provided");
    let e = update(&emu, id, "mint", vec![]).unwrap_err();
    assert_eq!(e.reject_code, RejectCode::CanisterError);
    assert!(
        e.reject_message
            .contains("ic0.mint_cycles128 is not supported by the emulator"),
        "{e}"
    );
}

#[test]
fn system_api_calls_outside_their_context_trap() {
    let emu = Emulator::new();
    let id = install(
        &emu,
        r#"(func (export "canister_query reply_twice") (call $reply_i64 (i64.const 1)) (call $msg_reply))
           (func (export "canister_query call_from_query")
             (call $call_new (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
           (func (export "canister_update reject_code") (drop (call $reject_code)))"#,
    );
    let e = query(&emu, id, "reply_twice", vec![]).unwrap_err();
    assert!(e.reject_message.contains("already been responded"), "{e}");
    let e = query(&emu, id, "call_from_query", vec![]).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterContractViolation);
    assert!(
        e.reject_message
            .contains("\"ic0_call_new\" cannot be executed in non-replicated query mode"),
        "{e}"
    );
    let e = update(&emu, id, "reject_code", vec![]).unwrap_err();
    assert!(
        e.reject_message
            .contains("cannot be executed in update mode"),
        "{e}"
    );
}

#[test]
fn msg_deadline_is_set_for_bounded_wait_calls_only() {
    let emu = Emulator::new();
    let callee = install(
        &emu,
        r#"(func (export "canister_update deadline") (call $reply_i64 (call $msg_deadline)))"#,
    );
    let caller = install(
        &emu,
        r#"(elem (i32.const 1) $back)
           (func $back (param i32) (call $echo))
           (func (export "canister_update bounded")
             (call $call_from_arg (i32.const 1) (i32.const 1) (i32.const 0))
             (call $call_timeout (i32.const 1000))
             (drop (call $call_perform)))"#,
    );
    assert_eq!(
        i64_of(&update(&emu, callee, "deadline", vec![]).unwrap()),
        0,
        "ingress has no deadline"
    );
    let before = emu.get_time().as_nanos_since_unix_epoch();
    let d =
        i64_of(&update(&emu, caller, "bounded", call_arg(callee, "deadline", &[])).unwrap()) as u64;
    // The timeout is clamped to 300 s and counted from the time of the call.
    assert!(
        d > before + 299_000_000_000 && d <= before + 300_000_000_000 + 10,
        "{d} vs {before}"
    );
}

#[test]
fn heartbeat_runs_every_round_while_running() {
    let emu = Emulator::new();
    let id = install(
        &emu,
        r#"(func (export "canister_heartbeat") (call $stable_set (i64.add (call $stable_get) (i64.const 1))))
           (func (export "canister_query beats") (call $reply_i64 (call $stable_get)))"#,
    );
    emu.tick_n(3);
    assert_eq!(i64_of(&query(&emu, id, "beats", vec![]).unwrap()), 3);
    emu.stop_canister(id, None).unwrap();
    let rounds = emu.rounds();
    emu.tick_n(3);
    emu.start_canister(id, None).unwrap();
    let beats = i64_of(&query(&emu, id, "beats", vec![]).unwrap());
    assert!(beats <= 3 + (rounds as i64), "no heartbeat while stopped");
}

#[test]
fn inspect_message_filters_ingress_updates() {
    let emu = Emulator::new();
    let id = install(
        &emu,
        r#"(func (export "canister_inspect_message") (if (i32.eq (call $name_size) (i32.const 2)) (then (call $accept))))
           (func (export "canister_update ok") (call $reply_i64 (i64.const 1)))
           (func (export "canister_update nope") (call $reply_i64 (i64.const 2)))"#,
    );
    assert_eq!(i64_of(&update(&emu, id, "ok", vec![]).unwrap()), 1);
    let e = update(&emu, id, "nope", vec![]).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (
            RejectCode::CanisterReject,
            ErrorCode::CanisterRejectedMessage
        )
    );
}
