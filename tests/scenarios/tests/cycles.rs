//! Issue 18 end to end, on the release wasm of both canisters: the cycles
//! keeper's timer reads a poor user canister (the real `canister_status`
//! reply: balance, idle burn, freezing threshold) and tops it up; the user
//! canister's own "low on cycles" notice is verified by the factory.
//! Paid provisioning needs the cycles-ledger double, which this branch does
//! not have: its cases are unit tests (`factory/src/cycles/paid_tests.rs`).

use factory_client::{CyclesHealth, CyclesQuery, KeeperConfig, SpendKind};
use scenarios::{roomy_config, user, World};
use std::time::Duration;

const T: u128 = 1_000_000_000_000;

fn keeper() -> KeeperConfig {
    KeeperConfig {
        threshold: T,
        target: 2 * T,
        budget_per_period: 10 * T,
        budget_period_ns: 30 * 86_400_000_000_000,
        sweep_period_ns: 600_000_000_000,
        tick_interval_ns: 60_000_000_000,
        max_per_tick: 10,
        notice_interval_ns: 3_600_000_000_000,
    }
}

#[test]
fn cycles_keeper_tops_up_a_poor_canister_from_its_timer() {
    let w = World::with_config(factory_client::FactoryConfig {
        cycles_per_canister: T / 2,
        keeper: Some(keeper()),
        ..roomy_config()
    });
    w.publish("1.0.0");
    let c = w.provision(1);
    assert!(w.emu.cycle_balance(c) < T);
    for _ in 0..12 {
        w.emu.advance_time(Duration::from_secs(60));
        w.emu.tick_n(5);
    }
    let balance = w.emu.cycle_balance(c);
    assert!(balance >= 19 * T / 10, "topped up to the target: {balance}");
    let status = w
        .admin()
        .cycles_status(CyclesQuery {
            after: None,
            limit: 10,
            at_risk_only: false,
        })
        .expect("cycles_status");
    assert_eq!(status.tracked, 1);
    let view = &status.canisters[0];
    assert_eq!((view.canister_id, view.health), (c, CyclesHealth::Healthy));
    assert!(view.freezing_limit > 0, "read from the real status reply");
    let report = w.admin().cycles_report(1).expect("cycles_report");
    assert!(report
        .iter()
        .any(|d| d.kind == SpendKind::KeeperTopUp && d.cycles > 0));
    assert!(report.iter().any(|d| d.kind == SpendKind::Creation));
    let metrics = w.admin().metrics().expect("metrics");
    assert!(metrics.contains("factory_keeper_tracked 1"), "{metrics}");
}

#[test]
fn cycles_low_notice_from_the_user_canister_is_verified_and_acted_on() {
    // A sweep too slow to matter here: the notice is what brings the top-up.
    let w = World::with_config(factory_client::FactoryConfig {
        // Enough to install (the IC prepays the longest install), little above it.
        cycles_per_canister: T / 2,
        keeper: Some(KeeperConfig {
            sweep_period_ns: 30 * 86_400_000_000_000,
            tick_interval_ns: 86_400_000_000_000,
            ..keeper()
        }),
        ..roomy_config()
    });
    w.publish("1.0.0");
    let c = w.provision(2);
    w.emu.tick_n(5);
    let before = w.emu.cycle_balance(c);
    // A write: the canister sees it runs low and tells the factory, one-way.
    let owner = w.user_canister(c, user(2));
    owner
        .put("note", b"x")
        .expect("not rejected")
        .expect("stored");
    w.emu.tick_n(10);
    let after = w.emu.cycle_balance(c);
    assert!(
        after > before + T,
        "the notice led to a top-up: {before} -> {after}"
    );
}
