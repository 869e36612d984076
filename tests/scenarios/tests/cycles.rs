//! Issue 18 end to end, on the release wasm of both canisters: the cycles
//! keeper's timer reads a poor user canister (the real `canister_status`
//! reply: balance, idle burn, freezing threshold) and tops it up; the user
//! canister's own "low on cycles" notice is verified by the factory.
//! Paid provisioning runs against the emulator's cycles-ledger double
//! (`tests/emulator/src/doubles/cycles_ledger.rs`): every case checks the
//! owner's balance on the ledger (its own unit cases are in
//! `factory/src/cycles/paid_tests.rs`).

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

// ---- Paid provisioning against the cycles-ledger double ----

mod paid {
    use super::T;
    use candid::{Nat, Principal};
    use factory_client::{FactoryError, PaidProvisionArgs, ProvisionPrice, ProvisioningMode};
    use ic_emulator::doubles::cycles_ledger::types::{
        Account, Allowance, AllowanceArgs, ApproveArgs, ApproveError,
    };
    use ic_emulator::doubles::cycles_ledger::{CYCLES_LEDGER_ID, FEE};
    use ic_emulator::SubnetConfig;
    use scenarios::{recovery_of, roomy_config, user, World};

    /// What each owner starts with on the ledger.
    const FUNDS: u128 = 10 * T;

    fn world() -> World {
        let w = World::with_config(factory_client::FactoryConfig {
            provisioning: ProvisioningMode::Paid,
            ..roomy_config()
        });
        w.emu
            .install_cycles_ledger_double()
            .expect("the ledger double");
        w.publish("1.0.0");
        w
    }

    fn fund(w: &World, n: u64) {
        w.emu.mint_ledger_cycles(user(n), FUNDS).expect("mint");
    }

    fn price(w: &World) -> ProvisionPrice {
        let (r,): (Result<ProvisionPrice, FactoryError>,) = w
            .emu
            .query_candid_as(w.factory, user(1), "provision_price", ())
            .expect("provision_price");
        let p = r.expect("a price");
        assert_eq!((p.ledger, p.ledger_fee), (*CYCLES_LEDGER_ID, FEE));
        p
    }

    fn approve(w: &World, n: u64, amount: u128) {
        let args = ApproveArgs {
            from_subaccount: None,
            spender: Account {
                owner: w.factory,
                subaccount: None,
            },
            amount: Nat::from(amount),
            expected_allowance: None,
            expires_at: None,
            fee: None,
            memo: None,
            created_at_time: None,
        };
        let (r,): (Result<Nat, ApproveError>,) = w
            .emu
            .update_candid_as(*CYCLES_LEDGER_ID, user(n), "icrc2_approve", (args,))
            .expect("icrc2_approve");
        r.expect("approved");
    }

    fn allowance(w: &World, n: u64) -> u128 {
        let args = AllowanceArgs {
            account: Account {
                owner: user(n),
                subaccount: None,
            },
            spender: Account {
                owner: w.factory,
                subaccount: None,
            },
        };
        let (a,): (Allowance,) = w
            .emu
            .query_candid(*CYCLES_LEDGER_ID, "icrc2_allowance", (args,))
            .expect("icrc2_allowance");
        u128::try_from(&a.allowance.0).expect("fits")
    }

    fn provision_paid(w: &World, n: u64, created_at_time: u64) -> Result<Principal, FactoryError> {
        let args = PaidProvisionArgs {
            recovery: recovery_of(n),
            created_at_time,
            from_subaccount: None,
        };
        let (r,): (Result<Principal, FactoryError>,) = w
            .emu
            .update_candid_as(w.factory, user(n), "provision_paid", (args,))
            .expect("provision_paid");
        r
    }

    fn now(w: &World) -> u64 {
        w.emu.get_time().as_nanos_since_unix_epoch()
    }

    fn has_canister(w: &World, n: u64) -> bool {
        w.client(user(n)).my_canister().is_ok()
    }

    #[test]
    fn cycles_paid_provision_takes_the_price_from_the_approval() {
        let w = world();
        fund(&w, 1);
        let p = price(&w);
        let refused = w.client(user(1)).provision(recovery_of(1)).unwrap_err();
        assert!(
            refused.to_string().contains("provisioning is paid"),
            "plain provision is refused in paid mode: {refused}"
        );
        approve(&w, 1, p.price + FEE);
        let factory_before = w.emu.cycle_balance(w.factory);
        let c = provision_paid(&w, 1, now(&w)).expect("paid provisioning");
        assert_eq!(
            w.controllers(c).len(),
            2,
            "the factory and the recovery principal"
        );
        assert_eq!(
            w.emu.ledger_balance(user(1)),
            FUNDS - FEE - (p.price + FEE),
            "the approval's fee, then the price and the withdrawal's fee"
        );
        assert_eq!(allowance(&w, 1), 0);
        // The payment paid the creation: the factory spent only its own
        // execution on the way (well under 1 % of the price).
        let factory_after = w.emu.cycle_balance(w.factory);
        assert!(
            factory_after + p.price / 100 > factory_before,
            "{factory_before} -> {factory_after}"
        );
        assert!(w.emu.cycle_balance(c) > 0);
    }

