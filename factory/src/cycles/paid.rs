//! Provisioning paid by the user: the owner approves the factory on the
//! cycles ledger (ICRC-2 `icrc2_approve`), and `provision_paid` takes the
//! price from that approval before anything is created.
//!
//! Why `withdraw_from` to the factory, not the ledger's `create_canister_from`:
//! the factory installs every user canister from its own chunk store, which
//! `install_chunked_code` requires on the same subnet as the target, and
//! `create_canister_from` places the canister through the CMC on a subnet the
//! CMC picks. `withdraw_from` (one call: ICRC-2 transfer and withdrawal in
//! one) brings the cycles to the factory, which then creates the canister as
//! every other one, with the same controllers, settings and accounting.
//!
//! Idempotent: the ledger deduplicates `withdraw_from` by `created_at_time`
//! (a retry gets `Duplicate`, not a second charge), and the factory keeps one
//! payment per owner, so a retry after a lost reply or a factory upgrade uses
//! the payment instead of charging again. A creation that fails is refunded
//! to the payer's ledger account (price plus the ledger's fee: nothing lost).

use super::payment::{Payment, PaymentState, LEDGER_FEE};
use crate::error::FactoryError;
use crate::provision;
use crate::runtime::{Ctx, Env, LedgerRefusal, Management, WithdrawFrom};
use crate::state::FactoryState;
use candid::Principal;
use factory_api::{FactoryConfig, PaidProvisionArgs, ProvisionPrice};
use ic_stable_structures::Memory;

/// dfinity/cycles-ledger INTERFACE_SPECIFICATION.md.
pub const CYCLES_LEDGER: &str = "um5iw-rqaaa-aaaaq-qaaba-cai";

/// What the factory takes: the IC's creation fee (`ic0.cost_create_canister`;
/// `canister_creation_fee` in `rs/config/src/subnet_config.rs`, 500 B cycles
/// on a 13-node subnet, scaled by the subnet's size) plus the configured
/// start balance, so the price follows a fee change without a code change.
pub fn price(config: &FactoryConfig, create_fee: u128) -> u128 {
    create_fee.saturating_add(config.cycles_per_canister)
}

pub fn quote<M: Memory>(s: &FactoryState<M>, create_fee: u128) -> ProvisionPrice {
    let config = s.config.get();
    ProvisionPrice {
        price: price(config, create_fee),
        ledger_fee: LEDGER_FEE,
        ledger: Principal::from_text(CYCLES_LEDGER).unwrap_or(Principal::anonymous()),
        mode: config.provisioning,
    }
}

/// Who pays for a new canister.
#[derive(Debug)]
pub enum Payer {
    /// The factory, from its own balance (`provision`).
    Factory,
    /// The owner, from their approval on the cycles ledger (`provision_paid`).
    Owner(PaidProvisionArgs),
}

/// `provision_paid`: the provision flow with the owner's payment taken
/// before anything is created (`provision::run`).
pub async fn provision_paid<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    owner: Principal,
    args: PaidProvisionArgs,
) -> Result<Principal, FactoryError> {
    let recovery = args.recovery;
    provision::run(ctx, owner, recovery, &Payer::Owner(args)).await
}

/// Paid and not used (its creation failed and the refund did too): used by
/// the next call, whatever created_at_time it carries.
pub(crate) fn already_paid<M: Memory>(
    s: &FactoryState<M>,
    owner: Principal,
    payer: &Payer,
) -> bool {
    matches!(payer, Payer::Owner(_))
        && s.keeper
            .payments
            .get(&owner)
            .is_some_and(|p| p.state == PaymentState::Paid)
}

/// A created_at_time whose payment went back: the ledger would answer
/// Duplicate, and those cycles are the owner's again.
pub(crate) fn check_not_reused<M: Memory>(
    s: &FactoryState<M>,
    owner: Principal,
    created_at_time: u64,
) -> Result<(), FactoryError> {
    let payment = s.keeper.payments.get(&owner);
    if payment
        .is_some_and(|p| p.state == PaymentState::Refunded && p.created_at_time == created_at_time)
    {
        return Err(FactoryError::PaymentReused);
    }
    Ok(())
}

/// The canister exists: the owner's payment is used.
pub(crate) fn consumed<M: Memory>(
    s: &mut FactoryState<M>,
    owner: Principal,
    payer: &Payer,
    amount: u128,
) {
    if let Payer::Owner(args) = payer {
        set_payment(
            s,
            owner,
            PaymentState::Consumed,
            args.created_at_time,
            amount,
        );
    }
}

/// Takes the price from the owner's approval; on a refusal nothing was
/// charged and the owner's record goes.
pub(crate) async fn pay<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    owner: Principal,
    args: &PaidProvisionArgs,
    amount: u128,
) -> Result<(), FactoryError> {
    let needed = amount.saturating_add(LEDGER_FEE);
    let result = ctx
        .mgmt
        .ledger_withdraw_from(WithdrawFrom {
            from: owner,
            from_subaccount: args.from_subaccount.clone(),
            amount,
            created_at_time: args.created_at_time,
        })
        .await;
    let refused = match result {
        // Duplicate: an earlier call with this created_at_time was charged
        // (its reply lost); the cycles are here.
        Ok(Ok(())) | Ok(Err(LedgerRefusal::Duplicate)) => None,
        Ok(Err(LedgerRefusal::InsufficientAllowance { allowance })) => {
            Some(FactoryError::InsufficientAllowance { allowance, needed })
        }
        Ok(Err(LedgerRefusal::InsufficientFunds { balance })) => {
            Some(FactoryError::InsufficientLedgerFunds { balance, needed })
        }
        Ok(Err(LedgerRefusal::Other(message))) => Some(FactoryError::Ledger { message }),
        // Not known whether it was charged: a retry with the same
        // created_at_time finds out (Duplicate) without a second charge.
        Err(f) => Some(FactoryError::Ledger {
            message: format!("{} (retry with the same created_at_time)", f.message),
        }),
    };
    ctx.with(|s| match refused {
        None => {
            set_payment(s, owner, PaymentState::Paid, args.created_at_time, amount);
            Ok(())
        }
        Some(e) => {
            forget(s, owner);
            Err(e)
        }
    })
}

/// A creation that failed: an owner's payment goes back to the payer's
/// ledger account, the ledger's fee included. If the refund itself fails the
/// payment stays `Paid`, and a retry uses it.
pub(crate) async fn refund<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    owner: Principal,
    payer: &Payer,
    amount: u128,
) {
    let Payer::Owner(args) = payer else {
        return;
    };
    let back = amount.saturating_add(LEDGER_FEE);
    if ctx.mgmt.ledger_deposit(owner, back).await.is_ok() {
        ctx.with(|s| {
            set_payment(
                s,
                owner,
                PaymentState::Refunded,
                args.created_at_time,
                amount,
            )
        });
    }
}

fn set_payment<M: Memory>(
    s: &mut FactoryState<M>,
    owner: Principal,
    state: PaymentState,
    created_at_time: u64,
    amount: u128,
) {
    s.keeper.payments.insert(
        owner,
        Payment {
            state,
            created_at_time,
            amount,
        },
    );
}

/// The owner's record, if nothing was created for it (as `forget_uncreated`
/// without counting a failure: a refused payment is the user's).
fn forget<M: Memory>(s: &mut FactoryState<M>, owner: Principal) {
    if s.users.get(&owner).is_some_and(|r| r.canister_id.is_none()) {
        s.remove_user(&owner);
    }
}
