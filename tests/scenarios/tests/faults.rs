//! Issue 8: faults on the emulator, with the real wasm of both canisters.
//! After each, the invariant checker passes: one canister per owner, none
//! left stopped, every queued canister with an outcome, all user data
//! intact, management calls in flight never above the cap (sampled every
//! round).

use canister_artifacts::{artifacts, variants};
use factory_client::{
    ClientError, FactoryArg, FactoryError, FactoryUpgradeArgs, PauseReason, RolloutState,
};
use ic_emulator::Fault;
use scenarios::fleet::{plan, Fleet};
use scenarios::user;
use std::time::Duration;

const USERS: u64 = 6;
const IN_FLIGHT: u32 = 3;

fn fleet() -> Fleet {
    Fleet::new(USERS, IN_FLIGHT as usize)
}

fn state(f: &Fleet) -> Option<RolloutState> {
    f.w.admin()
        .rollout_status()
        .expect("rollout_status")
        .active
        .map(|a| a.state)
}

/// Canisters answering that they run `version` (one mid-upgrade is stopped
/// and does not answer).
fn on(f: &Fleet, version: &str) -> usize {
    f.users
        .iter()
        .filter(|(i, c)| {
            let v = f.w.user_canister(*c, user(*i)).version();
            v.is_ok_and(|v| v.release == version)
        })
        .count()
}

#[test]
fn a_post_upgrade_that_traps_once_is_retried_and_nothing_is_lost() {
    let mut f = fleet();
    f.w.publish("1.1.0");
    for i in [1, 3, 5] {
        f.w.emu
            .inject_fault(f.canister(i), Fault::TrapNextPostUpgrade)
            .expect("fault");
    }
    f.start(plan("1.1.0", IN_FLIGHT));
    f.settle(2_000);
    f.assert_invariants("after trapping post_upgrades", &f.canisters(), "1.1.0");
    assert_eq!(on(&f, "1.1.0"), USERS as usize, "the retries upgraded them");
    let totals = f.w.admin().rollout_status().expect("status").totals;
    assert!(totals.retries >= 3, "{totals:?}");
}

#[test]
fn a_release_whose_post_upgrade_always_traps_leaves_every_canister_on_its_version() {
    let mut f = fleet();
    let broken = variants::with_trapping_post_upgrade(&artifacts().user_canister.wasm_gz, "1.1.0")
        .expect("variant");
    f.w.publish_module("1.1.0", &broken);
    f.start(plan("1.1.0", IN_FLIGHT));
    f.settle(2_000);
    f.assert_invariants("after a broken release", &f.canisters(), "1.1.0");
    assert_eq!(
        on(&f, "1.0.0"),
        USERS as usize,
        "atomic: the old module runs"
    );
}

#[test]
fn a_canister_that_never_stops_is_started_again_and_upgraded_once_it_can() {
    let mut f = fleet();
    // A stop times out after 5 minutes: take bigger steps.
    f.inv.round_time = Duration::from_secs(10);
    let stuck = f.canister(2);
    f.w.emu
        .inject_fault(stuck, Fault::NeverStop)
        .expect("fault");
    f.w.publish("1.1.0");
    f.start(plan("1.1.0", IN_FLIGHT));
    f.settle(5_000);
    f.assert_invariants("after a canister that never stops", &f.canisters(), "1.1.0");
    assert_eq!(f.running(2), "1.0.0");
    let status = f.w.admin().upgrade_status(stuck).expect("status");
    assert!(status.last_outcome.and_then(|o| o.error).is_some());

    f.w.emu
        .inject_fault(stuck, Fault::AllowStop)
        .expect("fault");
    f.w.client(user(2))
        .request_upgrade(stuck, None)
        .expect("on-demand upgrade accepted");
    f.settle(500);
    f.assert_invariants("after the retry", &f.canisters(), "1.1.0");
    assert_eq!(f.running(2), "1.1.0");
}

#[test]
fn a_user_canister_out_of_cycles_is_topped_up_and_upgraded() {
    let mut f = fleet();
    let drained = f.canister(3);
    f.w.emu
        .inject_fault(drained, Fault::DrainCycles)
        .expect("fault");
    f.w.publish("1.1.0");
    f.start(plan("1.1.0", IN_FLIGHT));
    f.settle(2_000);
    f.assert_invariants("after a drained canister", &f.canisters(), "1.1.0");
    assert_eq!(f.running(3), "1.1.0");
    assert!(f.w.emu.cycle_balance(drained) > 0);
    assert!(f.w.admin().rollout_status().expect("status").totals.top_ups >= 1);
}

#[test]
fn the_factory_low_on_cycles_pauses_the_rollout_and_resumes_when_topped_up() {
    let mut f = Fleet::new(12, 2);
    f.w.publish("1.1.0");
    f.start(plan("1.1.0", 2));
    f.rounds(3);
    let reserve =
        f.w.admin()
            .get_config()
            .expect("config")
            .config
            .cycles_reserve;
    f.w.emu
        .inject_fault(f.w.factory, Fault::DrainCycles)
        .expect("fault");
    f.w.emu.add_cycles(f.w.factory, reserve / 2);
    f.settle(1_000);
    match state(&f) {
        Some(RolloutState::Paused(PauseReason::LowCycles { balance, needed })) => {
            assert!(balance < needed && needed >= reserve, "{balance} {needed}")
        }
        other => panic!("expected a pause for cycles, got {other:?}"),
    }
    f.inv.assert_hold(&f.w, "while paused for cycles");
    let upgraded_while_low = on(&f, "1.1.0");
    assert!(upgraded_while_low < 12, "paused mid-way");

    f.w.emu.add_cycles(f.w.factory, scenarios::FACTORY_CYCLES);
    f.rounds(120); // it looks at its balance again after a minute
    f.settle(2_000);
    assert_eq!(state(&f), None, "the rollout finished by itself");
    f.assert_invariants("after the top-up", &f.canisters(), "1.1.0");
    assert_eq!(on(&f, "1.1.0"), 12);
}

