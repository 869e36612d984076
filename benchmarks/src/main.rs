//! `factory-bench`: every benchmark of DESIGN.md "Performance" in one run.
//! Prints one table and writes it to `target/bench/results.{json,md}`.
//!
//!     cargo run --release -p factory-bench -- --size full

mod capacity;
mod emulator_round;
mod factory_cost;
mod fleet;
mod fleet_subnets;
mod keeper;
mod measure;
mod neighbour;
mod report;
mod rollout;
mod size;
mod user_upgrade;
mod wasm_size;

use clap::{Parser, ValueEnum};
use report::Report;
use size::{Size, SizeName};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Bench {
    Round,
    Wasm,
    UserUpgrade,
    Factory,
    Rollout,
    Capacity,
    FleetSubnets,
    Keeper,
}

#[derive(Parser)]
#[command(
    about = "Runs every benchmark once and prints one table (also written as JSON and Markdown)."
)]
struct Args {
    /// How big: `smallest` checks that everything runs (CI), `full` is every
    /// figure at the size the issues ask for.
    #[arg(long, value_enum, default_value = "default")]
    size: SizeName,
    /// Only these benchmarks (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Bench>,
    /// Where results.json and results.md go (default: target/bench).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let size = Size::of(args.size);
    let wanted = |b: Bench| args.only.is_empty() || args.only.contains(&b);
    let mut report = Report {
        size: format!("{:?}", args.size).to_lowercase(),
        git_commit: git_commit(),
        wall_s: 0.0,
        figures: Vec::new(),
    };
    let ((), wall) = measure::timed(|| {
        // The emulator's round first: the process's peak RSS is then its own.
        if wanted(Bench::Round) {
            emulator_round::run(&size, &mut report);
        }
        if wanted(Bench::Wasm) {
            wasm_size::run(&mut report);
        }
        if wanted(Bench::UserUpgrade) {
            user_upgrade::run(&size, &mut report);
        }
        if wanted(Bench::Factory) {
            factory_cost::run(&size, &mut report);
        }
        if wanted(Bench::Rollout) {
            rollout::run(&size, &mut report);
        }
        if wanted(Bench::Capacity) {
            capacity::run(&size, &mut report);
        }
        if wanted(Bench::FleetSubnets) {
            fleet_subnets::run(&size, &mut report);
        }
        if wanted(Bench::Keeper) {
            keeper::run(&size, &mut report);
        }
    });
    report.wall_s = wall;
    println!("{}", report.table());
    let out = args
        .out
        .unwrap_or_else(|| canister_artifacts::workspace_root().join("target/bench"));
    match report.write(&out) {
        Ok(()) => println!("written: {}", out.join("results.{json,md}").display()),
        Err(e) => {
            eprintln!("cannot write the results to {}: {e}", out.display());
            std::process::exit(1);
        }
    }
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
