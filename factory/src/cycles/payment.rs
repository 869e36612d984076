//! What the factory remembers of a user's payment for their canister, one
//! per owner, in a fixed layout:
//!
//! ```text
//! offset size field
//!      0    2 magic "PY"
//!      2    1 version (1)
//!      3    1 state: 1 paid, 2 consumed (the canister exists), 3 refunded
//!      4    8 created_at_time (u64 little endian)
//!     12   16 amount          (u128 little endian)
//!     28      end
//! ```

use ic_stable_structures::storable::{Bound, Storable};
use std::borrow::Cow;

const MAGIC: &[u8; 2] = b"PY";
const VERSION: u8 = 1;
pub const SIZE: usize = 28;

/// The cycles ledger's fee for `withdraw_from` (dfinity/cycles-ledger,
/// INTERFACE_SPECIFICATION.md: "A fee of 100M cycles is deducted").
pub const LEDGER_FEE: u128 = 100_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentState {
    /// The factory has the cycles; no canister was created with them yet.
    Paid,
    /// A canister was created with them.
    Consumed,
    /// Given back to the payer's ledger account.
    Refunded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payment {
    pub state: PaymentState,
    pub created_at_time: u64,
    pub amount: u128,
}

impl Payment {
    fn encode(&self) -> [u8; SIZE] {
        let mut b = [0u8; SIZE];
        b[..2].copy_from_slice(MAGIC);
        b[2] = VERSION;
        b[3] = match self.state {
            PaymentState::Paid => 1,
            PaymentState::Consumed => 2,
            PaymentState::Refunded => 3,
        };
        b[4..12].copy_from_slice(&self.created_at_time.to_le_bytes());
        b[12..28].copy_from_slice(&self.amount.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != SIZE || &b[..2] != MAGIC || b[2] != VERSION {
            return None;
        }
        let state = match b[3] {
            1 => PaymentState::Paid,
            2 => PaymentState::Consumed,
            3 => PaymentState::Refunded,
            _ => return None,
        };
        Some(Payment {
            state,
            created_at_time: u64::from_le_bytes(b[4..12].try_into().ok()?),
            amount: u128::from_le_bytes(b[12..28].try_into().ok()?),
        })
    }
}

impl Storable for Payment {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.encode().to_vec())
    }
    fn into_bytes(self) -> Vec<u8> {
        self.encode().to_vec()
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        // Unreadable (a newer module's record after a downgrade): treated as
        // paid, so the payer is never charged again for it.
        Self::decode(&bytes).unwrap_or(Payment {
            state: PaymentState::Paid,
            created_at_time: 0,
            amount: 0,
        })
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: SIZE as u32,
        is_fixed_size: true,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = "src/cycles/golden/payment_v1.bin";

    fn sample() -> Payment {
        Payment {
            state: PaymentState::Refunded,
            created_at_time: 1_700_000_000_000_000_000,
            amount: 1_500_000_000_000,
        }
    }

    #[test]
    fn cycles_payment_golden_bytes_decode() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, sample().to_bytes()).expect("writes the golden file");
        }
        let golden = std::fs::read(&path).expect("the golden file is committed");
        assert_eq!(Payment::decode(&golden), Some(sample()));
        assert_eq!(sample().to_bytes().as_ref(), &golden[..]);
        assert_eq!(Payment::decode(&golden[1..]), None);
    }
}
