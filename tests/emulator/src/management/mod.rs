//! The management canister `aaaaa-aa` (digest §4), executed by the emulator
//! when a call to it is delivered.

mod chunks;
mod install;
mod lifecycle;
mod sender_version;
mod snapshots;
mod status;

pub(crate) use install::InstallRequest;

use crate::error::{CallResult, RejectResponse};
use crate::state::calls::ReplyTo;
use crate::state::canister::Canister;
use crate::state::StateMachine;
use candid::utils::ArgumentDecoder;
use candid::{CandidType, Principal};
use ic_error_types::ErrorCode;
use ic_management_canister_types::{ChangeOrigin, FromCanisterRecord, FromUserRecord};

/// A call to the management canister, from a canister or a user.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct MgmtCall {
    pub sender: Principal,
    pub from_canister: bool,
    /// Made by the test driver (`Emulator`'s own methods), not queued by a
    /// message: see `crate::subnet` for how it waits its turn.
    #[serde(default)]
    pub driver: bool,
    pub method: String,
    pub arg: Vec<u8>,
    pub cycles: u128,
    pub reply_to: ReplyTo,
    /// The calling canister's version when it sent the call (`None` for ingress).
    pub sender_version: Option<u64>,
    /// The subnet whose management canister handles the call, when the
    /// caller chose it (`create_canister_on_subnet`, the CMC double);
    /// otherwise it follows from the call (`crate::subnet::topology`).
    #[serde(default)]
    pub subnet: Option<Principal>,
}

/// What a method produced: a result now, or a reply later (stop_canister).
pub(crate) enum Outcome {
    Done(CallResult),
    Deferred,
}

pub(crate) fn decode<T: for<'a> ArgumentDecoder<'a>>(arg: &[u8]) -> Result<T, RejectResponse> {
    candid::decode_args(arg).map_err(|e| {
        RejectResponse::new(
            ErrorCode::InvalidManagementPayload,
            format!("Error decoding candid: {e}"),
        )
    })
}

pub(crate) fn reply<T: CandidType>(value: &T) -> CallResult {
    Ok(candid::encode_one(value).expect("management replies always encode"))
}

pub(crate) fn empty_reply() -> CallResult {
    reply(&())
}

fn invalid_controller(canister: &Canister, sender: &Principal) -> RejectResponse {
    let controllers: Vec<String> = canister.controllers().iter().map(|p| p.to_text()).collect();
    RejectResponse::new(
        ErrorCode::CanisterInvalidController,
        format!(
            "Only the controllers of the canister {} can control it.\nCanister's controllers: {}\nSender's ID: {sender}",
            canister.id,
            controllers.join(" ")
        ),
    )
}

impl StateMachine {
    /// The canister, if `sender` controls it.
    pub(crate) fn controlled(
        &mut self,
        id: &Principal,
        sender: &Principal,
    ) -> Result<&mut Canister, RejectResponse> {
        let c = self.canister_mut(id)?;
        if !c.is_controller(sender) {
            return Err(invalid_controller(c, sender));
        }
        Ok(c)
    }

    /// The canister, if `sender` controls it or is the canister itself.
    pub(crate) fn controlled_or_self(
        &mut self,
        id: &Principal,
        sender: &Principal,
    ) -> Result<&mut Canister, RejectResponse> {
        let c = self.canister_mut(id)?;
        if !c.is_controller(sender) && c.id != *sender {
            return Err(invalid_controller(c, sender));
        }
        Ok(c)
    }

    pub(crate) fn change_origin(
        call: &MgmtCall,
        sender_canister_version: Option<u64>,
    ) -> ChangeOrigin {
        if call.from_canister {
            ChangeOrigin::FromCanister(FromCanisterRecord {
                canister_id: call.sender,
                canister_version: sender_canister_version,
            })
        } else {
            ChangeOrigin::FromUser(FromUserRecord {
                user_id: call.sender,
            })
        }
    }

    /// Executes a management call now: its result and the cycles to refund,
    /// or `None` if it is answered later (stop_canister). The subnet's
    /// admission and accounting are in `crate::subnet`.
    pub(crate) fn execute_management(&mut self, call: &MgmtCall) -> Option<(CallResult, u128)> {
        let mut cycles = call.cycles;
        let outcome = self.dispatch(call, &mut cycles);
        match outcome {
            Outcome::Done(result) => Some((result, cycles)),
            Outcome::Deferred => {
                // Attached cycles are not needed by a deferred method: give them back now.
                if let Some(c) = self.canisters.get_mut(&call.sender) {
                    c.cycles = c.cycles.saturating_add(cycles);
                }
                None
            }
        }
    }

    fn dispatch(&mut self, call: &MgmtCall, cycles: &mut u128) -> Outcome {
        if let Err(reject) = sender_version::check(call) {
            return Outcome::Done(Err(reject));
        }
        const CANISTER_ONLY: [&str; 4] = [
            "create_canister",
            "raw_rand",
            "deposit_cycles",
            "canister_info",
        ];
        if !call.from_canister && CANISTER_ONLY.contains(&call.method.as_str()) {
            return Outcome::Done(Err(RejectResponse::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Only canisters can call ic00 method {}", call.method),
            )));
        }
        let result = match call.method.as_str() {
            "create_canister" => self.create_canister(call, cycles),
            "provisional_create_canister_with_cycles" => {
                self.provisional_create_canister(call, cycles)
            }
            "provisional_top_up_canister" => self.provisional_top_up(call),
            "update_settings" => self.update_settings(call),
            "install_code" => self.install_code(call),
            "install_chunked_code" => self.install_chunked_code(call),
            "uninstall_code" => self.uninstall_code(call),
            "upload_chunk" => self.upload_chunk(call),
            "clear_chunk_store" => self.clear_chunk_store(call),
            "stored_chunks" => self.stored_chunks(call),
            "canister_status" => self.canister_status_call(call),
            "canister_info" => self.canister_info(call),
            "start_canister" => self.start_canister(call),
            "stop_canister" => return self.stop_canister(call),
            "delete_canister" => self.delete_canister(call),
            "deposit_cycles" => self.deposit_cycles(call, cycles),
            "raw_rand" => self.raw_rand(call),
            "take_canister_snapshot" => self.take_snapshot(call),
            "load_canister_snapshot" => self.load_snapshot(call),
            "list_canister_snapshots" => self.list_snapshots(call),
            "delete_canister_snapshot" => self.delete_snapshot(call),
            other => Err(RejectResponse::new(
                ErrorCode::UnknownManagementMessage,
                format!("Management canister method `{other}` is not supported by the emulator"),
            )),
        };
        Outcome::Done(result)
    }
}
