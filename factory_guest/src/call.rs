//! The one-way upgrade request.
//!
//! The factory answers by stopping and upgrading this canister. A call that
//! waits for the reply would keep a callback open: the canister could not
//! stop until the reply came, and the callback would then run in the new
//! wasm (DESIGN.md, flow 4). So the request is sent with `ic0.call_new`'s
//! invalid callbacks (ic-cdk's `Call::oneway`, `ic0::call_new_oneway`) and
//! this function returns as soon as the call is enqueued: there is no future
//! to await and no closure to register, by construction.

use candid::Principal;
use ic_cdk::call::{Call, OnewayError};

/// The factory's method a user canister calls about itself: `(opt text)`, the
/// version wanted or none for the newest approved release.
pub const REQUEST_UPGRADE_METHOD: &str = "request_upgrade_from_canister";

/// Why the request was not sent. `Ok` only means it was sent: watch the
/// canister's version (or the factory's `upgrade_status`) for the outcome.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestUpgradeError {
    #[error("not sent: {available} cycles above the freezing threshold, {required} needed")]
    InsufficientCycles { available: u128, required: u128 },
    #[error("ic0.call_perform failed: the queue to the factory is full or this canister is low on cycles")]
    CallPerformFailed,
}

/// What ic-cdk's `oneway` refused, in the guest library's terms: every
/// one-way notice to the factory (upgrade request, low cycles, activity)
/// fails the same two ways.
impl From<OnewayError> for RequestUpgradeError {
    fn from(e: OnewayError) -> Self {
        match e {
            OnewayError::InsufficientLiquidCycleBalance(c) => {
                RequestUpgradeError::InsufficientCycles {
                    available: c.available,
                    required: c.required,
                }
            }
            OnewayError::CallPerformFailed(_) => RequestUpgradeError::CallPerformFailed,
        }
    }
}

/// Asks `factory` to upgrade this canister to `version` (none: the newest
/// approved release), one-way.
pub fn request_upgrade(
    factory: Principal,
    version: Option<&str>,
) -> Result<(), RequestUpgradeError> {
    Call::unbounded_wait(factory, REQUEST_UPGRADE_METHOD)
        .with_arg(version)
        .oneway()
        .map_err(RequestUpgradeError::from)
}
