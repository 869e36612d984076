//! `sender_canister_version`: when a canister gives it, it must equal the
//! canister's version at the time it made the call (spec: "If provided, its
//! value must be equal to `ic0.canister_version`").
//!
//! The replica checks it when the sending message commits and answers a
//! mismatch with a reject of the management call (dfinity/ic
//! `rs/embedders/src/wasmtime_embedder/system_api/sandbox_safe_system_state.rs`,
//! `validate_sender_canister_version`); the emulator checks it on delivery
//! against the version recorded when the call was sent, with the same reject.

use super::MgmtCall;
use crate::error::RejectResponse;
use candid::{CandidType, Deserialize};
use ic_error_types::ErrorCode;

/// The methods whose argument the replica inspects.
const CHECKED: [&str; 7] = [
    "create_canister",
    "update_settings",
    "install_code",
    "install_chunked_code",
    "uninstall_code",
    "provisional_create_canister_with_cycles",
    "load_canister_snapshot",
];

/// Only the field that matters; Candid ignores the others.
#[derive(CandidType, Deserialize)]
struct SenderVersion {
    sender_canister_version: Option<u64>,
}

pub(super) fn check(call: &MgmtCall) -> Result<(), RejectResponse> {
    let Some(actual) = call.sender_version else {
        return Ok(()); // ingress: nothing to compare with
    };
    if !CHECKED.contains(&call.method.as_str()) {
        return Ok(());
    }
    // `create_canister` takes `opt record`; a record decodes as `opt` too.
    // An undecodable argument is left to the method, which rejects it.
    let given = candid::decode_one::<Option<SenderVersion>>(&call.arg)
        .ok()
        .flatten()
        .and_then(|a| a.sender_canister_version);
    match given {
        Some(given) if given != actual => Err(RejectResponse::new(
            ErrorCode::CanisterContractViolation,
            format!(
                "Management canister call payload includes sender canister version {given} that does not match the actual sender canister version {actual}."
            ),
        )),
        _ => Ok(()),
    }
}
