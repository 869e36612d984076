//! install_code (install, reinstall, upgrade), install_chunked_code, uninstall_code.
//!
//! An install is atomic: pre_upgrade, start and init/post_upgrade run on copies
//! of the canister's state, and nothing is written back unless all succeed.

use super::{decode, empty_reply, MgmtCall};
use crate::engine::exec::{execute, Entry, ExecError, HeapState};
use crate::engine::{self, pages::PageMap, sha256};
use crate::error::{CallResult, RejectResponse};
use crate::scheduler::injected_trap;
use crate::state::calls::Origin;
use crate::state::canister::Canister;
use crate::state::StateMachine;
use crate::system_api::{ApiContext, ApiKind};
use crate::{cycles, limits};
use candid::Principal;
use ic_error_types::ErrorCode;
use ic_management_canister_types::{
    CanisterInstallMode, ChangeDetails, ChangeOrigin, CodeDeploymentMode, CodeDeploymentRecord,
    InstallChunkedCodeArgs, InstallCodeArgs, UninstallCodeArgs, WasmMemoryPersistence,
};

/// Everything an install needs.
#[derive(Clone, Debug)]
pub struct InstallRequest {
    pub mode: CanisterInstallMode,
    pub canister_id: Principal,
    pub wasm: Vec<u8>,
    pub arg: Vec<u8>,
    pub sender: Principal,
    pub origin: ChangeOrigin,
}

fn exec_reject(id: Principal, e: ExecError) -> RejectResponse {
    RejectResponse::from_canister(id, e.code, e.message)
}

fn bad_payload(msg: impl Into<String>) -> RejectResponse {
    RejectResponse::new(ErrorCode::InvalidManagementPayload, msg)
}

/// The replica's reject for an install the canister cannot pay for
/// (`CanisterManagerError::InstallCodeNotEnoughCycles`, dfinity/ic
/// `rs/execution_environment/src/canister_manager/types.rs`): IC0207, SYS_TRANSIENT.
fn out_of_cycles(id: Principal, requested: u128, balance: u128, freezing: u128) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterOutOfCycles,
        format!(
            "Canister installation failed with `Canister {id} is out of cycles: requested {requested} cycles but the available balance is {balance} cycles and the freezing threshold {freezing} cycles`."
        ),
    )
}

impl StateMachine {
    /// A canister must be able to pay for the longest install before it runs
    /// (spec abstract behavior "Code installation"/"Code upgrade":
    /// `liquid_balance(S) ≥ MAX_CYCLES_PER_MESSAGE`; the replica prepays the
    /// execution of `max_instructions_per_install_code`), so a frozen canister,
    /// or one that would become frozen, is never installed.
    fn check_install_cycles(&self, c: &Canister) -> Result<(), RejectResponse> {
        let requested = cycles::execution_fee(self.instruction_limits.install);
        let freezing = c.freezing_limit();
        if c.cycles < freezing.saturating_add(requested) {
            return Err(out_of_cycles(c.id, requested, c.cycles, freezing));
        }
        Ok(())
    }

    fn install_context(
        &self,
        id: Principal,
        kind: ApiKind,
        sender: Principal,
        arg: Vec<u8>,
    ) -> ApiContext {
        let mut ctx = self.api_context(id, kind, None, arg, Default::default());
        ctx.caller = sender;
        ctx
    }

