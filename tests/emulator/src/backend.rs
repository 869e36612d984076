//! One interface over the emulator and PocketIC, so a scenario is written once.
//!
//! [`IcBackend`] covers what the scenario suite needs: canisters, install and
//! upgrade, calls, rounds and time, status, stop/start, controllers, chunked
//! installs and snapshots. Types are the emulator's (management types from
//! `ic-management-canister-types` 0.11); the PocketIC adapter (feature
//! `pocket-ic`) converts them through Candid, which is structurally typed.

use crate::error::{CallResult, RejectResponse};
use crate::Emulator;
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::Principal;
use ic_management_canister_types::{CanisterInstallMode, CanisterSettings, CanisterStatusType};
use std::time::Duration;

/// What every backend reports of `canister_status` (the fields scenarios use).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSummary {
    pub status: CanisterStatusType,
    pub module_hash: Option<Vec<u8>>,
    pub controllers: Vec<Principal>,
    pub cycles: u128,
}

pub trait IcBackend {
    /// An ingress message submitted with [`IcBackend::submit_call`].
    type MessageId;

    /// "emulator" or "pocket-ic".
    fn backend_name(&self) -> &'static str;
    fn create_canister_with_settings(
        &self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
    ) -> Principal;
    /// The application subnets' ids (the emulator's default subnet first).
    fn application_subnets(&self) -> Vec<Principal>;
    fn create_canister_on_subnet(
        &self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        subnet: Principal,
    ) -> Principal;
    /// The subnet hosting the canister, if it exists.
    fn get_subnet(&self, canister_id: Principal) -> Option<Principal>;
    fn add_cycles(&self, canister_id: Principal, amount: u128) -> u128;
    fn cycle_balance(&self, canister_id: Principal) -> u128;
    fn install_canister(
        &self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    );
    fn upgrade_canister(
        &self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse>;
    fn reinstall_canister(
        &self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse>;
    fn update_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> CallResult;
    fn query_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> CallResult;
    fn submit_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Self::MessageId, RejectResponse>;
    fn await_call(&self, id: Self::MessageId) -> CallResult;
    fn tick(&self);
    fn advance_time(&self, duration: Duration);
    fn time_nanos(&self) -> u64;
    fn canister_status(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<StatusSummary, RejectResponse>;
    fn stop_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse>;
    fn start_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse>;
    fn delete_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse>;
    fn set_controllers(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        controllers: Vec<Principal>,
    ) -> Result<(), RejectResponse>;
    fn get_controllers(&self, canister_id: Principal) -> Vec<Principal>;
    fn upload_chunk(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        chunk: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse>;
    #[allow(clippy::too_many_arguments)]
    fn install_chunked_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        mode: CanisterInstallMode,
        store_canister: Principal,
        chunk_hashes: Vec<Vec<u8>>,
        wasm_module_hash: Vec<u8>,
        arg: Vec<u8>,
    ) -> Result<(), RejectResponse>;
    /// Returns the snapshot id.
    fn take_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        replace: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, RejectResponse>;
    fn load_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        snapshot_id: Vec<u8>,
    ) -> Result<(), RejectResponse>;
    /// Snapshot ids.
    fn list_canister_snapshots(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<Vec<Vec<u8>>, RejectResponse>;

    fn update_candid_as<I: ArgumentEncoder, O: for<'a> ArgumentDecoder<'a>>(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        input: I,
    ) -> Result<O, RejectResponse>
    where
        Self: Sized,
    {
        let bytes = self.update_call(
            canister_id,
            sender,
            method,
            candid::encode_args(input).expect("arguments encode"),
        )?;
        Ok(candid::decode_args(&bytes)
            .unwrap_or_else(|e| panic!("`{method}` replied with unexpected types: {e}")))
    }

    fn query_candid_as<I: ArgumentEncoder, O: for<'a> ArgumentDecoder<'a>>(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        input: I,
    ) -> Result<O, RejectResponse>
    where
        Self: Sized,
    {
        let bytes = self.query_call(
            canister_id,
            sender,
            method,
            candid::encode_args(input).expect("arguments encode"),
        )?;
        Ok(candid::decode_args(&bytes)
            .unwrap_or_else(|e| panic!("`{method}` replied with unexpected types: {e}")))
    }
}

impl IcBackend for Emulator {
    type MessageId = crate::MessageId;

    fn backend_name(&self) -> &'static str {
        "emulator"
    }
    fn create_canister_with_settings(
        &self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
    ) -> Principal {
        Emulator::create_canister_with_settings(self, sender, settings)
    }
    fn application_subnets(&self) -> Vec<Principal> {
        Emulator::subnets(self)
    }
    fn create_canister_on_subnet(
        &self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        subnet: Principal,
    ) -> Principal {
        Emulator::create_canister_on_subnet(self, sender, settings, subnet)
    }
    fn get_subnet(&self, canister_id: Principal) -> Option<Principal> {
        Emulator::get_subnet(self, canister_id)
    }
    fn add_cycles(&self, canister_id: Principal, amount: u128) -> u128 {
        Emulator::add_cycles(self, canister_id, amount)
    }
    fn cycle_balance(&self, canister_id: Principal) -> u128 {
        Emulator::cycle_balance(self, canister_id)
    }
    fn install_canister(
        &self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) {
        Emulator::install_canister(self, canister_id, wasm, arg, sender)
    }
    fn upgrade_canister(
        &self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        Emulator::upgrade_canister(self, canister_id, wasm, arg, sender)
    }
    fn reinstall_canister(
        &self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        Emulator::reinstall_canister(self, canister_id, wasm, arg, sender)
    }
    fn update_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> CallResult {
        Emulator::update_call(self, canister_id, sender, method, payload)
    }
    fn query_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> CallResult {
        Emulator::query_call(self, canister_id, sender, method, payload)
    }
    fn submit_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Self::MessageId, RejectResponse> {
        Emulator::submit_call(self, canister_id, sender, method, payload)
    }
    fn await_call(&self, id: Self::MessageId) -> CallResult {
        Emulator::await_call(self, id)
    }
    fn tick(&self) {
        Emulator::tick(self)
    }
    fn advance_time(&self, duration: Duration) {
        Emulator::advance_time(self, duration)
    }
    fn time_nanos(&self) -> u64 {
        self.get_time().as_nanos_since_unix_epoch()
    }
    fn canister_status(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<StatusSummary, RejectResponse> {
        let s = Emulator::canister_status(self, canister_id, sender)?;
        Ok(StatusSummary {
            status: s.status,
            module_hash: s.module_hash,
            controllers: s.settings.controllers,
            cycles: crate::state::canister::nat_u128(&s.cycles),
        })
    }
    fn stop_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        Emulator::stop_canister(self, canister_id, sender)
    }
    fn start_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        Emulator::start_canister(self, canister_id, sender)
    }
    fn delete_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        Emulator::delete_canister(self, canister_id, sender)
    }
    fn set_controllers(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        controllers: Vec<Principal>,
    ) -> Result<(), RejectResponse> {
        Emulator::set_controllers(self, canister_id, sender, controllers)
    }
    fn get_controllers(&self, canister_id: Principal) -> Vec<Principal> {
        Emulator::get_controllers(self, canister_id)
    }
    fn upload_chunk(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        chunk: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        Emulator::upload_chunk(self, canister_id, sender, chunk)
    }
    fn install_chunked_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        mode: CanisterInstallMode,
        store_canister: Principal,
        chunk_hashes: Vec<Vec<u8>>,
        wasm_module_hash: Vec<u8>,
        arg: Vec<u8>,
    ) -> Result<(), RejectResponse> {
        Emulator::install_chunked_canister(
            self,
            canister_id,
            sender,
            mode,
            store_canister,
            chunk_hashes,
            wasm_module_hash,
            arg,
        )
    }
    fn take_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        replace: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, RejectResponse> {
        Ok(Emulator::take_canister_snapshot(self, canister_id, sender, replace)?.id)
    }
    fn load_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        snapshot_id: Vec<u8>,
    ) -> Result<(), RejectResponse> {
        Emulator::load_canister_snapshot(self, canister_id, sender, snapshot_id)
    }
    fn list_canister_snapshots(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<Vec<Vec<u8>>, RejectResponse> {
        Ok(
            Emulator::list_canister_snapshots(self, canister_id, sender)?
                .into_iter()
                .map(|s| s.id)
                .collect(),
        )
    }
}

