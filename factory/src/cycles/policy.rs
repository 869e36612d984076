//! The keeper's decisions, pure: what a status reading says about a
//! canister's burn rate, whether to top it up and by how much, and when to
//! read it next.

use super::record::CanisterCycles;
use factory_api::{AtRiskReason, CyclesHealth, KeeperConfig};

const DAY_NS: u128 = 86_400_000_000_000;

/// The part of a `canister_status` reply the keeper reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    pub balance: u128,
    /// `idle_cycles_burned_per_day`: memory and compute allocation.
    pub idle_burn_per_day: u128,
    /// The balance below which it is frozen.
    pub freezing_limit: u128,
    pub now_ns: u64,
}

/// Freezing limit from the status reply's fields, as the IC computes it:
/// idle burn over the freezing threshold (`rs/cycles_account_manager/src/lib.rs`,
/// `freeze_threshold_cycles`; reserved cycles are not counted here).
pub fn freezing_limit(idle_burn_per_day: u128, freezing_threshold_s: u64) -> u128 {
    idle_burn_per_day.saturating_mul(u128::from(freezing_threshold_s)) / 86_400
}

/// Records a reading: the burn rate is the larger of the idle burn and what
/// the balance fell by since the last reading (which includes the app's own
/// execution), top-ups since then counted back in.
pub fn observe(r: &mut CanisterCycles, reading: Reading) {
    let elapsed = u128::from(reading.now_ns.saturating_sub(r.observed_ns));
    let observed = if r.observed_ns > 0 && elapsed > 0 && r.balance > reading.balance {
        (r.balance - reading.balance).saturating_mul(DAY_NS) / elapsed
    } else {
        0
    };
    r.burn_per_day = reading.idle_burn_per_day.max(observed);
    r.balance = reading.balance;
    r.freezing_limit = reading.freezing_limit;
    r.observed_ns = reading.now_ns;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do.
    Fine,
    /// Deposit this much; `short` says why it is less than the target needs.
    TopUp {
        amount: u128,
        short: Option<AtRiskReason>,
    },
    /// Below the threshold and nothing can be given.
    AtRisk(AtRiskReason),
}

/// What the factory can give: below the threshold, up to the target, within
/// what is left of the canister's budget for the period and of the factory's
/// balance above its reserve.
pub fn decide(
    r: &mut CanisterCycles,
    cfg: &KeeperConfig,
    factory_balance: u128,
    reserve: u128,
    now_ns: u64,
) -> Decision {
    if now_ns.saturating_sub(r.period_start_ns) >= cfg.budget_period_ns {
        r.period_start_ns = now_ns;
        r.spent_in_period = 0;
    }
    // Below the threshold, or will be before the next tick can look.
    let burn_per_tick = r
        .burn_per_day
        .saturating_mul(u128::from(cfg.tick_interval_ns))
        / DAY_NS;
    if r.balance >= cfg.threshold.saturating_add(burn_per_tick) {
        return Decision::Fine;
    }
    let wanted = cfg.target.saturating_sub(r.balance);
    if wanted == 0 {
        return Decision::Fine;
    }
    let budget_left = cfg.budget_per_period.saturating_sub(r.spent_in_period);
    let spendable = factory_balance.saturating_sub(reserve);
    let amount = wanted.min(budget_left).min(spendable);
    let short = if amount == wanted {
        None
    } else if amount == budget_left {
        Some(AtRiskReason::BudgetExhausted)
    } else {
        Some(AtRiskReason::FactoryReserve)
    };
    match (amount, short) {
        (0, Some(reason)) => Decision::AtRisk(reason),
        (amount, short) => Decision::TopUp { amount, short },
    }
}

/// A deposit landed.
pub fn topped_up(r: &mut CanisterCycles, amount: u128) {
    r.balance = r.balance.saturating_add(amount);
    r.spent_in_period = r.spent_in_period.saturating_add(amount);
    r.topped_up_total = r.topped_up_total.saturating_add(amount);
}

/// The health after a decision (and its deposit, if any); returns the new
/// at-risk reason when this reading starts an episode (to report once).
pub fn settle_health(
    r: &mut CanisterCycles,
    cfg: &KeeperConfig,
    d: Decision,
) -> Option<AtRiskReason> {
    let health = match d {
        Decision::AtRisk(reason) => CyclesHealth::AtRisk { reason },
        Decision::TopUp {
            short: Some(reason),
            ..
        } if r.balance < cfg.threshold => CyclesHealth::AtRisk { reason },
        _ => CyclesHealth::Healthy,
    };
    let was = r.health;
    r.health = health;
    match (was, health) {
        (CyclesHealth::AtRisk { .. }, _) => None,
        (_, CyclesHealth::AtRisk { reason }) => Some(reason),
        _ => None,
    }
}

