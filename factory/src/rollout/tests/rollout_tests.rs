//! Rollouts end to end against the fake: caps, stages, halting, retries,
//! skips, reconciliation after a factory upgrade, cycles, bounded ticks.

use super::sim::*;
use crate::rollout::enumerate::SCAN_KEYS_PER_TICK;
use crate::rollout::model::*;
use crate::rollout::plan::*;
use crate::testing::*;

fn all_on(h: &Harness, ids: &[candid::Principal], release: &wasm_registry::Release) -> bool {
    ids.iter()
        .all(|id| h.mgmt.canister(*id).module_hash == Some(release.sha256.0))
}

/// One stage that never halts, for tests that expect failures.
fn tolerant(p: RolloutPlan) -> RolloutPlan {
    RolloutPlan {
        stages: vec![stage("all", 10_000, 10_000)],
        ..p
    }
}

/// The cap's own tests: every slot used from the first tick (the adaptive
/// window's tests are in `admission_flow_tests`).
fn fixed(p: RolloutPlan) -> RolloutPlan {
    RolloutPlan {
        admission: Some(AdmissionPolicy::Fixed),
        ..p
    }
}

fn all_running(h: &Harness, ids: &[candid::Principal]) -> bool {
    ids.iter().all(|id| h.mgmt.running(*id))
}

#[test]
fn a_rollout_upgrades_everyone_within_the_cap_and_keeps_data() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..500, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        stages: vec![stage("canary", 100, 1_000), stage("all", 10_000, 500)],
        ..plan("2.0.0", 50)
    };
    start(&mut sim, fixed(p));
    while !sim.idle() {
        sim.step();
        check_invariants(&h);
        assert!(sim.workers() <= 50);
        assert!(sim.round < 1_000);
    }
    // Counted on the management canister's side.
    let max = h.mgmt.max_in_flight.get();
    assert!((40..=50).contains(&max), "max in flight {max}");
    assert!(all_on(&h, &ids, &v2));
    assert!(all_running(&h, &ids));
    for (n, id) in ids.iter().enumerate() {
        let c = h.mgmt.canister(*id);
        assert_eq!(c.data, (n as u64).to_be_bytes().to_vec(), "data kept");
        assert_eq!(c.snapshots.len(), 1, "one snapshot, the previous replaced");
        let r = h.state.borrow().user_by_canister(id).unwrap();
        assert_eq!(r.version.as_deref(), Some("2.0.0"));
        assert_eq!(r.previous_version.as_deref(), Some("1.0.0"));
        assert!(r.snapshot_id.is_some());
        assert_eq!(r.lock, None);
        assert_eq!(r.last_outcome.unwrap().error, None);
    }
    let s = h.state.borrow();
    assert_eq!(s.version_counts.get(&"2.0.0".to_string()), Some(500));
    assert_eq!(s.version_counts.get(&"1.0.0".to_string()), None);
    assert!(s.sched.items.is_empty());
    drop(s);
    let past = history(&h);
    assert_eq!(past.len(), 1);
    assert_eq!(past[0].end, RolloutEnd::Completed);
    let done: u64 = past[0].stages.iter().map(|s| s.counters.upgraded).sum();
    assert_eq!(done, 500);
    assert!(past[0].stages[0].counters.upgraded > 0, "a canary ran");
    assert_eq!(status(&h).active, None);
}

#[test]
fn throughput_is_the_cap_not_the_tick() {
    // One canister alone gives the rounds per upgrade ...
    let one = {
        let h = Harness::default();
        let v1 = h.publish("1.0.0");
        seed(&h, 0..1, &v1);
        h.publish("2.0.0");
        let mut sim = Sim::new(&h);
        start(&mut sim, plan("2.0.0", 50));
        sim.run(100)
    };
    // ... and 1,000 canisters take ceil(1000 / 50) times that, give or take.
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    seed(&h, 0..1_000, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        tick_interval_ns: Some(5 * ROUND_NS),
        ..plan("2.0.0", 50)
    };
    start(&mut sim, fixed(p));
    let rounds = sim.run(10_000);
    let ideal = 1_000u64.div_ceil(50) * one;
    assert!(
        rounds * 100 <= ideal * 110,
        "{rounds} rounds, ideal {ideal} ({one} per upgrade)"
    );
}

