//! The keeper against the fake management canister, over simulated days.

use super::keeper::{self, Checked};
use crate::audit::AuditAction;
use crate::error::FactoryError;
use crate::rollout::model::RolloutEnd;
use crate::testing::*;
use crate::users::{Phase, UserRecord};
use candid::Principal;
use factory_api::{AtRiskReason, CyclesHealth, CyclesQuery, KeeperConfig, SpendKind};
use wasm_registry::Release;

const T: u128 = 1_000_000_000_000;
const MIN: u64 = 60_000_000_000;
const DAY: u64 = 86_400_000_000_000;

pub(crate) fn cfg() -> KeeperConfig {
    KeeperConfig {
        threshold: T,
        target: 3 * T,
        budget_per_period: 100 * T,
        budget_period_ns: 30 * DAY,
        sweep_period_ns: DAY,
        tick_interval_ns: 10 * MIN,
        max_per_tick: 100,
        notice_interval_ns: 60 * MIN,
    }
}

fn canister(n: u64) -> Principal {
    principal(1_000_000 + n)
}

/// `n` ready users on `release`, each canister with `cycles`, written directly.
fn seed(h: &Harness, n: u64, release: &Release, cycles: u128) -> Vec<Principal> {
    let mut s = h.state.borrow_mut();
    let mut ic = h.mgmt.ic.borrow_mut();
    (0..n)
        .map(|i| {
            let c = canister(i);
            let mut r = UserRecord::new(principal(2_000_000 + i), principal(3_000_000 + i), 0, 0);
            r.lock = None;
            r.canister_id = Some(c);
            r.phase = Phase::Ready;
            r.version = Some(release.version.clone());
            s.put_user(r);
            s.canisters.insert(c, principal(2_000_000 + i));
            ic.canisters.insert(
                c,
                FakeCanister {
                    controllers: vec![principal(FACTORY)],
                    module_hash: Some(release.sha256.0),
                    cycles,
                    freezing_limit: T / 5,
                    idle_burn_per_day: T / 1_000,
                    ..Default::default()
                },
            );
            c
        })
        .collect()
}

pub(crate) fn keeper_on(h: &Harness, cfg: KeeperConfig) {
    let mut s = h.state.borrow_mut();
    let mut c = s.config.get().clone();
    c.keeper = Some(cfg);
    s.config.set(c);
}

/// One keeper tick, as `run_keeper` does it; returns how many were read.
pub(crate) fn keeper_tick(h: &Harness) -> usize {
    let picked = keeper::tick(&mut h.state.borrow_mut(), h.env.now.get());
    for c in &picked {
        run(keeper::check(&h.ctx(), *c));
    }
    picked.len()
}

/// Advances time by `dt`, every canister burning at its rate; returns
/// whether any fell to its freezing limit.
fn burn(h: &Harness, dt: u64, rates: &[(Principal, u128)]) -> bool {
    h.env.now.set(h.env.now.get() + dt);
    let mut ic = h.mgmt.ic.borrow_mut();
    let mut froze = false;
    for (c, per_day) in rates {
        let f = ic.canisters.get_mut(c).expect("canister");
        f.cycles = f
            .cycles
            .saturating_sub(per_day * u128::from(dt) / u128::from(DAY));
        froze |= f.cycles <= f.freezing_limit;
    }
    froze
}

fn health(h: &Harness, c: Principal) -> CyclesHealth {
    h.state.borrow().keeper.get(&c).expect("a record").health
}

#[test]
fn cycles_keeper_keeps_a_fast_burner_alive_for_30_days() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 3, &v1, T);
    keeper_on(&h, cfg());
    let reserve = h.state.borrow().config.get().cycles_reserve;
    h.env.balance.set(reserve + 200 * T);
    // One burns 2 T a day (its app is busy), the others idle.
    let rates = [(ids[0], 2 * T), (ids[1], T / 1_000), (ids[2], T / 1_000)];
    let ticks = 30 * DAY / cfg().tick_interval_ns;
    let mut reads = 0;
    for _ in 0..ticks {
        assert!(
            !burn(&h, cfg().tick_interval_ns, &rates),
            "a canister froze"
        );
        reads += keeper_tick(&h);
    }
    assert!(
        h.mgmt.min_balance.get() >= reserve,
        "never below the reserve"
    );
    let s = h.state.borrow();
    let spent = s.keeper.spent_total(SpendKind::KeeperTopUp);
    // About 60 T burned in 30 days, all of it given back by the keeper.
    assert!((58 * T..=66 * T).contains(&spent), "spent {spent}");
    assert_eq!(h.mgmt.ic.borrow().deposited, spent);
    assert_eq!(health(&h, ids[0]), CyclesHealth::Healthy);
    // Readings follow the burn: about one a day for the fast one (it lasts a
    // day between threshold and target), one a day for the idle ones.
    assert!(reads < 30 * 3 * 3, "{reads} readings");
    assert_eq!(s.keeper.at_risk.len(), 0);
}

