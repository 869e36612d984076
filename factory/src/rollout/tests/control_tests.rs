//! Pause, resume, cancel, supersede, history, status, metrics.

use super::sim::*;
use crate::error::FactoryError;
use crate::rollout::control::{cancel, pause, resume};
use crate::rollout::model::*;
use crate::rollout::plan::*;
use crate::rollout::status::{history as history_page, HistoryQuery, StagePhase};
use crate::testing::*;

fn admin() -> candid::Principal {
    principal(ADMIN)
}

#[test]
fn pause_stops_new_starts_resume_continues_cancel_drops_the_queue() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..100, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", 5));
    for _ in 0..10 {
        sim.step();
    }
    pause(&mut h.state.borrow_mut(), admin(), 0).unwrap();
    assert_eq!(
        pause(&mut h.state.borrow_mut(), admin(), 0),
        Err(FactoryError::RolloutState {
            state: "paused".into()
        })
    );
    // In flight finish; nothing new starts.
    sim.run(100);
    let stops = h.mgmt.calls("stop_canister");
    for _ in 0..20 {
        sim.step();
    }
    assert_eq!(stops, h.mgmt.calls("stop_canister"));
    assert!(matches!(
        progress(&h).state,
        RolloutState::Paused(PauseReason::Admin { .. })
    ));
    check_invariants(&h);

    resume(&mut h.state.borrow_mut(), admin(), 0).unwrap();
    assert_eq!(
        resume(&mut h.state.borrow_mut(), admin(), 0),
        Err(FactoryError::RolloutState {
            state: "running".into()
        })
    );
    sim.arm(0);
    for _ in 0..10 {
        sim.step();
    }
    assert!(h.mgmt.calls("stop_canister") > stops);

    cancel(&mut h.state.borrow_mut(), admin(), 0).unwrap();
    assert_eq!(
        cancel(&mut h.state.borrow_mut(), admin(), 0),
        Err(FactoryError::NoActiveRollout)
    );
    sim.run(200);
    let s = h.state.borrow();
    assert!(s.sched.items.is_empty());
    assert!(s.sched.queue.is_empty());
    drop(s);
    let past = history(&h);
    assert_eq!(past[0].end, RolloutEnd::Cancelled { by: admin() });
    let upgraded = ids
        .iter()
        .filter(|i| h.mgmt.canister(**i).module_hash == Some(v2.sha256.0))
        .count();
    assert!(upgraded > 0 && upgraded < 100, "{upgraded}");
    assert!(ids.iter().all(|i| h.mgmt.running(*i)));
    let actions: Vec<_> = h
        .state
        .borrow()
        .audit_page(None, 20)
        .entries
        .into_iter()
        .map(|e| (e.action, e.error.is_some()))
        .collect();
    assert!(actions.contains(&(crate::audit::AuditAction::RolloutCancelled { id: 1 }, false)));
    assert!(actions.contains(&(crate::audit::AuditAction::RolloutPaused { id: 1 }, true)));
}

#[test]
fn resuming_a_halted_rollout_overrides_that_stage_only() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..100, &v1);
    h.publish("2.0.0");
    h.mgmt.set_trap_install(ids[0]);
    h.mgmt.set_trap_install(ids[1]);
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        retry: Some(RetryPolicy {
            max_attempts: 1,
            ..FAST_RETRY
        }),
        ..plan("2.0.0", 10)
    };
    start(&mut sim, p);
    sim.run(500);
    assert!(matches!(progress(&h).state, RolloutState::Halted { .. }));
    resume(&mut h.state.borrow_mut(), admin(), 0).unwrap();
    sim.arm(0);
    sim.run(500);
    let past = history(&h);
    assert_eq!(past[0].end, RolloutEnd::Completed);
    assert_eq!(past[0].stages[0].counters.failed, 2);
    assert_eq!(past[0].stages[0].counters.upgraded, 98);
}

