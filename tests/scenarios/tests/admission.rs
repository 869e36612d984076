//! Issue 15 on the application-subnet model: the factory admits upgrades at
//! the rate the subnet is seen to serve, never leaves a canister stopped
//! waiting in a queue, yields to a neighbour flooding the subnet, retries the
//! IC's "too busy" rejects, and snapshots only where its plan says.
//!
//! Fleet sizes are small for CI; `ADMISSION_SCENARIO_FLEET=300` runs the
//! issue's 300 canisters.

use candid::Principal;
use factory_client::{AdmissionPolicy, RolloutStatus, SnapshotPolicy};
use ic_emulator::management_types::CanisterStatusType;
use ic_emulator::{Fault, StoppedInterval};
use scenarios::rollout_helpers::{canary_then_all, plan, Member};
use scenarios::{recovery_of, World};
use std::time::Duration;

/// One round a second, as on the IC (the admission window is learned in
/// time, not rounds, so the pace does not change what it learns).
const ROUND: Duration = Duration::from_secs(1);

fn fleet_size(ci: u64) -> u64 {
    std::env::var("ADMISSION_SCENARIO_FLEET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci)
}

fn finished(s: &RolloutStatus) -> bool {
    s.active.is_none() && s.queued == 0 && s.retrying == 0 && s.in_flight == 0
}

/// Stopped intervals that began at or after `from`.
fn intervals_since(w: &World, from: u64) -> Vec<StoppedInterval> {
    w.emu
        .all_stopped_intervals()
        .into_values()
        .flatten()
        .filter(|i| i.stop_requested_round >= from)
        .collect()
}

/// Canisters stopping or stopped at each round of `from..to`.
fn stopped_per_round(intervals: &[StoppedInterval], from: u64, to: u64) -> Vec<u64> {
    (from..to)
        .map(|r| {
            intervals
                .iter()
                .filter(|i| {
                    i.stop_requested_round <= r && i.running_again_round.is_none_or(|a| a > r)
                })
                .count() as u64
        })
        .collect()
}

/// One canister upgraded alone on the idle subnet: its stopped interval.
fn minimum_downtime(w: &World, m: &Member, version: &str, snapshot: SnapshotPolicy) -> u64 {
    w.publish(version);
    let mut p = plan(version, 1);
    p.snapshot = Some(snapshot);
    p.filter = Some(factory_client::RolloutFilter {
        canisters: vec![m.canister],
        ..Default::default()
    });
    let from = w.emu.rounds();
    w.admin().start_rollout(p).expect("started");
    w.drive("the single upgrade", 500, ROUND, |w| {
        finished(&w.rollout_status())
    });
    let i = intervals_since(w, from);
    assert_eq!(i.len(), 1, "one stop");
    i[0].rounds_down(w.emu.rounds())
}

#[test]
fn a_rollout_never_has_more_canisters_stopped_than_the_subnet_serves_in_a_round_or_two() {
    let n = fleet_size(120);
    let w = World::new();
    w.publish("1.0.0");
    let fleet = w.provision_fleet(0..n);
    let least = minimum_downtime(&w, &fleet[0], "1.0.1", SnapshotPolicy::ReplacePrevious);

    let v2 = w.publish("2.0.0");
    let mut p = plan("2.0.0", 500);
    p.snapshot = Some(SnapshotPolicy::ReplacePrevious);
    let from = w.emu.rounds();
    w.admin().start_rollout(p).expect("started");
    let mut peak_window = 0;
    let rounds = w.drive("the rollout", 20_000, ROUND, |w| {
        let s = w.rollout_status();
        peak_window = peak_window.max(s.admission.window);
        finished(&s)
    });
    let to = w.emu.rounds();
    for m in &fleet {
        w.assert_runs(m, &v2);
    }
    let upgraded = fleet.len() as f64;
    let rate = upgraded / rounds as f64;
    let intervals = intervals_since(&w, from);
    assert_eq!(intervals.len(), fleet.len(), "each canister stopped once");
    let stopped = stopped_per_round(&intervals, from, to);
    let peak = *stopped.iter().max().unwrap_or(&0);
    // What the subnet serves while one canister is down alone, plus a round
    // or two: more stopped at once would only wait in the queue. `served` is
    // the rate the subnet was seen to serve (the most restarts in any
    // stretch of twice that span): the rollout's average also counts its
    // slow start and its tail, when fewer are stopped anyway.
    let span = 2 * (least + 2);
    let restarts: Vec<u64> = intervals
        .iter()
        .filter_map(|i| i.running_again_round)
        .collect();
    let best = (from..to.saturating_sub(span).max(from + 1))
        .map(|t| restarts.iter().filter(|&&r| r > t && r <= t + span).count())
        .max()
        .unwrap_or(0);
    let served = best as f64 / span as f64;
    // (and one more: the canister stopped by startup's last step before a
    // queue shows, a loop late)
    let bound = (served * (least + 2) as f64).ceil() as u64 + 2;
    eprintln!(
        "{n} canisters: {rounds} rounds, {rate:.2} upgrades a round (served {served:.2}), \
         least downtime {least}, at most {peak} stopped at once (bound {bound}), window up to {peak_window}"
    );
    assert!(
        peak <= bound,
        "{peak} stopped at once, the subnet serves {served:.2} a round"
    );
    let mut down: Vec<u64> = intervals.iter().map(|i| i.rounds_down(to)).collect();
    down.sort_unstable();
    let p99 = down[(down.len() * 99).div_ceil(100) - 1];
    assert!(p99 <= 2 * least, "p99 downtime {p99} rounds, alone {least}");
    assert!(
        *down.last().unwrap_or(&0) <= 4 * least,
        "max downtime {down:?}"
    );
    // A snapshot fills a round's heavy budget: about one upgrade a round.
    assert!(
        rate >= 0.6,
        "{rate:.2} upgrades a round: the subnet is left idle"
    );
    assert!(peak_window < 500, "the window stayed below the ceiling");
}

/// Heavy work of another app: `per_round` snapshots of its own canisters.
struct Flood {
    controller: Principal,
    canisters: Vec<Principal>,
}

impl Flood {
    fn new(w: &World, canisters: usize) -> Flood {
        let controller = Principal::self_authenticating(b"a neighbour flooding the subnet");
        let canisters = (0..canisters)
            .map(|_| {
                let c = w.emu.create_canister_with_settings(Some(controller), None);
                w.emu.add_cycles(c, 100_000_000_000_000);
                w.emu
                    .install_canister(c, b"\0asm\x01\0\0\0".to_vec(), vec![], Some(controller));
                c
            })
            .collect();
        Flood {
            controller,
            canisters,
        }
    }

    /// One snapshot call per canister, each replacing none (the IC keeps 10;
    /// the emulator's limit ends a long flood with rejects, which is fine).
    fn send(&self, w: &World) {
        for &c in &self.canisters {
            let arg = candid::encode_one(ic_emulator::management_types::TakeCanisterSnapshotArgs {
                canister_id: c,
                replace_snapshot: None,
                uninstall_code: None,
                sender_canister_version: None,
            })
            .expect("encodes");
            w.emu
                .submit_call(
                    Principal::management_canister(),
                    self.controller,
                    "take_canister_snapshot",
                    arg,
                )
                .expect("submitted");
        }
    }
}

/// Management calls waiting on the subnet at the end of the last round.
fn pending_on_subnet(w: &World) -> usize {
    w.emu
        .subnet_round_usage()
        .last()
        .map_or(0, |u| u.pending_management_calls)
}

#[test]
fn a_neighbour_flooding_the_subnet_makes_the_factory_back_off_and_speed_up_once_free() {
    let n = fleet_size(80);
    let w = World::new();
    w.publish("1.0.0");
    let fleet = w.provision_fleet(0..n);
    let flood = Flood::new(&w, 2);
    let v2 = w.publish("2.0.0");
    let mut p = plan("2.0.0", 500);
    p.snapshot = Some(SnapshotPolicy::ReplacePrevious);
    w.admin().start_rollout(p).expect("started");
    let done = |w: &World| w.rollout_status().totals.upgraded;
    // One round; the window after it.
    let round = |w: &World, flooding: bool| {
        if flooding {
            flood.send(w);
        }
        w.emu.advance_time(ROUND);
        w.emu.tick();
        w.rollout_status().admission.window
    };
    // Free: until the rate is found (the first upgrades done, startup
    // over), then 15 rounds at it.
    let mut rounds = 0;
    while done(&w) < 8 && rounds < 80 {
        round(&w, false);
        rounds += 1;
    }
    let before = done(&w);
    let free: Vec<u32> = (0..15).map(|_| round(&w, false)).collect();
    let free_done = done(&w) - before;
    // Two snapshots a round: more than the subnet serves (one a round).
    let before = done(&w);
    let flooded: Vec<u32> = (0..15).map(|_| round(&w, true)).collect();
    let flooded_done = done(&w) - before;
    // The flood's backlog drains (its own queue; the subnet takes senders
    // in turn); then the subnet is free again.
    let mut drain = 0;
    while pending_on_subnet(&w) > 0 {
        round(&w, false);
        drain += 1;
        assert!(drain < 200, "the flood's backlog drains");
    }
    let before = done(&w);
    // Longer than the flood: the rate climbs back an eighth a loop.
    let after: Vec<u32> = (0..45).map(|_| round(&w, false)).collect();
    let after_done = done(&w) - before;
    let mean = |v: &[u32]| f64::from(v.iter().sum::<u32>()) / v.len() as f64;
    eprintln!(
        "upgrades: {free_done} in 15 free rounds, {flooded_done} in 15 flooded, {after_done} in 45 \
         after; drained in {drain}; windows free {free:?}, flooded {flooded:?}, after {after:?}"
    );
    assert!(
        mean(&flooded[5..]) < mean(&free),
        "the window shrank under the flood: {flooded:?} vs {free:?}"
    );
    assert!(
        flooded_done < free_done,
        "fewer upgrades while flooded ({flooded_done} vs {free_done})"
    );
    // The rate, cut while the flood's backlog drained, climbs back.
    let peak = *after.iter().max().unwrap_or(&0);
    assert!(
        f64::from(peak) > mean(&flooded[5..]),
        "the window grew again once free: {after:?}"
    );
    w.drive("the rest of the rollout", 5_000, ROUND, |w| {
        finished(&w.rollout_status())
    });
    for m in &fleet {
        w.assert_runs(m, &v2);
    }
}

#[test]
fn a_stop_timeout_is_retried_and_every_canister_ends_with_an_outcome_running() {
    let n = fleet_size(12);
    let w = World::new();
    w.publish("1.0.0");
    let fleet = w.provision_fleet(0..n);
    let stuck = fleet[1];
    w.emu
        .inject_fault(stuck.canister, Fault::NeverStop)
        .expect("fault");
    let v2 = w.publish("2.0.0");
    let mut p = plan("2.0.0", 20);
    p.retry = Some(factory_client::RetryPolicy {
        max_attempts: 3,
        initial_backoff_ns: 1_000_000_000,
        max_backoff_ns: 1_000_000_000,
    });
    w.admin().start_rollout(p).expect("started");
    // Past the IC's 5-minute stop timeout, ten seconds a round.
    let step = Duration::from_secs(10);
    w.drive("the stop to time out", 200, step, |w| {
        w.admin()
            .upgrade_status(stuck.canister)
            .ok()
            .and_then(|s| s.last_outcome)
            .is_some_and(|o| o.error.is_some())
    });
    let (_, status) = w.status_of(&stuck);
    assert_eq!(
        status,
        CanisterStatusType::Running,
        "started again after the timeout"
    );
    let cuts = w.rollout_status().admission.cuts;
    assert!(cuts >= 1, "the timeout shrank the window");
    w.emu
        .inject_fault(stuck.canister, Fault::AllowStop)
        .expect("fault");
    w.drive_until_idle("the retry", 2_000, step);
    for m in &fleet {
        w.assert_runs(m, &v2);
        let o = w
            .admin()
            .upgrade_status(m.canister)
            .expect("status")
            .last_outcome;
        assert!(
            o.is_some_and(|o| o.error.is_none()),
            "user {} has an outcome",
            m.n
        );
    }
}

#[test]
fn the_canary_only_snapshot_policy_snapshots_the_canary_stage_and_rollback_works_there() {
    let n = fleet_size(20);
    let w = World::new();
    let v1 = w.publish("1.0.0");
    let fleet = w.provision_fleet(0..n);
    w.publish("2.0.0");
    let mut p = plan("2.0.0", 50);
    p.snapshot = Some(SnapshotPolicy::CanaryStages);
    p.stages = canary_then_all(2_500, 10_000);
    p.admission = Some(AdmissionPolicy::Adaptive);
    w.admin().start_rollout(p).expect("started");
    w.drive_until_idle("the rollout", 5_000, ROUND);
    let snapshots = |m: &Member| {
        w.emu
            .list_canister_snapshots(m.canister, Some(recovery_of(m.n)))
            .expect("list")
            .len()
    };
    let (canary, rest): (Vec<&Member>, Vec<&Member>) = fleet.iter().partition(|m| snapshots(m) > 0);
    eprintln!("{} canisters snapshotted, {} not", canary.len(), rest.len());
    assert!(!canary.is_empty() && !rest.is_empty(), "both stages ran");
    assert!(
        canary.len() * 2 <= fleet.len(),
        "only the canary quarter: {}",
        canary.len()
    );
    // Rollback in the canary stage: the recovery principal restores.
    let m = canary[0];
    w.client(recovery_of(m.n))
        .restore_snapshot(m.canister)
        .expect("restored");
    w.assert_runs(m, &v1);
    // Outside it there is nothing to restore, and the answer says so.
    let other = rest[0];
    assert!(w
        .client(recovery_of(other.n))
        .restore_snapshot(other.canister)
        .is_err());
}
