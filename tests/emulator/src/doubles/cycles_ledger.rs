//! A **test double** of the cycles ledger (`um5iw-rqaaa-aaaaq-qaaba-cai`),
//! answering the methods the factory and icp-cli call, with the Candid of
//! dfinity/cycles-ledger `cycles-ledger/cycles-ledger.did` and the rules of
//! its `INTERFACE_SPECIFICATION.md` and `cycles-ledger/src/storage.rs`:
//!
//! | method | what it does here |
//! | --- | --- |
//! | `icrc1_balance_of`, `icrc1_fee`, `icrc1_decimals`, `icrc1_symbol`, `icrc1_name`, `icrc2_allowance` | queries (also callable as updates) |
//! | `icrc1_transfer` | `amount + FEE` from the caller's account, `amount` to `to` |
//! | `icrc2_approve` | sets the allowance (`expected_allowance`, `expires_at` checked), `FEE` from the approver |
//! | `deposit` | credits `to` with every attached cycle; fewer than `FEE` attached: rejected |
//! | `withdraw`, `withdraw_from` | `amount + FEE` from the account (`withdraw_from`: from the allowance too), `amount` deposited to canister `to` |
//! | `create_canister` | `amount + FEE` from the caller's account; the CMC double's creation with `amount` (`creation_args`: settings, `subnet_selection`), controlled by the caller unless the settings say |
//!
//! Every update with `created_at_time` is deduplicated for 24 h (ICRC-1):
//! the same caller sending the same argument again gets `Duplicate`
//! (`create_canister`'s names the canister), one older than the window
//! `TooOld`, one more than 2 min ahead `CreatedInFuture`. A `fee` other than
//! `FEE` is `BadFee`.
//!
//! Failures keep what the real ledger keeps: a withdrawal to a canister that
//! does not exist costs `2 × FEE` (`FailedToWithdraw`; the burn is refunded
//! less a penalty `FEE`), `withdraw_from`'s `3 × FEE` of the balance and
//! allowance (cycles-ledger `tests/tests.rs`, withdraw_from to a deleted
//! canister); a failed `create_canister` refunds what the CMC refunds
//! (`amount` less its `BAD_REQUEST_CYCLES_PENALTY`), so it costs `FEE` plus
//! that penalty. A principal that is not a canister id is `InvalidReceiver`.
//!
//! Left out: blocks and their certification (ICRC-3: the double counts block
//! indices only), memos' length limit, `icrc2_transfer_from`,
//! `create_canister_from`, `icrc103_get_allowances`, the index canister, and
//! every other method (rejected as not found). Replies come after the hops
//! the real ledger's nested calls take (one for a book-keeping update, three
//! for a withdrawal through the subnet's management canister, five for a
//! creation through the CMC).
//!
//! Funding an account in tests: `deposit` with cycles attached from a
//! canister (as on the IC), or the test-only `Emulator::mint_ledger_cycles`
//! (what a local network's launcher does for the developer's identity).

mod book;
pub mod types;

pub use book::{Account, Book, FEE, PERMITTED_DRIFT_NS, TRANSACTION_WINDOW_NS};

use self::book::{Allowance, Dedup};
use self::types as t;
use crate::doubles::cmc::{CreateCanisterArg, BAD_REQUEST_CYCLES_PENALTY};
use crate::error::{CallResult, ErrorCode, RejectResponse};
use crate::state::calls::ReplyTo;
use crate::state::StateMachine;
use candid::{CandidType, Nat, Principal};
use serde::de::DeserializeOwned;
use std::sync::LazyLock;

/// The cycles ledger's canister id (dfinity/cycles-ledger INTERFACE_SPECIFICATION.md).
pub static CYCLES_LEDGER_ID: LazyLock<Principal> = LazyLock::new(|| {
    Principal::from_text("um5iw-rqaaa-aaaaq-qaaba-cai").expect("the ledger's id parses")
});

/// Cross-subnet hops before the reply, by what the method does.
const HOPS_BOOKS: u64 = 1;
const HOPS_WITHDRAW: u64 = 3;
const HOPS_CREATE: u64 = 5;

