//! Issue 16's figures: one fleet over k subnets (the index on a subnet of its
//! own, one shard on each of k more), with the same users per shard as a
//! standalone factory on one application subnet.
//!
//! - Scaling: the fleet rollout's rate (canisters upgraded per round) against
//!   k × the standalone factory's rate (goal ≥ 0.90). With as many users per
//!   shard as the standalone factory has, that is the standalone rollout's
//!   rounds over the fleet rollout's.
//! - The index's cost: instructions per provision (placement and the
//!   forward) and per fleet tick, at each k (goal: flat within 20 %).
//! - Cross-subnet traffic: requests that crossed subnets (the emulator
//!   counts them; each brings one response back) per upgraded canister, and
//!   per shard per tick.
//!
//! The index is alone on its subnet, so every request that crosses subnets
//! during the rollout is one of its calls to a shard or a shard's one-way
//! progress report to it.
//! - Wall time: provisioning and the rollout apart, to see what a larger run
//!   would cost here.

use crate::fleet::{plan, Fleet, UserModule};
use crate::measure::timed;
use crate::report::Report;
use crate::size::Size;
use candid::Principal;
use factory_client::{FactoryError, FleetRolloutState, ProvisionArgs};
use scenarios::shards::ShardedWorld;
use std::time::Duration;

/// Provisions in flight at the index at once (the fleet benchmark's batch).
const PROVISION_BATCH: u64 = 400;
/// A shard's cycles for 100,000 canisters and their fees.
const SHARD_CYCLES: u128 = 1_000_000_000_000_000_000;
/// A guard against a rollout that never ends (a bug, not a slow run).
const MAX_ROUNDS: u64 = 1_000_000;

/// The fleet's figures at one k.
struct FleetRun {
    shards: usize,
    users: u64,
    rounds: u64,
    index_per_provision: f64,
    /// Index instructions per round of the rollout: its ticks, the
    /// answers they get and the shards' reports.
    index_per_round: f64,
    index_messages: u64,
    xnet_requests: u64,
    provision_wall_s: f64,
    rollout_wall_s: f64,
}

pub fn run(size: &Size, report: &mut Report) {
    let per_shard = size.fleet_users_per_shard;
    let in_flight = size.max_in_flight;
    eprintln!("fleet over subnets: standalone baseline, {per_shard} users");
    let single = Fleet::new(per_shard, UserModule::Tiny);
    let single_provision_wall = single.provision_wall_s;
    single.publish("2.0.0");
    let base = single.rollout(plan("2.0.0", in_flight));
    assert_eq!(base.upgraded, per_shard);
    drop(single);
    let bench = format!("fleet subnets N={per_shard}/shard");
    report.add(
        &bench,
        "standalone rollout rounds (one subnet)",
        base.rounds as f64,
        "rounds",
        format!(
            "tiny user module, max_in_flight {in_flight}, snapshots never, the single-subnet rate"
        ),
    );
    report.add(
        &bench,
        "standalone provisioning wall time",
        single_provision_wall,
        "s",
        format!("{per_shard} users on one subnet"),
    );
    let mut runs = Vec::new();
    for &k in &size.fleet_shards {
        eprintln!("fleet over subnets: {k} shards × {per_shard} users");
        let r = fleet_run(k, per_shard, in_flight);
        let scaling = base.rounds as f64 / r.rounds as f64;
        report.add(
            &bench,
            &format!("k={k}: fleet rollout rounds ({} canisters)", r.users),
            r.rounds as f64,
            "rounds",
            format!("index + {k} shards, each on its own subnet"),
        );
        report.add(
            &bench,
            &format!("k={k}: rate vs k × single-subnet rate"),
            scaling,
            "ratio",
            "goal ≥ 0.90 (linear scaling)",
        );
        report.add(
            &bench,
            &format!("k={k}: cross-subnet requests per upgraded canister"),
            r.xnet_requests as f64 / r.users as f64,
            "req",
            format!(
                "{} requests (calls with a response, one-way reports) over {} rounds: {:.2} per shard per round",
                r.xnet_requests,
                r.rounds,
                r.xnet_requests as f64 / (r.rounds.max(1) * k as u64) as f64
            ),
        );
        report.add(
            &bench,
            &format!("k={k}: wall time provisioning / rollout"),
            r.provision_wall_s,
            "s",
            format!(
                "provisioning {:.0} s ({:.1} ms a user), rollout {:.0} s ({:.0} ms a round)",
                r.provision_wall_s,
                r.provision_wall_s * 1e3 / r.users as f64,
                r.rollout_wall_s,
                r.rollout_wall_s * 1e3 / r.rounds.max(1) as f64
            ),
        );
        runs.push(r);
    }
    let first = runs
        .first()
        .map(|r| (r.index_per_provision, r.index_per_round));
    for r in &runs {
        let (p0, t0) = first.unwrap_or((1.0, 1.0));
        report.add(
            &bench,
            &format!("k={}: index instructions per provision", r.shards),
            r.index_per_provision,
            "instr",
            format!(
                "{:.2}× k={}; goal: flat within 20 %",
                r.index_per_provision / p0,
                runs[0].shards
            ),
        );
        report.add(
            &bench,
            &format!("k={}: index instructions per round", r.shards),
            r.index_per_round,
            "instr",
            format!(
                "{:.2}× k={}; goal: flat within 20 %; {} index messages over {} rounds",
                r.index_per_round / t0,
                runs[0].shards,
                r.index_messages,
                r.rounds
            ),
        );
    }
}

