//! The first compact encoding of [`UserRecord`] (magic 0xC5), which still
//! held the owner. Only decoded: records an earlier factory wrote this way
//! are read as they are and rewritten in the current format
//! (`user_codec`) the next time they change. The encoder is kept for tests.
//!
//! Layout: MAGIC, flags (u16 LE), then the fields present, in order. Lengths
//! and small integers are LEB128; timestamps are u64 LE. Well-known action
//! names are one byte.

use crate::rate_limit::TokenBucket;
#[cfg(test)]
use crate::user_wire::{action, bytes, leb, presence_flags};
use crate::user_wire::{flag, Reader};
use crate::users::{Lock, Outcome, Phase, UserRecord};

const MAGIC: u8 = 0xC5;

#[cfg(test)]
pub fn encode(r: &UserRecord) -> Vec<u8> {
    let mut w = Vec::with_capacity(160);
    let f = presence_flags(r);
    w.push(MAGIC);
    w.extend_from_slice(&f.to_le_bytes());
    bytes(&mut w, r.owner.as_slice());
    if f & flag::RECOVERY_IS_OWNER == 0 {
        bytes(&mut w, r.recovery.as_slice());
    }
    if let Some(c) = &r.canister_id {
        bytes(&mut w, c.as_slice());
    }
    for s in [&r.version, &r.previous_version].into_iter().flatten() {
        bytes(&mut w, s.as_bytes());
    }
    if let Some(s) = &r.snapshot_id {
        bytes(&mut w, s);
    }
    w.extend_from_slice(&r.created_at_ns.to_le_bytes());
    if let Some(o) = &r.last_outcome {
        action(&mut w, &o.action);
        if f & flag::FROM != 0 && f & flag::FROM_IS_PREVIOUS == 0 {
            bytes(
                &mut w,
                o.from_version.as_deref().unwrap_or_default().as_bytes(),
            );
        }
        if f & flag::TO != 0 && f & flag::TO_IS_VERSION == 0 {
            bytes(
                &mut w,
                o.to_version.as_deref().unwrap_or_default().as_bytes(),
            );
        }
        w.extend_from_slice(&o.at_ns.to_le_bytes());
        if let Some(e) = &o.error {
            bytes(&mut w, e.as_bytes());
        }
    }
    if let Some(l) = &r.lock {
        action(&mut w, &l.action);
        w.extend_from_slice(&l.since_ns.to_le_bytes());
        leb(&mut w, l.epoch);
    }
    if let Some(b) = &r.upgrade_bucket {
        leb(&mut w, u64::from(b.tokens));
        w.extend_from_slice(&b.refilled_at_ns.to_le_bytes());
    }
    w
}

/// None if the bytes are not a record of this format (or are cut short).
pub fn decode(b: &[u8]) -> Option<UserRecord> {
    let mut r = Reader { b, at: 0 };
    if r.u8()? != MAGIC {
        return None;
    }
    let f = u16::from_le_bytes([r.u8()?, r.u8()?]);
    let has = |bit: u16| f & bit != 0;
    let owner = r.principal()?;
    let recovery = if has(flag::RECOVERY_IS_OWNER) {
        owner
    } else {
        r.principal()?
    };
    let canister_id = if has(flag::CANISTER) {
        Some(r.principal()?)
    } else {
        None
    };
    let version = r.opt_string(has(flag::VERSION))?;
    let previous_version = r.opt_string(has(flag::PREVIOUS))?;
    let snapshot_id = if has(flag::SNAPSHOT) {
        Some(r.bytes()?.to_vec())
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
        let at_ns = r.u64()?;
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
            since_ns: r.u64()?,
            epoch: r.leb()?,
        })
    } else {
        None
    };
    let upgrade_bucket = if has(flag::BUCKET) {
        Some(TokenBucket {
            tokens: u32::try_from(r.leb()?).ok()?,
            refilled_at_ns: r.u64()?,
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
    use candid::Principal;

    #[test]
    fn records_of_the_first_form_round_trip() {
        let full = upgraded_user(7);
        assert_eq!(decode(&encode(&full)).as_ref(), Some(&full));
        let p = |n: u8| Principal::from_slice(&[n; 29]);
        let fresh = UserRecord::new(p(1), p(1), 5, 2);
        assert_eq!(decode(&encode(&fresh)).as_ref(), Some(&fresh));
    }

    #[test]
    fn damaged_bytes_are_refused_not_misread() {
        let bytes = encode(&upgraded_user(1));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
    }
}
