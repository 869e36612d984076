//! Host functions for every `ic0` import of digest §1.2 (plus the legacy ones),
//! registered on one wasmtime `Linker` shared by all modules.
//!
//! Each function first checks the execution context (traps as the replica does
//! when called from a context that may not use it), charges a small fixed
//! instruction overhead plus one instruction per byte copied, then acts on the
//! [`ApiContext`]. Out-of-bounds accesses trap.

use super::ctx::*;
use super::{ApiContext, ApiKind, HostTrap, OutgoingCall, PendingCall, Response};
use crate::{cycles, ids, limits};
use candid::Principal;
use ic_error_types::ErrorCode;
use wasmtime::{Caller, Linker, Result};

type C<'a> = Caller<'a, ApiContext>;

/// Instructions charged for entering any System API function.
const OVERHEAD: u64 = 50;

/// Every import name the linker provides. Modules importing anything else
/// from `ic0` are refused at install, like the replica does.
pub const IMPORT_NAMES: &[&str] = &[
    "msg_arg_data_size",
    "msg_arg_data_copy",
    "msg_caller_size",
    "msg_caller_copy",
    "msg_caller_info_data_size",
    "msg_caller_info_data_copy",
    "msg_caller_info_signer_size",
    "msg_caller_info_signer_copy",
    "msg_reject_code",
    "msg_reject_msg_size",
    "msg_reject_msg_copy",
    "msg_deadline",
    "msg_reply_data_append",
    "msg_reply",
    "msg_reject",
    "msg_cycles_available128",
    "msg_cycles_refunded128",
    "msg_cycles_accept128",
    "cycles_burn128",
    "canister_self_size",
    "canister_self_copy",
    "canister_cycle_balance128",
    "canister_liquid_cycle_balance128",
    "canister_status",
    "canister_version",
    "subnet_self_size",
    "subnet_self_copy",
    "msg_method_name_size",
    "msg_method_name_copy",
    "accept_message",
    "call_new",
    "call_on_cleanup",
    "call_data_append",
    "call_with_best_effort_response",
    "call_cycles_add128",
    "call_perform",
    "stable64_size",
    "stable64_grow",
    "stable64_write",
    "stable64_read",
    "root_key_size",
    "root_key_copy",
    "certified_data_set",
    "data_certificate_present",
    "data_certificate_size",
    "data_certificate_copy",
    "time",
    "global_timer_set",
    "performance_counter",
    "is_controller",
    "in_replicated_execution",
    "cost_call",
    "cost_create_canister",
    "cost_http_request",
    "cost_sign_with_ecdsa",
    "cost_sign_with_schnorr",
    "cost_vetkd_derive_key",
    "cost_vetkd_derive_encrypted_key",
    "env_var_count",
    "env_var_name_size",
    "env_var_name_copy",
    "env_var_name_exists",
    "env_var_value_size",
    "env_var_value_copy",
    "debug_print",
    "trap",
    "mint_cycles128",
    // Legacy (ic-cdk ≤ 0.17).
    "msg_cycles_available",
    "msg_cycles_refunded",
    "msg_cycles_accept",
    "canister_cycle_balance",
    "call_cycles_add",
    "stable_size",
    "stable_grow",
    "stable_write",
    "stable_read",
    "mint_cycles",
];

pub(crate) fn trap(code: ErrorCode, message: impl Into<String>) -> wasmtime::Error {
    HostTrap {
        code,
        message: message.into(),
    }
    .into()
}

fn violation(name: &str, kind: ApiKind) -> wasmtime::Error {
    trap(
        ErrorCode::CanisterContractViolation,
        format!("\"ic0_{name}\" cannot be executed in {} mode", kind.label()),
    )
}

fn unsupported(name: &str) -> wasmtime::Error {
    trap(
        ErrorCode::CanisterTrapped,
        format!("ic0.{name} is not supported by the emulator"),
    )
}

pub(crate) fn out_of_instructions(limit: u64) -> wasmtime::Error {
    trap(
        ErrorCode::CanisterInstructionLimitExceeded,
        format!(
            "Canister exceeded the limit of {limit} instructions for single message execution."
        ),
    )
}

fn charge(c: &mut C, n: u64) -> Result<()> {
    let fuel = c.get_fuel()?;
    if fuel < n {
        c.set_fuel(0)?;
        return Err(out_of_instructions(c.data().instruction_limit));
    }
    c.set_fuel(fuel - n)
}

/// The context check and overhead charge every import starts with.
fn enter(c: &mut C, name: &str, allowed: u32) -> Result<()> {
    let kind = c.data().kind;
    if kind.bit() & allowed == 0 {
        return Err(violation(name, kind));
    }
    charge(c, OVERHEAD)
}

fn memory(c: &C) -> Result<wasmtime::Memory> {
    c.data().memory.ok_or_else(|| {
        trap(
            ErrorCode::CanisterTrapped,
            "the canister has no memory to copy to or from",
        )
    })
}

fn oob(name: &str) -> wasmtime::Error {
    trap(
        ErrorCode::CanisterTrapped,
        format!("ic0.{name}: out of bounds memory access"),
    )
}

