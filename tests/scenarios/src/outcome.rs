//! What a call came to, decoded precisely: allowed, one of the typed
//! "not allowed" errors (with the fields checked by the caller), or a reject
//! from the system (inspect_message, a trap, a decode failure).

use crate::user_canister::UserError;
use candid::{Principal, Reserved};
use factory_client::FactoryError;
use ic_emulator::{CallResult, ErrorCode};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// The endpoint ran: a reply that is not a refusal of the caller (it may
    /// still be a typed error about the arguments or the state).
    Allowed,
    /// Factory: `AnonymousCaller`.
    AnonymousCaller,
    /// Factory: `Unauthorized { endpoint }`.
    Unauthorized { endpoint: String },
    /// User canister: `NotOwner { caller }`.
    NotOwner { caller: Principal },
    /// User canister: `Unauthorized { caller }`.
    UserUnauthorized { caller: Principal },
    /// The system rejected the call: inspect_message, a trap, bad Candid...
    Rejected { code: ErrorCode, message: String },
    /// A reply that is not Candid at all.
    Garbage,
}

/// The typed error inside a factory reply, if the reply is a `Result` whose
/// `Err` is a `FactoryError`.
pub fn factory_error(reply: &[u8]) -> Option<FactoryError> {
    candid::decode_one::<Result<Reserved, FactoryError>>(reply)
        .ok()
        .and_then(Result::err)
}

/// The typed error inside a user canister reply, if any.
pub fn user_error(reply: &[u8]) -> Option<UserError> {
    candid::decode_one::<Result<Reserved, UserError>>(reply)
        .ok()
        .and_then(Result::err)
}

fn is_candid(reply: &[u8]) -> bool {
    candid::IDLArgs::from_bytes(reply).is_ok()
}

pub fn classify_factory(result: &CallResult) -> Observed {
    match result {
        Err(r) => Observed::Rejected {
            code: r.error_code,
            message: r.reject_message.clone(),
        },
        Ok(reply) => match factory_error(reply) {
            Some(FactoryError::AnonymousCaller) => Observed::AnonymousCaller,
            Some(FactoryError::Unauthorized { endpoint }) => Observed::Unauthorized { endpoint },
            _ if is_candid(reply) => Observed::Allowed,
            _ => Observed::Garbage,
        },
    }
}

pub fn classify_user(result: &CallResult) -> Observed {
    match result {
        Err(r) => Observed::Rejected {
            code: r.error_code,
            message: r.reject_message.clone(),
        },
        Ok(reply) => match user_error(reply) {
            Some(UserError::NotOwner { caller }) => Observed::NotOwner { caller },
            Some(UserError::Unauthorized { caller }) => Observed::UserUnauthorized { caller },
            _ if is_candid(reply) => Observed::Allowed,
            _ => Observed::Garbage,
        },
    }
}
