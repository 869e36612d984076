//! Approval states, config, upgrade-path rules, queries and the Candid surface.

mod common;
use candid::{Decode, Encode, Principal};
use common::*;
use wasm_registry::*;

fn config(approvals_required: u32, uploader_counts: bool) -> RegistryConfig {
    RegistryConfig {
        approvals_required,
        uploader_counts,
    }
}

#[test]
fn default_config_is_one_approval_not_by_the_uploader() {
    assert_eq!(registry().config(), config(1, false));
}

#[test]
fn distinct_approvers_are_counted_and_the_uploader_is_refused() {
    let mut reg = registry();
    reg.set_config(config(2, false), 0).unwrap();
    publish(&mut reg, "1.0.0", &wasm(64, 1));
    let v1 = v("1.0.0");
    assert_eq!(
        reg.approve(&v1, alice(), 1),
        Err(RegistryError::UploaderCannotApprove {
            version: "1.0.0".into()
        })
    );
    assert_eq!(reg.approve(&v1, bob(), 2), Ok(ReleaseState::Committed));
    assert_eq!(
        reg.approve(&v1, bob(), 3),
        Err(RegistryError::AlreadyApproved {
            version: "1.0.0".into(),
            approver: bob()
        })
    );
    assert_eq!(reg.newest_approved(), None);
    assert_eq!(reg.approve(&v1, carol(), 4), Ok(ReleaseState::Approved));
    let r = reg.release(&v1).unwrap();
    assert_eq!(r.approved_ns, Some(4));
    assert_eq!(
        r.approvals,
        vec![
            Approval {
                by: bob(),
                at_ns: 2
            },
            Approval {
                by: carol(),
                at_ns: 4
            }
        ]
    );
    // A further approval on an approved release is recorded; a repeated one is still refused.
    let dave = Principal::from_slice(&[0xda]);
    assert_eq!(reg.approve(&v1, dave, 5), Ok(ReleaseState::Approved));
    assert_eq!(reg.release(&v1).unwrap().approved_ns, Some(4));
    assert!(matches!(
        reg.approve(&v1, carol(), 6),
        Err(RegistryError::AlreadyApproved { .. })
    ));
}

#[test]
fn the_uploader_counts_when_configured() {
    let mut reg = registry();
    reg.set_config(config(2, true), 0).unwrap();
    publish(&mut reg, "1.0.0", &wasm(64, 2));
    assert_eq!(
        reg.approve(&v("1.0.0"), alice(), 1),
        Ok(ReleaseState::Committed)
    );
    assert_eq!(
        reg.approve(&v("1.0.0"), bob(), 2),
        Ok(ReleaseState::Approved)
    );
}

#[test]
fn approve_needs_a_committed_release_and_a_real_caller() {
    let mut reg = registry();
    let module = wasm(64, 3);
    reg.begin_upload(begin_args("1.0.0", &module), alice(), 0)
        .unwrap();
    assert_eq!(
        reg.approve(&v("1.0.0"), bob(), 1),
        Err(RegistryError::InvalidState {
            version: "1.0.0".into(),
            state: ReleaseState::Uploading,
            operation: "approve".into()
        })
    );
    assert_eq!(
        reg.approve(&v("2.0.0"), bob(), 1),
        Err(RegistryError::UnknownVersion {
            version: "2.0.0".into()
        })
    );
    assert_eq!(
        reg.approve(&v("1.0.0"), Principal::anonymous(), 1),
        Err(RegistryError::AnonymousCaller)
    );
    publish_approved(&mut reg, "1.1.0", 4, None);
    reg.deprecate(&v("1.1.0"), bob(), 2, "old".into()).unwrap();
    assert!(matches!(
        reg.approve(&v("1.1.0"), carol(), 3),
        Err(RegistryError::InvalidState {
            state: ReleaseState::Deprecated,
            ..
        })
    ));
    reg.revoke(&v("1.1.0"), bob(), 4, "bad".into()).unwrap();
    assert!(matches!(
        reg.approve(&v("1.1.0"), carol(), 5),
        Err(RegistryError::InvalidState {
            state: ReleaseState::Revoked,
            ..
        })
    ));
}

