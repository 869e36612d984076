//! Creating, configuring, starting, stopping and deleting canisters; cycles and randomness.

use super::{decode, empty_reply, reply, MgmtCall, Outcome};
use crate::cycles;
use crate::error::{CallResult, RejectResponse};
use crate::limits;
use crate::state::calls::StopRequest;
use crate::state::canister::{default_settings, nat_u128, nat_u64, Canister, Status};
use crate::state::StateMachine;
use candid::{Nat, Principal};
use ic_error_types::ErrorCode;
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInfoArgs, CanisterInfoResult, CanisterSettings, ChangeDetails,
    ChangeOrigin, ControllersChangeRecord, CreateCanisterArgs, CreationRecord,
    DefiniteCanisterSettings, ProvisionalCreateCanisterWithCyclesArgs,
    ProvisionalTopUpCanisterArgs, UpdateSettingsArgs,
};

fn invalid_settings(msg: impl Into<String>) -> RejectResponse {
    RejectResponse::new(ErrorCode::InvalidManagementPayload, msg)
}

/// Applies the fields present in `new`; returns whether the controllers changed.
pub(crate) fn apply_settings(
    settings: &mut DefiniteCanisterSettings,
    new: &CanisterSettings,
) -> Result<bool, RejectResponse> {
    if let Some(c) = &new.controllers {
        if c.len() > limits::MAX_CONTROLLERS {
            return Err(invalid_settings(format!(
                "Invalid settings: at most {} controllers are allowed",
                limits::MAX_CONTROLLERS
            )));
        }
    }
    if let Some(a) = &new.compute_allocation {
        if nat_u64(a) > 100 {
            return Err(invalid_settings(
                "Invalid settings: compute_allocation must be in 0..=100",
            ));
        }
    }
    if let Some(f) = &new.freezing_threshold {
        if nat_u128(f) > u64::MAX as u128 {
            return Err(invalid_settings(
                "Invalid settings: freezing_threshold must fit in 64 bits",
            ));
        }
    }
    if let Some(vars) = &new.environment_variables {
        if vars.len() > limits::MAX_ENV_VARS
            || vars.iter().any(|v| {
                v.name.len() > limits::MAX_ENV_VAR_LEN || v.value.len() > limits::MAX_ENV_VAR_LEN
            })
        {
            return Err(invalid_settings(
                "Invalid settings: too many or too long environment variables",
            ));
        }
    }
    let mut controllers_changed = false;
    if let Some(c) = &new.controllers {
        let mut unique: Vec<Principal> = Vec::new();
        for p in c {
            if !unique.contains(p) {
                unique.push(*p);
            }
        }
        settings.controllers = unique;
        controllers_changed = true;
    }
    macro_rules! copy {
        ($($field:ident),*) => { $( if let Some(v) = &new.$field { settings.$field = v.clone(); } )* };
    }
    copy!(
        compute_allocation,
        memory_allocation,
        freezing_threshold,
        reserved_cycles_limit,
        minimum_incoming_canister_call_cycles,
        log_visibility,
        log_memory_limit,
        snapshot_visibility,
        status_visibility,
        wasm_memory_limit,
        wasm_memory_threshold,
        environment_variables
    );
    Ok(controllers_changed)
}

impl StateMachine {
    /// Creates a canister with `settings` (controllers default to `[creator]`).
    pub(crate) fn new_canister(
        &mut self,
        subnet: usize,
        id: Option<Principal>,
        creator: Principal,
        settings: Option<&CanisterSettings>,
        balance: u128,
        origin: ChangeOrigin,
    ) -> Result<Principal, RejectResponse> {
        let mut definite = default_settings(vec![creator]);
        if let Some(s) = settings {
            apply_settings(&mut definite, s)?;
        }
        let id = match id {
            Some(id) if self.canisters.contains_key(&id) || self.deleted.contains(&id) => {
                return Err(RejectResponse::new(
                    ErrorCode::CanisterIdAlreadyExists,
                    format!("Canister {id} is already installed"),
                ));
            }
            Some(id) => id,
            None => self.fresh_canister_id(subnet).ok_or_else(|| {
                RejectResponse::new(
                    ErrorCode::MaxNumberOfCanistersReached,
                    "Canister creation failed: the subnet's canister-id range is exhausted.",
                )
            })?,
        };
        let mut c = Canister::new(id, definite, balance);
        let controllers = c.settings.controllers.clone();
        c.add_change(
            self.time,
            origin,
            ChangeDetails::Creation(CreationRecord {
                controllers,
                environment_variables_hash: None,
            }),
        );
        self.canisters.insert(id, c);
        Ok(id)
    }

    pub(crate) fn create_canister(&mut self, call: &MgmtCall, cycles: &mut u128) -> CallResult {
        let (args,): (Option<CreateCanisterArgs>,) = decode(&call.arg)?;
        let args = args.unwrap_or_default();
        if *cycles < cycles::CREATE_CANISTER_FEE {
            return Err(RejectResponse::new(
                ErrorCode::InsufficientCyclesForCreateCanister,
                format!(
                    "Creating a canister requires a fee of {} that is deducted from the canister's initial balance but only {} cycles were received with the create_canister request.",
                    cycles::CREATE_CANISTER_FEE,
                    *cycles
                ),
            ));
        }
        let origin = Self::change_origin(call, args.sender_canister_version);
        let balance = *cycles - cycles::CREATE_CANISTER_FEE;
        let subnet = self.management_subnet(call);
        let id = self.new_canister(
            subnet,
            None,
            call.sender,
            args.settings.as_ref(),
            balance,
            origin,
        )?;
        *cycles = 0;
        reply(&CanisterIdRecord { canister_id: id })
    }