/// Reads `size` bytes at `src` of the heap.
fn read(c: &mut C, name: &str, src: u64, size: u64) -> Result<Vec<u8>> {
    charge(c, size)?;
    let mem = memory(c)?;
    let data = mem.data(&*c);
    let end = src.checked_add(size).ok_or_else(|| oob(name))?;
    if end > data.len() as u64 {
        return Err(oob(name));
    }
    Ok(data[src as usize..end as usize].to_vec())
}

fn write(c: &mut C, name: &str, dst: u64, bytes: &[u8]) -> Result<()> {
    charge(c, bytes.len() as u64)?;
    let mem = memory(c)?;
    let data = mem.data_mut(&mut *c);
    let end = dst
        .checked_add(bytes.len() as u64)
        .ok_or_else(|| oob(name))?;
    if end > data.len() as u64 {
        return Err(oob(name));
    }
    data[dst as usize..end as usize].copy_from_slice(bytes);
    Ok(())
}

/// The blob idiom `*_copy(dst, offset, size)` over a blob of the context.
fn copy_blob(
    c: &mut C,
    name: &str,
    (dst, offset, size): (i32, i32, i32),
    blob: impl Fn(&ApiContext) -> &[u8],
) -> Result<()> {
    let (dst, offset, size) = (
        dst as u32 as usize,
        offset as u32 as usize,
        size as u32 as usize,
    );
    charge(c, size as u64)?;
    let mem = memory(c)?;
    let (data, ctx) = mem.data_and_store_mut(&mut *c);
    let blob = blob(ctx);
    if offset + size > blob.len() {
        return Err(trap(
            ErrorCode::CanisterTrapped,
            format!(
                "ic0.{name}: offset {offset} + size {size} exceeds the blob size {}",
                blob.len()
            ),
        ));
    }
    if dst + size > data.len() {
        return Err(oob(name));
    }
    data[dst..dst + size].copy_from_slice(&blob[offset..offset + size]);
    Ok(())
}

fn write_u128(c: &mut C, name: &str, dst: i32, value: u128) -> Result<()> {
    write(c, name, dst as u32 as u64, &value.to_le_bytes())
}

fn amount(high: i64, low: i64) -> u128 {
    ((high as u64 as u128) << 64) | low as u64 as u128
}

fn size_i32(n: usize) -> i32 {
    n as u32 as i32
}

fn principal(c: &mut C, name: &str, src: i32, size: i32) -> Result<Principal> {
    let bytes = read(c, name, src as u32 as u64, size as u32 as u64)?;
    ids::principal_from_bytes(&bytes).ok_or_else(|| {
        trap(
            ErrorCode::CanisterTrapped,
            format!("ic0.{name}: invalid principal"),
        )
    })
}

fn text(c: &mut C, name: &str, src: i32, size: i32) -> Result<String> {
    let bytes = read(c, name, src as u32 as u64, size as u32 as u64)?;
    String::from_utf8(bytes).map_err(|_| {
        trap(
            ErrorCode::CanisterTrapped,
            format!("ic0.{name}: invalid UTF-8"),
        )
    })
}

fn respond(c: &mut C, name: &str, response: Response) -> Result<()> {
    let ctx = c.data_mut();
    if !ctx.can_respond || ctx.response.is_some() {
        return Err(trap(
            ErrorCode::CanisterContractViolation,
            format!(
                "ic0.{name}: this call context has already been responded to or needs no response"
            ),
        ));
    }
    // A response returns the unaccepted cycles to the caller.
    ctx.cycles_available = ctx.cycles_accepted;
    ctx.response = Some(response);
    Ok(())
}

fn stable_bounds(c: &C, name: &str, offset: u64, size: u64) -> Result<()> {
    let len = c.data().stable_pages * limits::STABLE_PAGE;
    match offset.checked_add(size) {
        Some(end) if end <= len => Ok(()),
        _ => Err(trap(
            ErrorCode::CanisterTrapped,
            format!("ic0.{name}: stable memory out of bounds"),
        )),
    }
}

fn stable_grow(c: &mut C, new_pages: u64, max_pages: u64) -> u64 {
    let ctx = c.data_mut();
    let old = ctx.stable_pages;
    match old.checked_add(new_pages) {
        Some(total) if total <= max_pages => {
            ctx.stable_pages = total;
            old
        }
        _ => u64::MAX,
    }
}

fn stable_read(c: &mut C, name: &str, dst: u64, offset: u64, size: u64) -> Result<()> {
    stable_bounds(c, name, offset, size)?;
    charge(c, size)?;
    let mem = memory(c)?;
    let (data, ctx) = mem.data_and_store_mut(&mut *c);
    let end = dst.checked_add(size).ok_or_else(|| oob(name))?;
    if end > data.len() as u64 {
        return Err(oob(name));
    }
    ctx.stable
        .read(offset, &mut data[dst as usize..end as usize]);
    Ok(())
}

fn stable_write(c: &mut C, name: &str, offset: u64, src: u64, size: u64) -> Result<()> {
    stable_bounds(c, name, offset, size)?;
    charge(c, size)?;
    let mem = memory(c)?;
    let (data, ctx) = mem.data_and_store_mut(&mut *c);
    let end = src.checked_add(size).ok_or_else(|| oob(name))?;
    if end > data.len() as u64 {
        return Err(oob(name));
    }
    ctx.stable.write(offset, &data[src as usize..end as usize]);
    Ok(())
}