#[test]
fn cycles_per_user_budget_stops_a_runaway_canister() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 2, &v1, 3 * T);
    let cfg = KeeperConfig {
        budget_per_period: 10 * T,
        ..cfg()
    };
    keeper_on(&h, cfg);
    let reserve = h.state.borrow().config.get().cycles_reserve;
    h.env.balance.set(reserve + 1_000 * T);
    let rates = [(ids[0], 50 * T), (ids[1], 2 * T)];
    for _ in 0..(3 * DAY / cfg.tick_interval_ns) {
        burn(&h, cfg.tick_interval_ns, &rates);
        keeper_tick(&h);
    }
    let s = h.state.borrow();
    let runaway = s.keeper.get(&ids[0]).expect("a record");
    assert_eq!(runaway.spent_in_period, 10 * T, "its budget, no more");
    assert_eq!(
        runaway.health,
        CyclesHealth::AtRisk {
            reason: AtRiskReason::BudgetExhausted
        }
    );
    // The other one is still kept, and the factory lost only the budget and its needs.
    assert_eq!(
        s.keeper.get(&ids[1]).expect("a record").health,
        CyclesHealth::Healthy
    );
    assert!(h.env.balance.get() >= reserve + 1_000 * T - 10 * T - 8 * T);
    // Reported once: status, audit, metrics.
    let page = keeper::status(
        &s,
        &CyclesQuery {
            after: None,
            limit: 10,
            at_risk_only: true,
        },
    );
    assert_eq!(page.at_risk, 1);
    assert_eq!(page.canisters[0].canister_id, ids[0]);
    let audits = s
        .audit_page(None, 100)
        .entries
        .into_iter()
        .filter(|e| matches!(e.action, AuditAction::CanisterAtRisk { canister_id, .. } if canister_id == ids[0]))
        .count();
    assert_eq!(audits, 1);
    let metrics = crate::metrics::render(&s, h.env.balance.get(), h.env.now.get());
    assert!(metrics.contains("factory_keeper_at_risk 1"), "{metrics}");
    assert!(metrics.contains("factory_cycles_spent_total{kind=\"keeper_top_up\"}"));
}

#[test]
fn cycles_factory_at_its_reserve_reports_instead_of_spending() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 1, &v1, T / 2);
    keeper_on(&h, cfg());
    let reserve = h.state.borrow().config.get().cycles_reserve;
    h.env.balance.set(reserve + T / 4);
    // What it can give, and still short of the threshold: at risk.
    assert_eq!(
        run(keeper::check(&h.ctx(), ids[0])),
        Checked::ToppedUp(T / 4)
    );
    assert_eq!(
        health(&h, ids[0]),
        CyclesHealth::AtRisk {
            reason: AtRiskReason::FactoryReserve
        }
    );
    assert_eq!(run(keeper::check(&h.ctx(), ids[0])), Checked::AtRisk);
    assert_eq!(h.env.balance.get(), reserve);
}

#[test]
fn cycles_sweep_is_bounded_and_reads_everyone_within_the_period() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let n = 1_000;
    seed(&h, n, &v1, 10 * T);
    let cfg = KeeperConfig {
        max_per_tick: 20,
        ..cfg()
    };
    keeper_on(&h, cfg);
    let ticks = cfg.sweep_period_ns / cfg.tick_interval_ns;
    for _ in 0..ticks {
        h.env.now.set(h.env.now.get() + cfg.tick_interval_ns);
        let read = keeper_tick(&h);
        assert!(read <= cfg.max_per_tick as usize, "{read} in one tick");
    }
    assert_eq!(
        h.state.borrow().keeper.records.len(),
        n,
        "everyone read within the period"
    );
    assert!(h.mgmt.calls("canister_status") <= (n as usize) + 20);
}

#[test]
fn cycles_low_notice_is_rate_limited_and_verified_by_the_balance() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 2, &v1, T / 2);
    h.mgmt
        .ic
        .borrow_mut()
        .canisters
        .get_mut(&ids[1])
        .unwrap()
        .cycles = 50 * T;
    let c = ids[0];
    assert_eq!(
        keeper::accept_notice(&mut h.state.borrow_mut(), c, h.env.now.get()),
        Err(FactoryError::KeeperOff)
    );
    keeper_on(&h, cfg());
    let now = h.env.now.get();
    keeper::accept_notice(&mut h.state.borrow_mut(), c, now).expect("accepted");
    assert_eq!(
        run(keeper::check(&h.ctx(), c)),
        Checked::ToppedUp(3 * T - T / 2)
    );
    assert!(matches!(
        keeper::accept_notice(&mut h.state.borrow_mut(), c, now + MIN),
        Err(FactoryError::RateLimited { .. })
    ));
    // A false alarm costs one reading and no cycles.
    keeper::accept_notice(&mut h.state.borrow_mut(), ids[1], now).expect("accepted");
    assert_eq!(run(keeper::check(&h.ctx(), ids[1])), Checked::Fine);
    assert!(keeper::accept_notice(&mut h.state.borrow_mut(), c, now + 61 * MIN).is_ok());
}

