//! The encoding of a [`UserRecord`] as the users map stores it (magic 0xC6).
//!
//! The owner is not written: it is the map's key, so `decode` takes it back
//! from there. Canister ids of the replica's form (a u64 and `01 01`) take 8
//! bytes, snapshot ids of the form "u64 ++ canister id" (or the reverse) only
//! their counter, and later timestamps are deltas from `created_at_ns`.
//! Golden bytes: `factory/tests/golden/user_record.bin` (see the tests).
//!
//! Layout: MAGIC, flags (u16 LE), extra flags (u8), then the fields present,
//! in order. Lengths and small integers are LEB128, deltas zigzag LEB128,
//! `created_at_ns` u64 LE.

use crate::rate_limit::TokenBucket;
use crate::user_wire::{action, bytes, flag, leb, presence_flags, Reader};
use crate::users::{Lock, Outcome, Phase, UserRecord};
use candid::Principal;

const MAGIC: u8 = 0xC6;

mod extra {
    /// The canister id is a replica id: its u64 follows, 8 bytes BE.
    pub const REPLICA_CANISTER: u8 = 1;
    /// The snapshot id is `u64 BE ++ canister id`: the u64 follows as LEB128.
    pub const SNAPSHOT_COUNTER_FIRST: u8 = 1 << 1;
    /// The snapshot id is `canister id ++ u64 BE`: the u64 follows as LEB128.
    pub const SNAPSHOT_COUNTER_LAST: u8 = 1 << 2;
}

/// The u64 of a replica canister id (8 bytes BE, then `01 01`).
pub fn replica_canister_number(id: &Principal) -> Option<u64> {
    match id.as_slice() {
        [n @ .., 1, 1] if n.len() == 8 => Some(u64::from_be_bytes(n.try_into().ok()?)),
        _ => None,
    }
}

fn replica_canister_id(n: u64) -> Principal {
    let mut b = [1u8; 10];
    b[..8].copy_from_slice(&n.to_be_bytes());
    Principal::from_slice(&b)
}

/// The snapshot's counter if its id is the counter and the canister id.
fn snapshot_counter(id: &[u8], canister: &[u8]) -> Option<(u8, u64)> {
    if id.len() != canister.len() + 8 {
        return None;
    }
    let (head, tail) = id.split_at(8);
    if tail == canister {
        return Some((
            extra::SNAPSHOT_COUNTER_FIRST,
            u64::from_be_bytes(head.try_into().ok()?),
        ));
    }
    let (head, tail) = id.split_at(canister.len());
    if head == canister {
        return Some((
            extra::SNAPSHOT_COUNTER_LAST,
            u64::from_be_bytes(tail.try_into().ok()?),
        ));
    }
    None
}

fn zigzag(w: &mut Vec<u8>, x: u64, base: u64) {
    let d = x.wrapping_sub(base) as i64;
    leb(w, ((d << 1) ^ (d >> 63)) as u64);
}

fn unzigzag(r: &mut Reader, base: u64) -> Option<u64> {
    let z = r.leb()?;
    let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
    Some(base.wrapping_add(d as u64))
}

