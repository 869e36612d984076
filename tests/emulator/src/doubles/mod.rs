//! Test doubles of IC system canisters: emulator-native stand-ins (no wasm)
//! that answer a subset of the real canister's Candid interface at its
//! real id. They are not the real canisters: each module says what it
//! models and what it leaves out. A double executes on the NNS subnet (its
//! messages to and from the emulated subnets are cross-subnet) and is
//! installed on request, never by default.

pub mod cmc;

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
}

/// Whether `id` is an installed double.
pub(crate) fn is_double(sm: &StateMachine, id: &Principal) -> bool {
    sm.doubles.cmc && *id == *cmc::CMC_ID
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
        }
    }
}
