//! The `ic0` System API: what a running message can see and do.
//!
//! [`ApiContext`] is the store data of one execution. Everything a message
//! changes outside its wasm instance (reply, outgoing calls, cycles, stable
//! memory, certified data, timer) is recorded here and only applied by the
//! scheduler if the message returns without trapping.

mod imports;

pub use imports::{link, Import, IMPORTS, IMPORT_NAMES};

use crate::engine::pages::PageMap;
use candid::Principal;
use ic_error_types::ErrorCode;
use std::collections::BTreeMap;

/// The execution context (digest §1.2 legend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiKind {
    /// The wasm `(start)` function (`s`).
    Start,
    /// `canister_init` / `canister_post_upgrade` (`I`).
    Init,
    /// `canister_pre_upgrade` (`G`).
    PreUpgrade,
    /// `canister_update` (`U`).
    Update,
    /// A query executed as an update or called by a canister (`RQ`).
    ReplicatedQuery,
    /// A query called by a user (`NRQ`).
    NonReplicatedQuery,
    /// A composite query called by a user (`CQ`).
    CompositeQuery,
    ReplyCallback,
    RejectCallback,
    Cleanup,
    /// Heartbeat, global timer (`T`).
    SystemTask,
    /// `canister_inspect_message` (`F`).
    InspectMessage,
}

pub(crate) mod ctx {
    pub const I: u32 = 1;
    pub const G: u32 = 1 << 1;
    pub const U: u32 = 1 << 2;
    pub const RQ: u32 = 1 << 3;
    pub const NRQ: u32 = 1 << 4;
    pub const CQ: u32 = 1 << 5;
    pub const RY: u32 = 1 << 6;
    pub const RT: u32 = 1 << 7;
    pub const C: u32 = 1 << 8;
    pub const T: u32 = 1 << 9;
    pub const F: u32 = 1 << 10;
    pub const S: u32 = 1 << 11;
    /// `*`: every context but `(start)`.
    pub const ALL: u32 = S - 1;
    /// `* s`.
    pub const ALL_S: u32 = ALL | S;
}

impl ApiKind {
    pub fn bit(self) -> u32 {
        match self {
            ApiKind::Start => ctx::S,
            ApiKind::Init => ctx::I,
            ApiKind::PreUpgrade => ctx::G,
            ApiKind::Update => ctx::U,
            ApiKind::ReplicatedQuery => ctx::RQ,
            ApiKind::NonReplicatedQuery => ctx::NRQ,
            ApiKind::CompositeQuery => ctx::CQ,
            ApiKind::ReplyCallback => ctx::RY,
            ApiKind::RejectCallback => ctx::RT,
            ApiKind::Cleanup => ctx::C,
            ApiKind::SystemTask => ctx::T,
            ApiKind::InspectMessage => ctx::F,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ApiKind::Start => "start",
            ApiKind::Init => "init",
            ApiKind::PreUpgrade => "pre_upgrade",
            ApiKind::Update => "update",
            ApiKind::ReplicatedQuery => "replicated query",
            ApiKind::NonReplicatedQuery => "non-replicated query",
            ApiKind::CompositeQuery => "composite query",
            ApiKind::ReplyCallback => "reply callback",
            ApiKind::RejectCallback => "reject callback",
            ApiKind::Cleanup => "cleanup",
            ApiKind::SystemTask => "system task",
            ApiKind::InspectMessage => "inspect message",
        }
    }

    pub fn replicated(self) -> bool {
        !matches!(
            self,
            ApiKind::NonReplicatedQuery | ApiKind::CompositeQuery | ApiKind::InspectMessage
        )
    }
}

/// The replica's error when a message grows the heap past `wasm_memory_limit`
/// (`HypervisorError::WasmMemoryLimitExceeded`, dfinity/ic
/// `rs/interfaces/src/execution_environment/errors.rs`): IC0539, CANISTER_ERROR.
pub fn wasm_memory_limit_exceeded(limit: u64, bytes: u64) -> HostTrap {
    HostTrap {
        code: ErrorCode::CanisterWasmMemoryLimitExceeded,
        message: format!(
            "Canister exceeded its current Wasm memory limit of {limit} bytes. The peak Wasm memory usage was {bytes} bytes. If the canister reaches 4GiB, then it may stop functioning and may become unrecoverable. Please reach out to the canister owner to investigate the reason for the increased memory usage. It might be necessary to move data from the Wasm memory to the stable memory. If such high Wasm memory usage is expected and safe, then the developer can increase the Wasm memory limit in the canister settings."
        ),
    }
}

