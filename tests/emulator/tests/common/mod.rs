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
    (local $clen i32) (local $m i32) (local $mlen i32) (local $p i32) (local $end i32)
    (local.set $end (i32.add (i32.const 0x2000) (call $arg)))
    (local.set $clen (i32.load8_u (i32.const 0x2000)))
    (local.set $m (i32.add (i32.const 0x2001) (local.get $clen)))
    (local.set $mlen (i32.load8_u (local.get $m)))
    (local.set $p (i32.add (i32.add (local.get $m) (i32.const 1)) (local.get $mlen)))
    (call $call_new (i32.const 0x2001) (local.get $clen) (i32.add (local.get $m) (i32.const 1)) (local.get $mlen)
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
