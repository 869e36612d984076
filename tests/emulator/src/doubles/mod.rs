//! Test doubles of IC system canisters: emulator-native stand-ins (no wasm)
//! that answer a subset of the real canister's Candid interface at its
//! real id. They are not the real canisters: each module says what it
//! models and what it leaves out. A double executes on the NNS subnet (its
//! messages to and from the emulated subnets are cross-subnet) and is
//! installed on request, never by default.

pub mod cmc;
pub mod cycles_ledger;

use crate::error::{CallResult, ErrorCode, RejectResponse};
use crate::state::calls::ReplyTo;
use crate::state::StateMachine;
use candid::Principal;
use serde::{Deserialize, Serialize};

/// Which doubles are installed (saved with the emulator).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doubles {
    /// The cycles-minting canister double ([`cmc`]).
    #[serde(default)]
    pub cmc: bool,
    /// The cycles-ledger double ([`cycles_ledger`]) and its books, if installed.
    #[serde(default)]
    pub cycles_ledger: Option<cycles_ledger::Book>,
}

/// Whether `id` is the id of one of the doubles (installed or not): a
/// server routes messages for it to the emulator, which answers for the
/// double or says the canister does not exist.
pub fn is_double_id(id: &Principal) -> bool {
    *id == *cmc::CMC_ID || *id == *cycles_ledger::CYCLES_LEDGER_ID
}

/// Whether `id` is an installed double.
pub(crate) fn is_double(sm: &StateMachine, id: &Principal) -> bool {
    (sm.doubles.cmc && *id == *cmc::CMC_ID)
        || (sm.doubles.cycles_ledger.is_some() && *id == *cycles_ledger::CYCLES_LEDGER_ID)
}

impl StateMachine {
    /// A message (ingress or request) arriving at a double.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn deliver_to_double(
        &mut self,
        receiver: Principal,
        sender: Principal,
        from_canister: bool,
        method: String,
        arg: Vec<u8>,
        cycles: u128,
        reply_to: ReplyTo,
    ) {
        if receiver == *cmc::CMC_ID {
            self.cmc_double_call(sender, from_canister, &method, &arg, cycles, reply_to);
        } else if receiver == *cycles_ledger::CYCLES_LEDGER_ID {
            self.ledger_double_call(sender, &method, &arg, cycles, reply_to);
        }
    }

    /// A query to a double (non-replicated: it changes nothing).
    pub(crate) fn query_double(
        &self,
        receiver: Principal,
        sender: Principal,
        method: &str,
        arg: &[u8],
    ) -> CallResult {
        if receiver == *cmc::CMC_ID {
            return self.cmc_query(method);
        }
        match self.ledger_query(sender, method, arg) {
            Some(result) => result,
            None => Err(RejectResponse::from_canister(
                receiver,
                ErrorCode::CanisterMethodNotFound,
                format!("Canister has no query method '{method}'."),
            )),
        }
    }

    /// A double's reply to `to`, `hops` cross-subnet hops after the request
    /// arrived (the double's own nested calls included); `refund`: the
    /// attached cycles it gives back.
    pub(crate) fn double_reply(
        &mut self,
        respondent: Principal,
        to: ReplyTo,
        result: CallResult,
        refund: u128,
        hops: u64,
    ) {
        let transit = hops * self.xnet.extra_rounds_per_hop;
        self.push_response(to, respondent, result, refund, transit);
    }
}
