//! The double through the emulator's ingress path, as a client would call it.

use super::types::*;
use super::{CYCLES_LEDGER_ID, FEE};
use crate::doubles::cmc::{SubnetFilter, SubnetSelection};
use crate::Emulator;
use candid::{Nat, Principal};

const T: u128 = 1_000_000_000_000;

fn user(n: u8) -> Principal {
    Principal::self_authenticating([n; 32])
}

fn acct(p: Principal) -> Account {
    Account {
        owner: p,
        subaccount: None,
    }
}

fn emulator() -> Emulator {
    let emu = Emulator::builder().with_cycles_ledger_double().build();
    emu.mint_ledger_cycles(user(1), 10 * T).unwrap();
    emu
}

fn call<A: candid::CandidType, R: candid::CandidType + serde::de::DeserializeOwned>(
    emu: &Emulator,
    sender: Principal,
    method: &str,
    arg: A,
) -> R {
    let (r,): (R,) = emu
        .update_candid_as(*CYCLES_LEDGER_ID, sender, method, (arg,))
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    r
}

fn approve(spender: Principal, amount: u128, created_at_time: Option<u64>) -> ApproveArgs {
    ApproveArgs {
        from_subaccount: None,
        spender: acct(spender),
        amount: Nat::from(amount),
        expected_allowance: None,
        expires_at: None,
        fee: None,
        memo: None,
        created_at_time,
    }
}

fn withdraw_from(from: Principal, to: Principal, amount: u128, t: Option<u64>) -> WithdrawFromArgs {
    WithdrawFromArgs {
        spender_subaccount: None,
        from: acct(from),
        to,
        amount: Nat::from(amount),
        created_at_time: t,
    }
}

#[test]
fn the_double_lives_at_the_ledger_id_and_answers_queries() {
    let emu = emulator();
    assert_eq!(CYCLES_LEDGER_ID.to_text(), "um5iw-rqaaa-aaaaq-qaaba-cai");
    let (balance,): (Nat,) = emu
        .query_candid(*CYCLES_LEDGER_ID, "icrc1_balance_of", (acct(user(1)),))
        .unwrap();
    assert_eq!(balance, Nat::from(10 * T));
    let (fee,): (Nat,) = emu
        .query_candid(*CYCLES_LEDGER_ID, "icrc1_fee", ())
        .unwrap();
    assert_eq!(fee, Nat::from(FEE));
    let missing = emu.query_call(*CYCLES_LEDGER_ID, user(1), "icrc3_get_blocks", vec![]);
    assert!(missing.is_err(), "an unmodelled method is not found");
}

#[test]
fn an_approval_lets_the_spender_withdraw_to_a_canister_once() {
    let emu = emulator();
    let target = emu.create_canister();
    let before = emu.cycle_balance(target);
    let r: Result<Nat, ApproveError> = call(
        &emu,
        user(1),
        "icrc2_approve",
        approve(user(2), T + FEE, None),
    );
    r.unwrap();
    assert_eq!(
        emu.ledger_balance(user(1)),
        10 * T - FEE,
        "approve costs a fee"
    );
    let args = withdraw_from(
        user(1),
        target,
        T,
        Some(emu.get_time().as_nanos_since_unix_epoch()),
    );
    let r: Result<Nat, WithdrawFromError> = call(&emu, user(2), "withdraw_from", args.clone());
    r.unwrap();
    assert_eq!(emu.ledger_balance(user(1)), 9 * T - 2 * FEE);
    assert_eq!(emu.cycle_balance(target), before + T);
    let (left,): (Allowance,) = emu
        .query_candid(
            *CYCLES_LEDGER_ID,
            "icrc2_allowance",
            (AllowanceArgs {
                account: acct(user(1)),
                spender: acct(user(2)),
            },),
        )
        .unwrap();
    assert_eq!(
        left.allowance,
        Nat::from(0u8),
        "amount and fee came out of it"
    );
    // The same call again: a duplicate, not a second charge.
    let r: Result<Nat, WithdrawFromError> = call(&emu, user(2), "withdraw_from", args);
    assert!(
        matches!(r, Err(WithdrawFromError::Duplicate { .. })),
        "{r:?}"
    );
    assert_eq!(emu.ledger_balance(user(1)), 9 * T - 2 * FEE);
}

