//! One reclaim tick's work, decided without any call: register canisters the
//! factory has no activity for yet (from a stored cursor over the users),
//! then pick the dormant to reclaim and the expired to delete. Every part is
//! bounded by `max_per_tick`, whatever the fleet's size.

use crate::state::FactoryState;
use candid::Principal;
use factory_api::{Phase, ReclaimPolicy};
use ic_stable_structures::Memory;
use std::ops::Bound;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickPlan {
    /// Dormant canisters to reclaim now.
    pub reclaim: Vec<Principal>,
    /// Reclaimed canisters past their keep period, to delete now.
    pub delete: Vec<Principal>,
    /// Users the registration sweep looked at (for the benchmark and tests).
    pub swept: u32,
}

/// Users never seen active are registered as active when the sweep first
/// meets them: turning the policy on reclaims nobody before
/// `inactive_after_ns` has passed since.
pub fn plan_tick<M: Memory>(
    s: &mut FactoryState<M>,
    policy: &ReclaimPolicy,
    now_ns: u64,
) -> TickPlan {
    let max = policy.max_per_tick as usize;
    let mut plan = TickPlan {
        swept: register(s, max, now_ns),
        ..Default::default()
    };
    let cutoff = now_ns.saturating_sub(policy.inactive_after_ns);
    let epoch = s.epoch();
    for (_, canister) in s.reclaim.inactive_before(cutoff, max) {
        match s.user_by_canister(&canister) {
            // Gone (detached): nothing to reclaim.
            None => s.reclaim.forget(&canister),
            Some(u) if u.phase != Phase::Ready || u.is_locked(epoch) => {}
            Some(_) => plan.reclaim.push(canister),
        }
    }
    if policy.delete_after_keep {
        let room = max.saturating_sub(plan.reclaim.len());
        let expired = now_ns.saturating_sub(policy.keep_ns);
        for canister in s.reclaim.reclaimed_by(expired, room) {
            match s.user_by_canister(&canister) {
                None => s.reclaim.forget(&canister),
                Some(u) if u.is_locked(epoch) => {}
                Some(_) => plan.delete.push(canister),
            }
        }
    }
    plan
}

/// Walks up to `max` users from the cursor; returns how many it looked at.
fn register<M: Memory>(s: &mut FactoryState<M>, max: usize, now_ns: u64) -> u32 {
    let from = match s.reclaim.cursor() {
        Some(after) => Bound::Excluded(after),
        None => Bound::Unbounded,
    };
    let users: Vec<_> = s
        .users
        .range((from, Bound::Unbounded))
        .take(max)
        .map(|u| (u.owner, u.canister_id, u.phase))
        .collect();
    // Fewer than asked for: the end of the users, start over next tick.
    let cursor = (users.len() == max)
        .then(|| users.last().map(|u| u.0))
        .flatten();
    s.reclaim.set_cursor(cursor);
    for (_, canister, phase) in &users {
        if let (Some(c), Phase::Ready) = (canister, phase) {
            if s.reclaim.last_active(c).is_none() {
                s.reclaim.set_active(*c, now_ns);
            }
        }
    }
    users.len() as u32
}

/// When a reclaimed canister is deleted under `policy` (None: kept).
pub fn deletes_at_ns(policy: Option<&ReclaimPolicy>, reclaimed_at_ns: u64) -> Option<u64> {
    policy
        .filter(|p| p.delete_after_keep)
        .map(|p| reclaimed_at_ns.saturating_add(p.keep_ns))
}