fn nat(n: u128) -> Nat {
    Nat::from(n)
}

fn amount(n: &Nat) -> Option<u128> {
    u128::try_from(&n.0).ok()
}

fn trap(message: impl std::fmt::Display) -> RejectResponse {
    RejectResponse::from_canister(
        *CYCLES_LEDGER_ID,
        ErrorCode::CanisterCalledTrap,
        format!("Canister called `ic0.trap` with message: '{message}'"),
    )
}

fn decode<A: DeserializeOwned + CandidType>(arg: &[u8]) -> Result<A, RejectResponse> {
    candid::decode_one(arg).map_err(|e| trap(format!("failed to decode the argument: {e}")))
}

fn encode<R: CandidType>(r: &R) -> CallResult {
    Ok(candid::encode_one(r).expect("the ledger's replies encode"))
}

fn account(a: &t::Account) -> Result<Account, RejectResponse> {
    Account::new(a.owner, a.subaccount.as_ref().map(|s| s.as_slice()))
        .ok_or_else(|| trap("a subaccount must be 32 bytes"))
}

fn sub(owner: Principal, s: &Option<serde_bytes::ByteBuf>) -> Result<Account, RejectResponse> {
    Account::new(owner, s.as_ref().map(|s| s.as_slice()))
        .ok_or_else(|| trap("a subaccount must be 32 bytes"))
}

/// A canister id is an opaque id (its last byte 1), as the ledger checks.
fn is_canister_id(p: &Principal) -> bool {
    p.as_slice().last() == Some(&1) && *p != Principal::anonymous()
}

/// What a method's work produced: the reply, the cycles refunded to the
/// caller, and how many hops the reply takes.
struct Outcome {
    result: CallResult,
    refund: u128,
    hops: u64,
}

impl Outcome {
    fn books(result: CallResult, refund: u128) -> Self {
        Outcome {
            result,
            refund,
            hops: HOPS_BOOKS,
        }
    }
}

/// ICRC-1's deduplication refusals, in each method's error type.
macro_rules! dedup_errors {
    ($($t:ty),*) => {$(
        impl From<Dedup> for $t {
            fn from(d: Dedup) -> Self {
                match d {
                    Dedup::TooOld => Self::TooOld,
                    Dedup::CreatedInFuture { ledger_time } => Self::CreatedInFuture { ledger_time },
                    Dedup::Duplicate(r) => Self::Duplicate {
                        duplicate_of: nat(r.block as u128),
                    },
                }
            }
        }
    )*};
}

dedup_errors!(
    t::TransferError,
    t::ApproveError,
    t::WithdrawError,
    t::WithdrawFromError
);

impl From<Dedup> for t::CreateCanisterError {
    fn from(d: Dedup) -> Self {
        match d {
            Dedup::Duplicate(r) => Self::Duplicate {
                duplicate_of: nat(r.block as u128),
                canister_id: r.canister,
            },
            Dedup::TooOld => Self::TooOld,
            Dedup::CreatedInFuture { ledger_time } => Self::CreatedInFuture { ledger_time },
        }
    }
}

impl StateMachine {
    pub(crate) fn ledger_double_call(
        &mut self,
        sender: Principal,
        method: &str,
        arg: &[u8],
        cycles: u128,
        reply_to: ReplyTo,
    ) {
        let o = self.ledger_update(sender, method, arg, cycles);
        self.double_reply(*CYCLES_LEDGER_ID, reply_to, o.result, o.refund, o.hops);
    }

