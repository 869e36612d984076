//! A compact binary encoding of [`UserRecord`], the one value stored per
//! user: about 40 % of its Candid size (Candid repeats the record's type
//! table in every value). Records written as Candid by an earlier factory
//! still decode (they start with "DIDL"; this format with `MAGIC`), so an
//! upgrade needs no migration pass; each record is rewritten compactly the
//! next time it changes.
//!
//! Layout: MAGIC, flags (u16 LE), then the fields present, in order. Lengths
//! and small integers are LEB128; timestamps are u64 LE. Well-known action
//! names are one byte.

use crate::rate_limit::TokenBucket;
use crate::users::{Lock, Outcome, Phase, UserRecord};
use candid::Principal;

const MAGIC: u8 = 0xC5;

mod flag {
    pub const CANISTER: u16 = 1;
    pub const VERSION: u16 = 1 << 1;
    pub const PREVIOUS: u16 = 1 << 2;
    pub const SNAPSHOT: u16 = 1 << 3;
    pub const OUTCOME: u16 = 1 << 4;
    pub const LOCK: u16 = 1 << 5;
    pub const BUCKET: u16 = 1 << 6;
    pub const RECOVERY_IS_OWNER: u16 = 1 << 7;
    pub const PHASE_SHIFT: u16 = 8; // two bits
    pub const FROM: u16 = 1 << 10;
    pub const FROM_IS_PREVIOUS: u16 = 1 << 11;
    pub const TO: u16 = 1 << 12;
    pub const TO_IS_VERSION: u16 = 1 << 13;
    pub const ERROR: u16 = 1 << 14;
}

/// Action names written as one byte (index + 1; 0 = the name follows).
const ACTIONS: &[&str] = &[
    "provision",
    "upgrade",
    "rollout_upgrade",
    "on_demand_upgrade",
    "restore_snapshot",
    "reinstall_last_good",
    "rotate_recovery",
    "detach",
];

pub fn encode(r: &UserRecord) -> Vec<u8> {
    let mut w = Vec::with_capacity(160);
    let mut f: u16 = 0;
    let mut set = |cond: bool, bit: u16| {
        if cond {
            f |= bit
        }
    };
    set(r.canister_id.is_some(), flag::CANISTER);
    set(r.version.is_some(), flag::VERSION);
    set(r.previous_version.is_some(), flag::PREVIOUS);
    set(r.snapshot_id.is_some(), flag::SNAPSHOT);
    set(r.last_outcome.is_some(), flag::OUTCOME);
    set(r.lock.is_some(), flag::LOCK);
    set(r.upgrade_bucket.is_some(), flag::BUCKET);
    set(r.recovery == r.owner, flag::RECOVERY_IS_OWNER);
    if let Some(o) = &r.last_outcome {
        set(o.from_version.is_some(), flag::FROM);
        set(
            o.from_version.is_some() && o.from_version == r.previous_version,
            flag::FROM_IS_PREVIOUS,
        );
        set(o.to_version.is_some(), flag::TO);
        set(
            o.to_version.is_some() && o.to_version == r.version,
            flag::TO_IS_VERSION,
        );
        set(o.error.is_some(), flag::ERROR);
    }
    let phase: u16 = match r.phase {
        Phase::Creating => 0,
        Phase::Installing => 1,
        Phase::Ready => 2,
    };
    f |= phase << flag::PHASE_SHIFT;
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

fn leb(w: &mut Vec<u8>, mut x: u64) {
    loop {
        let byte = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            w.push(byte);
            return;
        }
        w.push(byte | 0x80);
    }
}

fn bytes(w: &mut Vec<u8>, b: &[u8]) {
    leb(w, b.len() as u64);
    w.extend_from_slice(b);
}

fn action(w: &mut Vec<u8>, name: &str) {
    match ACTIONS.iter().position(|a| *a == name) {
        Some(i) => w.push(i as u8 + 1),
        None => {
            w.push(0);
            bytes(w, name.as_bytes());
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn leb(&mut self) -> Option<u64> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            x |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(x);
            }
        }
        None
    }
    fn bytes(&mut self) -> Option<&[u8]> {
        let n = usize::try_from(self.leb()?).ok()?;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
    fn opt_string(&mut self, present: bool) -> Option<Option<String>> {
        if present {
            Some(Some(self.string()?))
        } else {
            Some(None)
        }
    }
    fn principal(&mut self) -> Option<Principal> {
        Principal::try_from_slice(self.bytes()?).ok()
    }
    fn action(&mut self) -> Option<String> {
        match self.u8()? {
            0 => self.string(),
            i => ACTIONS.get(usize::from(i) - 1).map(|a| a.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::footprint_tests::upgraded_user;

    fn round_trip(r: &UserRecord) {
        let bytes = encode(r);
        assert_eq!(decode(&bytes).as_ref(), Some(r), "{r:?}");
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
    fn candid_records_of_an_earlier_factory_still_decode() {
        use ic_stable_structures::Storable;
        let r = upgraded_user(3);
        let legacy = candid::encode_one(&r).unwrap();
        assert_eq!(UserRecord::from_bytes(legacy.into()), r);
        let compact = r.to_bytes();
        assert!(compact.len() * 2 < candid::encode_one(&r).unwrap().len());
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