/// Runs a rollout to its end, tick by tick, each job to completion.
pub(crate) fn roll_out(h: &Harness, target: &str) -> RolloutEnd {
    let plan = crate::rollout::plan::RolloutPlan {
        target_version: target.into(),
        stages: vec![],
        max_in_flight: 5,
        max_starts_per_tick: None,
        tick_interval_ns: Some(0),
        retry: None,
        filter: None,
        snapshot: None,
        // Time hardly moves here (ticks 1 ns apart): a fixed schedule, not
        // one paced at the subnet's rate a round.
        admission: Some(crate::rollout::plan::AdmissionPolicy::Fixed),
        // No plan top-up: what is tested is the frozen-canister rule.
        top_up: Some(crate::rollout::plan::TopUpPolicy {
            below: 0,
            amount: 0,
        }),
        allow_downgrade: None,
        supersede: None,
    };
    crate::rollout::control::start_rollout(
        &mut h.state.borrow_mut(),
        principal(ADMIN),
        plan,
        h.env.now.get(),
    )
    .expect("rollout starts");
    for _ in 0..1_000 {
        let report = crate::rollout::tick::tick(
            &mut h.state.borrow_mut(),
            h.env.now.get(),
            h.env.balance.get(),
        );
        for job in report.jobs {
            run(crate::rollout::worker::worker(h.ctx(), job));
        }
        let s = h.state.borrow();
        if let Some(last) = (0..s.sched.history.len())
            .rev()
            .find_map(|i| s.sched.history.get(i))
        {
            return last.end;
        }
        drop(s);
        h.env
            .now
            .set(h.env.now.get() + report.next_tick_ns.unwrap_or(MIN).max(1));
    }
    panic!("the rollout did not end");
}

#[test]
fn cycles_frozen_canister_is_topped_up_and_upgraded_in_a_rollout() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 3, &v1, 10 * T);
    let v2 = h.publish("2.0.0");
    keeper_on(&h, cfg());
    // Below its freezing limit: the IC would refuse the install.
    h.mgmt
        .ic
        .borrow_mut()
        .canisters
        .get_mut(&ids[1])
        .unwrap()
        .cycles = T / 10;
    assert_eq!(roll_out(&h, "2.0.0"), RolloutEnd::Completed);
    for c in &ids {
        assert_eq!(h.mgmt.canister(*c).module_hash, Some(v2.sha256.0));
    }
    let frozen = h.mgmt.canister(ids[1]);
    assert!(
        frozen.cycles >= frozen.freezing_limit + super::frozen::INSTALL_PREPAY + T,
        "topped up to the keeper's threshold above what an upgrade needs"
    );
    let s = h.state.borrow();
    assert_eq!(s.sched.sched.get().totals.failed, 0);
    assert!(s.keeper.spent_total(SpendKind::RolloutTopUp) > 0);
    // The rollout's status readings told the keeper about every canister.
    assert_eq!(s.keeper.records.len(), 3);
}

#[test]
fn cycles_frozen_canister_is_skipped_with_a_reason_when_the_factory_cannot_pay() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let ids = seed(&h, 3, &v1, 10 * T);
    let v2 = h.publish("2.0.0");
    h.mgmt
        .ic
        .borrow_mut()
        .canisters
        .get_mut(&ids[1])
        .unwrap()
        .cycles = T / 10;
    let reserve = h.state.borrow().config.get().cycles_reserve;
    h.env.balance.set(reserve + T / 10);
    assert_eq!(roll_out(&h, "2.0.0"), RolloutEnd::Completed);
    assert_eq!(h.mgmt.canister(ids[0]).module_hash, Some(v2.sha256.0));
    assert_eq!(h.mgmt.canister(ids[1]).module_hash, Some(v1.sha256.0));
    let s = h.state.borrow();
    let totals = s.sched.sched.get().totals.clone();
    assert_eq!((totals.failed, totals.skipped), (0, 1));
    let user = s.user_by_canister(&ids[1]).expect("user");
    let error = user.last_outcome.and_then(|o| o.error).unwrap_or_default();
    assert!(error.contains("too few cycles to upgrade"), "{error}");
    assert!(h.mgmt.min_balance.get() >= reserve);
}
