//! Admission in the scheduler: it bounds what a tick starts, a
//! fixed plan keeps the old schedule, the IC's "too busy" rejects are retried
//! without spending a try, and the snapshot policy follows the stages.

use super::sim::*;
use crate::rollout::plan::*;
use crate::rollout::take::snapshots_in_stage;
use crate::testing::*;

#[test]
fn an_adaptive_rollout_starts_at_one_a_round_and_grows_under_the_ceiling() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..200, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", 40));
    sim.step();
    let first = sim.last_tick.as_ref().map_or(0, |t| t.jobs.len());
    assert_eq!(first, 1, "nothing learned yet: one a round");
    let mut peak_workers = 0;
    while !sim.idle() {
        sim.step();
        peak_workers = peak_workers.max(sim.workers());
        assert!(sim.round < 2_000);
    }
    // A subnet that answers in constant time has room: the window opened.
    assert!(
        (10..=40).contains(&peak_workers),
        "{peak_workers} at once: the window opened, under the ceiling"
    );
    assert!(h.mgmt.max_in_flight.get() <= 40);
    assert!(ids
        .iter()
        .all(|id| h.mgmt.canister(*id).module_hash == Some(v2.sha256.0)));
    let a = status(&h).admission;
    assert!(
        a.base_latency_ns > 0 && a.latency_ns >= a.base_latency_ns,
        "{a:?}"
    );
    assert!(a.upgrades_per_ks > 0);
}

#[test]
fn a_fixed_plan_starts_max_in_flight_at_once() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    seed(&h, 0..100, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        admission: Some(AdmissionPolicy::Fixed),
        ..plan("2.0.0", 30)
    };
    start(&mut sim, p);
    sim.step();
    let first = sim.last_tick.as_ref().map_or(0, |t| t.jobs.len());
    assert_eq!(first, 30);
    sim.run(2_000);
}

#[test]
fn a_rate_limited_install_is_retried_without_spending_a_try_and_cuts_the_window() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..3, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    // One try only: a transient reject that counted would fail the canister.
    let p = RolloutPlan {
        retry: Some(RetryPolicy {
            max_attempts: 1,
            ..FAST_RETRY
        }),
        ..plan("2.0.0", 10)
    };
    h.mgmt.fail_transient("install_chunked_code", 4);
    start(&mut sim, p);
    sim.run(2_000);
    for id in &ids {
        assert!(h.mgmt.running(*id), "never left stopped");
        assert_eq!(h.mgmt.canister(*id).module_hash, Some(v2.sha256.0));
    }
    let s = status(&h);
    assert_eq!(s.totals.failed, 0);
    assert!(s.totals.retries >= 4, "each reject retried: {:?}", s.totals);
    assert!(s.admission.cuts >= 1, "the window was cut");
}

#[test]
fn a_canister_error_still_spends_a_try() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..1, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        retry: Some(RetryPolicy {
            max_attempts: 1,
            ..FAST_RETRY
        }),
        stages: vec![stage("all", 10_000, 10_000)],
        ..plan("2.0.0", 10)
    };
    h.mgmt.fail("install_chunked_code", 1);
    start(&mut sim, p);
    sim.run(2_000);
    assert_eq!(status(&h).totals.failed, 1);
    assert!(h.mgmt.running(ids[0]));
    assert_eq!(status(&h).admission.cuts, 0, "not the subnet's doing");
}

#[test]
fn canary_stages_snapshot_all_but_the_last_stage() {
    use SnapshotPolicy::*;
    assert!(snapshots_in_stage(CanaryStages, 0, 2));
    assert!(!snapshots_in_stage(CanaryStages, 1, 2));
    assert!(
        !snapshots_in_stage(CanaryStages, 0, 1),
        "one stage: no canary"
    );
    assert!(snapshots_in_stage(ReplacePrevious, 1, 2));
    assert!(!snapshots_in_stage(Never, 0, 2));
}

#[test]
fn the_canary_policy_snapshots_only_the_canary_stage() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..200, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        snapshot: Some(SnapshotPolicy::CanaryStages),
        stages: vec![stage("canary", 1_000, 10_000), stage("all", 10_000, 10_000)],
        ..plan("2.0.0", 20)
    };
    start(&mut sim, p);
    sim.run(3_000);
    let snapshotted = ids
        .iter()
        .filter(|id| !h.mgmt.canister(**id).snapshots.is_empty())
        .count();
    assert!(
        (1..=40).contains(&snapshotted),
        "{snapshotted} of 200 snapshotted: the canary's ~10 %"
    );
    for id in &ids {
        let r = h.state.borrow().user_by_canister(id).unwrap();
        assert_eq!(
            r.snapshot_id.is_some(),
            !h.mgmt.canister(*id).snapshots.is_empty(),
            "the record knows which canisters can be restored"
        );
    }
}
