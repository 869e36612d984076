//! Reclaim against the fake management canister, over simulated days.

use super::flow::{delete_one, reclaim_one, revive};
use super::{report_activity, status, tick};
use crate::audit::AuditAction;
use crate::error::FactoryError;
use crate::testing::*;
use crate::users::{Phase, UserRecord};
use candid::Principal;
use factory_api::{ReclaimPolicy, ReclaimQuery, SpendKind};
use wasm_registry::Release;

const T: u128 = 1_000_000_000_000;
const DAY: u64 = 86_400_000_000_000;

fn policy(delete: bool) -> ReclaimPolicy {
    ReclaimPolicy {
        inactive_after_ns: 10 * DAY,
        keep_ns: 30 * DAY,
        delete_after_keep: delete,
        tick_interval_ns: DAY / 24,
        max_per_tick: 10,
    }
}

fn canister(n: u64) -> Principal {
    principal(1_000_000 + n)
}
fn owner(n: u64) -> Principal {
    principal(2_000_000 + n)
}
fn recovery(n: u64) -> Principal {
    principal(3_000_000 + n)
}

/// `n` ready users on `release`, each canister holding its own data.
fn seed(h: &Harness, n: u64, release: &Release) -> Vec<Principal> {
    let mut s = h.state.borrow_mut();
    let mut ic = h.mgmt.ic.borrow_mut();
    (0..n)
        .map(|i| {
            let c = canister(i);
            let mut r = UserRecord::new(owner(i), recovery(i), 0, 0);
            r.lock = None;
            r.canister_id = Some(c);
            r.phase = Phase::Ready;
            r.version = Some(release.version.clone());
            s.put_user(r);
            s.canisters.insert(c, owner(i));
            ic.canisters.insert(
                c,
                FakeCanister {
                    controllers: vec![principal(FACTORY), recovery(i)],
                    module_hash: Some(release.sha256.0),
                    cycles: 2 * T,
                    freezing_limit: T / 10,
                    data: format!("data of user {i}").into_bytes(),
                    ..Default::default()
                },
            );
            c
        })
        .collect()
}

fn policy_on(h: &Harness, p: Option<ReclaimPolicy>) {
    let mut s = h.state.borrow_mut();
    let mut c = s.config.get().clone();
    c.reclaim = p;
    s.config.set(c);
}

/// One reclaim tick as `run_reclaim` does it: (reclaimed, deleted).
fn reclaim_tick(h: &Harness) -> (usize, usize) {
    let plan = tick(&mut h.state.borrow_mut(), h.env.now.get());
    let reclaimed = plan
        .reclaim
        .iter()
        .filter(|c| run(reclaim_one(&h.ctx(), **c)) == Ok(true))
        .count();
    let deleted = plan
        .delete
        .iter()
        .filter(|c| matches!(run(delete_one(&h.ctx(), **c)), Ok(Some(_))))
        .count();
    (reclaimed, deleted)
}

fn at_day(h: &Harness, day: u64) {
    h.env.now.set(1_000_000_000 + day * DAY);
}

fn audited(h: &Harness, pred: impl Fn(&AuditAction) -> bool) -> Vec<Option<String>> {
    let s = h.state.borrow();
    (0..s.audit.len())
        .filter_map(|i| s.audit.get(i))
        .filter(|e| pred(&e.action))
        .map(|e| e.error)
        .collect()
}

