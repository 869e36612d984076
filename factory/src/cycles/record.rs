//! What the keeper remembers about one user canister, stored in a fixed
//! layout (one B-tree entry per canister, no Candid).
//!
//! ```text
//! offset size field
//!      0    2 magic "KC"
//!      2    1 version (1)
//!      3    1 health: 0 unknown, 1 healthy, 2 at risk
//!      4    1 at-risk reason: 0 budget exhausted, 1 factory reserve
//!      5   16 balance            (u128 little endian, as all below)
//!     21   16 burn_per_day
//!     37   16 freezing_limit
//!     53    8 observed_ns        (u64)
//!     61    8 period_start_ns
//!     69   16 spent_in_period
//!     85   16 topped_up_total
//!    101    8 due_ns             (its key in the due queue; 0: none)
//!    109    8 last_notice_ns
//!    117      end
//! ```

use candid::Principal;
use factory_api::{AtRiskReason, CanisterCyclesView, CyclesHealth};
use ic_stable_structures::storable::{Bound, Storable};
use std::borrow::Cow;

const MAGIC: &[u8; 2] = b"KC";
const VERSION: u8 = 1;
pub const SIZE: usize = 117;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanisterCycles {
    pub health: CyclesHealth,
    pub balance: u128,
    pub burn_per_day: u128,
    pub freezing_limit: u128,
    pub observed_ns: u64,
    pub period_start_ns: u64,
    pub spent_in_period: u128,
    pub topped_up_total: u128,
    pub due_ns: u64,
    pub last_notice_ns: u64,
}

impl Default for CanisterCycles {
    fn default() -> Self {
        CanisterCycles {
            health: CyclesHealth::Unknown,
            balance: 0,
            burn_per_day: 0,
            freezing_limit: 0,
            observed_ns: 0,
            period_start_ns: 0,
            spent_in_period: 0,
            topped_up_total: 0,
            due_ns: 0,
            last_notice_ns: 0,
        }
    }
}

const DAY_NS: u128 = 86_400_000_000_000;

impl CanisterCycles {
    /// When it reaches `level` at its burn rate (None: not burning).
    pub fn reaches_ns(&self, level: u128) -> Option<u64> {
        if self.burn_per_day == 0 {
            return None;
        }
        let left = self.balance.saturating_sub(level);
        let ns = left.saturating_mul(DAY_NS) / self.burn_per_day;
        Some(
            self.observed_ns
                .saturating_add(u64::try_from(ns).unwrap_or(u64::MAX)),
        )
    }

    pub fn view(&self, canister_id: Principal) -> CanisterCyclesView {
        CanisterCyclesView {
            canister_id,
            health: self.health,
            balance: self.balance,
            burn_per_day: self.burn_per_day,
            freezing_limit: self.freezing_limit,
            observed_at_ns: self.observed_ns,
            freezes_at_ns: self.reaches_ns(self.freezing_limit),
            spent_this_period: self.spent_in_period,
            topped_up_total: self.topped_up_total,
        }
    }

    fn encode(&self) -> [u8; SIZE] {
        let mut b = [0u8; SIZE];
        b[..2].copy_from_slice(MAGIC);
        b[2] = VERSION;
        (b[3], b[4]) = match self.health {
            CyclesHealth::Unknown => (0, 0),
            CyclesHealth::Healthy => (1, 0),
            CyclesHealth::AtRisk { reason } => (2, reason_code(reason)),
        };
        let mut at = 5;
        for v in [self.balance, self.burn_per_day, self.freezing_limit] {
            b[at..at + 16].copy_from_slice(&v.to_le_bytes());
            at += 16;
        }
        for v in [self.observed_ns, self.period_start_ns] {
            b[at..at + 8].copy_from_slice(&v.to_le_bytes());
            at += 8;
        }
        for v in [self.spent_in_period, self.topped_up_total] {
            b[at..at + 16].copy_from_slice(&v.to_le_bytes());
            at += 16;
        }
        for v in [self.due_ns, self.last_notice_ns] {
            b[at..at + 8].copy_from_slice(&v.to_le_bytes());
            at += 8;
        }
        b
    }

