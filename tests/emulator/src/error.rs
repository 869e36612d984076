//! Rejects as the IC reports them: a reject code, the replica's error code and a message.

use candid::Principal;
pub use ic_error_types::{ErrorCode, RejectCode};
use std::fmt;

/// A reject, shaped like `pocket_ic::RejectResponse`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RejectResponse {
    pub reject_code: RejectCode,
    pub reject_message: String,
    pub error_code: ErrorCode,
    /// Always false: the emulator does not certify responses.
    pub certified: bool,
}

impl RejectResponse {
    /// A reject whose reject code follows from the error code (`RejectCode × 100 + n`).
    pub fn new(error_code: ErrorCode, reject_message: impl Into<String>) -> Self {
        RejectResponse {
            reject_code: RejectCode::from(error_code),
            reject_message: reject_message.into(),
            error_code,
            certified: false,
        }
    }

    /// The reject a canister produces with `ic0.msg_reject` (code 4).
    pub fn canister_reject(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::CanisterRejectedMessage, message)
    }

    /// Prefixes the message the way the replica names the failing canister.
    pub fn from_canister(canister: Principal, code: ErrorCode, message: impl fmt::Display) -> Self {
        Self::new(code, format!("Error from Canister {canister}: {message}"))
    }

    pub fn code(&self) -> u64 {
        self.reject_code as u64
    }
}

impl fmt::Display for RejectResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reject code {} ({:?}), error code IC{:04}: {}",
            self.reject_code as u64, self.reject_code, self.error_code as u64, self.reject_message
        )
    }
}

impl std::error::Error for RejectResponse {}

/// The outcome of a call: the reply bytes or a reject.
pub type CallResult = Result<Vec<u8>, RejectResponse>;
