//! A typed client of a user canister (its `.did`), for the scenarios.

use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{CandidType, Deserialize, Principal};
use ic_emulator::{Emulator, RejectResponse};
use serde_bytes::ByteBuf;

/// The user canister's error, every variant of its `.did`, so any reply decodes.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum UserError {
    EmptyKey,
    ValueTooLarge {
        max: u64,
        size: u64,
    },
    CallFailed {
        reason: String,
    },
    InsufficientCycles {
        available: candid::Nat,
        required: candid::Nat,
    },
    Unauthorized {
        caller: Principal,
    },
    NotOwner {
        caller: Principal,
    },
    KeyTooLong {
        len: u64,
        max: u64,
    },
    InvalidLimit {
        max: u32,
        limit: u32,
    },
    InvalidVersion {
        reason: String,
    },
    OutOfStableMemory,
    TooManyRecords {
        max: u64,
    },
    QuotaExceeded {
        used: u64,
        quota: u64,
        needed: u64,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    pub release: String,
    pub crate_version: String,
    pub git_commit: Option<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Health {
    pub release: String,
    pub schema_version: u32,
    pub cycles: candid::Nat,
    pub records: u64,
    pub data_bytes: u64,
    pub quota_bytes: u64,
    pub max_records: u64,
    pub stable_memory_pages: u64,
    pub heap_memory_pages: u64,
}

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