/// The record without its owner (the key it is stored under).
pub fn encode(r: &UserRecord) -> Vec<u8> {
    let mut w = Vec::with_capacity(96);
    let f = presence_flags(r);
    let canister_number = r.canister_id.as_ref().and_then(replica_canister_number);
    let snapshot = match (&r.snapshot_id, &r.canister_id) {
        (Some(s), Some(c)) => snapshot_counter(s, c.as_slice()),
        _ => None,
    };
    let mut x: u8 = 0;
    if canister_number.is_some() {
        x |= extra::REPLICA_CANISTER;
    }
    if let Some((form, _)) = snapshot {
        x |= form;
    }
    w.push(MAGIC);
    w.extend_from_slice(&f.to_le_bytes());
    w.push(x);
    if f & flag::RECOVERY_IS_OWNER == 0 {
        bytes(&mut w, r.recovery.as_slice());
    }
    match (canister_number, &r.canister_id) {
        (Some(n), _) => w.extend_from_slice(&n.to_be_bytes()),
        (None, Some(c)) => bytes(&mut w, c.as_slice()),
        (None, None) => {}
    }
    for s in [&r.version, &r.previous_version].into_iter().flatten() {
        bytes(&mut w, s.as_bytes());
    }
    match (snapshot, &r.snapshot_id) {
        (Some((_, n)), _) => leb(&mut w, n),
        (None, Some(s)) => bytes(&mut w, s),
        (None, None) => {}
    }
    let base = r.created_at_ns;
    w.extend_from_slice(&base.to_le_bytes());
    if let Some(o) = &r.last_outcome {
        action(&mut w, &o.action);
        if f & flag::FROM != 0 && f & flag::FROM_IS_PREVIOUS == 0 {
            let v = o.from_version.as_deref().unwrap_or_default();
            bytes(&mut w, v.as_bytes());
        }
        if f & flag::TO != 0 && f & flag::TO_IS_VERSION == 0 {
            let v = o.to_version.as_deref().unwrap_or_default();
            bytes(&mut w, v.as_bytes());
        }
        zigzag(&mut w, o.at_ns, base);
        if let Some(e) = &o.error {
            bytes(&mut w, e.as_bytes());
        }
    }
    if let Some(l) = &r.lock {
        action(&mut w, &l.action);
        zigzag(&mut w, l.since_ns, base);
        leb(&mut w, l.epoch);
    }
    if let Some(b) = &r.upgrade_bucket {
        leb(&mut w, u64::from(b.tokens));
        zigzag(&mut w, b.refilled_at_ns, base);
    }
    w
}