/// When to read it again: within the sweep period, and when its burn rate
/// takes it to the threshold (the margin between threshold and freezing
/// limit absorbs a rate that grows), but not sooner than the next tick.
pub fn next_check_ns(r: &CanisterCycles, cfg: &KeeperConfig, now_ns: u64) -> u64 {
    let latest = now_ns.saturating_add(cfg.sweep_period_ns);
    let earliest = now_ns.saturating_add(cfg.tick_interval_ns);
    let by_burn = r.reaches_ns(cfg.threshold);
    by_burn.map_or(latest, |at| at.min(latest)).max(earliest)
}

#[cfg(test)]
mod tests {
    use super::*;
    const T: u128 = 1_000_000_000_000;
    const DAY: u64 = 86_400_000_000_000;

    fn cfg() -> KeeperConfig {
        KeeperConfig {
            threshold: T,
            target: 3 * T,
            budget_per_period: 4 * T,
            budget_period_ns: 30 * DAY,
            ..Default::default()
        }
    }

    fn at(balance: u128) -> CanisterCycles {
        CanisterCycles {
            balance,
            observed_ns: 1,
            ..Default::default()
        }
    }

    #[test]
    fn cycles_burn_rate_counts_the_apps_own_spending() {
        let mut r = at(5 * T);
        let reading = |balance, now_ns| Reading {
            balance,
            idle_burn_per_day: T / 100,
            freezing_limit: T / 10,
            now_ns,
        };
        observe(&mut r, reading(4 * T, 1 + DAY));
        assert_eq!(r.burn_per_day, T);
        // Growing balance (a top-up by someone else): only the idle burn is known.
        observe(&mut r, reading(6 * T, 1 + 2 * DAY));
        assert_eq!(r.burn_per_day, T / 100);
        assert_eq!(r.freezing_limit, T / 10);
    }

    #[test]
    fn cycles_top_up_to_target_within_budget_and_reserve() {
        let cfg = cfg();
        let mut r = at(T / 2);
        let d = decide(&mut r, &cfg, 100 * T, 10 * T, DAY);
        assert_eq!(
            d,
            Decision::TopUp {
                amount: 5 * T / 2,
                short: None
            }
        );
        assert_eq!(
            decide(&mut at(2 * T), &cfg, 100 * T, 10 * T, DAY),
            Decision::Fine
        );
        // The factory's reserve caps it.
        let d = decide(&mut at(T / 2), &cfg, 11 * T, 10 * T, DAY);
        assert_eq!(
            d,
            Decision::TopUp {
                amount: T,
                short: Some(AtRiskReason::FactoryReserve)
            }
        );
        assert_eq!(
            decide(&mut at(T / 2), &cfg, 10 * T, 10 * T, DAY),
            Decision::AtRisk(AtRiskReason::FactoryReserve)
        );
    }

    #[test]
    fn cycles_budget_is_per_period() {
        let cfg = cfg();
        let mut r = at(0);
        r.period_start_ns = DAY;
        r.spent_in_period = 4 * T;
        assert_eq!(
            decide(&mut r, &cfg, 100 * T, 0, 2 * DAY),
            Decision::AtRisk(AtRiskReason::BudgetExhausted)
        );
        // A new period gives a new budget.
        assert!(matches!(
            decide(&mut r, &cfg, 100 * T, 0, 31 * DAY),
            Decision::TopUp { short: None, .. }
        ));
        assert_eq!(r.spent_in_period, 0);
    }

    #[test]
    fn cycles_at_risk_is_reported_once_per_episode() {
        let cfg = cfg();
        let mut r = at(0);
        let risk = Decision::AtRisk(AtRiskReason::BudgetExhausted);
        assert_eq!(
            settle_health(&mut r, &cfg, risk),
            Some(AtRiskReason::BudgetExhausted)
        );
        assert_eq!(settle_health(&mut r, &cfg, risk), None);
        assert_eq!(settle_health(&mut r, &cfg, Decision::Fine), None);
        assert_eq!(r.health, CyclesHealth::Healthy);
        assert!(settle_health(&mut r, &cfg, risk).is_some());
    }

    #[test]
    fn cycles_next_check_comes_before_the_threshold() {
        let cfg = cfg();
        let mut r = at(3 * T);
        r.observed_ns = DAY;
        r.burn_per_day = 4 * T;
        // Reaches the threshold in half a day: read again then.
        assert_eq!(next_check_ns(&r, &cfg, DAY), DAY + DAY / 2);
        r.burn_per_day = 0;
        assert_eq!(next_check_ns(&r, &cfg, DAY), DAY + cfg.sweep_period_ns);
        r.burn_per_day = 10_000 * T;
        assert_eq!(next_check_ns(&r, &cfg, DAY), DAY + cfg.tick_interval_ns);
    }

    #[test]
    fn cycles_freezing_limit_follows_the_threshold() {
        assert_eq!(freezing_limit(86_400, 2_592_000), 2_592_000);
        assert_eq!(freezing_limit(u128::MAX, u64::MAX), u128::MAX / 86_400);
    }
}
