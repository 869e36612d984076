//! Host functions for every `ic0` import of digest §1.2 (plus the legacy ones),
//! registered on one wasmtime `Linker` shared by all modules.
//!
//! The imports are one table ([`ic0_table!`] at the end): a row per import
//! with its name, wasm signature, the contexts that may call it, and what it
//! does. Every row first checks the execution context (traps as the replica
//! does when called from a context that may not use it) and charges a small
//! fixed instruction overhead; copies charge one instruction per byte; then
//! the row acts on the [`ApiContext`]. Out-of-bounds accesses trap.

use super::ctx::*;
use super::{ApiContext, ApiKind, HostTrap, OutgoingCall, PendingCall, Response};
use crate::{cycles, ids, limits};
use candid::Principal;
use ic_error_types::ErrorCode;
use wasmtime::{Caller, Linker, Result};

type C<'a> = Caller<'a, ApiContext>;

/// Instructions charged for entering any System API function.
const OVERHEAD: u64 = 50;

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
        ctx.balance = ctx.balance.saturating_add(call.cycles);
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

/// Contexts that may respond.
const REPLY_CTX: u32 = U | RQ | NRQ | CQ | RY | RT;
/// Contexts that may make calls.
const CALL_CTX: u32 = U | CQ | RY | RT | T;

/// One `ic0` import: its name, wasm signature and allowed contexts (digest §1.2).
#[derive(Clone, Copy, Debug)]
pub struct Import {
    pub name: &'static str,
    pub signature: &'static str,
    /// The contexts that may call it, one bit each in the digest's legend
    /// order: I, G, U, RQ, NRQ, CQ, Ry, Rt, C, T, F, s (bit 0 = I).
    pub contexts: u32,
}

/// Builds the table: each row is `name(params) [-> result], contexts, |c, name| body`,
/// where `c` is the wasmtime caller and `name` the import's name. It defines
/// [`IMPORTS`], [`IMPORT_NAMES`] and `link_table`, which registers every row
/// behind the context check and the entry charge.
macro_rules! ic0_table {
    ($( $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? , $ctx:expr , |$c:ident, $n:ident| $body:block )*) => {
        /// Every import the linker provides; modules importing anything else
        /// from `ic0` are refused at install, like the replica does.
        pub const IMPORTS: &[Import] = &[$(Import {
            name: stringify!($name),
            signature: concat!("(", stringify!($($ty),*), ")" $(, " -> ", stringify!($ret))?),
            contexts: $ctx,
        }),*];

        /// The names of [`IMPORTS`].
        pub const IMPORT_NAMES: &[&str] = &[$(stringify!($name)),*];

        fn link_table(linker: &mut Linker<ApiContext>) -> Result<()> {
            $(
                linker.func_wrap(
                    "ic0",
                    stringify!($name),
                    |mut $c: C, $($arg: $ty),*| -> Result<ic0_table!(@ret $($ret)?)> {
                        #[allow(unused_variables)]
                        let $n: &'static str = stringify!($name);
                        enter(&mut $c, $n, $ctx)?;
                        $body
                    },
                )?;
            )*
            Ok(())
        }
    };
    (@ret) => { () };
    (@ret $ret:ty) => { $ret };
}

/// Registers every import of [`IMPORTS`] on `linker`.
pub fn link(linker: &mut Linker<ApiContext>) -> Result<()> {
    link_table(linker)
}

