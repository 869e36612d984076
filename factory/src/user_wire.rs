//! Byte-level pieces shared by the user record codecs: LEB128 integers,
//! length-prefixed bytes, one-byte action names, and a reader that returns
//! None instead of panicking on short or malformed input.

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
