//! Stable-memory bytes per user (the goal is under 256 B/user).
//! Users as they look after a rollout (a previous version, a snapshot, an
//! outcome, a rate-limit bucket), with realistic principal sizes, inserted
//! in random order as sign-ups come.

use crate::rate_limit::TokenBucket;
use crate::testing::Harness;
use crate::users::{Outcome, Phase, UserRecord};
use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
use ic_stable_structures::{Memory, Storable};
use sha2::{Digest, Sha256};

const N: u64 = 10_000;

fn hashed(n: u64, tag: u8, len: usize) -> Principal {
    let d = Sha256::digest([&n.to_be_bytes()[..], &[tag]].concat());
    Principal::from_slice(&d[..len])
}

pub fn upgraded_user(n: u64) -> UserRecord {
    // Self-authenticating principals are 29 bytes, canister ids 10.
    let owner = hashed(n, 1, 29);
    let mut r = UserRecord::new(owner, hashed(n, 2, 29), 1_700_000_000_000_000_000, 3);
    r.canister_id = Some(hashed(n, 3, 10));
    r.phase = Phase::Ready;
    r.lock = None;
    r.version = Some("1.4.2".into());
    r.previous_version = Some("1.4.1".into());
    r.snapshot_id = Some([hashed(n, 3, 10).as_slice(), &n.to_be_bytes()[..]].concat());
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

/// Bytes of every memory the users occupy: users, canisters, version counts.
fn user_bytes(h: &Harness) -> [u64; 3] {
    let mm = MemoryManager::init(h.memory.clone());
    [3u8, 4, 9].map(|id| mm.get(MemoryId::new(id)).size() * 65_536)
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
    let record = upgraded_user(0).to_bytes().len();
    eprintln!(
        "stable bytes per user: {per_user} (users map {}, canisters map {}, version counts {}; \
         user record encoded in {record} bytes)",
        per(0),
        per(1),
        per(2)
    );
    // Candid records cost 550 B/user; the compact codec brings it to ~314.
    // The goal (< 256) needs a different layout: see the rollout report.
    assert!(per_user <= 330, "{per_user} bytes per user");
}
