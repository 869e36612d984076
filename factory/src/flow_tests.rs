//! The flows against the fake management canister.

use crate::admin;
use crate::config::{FactoryConfig, ProvisioningMode};
use crate::error::FactoryError;
use crate::provision::provision;
use crate::rate_limit::RateLimit;
use crate::recovery;
use crate::releases;
use crate::testing::*;
use crate::users::Phase;
use candid::Principal;

fn owner(n: u64) -> Principal {
    principal(n)
}

/// Owner 1's canister `id` upgraded to `release`, without a snapshot.
fn upgrade_to(
    id: Principal,
    release: &wasm_registry::Release,
) -> crate::upgrade::UpgradeRequest<'_> {
    crate::upgrade::UpgradeRequest {
        canister_id: id,
        owner: owner(1),
        release,
        snapshot: false,
        replace_snapshot: None,
    }
}

fn ready(h: &Harness, n: u64) -> Principal {
    run(provision(&h.ctx(), owner(n), owner(n + 10_000))).expect("provisioned")
}

#[test]
fn provision_creates_installs_and_records_one_canister() {
    let h = Harness::default();
    let release = h.publish("1.0.0");
    let id = ready(&h, 1);
    let c = h.mgmt.canister(id);
    assert_eq!(c.controllers, vec![principal(FACTORY), owner(10_001)]);
    assert_eq!(c.module_hash, Some(release.sha256.0));
    let arg = factory_guest::InstallArgs::decode(&c.install_args[0]).unwrap();
    assert_eq!(
        (arg.owner, arg.factory, arg.version.as_str(), arg.app_arg),
        (owner(1), principal(FACTORY), "1.0.0", None)
    );
    let s = h.state.borrow();
    let record = s.users.get(&owner(1)).unwrap();
    assert_eq!(record.phase, Phase::Ready);
    assert_eq!(record.version.as_deref(), Some("1.0.0"));
    assert_eq!(record.lock, None);
    assert_eq!(s.owner_of_canister(&id), Some(owner(1)));
    assert_eq!(s.version_counts.get(&"1.0.0".to_string()), Some(1));
}

#[test]
fn a_second_provision_returns_the_same_canister() {
    let h = Harness::default();
    h.publish("1.0.0");
    let first = ready(&h, 1);
    let second = run(provision(&h.ctx(), owner(1), owner(5))).unwrap();
    assert_eq!(first, second);
    assert_eq!(h.mgmt.calls("create_canister"), 1);
}

#[test]
fn racing_provisions_create_one_canister() {
    let h = Harness::default();
    h.publish("1.0.0");
    h.mgmt.yield_once.set(true);
    let ctx = h.ctx();
    let (a, b) = run(async {
        futures::join!(
            provision(&ctx, owner(1), owner(2)),
            provision(&ctx, owner(1), owner(2))
        )
    });
    let results = [a, b];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results.contains(&Err(FactoryError::ProvisioningInProgress)));
    assert_eq!(h.mgmt.calls("create_canister"), 1);
    // Once finished, the loser's retry gets the same canister.
    let winner = results.iter().find_map(|r| r.clone().ok()).unwrap();
    assert_eq!(run(provision(&ctx, owner(1), owner(2))), Ok(winner));
}

#[test]
fn a_failed_install_is_finished_by_the_next_call_not_recreated() {
    let h = Harness::default();
    h.publish("1.0.0");
    h.mgmt.fail("install_chunked_code", 1);
    let err = run(provision(&h.ctx(), owner(1), owner(2))).unwrap_err();
    assert!(
        matches!(err, FactoryError::ManagementCall { .. }),
        "{err:?}"
    );
    let record = h.state.borrow().users.get(&owner(1)).unwrap();
    assert_eq!(record.phase, Phase::Installing);
    assert_eq!(record.lock, None);
    let id = run(provision(&h.ctx(), owner(1), owner(2))).unwrap();
    assert_eq!(Some(id), record.canister_id);
    assert_eq!(h.mgmt.calls("create_canister"), 1);
    assert!(h.mgmt.canister(id).module_hash.is_some());
}