#[test]
fn a_release_trapping_on_ten_percent_halts_at_the_canary() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..500, &v1);
    let v2 = h.publish("2.0.0");
    for id in ids.iter().step_by(10) {
        h.mgmt.set_trap_install(*id);
    }
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        stages: vec![
            StagePlan {
                min_sample: Some(1_000),
                ..stage("canary", 1_000, 500)
            },
            stage("all", 10_000, 500),
        ],
        ..plan("2.0.0", 50)
    };
    start(&mut sim, p);
    sim.run(1_000);
    check_invariants(&h);
    let p = progress(&h);
    let RolloutState::Halted { stage: 0, reason } = &p.state else {
        panic!("not halted at the canary: {:?}", p.state);
    };
    assert!(reason.contains("canary"), "{reason}");
    // One set of numbers, in percent as the command line takes them.
    assert!(
        reason.contains("when it halted") && reason.contains("% allowed)"),
        "{reason}"
    );
    assert!(!reason.contains("bps"), "{reason}");
    let canary = &p.stages[0];
    assert!(canary.failed > 0 && canary.upgraded > 0, "{canary:?}");
    assert_eq!(canary.pending(), 0);
    assert_eq!(p.stages[1], StageCounters::default(), "stage 2 never began");
    assert!(all_running(&h, &ids), "every canister still runs");
    let upgraded = ids
        .iter()
        .filter(|id| h.mgmt.canister(**id).module_hash == Some(v2.sha256.0))
        .count() as u64;
    assert_eq!(upgraded, canary.upgraded);
    for id in ids.iter().step_by(10) {
        assert_eq!(h.mgmt.canister(*id).module_hash, Some(v1.sha256.0));
        assert_eq!(version_of(&h, *id).as_deref(), Some("1.0.0"));
    }
    let reasons = status(&h).active.unwrap().failure_reasons;
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(reasons[0].reason, "install_chunked_code rejected (code 5)");
    assert_eq!(reasons[0].count, canary.failed);
    // Three tries each (the plan's retry policy), then failed.
    assert_eq!(
        h.mgmt.calls("install_chunked_code") as u64,
        canary.upgraded + 3 * canary.failed
    );
}

#[test]
fn a_stage_halts_mid_way_once_its_sample_is_large_enough() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..200, &v1);
    h.publish("2.0.0");
    for id in &ids {
        h.mgmt.set_trap_install(*id);
    }
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        stages: vec![StagePlan {
            min_sample: Some(10),
            ..stage("all", 10_000, 2_000)
        }],
        retry: Some(RetryPolicy {
            max_attempts: 1,
            ..FAST_RETRY
        }),
        ..plan("2.0.0", 5)
    };
    start(&mut sim, p);
    sim.run(1_000);
    let p = progress(&h);
    assert!(matches!(p.state, RolloutState::Halted { stage: 0, .. }));
    // Halted after the sample, not after the whole fleet.
    assert!(p.stages[0].failed <= 15, "{:?}", p.stages[0]);
    assert!(all_running(&h, &ids));
}

#[test]
fn later_stages_wait_for_the_previous_one() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    seed(&h, 0..300, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        stages: vec![
            stage("canary", 500, 0),
            stage("half", 5_000, 0),
            stage("all", 10_000, 0),
        ],
        ..plan("2.0.0", 20)
    };
    start(&mut sim, p);
    let mut seen_stage = 0;
    while !sim.idle() {
        sim.step();
        let Some(p) = h.state.borrow().sched.sched.get().rollout.clone() else {
            continue;
        };
        for (i, c) in p.stages.iter().enumerate() {
            let touched = c.pending() + c.upgraded + c.failed + c.skipped;
            if touched > 0 {
                assert!(i <= usize::from(p.stage));
                for earlier in &p.stages[..i] {
                    assert_eq!(earlier.pending(), 0, "stage {i} began early");
                }
            }
        }
        seen_stage = seen_stage.max(p.stage);
    }
    assert_eq!(seen_stage, 2);
    let past = history(&h);
    let per_stage: Vec<u64> = past[0].stages.iter().map(|s| s.counters.upgraded).collect();
    assert_eq!(per_stage.iter().sum::<u64>(), 300);
    assert!(
        per_stage[0] < per_stage[1] && per_stage[1] < per_stage[2],
        "{per_stage:?}"
    );
}

