//! Issue 5 end to end: provisioning, data ownership, recovery, on the real
//! release wasm of both canisters.

use candid::Principal;
use factory_client::{ClientError, FactoryError, Phase};
use ic_emulator::management_types::CanisterStatusType;
use scenarios::user_canister::UserError;
use scenarios::{recovery_of, user, World};

fn ok<T: std::fmt::Debug, E: std::fmt::Debug>(
    r: Result<Result<T, E>, ic_emulator::RejectResponse>,
) -> T {
    r.expect("not rejected").expect("typed Ok")
}

#[test]
fn a_hundred_users_provision_and_store_their_own_data() {
    let w = World::new();
    w.publish("1.0.0");
    let canisters: Vec<Principal> = (0..100).map(|n| w.provision(n)).collect();
    let mut distinct = canisters.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 100, "one canister per user");

    for (n, c) in canisters.iter().enumerate() {
        let owner = w.user_canister(*c, user(n as u64));
        ok(owner.put("note", format!("user {n}'s note").as_bytes()));
        // Controllers: the factory and the user's recovery principal, never the owner.
        let mut expected = vec![w.factory, recovery_of(n as u64)];
        expected.sort();
        assert_eq!(w.controllers(*c), expected);
    }
    for (n, c) in canisters.iter().enumerate() {
        let value = ok(w.user_canister(*c, user(n as u64)).get("note"));
        assert_eq!(value, Some(format!("user {n}'s note").into_bytes()));
        let v = w.user_canister(*c, user(n as u64)).version().unwrap();
        assert_eq!(v.release, "1.0.0");
    }
    let view = w.client(user(7)).my_canister().unwrap();
    assert_eq!(view.canister_id, Some(canisters[7]));
    assert_eq!(view.phase, Phase::Ready);
    assert_eq!(view.version.as_deref(), Some("1.0.0"));
    let metrics = w.admin().metrics().unwrap();
    assert!(
        metrics.contains("factory_canisters_by_version{version=\"1.0.0\"} 100"),
        "{metrics}"
    );
}

#[test]
fn data_is_the_owners_alone() {
    let w = World::new();
    w.publish("1.0.0");
    let a = w.provision(1);
    ok(w.user_canister(a, user(1)).put("secret", b"a's"));

    // User B, the recovery principal, the factory's admin: none reads or writes A's data.
    for stranger in [user(2), recovery_of(1), w.admin, Principal::anonymous()] {
        let c = w.user_canister(a, stranger);
        match c.get("secret") {
            Ok(Err(UserError::NotOwner { caller })) => assert_eq!(caller, stranger),
            other => panic!("{stranger} reading: {other:?}"),
        }
        // Writes from strangers are dropped by inspect_message or refused.
        match c.put("secret", b"overwritten") {
            Err(_) | Ok(Err(UserError::NotOwner { .. })) => {}
            other => panic!("{stranger} writing: {other:?}"),
        }
    }
    assert_eq!(
        ok(w.user_canister(a, user(1)).get("secret")),
        Some(b"a's".to_vec())
    );
}

#[test]
fn user_b_cannot_act_on_a_s_canister_through_the_factory() {
    let w = World::new();
    w.publish("1.0.0");
    let a = w.provision(1);
    w.provision(2);
    let b = w.client(user(2));
    let unauthorized = |r: Result<(), ClientError>| {
        matches!(
            r,
            Err(ClientError::Factory(FactoryError::Unauthorized { .. }))
        )
    };
    assert!(unauthorized(b.rotate_recovery(a, user(2))));
    assert!(unauthorized(b.detach(a)));
    assert!(unauthorized(b.restore_snapshot(a)));
    assert!(unauthorized(b.reinstall_last_good(a).map(|_| ())));
    assert!(unauthorized(b.get_user(user(1)).map(|_| ())));
    assert_eq!(
        w.client(Principal::anonymous()).provision(recovery_of(9)),
        Err(ClientError::Factory(FactoryError::AnonymousCaller))
    );
    let mut expected = vec![w.factory, recovery_of(1)];
    expected.sort();
    assert_eq!(w.controllers(a), expected, "untouched");
}

