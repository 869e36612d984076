//! The keeper's `/metrics` lines: counts from bounded structures only.

use super::store::DAY_NS;
use crate::state::FactoryState;
use factory_api::SpendKind;
use ic_stable_structures::Memory;
use std::fmt::Write;
use strum::IntoEnumIterator;

fn label(k: SpendKind) -> &'static str {
    match k {
        SpendKind::Creation => "creation",
        SpendKind::KeeperTopUp => "keeper_top_up",
        SpendKind::RolloutTopUp => "rollout_top_up",
        SpendKind::UpgradeSnapshot => "upgrade_snapshot",
        SpendKind::UpgradeInstall => "upgrade_install",
        SpendKind::Reclaimed => "reclaimed",
    }
}

pub fn render<M: Memory>(s: &FactoryState<M>, now_ns: u64, out: &mut String) {
    let k = &s.keeper;
    let mut metric = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let one = |v: u64| vec![(String::new(), v.to_string())];
    metric(
        "factory_keeper_tracked",
        "gauge",
        "User canisters whose balance the keeper has read.",
        one(k.records.len()),
    );
    metric(
        "factory_keeper_at_risk",
        "gauge",
        "User canisters the keeper cannot keep alive (budget spent or factory at its reserve).",
        one(k.at_risk.len()),
    );
    metric(
        "factory_keeper_due",
        "gauge",
        "User canisters due a reading by now (a backlog means max_per_tick is too low).",
        one(k.due_by(now_ns, 1_001).len() as u64),
    );
    let today = now_ns / DAY_NS;
    metric(
        "factory_cycles_spent_today",
        "gauge",
        "Cycles the factory spent today (UTC), by purpose (reclaimed: cycles deleted canisters returned).",
        SpendKind::iter()
            .map(|kind| {
                (
                    format!("{{kind=\"{}\"}}", label(kind)),
                    k.spent_on(today, kind).to_string(),
                )
            })
            .collect(),
    );
    metric(
        "factory_cycles_spent_total",
        "counter",
        "Cycles the factory spent since the keeper's accounting began, by purpose.",
        SpendKind::iter()
            .map(|kind| {
                (
                    format!("{{kind=\"{}\"}}", label(kind)),
                    k.spent_total(kind).to_string(),
                )
            })
            .collect(),
    );
}