/// `wasm_memory_limit` applies to update methods, init and post_upgrade (and
/// the `(start)` function they run with); queries, callbacks, system tasks and
/// pre_upgrade ignore it (spec `canister_settings`, `wasm_memory_limit`).
impl wasmtime::ResourceLimiter for ApiContext {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let enforced = matches!(self.kind, ApiKind::Update | ApiKind::Init | ApiKind::Start);
        let limit = self.wasm_memory_limit;
        if self.heap_limit_armed && enforced && limit != 0 && desired as u64 > limit {
            return Err(wasm_memory_limit_exceeded(limit, desired as u64).into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// A closure in the canister's table: `(function index, env)`.
pub type Closure = (u32, u32);

/// A call being assembled between `call_new` and `call_perform`.
#[derive(Clone, Debug)]
pub struct PendingCall {
    pub callee: Principal,
    pub method: String,
    pub payload: Vec<u8>,
    pub cycles: u128,
    pub reply: Closure,
    pub reject: Closure,
    pub cleanup: Option<Closure>,
    pub timeout_seconds: Option<u64>,
}

/// A call that `call_perform` accepted; sent only if the message commits.
#[derive(Clone, Debug)]
pub struct OutgoingCall {
    pub callee: Principal,
    pub method: String,
    pub payload: Vec<u8>,
    pub cycles: u128,
    pub reply: Closure,
    pub reject: Closure,
    pub cleanup: Option<Closure>,
    /// Bounded-wait deadline (virtual nanoseconds).
    pub deadline: Option<u64>,
}

/// The response a message produced for its call context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Reply(Vec<u8>),
    Reject(String),
}

/// Why a host function stopped the message.
#[derive(Clone, Debug)]
pub struct HostTrap {
    pub code: ErrorCode,
    pub message: String,
}

impl std::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostTrap {}

/// The store data of one execution.
pub struct ApiContext {
    pub kind: ApiKind,
    pub canister_id: Principal,
    pub caller: Principal,
    pub method_name: String,
    pub arg: Vec<u8>,
    /// 0 in reply callbacks; the reject code in reject callbacks and cleanup.
    pub reject_code: u32,
    pub reject_message: String,
    /// The call context still needs (and may give) a response.
    pub can_respond: bool,
    pub reply_buf: Vec<u8>,
    pub response: Option<Response>,
    pub cycles_available: u128,
    pub cycles_accepted: u128,
    pub cycles_refunded: u128,
    /// The working balance: attached and burnt cycles leave it at once.
    pub balance: u128,
    pub freezing_limit: u128,
    pub pending_call: Option<PendingCall>,
    pub outgoing: Vec<OutgoingCall>,
    /// Outstanding calls per callee before this message (queue capacity).
    pub outstanding: BTreeMap<Principal, usize>,
    pub queue_capacity: usize,
    pub stable: PageMap,
    pub stable_pages: u64,
    pub certified_data: Vec<u8>,
    pub global_timer: u64,
    pub time: u64,
    pub canister_version: u64,
    /// 1 running, 2 stopping, 3 stopped.
    pub status: u32,
    pub controllers: Vec<Principal>,
    pub deadline: u64,
    pub instruction_limit: u64,
    /// Instructions of the call context before this message (counter type 1).
    pub context_instructions: u64,
    pub env_vars: Vec<(String, String)>,
    pub accepted_message: bool,
    pub debug_log: Vec<String>,
    pub root_key: Vec<u8>,
    pub memory: Option<wasmtime::Memory>,
    /// `wasm_memory_limit` in bytes (0: none), enforced at `memory.grow`.
    pub wasm_memory_limit: u64,
    /// Set once the instance holds the canister's own heap: restoring it
    /// never counts as growth.
    pub heap_limit_armed: bool,
    /// The id of the subnet hosting the canister (`ic0.subnet_self`).
    pub subnet_id: Principal,
}

impl ApiContext {
    pub fn new(kind: ApiKind, canister_id: Principal, caller: Principal, time: u64) -> Self {
        ApiContext {
            kind,
            canister_id,
            caller,
            method_name: String::new(),
            arg: Vec::new(),
            reject_code: 0,
            reject_message: String::new(),
            can_respond: false,
            reply_buf: Vec::new(),
            response: None,
            cycles_available: 0,
            cycles_accepted: 0,
            cycles_refunded: 0,
            balance: 0,
            freezing_limit: 0,
            pending_call: None,
            outgoing: Vec::new(),
            outstanding: BTreeMap::new(),
            queue_capacity: crate::limits::QUEUE_CAPACITY,
            stable: PageMap::default(),
            stable_pages: 0,
            certified_data: Vec::new(),
            global_timer: 0,
            time,
            canister_version: 0,
            status: 1,
            controllers: Vec::new(),
            deadline: 0,
            instruction_limit: crate::limits::INSTRUCTIONS_PER_UPDATE,
            context_instructions: 0,
            env_vars: Vec::new(),
            accepted_message: false,
            debug_log: Vec::new(),
            root_key: Vec::new(),
            memory: None,
            wasm_memory_limit: 0,
            heap_limit_armed: false,
            subnet_id: *crate::ids::SUBNET_ID,
        }
    }

    /// Balance minus the freezing limit: what the canister may spend.
    pub fn liquid_balance(&self) -> u128 {
        self.balance.saturating_sub(self.freezing_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of digest §1.2 (the IC interface spec's System API imports).
    const SPEC_IMPORTS: &str = "msg_arg_data_size msg_arg_data_copy msg_caller_size msg_caller_copy \
        msg_caller_info_data_size msg_caller_info_data_copy msg_caller_info_signer_size msg_caller_info_signer_copy \
        msg_reject_code msg_reject_msg_size msg_reject_msg_copy msg_deadline msg_reply_data_append msg_reply msg_reject \
        msg_cycles_available128 msg_cycles_refunded128 msg_cycles_accept128 cycles_burn128 canister_self_size \
        canister_self_copy canister_cycle_balance128 canister_liquid_cycle_balance128 canister_status canister_version \
        subnet_self_size subnet_self_copy msg_method_name_size msg_method_name_copy accept_message call_new \
        call_on_cleanup call_data_append call_with_best_effort_response call_cycles_add128 call_perform stable64_size \
        stable64_grow stable64_write stable64_read root_key_size root_key_copy certified_data_set \
        data_certificate_present data_certificate_size data_certificate_copy time global_timer_set performance_counter \
        is_controller in_replicated_execution cost_call cost_create_canister cost_http_request cost_sign_with_ecdsa \
        cost_sign_with_schnorr cost_vetkd_derive_key env_var_count env_var_name_size env_var_name_copy \
        env_var_name_exists env_var_value_size env_var_value_copy debug_print trap \
        msg_cycles_available msg_cycles_refunded msg_cycles_accept canister_cycle_balance call_cycles_add \
        stable_size stable_grow stable_write stable_read";

    #[test]
    fn every_system_api_import_is_linked() {
        let engine = crate::engine::engine();
        let mut linker = wasmtime::Linker::new(engine);
        link(&mut linker).unwrap();
        let ctx = ApiContext::new(
            ApiKind::Update,
            Principal::anonymous(),
            Principal::anonymous(),
            0,
        );
        let mut store = wasmtime::Store::new(engine, ctx);
        for name in SPEC_IMPORTS.split_whitespace() {
            assert!(
                IMPORT_NAMES.contains(&name),
                "{name} is missing from IMPORT_NAMES"
            );
        }
        for name in IMPORT_NAMES {
            assert!(
                linker.get(&mut store, "ic0", name).is_some(),
                "ic0.{name} is not linked"
            );
        }
    }
}
