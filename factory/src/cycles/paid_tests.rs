//! Paid provisioning against the fake management canister and fake ledger:
//! every refusal and failure ends with nothing lost.

use super::paid::{price, provision_paid};
use super::payment::{PaymentState, LEDGER_FEE};
use crate::error::FactoryError;
use crate::runtime::Env;
use crate::testing::*;
use candid::Principal;
use factory_api::{PaidProvisionArgs, ProvisioningMode};

const T: u128 = 1_000_000_000_000;

fn owner() -> Principal {
    principal(7)
}

fn args(created_at_time: u64) -> PaidProvisionArgs {
    PaidProvisionArgs {
        recovery: principal(8),
        created_at_time,
        from_subaccount: None,
    }
}

/// A paid-mode factory; the owner holds `balance` on the ledger and approved `allowance`.
fn setup(balance: u128, allowance: u128) -> (Harness, u128) {
    let h = Harness::default();
    h.publish("1.0.0");
    {
        let mut s = h.state.borrow_mut();
        let mut c = s.config.get().clone();
        c.provisioning = ProvisioningMode::Paid;
        s.config.set(c);
        let mut ic = h.mgmt.ic.borrow_mut();
        ic.ledger.balances.insert(owner(), balance);
        ic.ledger.allowances.insert(owner(), allowance);
    }
    let p = price(h.state.borrow().config.get(), h.env.create_canister_fee());
    (h, p)
}

/// Nothing changed hands and no record or canister is left.
fn nothing_lost(h: &Harness, ledger_before: u128, factory_before: u128) {
    assert_eq!(
        h.mgmt.ledger_balance(owner()),
        ledger_before,
        "the payer's ledger balance"
    );
    assert_eq!(h.env.balance.get(), factory_before, "the factory's balance");
    assert!(
        h.state.borrow().users.get(&owner()).is_none(),
        "no record left"
    );
}

#[test]
fn cycles_paid_provisioning_without_an_approval_charges_nothing() {
    let (h, p) = setup(100 * T, 0);
    let before = h.env.balance.get();
    let r = run(provision_paid(&h.ctx(), owner(), args(1)));
    assert_eq!(
        r,
        Err(FactoryError::InsufficientAllowance {
            allowance: 0,
            needed: p + LEDGER_FEE
        })
    );
    nothing_lost(&h, 100 * T, before);
    assert_eq!(h.mgmt.calls("create_canister"), 0);
}

#[test]
fn cycles_paid_provisioning_with_too_small_an_approval_charges_nothing() {
    let (h, p) = setup(100 * T, T);
    let before = h.env.balance.get();
    let r = run(provision_paid(&h.ctx(), owner(), args(1)));
    assert_eq!(
        r,
        Err(FactoryError::InsufficientAllowance {
            allowance: T,
            needed: p + LEDGER_FEE
        })
    );
    nothing_lost(&h, 100 * T, before);
    // And a balance too small for a large enough approval.
    h.mgmt
        .ic
        .borrow_mut()
        .ledger
        .allowances
        .insert(owner(), 100 * T);
    h.mgmt.ic.borrow_mut().ledger.balances.insert(owner(), T);
    let r = run(provision_paid(&h.ctx(), owner(), args(2)));
    assert!(
        matches!(r, Err(FactoryError::InsufficientLedgerFunds { balance, .. }) if balance == T)
    );
    nothing_lost(&h, T, before);
}

#[test]
fn cycles_paid_provisioning_is_charged_once_per_created_at_time() {
    let (h, p) = setup(100 * T, 100 * T);
    let before = h.env.balance.get();
    let id = run(provision_paid(&h.ctx(), owner(), args(5))).expect("provisioned");
    assert_eq!(h.mgmt.ledger_balance(owner()), 100 * T - p - LEDGER_FEE);
    // The factory got the price (the fake's create_canister does not charge
    // the factory; on the IC the price pays for exactly that).
    assert_eq!(h.env.balance.get(), before + p);
    assert_eq!(
        h.mgmt.canister(id).cycles,
        h.state.borrow().config.get().cycles_per_canister
    );
    // The same call again (a retried ingress message): same canister, no charge.
    assert_eq!(run(provision_paid(&h.ctx(), owner(), args(5))), Ok(id));
    assert_eq!(h.mgmt.ledger_balance(owner()), 100 * T - p - LEDGER_FEE);
    assert_eq!(h.mgmt.calls("withdraw_from"), 1);
}

