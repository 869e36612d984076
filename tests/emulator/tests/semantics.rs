//! Message-execution semantics (issue item 2), each on a purpose-built WAT canister.

mod common;
use common::*;
use ic_emulator::limits::InstructionLimits;
use ic_emulator::{Emulator, ErrorCode, Fault, Principal, RejectCode};
use std::time::Duration;

/// A caller that forwards calls described by its argument (see `call_arg`).
/// `call` replies with the callee's reply, or with [code] ++ message on reject.
const CALLER: &str = r#"
  (elem (i32.const 1) $on_reply $on_reject $on_reply_trap $cleanup $reply_env)
  (func $on_reply (param i32) (call $echo))
  (func $on_reject (param i32) (call $reply_reject_info))
  ;; Changes the heap, then traps: only the cleanup's effects survive.
  (func $on_reply_trap (param i32)
    (global.set $counter (i64.add (global.get $counter) (i64.const 10)))
    (call $trap (i32.const 0x100) (i32.const 4)))
  (func $cleanup (param i32) (call $stable_set (i64.add (call $stable_get) (i64.const 1))))
  (func $reply_env (param $env i32) (call $reply_i64 (i64.extend_i32_u (local.get $env))))
  (func (export "canister_update call")
    (call $call_from_arg (i32.const 1) (i32.const 2) (i32.const 0))
    (if (call $call_perform) (then (call $trap (i32.const 0x110) (i32.const 12)))))
  ;; Await point: the counter change before the call is committed; the
  ;; callback's change is rolled back by its trap and the cleanup runs.
  (func (export "canister_update call_then_trap")
    (global.set $counter (i64.add (global.get $counter) (i64.const 1)))
    (call $call_from_arg (i32.const 3) (i32.const 3) (i32.const 0))
    (call $call_on_cleanup (i32.const 4) (i32.const 0))
    (drop (call $call_perform)))
  (func (export "canister_update call_env")
    (call $call_from_arg (i32.const 5) (i32.const 5) (i32.const 77))
    (drop (call $call_perform)))
  ;; One-way: no callback (function index -1), replies at once.
  (func (export "canister_update oneway")
    (call $call_from_arg (i32.const -1) (i32.const -1) (i32.const 0))
    (drop (call $call_perform))
    (call $reply_i64 (i64.const 0)))
  ;; Everything a message can change, then a trap.
  (func (export "canister_update mutate_then_trap")
    (global.set $counter (i64.add (global.get $counter) (i64.const 1)))
    (call $stable_set (i64.const 42))
    (call $certified_data_set (i32.const 0x100) (i32.const 4))
    (drop (call $timer_set (i64.const 1)))
    (call $call_from_arg (i32.const 1) (i32.const 2) (i32.const 0))
    (drop (call $call_perform))
    (call $reply_i64 (i64.const 1))
    (call $trap (i32.const 0x100) (i32.const 4)))
  ;; `n` calls (n = first arg byte) to `callee.append` with payload i; replies
  ;; with the number of call_perform failures.
  (func (export "canister_update fan_out")
    (local $n i32) (local $i i32) (local $fails i64) (local $clen i32)
    (drop (call $arg))
    (local.set $n (i32.load16_u (i32.const 0x2000)))
    (local.set $clen (i32.load8_u (i32.const 0x2002)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.const 0x3000) (local.get $i))
      (call $call_new (i32.const 0x2003) (local.get $clen) (i32.const 0x120) (i32.const 6)
        (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 0))
      (call $call_data_append (i32.const 0x3000) (i32.const 1))
      (if (call $call_perform) (then (local.set $fails (i64.add (local.get $fails) (i64.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $reply_i64 (local.get $fails)))
  ;; A bounded-wait call with a 10 s timeout.
  (func (export "canister_update call_bounded")
    (call $call_from_arg (i32.const 1) (i32.const 2) (i32.const 0))
    (call $call_timeout (i32.const 10))
    (drop (call $call_perform)))
  (func (export "canister_query get") (call $reply_i64 (global.get $counter)))
  (func (export "canister_query stable_get") (call $reply_i64 (call $stable_get)))
  (data (i32.const 0x100) "boom")
  (data (i32.const 0x110) "perform fail")
  (data (i32.const 0x120) "append")
"#;

/// A callee that records the order of `append` payloads in stable memory.
const RECORDER: &str = r#"
  (func (export "canister_update append")
    (local $n i64)
    (local.set $n (call $stable_get))
    (drop (call $arg))
    (call $stable_write (i64.add (i64.const 8) (local.get $n)) (i64.const 0x2000) (i64.const 1))
    (call $stable_set (i64.add (local.get $n) (i64.const 1)))
    (call $reply_i64 (local.get $n)))
  (func (export "canister_query log")
    (local $n i64)
    (local.set $n (call $stable_get))
    (call $stable_read (i64.const 0x3000) (i64.const 8) (local.get $n))
    (call $reply_append (i32.const 0x3000) (i32.wrap_i64 (local.get $n)))
    (call $msg_reply))
"#;

fn setup() -> (Emulator, Principal, Principal) {
    let emu = Emulator::new();
    let caller = install(&emu, CALLER);
    let callee = install(&emu, CALLEE);
    (emu, caller, callee)
}

#[test]
fn a_trap_rolls_back_heap_stable_certified_data_timer_calls_and_reply() {
    let (emu, caller, callee) = setup();
    let before = emu.canister_status(caller, None).unwrap();
    let err = update(
        &emu,
        caller,
        "mutate_then_trap",
        call_arg(callee, "inc", &[]),
    )
    .unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterError);
    assert_eq!(err.error_code, ErrorCode::CanisterCalledTrap);
    assert!(
        err.reject_message
            .contains("Canister called `ic0.trap` with message: 'boom'"),
        "{err}"
    );
    emu.tick_n(3);
    assert_eq!(
        i64_of(&query(&emu, caller, "get", vec![]).unwrap()),
        0,
        "heap rolled back"
    );
    assert_eq!(
        i64_of(&query(&emu, caller, "stable_get", vec![]).unwrap()),
        0,
        "stable memory rolled back"
    );
    assert_eq!(
        i64_of(&query(&emu, callee, "get", vec![]).unwrap()),
        0,
        "the call was never sent"
    );
    let after = emu.canister_status(caller, None).unwrap();
    assert_eq!(
        after.version, before.version,
        "a trapped message does not bump the version"
    );
    // The timer set to 1 ns would have fired on the next round if kept.
    assert!(emu.debug_log().is_empty());
}

#[test]
fn an_await_point_commits_and_a_trapping_callback_runs_its_cleanup() {
    let (emu, caller, callee) = setup();
    let err = update(&emu, caller, "call_then_trap", call_arg(callee, "inc", &[])).unwrap_err();
    assert_eq!(err.reject_code, RejectCode::CanisterError);
    assert!(
        err.reject_message.contains("boom"),
        "the caller sees the callback's trap: {err}"
    );
    assert_eq!(
        i64_of(&query(&emu, caller, "get", vec![]).unwrap()),
        1,
        "the part before the await is committed"
    );
    assert_eq!(
        i64_of(&query(&emu, caller, "stable_get", vec![]).unwrap()),
        1,
        "the cleanup ran and was kept"
    );
    assert_eq!(i64_of(&query(&emu, callee, "get", vec![]).unwrap()), 1);
}

#[test]
fn callbacks_are_called_through_the_table_with_their_env() {
    let (emu, caller, callee) = setup();
    let reply = update(&emu, caller, "call_env", call_arg(callee, "inc", &[])).unwrap();
    assert_eq!(i64_of(&reply), 77);
}

#[test]
fn a_one_way_call_is_delivered_and_its_response_is_dropped_harmlessly() {
    let (emu, caller, callee) = setup();
    update(&emu, caller, "oneway", call_arg(callee, "inc", &[])).unwrap();
    emu.tick_n(3);
    assert_eq!(i64_of(&query(&emu, callee, "get", vec![]).unwrap()), 1);
    assert_eq!(emu.open_call_contexts(caller), 0);
    assert_eq!(i64_of(&query(&emu, caller, "get", vec![]).unwrap()), 0);
}

fn reject_of(reply: Vec<u8>) -> (u8, String) {
    (reply[0], String::from_utf8_lossy(&reply[1..]).into_owned())
}

#[test]
fn reject_codes_seen_by_a_calling_canister() {
    let (emu, caller, callee) = setup();
    let call = |target: Principal, method: &str| {
        reject_of(update(&emu, caller, "call", call_arg(target, method, &[])).unwrap())
    };
    // 3 DESTINATION_INVALID: no such canister.
    let (code, msg) = call(ic_emulator::ids::canister_id_from_u64(999), "inc");
    assert_eq!(code, 3, "{msg}");
    assert!(msg.contains("not found"));
    // 4 CANISTER_REJECT: the callee's msg_reject.
    assert_eq!(call(callee, "reject"), (4, "nope".to_string()));
    // 5 CANISTER_ERROR: a trap, a missing method, no reply.
    let (code, msg) = call(callee, "trap");
    assert_eq!(code, 5);
    assert!(
        msg.contains("Canister called `ic0.trap` with message: 'nope'"),
        "{msg}"
    );
    let (code, msg) = call(callee, "missing");
    assert_eq!(code, 5);
    assert!(msg.contains("has no update method 'missing'"), "{msg}");
    let (code, msg) = call(callee, "noreply");
    assert_eq!(code, 5);
    assert!(msg.contains("did not produce a response"), "{msg}");
    // 2 SYS_TRANSIENT: a frozen callee.
    emu.inject_fault(callee, Fault::DrainCycles).unwrap();
    let (code, msg) = call(callee, "inc");
    assert_eq!(code, 2);
    assert!(msg.contains("out of cycles"), "{msg}");
}

#[test]
fn reject_codes_and_error_codes_seen_by_a_user() {
    let (emu, _caller, callee) = setup();
    let e = update(&emu, callee, "trap", vec![]).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::CanisterError, ErrorCode::CanisterCalledTrap)
    );
    let e = update(&emu, callee, "missing", vec![]).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::CanisterError, ErrorCode::CanisterMethodNotFound)
    );
    let e = update(&emu, callee, "reject", vec![]).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (
            RejectCode::CanisterReject,
            ErrorCode::CanisterRejectedMessage
        )
    );
    let e = update(
        &emu,
        ic_emulator::ids::canister_id_from_u64(999),
        "x",
        vec![],
    )
    .unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::DestinationInvalid, ErrorCode::CanisterNotFound)
    );
    assert!(e.to_string().contains("IC0301"), "{e}");
}