#[test]
fn a_failed_create_leaves_no_record_and_counts_a_failure() {
    let h = Harness::default();
    h.publish("1.0.0");
    h.mgmt.fail("create_canister", 1);
    assert!(run(provision(&h.ctx(), owner(1), owner(2))).is_err());
    assert!(h.user_ids().is_empty());
    assert_eq!(h.state.borrow().counters.get().provision_failures, 1);
    assert!(run(provision(&h.ctx(), owner(1), owner(2))).is_ok());
}

#[test]
fn a_create_lost_with_the_previous_factory_module_is_retried() {
    let h = Harness::default();
    h.publish("1.0.0");
    // A record left in Creating, locked by epoch 0 ...
    h.state
        .borrow_mut()
        .put_user(crate::users::UserRecord::new(owner(1), owner(2), 0, 0));
    assert_eq!(
        run(provision(&h.ctx(), owner(1), owner(2))),
        Err(FactoryError::ProvisioningInProgress)
    );
    // ... is stale once the factory was upgraded.
    h.state.borrow_mut().update_counters(|c| c.epoch += 1);
    assert!(run(provision(&h.ctx(), owner(1), owner(2))).is_ok());
}

#[test]
fn provision_refusals_are_typed_and_leave_no_record() {
    let h = Harness::default();
    assert_eq!(
        run(provision(&h.ctx(), owner(1), owner(2))),
        Err(FactoryError::NoApprovedRelease)
    );
    h.publish("1.0.0");
    for bad in [
        Principal::anonymous(),
        principal(FACTORY),
        Principal::management_canister(),
    ] {
        assert!(matches!(
            run(provision(&h.ctx(), owner(1), bad)),
            Err(FactoryError::InvalidArgument(_))
        ));
    }
    let set = |f: &dyn Fn(&mut FactoryConfig)| {
        let mut c = FactoryConfig::default();
        f(&mut c);
        h.state.borrow_mut().config.set(c);
    };
    set(&|c| c.provisioning = ProvisioningMode::Closed);
    assert_eq!(
        run(provision(&h.ctx(), owner(1), owner(2))),
        Err(FactoryError::ProvisioningClosed)
    );
    set(&|c| c.provisioning = ProvisioningMode::AllowListOnly);
    assert_eq!(
        run(provision(&h.ctx(), owner(1), owner(2))),
        Err(FactoryError::NotAllowlisted)
    );
    admin::set_allowlist(
        &mut h.state.borrow_mut(),
        principal(ADMIN),
        vec![owner(1)],
        0,
    )
    .unwrap();
    assert!(run(provision(&h.ctx(), owner(1), owner(2))).is_ok());

    set(&|c| c.cycles_reserve = u128::MAX / 2);
    assert!(matches!(
        run(provision(&h.ctx(), owner(3), owner(2))),
        Err(FactoryError::InsufficientCycles { .. })
    ));
    assert_eq!(h.user_ids().len(), 1);
}

#[test]
fn the_global_rate_limit_refuses_with_a_retry_time_then_recovers() {
    let h = Harness::default();
    h.publish("1.0.0");
    h.state.borrow_mut().config.set(FactoryConfig {
        provision_rate: RateLimit {
            capacity: 2,
            refill_period_ns: 1_000_000_000,
        },
        ..Default::default()
    });
    ready(&h, 1);
    ready(&h, 2);
    let err = run(provision(&h.ctx(), owner(3), owner(2))).unwrap_err();
    assert_eq!(
        err,
        FactoryError::RateLimited {
            retry_after_ns: 1_000_000_000
        }
    );
    h.env.now.set(h.env.now.get() + 1_000_000_000);
    assert!(run(provision(&h.ctx(), owner(3), owner(2))).is_ok());
}