    fn ledger_update(
        &mut self,
        sender: Principal,
        method: &str,
        arg: &[u8],
        cycles: u128,
    ) -> Outcome {
        let key = format!("{method} {sender} {}", hex::encode(arg));
        let (result, hops) = match method {
            "deposit" => return self.ledger_deposit(arg, cycles),
            "icrc1_transfer" => (self.ledger_transfer(sender, &key, arg), HOPS_BOOKS),
            "icrc2_approve" => (self.ledger_approve(sender, &key, arg), HOPS_BOOKS),
            "withdraw" => (self.ledger_withdraw(sender, &key, arg), HOPS_WITHDRAW),
            "withdraw_from" => (self.ledger_withdraw_from(sender, &key, arg), HOPS_WITHDRAW),
            "create_canister" => (self.ledger_create_canister(sender, &key, arg), HOPS_CREATE),
            _ => match self.ledger_query(sender, method, arg) {
                Some(r) => (r, HOPS_BOOKS),
                None => (Err(RejectResponse::from_canister(
                    *CYCLES_LEDGER_ID,
                    ErrorCode::CanisterMethodNotFound,
                    format!("Canister has no update method '{method}' (the emulator's cycles-ledger double answers only the methods its module lists)."),
                )), HOPS_BOOKS),
            },
        };
        // None of these keeps cycles attached to it.
        Outcome {
            result,
            refund: cycles,
            hops,
        }
    }

    /// The query methods; `None`: not one of them.
    pub(crate) fn ledger_query(
        &self,
        _sender: Principal,
        method: &str,
        arg: &[u8],
    ) -> Option<CallResult> {
        let book = self.doubles.cycles_ledger.as_ref()?;
        let result = match method {
            "icrc1_balance_of" => decode::<t::Account>(arg)
                .and_then(|a| account(&a))
                .and_then(|a| encode(&nat(book.balance(&a)))),
            "icrc1_fee" => encode(&nat(FEE)),
            "icrc1_decimals" => encode(&0u8),
            "icrc1_symbol" => encode(&"TCYCLES"),
            "icrc1_name" => encode(&"Trillion Cycles"),
            "icrc1_total_supply" => encode(&nat(book.total_supply())),
            "icrc2_allowance" => decode::<t::AllowanceArgs>(arg).and_then(|a| {
                let a_ = book.allowance(&account(&a.account)?, &account(&a.spender)?, self.time);
                encode(&t::Allowance {
                    allowance: nat(a_.amount),
                    expires_at: (a_.expires_at > 0).then_some(a_.expires_at),
                })
            }),
            _ => return None,
        };
        Some(result)
    }

    fn book(&mut self) -> &mut Book {
        self.doubles
            .cycles_ledger
            .get_or_insert_with(Default::default)
    }

    fn ledger_deposit(&mut self, arg: &[u8], cycles: u128) -> Outcome {
        let result = (|| {
            let args: t::DepositArgs = decode(arg)?;
            let to = account(&args.to)?;
            if cycles < FEE {
                return Err(trap(format!(
                    "The requested amount {cycles} to be deposited is less than the cycles ledger fee: {FEE}"
                )));
            }
            let book = self.book();
            book.credit(to, cycles);
            let block = book.block("", None, None);
            encode(&t::DepositResult {
                balance: nat(book.balance(&to)),
                block_index: nat(block as u128),
            })
        })();
        let refund = if result.is_ok() { 0 } else { cycles };
        Outcome::books(result, refund)
    }

    fn ledger_transfer(&mut self, sender: Principal, key: &str, arg: &[u8]) -> CallResult {
        use t::TransferError as E;
        let args: t::TransferArgs = decode(arg)?;
        let from = sub(sender, &args.from_subaccount)?;
        let to = account(&args.to)?;
        let now = self.time;
        let reply = |r: Result<u64, E>| encode(&r.map(|b| nat(b as u128)));
        if args.fee.as_ref().is_some_and(|f| amount(f) != Some(FEE)) {
            return reply(Err(E::BadFee {
                expected_fee: nat(FEE),
            }));
        }
        let book = self.book();
        if let Err(d) = book.check_recent(key, args.created_at_time, now) {
            return reply(Err(E::from(d)));
        }
        let Some(value) = amount(&args.amount) else {
            return reply(Err(E::InsufficientFunds {
                balance: nat(book.balance(&from)),
            }));
        };
        if let Err(balance) = book.debit(from, value.saturating_add(FEE)) {
            return reply(Err(E::InsufficientFunds {
                balance: nat(balance),
            }));
        }
        book.credit(to, value);
        reply(Ok(book.block(key, args.created_at_time, None)))
    }