#[test]
fn a_call_context_that_never_replies_gets_canister_error() {
    let (emu, _caller, callee) = setup();
    let e = update(&emu, callee, "noreply", vec![]).unwrap_err();
    assert_eq!(e.reject_code, RejectCode::CanisterError);
    assert_eq!(e.error_code, ErrorCode::CanisterDidNotReply);
    assert_eq!(emu.open_call_contexts(callee), 0);
}

fn fan_out_arg(n: u16, callee: Principal) -> Vec<u8> {
    let mut v = n.to_le_bytes().to_vec();
    v.push(callee.as_slice().len() as u8);
    v.extend_from_slice(callee.as_slice());
    v
}

#[test]
fn requests_between_a_pair_are_delivered_in_order() {
    let emu = Emulator::new();
    let caller = install(&emu, CALLER);
    let recorder = install(&emu, RECORDER);
    let id = emu
        .submit_call(
            caller,
            Principal::anonymous(),
            "fan_out",
            fan_out_arg(40, recorder),
        )
        .unwrap();
    assert_eq!(i64_of(&emu.await_call(id).unwrap()), 0);
    emu.tick_n(3);
    let log = query(&emu, recorder, "log", vec![]).unwrap();
    assert_eq!(log, (0..40u8).collect::<Vec<_>>());
}

