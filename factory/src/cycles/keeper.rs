//! The keeper's async part: read a canister's status, decide, deposit,
//! record. Generic over the runtime traits, so unit tests run it against the
//! fake management canister.

use super::policy::{self, Decision, Reading};
use super::record::CanisterCycles;
use super::sweep;
use crate::audit::AuditAction;
use crate::error::FactoryError;
use crate::runtime::{Ctx, Env, Management, StatusInfo};
use crate::state::FactoryState;
use candid::Principal;
use factory_api::{CyclesQuery, CyclesStatus, KeeperConfig, SpendKind};
use ic_stable_structures::Memory;

pub const MAX_STATUS_PAGE: u32 = 500;

/// How a reading ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    Fine,
    ToppedUp(u128),
    AtRisk,
    /// The status call or the deposit failed; it is read again later.
    CallFailed,
    /// Not (or no longer) a canister of this factory.
    Unknown,
    /// Reclaimed as dormant: never topped up.
    Reclaimed,
    KeeperOff,
}

fn keeper_config<M: Memory>(s: &FactoryState<M>) -> Option<KeeperConfig> {
    s.config.get().keeper
}

/// Records a status reading taken for another purpose (a rollout, a
/// recovery): the burn rate and the next reading follow from it.
pub fn record_status<M: Memory>(
    s: &mut FactoryState<M>,
    canister: Principal,
    status: &StatusInfo,
    now_ns: u64,
) {
    let Some(cfg) = keeper_config(s) else { return };
    if s.owner_of_canister(&canister).is_none() || s.reclaim.is_reclaimed(&canister) {
        return;
    }
    let mut r = s.keeper.get(&canister).unwrap_or_default();
    policy::observe(&mut r, reading(status, now_ns));
    let next = policy::next_check_ns(&r, &cfg, now_ns);
    // Sooner only: a reading in flight keeps its fallback.
    if r.due_ns == 0 || next < r.due_ns {
        r.due_ns = next;
    }
    s.keeper.put(canister, r);
}

fn reading(status: &StatusInfo, now_ns: u64) -> Reading {
    Reading {
        balance: status.cycles,
        idle_burn_per_day: status.idle_burn_per_day,
        freezing_limit: status.freezing_limit,
        now_ns,
    }
}

/// One keeper tick: the canisters to read now (the caller spawns a
/// [`check`] for each).
pub fn tick<M: Memory>(s: &mut FactoryState<M>, now_ns: u64) -> Vec<Principal> {
    match keeper_config(s) {
        Some(cfg) => sweep::plan_tick(s, &cfg, now_ns),
        None => Vec::new(),
    }
}

/// A canister's own notice that it runs low: acted on at most once per
/// `notice_interval_ns`, and only by reading its balance (the notice itself
/// proves nothing). Ok(()) means a reading should follow.
pub fn accept_notice<M: Memory>(
    s: &mut FactoryState<M>,
    canister: Principal,
    now_ns: u64,
) -> Result<(), FactoryError> {
    let cfg = keeper_config(s).ok_or(FactoryError::KeeperOff)?;
    let mut r = s.keeper.get(&canister).unwrap_or_default();
    let next_ok = r.last_notice_ns.saturating_add(cfg.notice_interval_ns);
    if r.last_notice_ns != 0 && now_ns < next_ok {
        return Err(FactoryError::RateLimited {
            retry_after_ns: next_ok - now_ns,
        });
    }
    r.last_notice_ns = now_ns;
    s.keeper.put(canister, r);
    Ok(())
}

