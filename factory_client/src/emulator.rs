//! The transport over the in-process emulator (feature `emulator`): ingress
//! calls as `sender`, each run to completion. factoryctl's embedded network
//! and the scenario tests both use it.

use crate::transport::{Transport, TransportError};
use candid::Principal;
use ic_emulator::{Emulator, RejectResponse};

pub struct EmulatorTransport<'a> {
    emu: &'a Emulator,
    sender: Principal,
}

impl<'a> EmulatorTransport<'a> {
    pub fn new(emu: &'a Emulator, sender: Principal) -> Self {
        EmulatorTransport { emu, sender }
    }
}

fn to_transport(r: RejectResponse) -> TransportError {
    TransportError {
        reject_code: r.reject_code as u32,
        message: format!("{:?}: {}", r.error_code, r.reject_message),
    }
}

impl Transport for EmulatorTransport<'_> {
    fn sender(&self) -> Principal {
        self.sender
    }

    fn update(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        self.emu
            .update_call(canister, self.sender, method, arg)
            .map_err(to_transport)
    }

    fn query(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        self.emu
            .query_call(canister, self.sender, method, arg)
            .map_err(to_transport)
    }
}