#[test]
fn retries_back_off_exponentially_then_fail_and_the_canister_runs() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..1, &v1);
    h.publish("2.0.0");
    h.mgmt.set_trap_install(ids[0]);
    let mut sim = Sim::new(&h);
    start(&mut sim, tolerant(plan("2.0.0", 5)));
    let mut waits = vec![];
    let mut last = None;
    while !sim.idle() {
        sim.step();
        let st = crate::rollout::status::upgrade_status(&h.state.borrow(), ids[0]).unwrap();
        if let Some(p) = st.pending {
            if let (Some(at), "retrying") = (p.next_try_ns, p.state.as_str()) {
                if last != Some(at) {
                    waits.push((p.attempts, at - h.env.now.get()));
                    last = Some(at);
                }
            }
        }
    }
    assert_eq!(waits, vec![(1, ROUND_NS), (2, 2 * ROUND_NS)]);
    let past = history(&h);
    assert_eq!(past[0].stages[0].counters.failed, 1);
    assert_eq!(h.mgmt.calls("install_chunked_code"), 3);
    assert!(h.mgmt.running(ids[0]));
    let r = h.state.borrow().user_by_canister(&ids[0]).unwrap();
    assert!(r
        .last_outcome
        .unwrap()
        .error
        .unwrap()
        .contains("post_upgrade"));
    assert_eq!(r.lock, None);
}

#[test]
fn a_transient_failure_is_retried_and_succeeds() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..3, &v1);
    let v2 = h.publish("2.0.0");
    h.mgmt.fail("install_chunked_code", 2);
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", 5));
    sim.run(200);
    assert!(all_on(&h, &ids, &v2));
    let c = &history(&h)[0].stages[0].counters;
    assert_eq!((c.upgraded, c.failed), (3, 0));
    assert_eq!(status(&h).totals.retries, 2);
}

#[test]
fn a_retry_replaces_the_snapshot_the_failed_attempt_took() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..3, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", 5));
    sim.run(200);
    let v3 = h.publish("3.0.0");
    // Each first attempt snapshots (replacing 2.0.0's), then fails to install.
    h.mgmt.fail("install_chunked_code", 3);
    start(&mut sim, plan("3.0.0", 5));
    sim.run(200);
    assert!(all_on(&h, &ids, &v3));
    let c = &history(&h)[0].stages[0].counters;
    assert_eq!((c.upgraded, c.failed), (3, 0));
    for id in &ids {
        let r = h.state.borrow().user_by_canister(id).unwrap();
        let snap = r.snapshot_id.expect("a snapshot before 3.0.0");
        let c = h.mgmt.canister(*id);
        assert_eq!(c.snapshots.len(), 1, "one snapshot, the previous replaced");
        assert!(c.snapshots.contains_key(&snap));
    }
}

#[test]
fn a_canister_that_never_stops_is_started_again_and_counted_failed() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..10, &v1);
    let v2 = h.publish("2.0.0");
    h.mgmt.set_never_stops(ids[3]);
    let mut sim = Sim::new(&h);
    start(&mut sim, tolerant(plan("2.0.0", 5)));
    sim.run(200);
    assert!(all_running(&h, &ids));
    let stuck = h.mgmt.canister(ids[3]);
    assert_eq!(stuck.module_hash, Some(v1.sha256.0));
    assert!(!stuck.stopping);
    let past = history(&h);
    let c = &past[0].stages[0].counters;
    assert_eq!((c.upgraded, c.failed), (9, 1));
    assert_eq!(past[0].reasons[0].reason, "stop_canister rejected (code 2)");
    let others: Vec<_> = ids.iter().copied().filter(|i| *i != ids[3]).collect();
    assert!(all_on(&h, &others, &v2));
}

#[test]
fn canisters_already_on_the_target_are_skipped() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..10, &v1);
    let v2 = h.publish("2.0.0");
    seed(&h, 10..13, &v2);
    // Recorded on 1.0.0 but already running 2.0.0 (upgraded by hand).
    for id in &ids[..2] {
        h.mgmt
            .ic
            .borrow_mut()
            .canisters
            .get_mut(id)
            .unwrap()
            .module_hash = Some(v2.sha256.0);
    }
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", 5));
    sim.run(200);
    let c = &history(&h)[0].stages[0].counters;
    assert_eq!((c.upgraded, c.skipped, c.failed), (8, 5, 0));
    assert_eq!(h.mgmt.calls("install_chunked_code"), 8);
    assert_eq!(h.mgmt.calls("stop_canister"), 8);
    assert_eq!(version_of(&h, ids[0]).as_deref(), Some("2.0.0"));
    assert_eq!(
        h.state.borrow().version_counts.get(&"2.0.0".to_string()),
        Some(13)
    );
}