    pub(crate) fn provisional_create_canister(
        &mut self,
        call: &MgmtCall,
        _cycles: &mut u128,
    ) -> CallResult {
        let (args,): (ProvisionalCreateCanisterWithCyclesArgs,) = decode(&call.arg)?;
        let balance = args
            .amount
            .as_ref()
            .map_or(cycles::DEFAULT_PROVISIONAL_CYCLES, nat_u128);
        let origin = Self::change_origin(call, args.sender_canister_version);
        let subnet = self.management_subnet(call);
        let id = self.new_canister(
            subnet,
            args.specified_id,
            call.sender,
            args.settings.as_ref(),
            balance,
            origin,
        )?;
        reply(&CanisterIdRecord { canister_id: id })
    }

    pub(crate) fn provisional_top_up(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (ProvisionalTopUpCanisterArgs,) = decode(&call.arg)?;
        let c = self.canister_mut(&args.canister_id)?;
        c.cycles = c.cycles.saturating_add(nat_u128(&args.amount));
        empty_reply()
    }

    pub(crate) fn update_settings(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (UpdateSettingsArgs,) = decode(&call.arg)?;
        let origin = Self::change_origin(call, args.sender_canister_version);
        let time = self.time;
        let c = self.controlled(&args.canister_id, &call.sender)?;
        let mut settings = c.settings.clone();
        let controllers_changed = apply_settings(&mut settings, &args.settings)?;
        c.settings = settings;
        c.version += 1;
        if controllers_changed {
            let controllers = c.settings.controllers.clone();
            c.add_change(
                time,
                origin,
                ChangeDetails::ControllersChange(ControllersChangeRecord { controllers }),
            );
        }
        empty_reply()
    }

    pub(crate) fn start_canister(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (CanisterIdRecord,) = decode(&call.arg)?;
        let c = self.controlled(&args.canister_id, &call.sender)?;
        c.status = Status::Running;
        c.version += 1;
        let cancelled = std::mem::take(&mut c.stop_requests);
        let id = c.id;
        let subnet = self.subnet_index(&id);
        for r in cancelled {
            let reject = RejectResponse::new(
                ErrorCode::CanisterStoppingCancelled,
                format!("Canister {id}'s stop request was cancelled."),
            );
            self.send_management_response(r.reply_to, subnet, Err(reject), 0);
        }
        empty_reply()
    }

    pub(crate) fn stop_canister(&mut self, call: &MgmtCall) -> Outcome {
        let args: (CanisterIdRecord,) = match decode(&call.arg) {
            Ok(a) => a,
            Err(e) => return Outcome::Done(Err(e)),
        };
        let time = self.time;
        let c = match self.controlled(&args.0.canister_id, &call.sender) {
            Ok(c) => c,
            Err(e) => return Outcome::Done(Err(e)),
        };
        // Every stop_canister bumps the version, whatever the status (spec
        // abstract behavior "Stopping a canister"); a stopped canister replies at once.
        c.version += 1;
        if c.status == Status::Stopped {
            return Outcome::Done(empty_reply());
        }
        c.status = Status::Stopping;
        // Answered once the canister has no open call context (end of round).
        c.stop_requests.push(StopRequest {
            reply_to: call.reply_to.clone(),
            requested_at: time,
        });
        Outcome::Deferred
    }

    pub(crate) fn delete_canister(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (CanisterIdRecord,) = decode(&call.arg)?;
        let id = args.canister_id;
        if id == call.sender {
            return Err(RejectResponse::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Canister {id} cannot delete itself"),
            ));
        }
        let c = self.controlled(&id, &call.sender)?;
        if c.status != Status::Stopped {
            return Err(RejectResponse::new(
                ErrorCode::CanisterNotStopped,
                format!("Canister {id} must be stopped before it is deleted."),
            ));
        }
        self.canisters.remove(&id);
        self.deleted.insert(id);
        empty_reply()
    }

    pub(crate) fn deposit_cycles(&mut self, call: &MgmtCall, cycles: &mut u128) -> CallResult {
        let (args,): (CanisterIdRecord,) = decode(&call.arg)?;
        let c = self.canister_mut(&args.canister_id)?;
        c.cycles = c.cycles.saturating_add(std::mem::take(cycles));
        empty_reply()
    }

    pub(crate) fn raw_rand(&mut self, call: &MgmtCall) -> CallResult {
        let () = decode(&call.arg)?;
        let bytes = self.random_bytes();
        reply(&serde_bytes::ByteBuf::from(bytes.to_vec()))
    }

    pub(crate) fn canister_info(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (CanisterInfoArgs,) = decode(&call.arg)?;
        let c = self.canister(&args.canister_id)?;
        let n = args.num_requested_changes.unwrap_or(0) as usize;
        let skip = c.history.len().saturating_sub(n);
        reply(&CanisterInfoResult {
            total_num_changes: c.total_changes,
            recent_changes: c.history.iter().skip(skip).cloned().collect(),
            module_hash: c.module_hash().map(|h| h.to_vec()),
            controllers: c.settings.controllers.clone(),
        })
    }
}

/// `Nat` helper for status replies.
pub(crate) fn nat(n: impl Into<u128>) -> Nat {
    Nat::from(n.into())
}
