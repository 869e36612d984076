//! The cycles-ledger double's books: balances, ICRC-2 allowances and the
//! deduplication window, as plain data (no emulator types), so the rules are
//! tested natively. Every amount is in cycles; the ledger's own canister
//! balance is not modelled (a deposit mints, a withdrawal burns, as the real
//! ledger's blocks say).

use candid::Principal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `FEE` (dfinity/cycles-ledger `cycles-ledger/src/config.rs`): charged on
/// transfer, approve, withdraw and create_canister; also the least `deposit`
/// takes.
pub const FEE: u128 = 100_000_000;

/// ICRC-1's deduplication window (`TRANSACTION_WINDOW`, 24 h) and the clock
/// drift it permits (`PERMITTED_DRIFT`, 2 min), cycles-ledger `config.rs`.
pub const TRANSACTION_WINDOW_NS: u64 = 24 * 60 * 60 * 1_000_000_000;
pub const PERMITTED_DRIFT_NS: u64 = 2 * 60 * 1_000_000_000;

/// An ICRC-1 account with its effective subaccount (none = 32 zero bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Account {
    pub owner: Principal,
    pub subaccount: [u8; 32],
}

impl Account {
    pub fn new(owner: Principal, subaccount: Option<&[u8]>) -> Option<Self> {
        let subaccount = match subaccount {
            None => [0; 32],
            Some(s) => s.try_into().ok()?,
        };
        Some(Account { owner, subaccount })
    }

    pub fn of(owner: Principal) -> Self {
        Account {
            owner,
            subaccount: [0; 32],
        }
    }
}

/// An ICRC-2 allowance: `expires_at` 0 means never.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    pub amount: u128,
    pub expires_at: u64,
}

/// A transaction remembered for deduplication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recent {
    pub created_at_time: u64,
    pub block: u64,
    /// The canister a `create_canister` made (its `Duplicate` names it).
    pub canister: Option<Principal>,
}

/// Why a transaction with `created_at_time` is refused (ICRC-1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dedup {
    TooOld,
    CreatedInFuture { ledger_time: u64 },
    Duplicate(Recent),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    #[serde(with = "pairs")]
    balances: BTreeMap<Account, u128>,
    #[serde(with = "pairs")]
    allowances: BTreeMap<(Account, Account), Allowance>,
    /// Transaction key → what it was, while inside the window.
    #[serde(with = "pairs")]
    recent: BTreeMap<String, Recent>,
    /// Blocks written so far (the next block's index).
    blocks: u64,
}

impl Book {
    pub fn balance(&self, a: &Account) -> u128 {
        self.balances.get(a).copied().unwrap_or(0)
    }

    pub fn total_supply(&self) -> u128 {
        self.balances.values().sum()
    }

    pub fn credit(&mut self, a: Account, amount: u128) {
        let b = self.balances.entry(a).or_insert(0);
        *b = b.saturating_add(amount);
    }

    /// Takes `amount`, or says the balance it has.
    pub fn debit(&mut self, a: Account, amount: u128) -> Result<(), u128> {
        let balance = self.balance(&a);
        if balance < amount {
            return Err(balance);
        }
        if balance == amount {
            self.balances.remove(&a);
        } else {
            self.balances.insert(a, balance - amount);
        }
        Ok(())
    }

    /// The allowance `from` gave `spender`; an expired one is none.
    pub fn allowance(&self, from: &Account, spender: &Account, now: u64) -> Allowance {
        match self.allowances.get(&(*from, *spender)) {
            Some(a) if a.expires_at == 0 || a.expires_at > now => *a,
            _ => Allowance::default(),
        }
    }

    /// Sets the allowance (0 removes it), as `record_approval` does.
    pub fn set_allowance(&mut self, from: Account, spender: Account, allowance: Allowance) {
        if allowance.amount == 0 {
            self.allowances.remove(&(from, spender));
        } else {
            self.allowances.insert((from, spender), allowance);
        }
    }

    /// Lowers the allowance by `amount`, or says the allowance there is.
    pub fn use_allowance(
        &mut self,
        from: &Account,
        spender: &Account,
        amount: u128,
        now: u64,
    ) -> Result<(), u128> {
        let current = self.allowance(from, spender, now);
        if current.amount < amount {
            return Err(current.amount);
        }
        self.set_allowance(
            *from,
            *spender,
            Allowance {
                amount: current.amount - amount,
                expires_at: current.expires_at,
            },
        );
        Ok(())
    }