#[test]
fn filters_choose_the_canisters() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let a = seed(&h, 0..10, &v1);
    let v2 = h.publish("2.0.0");
    let b = seed(&h, 10..20, &v2);
    let v3 = h.publish("3.0.0");
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        filter: Some(RolloutFilter {
            from_versions: vec!["1.0.0".into()],
            exclude_canisters: vec![a[0]],
            ..Default::default()
        }),
        ..plan("3.0.0", 5)
    };
    start(&mut sim, p);
    sim.run(300);
    assert!(all_on(&h, &a[1..], &v3));
    assert_eq!(h.mgmt.canister(a[0]).module_hash, Some(v1.sha256.0));
    assert!(all_on(&h, &b, &v2));
    // Only a listed few, whatever their version.
    let p = RolloutPlan {
        filter: Some(RolloutFilter {
            canisters: vec![b[0], b[1], a[0]],
            ..Default::default()
        }),
        ..plan("3.0.0", 5)
    };
    start(&mut sim, p);
    sim.run(300);
    assert!(all_on(&h, &[b[0], b[1], a[0]], &v3));
    assert!(all_on(&h, &b[2..], &v2));
}

#[test]
fn a_required_intermediate_release_is_installed_first() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..4, &v1);
    h.publish("2.0.0");
    let v3 = h.publish_with("3.0.0", Some("2.0.0"));
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("3.0.0", 5));
    sim.run(300);
    assert!(all_on(&h, &ids, &v3));
    assert_eq!(h.mgmt.calls("install_chunked_code"), 8, "two hops each");
    let r = h.state.borrow().user_by_canister(&ids[0]).unwrap();
    assert_eq!(r.version.as_deref(), Some("3.0.0"));
    assert_eq!(r.previous_version.as_deref(), Some("2.0.0"));
    assert_eq!(history(&h)[0].stages[0].counters.upgraded, 4);
}

#[test]
fn the_factory_upgraded_mid_rollout_reconciles_and_finishes() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..120, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", 30));
    for _ in 0..5 {
        sim.step();
    }
    let stopped_now = ids.iter().filter(|i| !h.mgmt.running(**i)).count();
    assert!(stopped_now > 0, "some canisters are mid-sequence");
    // The old module's tasks die; the new module reopens stable memory.
    sim.kill_tasks();
    h.upgrade_factory();
    check_invariants(&h);
    let mut sim = Sim::new(&h);
    sim.arm(0); // post_upgrade
    sim.run(1_000);
    check_invariants(&h);
    assert!(all_on(&h, &ids, &v2));
    assert!(all_running(&h, &ids));
    let past = history(&h);
    let c = &past[0].stages[0].counters;
    assert_eq!((c.upgraded, c.failed, c.skipped), (120, 0, 0));
    assert!(status(&h).totals.reconciled > 0);
    // Calls dropped with the old tasks never ran: one install per canister.
    assert_eq!(h.mgmt.calls("install_chunked_code"), 120);
    for id in &ids {
        assert_eq!(
            h.mgmt.canister(*id).snapshots.len(),
            1,
            "no orphan snapshot"
        );
        let r = h.state.borrow().user_by_canister(id).unwrap();
        assert_eq!(r.lock, None);
        assert_eq!(r.version.as_deref(), Some("2.0.0"));
        let snap = r.snapshot_id.unwrap();
        assert!(h.mgmt.canister(*id).snapshots.contains_key(&snap));
    }
}

#[test]
fn a_run_interrupted_after_its_install_is_recorded_as_upgraded() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..1, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", 5));
    // Until the install has happened but the final start has not.
    sim.run_until(50, |_| {
        h.mgmt.canister(ids[0]).module_hash == Some(v2.sha256.0)
    });
    assert!(!h.mgmt.running(ids[0]));
    sim.kill_tasks();
    h.upgrade_factory();
    let mut sim = Sim::new(&h);
    sim.arm(0);
    sim.run(100);
    assert!(h.mgmt.running(ids[0]));
    assert_eq!(h.mgmt.calls("install_chunked_code"), 1);
    let c = &history(&h)[0].stages[0].counters;
    assert_eq!((c.upgraded, c.skipped), (1, 0));
    let r = h.state.borrow().user_by_canister(&ids[0]).unwrap();
    assert_eq!(r.previous_version.as_deref(), Some("1.0.0"));
    assert!(r.snapshot_id.is_some());
}