#[test]
fn set_config_validates_and_promotes_releases_that_now_qualify() {
    let mut reg = registry();
    for bad in [0, MAX_APPROVALS_REQUIRED + 1] {
        assert!(matches!(
            reg.set_config(config(bad, false), 0),
            Err(RegistryError::InvalidConfig { .. })
        ));
    }
    assert_eq!(reg.config(), config(1, false));
    reg.set_config(config(3, false), 0).unwrap();
    publish(&mut reg, "1.0.0", &wasm(64, 5));
    publish(&mut reg, "1.1.0", &wasm(64, 6));
    reg.approve(&v("1.0.0"), bob(), 1).unwrap();
    reg.approve(&v("1.0.0"), carol(), 2).unwrap();
    reg.approve(&v("1.1.0"), bob(), 3).unwrap();
    assert_eq!(reg.set_config(config(2, false), 10), Ok(vec![v("1.0.0")]));
    assert_eq!(
        reg.release(&v("1.0.0")).unwrap().state,
        ReleaseState::Approved
    );
    assert_eq!(reg.release(&v("1.0.0")).unwrap().approved_ns, Some(10));
    assert_eq!(
        reg.release(&v("1.1.0")).unwrap().state,
        ReleaseState::Committed
    );
    // Stricter again: approved releases stay approved.
    assert_eq!(reg.set_config(config(5, false), 11), Ok(vec![]));
    assert_eq!(
        reg.release(&v("1.0.0")).unwrap().state,
        ReleaseState::Approved
    );
}

#[test]
fn deprecate_keeps_the_module_but_stops_new_installs() {
    let mut reg = registry();
    let old = publish_approved(&mut reg, "1.0.0", 7, None);
    publish_approved(&mut reg, "1.1.0", 8, None);
    reg.deprecate(&v("1.1.0"), bob(), 5, "slow".into()).unwrap();
    let r = reg.release(&v("1.1.0")).unwrap();
    assert_eq!(r.state, ReleaseState::Deprecated);
    assert_eq!(
        r.deprecated,
        Some(StateChange {
            by: bob(),
            at_ns: 5,
            reason: "slow".into()
        })
    );
    assert!(reg.is_module_needed(&r.sha256));
    assert_eq!(reg.newest_approved().unwrap().version, old.version);
    assert_eq!(
        reg.check_upgrade(&v("1.0.0"), &v("1.1.0"), false),
        Err(PathError::NotInstallable {
            version: "1.1.0".into(),
            state: ReleaseState::Deprecated
        })
    );
    // Idempotent; a committed (never approved) release can be deprecated too.
    reg.deprecate(&v("1.1.0"), carol(), 6, "again".into())
        .unwrap();
    assert_eq!(reg.release(&v("1.1.0")).unwrap().deprecated, r.deprecated);
    publish(&mut reg, "1.2.0", &wasm(64, 9));
    reg.deprecate(&v("1.2.0"), bob(), 7, String::new()).unwrap();
}

#[test]
fn deprecate_and_revoke_errors() {
    let mut reg = registry();
    let module = wasm(64, 10);
    reg.begin_upload(begin_args("1.0.0", &module), alice(), 0)
        .unwrap();
    for result in [
        reg.deprecate(&v("1.0.0"), bob(), 1, String::new()),
        reg.revoke(&v("1.0.0"), bob(), 1, String::new()),
    ] {
        assert!(matches!(
            result,
            Err(RegistryError::InvalidState {
                state: ReleaseState::Uploading,
                ..
            })
        ));
    }
    let long = "x".repeat(MAX_REASON_LEN + 1);
    let too_long = Err(RegistryError::ReasonTooLong {
        len: MAX_REASON_LEN as u64 + 1,
        max: MAX_REASON_LEN as u64,
    });
    publish_approved(&mut reg, "2.0.0", 11, None);
    assert_eq!(reg.deprecate(&v("2.0.0"), bob(), 1, long.clone()), too_long);
    assert_eq!(reg.revoke(&v("2.0.0"), bob(), 1, long), too_long);
    assert_eq!(
        reg.revoke(&v("2.0.0"), Principal::anonymous(), 1, String::new()),
        Err(RegistryError::AnonymousCaller)
    );
    assert_eq!(
        reg.deprecate(&v("2.0.0"), Principal::anonymous(), 1, String::new()),
        Err(RegistryError::AnonymousCaller)
    );
    assert_eq!(
        reg.revoke(&v("3.0.0"), bob(), 1, String::new()),
        Err(RegistryError::UnknownVersion {
            version: "3.0.0".into()
        })
    );
    reg.revoke(&v("2.0.0"), bob(), 2, "cve".into()).unwrap();
    assert_eq!(
        reg.deprecate(&v("2.0.0"), bob(), 3, String::new()),
        Err(RegistryError::InvalidState {
            version: "2.0.0".into(),
            state: ReleaseState::Revoked,
            operation: "deprecate".into()
        })
    );
}