#[test]
fn call_perform_fails_when_500_calls_to_one_callee_are_outstanding() {
    let emu = Emulator::new();
    let caller = install(&emu, CALLER);
    let recorder = install(&emu, RECORDER);
    let fails = update(&emu, caller, "fan_out", fan_out_arg(501, recorder)).unwrap();
    assert_eq!(i64_of(&fails), 1, "the 501st call is refused");
    emu.tick_n(3);
    // Once the responses are in, the queue has room again.
    let fails = update(&emu, caller, "fan_out", fan_out_arg(500, recorder)).unwrap();
    assert_eq!(i64_of(&fails), 0);
}

#[test]
fn a_bounded_wait_call_past_its_deadline_gets_sys_unknown_and_the_late_reply_is_dropped() {
    let (emu, caller, callee) = setup();
    emu.inject_fault(caller, Fault::DelayResponses(50)).unwrap();
    let id = emu
        .submit_call(
            caller,
            Principal::anonymous(),
            "call_bounded",
            call_arg(callee, "inc", &[]),
        )
        .unwrap();
    emu.tick_n(3);
    assert!(
        emu.ingress_status(id).is_none(),
        "the response is held back"
    );
    emu.advance_time(Duration::from_secs(11));
    let (code, msg) = reject_of(emu.await_call(id).unwrap());
    assert_eq!(code, 6, "SYS_UNKNOWN: {msg}");
    emu.inject_fault(caller, Fault::DelayResponses(0)).unwrap();
    emu.tick_n(60);
    assert_eq!(
        emu.open_call_contexts(caller),
        0,
        "the late reply ran no callback"
    );
    assert_eq!(
        i64_of(&query(&emu, callee, "get", vec![]).unwrap()),
        1,
        "the callee did run"
    );
}