#[test]
fn a_worker_dropped_mid_job_puts_its_canister_back() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..3, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    // All three taken in the first tick and polled in the next step (a job
    // taken by a later tick would not have run to its first call yet).
    let p = RolloutPlan {
        admission: Some(AdmissionPolicy::Fixed),
        ..plan("2.0.0", 5)
    };
    start(&mut sim, p);
    sim.step();
    sim.step();
    assert!(sim.workers() > 0);
    // Cancelled (as a trap elsewhere in the message would) without an upgrade.
    sim.cancel_tasks();
    check_invariants(&h);
    assert!(h.state.borrow().sched.running.is_empty());
    sim.arm(0);
    sim.run(200);
    assert!(all_on(&h, &ids, &v2));
    assert!(all_running(&h, &ids));
}

#[test]
fn a_factory_being_stopped_finishes_its_runs_and_starts_none() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..40, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, fixed(plan("2.0.0", 10)));
    sim.step();
    sim.step();
    h.env.stopping.set(true);
    let in_flight: Vec<_> = h
        .state
        .borrow()
        .sched
        .running
        .keys()
        .map(|k| k.canister)
        .collect();
    assert_eq!(in_flight.len(), 10);
    while sim.workers() > 0 {
        sim.step();
    }
    let upgraded: Vec<_> = ids
        .iter()
        .copied()
        .filter(|i| h.mgmt.canister(*i).module_hash == Some(v2.sha256.0))
        .collect();
    assert_eq!(
        upgraded, in_flight,
        "those in flight finished, no other began"
    );
    assert!(all_running(&h, &ids));
    assert!(h.state.borrow().sched.running.is_empty());
    check_invariants(&h);
}

#[test]
fn low_cycles_canisters_are_topped_up_and_a_poor_factory_pauses_itself() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..10, &v1);
    let v2 = h.publish("2.0.0");
    for id in &ids {
        h.mgmt.ic.borrow_mut().canisters.get_mut(id).unwrap().cycles = 0;
    }
    let reserve = h.state.borrow().config.get().cycles_reserve;
    let t = 1_000_000_000_000u128;
    h.env.balance.set(reserve + 3 * t + t / 2);
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        top_up: Some(TopUpPolicy {
            below: t,
            amount: t,
        }),
        ..plan("2.0.0", 5)
    };
    start(&mut sim, p);
    sim.run_until(100, |_| {
        matches!(
            progress(&h).state,
            RolloutState::Paused(PauseReason::LowCycles { .. })
        ) && h.state.borrow().sched.running.is_empty()
    });
    assert!(
        h.mgmt.min_balance.get() >= reserve,
        "never below the reserve"
    );
    assert_eq!(h.mgmt.ic.borrow().deposited, 3 * t);
    let RolloutState::Paused(PauseReason::LowCycles { needed, .. }) = progress(&h).state else {
        unreachable!()
    };
    assert_eq!(needed, reserve + t);
    assert!(all_running(&h, &ids));
    // Cycles arrive: it resumes by itself.
    h.env.balance.set(reserve + 100 * t);
    sim.run(500);
    assert!(all_on(&h, &ids, &v2));
    assert_eq!(status(&h).totals.top_ups, 10);
    assert_eq!(history(&h)[0].end, RolloutEnd::Completed);
}

#[test]
fn a_revoked_target_halts_the_rollout() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    seed(&h, 0..50, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", 2));
    for _ in 0..5 {
        sim.step();
    }
    h.state
        .borrow_mut()
        .registry
        .revoke(
            &semver::Version::new(2, 0, 0),
            principal(ADMIN),
            0,
            "bad".into(),
        )
        .unwrap();
    sim.run(200);
    let RolloutState::Halted { reason, .. } = progress(&h).state else {
        panic!("not halted");
    };
    assert!(reason.contains("no longer approved"), "{reason}");
}