#[test]
fn rotating_recovery_swaps_only_that_controller_and_is_audited() {
    let h = Harness::default();
    h.publish("1.0.0");
    let id = ready(&h, 1);
    // The recovery principal added a controller of its own.
    h.mgmt
        .ic
        .borrow_mut()
        .canisters
        .get_mut(&id)
        .unwrap()
        .controllers
        .push(owner(77));
    // A recovery principal that could never act is refused, nothing changes.
    for bad in [Principal::anonymous(), Principal::management_canister()] {
        assert!(matches!(
            run(recovery::rotate_recovery(&h.ctx(), owner(1), id, bad)),
            Err(FactoryError::InvalidArgument(_))
        ));
    }
    assert!(h.mgmt.canister(id).controllers.contains(&owner(10_001)));
    run(recovery::rotate_recovery(&h.ctx(), owner(1), id, owner(55))).unwrap();
    let controllers = h.mgmt.canister(id).controllers;
    assert!(controllers.contains(&principal(FACTORY)));
    assert!(controllers.contains(&owner(77)));
    assert!(controllers.contains(&owner(55)));
    assert!(!controllers.contains(&owner(10_001)));
    let s = h.state.borrow();
    assert_eq!(s.users.get(&owner(1)).unwrap().recovery, owner(55));
    let page = s.audit_page(None, 10);
    assert!(matches!(
        page.entries[0].action,
        crate::audit::AuditAction::RecoveryRotated { .. }
    ));
    assert_eq!(page.entries[0].caller, owner(1));
}

#[test]
fn detach_removes_the_factory_and_forgets_the_canister() {
    let h = Harness::default();
    h.publish("1.0.0");
    let id = ready(&h, 1);
    run(recovery::detach(&h.ctx(), owner(1), id)).unwrap();
    assert_eq!(h.mgmt.canister(id).controllers, vec![owner(10_001)]);
    let s = h.state.borrow();
    assert!(s.users.get(&owner(1)).is_none());
    assert!(s.owner_of_canister(&id).is_none());
    assert!(s.version_counts.is_empty());
}

#[test]
fn a_failed_detach_keeps_the_canister_managed_and_unlocked() {
    let h = Harness::default();
    h.publish("1.0.0");
    let id = ready(&h, 1);
    h.mgmt.fail("update_settings", 1);
    assert!(run(recovery::detach(&h.ctx(), owner(1), id)).is_err());
    let record = h.state.borrow().users.get(&owner(1)).unwrap();
    assert_eq!(record.lock, None);
    assert!(h.state.borrow().audit_page(None, 1).entries[0]
        .error
        .is_some());
}

#[test]
fn restore_without_a_snapshot_is_refused_and_the_canister_keeps_running() {
    let h = Harness::default();
    h.publish("1.0.0");
    let id = ready(&h, 1);
    let outcome_before = h.state.borrow().users.get(&owner(1)).unwrap().last_outcome;
    assert_eq!(
        run(recovery::restore_snapshot(&h.ctx(), owner(10_001), id)),
        Err(FactoryError::NoSnapshot)
    );
    assert_eq!(
        run(recovery::reinstall_last_good(&h.ctx(), owner(10_001), id)),
        Err(FactoryError::NoLastGoodVersion)
    );
    assert!(!h.mgmt.canister(id).stopped);
    // Refused before anything was tried: audited, unlocked, and the last
    // outcome is not overwritten by the refusals.
    let s = h.state.borrow();
    let record = s.users.get(&owner(1)).unwrap();
    assert_eq!(record.lock, None);
    assert_eq!(record.last_outcome, outcome_before);
    assert!(s.audit_page(None, 1).entries[0].error.is_some());
}

