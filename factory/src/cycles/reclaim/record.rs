//! What the factory keeps about a reclaimed canister, in a fixed layout
//! (one B-tree entry per reclaimed canister, no Candid).
//!
//! ```text
//! offset size field
//!      0    2 magic "RC"
//!      2    1 version (1)
//!      3    1 snapshot id length n (at most 64)
//!      4    8 last_active_ns      (u64 little endian, as all below)
//!     12    8 reclaimed_at_ns
//!     20   16 cycles_at_reclaim   (u128)
//!     36    n snapshot id
//!   36+n      end
//! ```

use ic_stable_structures::storable::{Bound, Storable};
use std::borrow::Cow;

const MAGIC: &[u8; 2] = b"RC";
const VERSION: u8 = 1;
const HEADER: usize = 36;
/// A snapshot id is the canister id and a local number (at most 37 bytes on
/// the IC, `rs/types/types/src/snapshot.rs`); room to spare.
pub const MAX_SNAPSHOT_ID: usize = 64;
pub const MAX_SIZE: usize = HEADER + MAX_SNAPSHOT_ID;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Reclaimed {
    pub snapshot_id: Vec<u8>,
    pub last_active_ns: u64,
    pub reclaimed_at_ns: u64,
    pub cycles_at_reclaim: u128,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a reclaim record (size or magic)")]
    NotARecord,
    #[error("reclaim record version {0} is newer than this factory")]
    UnknownVersion(u8),
}

impl Reclaimed {
    /// None when the snapshot id is too long to store (the IC's are not).
    pub fn encode(&self) -> Option<Vec<u8>> {
        let n = self.snapshot_id.len();
        if n > MAX_SNAPSHOT_ID {
            return None;
        }
        let mut b = Vec::with_capacity(HEADER + n);
        b.extend_from_slice(MAGIC);
        b.push(VERSION);
        b.push(n as u8);
        for v in [self.last_active_ns, self.reclaimed_at_ns] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&self.cycles_at_reclaim.to_le_bytes());
        b.extend_from_slice(&self.snapshot_id);
        Some(b)
    }

    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        if b.len() < HEADER || &b[..2] != MAGIC {
            return Err(DecodeError::NotARecord);
        }
        if b[2] != VERSION {
            return Err(DecodeError::UnknownVersion(b[2]));
        }
        let n = usize::from(b[3]);
        if b.len() != HEADER + n {
            return Err(DecodeError::NotARecord);
        }
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
        Ok(Reclaimed {
            last_active_ns: u64_at(4),
            reclaimed_at_ns: u64_at(12),
            cycles_at_reclaim: u128::from_le_bytes(b[20..36].try_into().unwrap_or([0; 16])),
            snapshot_id: b[HEADER..].to_vec(),
        })
    }
}

impl Storable for Reclaimed {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        // The store refuses a record it cannot encode before writing it.
        Cow::Owned(self.encode().unwrap_or_default())
    }
    fn into_bytes(self) -> Vec<u8> {
        self.encode().unwrap_or_default()
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        // Only this factory writes the map. A record it cannot read (a newer
        // module's, after a downgrade) keeps the canister reclaimed with no
        // snapshot: `revive` then says so instead of loading a wrong one.
        Self::decode(&bytes).unwrap_or_default()
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: MAX_SIZE as u32,
        is_fixed_size: false,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Reclaimed {
        Reclaimed {
            snapshot_id: (0u8..37).collect(),
            last_active_ns: 1_700_000_000_000_000_000,
            reclaimed_at_ns: 1_715_000_000_000_000_000,
            cycles_at_reclaim: 812_345_678_901,
        }
    }

    const GOLDEN: &str = "src/cycles/golden/reclaimed_v1.bin";

    /// The committed bytes of version 1 decode to the same record
    /// (`UPDATE_GOLDEN=1` writes it, for a new file only).
    #[test]
    fn cycles_reclaim_record_golden_bytes_decode() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, sample().to_bytes()).expect("writes the golden file");
        }
        let golden = std::fs::read(&path).expect("the golden file is committed");
        assert_eq!(Reclaimed::decode(&golden), Ok(sample()));
        assert_eq!(sample().to_bytes().as_ref(), &golden[..]);
    }

    #[test]
    fn cycles_reclaim_record_refuses_bad_bytes() {
        let bytes = sample().to_bytes().to_vec();
        assert_eq!(Reclaimed::from_bytes(Cow::Borrowed(&bytes)), sample());
        assert_eq!(
            Reclaimed::decode(&bytes[..bytes.len() - 1]),
            Err(DecodeError::NotARecord)
        );
        let mut newer = bytes.clone();
        newer[2] = 2;
        assert_eq!(
            Reclaimed::decode(&newer),
            Err(DecodeError::UnknownVersion(2))
        );
        let long = Reclaimed {
            snapshot_id: vec![0; MAX_SNAPSHOT_ID + 1],
            ..sample()
        };
        assert_eq!(long.encode(), None);
    }
}