#[test]
fn withdraw_from_refuses_a_small_allowance_and_a_small_balance_taking_nothing() {
    let emu = emulator();
    let target = emu.create_canister();
    let r: Result<Nat, WithdrawFromError> = call(
        &emu,
        user(2),
        "withdraw_from",
        withdraw_from(user(1), target, T, None),
    );
    assert_eq!(
        r,
        Err(WithdrawFromError::InsufficientAllowance {
            allowance: Nat::from(0u8)
        })
    );
    let r: Result<Nat, ApproveError> =
        call(&emu, user(1), "icrc2_approve", approve(user(2), T, None));
    r.unwrap();
    let r: Result<Nat, WithdrawFromError> = call(
        &emu,
        user(2),
        "withdraw_from",
        withdraw_from(user(1), target, T, None),
    );
    assert_eq!(
        r,
        Err(WithdrawFromError::InsufficientAllowance {
            allowance: Nat::from(T)
        }),
        "the fee needs allowance too"
    );
    let r: Result<Nat, ApproveError> = call(
        &emu,
        user(1),
        "icrc2_approve",
        approve(user(2), 100 * T, None),
    );
    r.unwrap();
    let balance = emu.ledger_balance(user(1));
    let r: Result<Nat, WithdrawFromError> = call(
        &emu,
        user(2),
        "withdraw_from",
        withdraw_from(user(1), target, 20 * T, None),
    );
    assert_eq!(
        r,
        Err(WithdrawFromError::InsufficientFunds {
            balance: Nat::from(balance)
        })
    );
    assert_eq!(emu.ledger_balance(user(1)), balance, "nothing taken");
    let r: Result<Nat, WithdrawFromError> = call(
        &emu,
        user(2),
        "withdraw_from",
        withdraw_from(user(1), Principal::anonymous(), T, None),
    );
    assert!(
        matches!(r, Err(WithdrawFromError::InvalidReceiver { .. })),
        "{r:?}"
    );
}