fn pending<'a>(c: &'a mut C, name: &str) -> Result<&'a mut PendingCall> {
    c.data_mut().pending_call.as_mut().ok_or_else(|| {
        trap(
            ErrorCode::CanisterContractViolation,
            format!("ic0.{name}: there is no pending call"),
        )
    })
}

fn call_perform(c: &mut C) -> Result<i32> {
    let ctx = c.data_mut();
    let call = ctx.pending_call.take().ok_or_else(|| {
        trap(
            ErrorCode::CanisterContractViolation,
            "ic0.call_perform: there is no pending call",
        )
    })?;
    let queued = ctx.outstanding.get(&call.callee).copied().unwrap_or(0)
        + ctx
            .outgoing
            .iter()
            .filter(|o| o.callee == call.callee)
            .count();
    let fee = cycles::transmission_fee(call.method.len() as u64, call.payload.len() as u64);
    if queued >= ctx.queue_capacity || ctx.liquid_balance() < fee {
        // The call cannot be made: the attached cycles come back, no callback will run.
        ctx.balance += call.cycles;
        return Ok(2);
    }
    ctx.balance -= fee;
    let deadline = call.timeout_seconds.map(|s| ctx.time + s * 1_000_000_000);
    ctx.outgoing.push(OutgoingCall {
        callee: call.callee,
        method: call.method,
        payload: call.payload,
        cycles: call.cycles,
        reply: call.reply,
        reject: call.reject,
        cleanup: call.cleanup,
        deadline,
    });
    Ok(0)
}

fn performance_counter(c: &mut C, counter: i32) -> Result<i64> {
    let used = c.data().instruction_limit - c.get_fuel()?;
    match counter {
        0 => Ok(used as i64),
        1 => Ok((c.data().context_instructions + used) as i64),
        other => Err(trap(
            ErrorCode::CanisterTrapped,
            format!("ic0.performance_counter: unknown counter type {other}"),
        )),
    }
}

const ECDSA_KEYS: [&str; 3] = ["key_1", "test_key_1", "dfx_test_key"];

/// `cost_sign_with_*` and `cost_vetkd_derive_key`: 0 ok, 1 bad curve, 2 bad key.
fn cost_threshold(
    c: &mut C,
    name: &str,
    (src, size, curve, dst): (i32, i32, i32, i32),
    curves: u32,
) -> Result<i32> {
    let key = text(c, name, src, size)?;
    if curve as u32 >= curves {
        return Ok(1);
    }
    if !ECDSA_KEYS.contains(&key.as_str()) {
        return Ok(2);
    }
    write_u128(c, name, dst, cycles::cost_threshold_signature())?;
    Ok(0)
}

fn env_value<'a>(ctx: &'a ApiContext, name: &str) -> Option<&'a str> {
    ctx.env_vars
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn env_name_arg(c: &mut C, name: &str, src: i32, size: i32) -> Result<String> {
    if size as u32 as usize > limits::MAX_ENV_VAR_LEN {
        return Err(trap(
            ErrorCode::CanisterTrapped,
            format!("ic0.{name}: name too long"),
        ));
    }
    text(c, name, src, size)
}

fn env_index(c: &C, name: &str, index: i32) -> Result<usize> {
    let index = index as u32 as usize;
    if index >= c.data().env_vars.len() {
        return Err(trap(
            ErrorCode::CanisterTrapped,
            format!("ic0.{name}: index {index} out of range"),
        ));
    }
    Ok(index)
}

