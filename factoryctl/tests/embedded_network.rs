//! The CLI end to end on the embedded network, one process per command, all
//! sharing a state directory: deploy, publish, provision, roll out, watch,
//! recover, as an admin, users and a recovery principal.

mod common;

use canister_artifacts::{artifacts, variants};
use common::{factoryctl, fails_with, field, ok};

const ALICE: &str = "rrkah-fqaaa-aaaaa-aaaaq-cai";
const BOB: &str = "ryjl3-tyaaa-aaaaa-aaaba-cai";
const ALICE_RECOVERY: &str = "r7inp-6aaaa-aaaaa-aaabq-cai";
const BOB_RECOVERY: &str = "rkp4c-7iaaa-aaaaa-aaaca-cai";

#[test]
fn deploy_publish_provision_rollout_and_recover_across_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("net");
    let state = state.as_path();
    let user_wasm = &artifacts().user_canister.wasm_gz;
    let v1 = dir.path().join("user_canister-1.0.0.wasm.gz");
    let v2 = dir.path().join("user_canister-2.0.0.wasm.gz");
    std::fs::write(&v1, variants::tagged(user_wasm, "1.0.0").unwrap()).unwrap();
    std::fs::write(&v2, variants::tagged(user_wasm, "2.0.0").unwrap()).unwrap();

    let deployed = ok(state, &["deploy"]);
    assert!(deployed.starts_with("factory "), "{deployed}");
    fails_with(factoryctl(state, &["deploy"]), "already deployed");

    let published = ok(
        state,
        &[
            "publish",
            v1.to_str().unwrap(),
            "--version",
            "1.0.0",
            "--approve",
        ],
    );
    assert!(published.contains("state: approved"), "{published}");

    // Each user provisions their own canister; the owner sees it, a stranger does not.
    let alice = ok(
        state,
        &["--as", ALICE, "provision", "--recovery", ALICE_RECOVERY],
    );
    let alice_canister = alice
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("canister ")
        .to_string();
    ok(
        state,
        &["--as", BOB, "provision", "--recovery", BOB_RECOVERY],
    );
    let shown = ok(state, &["--as", ALICE, "canister", "show"]);
    assert!(
        shown.contains(&format!("canister {alice_canister}")),
        "{shown}"
    );
    assert!(shown.contains("version: 1.0.0"), "{shown}");
    let as_admin = ok(state, &["canister", "show", "--owner", ALICE]);
    assert!(as_admin.contains(&alice_canister), "{as_admin}");
    fails_with(
        factoryctl(state, &["--as", BOB, "canister", "show", "--owner", ALICE]),
        "the factory refused",
    );

    // A user cannot start a rollout; the admin can.
    ok(
        state,
        &[
            "publish",
            v2.to_str().unwrap(),
            "--version",
            "2.0.0",
            "--approve",
        ],
    );
    let releases = ok(state, &["releases", "list"]);
    assert!(
        releases.contains("1.0.0") && releases.contains("2.0.0"),
        "{releases}"
    );
    fails_with(
        factoryctl(state, &["--as", ALICE, "rollout", "start", "2.0.0"]),
        "the factory refused",
    );
    let started = ok(
        state,
        &[
            "rollout",
            "start",
            "2.0.0",
            "--canary-percent",
            "50",
            "--max-in-flight",
            "1",
        ],
    );
    assert!(started.contains("rollout 1 started"), "{started}");
    let status = ok(state, &["rollout", "status"]);
    assert!(status.contains("rollout 1 -> 2.0.0: running"), "{status}");
    assert!(
        status.contains("canary") && status.contains("all"),
        "{status}"
    );

    // Watch drives the embedded network's rounds until the rollout is done.
    let watched = ok(state, &["rollout", "watch", "--plain"]);
    assert!(
        watched.contains("rollout 1 -> 2.0.0 completed: upgraded=2 failed=0"),
        "{watched}"
    );
    let status = ok(state, &["rollout", "status"]);
    assert!(status.contains("no active rollout"), "{status}");
    assert_eq!(field(&status, "totals:", "upgraded"), 2, "{status}");
    assert_eq!(field(&status, "totals:", "failed"), 0, "{status}");
    let history = ok(state, &["rollout", "history"]);
    assert!(
        history.contains("rollout 1 -> 2.0.0: completed"),
        "{history}"
    );
    let shown = ok(state, &["--as", ALICE, "canister", "show"]);
    assert!(
        shown.contains("version: 2.0.0") && shown.contains("previous version: 1.0.0"),
        "{shown}"
    );

    // Alice's recovery principal restores the snapshot taken before the upgrade.
    let restored = ok(
        state,
        &[
            "--as",
            ALICE_RECOVERY,
            "recovery",
            "restore",
            "--canister",
            &alice_canister,
        ],
    );
    assert!(restored.contains("now at 1.0.0"), "{restored}");
    // On demand, Alice upgrades again, and the command waits for the outcome.
    let upgraded = ok(state, &["--as", ALICE, "upgrade", "request"]);
    assert!(
        upgraded.contains("from 1.0.0 to 2.0.0 accepted"),
        "{upgraded}"
    );
    assert!(upgraded.contains("1.0.0 -> 2.0.0: ok"), "{upgraded}");
    // Bob moves his recovery to Alice's recovery principal, then detaches.
    ok(
        state,
        &[
            "--as",
            BOB,
            "recovery",
            "rotate",
            "--new-recovery",
            ALICE_RECOVERY,
        ],
    );
    ok(state, &["--as", BOB, "recovery", "detach"]);
    fails_with(
        factoryctl(state, &["--as", BOB, "canister", "show"]),
        "the factory refused",
    );

    let audit = ok(state, &["audit", "--limit", "50"]);
    for action in [
        "rollout 1 started",
        "snapshot restored",
        "recovery rotated",
        ": detached",
        "release 2.0.0 approved",
    ] {
        assert!(audit.contains(action), "{action} missing from:\n{audit}");
    }
    let metrics = ok(state, &["metrics"]);
    assert!(
        metrics.contains("factory_canisters_by_version{version=\"2.0.0\"} 1"),
        "{metrics}"
    );
    ok(state, &["deprecate", "1.0.0", "--reason", "superseded"]);
    ok(state, &["revoke", "1.0.0", "--reason", "no longer safe"]);
    let shown = ok(state, &["releases", "show", "1.0.0"]);
    assert!(
        shown.contains("state: revoked") && shown.contains("no longer safe"),
        "{shown}"
    );
}