#[test]
fn reinstall_last_good_upgrades_back_and_restore_loads_the_snapshot() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let id = ready(&h, 1);
    let v2 = h.publish("2.0.0");
    // Simulate a finished upgrade to 2.0.0 (the rollout's job).
    run(crate::upgrade::upgrade_one(
        &h.ctx(),
        crate::upgrade::UpgradeRequest {
            canister_id: id,
            owner: owner(1),
            release: &v2,
            snapshot: true,
            replace_snapshot: None,
        },
    ))
    .map(|u| {
        h.state.borrow_mut().unlock_canister(owner(1), |r| {
            r.previous_version = r.version.replace("2.0.0".into());
            r.snapshot_id = u.snapshot_id;
        })
    })
    .unwrap();
    assert_eq!(h.mgmt.canister(id).module_hash, Some(v2.sha256.0));

    let back = run(recovery::reinstall_last_good(&h.ctx(), owner(10_001), id)).unwrap();
    assert_eq!(back, "1.0.0");
    let c = h.mgmt.canister(id);
    assert_eq!(c.module_hash, Some(v1.sha256.0));
    assert!(!c.stopped);
    let record = h.state.borrow().users.get(&owner(1)).unwrap();
    assert_eq!(record.version.as_deref(), Some("1.0.0"));
    assert_eq!(record.previous_version.as_deref(), Some("2.0.0"));

    // The snapshot taken before that reinstall holds 2.0.0: restore it.
    run(recovery::restore_snapshot(&h.ctx(), owner(10_001), id)).unwrap();
    assert_eq!(h.mgmt.canister(id).module_hash, Some(v2.sha256.0));
    assert!(!h.mgmt.canister(id).stopped);
    let record = h.state.borrow().users.get(&owner(1)).unwrap();
    assert_eq!(record.version.as_deref(), Some("2.0.0"));
    assert_eq!(record.last_outcome.unwrap().error, None);
}

#[test]
fn a_second_restore_keeps_the_version_and_the_canister_manageable() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    let id = ready(&h, 1);
    let v2 = h.publish("2.0.0");
    run(crate::upgrade::upgrade_one(
        &h.ctx(),
        crate::upgrade::UpgradeRequest {
            canister_id: id,
            owner: owner(1),
            release: &v2,
            snapshot: true,
            replace_snapshot: None,
        },
    ))
    .map(|u| {
        h.state.borrow_mut().unlock_canister(owner(1), |r| {
            r.previous_version = r.version.replace("2.0.0".into());
            r.snapshot_id = u.snapshot_id;
        })
    })
    .unwrap();
    for _ in 0..2 {
        run(recovery::restore_snapshot(&h.ctx(), owner(10_001), id)).unwrap();
        assert_eq!(h.mgmt.canister(id).module_hash, Some(v1.sha256.0));
        let record = h.state.borrow().users.get(&owner(1)).unwrap();
        // Read from the installed module, not from a field the first restore cleared.
        assert_eq!(record.version.as_deref(), Some("1.0.0"));
        assert_eq!(record.lock, None);
    }
    // Every later flow handles it: an on-demand upgrade is accepted, and the
    // version count still has it.
    let accepted = crate::rollout::on_demand::request_upgrade(
        &mut h.state.borrow_mut(),
        id,
        None,
        crate::runtime::Env::now_ns(&h.env),
    )
    .unwrap();
    assert_eq!(accepted.from_version, "1.0.0");
    assert_eq!(accepted.target_version, "2.0.0");
}

/// A release's app argument reaches its installs: the provision of a
/// release that has one, and the upgrade to a release that has another.
#[test]
fn installs_and_upgrades_pass_the_release_app_arg() {
    let h = Harness::default();
    let first = candid::encode_one("greeting: hi").unwrap();
    h.publish_with_app_arg("1.0.0", first.clone());
    let id = ready(&h, 1);
    let arg_of = |i: usize| {
        factory_guest::InstallArgs::decode(&h.mgmt.canister(id).install_args[i])
            .unwrap()
            .app_arg
            .map(|b| b.into_vec())
    };
    assert_eq!(arg_of(0), Some(first));
    let second = candid::encode_one(42u32).unwrap();
    let v2 = h.publish_with_app_arg("2.0.0", second.clone());
    run(crate::upgrade::upgrade_one(&h.ctx(), upgrade_to(id, &v2))).unwrap();
    assert_eq!(arg_of(1), Some(second));
}

#[test]
fn a_failed_install_during_an_upgrade_still_starts_the_canister() {
    let h = Harness::default();
    h.publish("1.0.0");
    let id = ready(&h, 1);
    let v2 = h.publish("2.0.0");
    h.mgmt.fail("install_chunked_code", 1);
    let result = run(crate::upgrade::upgrade_one(&h.ctx(), upgrade_to(id, &v2)));
    assert!(result.is_err());
    assert!(!h.mgmt.canister(id).stopped, "left stopped");
    assert_eq!(h.mgmt.calls("start_canister"), 1);
}