#[test]
fn revoke_works_from_every_committed_state_and_is_idempotent() {
    let mut reg = registry();
    publish(&mut reg, "1.0.0", &wasm(64, 12));
    publish_approved(&mut reg, "1.1.0", 13, None);
    publish_approved(&mut reg, "1.2.0", 14, None);
    reg.deprecate(&v("1.2.0"), bob(), 1, String::new()).unwrap();
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        reg.revoke(&v(version), carol(), 2, "cve".into()).unwrap();
        let r = reg.release(&v(version)).unwrap();
        assert_eq!(r.state, ReleaseState::Revoked);
        assert_eq!(
            r.revoked,
            Some(StateChange {
                by: carol(),
                at_ns: 2,
                reason: "cve".into()
            })
        );
        assert!(!reg.is_module_needed(&r.sha256));
    }
    reg.revoke(&v("1.1.0"), bob(), 3, "again".into()).unwrap();
    assert_eq!(
        reg.release(&v("1.1.0")).unwrap().revoked.unwrap().by,
        carol()
    );
    assert_eq!(reg.newest_approved(), None);
    assert!(reg.needed_chunk_hashes().is_empty());
    let stats = reg.stats();
    assert_eq!(stats.blob_free_bytes, stats.blob_capacity_bytes);
}

#[test]
fn newest_approved_follows_semver_precedence() {
    let mut reg = registry();
    assert_eq!(reg.newest_approved(), None);
    publish_approved(&mut reg, "1.9.0", 15, None);
    publish_approved(&mut reg, "1.10.0-rc.1", 16, None);
    assert_eq!(reg.newest_approved().unwrap().version, "1.10.0-rc.1");
    publish_approved(&mut reg, "1.10.0", 17, None);
    publish(&mut reg, "1.11.0", &wasm(64, 18)); // committed, not approved
    let module = wasm(64, 19);
    reg.begin_upload(begin_args("2.0.0", &module), alice(), 0)
        .unwrap();
    assert_eq!(reg.newest_approved().unwrap().version, "1.10.0");
    reg.revoke(&v("1.10.0"), bob(), 1, String::new()).unwrap();
    assert_eq!(reg.newest_approved().unwrap().version, "1.10.0-rc.1");
}