#[test]
fn a_tick_does_bounded_work_whatever_the_fleet_size() {
    let tick_on = |users, stages: Vec<StagePlan>| {
        let h = Harness::default();
        let v1 = h.publish("1.0.0");
        seed(&h, 0..users, &v1);
        h.publish("2.0.0");
        let mut sim = Sim::new(&h);
        start(
            &mut sim,
            fixed(RolloutPlan {
                stages,
                ..plan("2.0.0", 50)
            }),
        );
        sim.tick_now()
    };
    let canary = || vec![stage("canary", 100, 500), stage("all", 10_000, 500)];
    let (small_canary, small) = (tick_on(1_000, canary()), tick_on(1_000, vec![]));
    let (big_canary, big) = (tick_on(10_000, canary()), tick_on(10_000, vec![]));
    // A canary pass reads keys only (1 % are members), at most a budget.
    assert_eq!(small_canary.enumerated.keys_scanned, 1_000);
    assert_eq!(big_canary.enumerated.keys_scanned, SCAN_KEYS_PER_TICK);
    assert!(big_canary.enumerated.records_read < 50);
    // In a 100 % stage a tick reads as many records as its window has room
    // for, and starts up to its cap: the same at any fleet size.
    assert_eq!(small.enumerated, big.enumerated);
    assert_eq!(big.enumerated.records_read, 50 + 2 * 50);
    assert_eq!(small.jobs.len(), 50);
    assert_eq!(big.jobs.len(), 50);
}

#[test]
fn a_rollout_with_nothing_to_upgrade_completes() {
    // No users at all, and a fleet that is already on the target: both end,
    // through every stage, instead of staying "running" with no tick armed.
    for already_there in [0u64, 3] {
        let h = Harness::default();
        let v1 = h.publish("1.0.0");
        let v2 = h.publish("2.0.0");
        seed(&h, 0..already_there, &v2);
        let _ = v1;
        let mut sim = Sim::new(&h);
        let p = RolloutPlan {
            stages: vec![stage("canary", 500, 1_000), stage("all", 10_000, 500)],
            ..plan("2.0.0", 10)
        };
        let id = start(&mut sim, p);
        sim.run(50);
        let s = h.state.borrow();
        assert!(s.sched.active_plan().is_none(), "rollout {id} still active");
        let last = s.sched.history.iter().last().expect("archived");
        assert_eq!(last.end, RolloutEnd::Completed);
        let skipped: u64 = last.stages.iter().map(|c| c.counters.skipped).sum();
        assert_eq!(skipped, already_there);
    }
}

#[test]
fn a_canister_of_no_known_version_is_counted_skipped_not_lost() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    seed(&h, 0..4, &v1);
    {
        let mut s = h.state.borrow_mut();
        let mut r = s.users.get(&owner_of(0)).unwrap();
        r.version = None;
        s.put_user(r);
    }
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, tolerant(plan("2.0.0", 10)));
    sim.run(200);
    let s = h.state.borrow();
    let last = s.sched.history.iter().last().expect("archived");
    assert_eq!(last.end, RolloutEnd::Completed);
    let upgraded: u64 = last.stages.iter().map(|c| c.counters.upgraded).sum();
    let skipped: u64 = last.stages.iter().map(|c| c.counters.skipped).sum();
    assert_eq!((upgraded, skipped), (3, 1));
}

#[test]
fn a_failed_attempt_records_the_module_the_canister_is_seen_running() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..1, &v1);
    h.publish("2.0.0");
    let v3 = h.publish("3.0.0");
    // A call the factory gave up on executed after all: the canister runs
    // 3.0.0 although the factory last recorded 1.0.0.
    h.mgmt
        .ic
        .borrow_mut()
        .canisters
        .get_mut(&ids[0])
        .unwrap()
        .module_hash = Some(v3.sha256.0);
    h.mgmt.fail("take_canister_snapshot", 3);
    let mut sim = Sim::new(&h);
    start(&mut sim, tolerant(plan("2.0.0", 5)));
    sim.run(200);
    assert!(h.mgmt.running(ids[0]));
    let r = h.state.borrow().user_by_canister(&ids[0]).unwrap();
    assert_eq!(r.version.as_deref(), Some("3.0.0"), "what runs, not 1.0.0");
    assert!(r.last_outcome.unwrap().error.unwrap().contains("snapshot"));
    assert_eq!(r.lock, None);
}