#[test]
fn a_stop_that_fails_is_followed_by_a_start() {
    let h = Harness::default();
    h.publish("1.0.0");
    let id = ready(&h, 1);
    let v2 = h.publish("2.0.0");
    h.mgmt.fail("stop_canister", 1);
    let req = upgrade_to(id, &v2);
    assert!(run(crate::upgrade::upgrade_one(&h.ctx(), req)).is_err());
    assert_eq!(h.mgmt.calls("start_canister"), 1);
    assert_eq!(
        h.mgmt.calls("install_chunked_code"),
        1,
        "only the provision's install"
    );
}

#[test]
fn busy_canisters_refuse_a_second_action() {
    let h = Harness::default();
    h.publish("1.0.0");
    let id = ready(&h, 1);
    h.state
        .borrow_mut()
        .lock_canister(id, "upgrade", 0)
        .unwrap();
    assert_eq!(
        run(recovery::detach(&h.ctx(), owner(1), id)),
        Err(FactoryError::CanisterBusy { canister_id: id })
    );
    assert_eq!(
        run(recovery::detach(&h.ctx(), owner(1), principal(4242))),
        Err(FactoryError::UnknownCanister {
            canister_id: principal(4242)
        })
    );
}

#[test]
fn approval_fills_the_chunk_store_and_revocation_clears_it() {
    let h = Harness::default();
    let module = Harness::module("1.0.0");
    let ctx = h.ctx();
    let admin_p = principal(ADMIN);
    admin::set_approval_policy(
        &mut h.state.borrow_mut(),
        admin_p,
        wasm_registry::RegistryConfig {
            approvals_required: 1,
            uploader_counts: true,
        },
        0,
    )
    .unwrap();
    releases::begin(
        &ctx,
        admin_p,
        wasm_registry::BeginUpload {
            version: "1.0.0".into(),
            sha256: wasm_registry::Sha256::of(&module),
            size: module.len() as u64,
            notes: "first".into(),
            min_upgrade_from: None,
            app_arg: None,
        },
    )
    .unwrap();
    releases::upload_chunk(
        &ctx,
        wasm_registry::UploadChunk {
            version: "1.0.0".into(),
            index: 0,
            bytes: serde_bytes::ByteBuf::from(module.clone()),
            sha256: None,
        },
    )
    .unwrap();
    releases::commit(&ctx, admin_p, "1.0.0".into()).unwrap();
    assert!(h.mgmt.ic.borrow().chunk_store.is_empty());
    let state = run(releases::approve(&ctx, admin_p, "1.0.0".into())).unwrap();
    assert_eq!(state, wasm_registry::ReleaseState::Approved);
    assert_eq!(h.mgmt.ic.borrow().chunk_store.len(), 1);
    run(releases::revoke(
        &ctx,
        admin_p,
        "1.0.0".into(),
        "bad".into(),
    ))
    .unwrap();
    assert!(h.mgmt.ic.borrow().chunk_store.is_empty());
    assert!(h.state.borrow().chunk_store.is_empty());
    let actions: Vec<_> = h
        .state
        .borrow()
        .audit_page(None, 10)
        .entries
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions.len(),
        5,
        "policy, begin, commit, approve, revoke: {actions:?}"
    );
}

#[test]
fn a_lost_chunk_store_is_refilled_before_installing() {
    let h = Harness::default();
    h.publish("1.0.0");
    ready(&h, 1);
    h.mgmt.ic.borrow_mut().chunk_store.clear();
    h.state.borrow_mut().chunk_store.clear_new();
    ready(&h, 2);
    assert_eq!(h.mgmt.calls("upload_chunk"), 2);
}