#[test]
fn stopping_rejects_new_calls_runs_callbacks_then_stops() {
    let (emu, caller, callee) = setup();
    // The caller waits on a response held back for 10 rounds.
    emu.inject_fault(caller, Fault::DelayResponses(10)).unwrap();
    let pending = emu
        .submit_call(
            caller,
            Principal::anonymous(),
            "call",
            call_arg(callee, "inc", &[]),
        )
        .unwrap();
    emu.tick_n(2);
    let stop = emu
        .submit_call(
            Principal::management_canister(),
            Principal::anonymous(),
            "stop_canister",
            candid::encode_one(ic_emulator::management_types::CanisterIdRecord {
                canister_id: caller,
            })
            .unwrap(),
        )
        .unwrap();
    emu.tick();
    let status = emu.canister_status(caller, None).unwrap();
    assert_eq!(
        status.status,
        ic_emulator::management_types::CanisterStatusType::Stopping
    );
    assert!(
        emu.ingress_status(stop).is_none(),
        "stop replies only once stopped"
    );
    let e = update(&emu, caller, "call", vec![]).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::CanisterError, ErrorCode::CanisterStopping)
    );
    let e = query(&emu, caller, "get", vec![]).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterStopping);
    // The callback of the open context still runs while stopping, then the canister stops.
    assert_eq!(i64_of(&emu.await_call(pending).unwrap()), 1);
    emu.await_call(stop).unwrap();
    let status = emu.canister_status(caller, None).unwrap();
    assert_eq!(
        status.status,
        ic_emulator::management_types::CanisterStatusType::Stopped
    );
    let e = update(&emu, caller, "call", vec![]).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::CanisterError, ErrorCode::CanisterStopped)
    );
    emu.start_canister(caller, None).unwrap();
    assert_eq!(i64_of(&query(&emu, caller, "get", vec![]).unwrap()), 0);
}