#[test]
fn a_racing_double_provision_yields_one_canister() {
    let w = World::new();
    w.publish("1.0.0");
    let arg = candid::encode_one(factory_client::ProvisionArgs {
        recovery: recovery_of(1),
    })
    .unwrap();
    let first = w
        .emu
        .submit_call(w.factory, user(1), "provision", arg.clone())
        .unwrap();
    let second = w
        .emu
        .submit_call(w.factory, user(1), "provision", arg)
        .unwrap();
    let decode =
        |bytes: Vec<u8>| candid::decode_one::<Result<Principal, FactoryError>>(&bytes).unwrap();
    let results = [
        decode(w.emu.await_call(first).unwrap()),
        decode(w.emu.await_call(second).unwrap()),
    ];
    assert!(
        results.contains(&Err(FactoryError::ProvisioningInProgress)),
        "the second call arrives while the first awaits create_canister: {results:?}"
    );
    let winner = results
        .iter()
        .find_map(|r| r.clone().ok())
        .expect("one won");
    assert_eq!(w.provision(1), winner, "a retry gets the same canister");
    assert_eq!(w.admin().list_users(None, 100).unwrap().users.len(), 1);
}

#[test]
fn rotating_the_recovery_principal_changes_the_controllers() {
    let w = World::new();
    w.publish("1.0.0");
    let a = w.provision(1);
    let new_recovery = recovery_of(99);
    w.client(user(1)).rotate_recovery(a, new_recovery).unwrap();
    let mut expected = vec![w.factory, new_recovery];
    expected.sort();
    assert_eq!(w.controllers(a), expected);
    // The old recovery principal has lost its rights, the new one has them.
    assert!(w
        .client(recovery_of(1))
        .rotate_recovery(a, recovery_of(5))
        .is_err());
    w.client(new_recovery)
        .rotate_recovery(a, recovery_of(100))
        .unwrap();
    assert_eq!(
        w.client(user(1)).my_canister().unwrap().recovery,
        recovery_of(100)
    );
    let audit = w.admin().audit_log(None, 10).unwrap();
    let rotations = audit
        .entries
        .iter()
        .filter(|e| {
            matches!(
                e.action,
                factory_client::AuditAction::RecoveryRotated { .. }
            )
        })
        .collect::<Vec<_>>();
    // The old recovery principal's attempt was refused by `guard` before
    // anything happened, so only the two rotations are audited.
    assert_eq!(rotations.len(), 2);
    assert!(rotations.iter().all(|e| e.error.is_none()));
    assert_eq!(rotations[0].caller, new_recovery, "newest first");
}

#[test]
fn detach_hands_the_canister_to_its_owner() {
    let w = World::new();
    w.publish("1.0.0");
    let a = w.provision(1);
    ok(w.user_canister(a, user(1)).put("k", b"v"));
    w.client(user(1)).detach(a).unwrap();
    assert_eq!(w.controllers(a), vec![recovery_of(1)]);
    assert_eq!(
        w.client(user(1)).my_canister(),
        Err(ClientError::Factory(FactoryError::NoCanister))
    );
    // Still running, data intact, and the factory can no longer touch it.
    assert_eq!(
        ok(w.user_canister(a, user(1)).get("k")),
        Some(b"v".to_vec())
    );
    assert!(w
        .emu
        .upgrade_canister(a, World::user_module("1.0.1"), vec![], Some(w.factory))
        .is_err());
}

#[test]
fn the_recovery_principal_upgrades_its_canister_with_the_factory_stopped() {
    let w = World::new();
    w.publish("1.0.0");
    let a = w.provision(1);
    ok(w.user_canister(a, user(1)).put("k", b"kept"));
    w.emu.stop_canister(w.factory, Some(w.operator)).unwrap();

    let recovery = Some(recovery_of(1));
    w.emu.stop_canister(a, recovery).unwrap();
    let arg = factory_guest::InstallArgs {
        owner: user(1),
        factory: w.factory,
        version: "1.0.1-recovered".into(),
        app_arg: None,
    }
    .encode();
    w.emu
        .upgrade_canister(a, World::user_module("1.0.1-recovered"), arg, recovery)
        .unwrap();
    w.emu.start_canister(a, recovery).unwrap();

    let status = w.emu.canister_status(a, recovery).unwrap();
    assert_eq!(status.status, CanisterStatusType::Running);
    let c = w.user_canister(a, user(1));
    assert_eq!(c.version().unwrap().release, "1.0.1-recovered");
    assert_eq!(ok(c.get("k")), Some(b"kept".to_vec()));
}

#[test]
fn provisioning_without_an_approved_release_or_cycles_is_refused_cleanly() {
    let w = World::new();
    assert_eq!(
        w.client(user(1)).provision(recovery_of(1)),
        Err(ClientError::Factory(FactoryError::NoApprovedRelease))
    );
    w.publish("1.0.0");
    let mut config = w.admin().get_config().unwrap().config;
    config.cycles_reserve = u128::MAX / 4;
    w.admin().set_config(config).unwrap();
    assert!(matches!(
        w.client(user(1)).provision(recovery_of(1)),
        Err(ClientError::Factory(
            FactoryError::InsufficientCycles { .. }
        ))
    ));
    assert!(w.admin().list_users(None, 10).unwrap().users.is_empty());
}