/// Reads one canister and tops it up if the policy says so.
pub async fn check<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    canister: Principal,
) -> Checked {
    let Some(cfg) = ctx.with(|s| keeper_config(s)) else {
        return Checked::KeeperOff;
    };
    if ctx.with(|s| s.reclaim.is_reclaimed(&canister)) {
        ctx.with(|s| s.keeper.remove(&canister));
        return Checked::Reclaimed;
    }
    let status = ctx.mgmt.canister_status(canister).await;
    let now = ctx.env.now_ns();
    let status = match status {
        Ok(st) => st,
        Err(_) => return Checked::CallFailed,
    };
    let balance = ctx.env.cycles_balance();
    let decided = ctx.with(|s| {
        // Gone, or reclaimed while the status call was out.
        if s.owner_of_canister(&canister).is_none() || s.reclaim.is_reclaimed(&canister) {
            s.keeper.remove(&canister);
            return None;
        }
        let mut r = s.keeper.get(&canister).unwrap_or_default();
        policy::observe(&mut r, reading(&status, now));
        let reserve = s.config.get().cycles_reserve;
        let d = policy::decide(&mut r, &cfg, balance, reserve, now);
        if let Decision::TopUp { amount, .. } = d {
            // Counted before the call, so a concurrent reading sees the
            // budget spent; given back if the deposit fails.
            policy::topped_up(&mut r, amount);
        }
        s.keeper.put(canister, r);
        Some(d)
    });
    let Some(mut d) = decided else {
        return Checked::Unknown;
    };
    let mut failed = false;
    if let Decision::TopUp { amount, .. } = d {
        if ctx.mgmt.deposit_cycles(canister, amount).await.is_err() {
            failed = true;
            d = Decision::Fine;
            ctx.with(|s| {
                if let Some(mut r) = s.keeper.get(&canister) {
                    r.balance = r.balance.saturating_sub(amount);
                    r.spent_in_period = r.spent_in_period.saturating_sub(amount);
                    r.topped_up_total = r.topped_up_total.saturating_sub(amount);
                    s.keeper.put(canister, r);
                }
            });
        }
    }
    let (now, factory) = (ctx.env.now_ns(), ctx.env.self_id());
    ctx.with(|s| settle(s, &cfg, canister, d, failed, now, factory))
}

fn settle<M: Memory>(
    s: &mut FactoryState<M>,
    cfg: &KeeperConfig,
    canister: Principal,
    d: Decision,
    failed: bool,
    now_ns: u64,
    factory: Principal,
) -> Checked {
    let Some(mut r) = s.keeper.get(&canister) else {
        return Checked::Unknown;
    };
    let newly_at_risk = if failed {
        None
    } else {
        policy::settle_health(&mut r, cfg, d)
    };
    r.due_ns = if failed {
        now_ns.saturating_add(cfg.tick_interval_ns)
    } else {
        policy::next_check_ns(&r, cfg, now_ns)
    };
    let balance = r.balance;
    s.keeper.put(canister, r);
    if let Some(reason) = newly_at_risk {
        s.audit(
            now_ns,
            factory,
            AuditAction::CanisterAtRisk {
                canister_id: canister,
                reason,
                balance,
            },
            None,
        );
    }
    match d {
        _ if failed => Checked::CallFailed,
        Decision::TopUp { amount, .. } => {
            s.keeper.spent(SpendKind::KeeperTopUp, amount, now_ns);
            Checked::ToppedUp(amount)
        }
        Decision::AtRisk(_) => Checked::AtRisk,
        Decision::Fine => Checked::Fine,
    }
}

/// `cycles_status`: the keeper's figures and one page of canisters.
pub fn status<M: Memory>(s: &FactoryState<M>, q: &CyclesQuery) -> CyclesStatus {
    let cfg = keeper_config(s);
    let limit = q.limit.clamp(1, MAX_STATUS_PAGE) as usize;
    let from = match q.after {
        Some(a) => std::ops::Bound::Excluded(a),
        None => std::ops::Bound::Unbounded,
    };
    let range = (from, std::ops::Bound::Unbounded);
    let canisters: Vec<_> = if q.at_risk_only {
        s.keeper
            .at_risk
            .keys_range(range)
            .take(limit)
            .filter_map(|c| s.keeper.get(&c).map(|r| r.view(c)))
            .collect()
    } else {
        s.keeper
            .records
            .range(range)
            .take(limit)
            .map(|e| {
                let (c, r): (Principal, CanisterCycles) = e.into_pair();
                r.view(c)
            })
            .collect()
    };
    let next_after = (canisters.len() == limit)
        .then(|| canisters.last().map(|c| c.canister_id))
        .flatten();
    CyclesStatus {
        keeper: cfg,
        tracked: s.keeper.records.len(),
        at_risk: s.keeper.at_risk.len(),
        sweep_period_ns: cfg.map_or(0, |c| sweep::effective_sweep_period_ns(s.users.len(), &c)),
        canisters,
        next_after,
    }
}
