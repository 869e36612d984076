//! Rollout throughput: rounds and wall time to upgrade a fleet of real user
//! canisters, against the ideal `ceil(N / max_in_flight) × rounds per
//! upgrade` and against a naive proxy upgrading one canister at a time (the
//! forum thread's blackhole), all in the same run.

use crate::fleet::{only, plan, Fleet, UserModule};
use crate::measure::median;
use crate::report::Report;
use crate::size::Size;

pub fn run(size: &Size, report: &mut Report) {
    for &n in &size.rollout_fleets {
        one_fleet(size, n, report);
    }
}

fn one_fleet(size: &Size, n: u64, report: &mut Report) {
    let bench = format!("rollout N={n}");
    let k = size.max_in_flight;
    eprintln!("{bench}: provisioning {n} user canisters");
    let fleet = Fleet::new(n, UserModule::Real);
    report.add(
        &bench,
        "factory instructions per provision",
        fleet.provision_instructions.round(),
        "instr",
        format!("all factory messages of {n} provisions, divided by {n}"),
    );
    let mut version = 0;
    let mut next_version = || {
        version += 1;
        let v = format!("1.0.{version}");
        fleet.publish(&v);
        v
    };

    // The same rollout several times (each to a newer release) for the
    // median wall time; rounds and instructions are deterministic.
    let repeats = if n <= size.repeat_rollouts_up_to {
        size.runs
    } else {
        1
    };
    let mut runs = Vec::new();
    for _ in 0..repeats {
        let v = next_version();
        let r = fleet.rollout(plan(&v, k));
        assert_eq!(r.upgraded, n, "every canister upgraded");
        runs.push(r);
    }
    let rounds = runs[0].rounds;
    let wall = median(runs.iter().map(|r| r.wall_s).collect());
    let same = runs.iter().all(|r| r.rounds == rounds);

    // Rounds one upgrade takes, through the same plan: a one-canister rollout.
    let v = next_version();
    let single = fleet.rollout(only(plan(&v, k), &fleet.canisters[..1]));
    let per_upgrade = single.rounds;
    let ideal = n.div_ceil(u64::from(k)) * per_upgrade;

    // The naive proxy: the same sequence, one canister at a time.
    let v = next_version();
    let whole = n <= size.naive_whole_fleet_up_to;
    let sample = if whole { n } else { size.naive_sample.min(n) };
    let naive_plan = if whole {
        plan(&v, 1)
    } else {
        only(plan(&v, 1), &fleet.canisters[..sample as usize])
    };
    eprintln!("{bench}: naive proxy over {sample} canisters");
    let naive = fleet.rollout(naive_plan);
    assert_eq!(naive.upgraded, sample);
    let scale = n as f64 / sample as f64;
    let naive_rounds = naive.rounds as f64 * scale;
    let naive_wall = naive.wall_s * scale;
    let naive_note = if whole {
        "measured on the whole fleet".to_string()
    } else {
        format!(
            "measured on {sample} of {n} canisters, scaled ×{scale:.0} (linear by construction)"
        )
    };

    report.add(
        &bench,
        "rounds (rollout)",
        rounds as f64,
        "rounds",
        format!(
            "max_in_flight {k}, one round per second{}",
            if same {
                ""
            } else {
                "; rounds differed between runs"
            }
        ),
    );
    report.add(
        &bench,
        "rounds per upgrade",
        per_upgrade as f64,
        "rounds",
        "a one-canister rollout, start to end",
    );
    report.add(
        &bench,
        "ideal rounds",
        ideal as f64,
        "rounds",
        format!("ceil({n}/{k}) × {per_upgrade}"),
    );
    report.add(
        &bench,
        "rounds / ideal",
        rounds as f64 / ideal as f64,
        "ratio",
        "goal ≤ 1.10",
    );
    report.add(
        &bench,
        "naive proxy rounds",
        naive_rounds.round(),
        "rounds",
        naive_note.clone(),
    );
    report.add(
        &bench,
        "naive rounds / rollout rounds",
        naive_rounds / rounds as f64,
        "ratio",
        "speed-up of the batched rollout",
    );
    report.add(
        &bench,
        "wall time (rollout)",
        wall,
        "s",
        format!("median of {} runs", runs.len()),
    );
    report.add(
        &bench,
        "wall time (naive proxy)",
        naive_wall,
        "s",
        naive_note,
    );
    report.add(
        &bench,
        "factory instructions per orchestrated upgrade",
        (runs[0].factory_instructions as f64 / n as f64).round(),
        "instr",
        format!(
            "every factory message of the rollout (incl. {} ticks) / {n}",
            runs[0].ticks
        ),
    );
    report.add(
        &bench,
        "max management calls in flight",
        runs.iter()
            .map(|r| r.peak_calls_in_flight)
            .max()
            .unwrap_or(0) as f64,
        "calls",
        format!("seen by the emulator at round ends; cap {k}"),
    );
}