#[test]
fn superseding_drops_the_old_queue_and_runs_the_new_plan() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..60, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(&mut sim, plan("2.0.0", 3));
    for _ in 0..8 {
        sim.step();
    }
    let v3 = h.publish("3.0.0");
    let p = RolloutPlan {
        supersede: Some(true),
        ..plan("3.0.0", 10)
    };
    start(&mut sim, p);
    check_invariants(&h);
    sim.run(1_000);
    check_invariants(&h);
    assert!(ids
        .iter()
        .all(|i| h.mgmt.canister(*i).module_hash == Some(v3.sha256.0)));
    let past = history(&h);
    assert_eq!(past.len(), 2);
    assert_eq!(past[0].end, RolloutEnd::Superseded { by_rollout: 2 });
    assert_eq!(past[1].end, RolloutEnd::Completed);
    assert_eq!(past[1].stages[0].counters.upgraded, 60);
    assert!(h.state.borrow().sched.items.is_empty());
}

#[test]
fn status_reports_stages_rate_and_eta_and_history_pages() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    seed(&h, 0..200, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    let p = RolloutPlan {
        stages: vec![stage("canary", 1_000, 500), stage("all", 10_000, 500)],
        ..plan("2.0.0", 10)
    };
    start(&mut sim, p);
    sim.run_until(500, |_| {
        progress(&h).stage == 1 && progress(&h).stages[1].upgraded > 20
    });
    let st = status(&h);
    let a = st.active.unwrap();
    assert_eq!(a.eligible_estimate, 200);
    assert_eq!(a.stages[0].phase, StagePhase::Done);
    assert_eq!(a.stages[1].phase, StagePhase::Running);
    assert!(a.per_hour > 0);
    assert!(a.eta_ns.unwrap() > 0);
    assert!(st.in_flight <= 10);
    assert_eq!(st.max_in_flight, 10);
    let text = crate::metrics::render(&h.state.borrow(), 0, 0);
    assert!(text.contains("factory_rollout_in_flight"), "{text}");
    assert!(
        text.contains("factory_rollout_state{id=\"1\",state=\"running\"} 1"),
        "{text}"
    );
    sim.run(1_000);
    for _ in 0..3 {
        start(&mut sim, plan("2.0.0", 10));
        sim.run(100);
    }
    let s = h.state.borrow();
    let first = history_page(
        &s,
        &HistoryQuery {
            before: None,
            limit: 3,
        },
    );
    assert_eq!(first.total, 4);
    assert_eq!(
        first.rollouts.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![4, 3, 2]
    );
    let rest = history_page(
        &s,
        &HistoryQuery {
            before: first.next_before,
            limit: 3,
        },
    );
    assert_eq!(rest.rollouts.len(), 1);
    assert_eq!(rest.next_before, None);
    // Nothing left to upgrade: every canister skipped, done at once.
    assert_eq!(first.rollouts[0].stages[0].counters.skipped, 200);
}

#[test]
fn a_retry_left_by_a_cancelled_rollout_is_taken_over_by_the_next() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..6, &v1);
    h.publish("2.0.0");
    h.mgmt.fail("install_chunked_code", 1);
    let mut sim = Sim::new(&h);
    let slow_retry = RolloutPlan {
        retry: Some(RetryPolicy {
            max_attempts: 3,
            initial_backoff_ns: 50 * ROUND_NS,
            max_backoff_ns: 50 * ROUND_NS,
        }),
        ..plan("2.0.0", 6)
    };
    start(&mut sim, slow_retry);
    sim.run_until(100, |_| !h.state.borrow().sched.retries.is_empty());
    cancel(&mut h.state.borrow_mut(), admin(), 0).unwrap();
    sim.run(200);
    check_invariants(&h);
    let v3 = h.publish("3.0.0");
    start(&mut sim, plan("3.0.0", 6));
    sim.run(300);
    check_invariants(&h);
    assert!(ids
        .iter()
        .all(|i| h.mgmt.canister(*i).module_hash == Some(v3.sha256.0)));
    assert_eq!(history(&h)[1].stages[0].counters.upgraded, 6);
    assert!(h.state.borrow().sched.items.is_empty());
}
