//! A typed client of a user canister, for the scenarios.

use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::Principal;
use ic_emulator::{Emulator, RejectResponse};
use serde_bytes::ByteBuf;

/// The user canister's own types (its crate, linked natively for them).
pub use user_canister::{Health, UserError, VersionInfo};

pub struct UserCanisterClient<'a> {
    emu: &'a Emulator,
    pub canister: Principal,
    pub sender: Principal,
}

/// A call's outcome: rejected by the system, or the canister's typed result.
pub type Reply<T> = Result<Result<T, UserError>, RejectResponse>;

impl<'a> UserCanisterClient<'a> {
    pub fn new(emu: &'a Emulator, canister: Principal, sender: Principal) -> Self {
        UserCanisterClient {
            emu,
            canister,
            sender,
        }
    }

    fn call<A: ArgumentEncoder, R: for<'de> ArgumentDecoder<'de>>(
        &self,
        query: bool,
        method: &str,
        args: A,
    ) -> Result<R, RejectResponse> {
        let bytes = candid::encode_args(args).expect("arguments encode");
        let reply = if query {
            self.emu
                .query_call(self.canister, self.sender, method, bytes)?
        } else {
            self.emu
                .update_call(self.canister, self.sender, method, bytes)?
        };
        Ok(candid::decode_args(&reply).unwrap_or_else(|e| panic!("{method} reply: {e}")))
    }

    pub fn put(&self, key: &str, value: &[u8]) -> Reply<()> {
        self.call(false, "put", (key, ByteBuf::from(value.to_vec())))
            .map(|(r,)| r)
    }

    pub fn get(&self, key: &str) -> Reply<Option<Vec<u8>>> {
        self.call::<_, (Result<Option<ByteBuf>, UserError>,)>(true, "get", (key,))
            .map(|(r,)| r.map(|v| v.map(|b| b.into_vec())))
    }

    pub fn version(&self) -> Result<VersionInfo, RejectResponse> {
        self.call(true, "version", ()).map(|(v,)| v)
    }

    pub fn health(&self) -> Reply<Health> {
        self.call(true, "health", ()).map(|(r,)| r)
    }

    pub fn request_upgrade(&self, version: Option<&str>) -> Reply<()> {
        self.call(false, "request_upgrade", (version,))
            .map(|(r,)| r)
    }
}
