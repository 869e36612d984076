//! The demo's end users: deterministic principals, their data, and a small
//! client of the user canister for storing and reading it back.

use anyhow::{anyhow, bail, Result};
use candid::{Principal, Reserved};
use factory_guest::VersionInfo;
use ic_emulator::Emulator;
use serde_bytes::ByteBuf;

/// The one key every demo user stores.
pub const DATA_KEY: &str = "profile";

fn principal(n: u64) -> Principal {
    // Self-authenticating shape (last byte 0x02), distinct per number.
    let mut bytes = [0u8; 29];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[28] = 0x02;
    Principal::from_slice(&bytes)
}

pub fn user(n: u64) -> Principal {
    principal(1_000_000 + n)
}

pub fn recovery_of(n: u64) -> Principal {
    principal(2_000_000 + n)
}

/// What user `n` stores: a few hundred bytes unique to them.
pub fn data_of(n: u64) -> Vec<u8> {
    let mut data = format!("user {n}'s profile: ").into_bytes();
    data.extend((0..256u64).map(|i| (n.wrapping_mul(31).wrapping_add(i * 7) % 251) as u8));
    data
}

/// Calls to one user canister as its owner.
pub struct UserCanister<'a> {
    pub emu: &'a Emulator,
    pub canister: Principal,
    pub owner: Principal,
}

impl UserCanister<'_> {
    pub fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        let arg = candid::encode_args((key, ByteBuf::from(value.to_vec())))?;
        let reply = self
            .emu
            .update_call(self.canister, self.owner, "put", arg)
            .map_err(|e| anyhow!("put on {}: {}", self.canister, e.reject_message))?;
        let (result,): (Result<(), Reserved>,) = candid::decode_args(&reply)?;
        if result.is_err() {
            bail!("put on {} was refused", self.canister);
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let reply = self
            .emu
            .query_call(
                self.canister,
                self.owner,
                "get",
                candid::encode_args((key,))?,
            )
            .map_err(|e| anyhow!("get on {}: {}", self.canister, e.reject_message))?;
        let (result,): (Result<Option<ByteBuf>, Reserved>,) = candid::decode_args(&reply)?;
        result
            .map(|v| v.map(ByteBuf::into_vec))
            .map_err(|_| anyhow!("get on {} was refused", self.canister))
    }

    /// The release the canister itself reports.
    pub fn release(&self) -> Result<String> {
        let reply = self
            .emu
            .query_call(
                self.canister,
                self.owner,
                "version",
                candid::encode_args(())?,
            )
            .map_err(|e| anyhow!("version of {}: {}", self.canister, e.reject_message))?;
        let (v,): (VersionInfo,) = candid::decode_args(&reply)?;
        Ok(v.release)
    }
}
