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

/// Declares [`IcBackend`] from one list. The `forward` methods are the
/// emulator's inherent methods of the same name and signature (and
/// PocketIC's, through [`pocket::Adapt`]), so each is written once, here;
/// `adapted` methods differ between the backends and each impl writes its own.
macro_rules! ic_backend {
    (
        forward { $( $(#[$fm:meta])* fn $f:ident(&self $(, $a:ident : $t:ty)* $(,)?) $(-> $r:ty)?; )* }
        adapted { $($adapted:tt)* }
    ) => {
        pub trait IcBackend {
            /// An ingress message submitted with [`IcBackend::submit_call`].
            type MessageId;
            $( $(#[$fm])* fn $f(&self $(, $a: $t)*) $(-> $r)?; )*
            $($adapted)*
        }

        /// Implements the `forward` methods for `$backend` by calling its
        /// inherent method, each argument and the result passed through `$adapt`.
        macro_rules! forward_to {
            ($backend:ty, $adapt:path) => {
                $( fn $f(&self $(, $a: $t)*) $(-> $r)? {
                    $adapt(<$backend>::$f(self $(, $adapt($a))*))
                } )*
            };
        }
    };
}

/// The identity, for the emulator: its methods are the trait's.
fn same<T>(x: T) -> T {
    x
}

ic_backend! {
    forward {
        fn create_canister_with_settings(
            &self,
            sender: Option<Principal>,
            settings: Option<CanisterSettings>,
        ) -> Principal;
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
        fn load_canister_snapshot(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
            snapshot_id: Vec<u8>,
        ) -> Result<(), RejectResponse>;
    }
    adapted {
        /// "emulator" or "pocket-ic".
        fn backend_name(&self) -> &'static str;
        /// The application subnets' ids (the emulator's default subnet first).
        fn application_subnets(&self) -> Vec<Principal>;
        fn time_nanos(&self) -> u64;
        fn canister_status(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
        ) -> Result<StatusSummary, RejectResponse>;
        /// Returns the snapshot id.
        fn take_canister_snapshot(
            &self,
            canister_id: Principal,
            sender: Option<Principal>,
            replace: Option<Vec<u8>>,
        ) -> Result<Vec<u8>, RejectResponse>;
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
            crate::driver::candid_call(input, |arg| {
                self.update_call(canister_id, sender, method, arg)
            })
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
            crate::driver::candid_call(input, |arg| {
                self.query_call(canister_id, sender, method, arg)
            })
        }
    }
}

impl IcBackend for Emulator {
    type MessageId = crate::MessageId;

    forward_to!(Emulator, same);

    fn backend_name(&self) -> &'static str {
        "emulator"
    }
    fn application_subnets(&self) -> Vec<Principal> {
        Emulator::subnets(self)
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
    fn take_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        replace: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, RejectResponse> {
        Ok(Emulator::take_canister_snapshot(self, canister_id, sender, replace)?.id)
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

    /// PocketIC's side of a forwarded method: its own versions of the
    /// management types and of `RejectResponse`, converted; anything else as is.
    pub trait Adapt<T> {
        fn adapt(self) -> T;
    }
    impl<T> Adapt<T> for T {
        fn adapt(self) -> T {
            self
        }
    }
    impl<T> Adapt<Result<T, RejectResponse>> for Result<T, pocket_ic::RejectResponse> {
        fn adapt(self) -> Result<T, RejectResponse> {
            self.map_err(reject)
        }
    }
    impl Adapt<Option<pocket_ic::CanisterSettings>> for Option<CanisterSettings> {
        fn adapt(self) -> Option<pocket_ic::CanisterSettings> {
            self.as_ref().map(convert)
        }
    }
    impl Adapt<pocket_ic::CanisterInstallMode> for CanisterInstallMode {
        fn adapt(self) -> pocket_ic::CanisterInstallMode {
            convert(&self)
        }
    }

    fn adapt<A: Adapt<B>, B>(a: A) -> B {
        a.adapt()
    }

    impl IcBackend for PocketIc {
        type MessageId = RawMessageId;

        forward_to!(PocketIc, adapt);

        fn backend_name(&self) -> &'static str {
            "pocket-ic"
        }
        fn application_subnets(&self) -> Vec<Principal> {
            PocketIc::topology(self).get_app_subnets()
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
