//! A factory upgraded while it runs (forced past `pre_upgrade`): the old
//! module's calls stay outstanding after its tasks die, and the new module
//! never goes over the cap because of them.

use super::sim::*;
use crate::rollout::model::*;
use crate::rollout::settle::settle_after_ns;
use crate::testing::*;
use candid::Principal;

const CAP: u32 = 4;

/// The latest each run of the module just replaced may have its call
/// answered, if it sent it just before the upgrade at `at` (the phase names
/// the call).
fn worst_case_answers(h: &Harness, at: u64) -> Vec<u64> {
    let s = h.state.borrow();
    let replaced = s.epoch() - 1;
    s.sched
        .items
        .iter()
        .filter_map(|e| match &e.value().state {
            ItemState::Running(r) if r.epoch == replaced => Some(at + settle_after_ns(r.phase)),
            _ => None,
        })
        .collect()
}

/// Kills the module's tasks mid-flight (their calls stay outstanding: the
/// fake never answers a forgotten future) and upgrades the factory.
fn force_upgrade(h: &Harness, sim: &mut Sim) -> u64 {
    sim.kill_tasks();
    h.upgrade_factory();
    h.env.now.get()
}

/// Steps the new module to the end, checking after every round that its own
/// calls plus the old ones that may still be outstanding stay within the cap.
fn run_within_cap(h: &Harness, orphaned: u32, old_answers: &[u64]) -> u64 {
    let mut sim = Sim::new(h);
    sim.arm(0); // post_upgrade
    let mut rounds = 0;
    while !sim.idle() {
        sim.step();
        rounds += 1;
        assert!(rounds < 3_000, "not done in {rounds} rounds");
        let now = h.env.now.get();
        let old = old_answers.iter().filter(|t| **t > now).count() as u32;
        let new = h.mgmt.in_flight.get() - orphaned;
        assert!(
            old + new <= CAP,
            "round {rounds}: {new} new calls and {old} old ones maybe outstanding"
        );
        assert!(status(h).in_flight <= CAP);
    }
    check_invariants(h);
    rounds
}

fn assert_finished(h: &Harness, ids: &[Principal], release: &wasm_registry::Release) {
    for id in ids {
        let c = h.mgmt.canister(*id);
        assert_eq!(c.module_hash, Some(release.sha256.0), "{id} upgraded");
        assert!(h.mgmt.running(*id), "{id} runs");
        let r = h.state.borrow().user_by_canister(id).unwrap();
        assert!(r.last_outcome.is_some(), "{id} has an outcome");
        assert_eq!(r.lock, None);
    }
    let c = &history(h)[0].stages[0].counters;
    assert_eq!((c.upgraded, c.failed, c.skipped), (ids.len() as u64, 0, 0));
}

#[test]
fn a_factory_upgraded_at_its_cap_waits_for_the_old_calls() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..24, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", CAP));
    sim.run_until(50, |_| h.mgmt.in_flight.get() == CAP);
    let at = force_upgrade(&h, &mut sim);
    let answers = worst_case_answers(&h, at);
    assert_eq!(answers.len(), CAP as usize, "every slot was in flight");
    let orphaned = h.mgmt.in_flight.get();
    assert_eq!(orphaned, CAP);
    // The stale runs still count: nothing new may start yet.
    assert_eq!(status(&h).in_flight, CAP);

    run_within_cap(&h, orphaned, &answers);
    assert_finished(&h, &ids, &v2);
    assert_eq!(status(&h).totals.reconciled, u64::from(CAP));
}

#[test]
fn two_forced_upgrades_in_a_row_keep_the_cap() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..24, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", CAP));
    sim.run_until(50, |_| h.mgmt.in_flight.get() == CAP);
    let at = force_upgrade(&h, &mut sim);
    let answers = worst_case_answers(&h, at);
    // The second module runs a while (long enough for the prompt calls to
    // settle and new runs to start), then is upgraded the same way.
    let mut sim = Sim::new(&h);
    sim.arm(0);
    sim.run_until(400, |_| {
        h.mgmt.in_flight.get() > CAP && status(&h).totals.reconciled > 0
    });
    let at2 = force_upgrade(&h, &mut sim);
    // The first module's calls, and the second's, sent just before `at2`.
    let mut all = answers;
    all.extend(worst_case_answers(&h, at2));
    let orphaned = h.mgmt.in_flight.get();
    run_within_cap(&h, orphaned, &all);
    assert_finished(&h, &ids, &v2);
}