#[test]
fn admins_cannot_remove_the_last_admin_or_add_anonymous() {
    let h = Harness::default();
    let mut s = h.state.borrow_mut();
    let a = principal(ADMIN);
    assert_eq!(
        admin::remove_admin(&mut s, a, a, 0),
        Err(FactoryError::LastAdmin)
    );
    assert!(matches!(
        admin::add_admin(&mut s, a, Principal::anonymous(), 0),
        Err(FactoryError::InvalidArgument(_))
    ));
    admin::add_admin(&mut s, a, principal(901), 0).unwrap();
    // One admin left must be able to approve alone.
    let alone = wasm_registry::RegistryConfig {
        approvals_required: 1,
        uploader_counts: true,
    };
    admin::set_approval_policy(&mut s, a, alone, 0).unwrap();
    admin::remove_admin(&mut s, a, a, 0).unwrap();
    assert!(!s.is_admin(&a));
    let bad = FactoryConfig {
        cycles_per_canister: 0,
        ..Default::default()
    };
    assert!(admin::set_config(&mut s, a, bad, 0).is_err());
    assert_eq!(s.config.get(), &FactoryConfig::default());
    assert_eq!(s.audit_page(None, 100).total, 6);
}

#[test]
fn everything_survives_reopening_the_memory() {
    let h = Harness::default();
    h.publish("1.0.0");
    let id = ready(&h, 1);
    let memory = h.memory.clone();
    drop(h);
    let h2 = Harness::on_memory(memory);
    let s = h2.state.borrow();
    assert_eq!(s.owner_of_canister(&id), Some(owner(1)));
    assert_eq!(
        s.users.get(&owner(1)).unwrap().version.as_deref(),
        Some("1.0.0")
    );
    assert!(s.registry.newest_approved().is_some());
    assert_eq!(s.chunk_store.len(), 1);
}

#[test]
fn metrics_and_user_pages_read_counters() {
    let h = Harness::default();
    h.publish("1.0.0");
    for n in 1..=5 {
        ready(&h, n);
    }
    let s = h.state.borrow();
    let text = crate::metrics::render(&s, 123, 0);
    assert!(text.contains("factory_users 5\n"), "{text}");
    assert!(text.contains("factory_canisters_by_version{version=\"1.0.0\"} 5\n"));
    assert!(text.contains("factory_cycles_balance 123\n"));
    let page = crate::types::list_users(
        &s,
        &crate::types::ListUsersArgs {
            start_after: None,
            limit: 2,
        },
    );
    assert_eq!(page.users.len(), 2);
    let rest = crate::types::list_users(
        &s,
        &crate::types::ListUsersArgs {
            start_after: page.next,
            limit: 10,
        },
    );
    assert_eq!(rest.users.len(), 3);
    assert_eq!(rest.next, None);
}

#[test]
fn an_approval_policy_the_admins_cannot_meet_is_refused() {
    let h = Harness::default();
    let mut s = h.state.borrow_mut();
    let a = principal(ADMIN);
    let two = wasm_registry::RegistryConfig {
        approvals_required: 2,
        uploader_counts: true,
    };
    let before = s.registry.config();
    assert!(matches!(
        admin::set_approval_policy(&mut s, a, two, 0),
        Err(FactoryError::InvalidConfig(_))
    ));
    assert_eq!(s.registry.config(), before);
    admin::add_admin(&mut s, a, principal(901), 0).unwrap();
    admin::set_approval_policy(&mut s, a, two, 0).unwrap();
    // Two approvals need two admins: the second cannot be removed now.
    assert!(matches!(
        admin::remove_admin(&mut s, a, principal(901), 0),
        Err(FactoryError::InvalidConfig(_))
    ));
    assert!(s.is_admin(&principal(901)));
}

#[test]
fn messages_name_actions_and_flags_not_internals() {
    let unauthorized = FactoryError::Unauthorized {
        endpoint: "rotate_recovery".into(),
    };
    assert_eq!(
        unauthorized.to_string(),
        "the caller is not allowed to rotate recovery"
    );
    let active = FactoryError::RolloutActive { id: 3 }.to_string();
    assert!(
        active.contains("--supersede") && !active.contains("= true"),
        "{active}"
    );
    let downgrade = FactoryError::UpgradePath(wasm_registry::PathError::Downgrade {
        from: "2.0.0".into(),
        to: "1.0.0".into(),
    })
    .to_string();
    assert!(!downgrade.contains("allow_downgrade"), "{downgrade}");
}
