//! Flow 1: an end user provisions their canister.
//!
//! One canister per owner: the record is written (and locked) before
//! `create_canister` is sent, so a racing second call is refused, a retried
//! one returns the same canister, and one whose install failed is finished by
//! the next call instead of creating another canister.

use crate::chunk_store;
use crate::config::ProvisioningMode;
use crate::cycles::paid::{self, Payer};
use crate::error::FactoryError;
use crate::guest::install_arg;
use crate::rate_limit::TokenBucket;
use crate::runtime::{Ctx, Env, InstallChunked, InstallMode, Management};
use crate::state::FactoryState;
use crate::users::{Lock, Phase, UserRecord};
use candid::Principal;
use ic_stable_structures::Memory;

/// What the first, synchronous step decided.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Done(Principal),
    /// Create; `paid`: the owner's payment is already in (a retry after a
    /// creation whose refund failed).
    Create {
        recovery: Principal,
        paid: bool,
    },
    Install {
        canister_id: Principal,
    },
}

/// Provisioning paid by the factory.
pub async fn provision<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    owner: Principal,
    recovery: Principal,
) -> Result<Principal, FactoryError> {
    run(ctx, owner, recovery, &Payer::Factory).await
}

/// The one provision flow: decide → (pay) → create → install → finish. A
/// payment taken from the owner is refunded if the creation fails.
pub(crate) async fn run<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    owner: Principal,
    recovery: Principal,
    payer: &Payer,
) -> Result<Principal, FactoryError> {
    let factory = ctx.env.self_id();
    check_recovery(recovery, factory)?;
    let (now, balance, fee) = (
        ctx.env.now_ns(),
        ctx.env.cycles_balance(),
        ctx.env.create_canister_fee(),
    );
    let price = ctx.with(|s| paid::price(s.config.get(), fee));
    let step = ctx.with(|s| start(s, owner, recovery, payer, now, balance, fee))?;
    let canister_id = match step {
        Step::Done(id) => return Ok(id),
        Step::Install { canister_id } => canister_id,
        Step::Create { recovery, paid } => {
            if let (Payer::Owner(args), false) = (payer, paid) {
                paid::pay(ctx, owner, args, price).await?;
            }
            let cycles = ctx.with(|s| s.config.get().cycles_per_canister);
            match ctx
                .mgmt
                .create_canister(vec![factory, recovery], cycles)
                .await
            {
                Ok(id) => {
                    let now = ctx.env.now_ns();
                    ctx.with(|s| {
                        created(s, owner, id);
                        let spent = fee.saturating_add(cycles);
                        s.keeper.spent(factory_api::SpendKind::Creation, spent, now);
                        paid::consumed(s, owner, payer, price);
                    });
                    id
                }
                Err(e) => {
                    paid::refund(ctx, owner, payer, price).await;
                    ctx.with(|s| forget_uncreated(s, owner));
                    return Err(e.into());
                }
            }
        }
    };
    let installed = install(ctx, owner, canister_id).await;
    ctx.with(|s| finish(s, owner, installed.as_ref().ok().cloned()));
    installed.map(|_| canister_id)
}

/// Decides under one state borrow, and takes the owner's lock; refuses
/// before anything is charged or created.
fn start<M: Memory>(
    s: &mut FactoryState<M>,
    owner: Principal,
    recovery: Principal,
    payer: &Payer,
    now: u64,
    balance: u128,
    create_fee: u128,
) -> Result<Step, FactoryError> {
    let epoch = s.epoch();
    let paid = paid::already_paid(s, owner, payer);
    if let Some(mut record) = s.users.get(&owner) {
        let step = match record.canister_id {
            Some(id) if record.phase == Phase::Ready => return Ok(Step::Done(id)),
            _ if record.is_locked(epoch) => return Err(FactoryError::ProvisioningInProgress),
            Some(canister_id) => Step::Install { canister_id },
            // A create whose reply died with an earlier factory module: the IC
            // may or may not have created it; nothing can find it, so create again.
            None => Step::Create {
                recovery: record.recovery,
                paid,
            },
        };
        if matches!((&step, payer), (Step::Create { .. }, Payer::Factory)) {
            let config = s.config.get().clone();
            if config.provisioning == ProvisioningMode::Paid {
                // Creating again is paid for too (`provision_paid`).
                return Err(FactoryError::PaymentRequired {
                    price: paid::price(&config, create_fee),
                });
            }
            check_resources(s, now, balance, create_fee)?;
        }
        record.lock = Some(Lock {
            action: "provision".into(),
            since_ns: now,
            epoch,
        });
        s.put_user(record);
        return Ok(step);
    }
    let config = s.config.get().clone();
    match (config.provisioning, payer) {
        (ProvisioningMode::Open, _) | (ProvisioningMode::Paid, Payer::Owner(_)) => {}
        (ProvisioningMode::AllowListOnly, _) if s.allowlist.contains_key(&owner) => {}
        (ProvisioningMode::AllowListOnly, _) => return Err(FactoryError::NotAllowlisted),
        (ProvisioningMode::Closed, _) => return Err(FactoryError::ProvisioningClosed),
        (ProvisioningMode::Paid, Payer::Factory) => {
            return Err(FactoryError::PaymentRequired {
                price: paid::price(&config, create_fee),
            })
        }
    }
    match payer {
        Payer::Factory => check_resources(s, now, balance, create_fee)?,
        Payer::Owner(args) => {
            paid::check_not_reused(s, owner, args.created_at_time)?;
            if s.registry.newest_approved().is_none() {
                return Err(FactoryError::NoApprovedRelease);
            }
            // The user pays the creation, so the factory's balance is not
            // checked (its reserve stays untouched: the payment covers it).
            take_provision_token(s, now)?;
        }
    }
    s.put_user(UserRecord::new(owner, recovery, now, epoch));
    Ok(Step::Create { recovery, paid })
}