#[test]
fn cycles_dormant_canister_is_reclaimed_and_revived_with_its_data() {
    let h = Harness::default();
    let release = h.publish("1.0.0");
    let cs = seed(&h, 3, &release);
    policy_on(&h, Some(policy(false)));
    at_day(&h, 0);
    assert_eq!(reclaim_tick(&h), (0, 0), "first seen: active now");
    at_day(&h, 5);
    report_activity(&mut h.state.borrow_mut(), cs[1], h.env.now.get()).unwrap();
    at_day(&h, 9);
    assert_eq!(reclaim_tick(&h), (0, 0), "nobody dormant for 10 days yet");
    at_day(&h, 11);
    assert_eq!(reclaim_tick(&h), (2, 0));
    for (i, c) in cs.iter().enumerate() {
        let fake = h.mgmt.canister(*c);
        let reclaimed = i != 1;
        assert_eq!(fake.module_hash.is_none(), reclaimed, "canister {i}");
        assert_eq!(fake.stopped, reclaimed);
        // Id, controllers (with the recovery principal) and cycles are kept.
        assert_eq!(
            fake.controllers,
            vec![principal(FACTORY), recovery(i as u64)]
        );
        assert_eq!(fake.cycles, 2 * T);
        assert_eq!(h.state.borrow().reclaim.is_reclaimed(c), reclaimed);
    }
    assert_eq!(
        audited(&h, |a| matches!(a, AuditAction::CanisterReclaimed { .. })).len(),
        2
    );
    let st = status(
        &h.state.borrow(),
        &ReclaimQuery {
            after: None,
            limit: 10,
        },
    );
    assert_eq!((st.reclaimed, st.tracked), (2, 3));
    assert_eq!(st.canisters[0].deletes_at_ns, None, "the policy keeps them");
    assert_eq!(st.canisters[0].version.as_deref(), Some("1.0.0"));

    // Only the owner's revival acts on it; other flows are refused.
    let r = run(crate::recovery::restore_snapshot(
        &h.ctx(),
        recovery(0),
        cs[0],
    ));
    assert_eq!(
        r,
        Err(FactoryError::CanisterReclaimed { canister_id: cs[0] })
    );
    let r = report_activity(&mut h.state.borrow_mut(), cs[0], h.env.now.get());
    assert_eq!(
        r,
        Err(FactoryError::CanisterReclaimed { canister_id: cs[0] })
    );
    let r = run(revive(&h.ctx(), owner(1), cs[1]));
    assert_eq!(r, Err(FactoryError::NotReclaimed { canister_id: cs[1] }));

    // One call each: by the owner, and by the recovery principal.
    at_day(&h, 12);
    run(revive(&h.ctx(), owner(0), cs[0])).unwrap();
    run(revive(&h.ctx(), recovery(2), cs[2])).unwrap();
    for (i, c) in cs.iter().enumerate() {
        let fake = h.mgmt.canister(*c);
        assert_eq!(fake.module_hash, Some(release.sha256.0));
        assert!(!fake.stopped);
        assert_eq!(
            fake.data,
            format!("data of user {i}").into_bytes(),
            "data intact"
        );
    }
    let s = h.state.borrow();
    assert_eq!(s.reclaim.reclaimed.len(), 0);
    assert_eq!(s.reclaim.last_active(&cs[0]), Some(h.env.now.get()));
    let user = s.users.get(&owner(0)).unwrap();
    assert_eq!(user.last_outcome.unwrap().action, "revive");
    assert!(user.lock.is_none());
    drop(s);
    assert_eq!(
        audited(&h, |a| matches!(a, AuditAction::CanisterRevived { .. })),
        vec![None, None]
    );
}

#[test]
fn cycles_revived_canister_is_never_deleted_and_the_rest_return_their_cycles() {
    let h = Harness::default();
    let release = h.publish("1.0.0");
    let cs = seed(&h, 2, &release);
    policy_on(&h, Some(policy(true)));
    at_day(&h, 0);
    reclaim_tick(&h);
    at_day(&h, 11);
    assert_eq!(reclaim_tick(&h), (2, 0));
    let st = status(
        &h.state.borrow(),
        &ReclaimQuery {
            after: None,
            limit: 10,
        },
    );
    assert_eq!(
        st.canisters[0].deletes_at_ns,
        Some(1_000_000_000 + 41 * DAY)
    );
    at_day(&h, 38);
    run(revive(&h.ctx(), owner(1), cs[1])).unwrap();
    at_day(&h, 40);
    assert_eq!(reclaim_tick(&h), (0, 0), "kept for 30 days");
    let before = h.env.balance.get();
    at_day(&h, 42);
    assert_eq!(reclaim_tick(&h), (0, 1));
    // The drain sent everything above the freezing limit and its margin.
    let returned = 2 * T - T / 10 - super::drain::DRAIN_MARGIN;
    assert_eq!(h.env.balance.get() - before, returned);
    assert!(
        !h.mgmt.ic.borrow().canisters.contains_key(&cs[0]),
        "deleted"
    );
    let s = h.state.borrow();
    assert!(s.users.get(&owner(0)).is_none(), "the user is forgotten");
    assert_eq!(s.keeper.spent_total(SpendKind::Reclaimed), returned);
    drop(s);
    assert_eq!(
        audited(
            &h,
            |a| matches!(a, AuditAction::CanisterDeleted { cycles_returned, .. } if *cycles_returned == returned)
        ),
        vec![None]
    );
    // The revived one, dormant or not, is never deleted; only a new
    // dormancy (10 days after its revival) reclaims it again.
    at_day(&h, 100);
    assert_eq!(reclaim_tick(&h), (1, 0));
    assert!(h.mgmt.ic.borrow().canisters.contains_key(&cs[1]));
    assert_eq!(
        h.state
            .borrow()
            .reclaim
            .get(&cs[1])
            .unwrap()
            .reclaimed_at_ns,
        1_000_000_000 + 100 * DAY
    );
}