/// Registers every import of [`IMPORT_NAMES`] on `linker`.
pub fn link(linker: &mut Linker<ApiContext>) -> Result<()> {
    const REPLY_CTX: u32 = U | RQ | NRQ | CQ | RY | RT;
    const CALL_CTX: u32 = U | CQ | RY | RT | T;

    // Arguments, caller, reject.
    linker.func_wrap("ic0", "msg_arg_data_size", |mut c: C| -> Result<i32> {
        enter(&mut c, "msg_arg_data_size", I | U | RQ | NRQ | CQ | RY | F)?;
        Ok(size_i32(c.data().arg.len()))
    })?;
    linker.func_wrap(
        "ic0",
        "msg_arg_data_copy",
        |mut c: C, d: i32, o: i32, s: i32| -> Result<()> {
            enter(&mut c, "msg_arg_data_copy", I | U | RQ | NRQ | CQ | RY | F)?;
            copy_blob(&mut c, "msg_arg_data_copy", (d, o, s), |x| &x.arg)
        },
    )?;
    linker.func_wrap("ic0", "msg_caller_size", |mut c: C| -> Result<i32> {
        enter(&mut c, "msg_caller_size", ALL)?;
        Ok(size_i32(c.data().caller.as_slice().len()))
    })?;
    linker.func_wrap(
        "ic0",
        "msg_caller_copy",
        |mut c: C, d: i32, o: i32, s: i32| -> Result<()> {
            enter(&mut c, "msg_caller_copy", ALL)?;
            copy_blob(&mut c, "msg_caller_copy", (d, o, s), |x| {
                x.caller.as_slice()
            })
        },
    )?;
    for name in ["msg_caller_info_data_size", "msg_caller_info_signer_size"] {
        linker.func_wrap("ic0", name, move |mut c: C| -> Result<i32> {
            enter(&mut c, name, U | RQ | NRQ | CQ | RY | RT | C | F)?;
            Ok(0) // no caller info: the emulator has no delegations
        })?;
    }
    for name in ["msg_caller_info_data_copy", "msg_caller_info_signer_copy"] {
        linker.func_wrap(
            "ic0",
            name,
            move |mut c: C, d: i32, o: i32, s: i32| -> Result<()> {
                enter(&mut c, name, U | RQ | NRQ | CQ | RY | RT | C | F)?;
                copy_blob(&mut c, name, (d, o, s), |_| &[])
            },
        )?;
    }
    linker.func_wrap("ic0", "msg_reject_code", |mut c: C| -> Result<i32> {
        enter(&mut c, "msg_reject_code", RY | RT | C)?;
        Ok(c.data().reject_code as i32)
    })?;
    linker.func_wrap("ic0", "msg_reject_msg_size", |mut c: C| -> Result<i32> {
        enter(&mut c, "msg_reject_msg_size", RT)?;
        Ok(size_i32(c.data().reject_message.len()))
    })?;
    linker.func_wrap(
        "ic0",
        "msg_reject_msg_copy",
        |mut c: C, d: i32, o: i32, s: i32| -> Result<()> {
            enter(&mut c, "msg_reject_msg_copy", RT)?;
            copy_blob(&mut c, "msg_reject_msg_copy", (d, o, s), |x| {
                x.reject_message.as_bytes()
            })
        },
    )?;
    linker.func_wrap("ic0", "msg_deadline", |mut c: C| -> Result<i64> {
        enter(&mut c, "msg_deadline", U | RQ | NRQ | CQ | RY | RT)?;
        Ok(c.data().deadline as i64)
    })?;

    // Responding.
    linker.func_wrap("ic0", "msg_reply_data_append", |mut c: C, src: i32, size: i32| -> Result<()> {
        enter(&mut c, "msg_reply_data_append", REPLY_CTX)?;
        let ctx = c.data();
        if !ctx.can_respond || ctx.response.is_some() {
            return Err(trap(
                ErrorCode::CanisterContractViolation,
                "ic0.msg_reply_data_append: this call context has already been responded to or needs no response",
            ));
        }
        let max = if ctx.kind.replicated() { limits::MAX_PAYLOAD } else { limits::MAX_NON_REPLICATED_REPLY };
        if ctx.reply_buf.len() + size as u32 as usize > max {
            return Err(trap(ErrorCode::CanisterTrapped, format!("ic0.msg_reply_data_append: the reply exceeds {max} bytes")));
        }
        let bytes = read(&mut c, "msg_reply_data_append", src as u32 as u64, size as u32 as u64)?;
        c.data_mut().reply_buf.extend_from_slice(&bytes);
        Ok(())
    })?;
    linker.func_wrap("ic0", "msg_reply", |mut c: C| -> Result<()> {
        enter(&mut c, "msg_reply", REPLY_CTX)?;
        let data = std::mem::take(&mut c.data_mut().reply_buf);
        respond(&mut c, "msg_reply", Response::Reply(data))
    })?;
    linker.func_wrap(
        "ic0",
        "msg_reject",
        |mut c: C, src: i32, size: i32| -> Result<()> {
            enter(&mut c, "msg_reject", REPLY_CTX)?;
            let message = text(&mut c, "msg_reject", src, size)?;
            respond(&mut c, "msg_reject", Response::Reject(message))
        },
    )?;

    // Cycles.
    linker.func_wrap(
        "ic0",
        "msg_cycles_available128",
        |mut c: C, dst: i32| -> Result<()> {
            enter(&mut c, "msg_cycles_available128", U | RQ | RY | RT)?;
            let v = c.data().cycles_available - c.data().cycles_accepted;
            write_u128(&mut c, "msg_cycles_available128", dst, v)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "msg_cycles_refunded128",
        |mut c: C, dst: i32| -> Result<()> {
            enter(&mut c, "msg_cycles_refunded128", RY | RT)?;
            let v = c.data().cycles_refunded;
            write_u128(&mut c, "msg_cycles_refunded128", dst, v)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "msg_cycles_accept128",
        |mut c: C, high: i64, low: i64, dst: i32| -> Result<()> {
            enter(&mut c, "msg_cycles_accept128", U | RQ | RY | RT)?;
            let ctx = c.data_mut();
            let n = amount(high, low).min(ctx.cycles_available - ctx.cycles_accepted);
            ctx.cycles_accepted += n;
            ctx.balance += n;
            write_u128(&mut c, "msg_cycles_accept128", dst, n)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "cycles_burn128",
        |mut c: C, high: i64, low: i64, dst: i32| -> Result<()> {
            enter(&mut c, "cycles_burn128", I | G | U | RQ | RY | RT | C | T)?;
            let ctx = c.data_mut();
            let n = amount(high, low).min(ctx.liquid_balance());
            ctx.balance -= n;
            write_u128(&mut c, "cycles_burn128", dst, n)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "canister_cycle_balance128",
        |mut c: C, dst: i32| -> Result<()> {
            enter(&mut c, "canister_cycle_balance128", ALL)?;
            let v = c.data().balance;
            write_u128(&mut c, "canister_cycle_balance128", dst, v)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "canister_liquid_cycle_balance128",
        |mut c: C, dst: i32| -> Result<()> {
            enter(&mut c, "canister_liquid_cycle_balance128", ALL)?;
            let v = c.data().liquid_balance();
            write_u128(&mut c, "canister_liquid_cycle_balance128", dst, v)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "mint_cycles128",
        |mut c: C, _h: i64, _l: i64, _d: i32| -> Result<()> {
            enter(&mut c, "mint_cycles128", U | RY | RT)?;
            Err(unsupported("mint_cycles128"))
        },
    )?;

    // The canister itself.
    linker.func_wrap("ic0", "canister_self_size", |mut c: C| -> Result<i32> {
        enter(&mut c, "canister_self_size", ALL)?;
        Ok(size_i32(c.data().canister_id.as_slice().len()))
    })?;
    linker.func_wrap(
        "ic0",
        "canister_self_copy",
        |mut c: C, d: i32, o: i32, s: i32| -> Result<()> {
            enter(&mut c, "canister_self_copy", ALL)?;
            copy_blob(&mut c, "canister_self_copy", (d, o, s), |x| {
                x.canister_id.as_slice()
            })
        },
    )?;
    linker.func_wrap("ic0", "canister_status", |mut c: C| -> Result<i32> {
        enter(&mut c, "canister_status", ALL)?;
        Ok(c.data().status as i32)
    })?;
    linker.func_wrap("ic0", "canister_version", |mut c: C| -> Result<i64> {
        enter(&mut c, "canister_version", ALL)?;
        Ok(c.data().canister_version as i64)
    })?;
    linker.func_wrap("ic0", "subnet_self_size", |mut c: C| -> Result<i32> {
        enter(&mut c, "subnet_self_size", ALL)?;
        Ok(size_i32(ids::SUBNET_ID.as_slice().len()))
    })?;
    linker.func_wrap(
        "ic0",
        "subnet_self_copy",
        |mut c: C, d: i32, o: i32, s: i32| -> Result<()> {
            enter(&mut c, "subnet_self_copy", ALL)?;
            copy_blob(&mut c, "subnet_self_copy", (d, o, s), |_| {
                ids::SUBNET_ID.as_slice()
            })
        },
    )?;
    linker.func_wrap("ic0", "msg_method_name_size", |mut c: C| -> Result<i32> {
        enter(&mut c, "msg_method_name_size", F)?;
        Ok(size_i32(c.data().method_name.len()))
    })?;
    linker.func_wrap(
        "ic0",
        "msg_method_name_copy",
        |mut c: C, d: i32, o: i32, s: i32| -> Result<()> {
            enter(&mut c, "msg_method_name_copy", F)?;
            copy_blob(&mut c, "msg_method_name_copy", (d, o, s), |x| {
                x.method_name.as_bytes()
            })
        },
    )?;
    linker.func_wrap("ic0", "accept_message", |mut c: C| -> Result<()> {
        enter(&mut c, "accept_message", F)?;
        if std::mem::replace(&mut c.data_mut().accepted_message, true) {
            return Err(trap(
                ErrorCode::CanisterContractViolation,
                "ic0.accept_message: called twice",
            ));
        }
        Ok(())
    })?;

    // Calls.
    linker.func_wrap(
        "ic0",
        "call_new",
        |mut c: C,
         callee_src: i32,
         callee_size: i32,
         name_src: i32,
         name_size: i32,
         reply_fun: i32,
         reply_env: i32,
         reject_fun: i32,
         reject_env: i32|
         -> Result<()> {
            enter(&mut c, "call_new", CALL_CTX)?;
            let callee = principal(&mut c, "call_new", callee_src, callee_size)?;
            let method = text(&mut c, "call_new", name_src, name_size)?;
            let ctx = c.data_mut();
            if let Some(old) = ctx.pending_call.take() {
                ctx.balance += old.cycles; // a discarded call gives its cycles back
            }
            ctx.pending_call = Some(PendingCall {
                callee,
                method,
                payload: Vec::new(),
                cycles: 0,
                reply: (reply_fun as u32, reply_env as u32),
                reject: (reject_fun as u32, reject_env as u32),
                cleanup: None,
                timeout_seconds: None,
            });
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ic0",
        "call_on_cleanup",
        |mut c: C, fun: i32, env: i32| -> Result<()> {
            enter(&mut c, "call_on_cleanup", CALL_CTX)?;
            let call = pending(&mut c, "call_on_cleanup")?;
            if call.cleanup.is_some() {
                return Err(trap(
                    ErrorCode::CanisterContractViolation,
                    "ic0.call_on_cleanup: cleanup already set",
                ));
            }
            call.cleanup = Some((fun as u32, env as u32));
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ic0",
        "call_data_append",
        |mut c: C, src: i32, size: i32| -> Result<()> {
            enter(&mut c, "call_data_append", CALL_CTX)?;
            pending(&mut c, "call_data_append")?;
            let bytes = read(
                &mut c,
                "call_data_append",
                src as u32 as u64,
                size as u32 as u64,
            )?;
            let call = pending(&mut c, "call_data_append")?;
            if call.payload.len() + bytes.len() > limits::MAX_LOCAL_REQUEST {
                return Err(trap(
                    ErrorCode::CanisterTrapped,
                    "ic0.call_data_append: the payload exceeds 10 MiB",
                ));
            }
            call.payload.extend_from_slice(&bytes);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ic0",
        "call_with_best_effort_response",
        |mut c: C, timeout: i32| -> Result<()> {
            enter(&mut c, "call_with_best_effort_response", CALL_CTX)?;
            let call = pending(&mut c, "call_with_best_effort_response")?;
            if call.timeout_seconds.is_some() {
                return Err(trap(
                    ErrorCode::CanisterContractViolation,
                    "ic0.call_with_best_effort_response: timeout already set",
                ));
            }
            call.timeout_seconds =
                Some((timeout as u32 as u64).min(limits::MAX_CALL_TIMEOUT_SECONDS));
            Ok(())
        },
    )?;
    linker.func_wrap("ic0", "call_cycles_add128", |mut c: C, high: i64, low: i64| -> Result<()> {
        enter(&mut c, "call_cycles_add128", U | RY | RT | T)?;
        pending(&mut c, "call_cycles_add128")?;
        let n = amount(high, low);
        let ctx = c.data_mut();
        if n > ctx.liquid_balance() {
            return Err(trap(
                ErrorCode::CanisterTrapped,
                format!("ic0.call_cycles_add128: cannot attach {n} cycles, the liquid balance is {}", ctx.liquid_balance()),
            ));
        }
        ctx.balance -= n;
        ctx.pending_call.as_mut().expect("checked above").cycles += n;
        Ok(())
    })?;
    linker.func_wrap("ic0", "call_perform", |mut c: C| -> Result<i32> {
        enter(&mut c, "call_perform", CALL_CTX)?;
        call_perform(&mut c)
    })?;

    // Stable memory.
    linker.func_wrap("ic0", "stable64_size", |mut c: C| -> Result<i64> {
        enter(&mut c, "stable64_size", ALL_S)?;
        Ok(c.data().stable_pages as i64)
    })?;
    linker.func_wrap(
        "ic0",
        "stable64_grow",
        |mut c: C, pages: i64| -> Result<i64> {
            enter(&mut c, "stable64_grow", ALL_S)?;
            Ok(stable_grow(&mut c, pages as u64, limits::MAX_STABLE_PAGES) as i64)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "stable64_write",
        |mut c: C, offset: i64, src: i64, size: i64| -> Result<()> {
            enter(&mut c, "stable64_write", ALL_S)?;
            stable_write(
                &mut c,
                "stable64_write",
                offset as u64,
                src as u64,
                size as u64,
            )
        },
    )?;
    linker.func_wrap(
        "ic0",
        "stable64_read",
        |mut c: C, dst: i64, offset: i64, size: i64| -> Result<()> {
            enter(&mut c, "stable64_read", ALL_S)?;
            stable_read(
                &mut c,
                "stable64_read",
                dst as u64,
                offset as u64,
                size as u64,
            )
        },
    )?;
    linker.func_wrap("ic0", "stable_size", |mut c: C| -> Result<i32> {
        enter(&mut c, "stable_size", ALL_S)?;
        let pages = c.data().stable_pages;
        if pages > u32::MAX as u64 / limits::STABLE_PAGE {
            return Err(trap(
                ErrorCode::CanisterTrapped,
                "ic0.stable_size: stable memory exceeds 4 GiB",
            ));
        }
        Ok(pages as i32)
    })?;
    linker.func_wrap(
        "ic0",
        "stable_grow",
        |mut c: C, pages: i32| -> Result<i32> {
            enter(&mut c, "stable_grow", ALL_S)?;
            Ok(stable_grow(&mut c, pages as u32 as u64, 65_536) as i32)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "stable_write",
        |mut c: C, offset: i32, src: i32, size: i32| -> Result<()> {
            enter(&mut c, "stable_write", ALL_S)?;
            stable_write(
                &mut c,
                "stable_write",
                offset as u32 as u64,
                src as u32 as u64,
                size as u32 as u64,
            )
        },
    )?;
    linker.func_wrap(
        "ic0",
        "stable_read",
        |mut c: C, dst: i32, offset: i32, size: i32| -> Result<()> {
            enter(&mut c, "stable_read", ALL_S)?;
            stable_read(
                &mut c,
                "stable_read",
                dst as u32 as u64,
                offset as u32 as u64,
                size as u32 as u64,
            )
        },
    )?;

    // Certification and keys.
    linker.func_wrap("ic0", "root_key_size", |mut c: C| -> Result<i32> {
        enter(&mut c, "root_key_size", I | G | U | RQ | RY | RT | C | T)?;
        Ok(size_i32(c.data().root_key.len()))
    })?;
    linker.func_wrap(
        "ic0",
        "root_key_copy",
        |mut c: C, d: i32, o: i32, s: i32| -> Result<()> {
            enter(&mut c, "root_key_copy", I | G | U | RQ | RY | RT | C | T)?;
            copy_blob(&mut c, "root_key_copy", (d, o, s), |x| &x.root_key)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "certified_data_set",
        |mut c: C, src: i32, size: i32| -> Result<()> {
            enter(&mut c, "certified_data_set", I | G | U | RY | RT | T)?;
            if size as u32 as usize > limits::MAX_CERTIFIED_DATA {
                return Err(trap(
                    ErrorCode::CanisterTrapped,
                    "ic0.certified_data_set: more than 32 bytes",
                ));
            }
            let bytes = read(
                &mut c,
                "certified_data_set",
                src as u32 as u64,
                size as u32 as u64,
            )?;
            c.data_mut().certified_data = bytes;
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ic0",
        "data_certificate_present",
        |mut c: C| -> Result<i32> {
            enter(&mut c, "data_certificate_present", ALL)?;
            Ok(0) // the emulator issues no certificates
        },
    )?;
    linker.func_wrap("ic0", "data_certificate_size", |mut c: C| -> Result<i32> {
        enter(&mut c, "data_certificate_size", NRQ | CQ)?;
        Err(unsupported("data_certificate_size"))
    })?;
    linker.func_wrap(
        "ic0",
        "data_certificate_copy",
        |mut c: C, _d: i32, _o: i32, _s: i32| -> Result<()> {
            enter(&mut c, "data_certificate_copy", NRQ | CQ)?;
            Err(unsupported("data_certificate_copy"))
        },
    )?;

    // Time, timer, counters, predicates.
    linker.func_wrap("ic0", "time", |mut c: C| -> Result<i64> {
        enter(&mut c, "time", ALL)?;
        Ok(c.data().time as i64)
    })?;
    linker.func_wrap(
        "ic0",
        "global_timer_set",
        |mut c: C, t: i64| -> Result<i64> {
            enter(&mut c, "global_timer_set", I | G | U | RY | RT | C | T)?;
            Ok(std::mem::replace(&mut c.data_mut().global_timer, t as u64) as i64)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "performance_counter",
        |mut c: C, counter: i32| -> Result<i64> {
            enter(&mut c, "performance_counter", ALL_S)?;
            performance_counter(&mut c, counter)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "is_controller",
        |mut c: C, src: i32, size: i32| -> Result<i32> {
            enter(&mut c, "is_controller", ALL_S)?;
            let p = principal(&mut c, "is_controller", src, size)?;
            Ok(c.data().controllers.contains(&p) as i32)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "in_replicated_execution",
        |mut c: C| -> Result<i32> {
            enter(&mut c, "in_replicated_execution", ALL_S)?;
            Ok(c.data().kind.replicated() as i32)
        },
    )?;

    // Costs.
    linker.func_wrap(
        "ic0",
        "cost_call",
        |mut c: C, method: i64, payload: i64, dst: i32| -> Result<()> {
            enter(&mut c, "cost_call", ALL_S)?;
            write_u128(
                &mut c,
                "cost_call",
                dst,
                cycles::cost_call(method as u64, payload as u64),
            )
        },
    )?;
    linker.func_wrap(
        "ic0",
        "cost_create_canister",
        |mut c: C, dst: i32| -> Result<()> {
            enter(&mut c, "cost_create_canister", ALL_S)?;
            write_u128(
                &mut c,
                "cost_create_canister",
                dst,
                cycles::CREATE_CANISTER_FEE,
            )
        },
    )?;
    linker.func_wrap(
        "ic0",
        "cost_http_request",
        |mut c: C, req: i64, max_res: i64, dst: i32| -> Result<()> {
            enter(&mut c, "cost_http_request", ALL_S)?;
            write_u128(
                &mut c,
                "cost_http_request",
                dst,
                cycles::cost_http_request(req as u64, max_res as u64),
            )
        },
    )?;
    linker.func_wrap(
        "ic0",
        "cost_sign_with_ecdsa",
        |mut c: C, s: i32, n: i32, curve: i32, d: i32| -> Result<i32> {
            enter(&mut c, "cost_sign_with_ecdsa", ALL_S)?;
            cost_threshold(&mut c, "cost_sign_with_ecdsa", (s, n, curve, d), 1)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "cost_sign_with_schnorr",
        |mut c: C, s: i32, n: i32, alg: i32, d: i32| -> Result<i32> {
            enter(&mut c, "cost_sign_with_schnorr", ALL_S)?;
            cost_threshold(&mut c, "cost_sign_with_schnorr", (s, n, alg, d), 2)
        },
    )?;
    for name in ["cost_vetkd_derive_key", "cost_vetkd_derive_encrypted_key"] {
        linker.func_wrap(
            "ic0",
            name,
            move |mut c: C, s: i32, n: i32, curve: i32, d: i32| -> Result<i32> {
                enter(&mut c, name, ALL_S)?;
                cost_threshold(&mut c, name, (s, n, curve, d), 1)
            },
        )?;
    }

    // Environment variables.
    linker.func_wrap("ic0", "env_var_count", |mut c: C| -> Result<i32> {
        enter(&mut c, "env_var_count", ALL)?;
        Ok(size_i32(c.data().env_vars.len()))
    })?;
    linker.func_wrap(
        "ic0",
        "env_var_name_size",
        |mut c: C, index: i32| -> Result<i32> {
            enter(&mut c, "env_var_name_size", ALL)?;
            let i = env_index(&c, "env_var_name_size", index)?;
            Ok(size_i32(c.data().env_vars[i].0.len()))
        },
    )?;
    linker.func_wrap(
        "ic0",
        "env_var_name_copy",
        |mut c: C, index: i32, d: i32, o: i32, s: i32| -> Result<()> {
            enter(&mut c, "env_var_name_copy", ALL)?;
            let i = env_index(&c, "env_var_name_copy", index)?;
            copy_blob(&mut c, "env_var_name_copy", (d, o, s), move |x| {
                x.env_vars[i].0.as_bytes()
            })
        },
    )?;
    linker.func_wrap(
        "ic0",
        "env_var_name_exists",
        |mut c: C, src: i32, size: i32| -> Result<i32> {
            enter(&mut c, "env_var_name_exists", ALL)?;
            let name = env_name_arg(&mut c, "env_var_name_exists", src, size)?;
            Ok(env_value(c.data(), &name).is_some() as i32)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "env_var_value_size",
        |mut c: C, src: i32, size: i32| -> Result<i32> {
            enter(&mut c, "env_var_value_size", ALL)?;
            let name = env_name_arg(&mut c, "env_var_value_size", src, size)?;
            env_value(c.data(), &name)
                .map(|v| size_i32(v.len()))
                .ok_or_else(|| {
                    trap(
                        ErrorCode::CanisterTrapped,
                        format!("ic0.env_var_value_size: no variable `{name}`"),
                    )
                })
        },
    )?;
    linker.func_wrap(
        "ic0",
        "env_var_value_copy",
        |mut c: C, src: i32, size: i32, d: i32, o: i32, s: i32| -> Result<()> {
            enter(&mut c, "env_var_value_copy", ALL)?;
            let name = env_name_arg(&mut c, "env_var_value_copy", src, size)?;
            if env_value(c.data(), &name).is_none() {
                return Err(trap(
                    ErrorCode::CanisterTrapped,
                    format!("ic0.env_var_value_copy: no variable `{name}`"),
                ));
            }
            copy_blob(&mut c, "env_var_value_copy", (d, o, s), move |x| {
                env_value(x, &name).unwrap_or_default().as_bytes()
            })
        },
    )?;

    // Debugging.
    linker.func_wrap(
        "ic0",
        "debug_print",
        |mut c: C, src: i32, size: i32| -> Result<()> {
            enter(&mut c, "debug_print", ALL_S)?;
            // Never traps, even on bad pointers.
            let line = match read(&mut c, "debug_print", src as u32 as u64, size as u32 as u64) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(_) => "(debug_print: invalid memory range)".to_string(),
            };
            c.data_mut().debug_log.push(line);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ic0",
        "trap",
        |mut c: C, src: i32, size: i32| -> Result<()> {
            enter(&mut c, "trap", ALL_S)?;
            let message = match read(&mut c, "trap", src as u32 as u64, size as u32 as u64) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(_) => "(trap message out of bounds)".to_string(),
            };
            Err(trap(
                ErrorCode::CanisterCalledTrap,
                format!("Canister called `ic0.trap` with message: '{message}'"),
            ))
        },
    )?;

    // Legacy 64-bit cycle functions.
    linker.func_wrap("ic0", "msg_cycles_available", |mut c: C| -> Result<i64> {
        enter(&mut c, "msg_cycles_available", U | RQ | RY | RT)?;
        let ctx = c.data();
        Ok((ctx.cycles_available - ctx.cycles_accepted).min(u64::MAX as u128) as i64)
    })?;
    linker.func_wrap("ic0", "msg_cycles_refunded", |mut c: C| -> Result<i64> {
        enter(&mut c, "msg_cycles_refunded", RY | RT)?;
        Ok(c.data().cycles_refunded.min(u64::MAX as u128) as i64)
    })?;
    linker.func_wrap(
        "ic0",
        "msg_cycles_accept",
        |mut c: C, max: i64| -> Result<i64> {
            enter(&mut c, "msg_cycles_accept", U | RQ | RY | RT)?;
            let ctx = c.data_mut();
            let n = (max as u64 as u128).min(ctx.cycles_available - ctx.cycles_accepted);
            ctx.cycles_accepted += n;
            ctx.balance += n;
            Ok(n as i64)
        },
    )?;
    linker.func_wrap("ic0", "canister_cycle_balance", |mut c: C| -> Result<i64> {
        enter(&mut c, "canister_cycle_balance", ALL)?;
        let b = c.data().balance;
        if b > u64::MAX as u128 {
            return Err(trap(
                ErrorCode::CanisterTrapped,
                "ic0.canister_cycle_balance: the balance exceeds 64 bits",
            ));
        }
        Ok(b as i64)
    })?;
    linker.func_wrap("ic0", "call_cycles_add", |mut c: C, n: i64| -> Result<()> {
        enter(&mut c, "call_cycles_add", U | RY | RT | T)?;
        pending(&mut c, "call_cycles_add")?;
        let n = n as u64 as u128;
        let ctx = c.data_mut();
        if n > ctx.liquid_balance() {
            return Err(trap(
                ErrorCode::CanisterTrapped,
                "ic0.call_cycles_add: not enough cycles",
            ));
        }
        ctx.balance -= n;
        ctx.pending_call.as_mut().expect("checked above").cycles += n;
        Ok(())
    })?;
    linker.func_wrap("ic0", "mint_cycles", |mut c: C, _n: i64| -> Result<i64> {
        enter(&mut c, "mint_cycles", U | RY | RT)?;
        Err(unsupported("mint_cycles"))
    })?;
    Ok(())
}