#[test]
fn a_withdrawal_to_a_missing_canister_costs_the_real_ledgers_penalty() {
    let emu = emulator();
    let missing = crate::ids::canister_id_from_u64(999_999);
    let args = WithdrawArgs {
        amount: Nat::from(T),
        from_subaccount: None,
        to: missing,
        created_at_time: None,
    };
    let r: Result<Nat, WithdrawError> = call(&emu, user(1), "withdraw", args);
    assert!(
        matches!(
            &r,
            Err(WithdrawError::FailedToWithdraw {
                rejection_code: RejectionCode::DestinationInvalid,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(emu.ledger_balance(user(1)), 10 * T - 2 * FEE);
}

#[test]
fn transfer_checks_the_fee_the_balance_and_created_at_time() {
    let emu = emulator();
    let now = emu.get_time().as_nanos_since_unix_epoch();
    let mut args = TransferArgs {
        from_subaccount: None,
        to: acct(user(3)),
        amount: Nat::from(T),
        fee: Some(Nat::from(1u8)),
        memo: None,
        created_at_time: Some(now),
    };
    let r: Result<Nat, TransferError> = call(&emu, user(1), "icrc1_transfer", args.clone());
    assert_eq!(
        r,
        Err(TransferError::BadFee {
            expected_fee: Nat::from(FEE)
        })
    );
    args.fee = None;
    let r: Result<Nat, TransferError> = call(&emu, user(1), "icrc1_transfer", args.clone());
    r.unwrap();
    assert_eq!(emu.ledger_balance(user(3)), T);
    let r: Result<Nat, TransferError> = call(&emu, user(1), "icrc1_transfer", args.clone());
    assert!(matches!(r, Err(TransferError::Duplicate { .. })), "{r:?}");
    args.created_at_time = Some(now + super::PERMITTED_DRIFT_NS + 1_000_000_000_000);
    let r: Result<Nat, TransferError> = call(&emu, user(1), "icrc1_transfer", args.clone());
    assert!(
        matches!(r, Err(TransferError::CreatedInFuture { .. })),
        "{r:?}"
    );
    args.created_at_time = None;
    args.amount = Nat::from(100 * T);
    let r: Result<Nat, TransferError> = call(&emu, user(1), "icrc1_transfer", args);
    assert_eq!(
        r,
        Err(TransferError::InsufficientFunds {
            balance: Nat::from(9 * T - FEE)
        })
    );
}

#[test]
fn create_canister_is_paid_from_the_callers_balance_and_deduplicated() {
    let emu = Emulator::builder()
        .with_application_subnets(2)
        .with_cycles_ledger_double()
        .build();
    emu.mint_ledger_cycles(user(1), 10 * T).unwrap();
    let subnet = emu.subnets()[1];
    let args = CreateCanisterArgs {
        from_subaccount: None,
        created_at_time: Some(emu.get_time().as_nanos_since_unix_epoch()),
        amount: Nat::from(2 * T),
        creation_args: Some(CmcCreateCanisterArgs {
            settings: None,
            subnet_selection: Some(SubnetSelection::Subnet { subnet }),
        }),
    };
    let r: Result<CreateCanisterSuccess, CreateCanisterError> =
        call(&emu, user(1), "create_canister", args.clone());
    let id = r.unwrap().canister_id;
    assert_eq!(emu.get_subnet(id), Some(subnet));
    assert_eq!(emu.ledger_balance(user(1)), 8 * T - FEE);
    assert_eq!(
        emu.cycle_balance(id),
        2 * T - crate::cycles::CREATE_CANISTER_FEE
    );
    let r: Result<CreateCanisterSuccess, CreateCanisterError> =
        call(&emu, user(1), "create_canister", args);
    match r {
        Err(CreateCanisterError::Duplicate { canister_id, .. }) => {
            assert_eq!(canister_id, Some(id))
        }
        other => panic!("expected Duplicate, got {other:?}"),
    }
    // A failed creation (no such subnet type) refunds all but the CMC's penalty.
    let bad = CreateCanisterArgs {
        from_subaccount: None,
        created_at_time: None,
        amount: Nat::from(T),
        creation_args: Some(CmcCreateCanisterArgs {
            settings: None,
            subnet_selection: Some(SubnetSelection::Filter(SubnetFilter {
                subnet_type: Some("fiduciary".into()),
            })),
        }),
    };
    let r: Result<CreateCanisterSuccess, CreateCanisterError> =
        call(&emu, user(1), "create_canister", bad);
    assert!(
        matches!(r, Err(CreateCanisterError::FailedToCreate { .. })),
        "{r:?}"
    );
    assert_eq!(
        emu.ledger_balance(user(1)),
        8 * T - 2 * FEE - crate::doubles::cmc::BAD_REQUEST_CYCLES_PENALTY
    );
}

#[test]
fn a_deposit_needs_cycles_attached() {
    let emu = emulator();
    let args = DepositArgs {
        to: acct(user(1)),
        memo: None,
    };
    let r =
        emu.update_candid_as::<_, (DepositResult,)>(*CYCLES_LEDGER_ID, user(1), "deposit", (args,));
    assert!(r.is_err(), "ingress carries no cycles: {r:?}");
    assert_eq!(emu.ledger_balance(user(1)), 10 * T);
}

#[test]
fn the_books_are_saved_with_the_emulator() {
    let emu = emulator();
    let dir = std::env::temp_dir().join(format!("ledger-double-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    emu.save_state(&dir).unwrap();
    let loaded = Emulator::load_state(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(loaded.ledger_balance(user(1)), 10 * T);
}