    fn ledger_approve(&mut self, sender: Principal, key: &str, arg: &[u8]) -> CallResult {
        use t::ApproveError as E;
        let args: t::ApproveArgs = decode(arg)?;
        let from = sub(sender, &args.from_subaccount)?;
        let spender = account(&args.spender)?;
        if from.owner == spender.owner {
            return Err(trap("self approvals are not allowed"));
        }
        let now = self.time;
        let reply = |r: Result<u64, E>| encode(&r.map(|b| nat(b as u128)));
        if args.fee.as_ref().is_some_and(|f| amount(f) != Some(FEE)) {
            return reply(Err(E::BadFee {
                expected_fee: nat(FEE),
            }));
        }
        if args.expires_at.is_some_and(|at| at <= now) {
            return reply(Err(E::Expired { ledger_time: now }));
        }
        let book = self.book();
        if let Err(d) = book.check_recent(key, args.created_at_time, now) {
            return reply(Err(E::from(d)));
        }
        let current = book.allowance(&from, &spender, now).amount;
        if let Some(expected) = &args.expected_allowance {
            if amount(expected) != Some(current) {
                return reply(Err(E::AllowanceChanged {
                    current_allowance: nat(current),
                }));
            }
        }
        if let Err(balance) = book.debit(from, FEE) {
            return reply(Err(E::InsufficientFunds {
                balance: nat(balance),
            }));
        }
        let allowance = Allowance {
            amount: amount(&args.amount).unwrap_or(u128::MAX),
            expires_at: args.expires_at.unwrap_or(0),
        };
        book.set_allowance(from, spender, allowance);
        reply(Ok(book.block(key, args.created_at_time, None)))
    }

    /// Puts `value` cycles into canister `to`, or says why not (as the
    /// management canister's `deposit_cycles` would).
    fn ledger_send(&mut self, to: Principal, value: u128) -> Result<(), String> {
        match self.canisters.get_mut(&to) {
            Some(c) => {
                c.cycles = c.cycles.saturating_add(value);
                Ok(())
            }
            None => Err(format!("Canister {to} not found.")),
        }
    }

    fn ledger_withdraw(&mut self, sender: Principal, key: &str, arg: &[u8]) -> CallResult {
        use t::WithdrawError as E;
        let args: t::WithdrawArgs = decode(arg)?;
        let from = sub(sender, &args.from_subaccount)?;
        let now = self.time;
        let reply = |r: Result<u64, E>| encode(&r.map(|b| nat(b as u128)));
        if !is_canister_id(&args.to) {
            return reply(Err(E::InvalidReceiver { receiver: args.to }));
        }
        let book = self.book();
        if let Err(d) = book.check_recent(key, args.created_at_time, now) {
            return reply(Err(E::from(d)));
        }
        let value = amount(&args.amount).unwrap_or(u128::MAX);
        if let Err(balance) = book.debit(from, value.saturating_add(FEE)) {
            return reply(Err(E::InsufficientFunds {
                balance: nat(balance),
            }));
        }
        let block = book.block(key, args.created_at_time, None);
        match self.ledger_send(args.to, value) {
            Ok(()) => reply(Ok(block)),
            Err(reason) => {
                let book = self.book();
                book.credit(from, value.saturating_sub(FEE));
                book.block("", None, None);
                reply(Err(E::FailedToWithdraw {
                    fee_block: Some(nat(block as u128)),
                    rejection_code: t::RejectionCode::DestinationInvalid,
                    rejection_reason: reason,
                }))
            }
        }
    }