    #[test]
    fn cycles_paid_provision_without_an_approval_loses_nothing() {
        let w = world();
        fund(&w, 2);
        let p = price(&w);
        let r = provision_paid(&w, 2, now(&w));
        assert_eq!(
            r,
            Err(FactoryError::InsufficientAllowance {
                allowance: 0,
                needed: p.price + FEE
            })
        );
        assert_eq!(w.emu.ledger_balance(user(2)), FUNDS, "nothing taken");
        assert!(!has_canister(&w, 2), "nothing created, nothing recorded");
        // Approving afterwards is enough.
        approve(&w, 2, p.price + FEE);
        provision_paid(&w, 2, now(&w)).expect("paid after approving");
    }

    #[test]
    fn cycles_paid_provision_with_too_small_an_approval_loses_nothing() {
        let w = world();
        fund(&w, 3);
        let p = price(&w);
        approve(&w, 3, p.price); // without the ledger's fee
        let r = provision_paid(&w, 3, now(&w));
        assert_eq!(
            r,
            Err(FactoryError::InsufficientAllowance {
                allowance: p.price,
                needed: p.price + FEE
            })
        );
        assert_eq!(
            w.emu.ledger_balance(user(3)),
            FUNDS - FEE,
            "only the approval's own fee"
        );
        assert_eq!(allowance(&w, 3), p.price, "the allowance is untouched");
        assert!(!has_canister(&w, 3));
    }

    #[test]
    fn cycles_paid_provision_with_a_duplicate_created_at_time_is_charged_once() {
        let w = world();
        fund(&w, 4);
        let p = price(&w);
        approve(&w, 4, 3 * (p.price + FEE));
        let t = now(&w);
        let c = provision_paid(&w, 4, t).expect("paid provisioning");
        let after = w.emu.ledger_balance(user(4));
        // A retry (say its reply was lost) with the same created_at_time.
        assert_eq!(provision_paid(&w, 4, t), Ok(c), "the same canister");
        assert_eq!(w.emu.ledger_balance(user(4)), after, "not charged again");
        assert_eq!(allowance(&w, 4), 2 * (p.price + FEE));
    }

    #[test]
    fn cycles_paid_provision_whose_creation_fails_is_refunded() {
        let w = world();
        fund(&w, 5);
        let p = price(&w);
        approve(&w, 5, 2 * (p.price + FEE));
        let roomy = w.emu.subnet_config();
        // The subnet is full: the factory's create_canister is refused.
        w.emu.set_subnet_config(SubnetConfig {
            max_canisters: 1,
            ..roomy
        });
        let t = now(&w);
        let r = provision_paid(&w, 5, t);
        assert!(r.is_err(), "{r:?}");
        assert_eq!(
            w.emu.ledger_balance(user(5)),
            FUNDS - FEE,
            "the price and the withdrawal's fee came back"
        );
        assert!(!has_canister(&w, 5));
        // The refunded payment's created_at_time cannot pay again.
        assert_eq!(provision_paid(&w, 5, t), Err(FactoryError::PaymentReused));
        assert_eq!(w.emu.ledger_balance(user(5)), FUNDS - FEE);
        // With room again and a new created_at_time it succeeds.
        w.emu.set_subnet_config(roomy);
        w.emu.advance_time(std::time::Duration::from_secs(1));
        provision_paid(&w, 5, now(&w)).expect("paid provisioning");
        assert_eq!(w.emu.ledger_balance(user(5)), FUNDS - FEE - (p.price + FEE));
    }
}
const HOUR: u64 = 3_600_000_000_000;

/// Advances `hours`, one hour (one reclaim tick) at a time.
fn hours(w: &World, hours: u64) {
    for _ in 0..hours {
        w.emu.advance_time(Duration::from_nanos(HOUR));
        w.emu.tick_n(6);
    }
}

fn has_module(w: &World, c: candid::Principal) -> bool {
    w.emu
        .canister_status(c, Some(w.factory))
        .expect("status")
        .module_hash
        .is_some()
}

