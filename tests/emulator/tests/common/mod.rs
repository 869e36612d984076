//! WAT test canisters.
//!
//! [`canister`] wraps a module body in a prelude that imports the System API
//! functions the tests use and defines small helpers, so each test states only
//! the behaviour it checks. Buffers live at 0x1000 (scratch) and above.
#![allow(dead_code)]

use ic_emulator::{Emulator, Principal};

pub const PRELUDE: &str = r#"
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_caller_size" (func $caller_size (result i32)))
  (import "ic0" "msg_caller_copy" (func $caller_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply" (func $msg_reply))
  (import "ic0" "msg_reply_data_append" (func $reply_append (param i32 i32)))
  (import "ic0" "msg_reject" (func $msg_reject (param i32 i32)))
  (import "ic0" "msg_reject_code" (func $reject_code (result i32)))
  (import "ic0" "msg_reject_msg_size" (func $reject_msg_size (result i32)))
  (import "ic0" "msg_reject_msg_copy" (func $reject_msg_copy (param i32 i32 i32)))
  (import "ic0" "msg_deadline" (func $msg_deadline (result i64)))
  (import "ic0" "msg_cycles_available128" (func $cycles_available (param i32)))
  (import "ic0" "msg_cycles_accept128" (func $cycles_accept (param i64 i64 i32)))
  (import "ic0" "msg_cycles_refunded128" (func $cycles_refunded (param i32)))
  (import "ic0" "canister_cycle_balance128" (func $balance (param i32)))
  (import "ic0" "canister_liquid_cycle_balance128" (func $liquid_balance (param i32)))
  (import "ic0" "canister_self_size" (func $self_size (result i32)))
  (import "ic0" "canister_self_copy" (func $self_copy (param i32 i32 i32)))
  (import "ic0" "canister_version" (func $canister_version (result i64)))
  (import "ic0" "canister_status" (func $canister_status (result i32)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_on_cleanup" (func $call_on_cleanup (param i32 i32)))
  (import "ic0" "call_data_append" (func $call_data_append (param i32 i32)))
  (import "ic0" "call_cycles_add128" (func $call_cycles_add (param i64 i64)))
  (import "ic0" "call_with_best_effort_response" (func $call_timeout (param i32)))
  (import "ic0" "call_perform" (func $call_perform (result i32)))
  (import "ic0" "stable64_size" (func $stable_size (result i64)))
  (import "ic0" "stable64_grow" (func $stable_grow (param i64) (result i64)))
  (import "ic0" "stable64_read" (func $stable_read (param i64 i64 i64)))
  (import "ic0" "stable64_write" (func $stable_write (param i64 i64 i64)))
  (import "ic0" "certified_data_set" (func $certified_data_set (param i32 i32)))
  (import "ic0" "time" (func $time (result i64)))
  (import "ic0" "global_timer_set" (func $timer_set (param i64) (result i64)))
  (import "ic0" "performance_counter" (func $perf (param i32) (result i64)))
  (import "ic0" "is_controller" (func $is_controller (param i32 i32) (result i32)))
  (import "ic0" "in_replicated_execution" (func $replicated (result i32)))
  (import "ic0" "cost_call" (func $cost_call (param i64 i64 i32)))
  (import "ic0" "debug_print" (func $print (param i32 i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "ic0" "msg_method_name_size" (func $name_size (result i32)))
  (import "ic0" "accept_message" (func $accept))
  (memory (export "memory") 2)
  (table 16 funcref)
  (global $counter (mut i64) (i64.const 0))

  ;; Replies with the 8 little-endian bytes of a value.
  (func $reply_i64 (param $v i64)
    (i64.store (i32.const 0x1000) (local.get $v))
    (call $reply_append (i32.const 0x1000) (i32.const 8))
    (call $msg_reply))
  ;; Copies the argument to 0x2000 and returns its size.
  (func $arg (result i32)
    (call $arg_copy (i32.const 0x2000) (i32.const 0) (call $arg_size))
    (call $arg_size))
  ;; Replies with the argument (or, in a reply callback, the callee's reply).
  (func $echo (drop (call $arg)) (call $reply_append (i32.const 0x2000) (call $arg_size)) (call $msg_reply))
  ;; Replies with [reject code] ++ reject message.
  (func $reply_reject_info
    (i32.store8 (i32.const 0x1000) (call $reject_code))
    (call $reject_msg_copy (i32.const 0x1001) (i32.const 0) (call $reject_msg_size))
    (call $reply_append (i32.const 0x1000) (i32.add (i32.const 1) (call $reject_msg_size)))
    (call $msg_reply))
  ;; Makes sure stable memory has one page.
  (func $stable_init (if (i64.eqz (call $stable_size)) (then (drop (call $stable_grow (i64.const 1))))))
  ;; stable[0..8] as an i64
  (func $stable_get (result i64)
    (call $stable_init)
    (call $stable_read (i64.const 0x1800) (i64.const 0) (i64.const 8))
    (i64.load (i32.const 0x1800)))
  (func $stable_set (param $v i64)
    (call $stable_init)
    (i64.store (i32.const 0x1800) (local.get $v))
    (call $stable_write (i64.const 0) (i64.const 0x1800) (i64.const 8)))
  ;; Starts a call from an argument laid out as
  ;; [callee len: u8][callee][method len: u8][method][payload...]
  ;; with reply/reject table entries $reply/$reject and env $env.
  (func $call_from_arg (param $reply i32) (param $reject i32) (param $env i32)
    (call $call_from_arg_at (i32.const 0) (local.get $reply) (local.get $reject) (local.get $env)))
  ;; The same, skipping the first `skip` bytes of the argument.
  (func $call_from_arg_at (param $skip i32) (param $reply i32) (param $reject i32) (param $env i32)
    (local $clen i32) (local $m i32) (local $mlen i32) (local $p i32) (local $end i32) (local $base i32)
    (local.set $end (i32.add (i32.const 0x2000) (call $arg)))
    (local.set $base (i32.add (i32.const 0x2000) (local.get $skip)))
    (local.set $clen (i32.load8_u (local.get $base)))
    (local.set $m (i32.add (i32.add (local.get $base) (i32.const 1)) (local.get $clen)))
    (local.set $mlen (i32.load8_u (local.get $m)))
    (local.set $p (i32.add (i32.add (local.get $m) (i32.const 1)) (local.get $mlen)))
    (call $call_new (i32.add (local.get $base) (i32.const 1)) (local.get $clen) (i32.add (local.get $m) (i32.const 1)) (local.get $mlen)
      (local.get $reply) (local.get $env) (local.get $reject) (local.get $env))
    (call $call_data_append (local.get $p) (i32.sub (local.get $end) (local.get $p))))
"#;

/// A module: the prelude plus `body`.
pub fn canister(body: &str) -> Vec<u8> {
    let src = format!("(module {PRELUDE}\n{body}\n)");
    wat::parse_str(&src).unwrap_or_else(|e| panic!("test canister does not assemble: {e}\n{src}"))
}

/// The payload [`call_from_arg`] expects.
pub fn call_arg(callee: Principal, method: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![callee.as_slice().len() as u8];
    v.extend_from_slice(callee.as_slice());
    v.push(method.len() as u8);
    v.extend_from_slice(method.as_bytes());
    v.extend_from_slice(payload);
    v
}

pub fn i64_of(bytes: &[u8]) -> i64 {
    i64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
}

/// A counter/echo canister used as a callee in many tests:
/// `inc` increments a heap counter and replies with it, `get` (query) reads it,
/// `echo` replies with its argument, `reject` rejects, `trap` traps,
/// `noreply` returns without replying, `stable_get` reads stable[0..8].
pub const CALLEE: &str = r#"
  (func (export "canister_update inc") (global.set $counter (i64.add (global.get $counter) (i64.const 1))) (call $reply_i64 (global.get $counter)))
  (func (export "canister_query get") (call $reply_i64 (global.get $counter)))
  (func (export "canister_update echo") (call $echo))
  (func (export "canister_update reject") (call $msg_reject (i32.const 0x100) (i32.const 4)))
  (func (export "canister_update trap") (call $trap (i32.const 0x100) (i32.const 4)))
  (func (export "canister_update noreply"))
  (func (export "canister_query stable_get") (call $reply_i64 (call $stable_get)))
  (data (i32.const 0x100) "nope")
"#;

pub fn install(emu: &Emulator, body: &str) -> Principal {
    let id = emu.create_canister();
    emu.install_canister(id, canister(body), vec![], None);
    id
}

pub fn update(
    emu: &Emulator,
    id: Principal,
    method: &str,
    arg: Vec<u8>,
) -> ic_emulator::CallResult {
    emu.update_call(id, Principal::anonymous(), method, arg)
}

pub fn query(emu: &Emulator, id: Principal, method: &str, arg: Vec<u8>) -> ic_emulator::CallResult {
    emu.query_call(id, Principal::anonymous(), method, arg)
}

/// Forwards calls (e.g. to the management canister): `call` replies with the
/// callee's reply, or with [reject code] ++ message; `call_with_cycles` takes
/// the cycles to attach as 8 LE bytes before the `call_arg` payload.
pub const PROXY: &str = r#"
  (elem (i32.const 1) $on_reply $on_reject)
  (func $on_reply (param i32) (call $echo))
  (func $on_reject (param i32) (call $reply_reject_info))
  (func (export "canister_update call")
    (call $call_from_arg (i32.const 1) (i32.const 2) (i32.const 0))
    (if (call $call_perform) (then (unreachable))))
  (func (export "canister_update call_with_cycles")
    (call $call_from_arg_at (i32.const 8) (i32.const 1) (i32.const 2) (i32.const 0))
    (call $call_cycles_add (i64.const 0) (i64.load (i32.const 0x2000)))
    (if (call $call_perform) (then (unreachable))))
  (func (export "canister_query get") (call $reply_i64 (global.get $counter)))
"#;

/// A management call made by `proxy`: the Candid reply, or (reject code, message).
pub fn via_proxy(
    emu: &Emulator,
    proxy: Principal,
    method: &str,
    arg: Vec<u8>,
    cycles: u64,
) -> Result<Vec<u8>, (u8, String)> {
    let mut payload = cycles.to_le_bytes().to_vec();
    payload.extend(call_arg(Principal::management_canister(), method, &arg));
    let reply = emu
        .update_call(proxy, Principal::anonymous(), "call_with_cycles", payload)
        .expect("the proxy replies");
    if reply.starts_with(b"DIDL") {
        Ok(reply)
    } else {
        Err((reply[0], String::from_utf8_lossy(&reply[1..]).into_owned()))
    }
}

/// A module whose behaviour carries `version`:
/// * init records the argument's length in stable[0..8]; post_upgrade traps if
///   its argument is "trap"; pre_upgrade copies the heap counter + 100 to
///   stable[0..8] (and traps once `arm_pre_trap` was called);
/// * `inc`/`get` a heap counter, `stable_get`, `version`;
/// * callback table entry 1 writes `version` to the stable marker (stable[16..24])
///   and replies with it; `upgrade_self` awaits install_code from its
///   argument (a Candid payload), `oneway_upgrade_self` sends it one-way, and
///   `call_other` awaits any `call_arg` call with that callback.
pub fn versioned(version: u8) -> Vec<u8> {
    canister(&format!(
        r#"
  (global $trap_pre (mut i32) (i32.const 0))
  (elem (i32.const 1) $cb)
  (func $marker_set (param i64)
    (call $stable_init)
    (i64.store (i32.const 0x1800) (local.get 0))
    (call $stable_write (i64.const 16) (i64.const 0x1800) (i64.const 8)))
  (func $marker_get (result i64)
    (call $stable_init)
    (call $stable_read (i64.const 0x1800) (i64.const 16) (i64.const 8))
    (i64.load (i32.const 0x1800)))
  (func $cb (param i32) (call $marker_set (i64.const {version})) (call $reply_i64 (i64.const {version})))
  (func (export "canister_init") (call $stable_set (i64.extend_i32_u (call $arg_size))))
  (func (export "canister_pre_upgrade")
    (if (global.get $trap_pre) (then (unreachable)))
    (call $stable_set (i64.add (global.get $counter) (i64.const 100))))
  (func (export "canister_post_upgrade")
    (if (i32.eq (call $arg_size) (i32.const 4)) (then (call $trap (i32.const 0x100) (i32.const 4)))))
  (func (export "canister_update arm_pre_trap") (global.set $trap_pre (i32.const 1)) (call $reply_i64 (i64.const 0)))
  (func (export "canister_update inc") (global.set $counter (i64.add (global.get $counter) (i64.const 1))) (call $reply_i64 (global.get $counter)))
  (func (export "canister_query get") (call $reply_i64 (global.get $counter)))
  (func (export "canister_query stable_get") (call $reply_i64 (call $stable_get)))
  (func (export "canister_query marker") (call $reply_i64 (call $marker_get)))
  (func (export "canister_query version") (call $reply_i64 (i64.const {version})))
  (func (export "canister_update upgrade_self")
    (call $call_new (i32.const 0) (i32.const 0) (i32.const 0x120) (i32.const 12) (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0))
    (call $call_data_append (i32.const 0x2000) (call $arg))
    (if (call $call_perform) (then (unreachable))))
  (func (export "canister_update oneway_upgrade_self")
    (call $call_new (i32.const 0) (i32.const 0) (i32.const 0x120) (i32.const 12) (i32.const -1) (i32.const 0) (i32.const -1) (i32.const 0))
    (call $call_data_append (i32.const 0x2000) (call $arg))
    (if (call $call_perform) (then (unreachable)))
    (call $reply_i64 (i64.const 0)))
  (func (export "canister_update call_other")
    (call $call_from_arg (i32.const 1) (i32.const 1) (i32.const 0))
    (if (call $call_perform) (then (unreachable))))
  (data (i32.const 0x100) "trap")
  (data (i32.const 0x120) "install_code")
"#
    ))
}

/// Copies a directory tree (a saved state, to damage or load a copy of it).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