/// The record stored under `owner`; None if the bytes are not a record of
/// this format (or are cut short).
pub fn decode(b: &[u8], owner: Principal) -> Option<UserRecord> {
    if b.first()? != &MAGIC {
        return None;
    }
    let mut r = Reader { b, at: 1 };
    let f = u16::from_le_bytes([r.u8()?, r.u8()?]);
    let x = r.u8()?;
    let has = |bit: u16| f & bit != 0;
    let recovery = if has(flag::RECOVERY_IS_OWNER) {
        owner
    } else {
        r.principal()?
    };
    let canister_id = match (has(flag::CANISTER), x & extra::REPLICA_CANISTER != 0) {
        (false, _) => None,
        (true, true) => Some(replica_canister_id(r.u64_be()?)),
        (true, false) => Some(r.principal()?),
    };
    let version = r.opt_string(has(flag::VERSION))?;
    let previous_version = r.opt_string(has(flag::PREVIOUS))?;
    let snapshot_id = if has(flag::SNAPSHOT) {
        let canister = canister_id.as_ref().map(|c| c.as_slice());
        let first = x & extra::SNAPSHOT_COUNTER_FIRST != 0;
        let last = x & extra::SNAPSHOT_COUNTER_LAST != 0;
        Some(match (first, last, canister) {
            (false, false, _) => r.bytes()?.to_vec(),
            (true, false, Some(c)) => [&r.leb()?.to_be_bytes()[..], c].concat(),
            (false, true, Some(c)) => [c, &r.leb()?.to_be_bytes()[..]].concat(),
            _ => return None,
        })
    } else {
        None
    };
    let created_at_ns = r.u64()?;
    let last_outcome = if has(flag::OUTCOME) {
        let action = r.action()?;
        let from_version = match (has(flag::FROM), has(flag::FROM_IS_PREVIOUS)) {
            (false, _) => None,
            (true, true) => previous_version.clone(),
            (true, false) => Some(r.string()?),
        };
        let to_version = match (has(flag::TO), has(flag::TO_IS_VERSION)) {
            (false, _) => None,
            (true, true) => version.clone(),
            (true, false) => Some(r.string()?),
        };
        let at_ns = unzigzag(&mut r, created_at_ns)?;
        let error = r.opt_string(has(flag::ERROR))?;
        Some(Outcome {
            action,
            from_version,
            to_version,
            at_ns,
            error,
        })
    } else {
        None
    };
    let lock = if has(flag::LOCK) {
        Some(Lock {
            action: r.action()?,
            since_ns: unzigzag(&mut r, created_at_ns)?,
            epoch: r.leb()?,
        })
    } else {
        None
    };
    let upgrade_bucket = if has(flag::BUCKET) {
        Some(TokenBucket {
            tokens: u32::try_from(r.leb()?).ok()?,
            refilled_at_ns: unzigzag(&mut r, created_at_ns)?,
        })
    } else {
        None
    };
    let phase = match (f >> flag::PHASE_SHIFT) & 0b11 {
        0 => Phase::Creating,
        1 => Phase::Installing,
        2 => Phase::Ready,
        _ => return None,
    };
    (r.at == b.len()).then_some(UserRecord {
        owner,
        recovery,
        canister_id,
        phase,
        version,
        previous_version,
        snapshot_id,
        last_outcome,
        created_at_ns,
        lock,
        upgrade_bucket,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::footprint_tests::upgraded_user;

    fn round_trip(r: &UserRecord) {
        let bytes = encode(r);
        assert_eq!(decode(&bytes, r.owner).as_ref(), Some(r), "{r:?}");
    }

    #[test]
    fn every_shape_round_trips() {
        let full = upgraded_user(7);
        round_trip(&full);
        let p = |n: u8| Principal::from_slice(&[n; 29]);
        round_trip(&UserRecord::new(p(1), p(1), 5, 2));
        let mut r = full.clone();
        r.recovery = r.owner;
        r.lock = Some(Lock {
            action: "a custom action".into(),
            since_ns: u64::MAX,
            epoch: 300,
        });
        r.last_outcome = Some(Outcome {
            action: "something new".into(),
            from_version: Some("0.1.0".into()),
            to_version: None,
            at_ns: 1,
            error: Some("é".repeat(200)),
        });
        round_trip(&r);
        r.phase = Phase::Installing;
        r.last_outcome.as_mut().unwrap().from_version = None;
        r.last_outcome.as_mut().unwrap().to_version = Some("9.9.9".into());
        r.upgrade_bucket = Some(TokenBucket {
            tokens: u32::MAX,
            refilled_at_ns: 0,
        });
        round_trip(&r);
    }

    #[test]
    fn compact_ids_and_every_other_shape_of_id_round_trip() {
        let mut r = upgraded_user(9);
        let canister = replica_canister_id(u64::MAX - 3);
        r.canister_id = Some(canister);
        for snapshot in [
            [&42u64.to_be_bytes()[..], canister.as_slice()].concat(),
            [canister.as_slice(), &u64::MAX.to_be_bytes()[..]].concat(),
            vec![9; 18],
            vec![],
        ] {
            r.snapshot_id = Some(snapshot);
            round_trip(&r);
        }
        // A replica canister id and a counter snapshot cost 8 + 1 bytes.
        r.snapshot_id = Some([&3u64.to_be_bytes()[..], canister.as_slice()].concat());
        let compact = encode(&r).len();
        r.canister_id = Some(Principal::from_slice(&[7; 10]));
        r.snapshot_id = Some(vec![5; 18]);
        round_trip(&r);
        assert_eq!(encode(&r).len(), compact + 3 + 18);
        r.canister_id = None;
        round_trip(&r);
    }

    #[test]
    fn the_owner_comes_from_the_key_not_the_bytes() {
        let r = upgraded_user(1);
        let bytes = encode(&r);
        assert!(bytes.windows(29).all(|w| w != r.owner.as_slice()));
        let other = Principal::from_slice(&[3; 29]);
        assert_eq!(decode(&bytes, other).map(|d| d.owner), Some(other));
    }

    #[test]
    fn golden_user_record_decodes() {
        let r = upgraded_user(3);
        let golden = crate::golden::bytes("user_record", &encode(&r));
        assert_eq!(decode(&golden, r.owner).as_ref(), Some(&r));
    }

    #[test]
    fn other_encodings_are_refused() {
        let r = upgraded_user(3);
        let candid = candid::encode_one(&r).unwrap();
        assert_eq!(decode(&candid, r.owner), None);
        let mut other_magic = encode(&r);
        other_magic[0] = 0xC5;
        assert_eq!(decode(&other_magic, r.owner), None);
    }

    #[test]
    fn damaged_bytes_are_refused_not_misread() {
        let r = upgraded_user(1);
        let bytes = encode(&r);
        for cut in 1..bytes.len() {
            assert_eq!(decode(&bytes[..cut], r.owner), None, "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer, r.owner), None);
        assert_eq!(decode(&[], r.owner), None);
    }
}