/// A release to install, the cycles reserve, then the global rate limit (last,
/// so a refused request does not use up a token).
fn check_resources<M: Memory>(
    s: &mut FactoryState<M>,
    now: u64,
    balance: u128,
    create_fee: u128,
) -> Result<(), FactoryError> {
    if s.registry.newest_approved().is_none() {
        return Err(FactoryError::NoApprovedRelease);
    }
    let config = s.config.get().clone();
    let needed = config
        .cycles_reserve
        .saturating_add(config.cycles_per_canister)
        .saturating_add(create_fee);
    if balance < needed {
        return Err(FactoryError::InsufficientCycles { balance, needed });
    }
    take_provision_token(s, now)
}

/// The global rate limit on new canisters.
pub(crate) fn take_provision_token<M: Memory>(
    s: &mut FactoryState<M>,
    now: u64,
) -> Result<(), FactoryError> {
    let config = s.config.get().clone();
    let mut bucket = s
        .counters
        .get()
        .provision_bucket
        .unwrap_or_else(|| TokenBucket::full(config.provision_rate, now));
    let taken = bucket.try_take(config.provision_rate, now);
    s.update_counters(|c| c.provision_bucket = Some(bucket));
    taken.map_err(|retry_after_ns| FactoryError::RateLimited { retry_after_ns })
}

pub(crate) fn created<M: Memory>(
    s: &mut FactoryState<M>,
    owner: Principal,
    canister_id: Principal,
) {
    if let Some(mut record) = s.users.get(&owner) {
        record.canister_id = Some(canister_id);
        record.phase = Phase::Installing;
        s.put_user(record);
    }
    s.canisters.insert(canister_id, owner);
    s.update_counters(|c| c.canisters_created += 1);
}

pub(crate) fn forget_uncreated<M: Memory>(s: &mut FactoryState<M>, owner: Principal) {
    if s.users.get(&owner).is_some_and(|r| r.canister_id.is_none()) {
        s.remove_user(&owner);
    }
    s.update_counters(|c| c.provision_failures += 1);
}

/// Installs the newest approved release into a created canister.
pub(crate) async fn install<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    owner: Principal,
    canister_id: Principal,
) -> Result<String, FactoryError> {
    let release = ctx
        .with(|s| s.registry.newest_approved())
        .ok_or(FactoryError::NoApprovedRelease)?;
    chunk_store::ensure_stored(ctx, &release).await?;
    let factory = ctx.env.self_id();
    ctx.mgmt
        .install_chunked_code(InstallChunked {
            mode: InstallMode::Install,
            canister_id,
            store_canister: factory,
            chunk_hashes: release.chunk_hashes.iter().map(|h| h.0).collect(),
            module_hash: release.sha256.0,
            arg: install_arg(owner, factory, &release),
        })
        .await?;
    Ok(release.version)
}

/// Records the install's outcome and releases the lock.
pub(crate) fn finish<M: Memory>(
    s: &mut FactoryState<M>,
    owner: Principal,
    installed: Option<String>,
) {
    let Some(mut record) = s.users.get(&owner) else {
        return;
    };
    record.lock = None;
    match installed {
        Some(version) => {
            record.phase = Phase::Ready;
            record.version = Some(version);
        }
        None => s.update_counters(|c| c.provision_failures += 1),
    }
    s.put_user(record);
}

/// A recovery principal must be able to act as a controller on its own:
/// not anonymous, not the factory, and not the management canister (which
/// never calls anything as a controller, so the user would have no way out).
pub fn check_recovery(recovery: Principal, factory: Principal) -> Result<(), FactoryError> {
    if recovery == Principal::anonymous()
        || recovery == factory
        || recovery == Principal::management_canister()
    {
        return Err(FactoryError::InvalidArgument(
            "the recovery principal must be a principal other than anonymous, the factory \
             and the management canister"
                .into(),
        ));
    }
    Ok(())
}
