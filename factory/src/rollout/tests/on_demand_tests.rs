//! On-demand upgrades: checks, rate limit, priority, merging with rollouts.

use super::sim::*;
use crate::config::FactoryConfig;
use crate::error::FactoryError;
use crate::rate_limit::RateLimit;
use crate::rollout::model::*;
use crate::rollout::on_demand::request_upgrade;
use crate::testing::*;
use candid::Principal;
use wasm_registry::PathError;

fn ask(h: &Harness, canister: Principal, version: Option<&str>) -> Result<bool, FactoryError> {
    request_upgrade(
        &mut h.state.borrow_mut(),
        canister,
        version.map(str::to_string),
        h.env.now.get(),
    )
    .map(|a| a.already_pending)
}

fn item(h: &Harness, canister: Principal) -> Option<Item> {
    h.state.borrow().sched.items.get(&canister)
}

#[test]
fn a_request_upgrades_to_the_newest_approved_release() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..3, &v1);
    h.publish("2.0.0");
    let v3 = h.publish("3.0.0");
    let mut sim = Sim::new(&h);
    assert_eq!(ask(&h, ids[1], None), Ok(false));
    sim.arm(0);
    sim.run(100);
    assert_eq!(h.mgmt.canister(ids[1]).module_hash, Some(v3.sha256.0));
    assert_eq!(h.mgmt.canister(ids[0]).module_hash, Some(v1.sha256.0));
    let r = h.state.borrow().user_by_canister(&ids[1]).unwrap();
    let outcome = r.last_outcome.unwrap();
    assert_eq!(outcome.action, "on_demand_upgrade");
    assert_eq!(outcome.error, None);
    assert_eq!(r.version.as_deref(), Some("3.0.0"));
    assert!(h.mgmt.running(ids[1]));
    assert_eq!(status(&h).totals.on_demand_accepted, 1);
    // A named version works too (here: nothing newer is left).
    assert_eq!(
        ask(&h, ids[1], Some("3.0.0")),
        Err(FactoryError::UpgradePath(PathError::SameVersion {
            version: "3.0.0".into()
        }))
    );
}

#[test]
fn requests_are_checked() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..1, &v1);
    let v2 = h.publish("2.0.0");
    seed(&h, 1..2, &v2);
    h.publish("3.0.0");
    h.state
        .borrow_mut()
        .registry
        .revoke(
            &semver::Version::new(3, 0, 0),
            principal(ADMIN),
            0,
            "bad".into(),
        )
        .unwrap();
    assert_eq!(
        ask(&h, ids[0], Some("9.0.0")),
        Err(FactoryError::UnknownTarget {
            version: "9.0.0".into()
        })
    );
    assert_eq!(
        ask(&h, ids[0], Some("3.0.0")),
        Err(FactoryError::TargetNotApproved {
            version: "3.0.0".into(),
            state: wasm_registry::ReleaseState::Revoked
        })
    );
    assert_eq!(
        ask(&h, canister_of(1), Some("1.0.0")),
        Err(FactoryError::UpgradePath(PathError::Downgrade {
            from: "2.0.0".into(),
            to: "1.0.0".into()
        }))
    );
    assert_eq!(
        ask(&h, principal(4242), None),
        Err(FactoryError::UnknownCanister {
            canister_id: principal(4242)
        })
    );
    assert!(h.state.borrow().sched.items.is_empty());
    // Refused requests cost no token.
    let r = h.state.borrow().user_by_canister(&ids[0]).unwrap();
    assert_eq!(r.upgrade_bucket, None);
}