#[test]
fn check_upgrade_rules() {
    let mut reg = registry();
    publish_approved(&mut reg, "1.0.0", 20, None);
    publish_approved(&mut reg, "1.5.0", 21, None);
    publish_approved(&mut reg, "2.0.0", 22, Some("1.5.0"));
    publish(&mut reg, "2.1.0", &wasm(64, 23));
    let check = |from: &str, to: &str, down: bool| reg.check_upgrade(&v(from), &v(to), down);
    assert_eq!(check("1.0.0", "1.5.0", false), Ok(()));
    assert_eq!(check("1.5.0", "2.0.0", false), Ok(()));
    assert_eq!(
        check("1.7.3", "2.0.0", false),
        Ok(()),
        "from need not be published"
    );
    assert_eq!(
        check("1.0.0", "2.0.0", false),
        Err(PathError::StepRequired {
            from: "1.0.0".into(),
            to: "2.0.0".into(),
            min_upgrade_from: "1.5.0".into()
        })
    );
    assert_eq!(
        check("1.5.0", "1.5.0", false),
        Err(PathError::SameVersion {
            version: "1.5.0".into()
        })
    );
    assert_eq!(
        check("2.0.0", "1.5.0", false),
        Err(PathError::Downgrade {
            from: "2.0.0".into(),
            to: "1.5.0".into()
        })
    );
    assert_eq!(check("2.0.0", "1.5.0", true), Ok(()));
    assert_eq!(
        check("1.0.0", "3.0.0", false),
        Err(PathError::UnknownVersion {
            version: "3.0.0".into()
        })
    );
    assert_eq!(
        check("1.0.0", "2.1.0", false),
        Err(PathError::NotInstallable {
            version: "2.1.0".into(),
            state: ReleaseState::Committed
        })
    );
    // A canister reporting build metadata is on the same release.
    let from = semver::Version::parse("1.5.0+git.abc").unwrap();
    assert_eq!(
        reg.check_upgrade(&from, &v("1.5.0"), true),
        Err(PathError::SameVersion {
            version: "1.5.0".into()
        })
    );
    assert_eq!(reg.check_upgrade(&from, &v("2.0.0"), false), Ok(()));
}

#[test]
fn next_step_walks_the_shortest_path_of_approved_releases() {
    let mut reg = registry();
    publish_approved(&mut reg, "1.1.0", 24, None);
    publish_approved(&mut reg, "1.2.0", 25, None);
    publish_approved(&mut reg, "1.3.0", 26, Some("1.1.0"));
    publish_approved(&mut reg, "2.0.0", 27, Some("1.3.0"));
    publish_approved(&mut reg, "3.0.0", 28, Some("2.0.0"));
    let step = |from: &str, to: &str| reg.next_step(&v(from), &v(to), false);
    assert_eq!(step("1.0.0", "1.2.0"), Ok(v("1.2.0")), "direct");
    // 1.0.0 can reach 1.1.0 and 1.2.0; the highest one that leads on is 1.2.0 (→ 1.3.0 → 2.0.0).
    assert_eq!(step("1.0.0", "2.0.0"), Ok(v("1.2.0")));
    assert_eq!(step("1.2.0", "2.0.0"), Ok(v("1.3.0")));
    assert_eq!(step("1.3.0", "3.0.0"), Ok(v("2.0.0")));
    assert_eq!(step("2.0.0", "3.0.0"), Ok(v("3.0.0")));
    assert_eq!(
        step("3.0.0", "1.1.0"),
        Err(PathError::Downgrade {
            from: "3.0.0".into(),
            to: "1.1.0".into()
        })
    );
    assert_eq!(
        reg.next_step(&v("3.0.0"), &v("1.1.0"), true),
        Ok(v("1.1.0"))
    );
    assert!(matches!(
        step("2.0.0", "2.0.0"),
        Err(PathError::SameVersion { .. })
    ));
    // A deprecated step breaks the chain: deprecated releases are not installed.
    reg.deprecate(&v("1.3.0"), bob(), 1, String::new()).unwrap();
    let step = |from: &str, to: &str| reg.next_step(&v(from), &v(to), false);
    assert_eq!(
        step("1.0.0", "2.0.0"),
        Err(PathError::NoPath {
            from: "1.0.0".into(),
            to: "2.0.0".into()
        })
    );
    assert_eq!(
        step("1.3.0", "2.0.0"),
        Ok(v("2.0.0")),
        "canisters on it may leave"
    );
    assert!(matches!(
        step("1.0.0", "1.3.0"),
        Err(PathError::NotInstallable { .. })
    ));
}

#[test]
fn list_releases_pages_in_version_order() {
    let mut reg = open_registry();
    let module = wasm(64, 29);
    let versions: Vec<String> = (0..105).map(|i| format!("1.{i}.0")).collect();
    for version in versions.iter().rev() {
        publish(&mut reg, version, &module);
    }
    let first = reg.list_releases(None, 1000);
    assert_eq!(first.len(), MAX_PAGE_SIZE);
    assert_eq!(first[0].version, "1.0.0");
    assert_eq!(first[10].version, "1.10.0");
    let last = reg.list_releases(Some(&v(&first[99].version)), 1000);
    let names: Vec<&str> = last.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(
        names,
        ["1.100.0", "1.101.0", "1.102.0", "1.103.0", "1.104.0"]
    );
    assert_eq!(reg.list_releases(Some(&v("1.104.0")), 10), vec![]);
    assert_eq!(reg.list_releases(Some(&v("1.5.5")), 2)[0].version, "1.6.0");
    // One module for all of them.
    assert_eq!(reg.stats().modules, 1);
    assert_eq!(reg.module_info(&Sha256::of(&module)).unwrap().releases, 105);
}