#[test]
fn a_recovery_principal_that_takes_the_factory_off_gets_a_clean_typed_failure() {
    let mut f = fleet();
    let taken = f.canister(5);
    let recovery = f.recovery(5);
    f.w.emu
        .set_controllers(taken, Some(recovery), vec![recovery])
        .expect("the recovery principal is a controller");
    f.inv.foreign.insert(taken);
    f.w.publish("1.1.0");
    f.start(plan("1.1.0", IN_FLIGHT));
    f.settle(2_000);
    f.assert_invariants("after the factory was taken off", &f.canisters(), "1.1.0");
    assert_eq!(f.running(5), "1.0.0");
    let outcome =
        f.w.admin()
            .upgrade_status(taken)
            .expect("status")
            .last_outcome;
    let error = outcome
        .and_then(|o| o.error)
        .expect("a failure is recorded");
    assert!(
        error.to_lowercase().contains("controller")
            || error.contains("ManagementCall")
            || error.contains("reject"),
        "{error}"
    );

    // An on-demand upgrade of it fails cleanly too, and nothing is stuck.
    match f.w.client(user(5)).request_upgrade(taken, None) {
        Ok(_) | Err(ClientError::Factory(_)) => {}
        Err(e) => panic!("not a typed answer: {e}"),
    }
    f.settle(500);
    f.assert_invariants("after an on-demand try", &f.canisters(), "1.1.0");
    assert_eq!(f.w.controllers(taken), vec![recovery]);
}

#[test]
fn the_factory_upgraded_mid_rollout_reconciles_and_finishes() {
    let mut f = Fleet::new(10, 3);
    f.w.publish("1.1.0");
    f.start(plan("1.1.0", 3));
    for _ in 0..50 {
        f.rounds(1);
        if f.w.emu.management_calls_in_flight(f.w.factory).current > 0 {
            break;
        }
    }
    let operator = Some(f.w.operator);
    f.w.emu
        .stop_canister(f.w.factory, operator)
        .expect("factory stops");
    let arg = candid::encode_one(FactoryArg::Upgrade(FactoryUpgradeArgs {})).expect("encodes");
    f.w.emu
        .upgrade_canister(
            f.w.factory,
            artifacts().factory.wasm_gz.clone(),
            arg,
            operator,
        )
        .expect("factory upgrades");
    f.w.emu
        .start_canister(f.w.factory, operator)
        .expect("factory starts");
    f.settle(2_000);
    assert_eq!(state(&f), None, "the rollout finished after the upgrade");
    f.assert_invariants("after a factory upgrade", &f.canisters(), "1.1.0");
    assert_eq!(on(&f, "1.1.0"), 10);
}

#[test]
fn responses_delayed_many_rounds_slow_the_rollout_but_break_nothing() {
    let mut f = fleet();
    f.w.publish("1.1.0");
    f.w.emu
        .inject_fault(f.w.factory, Fault::DelayResponses(25))
        .expect("fault");
    f.start(plan("1.1.0", IN_FLIGHT));
    f.rounds(100);
    // A user asks meanwhile; the answer is typed, whatever the queue holds.
    let c0 = f.canister(0);
    match f.w.client(user(0)).request_upgrade(c0, None) {
        Ok(_) | Err(ClientError::Factory(_)) => {}
        Err(e) => panic!("not a typed answer: {e}"),
    }
    f.settle(10_000);
    f.w.emu
        .inject_fault(f.w.factory, Fault::DelayResponses(0))
        .expect("fault");
    f.assert_invariants("after delayed responses", &f.canisters(), "1.1.0");
    assert_eq!(on(&f, "1.1.0"), USERS as usize);
}

#[test]
fn a_release_revoked_mid_rollout_halts_it_and_is_never_installed_again() {
    // The revocation itself clears the factory's chunk store: one management
    // call of the admin's own, outside the rollout's two.
    let mut f = Fleet::new(12, 3);
    f.w.publish("1.1.0");
    f.start(plan("1.1.0", 2));
    while on(&f, "1.1.0") < 3 {
        f.rounds(1);
    }
    f.w.admin()
        .revoke_release("1.1.0", "bad build")
        .expect("revoke");
    let at_revoke = on(&f, "1.1.0");
    f.settle(1_000);
    match state(&f) {
        Some(RolloutState::Halted { reason, .. }) => assert!(reason.contains("1.1.0"), "{reason}"),
        other => panic!("expected a halt, got {other:?}"),
    }
    f.inv.assert_hold(&f.w, "after the revoke");
    // At most the upgrades in flight at the revoke finished on it.
    let after = on(&f, "1.1.0");
    assert!(
        after <= at_revoke + 2,
        "{after} on the revoked release, {at_revoke} at the revoke"
    );
    // Resuming cannot install it either.
    match f.w.admin().resume_rollout() {
        Ok(()) | Err(ClientError::Factory(_)) => {}
        Err(e) => panic!("{e}"),
    }
    f.settle(1_000);
    assert_eq!(on(&f, "1.1.0"), after);
    match f.w.admin().cancel_rollout() {
        Ok(()) | Err(ClientError::Factory(FactoryError::NoActiveRollout)) => {}
        Err(e) => panic!("{e}"),
    }
    f.settle(500);
    f.inv.assert_hold(&f.w, "after the cancel");
    for c in f.canisters() {
        let s = f.w.admin().upgrade_status(c).expect("status");
        assert!(s.pending.is_none(), "{c} still pending");
    }
}