/// The PocketIC adapter.
#[cfg(feature = "pocket-ic")]
pub mod pocket {
    use super::*;
    use crate::error::{ErrorCode, RejectCode};
    use pocket_ic::common::rest::RawMessageId;
    use pocket_ic::PocketIc;

    /// Why PocketIC cannot run here, if it cannot (the server binary comes from `POCKET_IC_BIN`).
    pub fn unavailable_reason() -> Option<String> {
        match std::env::var_os("POCKET_IC_BIN") {
            None => {
                Some("POCKET_IC_BIN is not set (no PocketIC server binary on this machine)".into())
            }
            Some(p) if !std::path::Path::new(&p).is_file() => Some(format!(
                "POCKET_IC_BIN={} is not a file",
                p.to_string_lossy()
            )),
            Some(_) => None,
        }
    }

    /// Converts between the two crates' versions of a management type.
    fn convert<A: candid::CandidType, B: for<'a> candid::Deserialize<'a> + candid::CandidType>(
        a: &A,
    ) -> B {
        candid::decode_one(&candid::encode_one(a).expect("encodes"))
            .expect("management types agree on the wire")
    }

    fn reject(r: pocket_ic::RejectResponse) -> RejectResponse {
        RejectResponse {
            reject_code: RejectCode::try_from(r.reject_code as u64).unwrap_or(RejectCode::SysFatal),
            reject_message: r.reject_message,
            error_code: <ErrorCode as strum::IntoEnumIterator>::iter()
                .find(|c| *c as u64 == r.error_code as u64)
                .unwrap_or(ErrorCode::CanisterTrapped),
            certified: r.certified,
        }
    }

