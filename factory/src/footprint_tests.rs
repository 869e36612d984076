//! Stable-memory bytes per user (the goal is under 256 B/user).
//! Users as they look after a rollout (a previous version, a snapshot, an
//! outcome, a rate-limit bucket), with realistic principals: owners in
//! random order as sign-ups come, canister ids allocated in sequence as the
//! replica does, snapshot ids in the replica's form.

use crate::rate_limit::TokenBucket;
use crate::testing::Harness;
use crate::users::{Outcome, Phase, UserRecord};
use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
use ic_stable_structures::Memory;
use sha2::{Digest, Sha256};

const N: u64 = 10_000;

fn hashed(n: u64, tag: u8, len: usize) -> Principal {
    let d = Sha256::digest([&n.to_be_bytes()[..], &[tag]].concat());
    Principal::from_slice(&d[..len])
}

/// The replica's n-th canister id of a subnet range: a u64, then `01 01`.
fn replica_canister(n: u64) -> Principal {
    let mut b = [1u8; 10];
    b[..8].copy_from_slice(&(0x0000_0000_0210_0000 + n).to_be_bytes());
    Principal::from_slice(&b)
}

pub fn upgraded_user(n: u64) -> UserRecord {
    // Self-authenticating principals are 29 bytes, canister ids 10.
    let owner = hashed(n, 1, 29);
    let mut r = UserRecord::new(owner, hashed(n, 2, 29), 1_700_000_000_000_000_000, 3);
    let canister = replica_canister(n);
    r.canister_id = Some(canister);
    r.phase = Phase::Ready;
    r.lock = None;
    r.version = Some("1.4.2".into());
    r.previous_version = Some("1.4.1".into());
    // The replica's snapshot id: a per-canister counter, then the canister id.
    r.snapshot_id = Some([&1u64.to_be_bytes()[..], canister.as_slice()].concat());
    r.last_outcome = Some(Outcome {
        action: "rollout_upgrade".into(),
        from_version: Some("1.4.1".into()),
        to_version: Some("1.4.2".into()),
        at_ns: 1_700_000_100_000_000_000,
        error: None,
    });
    r.upgrade_bucket = Some(TokenBucket {
        tokens: 2,
        refilled_at_ns: 1_700_000_050_000_000_000,
    });
    r
}

/// Bytes of every memory the users occupy: users, the reverse index (both
/// maps), version counts.
fn user_bytes(h: &Harness) -> [u64; 3] {
    let mm = MemoryManager::init(h.memory.clone());
    let size = |id: u8| mm.get(MemoryId::new(id)).size() * 65_536;
    [size(3), size(4) + size(19), size(9)]
}

#[test]
fn stable_bytes_per_user() {
    let h = Harness::default();
    let empty = user_bytes(&h);
    {
        let mut s = h.state.borrow_mut();
        for n in 0..N {
            let r = upgraded_user(n);
            let canister = r.canister_id.unwrap();
            let owner = r.owner;
            s.put_user(r);
            s.canisters.insert(canister, owner);
        }
    }
    let full = user_bytes(&h);
    let per = |i: usize| (full[i] - empty[i]) / N;
    let per_user = per(0) + per(1) + per(2);
    let record = crate::user_codec::encode(&upgraded_user(0)).len();
    eprintln!(
        "stable bytes per user: {per_user} (users map {}, canisters map {}, version counts {}; \
         user record encoded in {record} bytes)",
        per(0),
        per(1),
        per(2)
    );
    // Candid records cost 550 B/user, the first compact codec 314; records
    // without the owner and the u64-keyed reverse index bring it under 256.
    assert!(per_user < 256, "{per_user} bytes per user");
    assert_eq!(
        h.state.borrow().user_stable_bytes(),
        full.iter().sum::<u64>(),
        "the metric counts the same memories"
    );
}