    /// Installs, reinstalls or upgrades; the caller has checked the sender is a controller.
    pub fn install(&mut self, req: InstallRequest) -> Result<(), RejectResponse> {
        let id = req.canister_id;
        let module = engine::load(&req.wasm).map_err(|e| {
            RejectResponse::from_canister(
                id,
                ErrorCode::CanisterInvalidWasm,
                format!("Canister's Wasm module is not valid: {}", e.0),
            )
        })?;
        let c = self.canister(&id)?;
        self.check_install_cycles(c)?;
        let mut fuel = self.instruction_limits.install;
        let mut used = 0;
        let mut ctx = self.install_context(id, ApiKind::Init, req.sender, req.arg.clone());
        let (mode, heap) = match req.mode {
            CanisterInstallMode::Install | CanisterInstallMode::Reinstall => {
                if req.mode == CanisterInstallMode::Install && c.heap.is_some() {
                    return Err(RejectResponse::new(
                        ErrorCode::CanisterNonEmpty,
                        format!("Canister {id} cannot be installed because the canister is not empty. Try installing with mode='reinstall' instead."),
                    ));
                }
                ctx.stable = PageMap::default();
                ctx.stable_pages = 0;
                ctx.certified_data = Vec::new();
                let mode = if req.mode == CanisterInstallMode::Install {
                    CodeDeploymentMode::Install
                } else {
                    CodeDeploymentMode::Reinstall
                };
                (mode, HeapState::fresh(module.clone()))
            }
            CanisterInstallMode::Upgrade(flags) => {
                let Some(old) = c.heap.clone() else {
                    return Err(RejectResponse::from_canister(
                        id,
                        ErrorCode::CanisterWasmModuleNotFound,
                        "Attempted to upgrade a canister that contains no Wasm module.",
                    ));
                };
                let flags = flags.unwrap_or_default();
                let keep = flags.wasm_memory_persistence == Some(WasmMemoryPersistence::Keep);
                if keep && !module.enhanced_orthogonal_persistence() {
                    return Err(bad_payload("wasm_memory_persistence = keep requires a module with enhanced orthogonal persistence"));
                }
                if old.module.enhanced_orthogonal_persistence()
                    && flags.wasm_memory_persistence.is_none()
                {
                    return Err(bad_payload("Missing upgrade option: enhanced orthogonal persistence requires `wasm_memory_persistence`"));
                }
                if !flags.skip_pre_upgrade.unwrap_or(false)
                    && old.module.exports.has("canister_pre_upgrade")
                {
                    let pre_ctx =
                        self.install_context(id, ApiKind::PreUpgrade, req.sender, Vec::new());
                    let entries = [(
                        ApiKind::PreUpgrade,
                        Entry::Export("canister_pre_upgrade".into()),
                    )];
                    let mut exe = execute(&old, &entries, pre_ctx, fuel);
                    let lines = std::mem::take(&mut exe.ctx.debug_log);
                    self.log_lines(id, lines);
                    used += exe.instructions;
                    fuel -= exe.instructions;
                    exe.result.map_err(|e| exec_reject(id, e))?;
                    // What pre_upgrade left in stable memory, certified data and cycles carries over.
                    ctx.stable = exe.ctx.stable;
                    ctx.stable_pages = exe.ctx.stable_pages;
                    ctx.certified_data = exe.ctx.certified_data;
                    ctx.balance = exe.ctx.balance;
                }
                let heap = if keep {
                    HeapState {
                        module: module.clone(),
                        ..old
                    }
                } else {
                    HeapState::fresh(module.clone())
                };
                (CodeDeploymentMode::Upgrade, heap)
            }
        };
        let upgrade = mode == CodeDeploymentMode::Upgrade;
        let c = self.canister(&id)?;
        ctx.global_timer = 0;
        ctx.canister_version = c.version + 1; // init sees the new version
        let mut entries = Vec::new();
        if module.has_start {
            entries.push((
                ApiKind::Start,
                Entry::Export(engine::prepare::START_EXPORT.into()),
            ));
        }
        let init = if upgrade {
            "canister_post_upgrade"
        } else {
            "canister_init"
        };
        if module.exports.has(init) {
            entries.push((ApiKind::Init, Entry::Export(init.into())));
        }
        let c = self.canister_mut(&id)?;
        let injected = upgrade && std::mem::take(&mut c.faults.trap_next_post_upgrade);
        let mut exe = execute(&heap, &entries, ctx, fuel);
        let lines = std::mem::take(&mut exe.ctx.debug_log);
        self.log_lines(id, lines);
        used += exe.instructions;
        if injected {
            return Err(exec_reject(id, injected_trap()));
        }
        exe.result.map_err(|e| exec_reject(id, e))?;
        let time = self.time;
        let c = self.canister_mut(&id)?;
        let ctx = exe.ctx;
        let heap_bytes = exe.heap.as_ref().map_or(0, |h| h.heap_bytes());
        if c.wasm_memory_limit() != 0 && heap_bytes > c.wasm_memory_limit() {
            // A module whose initial memory already exceeds the limit (growth
            // past it traps at the grow, see `ApiContext::memory_growing`).
            let e =
                crate::system_api::wasm_memory_limit_exceeded(c.wasm_memory_limit(), heap_bytes);
            return Err(RejectResponse::from_canister(id, e.code, e.message));
        }
        // The install pays for its instructions and must leave the canister
        // above the freezing limit of the state it installs (spec: "traps if
        // the canister's cycle balance decreases below the canister's freezing
        // limit after executing the method").
        let balance = ctx.balance.saturating_sub(cycles::execution_fee(used));
        let limit = c.freezing_limit_for(c.memory_usage_with(exe.heap.as_ref(), ctx.stable_pages));
        if balance < limit {
            return Err(out_of_cycles(
                id,
                cycles::execution_fee(used),
                ctx.balance,
                limit,
            ));
        }
        c.heap = exe.heap;
        c.stable = ctx.stable;
        c.stable_pages = ctx.stable_pages;
        c.certified_data = ctx.certified_data;
        c.global_timer = ctx.global_timer;
        c.cycles = balance;
        c.version += 1;
        c.stats.last_install = used;
        let module_hash = sha256(&req.wasm).to_vec();
        c.add_change(
            time,
            req.origin,
            ChangeDetails::CodeDeployment(CodeDeploymentRecord { mode, module_hash }),
        );
        Ok(())
    }

