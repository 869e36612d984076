//! What the demo measured: the summary table it prints and the JSON it
//! writes beside the HTML report.

use super::rollout_run::RolloutRun;
use serde::Serialize;
use std::collections::BTreeMap;

/// One step of the story and what it cost.
#[derive(Serialize, Clone, Debug)]
pub struct Step {
    pub name: String,
    pub rounds: u64,
    pub wall_ms: u128,
    /// Instructions the factory executed during the step (emulator fuel).
    pub factory_instructions: u64,
}

#[derive(Serialize, Clone, Debug)]
pub struct FactoryTotals {
    pub upgraded: u64,
    pub failed: u64,
    pub skipped: u64,
    pub retries: u64,
    pub on_demand_accepted: u64,
}

#[derive(Serialize, Clone, Debug)]
pub struct Summary {
    pub users: u64,
    pub max_in_flight: u32,
    pub factory: String,
    pub steps: Vec<Step>,
    pub rollouts: Vec<RolloutRun>,
    pub rounds: u64,
    pub wall_ms: u128,
    pub factory_instructions: u64,
    pub user_canister_instructions: u64,
    /// The factory's own counters (`rollout_status().totals`) at the end.
    pub totals: FactoryTotals,
    /// Canisters per installed version, as the factory records them.
    pub versions: BTreeMap<String, u64>,
    pub on_demand: String,
    pub restore: String,
    pub data_verified: u64,
    pub data_checked: u64,
    /// Where the demo's network was saved, for `factoryctl --state-dir`.
    pub state_dir: Option<String>,
    /// What the factory's cycles went on during the demo, by purpose.
    pub cycles: Vec<super::cycles_chart::CyclesSpent>,
}

impl Summary {
    pub fn table(&self) -> String {
        let mut out = format!(
            "demo summary: {} users, up to {} upgrades in flight\n",
            self.users, self.max_in_flight
        );
        out += &format!(
            "  {:<34} {:>8} {:>10} {:>18}\n",
            "step", "rounds", "wall", "factory instr."
        );
        for s in &self.steps {
            out += &format!(
                "  {:<34} {:>8} {:>9.1}s {:>18}\n",
                s.name,
                s.rounds,
                s.wall_ms as f64 / 1000.0,
                group(s.factory_instructions)
            );
        }
        out += &format!(
            "  {:<34} {:>8} {:>9.1}s {:>18}\n",
            "total",
            self.rounds,
            self.wall_ms as f64 / 1000.0,
            group(self.factory_instructions)
        );
        for r in &self.rollouts {
            out += &format!(
                "  rollout {} -> {}: {} in {} rounds (upgraded {}, failed {}, skipped {})\n",
                r.id, r.target, r.end, r.rounds, r.upgraded, r.failed, r.skipped
            );
        }
        out += &format!("  on-demand upgrade: {}\n", self.on_demand);
        out += &format!("  recovery restore: {}\n", self.restore);
        let versions: Vec<String> = self
            .versions
            .iter()
            .map(|(v, n)| format!("{v}: {n}"))
            .collect();
        out += &format!("  canisters by version: {}\n", versions.join(", "));
        out += &format!(
            "  upgrades done: {}   failures: {}   retries: {}\n",
            self.totals.upgraded, self.totals.failed, self.totals.retries
        );
        out += &format!(
            "  instructions: factory {}, user canisters {}\n",
            group(self.factory_instructions),
            group(self.user_canister_instructions)
        );
        out += &format!(
            "  data verified intact: {}/{}\n",
            self.data_verified, self.data_checked
        );
        out
    }
}

/// 12345678 -> 12,345,678
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_thousands() {
        assert_eq!(super::group(0), "0");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1_234_567), "1,234,567");
    }
}
