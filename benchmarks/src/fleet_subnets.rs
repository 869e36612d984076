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
//! during the rollout is one of its calls to a shard.

use crate::fleet::{plan, Fleet, UserModule};
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
    index_per_tick: f64,
    ticks: u64,
    xnet_requests: u64,
}

pub fn run(size: &Size, report: &mut Report) {
    let per_shard = size.fleet_users_per_shard;
    let in_flight = size.max_in_flight;
    eprintln!("fleet over subnets: standalone baseline, {per_shard} users");
    let single = Fleet::new(per_shard, UserModule::Tiny);
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
        format!("tiny user module, max_in_flight {in_flight}, the single-subnet rate"),
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
                "{} requests (each with a response) over {} ticks: {:.2} per shard per tick",
                r.xnet_requests,
                r.ticks,
                r.xnet_requests as f64 / (r.ticks.max(1) * k as u64) as f64
            ),
        );
        runs.push(r);
    }
    let first = runs
        .first()
        .map(|r| (r.index_per_provision, r.index_per_tick));
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
            &format!("k={}: index instructions per fleet tick", r.shards),
            r.index_per_tick,
            "instr",
            format!(
                "{:.2}× k={}; {:.0} per shard per tick",
                r.index_per_tick / t0,
                runs[0].shards,
                r.index_per_tick / r.shards as f64
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
    provision(&w, users);
    let index_per_provision =
        (w.emu.instruction_stats(w.index).total - before) as f64 / users as f64;
    let loads: Vec<u64> = w
        .admin()
        .list_shards()
        .expect("list_shards")
        .iter()
        .map(|s| s.users)
        .collect();
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
    // taken out. A tick sends its calls to every shard in one message, so a
    // round in which the index sent requests is one tick (a finished
    // shard's history read, sent from a callback, adds at most one a shard).
    let (mut queries, mut ticks) = (0, 0);
    loop {
        let before = index_total(&w);
        let r = w.fleet_status().expect("a fleet rollout");
        queries += index_total(&w) - before;
        match r.state {
            FleetRolloutState::Completed => break,
            FleetRolloutState::Running => {}
            other => panic!("the fleet rollout ended {other:?}: {:?}", r.shards),
        }
        assert!(
            w.emu.rounds() - start < MAX_ROUNDS,
            "the rollout never ends"
        );
        let sent = w.emu.xnet_requests();
        w.emu.advance_time(Duration::from_secs(1));
        w.emu.tick();
        if w.emu.xnet_requests() > sent {
            ticks += 1;
        }
    }
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
        index_per_tick: spent as f64 / ticks.max(1) as f64,
        ticks,
        xnet_requests,
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