    pub(crate) fn install_code(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (InstallCodeArgs,) = decode(&call.arg)?;
        self.controlled(&args.canister_id, &call.sender)?;
        self.install(InstallRequest {
            mode: args.mode,
            canister_id: args.canister_id,
            wasm: args.wasm_module,
            arg: args.arg,
            sender: call.sender,
            origin: Self::change_origin(call, args.sender_canister_version),
        })?;
        empty_reply()
    }

    pub(crate) fn install_chunked_code(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (InstallChunkedCodeArgs,) = decode(&call.arg)?;
        let target = args.target_canister;
        self.controlled(&target, &call.sender)?;
        let store_id = args.store_canister.unwrap_or(target);
        // The store must be on the target's subnet: the target subnet's
        // management canister does not find a canister of another subnet's
        // (an inference: the replica looks the store up in its own state).
        if self.subnet_index(&store_id) != self.subnet_index(&target) {
            return Err(crate::state::not_found(&store_id));
        }
        // The sender must control the store, or be the store itself.
        let store = self.controlled_or_self(&store_id, &call.sender)?;
        if args.chunk_hashes_list.len() > limits::MAX_CHUNKS {
            return Err(bad_payload("too many chunks"));
        }
        let mut wasm = Vec::new();
        for hash in args.chunk_hashes_list.iter().map(|h| &h.hash) {
            let key: Option<[u8; 32]> = hash.as_slice().try_into().ok();
            let chunk = key.and_then(|k| store.chunk_store.get(&k)).ok_or_else(|| {
                bad_payload(format!(
                    "Wasm chunk with hash {} not found in the chunk store of {store_id}",
                    hex::encode(hash)
                ))
            })?;
            wasm.extend_from_slice(chunk);
        }
        let actual = sha256(&wasm);
        if actual.as_slice() != args.wasm_module_hash.as_slice() {
            return Err(bad_payload(format!(
                "Wasm module hash {} does not match the given hash {}",
                hex::encode(actual),
                hex::encode(&args.wasm_module_hash)
            )));
        }
        self.install(InstallRequest {
            mode: args.mode,
            canister_id: target,
            wasm,
            arg: args.arg,
            sender: call.sender,
            origin: Self::change_origin(call, args.sender_canister_version),
        })?;
        empty_reply()
    }

    /// Empties the canister and rejects every call context still waiting for a response.
    pub fn uninstall(&mut self, id: Principal, origin: ChangeOrigin) -> Result<(), RejectResponse> {
        let time = self.time;
        let c = self.canister_mut(&id)?;
        c.heap = None;
        c.stable = PageMap::default();
        c.stable_pages = 0;
        c.certified_data.clear();
        c.global_timer = 0;
        c.chunk_store.clear();
        let mut rejects = Vec::new();
        for cc in c.call_contexts.values_mut() {
            if cc.origin.needs_response() && !cc.responded {
                rejects.push((
                    cc.origin.reply_to(),
                    std::mem::take(&mut cc.available_cycles),
                ));
                cc.responded = true;
            }
            cc.deleted = true;
        }
        c.call_contexts
            .retain(|_, cc| cc.outstanding > 0 || cc.origin == Origin::Phantom);
        c.version += 1;
        c.add_change(time, origin, ChangeDetails::CodeUninstall);
        for (to, refund) in rejects {
            let reject = RejectResponse::new(
                ErrorCode::CanisterRejectedMessage,
                "Canister has been uninstalled.",
            );
            self.send_response(to, id, Err(reject), refund);
        }
        Ok(())
    }

    pub(crate) fn uninstall_code(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (UninstallCodeArgs,) = decode(&call.arg)?;
        self.controlled(&args.canister_id, &call.sender)?;
        self.uninstall(
            args.canister_id,
            Self::change_origin(call, args.sender_canister_version),
        )?;
        empty_reply()
    }
}
