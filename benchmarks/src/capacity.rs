//! Upgrades at an application subnet's real limit (issue 15): the factory's
//! adaptive admission against fixed schedules, same fleet, same run.
//!
//! - *saturated*: a fixed 500 in flight keeps the subnet's heavy-message
//!   queue always full: the most upgrades per round, at the price of
//!   downtime; measured for each snapshot policy;
//! - *minimum downtime*: one canister upgraded alone on an idle subnet;
//! - the factory's adaptive rollout for each snapshot policy (every canister,
//!   canary stages only, none), OpenChat's fixed 10, the naive one at a time
//!   (on a sample: it is linear by construction), a fixed 500.
//!
//! Downtime is each canister's stopped interval (stop requested → running
//! again) as the emulator records it, not as the factory believes. A
//! neighbour app on the same subnet upgrades and snapshots its own canister
//! in a loop during every rollout; its calls' latency is compared with the
//! same loop on the idle subnet.

use crate::fleet::{only, plan, Fleet, UserModule};
use crate::neighbour::Neighbour;
use crate::report::Report;
use crate::size::Size;
use factory_client::{AdmissionPolicy, RolloutPlan, SnapshotPolicy, StagePlan};
use ic_emulator::SubnetConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    Every,
    Canary,
    None,
}

impl Policy {
    const ALL: [Policy; 3] = [Policy::Every, Policy::Canary, Policy::None];