#[test]
fn needed_chunk_hashes_cover_committed_non_revoked_releases() {
    let mut reg = registry();
    let a = publish(&mut reg, "1.0.0", &wasm(MIB as usize + 1, 30));
    let b = publish_approved(&mut reg, "1.1.0", 31, None);
    let c = publish_approved(&mut reg, "1.2.0", 32, None);
    reg.revoke(&v("1.2.0"), bob(), 1, String::new()).unwrap();
    let expected: std::collections::BTreeSet<Sha256> =
        a.chunk_hashes.into_iter().chain(b.chunk_hashes).collect();
    assert_eq!(reg.needed_chunk_hashes(), expected);
    assert!(!reg.needed_chunk_hashes().contains(&c.chunk_hashes[0]));
    let mut needed = vec![a.sha256, b.sha256];
    needed.sort();
    assert_eq!(reg.needed_modules(), needed);
}

#[test]
fn types_round_trip_through_candid() {
    let mut reg = registry();
    let r = publish_approved(&mut reg, "1.0.0-beta.2", 33, Some("0.9.0"));
    let bytes = Encode!(&r).unwrap();
    assert_eq!(Decode!(&bytes, Release).unwrap(), r);
    let err = RegistryError::ChunkConflict {
        index: 3,
        existing: Sha256([1; 32]),
        actual: Sha256([2; 32]),
    };
    assert_eq!(
        Decode!(&Encode!(&err).unwrap(), RegistryError).unwrap(),
        err
    );
    let perr = PathError::NoPath {
        from: "1.0.0".into(),
        to: "2.0.0".into(),
    };
    assert_eq!(Decode!(&Encode!(&perr).unwrap(), PathError).unwrap(), perr);
    // A hash is a 32-byte blob; other lengths are refused.
    let blob = serde_bytes::ByteBuf::from(vec![7u8; 31]);
    assert!(Decode!(&Encode!(&blob).unwrap(), Sha256).is_err());
    let blob = serde_bytes::ByteBuf::from(vec![7u8; 32]);
    assert_eq!(
        Decode!(&Encode!(&blob).unwrap(), Sha256).unwrap(),
        Sha256([7; 32])
    );
}

#[test]
fn error_messages_name_what_went_wrong() {
    let h = Sha256([0xab; 32]);
    assert_eq!(
        h.to_string(),
        "abababababababababababababababababababababababababababababababab"
    );
    let cases: Vec<(Box<dyn std::error::Error>, &str)> = vec![
        (
            Box::new(RegistryError::ChunkPastEnd {
                index: 7,
                chunk_count: 3,
            }),
            "chunk index 7 is past the declared size",
        ),
        (
            Box::new(RegistryError::MissingChunks {
                missing: vec![1, 2],
            }),
            "2 chunk(s) missing: [1, 2]",
        ),
        (
            Box::new(RegistryError::HashMismatch {
                expected: h,
                actual: Sha256([0; 32]),
            }),
            "expected abab",
        ),
        (
            Box::new(RegistryError::AlreadyApproved {
                version: "1.2.3".into(),
                approver: bob(),
            }),
            "already approved release 1.2.3",
        ),
        (
            Box::new(RegistryError::GzipTooLarge { max: 5 }),
            "inflates past the IC's limit of 5 bytes",
        ),
        (
            Box::new(PathError::StepRequired {
                from: "1.0.0".into(),
                to: "2.0.0".into(),
                min_upgrade_from: "1.5.0".into(),
            }),
            "2.0.0 can only be reached from 1.5.0 or later",
        ),
    ];
    for (err, needle) in cases {
        let text = err.to_string();
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }
}