    fn status(s: pocket_ic::CanisterStatusResult) -> StatusSummary {
        StatusSummary {
            status: convert(&s.status),
            module_hash: s.module_hash,
            controllers: s.settings.controllers,
            cycles: u128::try_from(s.cycles.0).unwrap_or(u128::MAX),
        }
    }

    impl IcBackend for PocketIc {
        type MessageId = RawMessageId;

        fn backend_name(&self) -> &'static str {
            "pocket-ic"
        }
        fn create_canister_with_settings(
            &self,
            sender: Option<Principal>,
            settings: Option<CanisterSettings>,
        ) -> Principal {
            PocketIc::create_canister_with_settings(self, sender, settings.as_ref().map(convert))
        }
        fn application_subnets(&self) -> Vec<Principal> {
            PocketIc::topology(self).get_app_subnets()
        }
        fn create_canister_on_subnet(
            &self,
            sender: Option<Principal>,
            settings: Option<CanisterSettings>,
            subnet: Principal,
        ) -> Principal {
            PocketIc::create_canister_on_subnet(
                self,
                sender,
                settings.as_ref().map(convert),
                subnet,
            )
        }
        fn get_subnet(&self, canister_id: Principal) -> Option<Principal> {
            PocketIc::get_subnet(self, canister_id)
        }
        fn add_cycles(&self, canister_id: Principal, amount: u128) -> u128 {
            PocketIc::add_cycles(self, canister_id, amount)
        }
        fn cycle_balance(&self, canister_id: Principal) -> u128 {
            PocketIc::cycle_balance(self, canister_id)
        }
        fn install_canister(
            &self,
            canister_id: Principal,
            wasm: Vec<u8>,
            arg: Vec<u8>,
            sender: Option<Principal>,
        ) {
            PocketIc::install_canister(self, canister_id, wasm, arg, sender)
        }
        fn upgrade_canister(
            &self,
            canister_id: Principal,
            wasm: Vec<u8>,
            arg: Vec<u8>,
            sender: Option<Principal>,
        ) -> Result<(), RejectResponse> {
            PocketIc::upgrade_canister(self, canister_id, wasm, arg, sender).map_err(reject)
        }
        fn reinstall_canister(
            &self,
            canister_id: Principal,
            wasm: Vec<u8>,
            arg: Vec<u8>,
            sender: Option<Principal>,
        ) -> Result<(), RejectResponse> {
            PocketIc::reinstall_canister(self, canister_id, wasm, arg, sender).map_err(reject)
        }
        fn update_call(
            &self,
            canister_id: Principal,
            sender: Principal,
            method: &str,
            payload: Vec<u8>,
        ) -> CallResult {
            PocketIc::update_call(self, canister_id, sender, method, payload).map_err(reject)
        }
        fn query_call(
            &self,
            canister_id: Principal,
            sender: Principal,
            method: &str,
            payload: Vec<u8>,
        ) -> CallResult {
            PocketIc::query_call(self, canister_id, sender, method, payload).map_err(reject)
        }
        fn submit_call(
            &self,
            canister_id: Principal,
            sender: Principal,
            method: &str,
            payload: Vec<u8>,
        ) -> Result<RawMessageId, RejectResponse> {
            PocketIc::submit_call(self, canister_id, sender, method, payload).map_err(reject)
        }
        fn await_call(&self, id: RawMessageId) -> CallResult {
            PocketIc::await_call(self, id).map_err(reject)
        }
        fn tick(&self) {
            PocketIc::tick(self)
        }
        fn advance_time(&self, duration: Duration) {
            PocketIc::advance_time(self, duration)
        }
        fn time_nanos(&self) -> u64 {
            self.get_time().as_nanos_since_unix_epoch()
        }
        fn canister_status(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
        ) -> Result<StatusSummary, RejectResponse> {
            PocketIc::canister_status(self, canister_id, sender)
                .map(status)
                .map_err(reject)
        }
        fn stop_canister(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
        ) -> Result<(), RejectResponse> {
            PocketIc::stop_canister(self, canister_id, sender).map_err(reject)
        }
        fn start_canister(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
        ) -> Result<(), RejectResponse> {
            PocketIc::start_canister(self, canister_id, sender).map_err(reject)
        }
        fn delete_canister(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
        ) -> Result<(), RejectResponse> {
            PocketIc::delete_canister(self, canister_id, sender).map_err(reject)
        }
        fn set_controllers(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
            controllers: Vec<Principal>,
        ) -> Result<(), RejectResponse> {
            PocketIc::set_controllers(self, canister_id, sender, controllers).map_err(reject)
        }
        fn get_controllers(&self, canister_id: Principal) -> Vec<Principal> {
            PocketIc::get_controllers(self, canister_id)
        }
        fn upload_chunk(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
            chunk: Vec<u8>,
        ) -> Result<Vec<u8>, RejectResponse> {
            PocketIc::upload_chunk(self, canister_id, sender, chunk).map_err(reject)
        }
        fn install_chunked_canister(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
            mode: CanisterInstallMode,
            store_canister: Principal,
            chunk_hashes: Vec<Vec<u8>>,
            wasm_module_hash: Vec<u8>,
            arg: Vec<u8>,
        ) -> Result<(), RejectResponse> {
            PocketIc::install_chunked_canister(
                self,
                canister_id,
                sender,
                convert(&mode),
                store_canister,
                chunk_hashes,
                wasm_module_hash,
                arg,
            )
            .map_err(reject)
        }
        fn take_canister_snapshot(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
            replace: Option<Vec<u8>>,
        ) -> Result<Vec<u8>, RejectResponse> {
            PocketIc::take_canister_snapshot(self, canister_id, sender, replace)
                .map(|s| s.id)
                .map_err(reject)
        }
        fn load_canister_snapshot(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
            snapshot_id: Vec<u8>,
        ) -> Result<(), RejectResponse> {
            PocketIc::load_canister_snapshot(self, canister_id, sender, snapshot_id).map_err(reject)
        }
        fn list_canister_snapshots(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
        ) -> Result<Vec<Vec<u8>>, RejectResponse> {
            PocketIc::list_canister_snapshots(self, canister_id, sender)
                .map(|l| l.into_iter().map(|s| s.id).collect())
                .map_err(reject)
        }
    }
}