ic0_table! {
    msg_arg_data_size() -> i32, I | U | RQ | NRQ | CQ | RY | F, |c, name| {
        Ok(size_i32(c.data().arg.len()))
    }
    msg_arg_data_copy(d: i32, o: i32, s: i32), I | U | RQ | NRQ | CQ | RY | F, |c, name| {
        copy_blob(&mut c, name, (d, o, s), |x| &x.arg)
    }
    msg_caller_size() -> i32, ALL, |c, name| {
        Ok(size_i32(c.data().caller.as_slice().len()))
    }
    msg_caller_copy(d: i32, o: i32, s: i32), ALL, |c, name| {
        copy_blob(&mut c, name, (d, o, s), |x| {
            x.caller.as_slice()
        })
    }
    msg_caller_info_data_size() -> i32, U | RQ | NRQ | CQ | RY | RT | C | F, |c, name| {
        Ok(0) // no caller info: the emulator has no delegations
    }
    msg_caller_info_signer_size() -> i32, U | RQ | NRQ | CQ | RY | RT | C | F, |c, name| {
        Ok(0) // no caller info: the emulator has no delegations
    }
    msg_caller_info_data_copy(d: i32, o: i32, s: i32), U | RQ | NRQ | CQ | RY | RT | C | F, |c, name| {
        copy_blob(&mut c, name, (d, o, s), |_| &[])
    }
    msg_caller_info_signer_copy(d: i32, o: i32, s: i32), U | RQ | NRQ | CQ | RY | RT | C | F, |c, name| {
        copy_blob(&mut c, name, (d, o, s), |_| &[])
    }
    msg_reject_code() -> i32, RY | RT | C, |c, name| {
        Ok(c.data().reject_code as i32)
    }
    msg_reject_msg_size() -> i32, RT, |c, name| {
        Ok(size_i32(c.data().reject_message.len()))
    }
    msg_reject_msg_copy(d: i32, o: i32, s: i32), RT, |c, name| {
        copy_blob(&mut c, name, (d, o, s), |x| {
            x.reject_message.as_bytes()
        })
    }
    msg_deadline() -> i64, U | RQ | NRQ | CQ | RY | RT, |c, name| {
        Ok(c.data().deadline as i64)
    }
    msg_reply_data_append(src: i32, size: i32), REPLY_CTX, |c, name| {
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
        let bytes = read(&mut c, name, src as u32 as u64, size as u32 as u64)?;
        c.data_mut().reply_buf.extend_from_slice(&bytes);
        Ok(())
    }
    msg_reply(), REPLY_CTX, |c, name| {
        let data = std::mem::take(&mut c.data_mut().reply_buf);
        respond(&mut c, name, Response::Reply(data))
    }
    msg_reject(src: i32, size: i32), REPLY_CTX, |c, name| {
        let message = text(&mut c, name, src, size)?;
        respond(&mut c, name, Response::Reject(message))
    }
    msg_cycles_available128(dst: i32), U | RQ | RY | RT, |c, name| {
        let v = c.data().cycles_available - c.data().cycles_accepted;
        write_u128(&mut c, name, dst, v)
    }
    msg_cycles_refunded128(dst: i32), RY | RT, |c, name| {
        let v = c.data().cycles_refunded;
        write_u128(&mut c, name, dst, v)
    }
    msg_cycles_accept128(high: i64, low: i64, dst: i32), U | RQ | RY | RT, |c, name| {
        let ctx = c.data_mut();
        let n = amount(high, low).min(ctx.cycles_available - ctx.cycles_accepted);
        ctx.cycles_accepted += n;
        ctx.balance = ctx.balance.saturating_add(n);
        write_u128(&mut c, name, dst, n)
    }
    cycles_burn128(high: i64, low: i64, dst: i32), I | G | U | RQ | RY | RT | C | T, |c, name| {
        let ctx = c.data_mut();
        let n = amount(high, low).min(ctx.liquid_balance());
        ctx.balance -= n;
        write_u128(&mut c, name, dst, n)
    }
    canister_cycle_balance128(dst: i32), ALL, |c, name| {
        let v = c.data().balance;
        write_u128(&mut c, name, dst, v)
    }
    canister_liquid_cycle_balance128(dst: i32), ALL, |c, name| {
        let v = c.data().liquid_balance();
        write_u128(&mut c, name, dst, v)
    }
    mint_cycles128(_h: i64, _l: i64, _d: i32), U | RY | RT, |c, name| {
        Err(unsupported(name))
    }
    canister_self_size() -> i32, ALL, |c, name| {
        Ok(size_i32(c.data().canister_id.as_slice().len()))
    }
    canister_self_copy(d: i32, o: i32, s: i32), ALL, |c, name| {
        copy_blob(&mut c, name, (d, o, s), |x| {
            x.canister_id.as_slice()
        })
    }
    canister_status() -> i32, ALL, |c, name| {
        Ok(c.data().status as i32)
    }
    canister_version() -> i64, ALL, |c, name| {
        Ok(c.data().canister_version as i64)
    }
    subnet_self_size() -> i32, ALL, |c, name| {
        Ok(size_i32(c.data().subnet_id.as_slice().len()))
    }
    subnet_self_copy(d: i32, o: i32, s: i32), ALL, |c, name| {
        copy_blob(&mut c, name, (d, o, s), |x| {
            x.subnet_id.as_slice()
        })
    }
    msg_method_name_size() -> i32, F, |c, name| {
        Ok(size_i32(c.data().method_name.len()))
    }
    msg_method_name_copy(d: i32, o: i32, s: i32), F, |c, name| {
        copy_blob(&mut c, name, (d, o, s), |x| {
            x.method_name.as_bytes()
        })
    }
    accept_message(), F, |c, name| {
        if std::mem::replace(&mut c.data_mut().accepted_message, true) {
            return Err(trap(
                ErrorCode::CanisterContractViolation,
                "ic0.accept_message: called twice",
            ));
        }
        Ok(())
    }
    call_new(callee_src: i32,
         callee_size: i32,
         name_src: i32,
         name_size: i32,
         reply_fun: i32,
         reply_env: i32,
         reject_fun: i32,
         reject_env: i32), CALL_CTX, |c, name| {
        let callee = principal(&mut c, name, callee_src, callee_size)?;
        let method = text(&mut c, name, name_src, name_size)?;
        let ctx = c.data_mut();
        if let Some(old) = ctx.pending_call.take() {
            ctx.balance = ctx.balance.saturating_add(old.cycles); // a discarded call gives its cycles back
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
    }
    call_on_cleanup(fun: i32, env: i32), CALL_CTX, |c, name| {
        let call = pending(&mut c, name)?;
        if call.cleanup.is_some() {
            return Err(trap(
                ErrorCode::CanisterContractViolation,
                "ic0.call_on_cleanup: cleanup already set",
            ));
        }
        call.cleanup = Some((fun as u32, env as u32));
        Ok(())
    }
    call_data_append(src: i32, size: i32), CALL_CTX, |c, name| {
        pending(&mut c, name)?;
        let bytes = read(
            &mut c,
            name,
            src as u32 as u64,
            size as u32 as u64,
        )?;
        let call = pending(&mut c, name)?;
        if call.payload.len() + bytes.len() > limits::MAX_LOCAL_REQUEST {
            return Err(trap(
                ErrorCode::CanisterTrapped,
                "ic0.call_data_append: the payload exceeds 10 MiB",
            ));
        }
        call.payload.extend_from_slice(&bytes);
        Ok(())
    }
    call_with_best_effort_response(timeout: i32), CALL_CTX, |c, name| {
        let call = pending(&mut c, name)?;
        if call.timeout_seconds.is_some() {
            return Err(trap(
                ErrorCode::CanisterContractViolation,
                "ic0.call_with_best_effort_response: timeout already set",
            ));
        }
        call.timeout_seconds =
            Some((timeout as u32 as u64).min(limits::MAX_CALL_TIMEOUT_SECONDS));
        Ok(())
    }
    call_cycles_add128(high: i64, low: i64), U | RY | RT | T, |c, name| {
        pending(&mut c, name)?;
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
    }
    call_perform() -> i32, CALL_CTX, |c, name| {
        call_perform(&mut c)
    }
    stable64_size() -> i64, ALL_S, |c, name| {
        Ok(c.data().stable_pages as i64)
    }
    stable64_grow(pages: i64) -> i64, ALL_S, |c, name| {
        Ok(stable_grow(&mut c, pages as u64, limits::MAX_STABLE_PAGES) as i64)
    }
    stable64_write(offset: i64, src: i64, size: i64), ALL_S, |c, name| {
        stable_write(
            &mut c,
            name,
            offset as u64,
            src as u64,
            size as u64,
        )
    }
    stable64_read(dst: i64, offset: i64, size: i64), ALL_S, |c, name| {
        stable_read(
            &mut c,
            name,
            dst as u64,
            offset as u64,
            size as u64,
        )
    }
    stable_size() -> i32, ALL_S, |c, name| {
        let pages = c.data().stable_pages;
        if pages > u32::MAX as u64 / limits::STABLE_PAGE {
            return Err(trap(
                ErrorCode::CanisterTrapped,
                "ic0.stable_size: stable memory exceeds 4 GiB",
            ));
        }
        Ok(pages as i32)
    }
    stable_grow(pages: i32) -> i32, ALL_S, |c, name| {
        Ok(stable_grow(&mut c, pages as u32 as u64, 65_536) as i32)
    }
    stable_write(offset: i32, src: i32, size: i32), ALL_S, |c, name| {
        stable_write(
            &mut c,
            name,
            offset as u32 as u64,
            src as u32 as u64,
            size as u32 as u64,
        )
    }
    stable_read(dst: i32, offset: i32, size: i32), ALL_S, |c, name| {
        stable_read(
            &mut c,
            name,
            dst as u32 as u64,
            offset as u32 as u64,
            size as u32 as u64,
        )
    }
    root_key_size() -> i32, I | G | U | RQ | RY | RT | C | T, |c, name| {
        Ok(size_i32(c.data().root_key.len()))
    }
    root_key_copy(d: i32, o: i32, s: i32), I | G | U | RQ | RY | RT | C | T, |c, name| {
        copy_blob(&mut c, name, (d, o, s), |x| &x.root_key)
    }
    certified_data_set(src: i32, size: i32), I | G | U | RY | RT | T, |c, name| {
        if size as u32 as usize > limits::MAX_CERTIFIED_DATA {
            return Err(trap(
                ErrorCode::CanisterTrapped,
                "ic0.certified_data_set: more than 32 bytes",
            ));
        }
        let bytes = read(
            &mut c,
            name,
            src as u32 as u64,
            size as u32 as u64,
        )?;
        c.data_mut().certified_data = bytes;
        Ok(())
    }
    data_certificate_present() -> i32, ALL, |c, name| {
        Ok(0) // the emulator issues no certificates
    }
    data_certificate_size() -> i32, NRQ | CQ, |c, name| {
        Err(unsupported(name))
    }
    data_certificate_copy(_d: i32, _o: i32, _s: i32), NRQ | CQ, |c, name| {
        Err(unsupported(name))
    }
    time() -> i64, ALL, |c, name| {
        Ok(c.data().time as i64)
    }
    global_timer_set(t: i64) -> i64, I | G | U | RY | RT | C | T, |c, name| {
        Ok(std::mem::replace(&mut c.data_mut().global_timer, t as u64) as i64)
    }
    performance_counter(counter: i32) -> i64, ALL_S, |c, name| {
        performance_counter(&mut c, counter)
    }
    is_controller(src: i32, size: i32) -> i32, ALL_S, |c, name| {
        let p = principal(&mut c, name, src, size)?;
        Ok(c.data().controllers.contains(&p) as i32)
    }
    in_replicated_execution() -> i32, ALL_S, |c, name| {
        Ok(c.data().kind.replicated() as i32)
    }
    cost_call(method: i64, payload: i64, dst: i32), ALL_S, |c, name| {
        write_u128(
            &mut c,
            name,
            dst,
            cycles::cost_call(method as u64, payload as u64),
        )
    }
    cost_create_canister(dst: i32), ALL_S, |c, name| {
        write_u128(
            &mut c,
            name,
            dst,
            cycles::CREATE_CANISTER_FEE,
        )
    }
    cost_http_request(req: i64, max_res: i64, dst: i32), ALL_S, |c, name| {
        write_u128(
            &mut c,
            name,
            dst,
            cycles::cost_http_request(req as u64, max_res as u64),
        )
    }
    cost_sign_with_ecdsa(s: i32, n: i32, curve: i32, d: i32) -> i32, ALL_S, |c, name| {
        cost_threshold(&mut c, name, (s, n, curve, d), 1)
    }
    cost_sign_with_schnorr(s: i32, n: i32, alg: i32, d: i32) -> i32, ALL_S, |c, name| {
        cost_threshold(&mut c, name, (s, n, alg, d), 2)
    }
    cost_vetkd_derive_key(s: i32, n: i32, curve: i32, d: i32) -> i32, ALL_S, |c, name| {
        cost_threshold(&mut c, name, (s, n, curve, d), 1)
    }
    cost_vetkd_derive_encrypted_key(s: i32, n: i32, curve: i32, d: i32) -> i32, ALL_S, |c, name| {
        cost_threshold(&mut c, name, (s, n, curve, d), 1)
    }
    env_var_count() -> i32, ALL, |c, name| {
        Ok(size_i32(c.data().env_vars.len()))
    }
    env_var_name_size(index: i32) -> i32, ALL, |c, name| {
        let i = env_index(&c, name, index)?;
        Ok(size_i32(c.data().env_vars[i].0.len()))
    }
    env_var_name_copy(index: i32, d: i32, o: i32, s: i32), ALL, |c, name| {
        let i = env_index(&c, name, index)?;
        copy_blob(&mut c, name, (d, o, s), move |x| {
            x.env_vars[i].0.as_bytes()
        })
    }
    env_var_name_exists(src: i32, size: i32) -> i32, ALL, |c, name| {
        let var = env_name_arg(&mut c, name, src, size)?;
        Ok(env_value(c.data(), &var).is_some() as i32)
    }
    env_var_value_size(src: i32, size: i32) -> i32, ALL, |c, name| {
        let var = env_name_arg(&mut c, name, src, size)?;
        env_value(c.data(), &var)
            .map(|v| size_i32(v.len()))
            .ok_or_else(|| {
                trap(
                    ErrorCode::CanisterTrapped,
                    format!("ic0.env_var_value_size: no variable `{var}`"),
                )
            })
    }
    env_var_value_copy(src: i32, size: i32, d: i32, o: i32, s: i32), ALL, |c, name| {
        let var = env_name_arg(&mut c, name, src, size)?;
        if env_value(c.data(), &var).is_none() {
            return Err(trap(
                ErrorCode::CanisterTrapped,
                format!("ic0.env_var_value_copy: no variable `{var}`"),
            ));
        }
        copy_blob(&mut c, name, (d, o, s), move |x| {
            env_value(x, &var).unwrap_or_default().as_bytes()
        })
    }
    debug_print(src: i32, size: i32), ALL_S, |c, name| {
        // Never traps, even on bad pointers.
        let line = match read(&mut c, name, src as u32 as u64, size as u32 as u64) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => "(debug_print: invalid memory range)".to_string(),
        };
        c.data_mut().debug_log.push(line);
        Ok(())
    }
    trap(src: i32, size: i32), ALL_S, |c, name| {
        let message = match read(&mut c, name, src as u32 as u64, size as u32 as u64) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => "(trap message out of bounds)".to_string(),
        };
        Err(trap(
            ErrorCode::CanisterCalledTrap,
            format!("Canister called `ic0.trap` with message: '{message}'"),
        ))
    }
    msg_cycles_available() -> i64, U | RQ | RY | RT, |c, name| {
        let ctx = c.data();
        Ok((ctx.cycles_available - ctx.cycles_accepted).min(u64::MAX as u128) as i64)
    }
    msg_cycles_refunded() -> i64, RY | RT, |c, name| {
        Ok(c.data().cycles_refunded.min(u64::MAX as u128) as i64)
    }
    msg_cycles_accept(max: i64) -> i64, U | RQ | RY | RT, |c, name| {
        let ctx = c.data_mut();
        let n = (max as u64 as u128).min(ctx.cycles_available - ctx.cycles_accepted);
        ctx.cycles_accepted += n;
        ctx.balance = ctx.balance.saturating_add(n);
        Ok(n as i64)
    }
    canister_cycle_balance() -> i64, ALL, |c, name| {
        let b = c.data().balance;
        if b > u64::MAX as u128 {
            return Err(trap(
                ErrorCode::CanisterTrapped,
                "ic0.canister_cycle_balance: the balance exceeds 64 bits",
            ));
        }
        Ok(b as i64)
    }
    call_cycles_add(n: i64), U | RY | RT | T, |c, name| {
        pending(&mut c, name)?;
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
    }
    mint_cycles(_n: i64) -> i64, U | RY | RT, |c, name| {
        Err(unsupported(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_each_import_once_with_its_contexts() {
        let mut names: Vec<&str> = IMPORT_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), IMPORTS.len(), "an import is listed twice");
        let get = |n: &str| IMPORTS.iter().find(|i| i.name == n).expect("listed");
        assert_eq!(get("msg_reply").contexts, REPLY_CTX);
        assert_eq!(get("call_perform").contexts, CALL_CTX);
        assert_eq!(get("stable64_read").signature, "(i64, i64, i64)");
        assert_eq!(get("canister_version").signature, "() -> i64");
        assert!(IMPORTS
            .iter()
            .all(|i| i.contexts & !ALL_S == 0 && i.contexts != 0));
    }
}
