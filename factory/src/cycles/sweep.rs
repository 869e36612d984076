//! Which canisters a keeper tick reads: those due (their last reading said
//! when), then canisters the sweep finds with no record yet. Both bounded by
//! `max_per_tick`; the sweep walks users from a stored cursor, so no message
//! ever scans them all.

use super::record::CanisterCycles;
use crate::state::FactoryState;
use candid::Principal;
use factory_api::KeeperConfig;
use ic_stable_structures::Memory;
use std::ops::Bound;

/// Users the sweep walks per tick: enough to cover them all within the
/// sweep period, never more than a tick's batch.
pub fn sweep_quota(users: u64, cfg: &KeeperConfig) -> u64 {
    let ticks = (cfg.sweep_period_ns / cfg.tick_interval_ns).max(1);
    users.div_ceil(ticks).clamp(1, u64::from(cfg.max_per_tick))
}

/// How long reading every canister once takes: the configured period, or
/// longer when the fleet is too large for `max_per_tick`.
pub fn effective_sweep_period_ns(users: u64, cfg: &KeeperConfig) -> u64 {
    let ticks = users.div_ceil(u64::from(cfg.max_per_tick));
    cfg.sweep_period_ns
        .max(ticks.saturating_mul(cfg.tick_interval_ns))
}

/// Takes this tick's canisters. Each is rescheduled a sweep period ahead at
/// once, so a reading lost (a factory upgrade mid-call) is retried then and a
/// canister is never read twice at the same time.
pub fn plan_tick<M: Memory>(
    s: &mut FactoryState<M>,
    cfg: &KeeperConfig,
    now_ns: u64,
) -> Vec<Principal> {
    let max = cfg.max_per_tick as usize;
    let fallback = now_ns.saturating_add(cfg.sweep_period_ns);
    let mut picked = s.keeper.due_by(now_ns, max);
    for c in &picked {
        if let Some(mut r) = s.keeper.get(c) {
            r.due_ns = fallback;
            s.keeper.put(*c, r);
        }
    }
    let quota = sweep_quota(s.users.len(), cfg);
    let from = match s.keeper.cursor() {
        Some(after) => Bound::Excluded(after),
        None => Bound::Unbounded,
    };
    let owners: Vec<Principal> = s
        .users
        .keys_range((from, Bound::Unbounded))
        .take(quota as usize)
        .collect();
    // The end of the users: the next tick starts over.
    let cursor = (owners.len() as u64 == quota)
        .then(|| owners.last().copied())
        .flatten();
    s.keeper.set_cursor(cursor);
    for owner in owners {
        if picked.len() >= max {
            break;
        }
        let Some(canister) = s.users.get(&owner).and_then(|u| u.canister_id) else {
            continue;
        };
        if s.keeper.get(&canister).is_some_and(|r| r.due_ns != 0) {
            continue;
        }
        // Reclaimed: stopped and empty, nothing to keep alive.
        if s.reclaim.is_reclaimed(&canister) {
            continue;
        }
        let r = CanisterCycles {
            due_ns: fallback,
            ..s.keeper.get(&canister).unwrap_or_default()
        };
        s.keeper.put(canister, r);
        picked.push(canister);
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    const SEC: u64 = 1_000_000_000;

    fn cfg() -> KeeperConfig {
        KeeperConfig {
            sweep_period_ns: 100 * SEC,
            tick_interval_ns: 10 * SEC,
            max_per_tick: 50,
            ..Default::default()
        }
    }

    #[test]
    fn cycles_sweep_quota_covers_the_fleet_within_the_period() {
        let cfg = cfg();
        assert_eq!(sweep_quota(0, &cfg), 1);
        assert_eq!(sweep_quota(95, &cfg), 10);
        assert_eq!(sweep_quota(100_000, &cfg), 50);
        assert_eq!(effective_sweep_period_ns(100, &cfg), 100 * SEC);
        // 100,000 users at 50 a tick: 2,000 ticks.
        assert_eq!(effective_sweep_period_ns(100_000, &cfg), 20_000 * SEC);
    }
}