    /// ICRC-1 deduplication of a transaction carrying `created_at_time`
    /// (cycles-ledger `storage.rs` `deduplicate`); without one nothing is checked.
    pub fn check_recent(
        &mut self,
        key: &str,
        created_at_time: Option<u64>,
        now: u64,
    ) -> Result<(), Dedup> {
        self.prune(now);
        let Some(t) = created_at_time else {
            return Ok(());
        };
        if t.saturating_add(TRANSACTION_WINDOW_NS + PERMITTED_DRIFT_NS) < now {
            return Err(Dedup::TooOld);
        }
        if t > now.saturating_add(PERMITTED_DRIFT_NS) {
            return Err(Dedup::CreatedInFuture { ledger_time: now });
        }
        match self.recent.get(key) {
            Some(r) => Err(Dedup::Duplicate(r.clone())),
            None => Ok(()),
        }
    }

    /// Writes a block; one with `created_at_time` is remembered for the window.
    pub fn block(
        &mut self,
        key: &str,
        created_at_time: Option<u64>,
        canister: Option<Principal>,
    ) -> u64 {
        let block = self.blocks;
        self.blocks += 1;
        if let Some(created_at_time) = created_at_time {
            self.recent.insert(
                key.to_string(),
                Recent {
                    created_at_time,
                    block,
                    canister,
                },
            );
        }
        block
    }

    fn prune(&mut self, now: u64) {
        self.recent.retain(|_, r| {
            r.created_at_time
                .saturating_add(TRANSACTION_WINDOW_NS + PERMITTED_DRIFT_NS)
                >= now
        });
        self.allowances
            .retain(|_, a| a.expires_at == 0 || a.expires_at > now);
    }
}

/// A map saved as a list of pairs (JSON keys must be strings).
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Account {
        Account::of(Principal::from_slice(&[1]))
    }
    fn bob() -> Account {
        Account::of(Principal::from_slice(&[2]))
    }

    #[test]
    fn a_debit_above_the_balance_is_refused_and_changes_nothing() {
        let mut b = Book::default();
        b.credit(alice(), 10);
        assert_eq!(b.debit(alice(), 11), Err(10));
        assert_eq!(b.balance(&alice()), 10);
        assert_eq!(b.debit(alice(), 10), Ok(()));
        assert_eq!(b.balance(&alice()), 0);
    }

    #[test]
    fn an_allowance_is_used_up_and_expires() {
        let mut b = Book::default();
        let a = Allowance {
            amount: 100,
            expires_at: 50,
        };
        b.set_allowance(alice(), bob(), a);
        assert_eq!(b.use_allowance(&alice(), &bob(), 101, 10), Err(100));
        assert_eq!(b.use_allowance(&alice(), &bob(), 60, 10), Ok(()));
        assert_eq!(b.allowance(&alice(), &bob(), 10).amount, 40);
        assert_eq!(b.allowance(&alice(), &bob(), 50).amount, 0, "expired at 50");
    }

    #[test]
    fn a_transaction_is_deduplicated_inside_the_window_only() {
        let mut b = Book::default();
        let now = 10 * TRANSACTION_WINDOW_NS;
        assert_eq!(b.check_recent("t", Some(now), now), Ok(()));
        let block = b.block("t", Some(now), None);
        match b.check_recent("t", Some(now), now + 1) {
            Err(Dedup::Duplicate(r)) => assert_eq!(r.block, block),
            other => panic!("expected Duplicate, got {other:?}"),
        }
        assert_eq!(b.check_recent("u", Some(now), now), Ok(()), "another key");
        assert_eq!(b.check_recent("t", None, now), Ok(()), "no created_at_time");
        let later = now + TRANSACTION_WINDOW_NS + PERMITTED_DRIFT_NS + 1;
        assert_eq!(b.check_recent("t", Some(now), later), Err(Dedup::TooOld));
        assert_eq!(
            b.check_recent("t", Some(later + PERMITTED_DRIFT_NS + 1), later),
            Err(Dedup::CreatedInFuture { ledger_time: later })
        );
    }

    #[test]
    fn the_books_survive_a_json_round_trip() {
        let mut b = Book::default();
        b.credit(alice(), u128::MAX / 3);
        b.set_allowance(
            alice(),
            bob(),
            Allowance {
                amount: 7,
                expires_at: 0,
            },
        );
        b.block("t", Some(5), Some(Principal::from_slice(&[9])));
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<Book>(&json).unwrap(), b);
    }
}
