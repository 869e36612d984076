//! Call contexts, callbacks and the messages between canisters.

use crate::error::CallResult;
use crate::system_api::Closure;
use candid::Principal;
use serde::{Deserialize, Serialize};

/// Who is waiting for a call context's response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    Ingress {
        id: u64,
        sender: Principal,
    },
    Canister {
        caller: Principal,
        callback_id: u64,
    },
    /// Heartbeat or global timer: no response is needed.
    System,
    /// Fault injection: an open call context that never completes.
    Phantom,
}

impl Origin {
    pub fn reply_to(&self) -> ReplyTo {
        match self {
            Origin::Ingress { id, .. } => ReplyTo::Ingress(*id),
            Origin::Canister {
                caller,
                callback_id,
            } => ReplyTo::Canister {
                caller: *caller,
                callback_id: *callback_id,
            },
            Origin::System | Origin::Phantom => ReplyTo::Nobody,
        }
    }

    pub fn caller(&self) -> Principal {
        match self {
            Origin::Ingress { sender, .. } => *sender,
            Origin::Canister { caller, .. } => *caller,
            Origin::System | Origin::Phantom => crate::ids::MANAGEMENT,
        }
    }

    pub fn needs_response(&self) -> bool {
        matches!(self, Origin::Ingress { .. } | Origin::Canister { .. })
    }
}

/// Where a response goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplyTo {
    Ingress(u64),
    Canister { caller: Principal, callback_id: u64 },
    Nobody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallContext {
    pub origin: Origin,
    pub method: String,
    pub responded: bool,
    /// Cycles attached by the caller and not yet accepted.
    pub available_cycles: u128,
    /// Calls made from this context whose response has not been processed.
    pub outstanding: usize,
    /// Set by uninstall_code: responses are dropped, callbacks never run.
    pub deleted: bool,
    /// `msg_deadline` (0 for unbounded-wait and ingress).
    pub deadline: u64,
    pub instructions: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Callback {
    pub context_id: u64,
    pub callee: Principal,
    pub reply: Closure,
    pub reject: Closure,
    pub cleanup: Option<Closure>,
    pub deadline: Option<u64>,
    /// The deadline passed and SYS_UNKNOWN was sent; a late response is dropped.
    pub expired: bool,
}

/// A message waiting for the next round.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Input {
    Ingress {
        id: u64,
        sender: Principal,
        receiver: Principal,
        method: String,
        arg: Vec<u8>,
    },
    Request {
        sender: Principal,
        receiver: Principal,
        method: String,
        arg: Vec<u8>,
        cycles: u128,
        callback_id: u64,
        deadline: Option<u64>,
        /// The sender's `canister_version` when it made the call (what
        /// `sender_canister_version` must equal in management calls).
        #[serde(default)]
        sender_version: Option<u64>,
        /// Held back until this round (a request to another subnet).
        #[serde(default)]
        not_before_round: u64,
    },
    Response {
        originator: Principal,
        respondent: Principal,
        callback_id: u64,
        result: CallResult,
        refund: u128,
        /// Held back until this round (fault injection: delayed responses).
        not_before_round: u64,
        /// The SYS_UNKNOWN a bounded-wait call gets at its deadline.
        expiry: bool,
    },
}

/// A deferred `stop_canister` call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StopRequest {
    pub reply_to: ReplyTo,
    pub requested_at: u64,
}