const TIMER: &str = r#"
  ;; set_timer(delay_ns: u64): replies with the previous timer value.
  (func (export "canister_update set_timer")
    (drop (call $arg))
    (call $reply_i64 (call $timer_set (i64.add (call $time) (i64.load (i32.const 0x2000))))))
  (func (export "canister_global_timer")
    (call $stable_set (i64.add (call $stable_get) (i64.const 1)))
    ;; the caller of a system task is the management canister (empty principal)
    (if (call $caller_size) (then (unreachable))))
  (func (export "canister_query fired") (call $reply_i64 (call $stable_get)))
  (func (export "canister_query time") (call $reply_i64 (call $time)))
"#;

#[test]
fn the_global_timer_fires_once_its_time_has_come_and_is_deactivated() {
    let emu = Emulator::new();
    let id = install(&emu, TIMER);
    let prev = update(
        &emu,
        id,
        "set_timer",
        5_000_000_000u64.to_le_bytes().to_vec(),
    )
    .unwrap();
    assert_eq!(i64_of(&prev), 0, "no timer was set before");
    emu.tick_n(3);
    assert_eq!(i64_of(&query(&emu, id, "fired", vec![]).unwrap()), 0);
    emu.advance_time(Duration::from_secs(5));
    emu.tick();
    assert_eq!(i64_of(&query(&emu, id, "fired", vec![]).unwrap()), 1);
    emu.advance_time(Duration::from_secs(60));
    emu.tick_n(3);
    assert_eq!(
        i64_of(&query(&emu, id, "fired", vec![]).unwrap()),
        1,
        "a timer fires once"
    );
    // set_timer returns the previous value: 0 after it fired.
    let prev = update(&emu, id, "set_timer", 1u64.to_le_bytes().to_vec()).unwrap();
    assert_eq!(i64_of(&prev), 0);
}

#[test]
fn time_is_virtual_and_monotonic() {
    let emu = Emulator::new();
    let id = install(&emu, TIMER);
    let t0 = i64_of(&query(&emu, id, "time", vec![]).unwrap()) as u64;
    assert_eq!(t0, emu.get_time().as_nanos_since_unix_epoch());
    emu.tick();
    let t1 = i64_of(&query(&emu, id, "time", vec![]).unwrap()) as u64;
    assert!(t1 > t0, "every round moves time forward");
    emu.advance_time(Duration::from_secs(3600));
    let t2 = i64_of(&query(&emu, id, "time", vec![]).unwrap()) as u64;
    assert_eq!(t2 - t1, 3600 * 1_000_000_000);
}

const CYCLES: &str = r#"
  (elem (i32.const 1) $refunded)
  ;; Attaches 1_000_000 cycles to the call in the argument; the callback
  ;; replies with the refund.
  (func (export "canister_update send")
    (call $call_from_arg (i32.const 1) (i32.const 1) (i32.const 0))
    (call $call_cycles_add (i64.const 0) (i64.const 1000000))
    (drop (call $call_perform)))
  (func $refunded (param i32)
    (call $cycles_refunded (i32.const 0x1000))
    (call $reply_i64 (i64.load (i32.const 0x1000))))
  ;; Accepts at most 400_000 of the attached cycles; replies with what it got.
  (func (export "canister_update accept")
    (call $cycles_accept (i64.const 0) (i64.const 400000) (i32.const 0x1000))
    (call $reply_i64 (i64.load (i32.const 0x1000))))
  ;; Balance drop when attaching cycles (without sending).
  (func (export "canister_update attach_delta")
    (local $before i64)
    (call $balance (i32.const 0x1000))
    (local.set $before (i64.load (i32.const 0x1000)))
    (call $call_from_arg (i32.const 1) (i32.const 1) (i32.const 0))
    (call $call_cycles_add (i64.const 0) (i64.const 1234))
    (call $balance (i32.const 0x1000))
    (call $reply_i64 (i64.sub (local.get $before) (i64.load (i32.const 0x1000)))))
  (func (export "canister_query cost_call")
    (call $cost_call (i64.const 3) (i64.const 0) (i32.const 0x1000))
    (call $reply_i64 (i64.load (i32.const 0x1000))))
