//! Which users a rollout's stage covers: a stable hash of the owner, salted
//! with the rollout id, gives a bucket in 0..10,000 that is compared with the
//! stages' cumulative `fleet_bps`. Part of the interface, so a client can tell
//! which canisters a canary will touch.

use candid::Principal;
use sha2::{Digest, Sha256};

/// Shares of the fleet are in basis points.
const FULL_BPS: u16 = 10_000;

pub fn bucket(salt: u64, owner: &Principal) -> u16 {
    let mut h = Sha256::new();
    h.update(salt.to_be_bytes());
    h.update(owner.as_slice());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(first) % u64::from(FULL_BPS)) as u16
}