    /// Decodes what `encode` wrote; anything else is a typed error.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        if b.len() != SIZE || &b[..2] != MAGIC {
            return Err(DecodeError::NotARecord);
        }
        if b[2] != VERSION {
            return Err(DecodeError::UnknownVersion(b[2]));
        }
        let u128_at = |at: usize| u128::from_le_bytes(b[at..at + 16].try_into().unwrap_or([0; 16]));
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
        let health = match (b[3], b[4]) {
            (0, _) => CyclesHealth::Unknown,
            (1, _) => CyclesHealth::Healthy,
            (2, 0) => CyclesHealth::AtRisk {
                reason: AtRiskReason::BudgetExhausted,
            },
            (2, 1) => CyclesHealth::AtRisk {
                reason: AtRiskReason::FactoryReserve,
            },
            (h, r) => return Err(DecodeError::BadHealth(h, r)),
        };
        Ok(CanisterCycles {
            health,
            balance: u128_at(5),
            burn_per_day: u128_at(21),
            freezing_limit: u128_at(37),
            observed_ns: u64_at(53),
            period_start_ns: u64_at(61),
            spent_in_period: u128_at(69),
            topped_up_total: u128_at(85),
            due_ns: u64_at(101),
            last_notice_ns: u64_at(109),
        })
    }
}

fn reason_code(r: AtRiskReason) -> u8 {
    match r {
        AtRiskReason::BudgetExhausted => 0,
        AtRiskReason::FactoryReserve => 1,
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a keeper record (size or magic)")]
    NotARecord,
    #[error("keeper record version {0} is newer than this factory")]
    UnknownVersion(u8),
    #[error("bad health code {0}/{1}")]
    BadHealth(u8, u8),
}

impl Storable for CanisterCycles {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.encode().to_vec())
    }
    fn into_bytes(self) -> Vec<u8> {
        self.encode().to_vec()
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        // Only this factory writes the map; a record it cannot read (a newer
        // module's, after a downgrade) counts as never read, and the next
        // sweep reads the canister again.
        Self::decode(&bytes).unwrap_or_default()
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: SIZE as u32,
        is_fixed_size: true,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CanisterCycles {
        CanisterCycles {
            health: CyclesHealth::AtRisk {
                reason: AtRiskReason::FactoryReserve,
            },
            balance: 1_234_567_890_123,
            burn_per_day: 98_765_432_100,
            freezing_limit: 55_000_000_000,
            observed_ns: 1_700_000_000_000_000_000,
            period_start_ns: 1_699_000_000_000_000_000,
            spent_in_period: 3_000_000_000_000,
            topped_up_total: 42_000_000_000_000,
            due_ns: 1_700_000_100_000_000_000,
            last_notice_ns: 1_699_999_000_000_000_000,
        }
    }

    const GOLDEN: &str = "src/cycles/golden/canister_cycles_v1.bin";

    /// The committed bytes of version 1 decode to the same record; a change
    /// of layout must add a version, not change this file
    /// (`UPDATE_GOLDEN=1` writes it, for a new file only).
    #[test]
    fn cycles_record_golden_bytes_decode() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, sample().to_bytes()).expect("writes the golden file");
        }
        let golden = std::fs::read(&path).expect("the golden file is committed");
        assert_eq!(CanisterCycles::decode(&golden), Ok(sample()));
        assert_eq!(sample().to_bytes().as_ref(), &golden[..]);
    }

    #[test]
    fn cycles_record_round_trips_and_refuses_bad_bytes() {
        for health in [
            CyclesHealth::Unknown,
            CyclesHealth::Healthy,
            CyclesHealth::AtRisk {
                reason: AtRiskReason::BudgetExhausted,
            },
        ] {
            let r = CanisterCycles { health, ..sample() };
            assert_eq!(CanisterCycles::from_bytes(r.to_bytes()), r);
        }
        let mut bytes = sample().to_bytes().to_vec();
        assert_eq!(
            CanisterCycles::decode(&bytes[1..]),
            Err(DecodeError::NotARecord)
        );
        bytes[2] = 9;
        assert_eq!(
            CanisterCycles::decode(&bytes),
            Err(DecodeError::UnknownVersion(9))
        );
        bytes[2] = VERSION;
        bytes[3] = 7;
        assert_eq!(
            CanisterCycles::decode(&bytes),
            Err(DecodeError::BadHealth(7, 1))
        );
    }

    #[test]
    fn cycles_record_predicts_when_it_freezes() {
        let r = CanisterCycles {
            balance: 3_000,
            burn_per_day: 1_000,
            freezing_limit: 1_000,
            observed_ns: 10,
            ..Default::default()
        };
        assert_eq!(r.reaches_ns(1_000), Some(10 + 2 * DAY_NS as u64));
        assert_eq!(CanisterCycles::default().reaches_ns(0), None);
    }
}
