//! The demo report's cycles chart: what the factory's cycles went on during
//! the demo, by purpose (`cycles_report`), as horizontal bars.

use factory_api::{DaySpend, SpendKind};
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct CyclesSpent {
    pub purpose: String,
    pub cycles: u128,
}

/// Every kind, in the report's order (`purpose` names each: a new kind
/// fails to compile there until it is added here too).
const KINDS: [SpendKind; 6] = [
    SpendKind::Creation,
    SpendKind::KeeperTopUp,
    SpendKind::RolloutTopUp,
    SpendKind::UpgradeSnapshot,
    SpendKind::UpgradeInstall,
    SpendKind::Reclaimed,
];

fn purpose(k: SpendKind) -> &'static str {
    match k {
        SpendKind::Creation => "creation",
        SpendKind::KeeperTopUp => "keeper top-ups",
        SpendKind::RolloutTopUp => "rollout top-ups",
        SpendKind::UpgradeSnapshot => "upgrade snapshots",
        SpendKind::UpgradeInstall => "upgrade compilation and install",
        SpendKind::Reclaimed => "returned by deleted canisters",
    }
}

/// Every purpose (zeros too, so the chart shows what did not happen), summed
/// over the days of the report.
pub fn by_purpose(days: &[DaySpend]) -> Vec<CyclesSpent> {
    KINDS
        .into_iter()
        .map(|k| CyclesSpent {
            purpose: purpose(k).to_string(),
            cycles: days.iter().filter(|d| d.kind == k).map(|d| d.cycles).sum(),
        })
        .collect()
}

const WIDTH: u32 = 760;
const LABEL: u32 = 250;
const BAR_H: u32 = 22;

pub fn chart(spent: &[CyclesSpent]) -> String {
    let max = spent.iter().map(|s| s.cycles).max().unwrap_or(0).max(1);
    let height = BAR_H * spent.len() as u32 + 40;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         role=\"img\" aria-label=\"cycles by purpose\">\n\
         <text x=\"0\" y=\"14\" font-size=\"13\" font-weight=\"bold\">Cycles by purpose over the demo (T = 10^12)</text>\n"
    );
    let room = f64::from(WIDTH - LABEL - 110);
    for (i, s) in spent.iter().enumerate() {
        let y = 26 + BAR_H * i as u32;
        let w = (s.cycles as f64 / max as f64 * room).round();
        let _ = writeln!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"#4a7bd0\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{:.4} T</text>",
            y + 15,
            s.purpose,
            BAR_H - 6,
            f64::from(LABEL) + w + 6.0,
            y + 15,
            s.cycles as f64 / 1e12
        );
    }
    svg + "</svg>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_chart_has_a_bar_per_purpose_scaled_to_the_largest() {
        let days = [
            DaySpend {
                day: 1,
                kind: SpendKind::Creation,
                cycles: 2_000_000_000_000,
            },
            DaySpend {
                day: 2,
                kind: SpendKind::Creation,
                cycles: 2_000_000_000_000,
            },
            DaySpend {
                day: 2,
                kind: SpendKind::UpgradeInstall,
                cycles: 1_000_000_000_000,
            },
        ];
        let spent = by_purpose(&days);
        assert_eq!(spent.len(), KINDS.len());
        assert_eq!(spent[0].cycles, 4_000_000_000_000);
        let svg = chart(&spent);
        assert_eq!(svg.matches("<rect").count(), spent.len());
        assert!(
            svg.contains("4.0000 T") && svg.contains("1.0000 T"),
            "{svg}"
        );
        // The largest bar has the full width, a quarter of it the install's.
        let room = f64::from(WIDTH - LABEL - 110);
        assert!(svg.contains(&format!("width=\"{room}\"")));
        assert!(svg.contains(&format!("width=\"{}\"", (room / 4.0).round())));
    }
}