    fn name(self) -> &'static str {
        match self {
            Policy::Every => "snapshot every canister",
            Policy::Canary => "snapshot canary stage only",
            Policy::None => "no snapshot",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Policy::Every => "every",
            Policy::Canary => "canary",
            Policy::None => "none",
        }
    }

    fn apply(self, mut p: RolloutPlan) -> RolloutPlan {
        match self {
            Policy::Every => p.snapshot = Some(SnapshotPolicy::ReplacePrevious),
            Policy::None => p.snapshot = Some(SnapshotPolicy::Never),
            Policy::Canary => {
                p.snapshot = Some(SnapshotPolicy::CanaryStages);
                p.stages = vec![
                    StagePlan {
                        name: "canary".into(),
                        fleet_bps: 500,
                        max_failure_bps: 1_000,
                        min_sample: None,
                    },
                    StagePlan {
                        name: "all".into(),
                        fleet_bps: 10_000,
                        max_failure_bps: 500,
                        min_sample: None,
                    },
                ];
            }
        }
        p
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Schedule {
    Adaptive,
    Fixed(u32),
}

/// One scheduler's rollout.
struct Row {
    name: String,
    policy: Policy,
    schedule: Schedule,
    rounds: u64,
    upgraded: u64,
    /// Stopped intervals of this rollout, in rounds, sorted.
    downtime: Vec<u64>,
    /// Most canisters stopped at once.
    peak_stopped: u64,
    /// The neighbour's call latencies during the rollout, sorted.
    neighbour: Vec<u64>,
    factory_instructions: u64,
}

impl Row {
    fn rate(&self) -> f64 {
        self.upgraded as f64 / self.rounds.max(1) as f64
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct Bench<'a> {
    fleet: &'a Fleet,
    neighbour: Neighbour,
    versions: u32,
}

impl Bench<'_> {
    fn next_version(&mut self) -> String {
        self.versions += 1;
        let v = format!("1.1.{}", self.versions);
        self.fleet.publish(&v);
        v
    }

    /// One rollout over `canisters` (all when None), with the neighbour busy.
    fn run(
        &mut self,
        name: &str,
        policy: Policy,
        schedule: Schedule,
        canisters: Option<&[candid::Principal]>,
        neighbour: bool,
    ) -> Row {
        let version = self.next_version();
        let (in_flight, admission) = match schedule {
            Schedule::Adaptive => (500, AdmissionPolicy::Adaptive),
            Schedule::Fixed(k) => (k, AdmissionPolicy::Fixed),
        };
        let mut p = policy.apply(plan(&version, in_flight));
        p.admission = Some(admission);
        if let Some(c) = canisters {
            p = only(p, c);
        }
        eprintln!("capacity: {name}, {}", policy.name());
        let nb = &mut self.neighbour;
        nb.take_latencies();
        let trace = std::env::var("ADMISSION_TRACE").is_ok() && schedule == Schedule::Adaptive;
        let admin = self.fleet.world.admin();
        let factory = self.fleet.world.factory;
        let mut last_stats = (0u64, 0u64);
        let r = self.fleet.rollout_with(p, |emu| {
            if neighbour {
                nb.before_round(emu);
            }
            if trace {
                let st = admin.rollout_status().expect("status");
                let a = st.admission;
                let u = emu.subnet_round_usage();
                let last = u.last().map(|u| (u.subnet_work.len(), u.subnet_instructions / 1_000_000, u.pending_management_calls)).unwrap_or_default();
                let stopped = emu.all_stopped_intervals().values().flatten().filter(|i| i.running_again_round.is_none()).count();
                let is = emu.instruction_stats(factory);
                let d = (is.total - last_stats.0, is.messages - last_stats.1);
                last_stats = (is.total, is.messages);
                eprintln!("TRACE dinstr={}M dmsgs={} r={} inflight={} win={} stopped_f={} stopped_e={} mgmt={} heavy_last={:?} base={}ms lat={}ms cuts={} q={} up={}",
                    d.0 / 1_000_000, d.1, emu.rounds(), st.in_flight, a.window, a.stopped_now, stopped,
                    emu.management_calls_in_flight(factory).current, last,
                    a.base_latency_ns/1_000_000, a.latency_ns/1_000_000, a.cuts, st.queued, st.totals.upgraded);
            }
        });
        let end = r.start_round + r.rounds;
        let intervals: Vec<_> = self
            .fleet
            .world
            .emu
            .all_stopped_intervals()
            .into_values()
            .flatten()
            .filter(|i| i.stop_requested_round >= r.start_round)
            .collect();
        let mut downtime: Vec<u64> = intervals.iter().map(|i| i.rounds_down(end)).collect();
        downtime.sort_unstable();
        // Most stopped at once: +1 at each stop, −1 at each restart.
        let mut events: Vec<(u64, i64)> = intervals
            .iter()
            .flat_map(|i| {
                [
                    (i.stop_requested_round, 1),
                    (i.running_again_round.unwrap_or(end), -1),
                ]
            })
            .collect();
        events.sort_unstable_by_key(|&(round, delta)| (round, delta));
        let (mut now, mut peak) = (0i64, 0i64);
        for (_, d) in events {
            now += d;
            peak = peak.max(now);
        }
        let mut neighbour_latency = nb.take_latencies();
        neighbour_latency.sort_unstable();
        Row {
            name: name.to_string(),
            policy,
            schedule,
            rounds: r.rounds,
            upgraded: r.upgraded,
            downtime,
            peak_stopped: peak as u64,
            neighbour: neighbour_latency,
            factory_instructions: r.factory_instructions,
        }
    }

    /// OpenChat's fixed 10 and the naive one at a time (on `sample`).
    fn anchors(&mut self, sample: &[candid::Principal], rows: &mut Vec<Row>) {
        rows.push(self.run(
            "OpenChat fixed 10",
            Policy::Every,
            Schedule::Fixed(10),
            None,
            true,
        ));
        rows.push(self.run(
            &format!("naive one at a time ({} sampled)", sample.len()),
            Policy::Every,
            Schedule::Fixed(1),
            Some(sample),
            true,
        ));
    }

    /// The neighbour's loop alone on the idle subnet.
    fn idle_neighbour(&mut self, calls: usize) -> Vec<u64> {
        let emu = &self.fleet.world.emu;
        self.neighbour.take_latencies();
        while self.neighbour.latencies.len() < calls {
            self.neighbour.before_round(emu);
            self.fleet.round();
        }
        let mut v = self.neighbour.take_latencies();
        v.sort_unstable();
        v
    }
}

pub fn run(size: &Size, report: &mut Report) {
    for &n in &size.capacity_fleets {
        eprintln!("capacity N={n}: provisioning on an application subnet");
        let fleet = Fleet::on_subnet(n, UserModule::Real, SubnetConfig::application());
        let mut b = Bench {
            neighbour: Neighbour::new(&fleet.world.emu),
            fleet: &fleet,
            versions: 0,
        };
        let idle = b.idle_neighbour(20);
        let one = &fleet.canisters[..1];
        let min_every = b.run(
            "one canister alone",
            Policy::Every,
            Schedule::Fixed(1),
            Some(one),
            false,
        );
        let min_none = b.run(
            "one canister alone",
            Policy::None,
            Schedule::Fixed(1),
            Some(one),
            false,
        );
        let sample = &fleet.canisters[..(size.naive_sample.min(n) as usize)];
        let mut rows = Vec::new();
        // `CAPACITY_POLICIES=none,canary` measures only those policies;
        // `CAPACITY_ANCHORS=0` leaves out OpenChat's and the naive rows
        // (the longest runs, independent of the factory's admission).
        let policies = std::env::var("CAPACITY_POLICIES").ok();
        let anchors = std::env::var("CAPACITY_ANCHORS").map_or(true, |v| v != "0");
        for policy in Policy::ALL {
            if policies
                .as_deref()
                .is_some_and(|o| !o.split(',').any(|p| p == policy.short()))
            {
                continue;
            }
            rows.push(b.run(
                "saturated (fixed 500)",
                policy,
                Schedule::Fixed(500),
                None,
                true,
            ));
            rows.push(b.run("factory adaptive", policy, Schedule::Adaptive, None, true));
        }
        if anchors {
            b.anchors(sample, &mut rows);
        }
        let ctx = Context {
            n,
            idle,
            min_every: percentile(&min_every.downtime, 100.0),
            min_none: percentile(&min_none.downtime, 100.0),
        };
        record(&ctx, &rows, report);
        let t = table(&ctx, &rows);
        eprintln!("{t}");
        println!("{t}");
    }
}

struct Context {
    n: u64,
    idle: Vec<u64>,
    min_every: u64,
    min_none: u64,
}

impl Context {
    fn min_downtime(&self, p: Policy) -> u64 {
        match p {
            Policy::None => self.min_none,
            // The canary stage's few snapshots do not set the tail.
            Policy::Canary => self.min_none,
            Policy::Every => self.min_every,
        }
        .max(1)
    }
}

fn saturated(rows: &[Row], p: Policy) -> Option<&Row> {
    rows.iter()
        .find(|r| r.policy == p && r.schedule == Schedule::Fixed(500))
}

fn record(ctx: &Context, rows: &[Row], report: &mut Report) {
    let bench = format!("admission N={} application subnet", ctx.n);
    let idle_p99 = percentile(&ctx.idle, 99.0);
    report.add(
        &bench,
        "minimum downtime, snapshot",
        ctx.min_every as f64,
        "rounds",
        "one canister alone, idle subnet",
    );
    report.add(
        &bench,
        "minimum downtime, no snapshot",
        ctx.min_none as f64,
        "rounds",
        "one canister alone, idle subnet",
    );
    report.add(
        &bench,
        "neighbour install/snapshot latency p99, idle",
        idle_p99 as f64,
        "rounds",
        "",
    );
    for r in rows {
        let what = format!("{} / {}", r.name, r.policy.name());
        let add = |report: &mut Report, k: &str, v: f64, unit: &str| {
            report.add(&bench, &format!("{what}: {k}"), v, unit, "");
        };
        add(report, "rounds", r.rounds as f64, "rounds");
        add(report, "upgrades per round", r.rate(), "upgr/round");
        if let Some(s) = saturated(rows, r.policy) {
            add(
                report,
                "rate / saturated rate",
                r.rate() / s.rate().max(f64::MIN_POSITIVE),
                "x",
            );
        }
        for (label, p) in [("p50", 50.0), ("p99", 99.0), ("max", 100.0)] {
            add(
                report,
                &format!("downtime {label}"),
                percentile(&r.downtime, p) as f64,
                "rounds",
            );
        }
        add(
            report,
            "most stopped at once",
            r.peak_stopped as f64,
            "canisters",
        );
        add(
            report,
            "neighbour latency p99",
            percentile(&r.neighbour, 99.0) as f64,
            "rounds",
        );
        add(
            report,
            "factory instructions per upgrade",
            r.factory_instructions as f64 / r.upgraded.max(1) as f64,
            "instr",
        );
        add(
            report,
            "IC wall time for 10,000",
            10_000.0 / r.rate().max(f64::MIN_POSITIVE),
            "s",
        );
        add(
            report,
            "IC wall time for 100,000",
            100_000.0 / r.rate().max(f64::MIN_POSITIVE),
            "s",
        );
    }
}

fn duration(seconds: f64) -> String {
    if seconds >= 86_400.0 {
        format!("{:.1} d", seconds / 86_400.0)
    } else if seconds >= 3_600.0 {
        format!("{:.1} h", seconds / 3_600.0)
    } else {
        format!("{:.0} min", (seconds / 60.0).max(1.0))
    }
}

/// The side-by-side table (Markdown).
fn table(ctx: &Context, rows: &[Row]) -> String {
    let idle_p99 = percentile(&ctx.idle, 99.0).max(1);
    let mut out = format!(
        "\nRollout of {} user canisters on one application subnet (437 M heavy instructions a round), one round per second.\n\
         Minimum downtime (one canister alone, idle subnet): {} rounds with a snapshot, {} without. \
         Neighbour's install/snapshot latency on the idle subnet: p99 {} rounds.\n\n\
         | scheduler | snapshots | rounds | upgrades/round | × saturated | downtime p50 / p99 / max (rounds) | p99, max × min | most stopped at once | neighbour p99 (× idle) | 10,000 on the IC | 100,000 |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        ctx.n,
        ctx.min_every,
        ctx.min_none,
        idle_p99
    );
    for r in rows {
        let sat =
            saturated(rows, r.policy).map_or(0.0, |s| r.rate() / s.rate().max(f64::MIN_POSITIVE));
        let min = ctx.min_downtime(r.policy) as f64;
        let (p50, p99, max) = (
            percentile(&r.downtime, 50.0),
            percentile(&r.downtime, 99.0),
            percentile(&r.downtime, 100.0),
        );
        let nb = percentile(&r.neighbour, 99.0);
        out.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.2} | {} / {} / {} | {:.1} / {:.1} | {} | {} ({:.1}) | {} | {} |\n",
            r.name,
            r.policy.name(),
            r.rounds,
            r.rate(),
            sat,
            p50,
            p99,
            max,
            p99 as f64 / min,
            max as f64 / min,
            r.peak_stopped,
            nb,
            nb as f64 / idle_p99 as f64,
            duration(10_000.0 / r.rate().max(f64::MIN_POSITIVE)),
            duration(100_000.0 / r.rate().max(f64::MIN_POSITIVE)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{duration, percentile};

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn durations_read_as_a_person_would() {
        assert_eq!(duration(30.0), "1 min");
        assert_eq!(duration(600.0), "10 min");
        assert_eq!(duration(7_200.0), "2.0 h");
        assert_eq!(duration(172_800.0), "2.0 d");
    }
}
