//! Byte-level pieces shared by the user record codecs: LEB128 integers,
//! length-prefixed bytes, one-byte action names, and a reader that returns
//! None instead of panicking on short or malformed input.

use crate::users::{Phase, UserRecord};
use candid::Principal;

/// Action names written as one byte (index + 1; 0 = the name follows).
pub const ACTIONS: &[&str] = &[
    "provision",
    "upgrade",
    "rollout_upgrade",
    "on_demand_upgrade",
    "restore_snapshot",
    "reinstall_last_good",
    "rotate_recovery",
    "detach",
];

pub fn leb(w: &mut Vec<u8>, mut x: u64) {
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

pub fn bytes(w: &mut Vec<u8>, b: &[u8]) {
    leb(w, b.len() as u64);
    w.extend_from_slice(b);
}

pub fn action(w: &mut Vec<u8>, name: &str) {
    match ACTIONS.iter().position(|a| *a == name) {
        Some(i) => w.push(i as u8 + 1),
        None => {
            w.push(0);
            bytes(w, name.as_bytes());
        }
    }
}

pub struct Reader<'a> {
    pub b: &'a [u8],
    pub at: usize,
}

impl Reader<'_> {
    pub fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn u64_be(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn leb(&mut self) -> Option<u64> {
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
    pub fn bytes(&mut self) -> Option<&[u8]> {
        let n = usize::try_from(self.leb()?).ok()?;
        self.take(n)
    }
    pub fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
    pub fn opt_string(&mut self, present: bool) -> Option<Option<String>> {
        if present {
            Some(Some(self.string()?))
        } else {
            Some(None)
        }
    }
    pub fn principal(&mut self) -> Option<Principal> {
        Principal::try_from_slice(self.bytes()?).ok()
    }
    pub fn action(&mut self) -> Option<String> {
        match self.u8()? {
            0 => self.string(),
            i => ACTIONS.get(usize::from(i) - 1).map(|a| a.to_string()),
        }
    }
}

/// Which parts of a user record are present, shared by every codec version.
pub mod flag {
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

/// The presence bits of `r` (parts, shortcuts and phase).
pub fn presence_flags(r: &UserRecord) -> u16 {
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
    f
}