/// Dormant after a day, kept a day, then deleted: a dormant canister is
/// reclaimed by the timer (snapshot and uninstall on the real emulator),
/// revived with its data by its recovery principal in one call, and another
/// is deleted after its keep period, its cycles sent back by the drain module
/// before deletion. The owner's writes are the activity (one-way reports from
/// the guest library).
#[test]
fn cycles_dormant_canister_reclaimed_revived_with_its_data_and_another_deleted() {
    let w = World::with_config(factory_client::FactoryConfig {
        reclaim: Some(factory_client::ReclaimPolicy {
            inactive_after_ns: 24 * HOUR,
            keep_ns: 24 * HOUR,
            delete_after_keep: true,
            tick_interval_ns: HOUR,
            max_per_tick: 10,
        }),
        ..roomy_config()
    });
    w.publish("1.0.0");
    let (a, b) = (w.provision(1), w.provision(2));
    for (c, n) in [(a, 1), (b, 2)] {
        let owner = w.user_canister(c, user(n));
        owner
            .put("note", format!("note of {n}").as_bytes())
            .expect("sent")
            .expect("stored");
    }
    hours(&w, 12);
    // Owner 2 is back: its write reports activity, so it is dormant later.
    let owner2 = w.user_canister(b, user(2));
    owner2.put("more", b"x").expect("sent").expect("stored");
    hours(&w, 14);
    assert!(!has_module(&w, a), "owner 1 away for a day: reclaimed");
    assert!(has_module(&w, b), "owner 2 was active 14 hours ago");
    let mut controllers = w.controllers(a);
    controllers.retain(|c| *c != w.factory);
    assert_eq!(
        controllers,
        vec![scenarios::recovery_of(1)],
        "controllers kept"
    );
    let status = w
        .admin()
        .reclaim_status(factory_client::ReclaimQuery {
            after: None,
            limit: 10,
        })
        .expect("reclaim_status");
    assert_eq!((status.reclaimed, status.canisters[0].canister_id), (1, a));

    // One call by the recovery principal: code and data back.
    w.client(scenarios::recovery_of(1))
        .revive(a)
        .expect("revived");
    let owner1 = w.user_canister(a, user(1));
    assert_eq!(
        owner1.get("note").expect("answers").expect("readable"),
        Some(b"note of 1".to_vec()),
        "data intact"
    );
    assert_eq!(owner1.version().expect("version").release, "1.0.0");
    hours(&w, 14);
    // Owner 1 writes again: not dormant when owner 2's canister is deleted.
    owner1.put("again", b"y").expect("sent").expect("stored");
    assert!(!has_module(&w, b), "owner 2 away for a day: reclaimed");
    let factory_before = w.emu.cycle_balance(w.factory);
    hours(&w, 23);
    // The deletion's seven calls (status, start, install, drain, stop,
    // status, delete) take more rounds than an hour's six.
    w.emu.tick_n(40);
    let audit = w.admin().audit_log(None, 20).expect("audit");
    assert!(
        !w.emu.canister_exists(b),
        "deleted after its keep period: {:?}",
        audit.entries
    );
    assert!(has_module(&w, a), "the revived canister is not deleted");
    let status = w
        .admin()
        .reclaim_status(factory_client::ReclaimQuery {
            after: None,
            limit: 10,
        })
        .expect("reclaim_status");
    assert_eq!(
        (status.reclaimed, status.revived_total, status.deleted_total),
        (0, 1, 1)
    );
    let returned = status.cycles_returned_total;
    assert!(
        returned > T / 2,
        "the drain sent its cycles back: {returned}"
    );
    assert!(
        w.emu.cycle_balance(w.factory) > factory_before + T / 2,
        "the factory received them"
    );
    let report = w.admin().cycles_report(3).expect("cycles_report");
    assert!(report
        .iter()
        .any(|d| d.kind == SpendKind::Reclaimed && d.cycles == returned));
    assert!(
        w.client(user(2)).my_canister().is_err(),
        "the user is forgotten"
    );
}

/// A rollout's upgrades show in the spend under their purposes: the canister's
/// balance drop between the status reads around each upgrade, a snapshot at
/// the IC's baseline price (at most half the drop), the rest install.
#[test]
fn cycles_upgrade_costs_are_recorded_by_purpose() {
    let w = World::with_config(roomy_config());
    w.publish("1.0.0");
    for n in 1..=3 {
        w.provision(n);
    }
    w.publish("1.0.1");
    let mut plan = scenarios::rollout_helpers::plan("1.0.1", 10);
    plan.snapshot = Some(factory_client::SnapshotPolicy::ReplacePrevious);
    w.admin().start_rollout(plan).expect("start_rollout");
    w.drive_until_idle("rollout 1.0.1", 500, Duration::from_secs(1));
    assert_eq!(w.rollout_status().totals.upgraded, 3);
    let report = w.admin().cycles_report(1).expect("cycles_report");
    let spent = |k: SpendKind| -> u128 {
        report
            .iter()
            .filter(|d| d.kind == k)
            .map(|d| d.cycles)
            .sum()
    };
    let (snapshots, installs) = (
        spent(SpendKind::UpgradeSnapshot),
        spent(SpendKind::UpgradeInstall),
    );
    assert!(
        installs > 0,
        "installs cost the canisters cycles: {report:?}"
    );
    assert!(snapshots <= 3 * 2_005_000_000, "{snapshots}");
    let metrics = w.admin().metrics().expect("metrics");
    assert!(
        metrics.contains(&format!(
            "factory_cycles_spent_total{{kind=\"upgrade_install\"}} {installs}"
        )),
        "{metrics}"
    );
}