"#;

#[test]
fn cycles_are_attached_accepted_and_refunded() {
    let emu = Emulator::new();
    let a = install(&emu, CYCLES);
    let b = install(&emu, CYCLES);
    let refund = update(&emu, a, "send", call_arg(b, "accept", &[])).unwrap();
    assert_eq!(i64_of(&refund), 600_000);
    let delta = update(&emu, a, "attach_delta", call_arg(b, "accept", &[])).unwrap();
    assert_eq!(
        i64_of(&delta),
        1234,
        "attached cycles leave the balance at once"
    );
    let cost = i64_of(&query(&emu, a, "cost_call", vec![]).unwrap()) as u128;
    assert_eq!(cost, ic_emulator::costs::cost_call(3, 0));
    assert!(
        (42_000_000_000..42_200_000_000).contains(&cost),
        "≈ 42.1 B cycles: {cost}"
    );
}

#[test]
fn a_canister_below_its_freezing_threshold_rejects_calls() {
    let emu = Emulator::new();
    let id = emu
        .try_create_canister(None, None, Some(400_000_000_000), None)
        .unwrap();
    emu.install_canister(id, canister(CALLEE), vec![], None);
    update(&emu, id, "inc", vec![]).unwrap();
    let settings = ic_emulator::management_types::CanisterSettings {
        freezing_threshold: Some(candid::Nat::from(u64::MAX / 1_000_000)),
        ..Default::default()
    };
    emu.update_canister_settings(id, None, settings).unwrap();
    let e = update(&emu, id, "inc", vec![]).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::SysTransient, ErrorCode::CanisterOutOfCycles)
    );
}