fn fleet_run(k: usize, per_shard: u64, in_flight: u32) -> FleetRun {
    let w = ShardedWorld::new(k);
    for &s in &w.shards {
        w.emu.add_cycles(s, SHARD_CYCLES);
    }
    w.publish_module("1.0.0", &UserModule::Tiny.module("1.0.0"));
    let users = per_shard * k as u64;
    let before = w.emu.instruction_stats(w.index).total;
    let ((), provision_wall_s) = timed(|| provision(&w, users));
    let index_per_provision =
        (w.emu.instruction_stats(w.index).total - before) as f64 / users as f64;
    let loads: Vec<u64> = w.shard_loads();
    assert!(
        loads.iter().all(|&l| l == per_shard),
        "placement: {loads:?}"
    );
    w.publish_module("2.0.0", &UserModule::Tiny.module("2.0.0"));
    w.admin()
        .start_rollout(plan("2.0.0", in_flight))
        .expect("start the fleet rollout");
    let index_total = |w: &ShardedWorld| w.emu.instruction_stats(w.index).total;
    let (instructions, xnet, start) = (index_total(&w), w.emu.xnet_requests(), w.emu.rounds());
    // The status reads are the benchmark's, not the fleet's: their cost is
    // taken out. The index ticks once a second (a round here) while the
    // rollout runs, so its instructions per round are its work per tick,
    // the shards' pushed reports included.
    let messages = |w: &ShardedWorld| w.emu.instruction_stats(w.index).messages;
    let first_message = messages(&w);
    let mut queries = 0;
    let mut query_messages = 0;
    let ((), rollout_wall_s) = timed(|| loop {
        let (before, before_messages) = (index_total(&w), messages(&w));
        let r = w.fleet_status().expect("a fleet rollout");
        queries += index_total(&w) - before;
        query_messages += messages(&w) - before_messages;
        match r.state {
            FleetRolloutState::Completed => break,
            FleetRolloutState::Running => {}
            other => panic!("the fleet rollout ended {other:?}: {:?}", r.shards),
        }
        assert!(
            w.emu.rounds() - start < MAX_ROUNDS,
            "the rollout never ends"
        );
        w.emu.advance_time(Duration::from_secs(1));
        w.emu.tick();
    });
    let rounds = w.emu.rounds() - start;
    let r = w.fleet_status().expect("a fleet rollout");
    let upgraded: u64 = r.totals.iter().map(|t| t.upgraded).sum();
    assert_eq!(upgraded, users, "every canister upgraded: {:?}", r.totals);
    let spent = index_total(&w) - instructions - queries;
    let xnet_requests = w.emu.xnet_requests() - xnet;
    FleetRun {
        shards: k,
        users,
        rounds,
        index_per_provision,
        index_per_round: spent as f64 / rounds.max(1) as f64,
        index_messages: messages(&w) - first_message - query_messages,
        xnet_requests,
        provision_wall_s,
        rollout_wall_s,
    }
}

/// User `i` as real sign-ups come (random order in the index's maps).
fn user(i: u64) -> Principal {
    Principal::self_authenticating([&b"fleet user"[..], &i.to_le_bytes()].concat())
}

fn recovery_of(i: u64) -> Principal {
    Principal::self_authenticating([&b"fleet recovery"[..], &i.to_le_bytes()].concat())
}

/// Provisions users 0..n through the index, `PROVISION_BATCH` at a time.
fn provision(w: &ShardedWorld, n: u64) {
    let mut next = 0;
    while next < n {
        let end = (next + PROVISION_BATCH).min(n);
        let calls: Vec<_> = (next..end)
            .map(|i| {
                let arg = candid::encode_one(ProvisionArgs {
                    recovery: recovery_of(i),
                })
                .expect("encode");
                w.emu
                    .submit_call(w.index, user(i), "provision", arg)
                    .expect("submitted")
            })
            .collect();
        for (i, call) in (next..end).zip(calls) {
            let reply = w.emu.await_call(call).expect("provision replied");
            candid::decode_one::<Result<Principal, FactoryError>>(&reply)
                .expect("decode")
                .unwrap_or_else(|e| panic!("provisioning user {i}: {e:?}"));
        }
        next = end;
    }
}
