//! `cycles`: spending per day by purpose, and the canisters at risk.

use super::Client;
use anyhow::Result;
use factory_api::{CyclesHealth, CyclesQuery, ReclaimQuery, SpendKind};
use std::collections::BTreeMap;

fn t(cycles: u128) -> String {
    format!("{:.3} T", cycles as f64 / 1e12)
}

pub fn run(client: &Client, days: u32, at_risk: u32) -> Result<()> {
    let spend = client.cycles_report(days)?;
    let mut by_day: BTreeMap<u64, [u128; 6]> = BTreeMap::new();
    for d in spend {
        let col = match d.kind {
            SpendKind::Creation => 0,
            SpendKind::KeeperTopUp => 1,
            SpendKind::RolloutTopUp => 2,
            SpendKind::UpgradeSnapshot => 3,
            SpendKind::UpgradeInstall => 4,
            SpendKind::Reclaimed => 5,
        };
        by_day.entry(d.day).or_default()[col] += d.cycles;
    }
    crate::say!(
        "day (UTC, days since 1970)   creation   keeper top-ups   rollout top-ups   upgrade snapshots   upgrade installs   reclaimed"
    );
    for (day, [c, k, r, us, ui, rec]) in &by_day {
        crate::say!(
            "{day:>26}   {:>9}   {:>14}   {:>15}   {:>17}   {:>16}   {:>9}",
            t(*c),
            t(*k),
            t(*r),
            t(*us),
            t(*ui),
            t(*rec)
        );
    }
    if by_day.is_empty() {
        crate::say!("(nothing spent in the last {days} days)");
    }
    let status = client.cycles_status(CyclesQuery {
        after: None,
        limit: at_risk.max(1),
        at_risk_only: true,
    })?;
    match status.keeper {
        None => crate::say!("keeper: off (set FactoryConfig.keeper)"),
        Some(k) => crate::say!(
            "keeper: top up below {} to {}, budget {} per {} days; {} canisters tracked, full sweep every {} s",
            t(k.threshold),
            t(k.target),
            t(k.budget_per_period),
            k.budget_period_ns / 86_400_000_000_000,
            status.tracked,
            status.sweep_period_ns / 1_000_000_000
        ),
    }
    crate::say!("at risk: {}", status.at_risk);
    let reclaim = client.reclaim_status(ReclaimQuery {
        after: None,
        limit: 1,
    })?;
    match reclaim.policy {
        None => crate::say!("reclaim: off (set FactoryConfig.reclaim)"),
        Some(p) => crate::say!(
            "reclaim: after {} days without activity, kept {} days{}; {} reclaimed now, {} revived, {} deleted returning {}",
            p.inactive_after_ns / 86_400_000_000_000,
            p.keep_ns / 86_400_000_000_000,
            if p.delete_after_keep { ", then deleted" } else { "" },
            reclaim.reclaimed,
            reclaim.revived_total,
            reclaim.deleted_total,
            t(reclaim.cycles_returned_total)
        ),
    }
    for c in &status.canisters {
        let why = match c.health {
            CyclesHealth::AtRisk { reason } => format!("{reason:?}"),
            other => format!("{other:?}"),
        };
        crate::say!(
            "  {}  {}  burns {}/day  {why}",
            c.canister_id,
            t(c.balance),
            t(c.burn_per_day)
        );
    }
    Ok(())
}