#[test]
fn cycles_paid_provisioning_whose_reply_was_lost_is_not_charged_again() {
    let (h, p) = setup(100 * T, 100 * T);
    // An earlier call was charged, and its reply died with the factory's
    // previous module: the ledger knows, the factory does not.
    {
        let mut ic = h.mgmt.ic.borrow_mut();
        ic.ledger.seen.insert((owner(), 9));
        ic.ledger.balances.insert(owner(), 100 * T - p - LEDGER_FEE);
    }
    h.env.balance.set(h.env.balance.get() + p);
    let id = run(provision_paid(&h.ctx(), owner(), args(9))).expect("provisioned");
    assert_eq!(
        h.mgmt.ledger_balance(owner()),
        100 * T - p - LEDGER_FEE,
        "charged once"
    );
    assert_eq!(h.state.borrow().owner_of_canister(&id), Some(owner()));
}

#[test]
fn cycles_paid_provisioning_whose_creation_fails_is_refunded() {
    let (h, p) = setup(100 * T, 100 * T);
    let before = h.env.balance.get();
    h.mgmt.fail("create_canister", 1);
    let r = run(provision_paid(&h.ctx(), owner(), args(3)));
    assert!(
        matches!(r, Err(FactoryError::ManagementCall { .. })),
        "{r:?}"
    );
    // Price and the ledger's fee back: the payer lost nothing; the factory paid the fee.
    nothing_lost(&h, 100 * T, before - LEDGER_FEE);
    let payment = h
        .state
        .borrow()
        .keeper
        .payments
        .get(&owner())
        .expect("payment");
    assert_eq!((payment.state, payment.amount), (PaymentState::Refunded, p));
    // The refunded created_at_time cannot pay again; a new one can.
    assert_eq!(
        run(provision_paid(&h.ctx(), owner(), args(3))),
        Err(FactoryError::PaymentReused)
    );
    let id = run(provision_paid(&h.ctx(), owner(), args(4))).expect("provisioned");
    assert_eq!(h.mgmt.ledger_balance(owner()), 100 * T - p - LEDGER_FEE);
    assert_eq!(h.state.borrow().owner_of_canister(&id), Some(owner()));
}

#[test]
fn cycles_paid_provisioning_keeps_a_payment_it_could_not_refund() {
    let (h, p) = setup(100 * T, 100 * T);
    h.mgmt.fail("create_canister", 1);
    h.mgmt.fail("deposit", 1);
    assert!(run(provision_paid(&h.ctx(), owner(), args(3))).is_err());
    let payment = h
        .state
        .borrow()
        .keeper
        .payments
        .get(&owner())
        .expect("payment");
    assert_eq!(payment.state, PaymentState::Paid);
    // The next try uses it: no second charge.
    let id = run(provision_paid(&h.ctx(), owner(), args(4))).expect("provisioned");
    assert_eq!(h.mgmt.ledger_balance(owner()), 100 * T - p - LEDGER_FEE);
    assert_eq!(h.mgmt.calls("withdraw_from"), 1);
    assert!(h.state.borrow().owner_of_canister(&id).is_some());
}

#[test]
fn cycles_paid_mode_refuses_free_provisioning_and_an_unreachable_ledger_charges_nothing() {
    let (h, p) = setup(100 * T, 100 * T);
    let r = run(crate::provision::provision(&h.ctx(), owner(), principal(8)));
    assert_eq!(r, Err(FactoryError::PaymentRequired { price: p }));
    let before = h.env.balance.get();
    h.mgmt.ic.borrow_mut().ledger.unreachable = true;
    let r = run(provision_paid(&h.ctx(), owner(), args(1)));
    assert!(matches!(r, Err(FactoryError::Ledger { .. })), "{r:?}");
    nothing_lost(&h, 100 * T, before);
}
