//! How a client reaches a canister: a real network (ic-agent) or the
//! embedded emulator. Synchronous, since the emulator is and a CLI needs no
//! concurrency; an async agent blocks on its own runtime.

use candid::Principal;
use std::fmt;

/// A call that did not get a reply: rejected, or never delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// The IC's reject code (1–6) when the canister or system rejected, 0 for
    /// transport failures (network unreachable, bad identity...).
    pub reject_code: u32,
    pub message: String,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reject_code == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "rejected (code {}): {}", self.reject_code, self.message)
        }
    }
}

impl std::error::Error for TransportError {}

pub trait Transport {
    /// The principal calls are made as.
    fn sender(&self) -> Principal;
    fn update(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError>;
    fn query(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError>;
    /// An update call to the management canister about `target` (a real
    /// network routes it by that canister: its effective canister id).
    fn management_update(
        &self,
        target: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        let _ = target;
        self.update(Principal::management_canister(), method, arg)
    }
}
