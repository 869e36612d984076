//! The rollout figures under both subnet models side by side: the emulator's
//! old unlimited round (`SubnetConfig::unlimited`) and an application
//! subnet's real capacity (`SubnetConfig::application`), for the factory's
//! rollout, the naive one-at-a-time proxy and a fixed concurrency of 10
//! (OpenChat's default), each with a snapshot before every upgrade (the
//! factory's default policy). Measured, not tuned: the factory's scheduler is
//! unchanged.

use crate::fleet::{plan, Fleet, UserModule};
use crate::report::Report;
use crate::size::Size;
use factory_client::SnapshotPolicy;
use ic_emulator::SubnetConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    Unlimited,
    Application,
}

impl Model {
    fn config(self) -> SubnetConfig {
        match self {
            Model::Unlimited => SubnetConfig::unlimited(),
            Model::Application => SubnetConfig::application(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Model::Unlimited => "unlimited",
            Model::Application => "application subnet",
        }
    }
}

/// One scheduler's rollout on one model.
struct Row {
    model: Model,
    scheduler: String,
    rounds: u64,
    upgraded: u64,
    /// Rounds each upgraded canister spent stopping or stopped, sorted.
    downtime: Vec<u64>,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn run(size: &Size, report: &mut Report) {
    for &n in &size.capacity_fleets {
        let mut rows = Vec::new();
        for model in [Model::Unlimited, Model::Application] {
            eprintln!("capacity N={n} [{}]: provisioning", model.name());
            let fleet = Fleet::on_subnet(n, UserModule::Real, model.config());
            let schedulers = [
                (
                    format!("factory rollout (max_in_flight {})", size.max_in_flight),
                    size.max_in_flight,
                ),
                ("naive proxy (one at a time)".to_string(), 1),
                ("fixed concurrency 10".to_string(), 10),
            ];
            for (i, (name, k)) in schedulers.into_iter().enumerate() {
                let version = format!("1.1.{i}");
                fleet.publish(&version);
                let mut p = plan(&version, k);
                p.snapshot = Some(SnapshotPolicy::ReplacePrevious);
                eprintln!("capacity N={n} [{}]: {name}", model.name());
                let r = fleet.rollout(p);
                assert_eq!(r.upgraded, n, "every canister upgraded");
                let end = r.start_round + r.rounds;
                let mut downtime: Vec<u64> = fleet
                    .world
                    .emu
                    .all_stopped_intervals()
                    .values()
                    .flatten()
                    .filter(|i| i.stop_requested_round >= r.start_round)
                    .map(|i| i.rounds_down(end))
                    .collect();
                downtime.sort_unstable();
                rows.push(Row {
                    model,
                    scheduler: name,
                    rounds: r.rounds,
                    upgraded: r.upgraded,
                    downtime,
                });
            }
        }
        record(n, &rows, report);
        eprintln!("{}", table(n, &rows));
        println!("{}", table(n, &rows));
    }
}

fn record(n: u64, rows: &[Row], report: &mut Report) {
    for r in rows {
        let bench = format!("capacity N={n} {}", r.model.name());
        let what = &r.scheduler;
        report.add(
            &bench,
            &format!("{what}: rounds"),
            r.rounds as f64,
            "rounds",
            "snapshot before every upgrade",
        );
        report.add(
            &bench,
            &format!("{what}: upgrades per round"),
            r.upgraded as f64 / r.rounds.max(1) as f64,
            "upgr/round",
            "",
        );
        for (label, p) in [("p50", 50.0), ("p99", 99.0), ("max", 100.0)] {
            report.add(
                &bench,
                &format!("{what}: downtime {label}"),
                percentile(&r.downtime, p) as f64,
                "rounds",
                "stop requested → running again",
            );
        }
    }
}

/// The side-by-side table (Markdown).
fn table(n: u64, rows: &[Row]) -> String {
    let mut out = format!(
        "\nRollout of {n} user canisters, snapshot before every upgrade, one round per second\n\n\
         | scheduler | model | rounds | upgrades/round | downtime p50 | p99 | max (rounds) |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: |\n"
    );
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        a.scheduler
            .cmp(&b.scheduler)
            .then((a.model as u8).cmp(&(b.model as u8)))
    });
    for r in sorted {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {} | {} | {} |\n",
            r.scheduler,
            r.model.name(),
            r.rounds,
            r.upgraded as f64 / r.rounds.max(1) as f64,
            percentile(&r.downtime, 50.0),
            percentile(&r.downtime, 99.0),
            percentile(&r.downtime, 100.0),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
