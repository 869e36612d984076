//! Reclaiming dormant canisters (off by default, `FactoryConfig.reclaim`).
//!
//! **Activity** is measured by the factory, from a one-way report the user
//! canister sends when its owner acts (`factory_guest::report_activity`,
//! rate-limited at both ends); the factory records *its own* clock when a
//! report from a registered canister arrives, and counts its own dealings
//! with the owner (revive) too. A push rather than reading the canister in
//! the keeper's sweep: the factory never sees the owner's calls, which go
//! straight to the user canister; a read would cost the factory one more
//! call per canister per sweep (100,000 at full size) for a fact that
//! changes rarely, and a reclaimed canister could not answer it. A report
//! costs nothing while the owner is away, which is exactly the case that
//! matters, and a canister can only make itself look *more* active, which
//! only keeps it from being reclaimed.
//!
//! **Reclaim**: stop → `take_canister_snapshot` with `uninstall_code`
//! (atomic: code goes only once the snapshot exists) → record. The canister
//! keeps its id, controllers (the factory and the recovery principal),
//! cycles and snapshot (`uninstall_code` retains "cycle balances,
//! controllers, history, status, and allocations", interface spec,
//! management-canister.md). **Revive** (owner or recovery principal):
//! `load_canister_snapshot` (the snapshot holds the wasm binary as well as
//! the memories, so no install is needed first) → start. **Delete** (only
//! if configured, after `keep_ns`): `delete_canister` discards the cycles
//! (same spec), so the [`drain`] module sends them to the factory first.
//!
//! - [`record`], [`store`]: what is stored; [`plan`]: a tick's bounded
//!   work; [`flow`]: the calls; [`drain`]: the module that returns cycles.

pub mod drain;
pub mod flow;
pub mod plan;
pub mod record;
pub mod store;

#[cfg(test)]
mod tests;

use crate::error::FactoryError;
use crate::state::FactoryState;
use candid::Principal;
use factory_api::{ReclaimQuery, ReclaimStatus, ReclaimedView, ACTIVITY_REPORT_INTERVAL_NS};
use ic_stable_structures::Memory;
use std::ops::Bound;
use store::Total;

pub const MAX_STATUS_PAGE: u32 = 500;

/// A user canister's report that its owner was active: recorded at the
/// factory's time, at most once per `ACTIVITY_REPORT_INTERVAL_NS` (sooner:
/// `RateLimited`, nothing written); always,
/// even with the policy off, so turning it on knows who was active.
pub fn report_activity<M: Memory>(
    s: &mut FactoryState<M>,
    canister: Principal,
    now_ns: u64,
) -> Result<(), FactoryError> {
    if s.owner_of_canister(&canister).is_none() {
        return Err(FactoryError::UnknownCanister {
            canister_id: canister,
        });
    }
    if s.reclaim.is_reclaimed(&canister) {
        // An empty canister sends nothing; a report can only be stale.
        return Err(FactoryError::CanisterReclaimed {
            canister_id: canister,
        });
    }
    if let Some(t) = s.reclaim.last_active(&canister) {
        let next = t.saturating_add(ACTIVITY_REPORT_INTERVAL_NS);
        if now_ns < next {
            // Recorded recently: nothing to write (the guest ignores this).
            return Err(FactoryError::RateLimited {
                retry_after_ns: next - now_ns,
            });
        }
    }
    s.reclaim.set_active(canister, now_ns);
    Ok(())
}

/// One reclaim tick: the canisters to reclaim and to delete now (the caller
/// spawns a [`flow::reclaim_one`] or [`flow::delete_one`] for each).
pub fn tick<M: Memory>(s: &mut FactoryState<M>, now_ns: u64) -> plan::TickPlan {
    match s.config.get().reclaim {
        Some(policy) => plan::plan_tick(s, &policy, now_ns),
        None => plan::TickPlan::default(),
    }
}

/// `reclaim_status`: the totals and one page of reclaimed canisters.
pub fn status<M: Memory>(s: &FactoryState<M>, q: &ReclaimQuery) -> ReclaimStatus {
    let policy = s.config.get().reclaim;
    let limit = q.limit.clamp(1, MAX_STATUS_PAGE) as usize;
    let from = match q.after {
        Some(a) => Bound::Excluded(a),
        None => Bound::Unbounded,
    };
    let canisters: Vec<ReclaimedView> = s
        .reclaim
        .reclaimed
        .range((from, Bound::Unbounded))
        .take(limit)
        .map(|e| {
            let (canister_id, r) = e.into_pair();
            let user = s.user_by_canister(&canister_id);
            ReclaimedView {
                canister_id,
                owner: user.as_ref().map_or(Principal::anonymous(), |u| u.owner),
                version: user.and_then(|u| u.version),
                last_active_ns: r.last_active_ns,
                reclaimed_at_ns: r.reclaimed_at_ns,
                deletes_at_ns: plan::deletes_at_ns(policy.as_ref(), r.reclaimed_at_ns),
                cycles_at_reclaim: r.cycles_at_reclaim,
            }
        })
        .collect();
    let next_after = (canisters.len() == limit)
        .then(|| canisters.last().map(|c| c.canister_id))
        .flatten();
    ReclaimStatus {
        policy,
        tracked: s.reclaim.tracked(),
        reclaimed: s.reclaim.reclaimed.len(),
        deleted_total: s.reclaim.total(Total::Deleted) as u64,
        revived_total: s.reclaim.total(Total::Revived) as u64,
        cycles_returned_total: s.reclaim.total(Total::CyclesReturned),
        canisters,
        next_after,
    }
}