#[test]
fn cycles_reclaim_work_per_tick_is_bounded() {
    let h = Harness::default();
    let release = h.publish("1.0.0");
    let cs = seed(&h, 1_000, &release);
    policy_on(&h, Some(policy(true)));
    at_day(&h, 0);
    let p = tick(&mut h.state.borrow_mut(), h.env.now.get());
    assert_eq!((p.swept, p.reclaim.len()), (10, 0));
    for _ in 0..100 {
        tick(&mut h.state.borrow_mut(), h.env.now.get());
    }
    assert_eq!(
        h.state.borrow().reclaim.tracked(),
        1_000,
        "100 ticks register them all"
    );
    at_day(&h, 11);
    let p = tick(&mut h.state.borrow_mut(), h.env.now.get());
    assert_eq!((p.swept, p.reclaim.len(), p.delete.len()), (10, 10, 0));
    for c in &p.reclaim {
        run(reclaim_one(&h.ctx(), *c)).unwrap();
    }
    assert_eq!(h.state.borrow().reclaim.reclaimed.len(), 10);
    assert!(cs
        .iter()
        .all(|c| h.mgmt.canister(*c).module_hash.is_some()
            || h.state.borrow().reclaim.is_reclaimed(c)));
}

#[test]
fn cycles_reclaim_is_off_by_default_and_a_failed_snapshot_leaves_it_running() {
    let h = Harness::default();
    let release = h.publish("1.0.0");
    let cs = seed(&h, 1, &release);
    at_day(&h, 0);
    assert_eq!(
        tick(&mut h.state.borrow_mut(), h.env.now.get()),
        Default::default()
    );
    at_day(&h, 400);
    assert_eq!(reclaim_tick(&h), (0, 0));
    assert_eq!(
        run(reclaim_one(&h.ctx(), cs[0])),
        Ok(false),
        "off: never dormant"
    );
    policy_on(&h, Some(policy(false)));
    report_activity(&mut h.state.borrow_mut(), cs[0], h.env.now.get()).unwrap();
    at_day(&h, 411);
    h.mgmt.fail("take_canister_snapshot", 1);
    assert_eq!(reclaim_tick(&h), (0, 0));
    let fake = h.mgmt.canister(cs[0]);
    assert!(!fake.stopped && fake.module_hash.is_some(), "started again");
    assert!(!h.state.borrow().reclaim.is_reclaimed(&cs[0]));
    let errors = audited(&h, |a| matches!(a, AuditAction::CanisterReclaimed { .. }));
    assert!(
        errors[0].as_deref().is_some_and(|e| e.contains("injected")),
        "{errors:?}"
    );
    // The next tick tries again.
    assert_eq!(reclaim_tick(&h), (1, 0));
    let unknown = report_activity(&mut h.state.borrow_mut(), principal(42), 0);
    assert!(matches!(unknown, Err(FactoryError::UnknownCanister { .. })));
}

#[test]
fn cycles_reclaimed_canister_is_skipped_by_rollouts_and_never_topped_up() {
    use crate::cycles::keeper_tests::{cfg, keeper_on, keeper_tick, roll_out};
    use crate::rollout::model::RolloutEnd;
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let cs = seed(&h, 3, &v1);
    let v2 = h.publish("2.0.0");
    policy_on(&h, Some(policy(false)));
    at_day(&h, 0);
    reclaim_tick(&h);
    at_day(&h, 5);
    for c in &cs[1..] {
        report_activity(&mut h.state.borrow_mut(), *c, h.env.now.get()).unwrap();
    }
    at_day(&h, 11);
    assert_eq!(reclaim_tick(&h), (1, 0));
    // Poor, but reclaimed: the keeper leaves it alone.
    h.mgmt
        .ic
        .borrow_mut()
        .canisters
        .get_mut(&cs[0])
        .unwrap()
        .cycles = T / 10;
    keeper_on(&h, cfg());
    for _ in 0..3 {
        keeper_tick(&h);
    }
    assert_eq!(h.mgmt.canister(cs[0]).cycles, T / 10, "never topped up");
    assert!(h.state.borrow().keeper.get(&cs[0]).is_none());

    assert_eq!(roll_out(&h, "2.0.0"), RolloutEnd::Completed);
    assert_eq!(h.mgmt.canister(cs[0]).module_hash, None, "still reclaimed");
    for c in &cs[1..] {
        assert_eq!(h.mgmt.canister(*c).module_hash, Some(v2.sha256.0));
    }
    let s = h.state.borrow();
    let totals = s.sched.sched.get().totals.clone();
    assert_eq!((totals.upgraded, totals.failed, totals.skipped), (2, 0, 1));
    let outcome = s.users.get(&owner(0)).unwrap().last_outcome.unwrap();
    let error = outcome.error.unwrap_or_default();
    assert!(error.contains("reclaimed as dormant"), "{error}");
    drop(s);
    // Revived, it runs the release it had; the next rollout takes it on.
    run(revive(&h.ctx(), owner(0), cs[0])).unwrap();
    assert_eq!(h.mgmt.canister(cs[0]).module_hash, Some(v1.sha256.0));
}