#[test]
fn requests_are_rate_limited_per_user_with_a_retry_time() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..2, &v1);
    h.publish("2.0.0");
    let period = 600 * ROUND_NS;
    h.state.borrow_mut().config.set(FactoryConfig {
        user_upgrade_rate: RateLimit {
            capacity: 1,
            refill_period_ns: period,
        },
        ..Default::default()
    });
    let mut sim = Sim::new(&h);
    assert_eq!(ask(&h, ids[0], None), Ok(false));
    // The same request again while pending is free.
    assert_eq!(ask(&h, ids[0], None), Ok(true));
    sim.arm(0);
    sim.run(100);
    h.publish("3.0.0");
    let elapsed = 100 * ROUND_NS;
    match ask(&h, ids[0], None) {
        Err(FactoryError::RateLimited { retry_after_ns }) => {
            assert!(retry_after_ns <= period && retry_after_ns + elapsed >= period);
        }
        other => panic!("{other:?}"),
    }
    // Another user has their own bucket.
    assert_eq!(ask(&h, ids[1], None), Ok(false));
    assert_eq!(status(&h).totals.on_demand_rate_limited, 1);
    h.env.now.set(h.env.now.get() + period);
    assert_eq!(ask(&h, ids[0], None), Ok(false));
}

#[test]
fn on_demand_requests_jump_the_rollout_queue() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..50, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    let p = crate::rollout::plan::RolloutPlan {
        max_starts_per_tick: Some(1),
        ..plan("2.0.0", 1)
    };
    start(&mut sim, p);
    sim.step();
    sim.step();
    // The last queued canister of the rollout, or one not queued yet.
    let last = *ids
        .iter()
        .rev()
        .find(|i| item(&h, **i).is_some_and(|it| matches!(it.state, ItemState::Queued(_))))
        .unwrap();
    assert_eq!(ask(&h, last, None), Ok(false));
    let it = item(&h, last).unwrap();
    assert!(it.on_demand);
    assert!(it.rollout.is_some(), "merged: still counts for its stage");
    let ItemState::Queued(key) = it.state else {
        panic!()
    };
    assert_eq!(key.priority, priority::ON_DEMAND);
    // It is the next canister to start.
    sim.run_until(50, |_| {
        item(&h, last).is_none_or(|it| matches!(it.state, ItemState::Running(_)))
    });
    let upgraded = ids
        .iter()
        .filter(|i| h.mgmt.canister(**i).module_hash == Some(v2.sha256.0))
        .count();
    assert!(
        upgraded <= 2,
        "started right after the one in flight: {upgraded}"
    );
    sim.run(2_000);
    check_invariants(&h);
    let past = history(&h);
    let c = &past[0].stages[0].counters;
    assert_eq!((c.upgraded, c.skipped), (50, 0), "counted once");
    assert_eq!(h.mgmt.calls("install_chunked_code"), 50);
}

#[test]
fn on_demand_runs_while_the_rollout_is_paused_and_skips_a_later_enumeration() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..20, &v1);
    let v2 = h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    // An on-demand request first: the rollout later finds it held.
    assert_eq!(ask(&h, ids[7], None), Ok(false));
    start(&mut sim, plan("2.0.0", 4));
    crate::rollout::control::pause(&mut h.state.borrow_mut(), principal(ADMIN), 0).unwrap();
    sim.run(100);
    assert_eq!(h.mgmt.canister(ids[7]).module_hash, Some(v2.sha256.0));
    assert_eq!(h.mgmt.calls("install_chunked_code"), 1);
    crate::rollout::control::resume(&mut h.state.borrow_mut(), principal(ADMIN), 0).unwrap();
    sim.arm(0);
    sim.run(500);
    let c = &history(&h)[0].stages[0].counters;
    assert_eq!(c.upgraded + c.skipped, 20);
    assert_eq!(h.mgmt.calls("install_chunked_code"), 20);
}

#[test]
fn a_request_for_a_canister_in_flight_is_busy_or_already_pending() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 0..1, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    assert_eq!(ask(&h, ids[0], Some("2.0.0")), Ok(false));
    sim.arm(0);
    sim.step();
    assert!(matches!(
        item(&h, ids[0]).unwrap().state,
        ItemState::Running(_)
    ));
    assert_eq!(ask(&h, ids[0], Some("2.0.0")), Ok(true));
    h.publish("3.0.0");
    assert_eq!(
        ask(&h, ids[0], Some("3.0.0")),
        Err(FactoryError::CanisterBusy {
            canister_id: ids[0]
        })
    );
    sim.run(100);
}