    fn ledger_withdraw_from(&mut self, sender: Principal, key: &str, arg: &[u8]) -> CallResult {
        use t::WithdrawFromError as E;
        let args: t::WithdrawFromArgs = decode(arg)?;
        let from = account(&args.from)?;
        let spender = sub(sender, &args.spender_subaccount)?;
        let now = self.time;
        let reply = |r: Result<u64, E>| encode(&r.map(|b| nat(b as u128)));
        if !is_canister_id(&args.to) {
            return reply(Err(E::InvalidReceiver { receiver: args.to }));
        }
        let book = self.book();
        if let Err(d) = book.check_recent(key, args.created_at_time, now) {
            return reply(Err(E::from(d)));
        }
        let value = amount(&args.amount).unwrap_or(u128::MAX);
        let total = value.saturating_add(FEE);
        let own = from == spender;
        if !own {
            let allowance = book.allowance(&from, &spender, now).amount;
            if allowance < total {
                return reply(Err(E::InsufficientAllowance {
                    allowance: nat(allowance),
                }));
            }
        }
        let balance = book.balance(&from);
        if balance < total {
            return reply(Err(E::InsufficientFunds {
                balance: nat(balance),
            }));
        }
        let _ = book.debit(from, total);
        if !own {
            let _ = book.use_allowance(&from, &spender, total, now);
        }
        let block = book.block(key, args.created_at_time, None);
        match self.ledger_send(args.to, value) {
            Ok(()) => reply(Ok(block)),
            Err(reason) => {
                // Net: 3 × FEE of the balance and of the allowance.
                let back = value.saturating_sub(2 * FEE);
                let book = self.book();
                book.credit(from, back);
                let refund_block = book.block("", None, None);
                let mut approval_refund_block = None;
                if !own {
                    let mut a = book.allowance(&from, &spender, now);
                    a.amount = a.amount.saturating_add(back);
                    book.set_allowance(from, spender, a);
                    approval_refund_block = Some(nat(book.block("", None, None) as u128));
                }
                reply(Err(E::FailedToWithdrawFrom {
                    withdraw_from_block: Some(nat(block as u128)),
                    refund_block: Some(nat(refund_block as u128)),
                    approval_refund_block,
                    rejection_code: t::RejectionCode::DestinationInvalid,
                    rejection_reason: reason,
                }))
            }
        }
    }

    fn ledger_create_canister(&mut self, sender: Principal, key: &str, arg: &[u8]) -> CallResult {
        use t::CreateCanisterError as E;
        let args: t::CreateCanisterArgs = decode(arg)?;
        let from = sub(sender, &args.from_subaccount)?;
        let now = self.time;
        let reply = |r: Result<t::CreateCanisterSuccess, E>| encode(&r);
        let book = self.book();
        if let Err(d) = book.check_recent(key, args.created_at_time, now) {
            return reply(Err(E::from(d)));
        }
        let value = amount(&args.amount).unwrap_or(u128::MAX);
        if let Err(balance) = book.debit(from, value.saturating_add(FEE)) {
            return reply(Err(E::InsufficientFunds {
                balance: nat(balance),
            }));
        }
        let creation = args.creation_args.unwrap_or_default();
        let mut settings = creation.settings.unwrap_or_default();
        if settings.controllers.is_none() {
            settings.controllers = Some(vec![sender]);
        }
        let cmc_arg = CreateCanisterArg {
            settings: Some(settings),
            subnet_type: None,
            subnet_selection: creation.subnet_selection,
        };
        match self.cmc_create_for(*CYCLES_LEDGER_ID, &cmc_arg, value) {
            Ok(canister_id) => {
                let block = self
                    .book()
                    .block(key, args.created_at_time, Some(canister_id));
                reply(Ok(t::CreateCanisterSuccess {
                    block_id: nat(block as u128),
                    canister_id,
                }))
            }
            Err(error) => {
                let book = self.book();
                let fee_block = book.block("", None, None);
                book.credit(from, value.saturating_sub(BAD_REQUEST_CYCLES_PENALTY));
                let refund_block = book.block("", None, None);
                reply(Err(E::FailedToCreate {
                    fee_block: Some(nat(fee_block as u128)),
                    refund_block: Some(nat(refund_block as u128)),
                    error,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests;