const INTROSPECT: &str = r#"
  (func (export "canister_update version") (call $reply_i64 (call $canister_version)))
  (func (export "canister_query version_q") (call $reply_i64 (call $canister_version)))
  (func (export "canister_update replicated") (call $reply_i64 (i64.extend_i32_u (call $replicated))))
  (func (export "canister_query replicated_q") (call $reply_i64 (i64.extend_i32_u (call $replicated))))
  (func (export "canister_update is_controller")
    (call $reply_i64 (i64.extend_i32_u (call $is_controller (i32.const 0x2000) (call $arg)))))
  (func (export "canister_query inc_query")
    (global.set $counter (i64.add (global.get $counter) (i64.const 1)))
    (call $stable_set (i64.const 9))
    (call $reply_i64 (global.get $counter)))
  (func (export "canister_query get") (call $reply_i64 (global.get $counter)))
  (func (export "canister_query stable_get") (call $reply_i64 (call $stable_get)))
  (func (export "canister_update burn")
    (local $i i64)
    (drop (call $arg))
    (block $done (loop $l
      (br_if $done (i64.ge_u (local.get $i) (i64.load (i32.const 0x2000))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (call $reply_i64 (call $perf (i32.const 0))))
  (func (export "canister_update caller") (call $caller_copy (i32.const 0x1000) (i32.const 0) (call $caller_size))
    (call $reply_append (i32.const 0x1000) (call $caller_size)) (call $msg_reply))
"#;

#[test]
fn canister_version_counts_successful_replicated_messages() {
    let emu = Emulator::new();
    let id = install(&emu, INTROSPECT);
    let v0 = i64_of(&update(&emu, id, "version", vec![]).unwrap());
    assert_eq!(
        v0, 1,
        "install bumps the version from 0 to 1; the update sees the old value"
    );
    let v1 = i64_of(&update(&emu, id, "version", vec![]).unwrap());
    assert_eq!(v1, 2);
    assert_eq!(
        i64_of(&query(&emu, id, "version_q", vec![]).unwrap()),
        3,
        "queries do not bump it"
    );
    assert_eq!(emu.canister_status(id, None).unwrap().version, 3);
}

#[test]
fn is_controller_and_in_replicated_execution() {
    let emu = Emulator::new();
    let id = install(&emu, INTROSPECT);
    let anon = Principal::anonymous().as_slice().to_vec();
    assert_eq!(i64_of(&update(&emu, id, "is_controller", anon).unwrap()), 1);
    assert_eq!(
        i64_of(&update(&emu, id, "is_controller", id.as_slice().to_vec()).unwrap()),
        0
    );
    let e = update(&emu, id, "is_controller", vec![0; 30]).unwrap_err();
    assert!(e.reject_message.contains("invalid principal"), "{e}");
    assert_eq!(i64_of(&update(&emu, id, "replicated", vec![]).unwrap()), 1);
    assert_eq!(i64_of(&query(&emu, id, "replicated_q", vec![]).unwrap()), 0);
    assert_eq!(update(&emu, id, "caller", vec![]).unwrap(), anon_bytes());
}

fn anon_bytes() -> Vec<u8> {
    Principal::anonymous().as_slice().to_vec()
}

#[test]
fn queries_run_on_committed_state_and_discard_their_changes() {
    let emu = Emulator::new();
    let id = install(&emu, INTROSPECT);
    assert_eq!(i64_of(&query(&emu, id, "inc_query", vec![]).unwrap()), 1);
    assert_eq!(i64_of(&query(&emu, id, "inc_query", vec![]).unwrap()), 1);
    // A query called as an update (replicated) discards its changes too.
    assert_eq!(i64_of(&update(&emu, id, "inc_query", vec![]).unwrap()), 1);
    assert_eq!(i64_of(&query(&emu, id, "get", vec![]).unwrap()), 0);
    assert_eq!(i64_of(&query(&emu, id, "stable_get", vec![]).unwrap()), 0);
}

#[test]
fn performance_counter_reads_fuel_and_is_deterministic() {
    let run = || {
        let emu = Emulator::new();
        let id = install(&emu, INTROSPECT);
        let small = i64_of(&update(&emu, id, "burn", 1_000u64.to_le_bytes().to_vec()).unwrap());
        let big = i64_of(&update(&emu, id, "burn", 100_000u64.to_le_bytes().to_vec()).unwrap());
        (small, big, emu.instruction_stats(id))
    };
    let (small, big, stats) = run();
    assert!(
        small > 1_000 && big > 100_000 && big > 50 * small,
        "{small} {big}"
    );
    assert_eq!(
        run(),
        (small, big, stats.clone()),
        "instruction counts are deterministic"
    );
    assert!(stats.last >= big as u64);
}

#[test]
fn the_instruction_limit_traps_and_rolls_back() {
    let emu = Emulator::new();
    let id = install(&emu, INTROSPECT);
    assert_eq!(InstructionLimits::default().update, 40_000_000_000);
    assert_eq!(InstructionLimits::default().query, 5_000_000_000);
    assert_eq!(InstructionLimits::default().install, 300_000_000_000);
    emu.set_instruction_limits(InstructionLimits {
        update: 1_000_000,
        query: 500_000,
        ..Default::default()
    });
    let e = update(&emu, id, "burn", 10_000_000u64.to_le_bytes().to_vec()).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (
            RejectCode::CanisterError,
            ErrorCode::CanisterInstructionLimitExceeded
        )
    );
    assert!(e.reject_message.contains("1000000 instructions"), "{e}");
    update(&emu, id, "burn", 1_000u64.to_le_bytes().to_vec()).unwrap();
}

#[test]
fn debug_print_is_recorded_with_its_canister() {
    let emu = Emulator::new();
    let id = install(
        &emu,
        r#"(func (export "canister_update hello") (call $print (i32.const 0x100) (i32.const 5)) (call $reply_i64 (i64.const 0)))
           (data (i32.const 0x100) "hello")"#,
    );
    update(&emu, id, "hello", vec![]).unwrap();
    let log = emu.debug_log();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].canister, log[0].message.as_str()), (id, "hello"));
}
