//! `factoryctl --network URL deploy` against `factoryctl serve`: the factory
//! created with provisional cycles and installed over ic-agent, as dfx
//! deploys on a local network; its id recorded where network commands find
//! it; then publish and provision over the network. And the demo over the
//! network.

#![cfg(feature = "network")]

mod common;

use canister_artifacts::{artifacts, variants};
use common::served::{ed25519_pem, factoryctl_in, principal_of, secp256k1_pem, serve};
use common::{fails_with, Run};
use std::path::Path;

fn ok(run: Run, what: &str) -> String {
    assert_eq!(run.code, 0, "{what} failed:\n{}{}", run.stdout, run.stderr);
    run.stdout
}

#[test]
fn http_interface_factoryctl_deploys_the_factory_over_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let state = cwd.join("net");
    let (admin, alice, alice_recovery) = (
        cwd.join("admin.pem"),
        cwd.join("alice.pem"),
        cwd.join("alice-recovery.pem"),
    );
    ed25519_pem(&admin);
    secp256k1_pem(&alice);
    ed25519_pem(&alice_recovery);
    let admin_id = principal_of(&admin);

    // A fresh network: nothing is deployed on it before factoryctl does.
    let served = serve(&state, 50);
    assert!(
        served.banner.contains("no factory deployed yet"),
        "{}",
        served.banner
    );
    let run = |pem: &Path, args: &[&str]| {
        let mut all = vec![
            "--network",
            served.url.as_str(),
            "--identity",
            pem.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        factoryctl_in(cwd, &state, &all)
    };

    let deployed = ok(run(&admin, &["deploy"]), "deploy");
    let factory = deployed
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("factory "))
        .unwrap_or_else(|| panic!("no factory id in:\n{deployed}"))
        .to_string();
    assert!(
        deployed.contains(&format!("controller: {admin_id}"))
            && deployed.contains(&format!("admin: {admin_id}"))
            && deployed.contains(&format!(
                "module sha256: {}",
                artifacts().factory.sha256_hex()
            )),
        "{deployed}"
    );
    // Recorded as dfx records a local deploy, so later commands need no --factory.
    let ids = cwd.join(".dfx").join(&served.url).join("canister_ids.json");
    let recorded = std::fs::read_to_string(&ids).unwrap();
    assert!(recorded.contains(&factory), "{recorded}");
    fails_with(run(&admin, &["deploy"]), "a factory is already recorded");
    fails_with(
        run(&admin, &["deploy", "--subnets", "2"]),
        "embedded network only",
    );
    // The IC is refused before anything is sent.
    fails_with(
        factoryctl_in(cwd, &state, &["--network", "ic", "deploy"]),
        "deploy the factory there with dfx or icp-cli",
    );

    // The deployed factory works over the network: its admin publishes,
    // a user (secp256k1) provisions and sees the release installed.
    let admins = ok(run(&admin, &["admins", "list"]), "admins list");
    assert!(admins.contains(&admin_id), "{admins}");
    let v1 = cwd.join("v1.wasm.gz");
    std::fs::write(
        &v1,
        variants::tagged(&artifacts().user_canister.wasm_gz, "1.0.0").unwrap(),
    )
    .unwrap();
    let published = ok(
        run(
            &admin,
            &[
                "publish",
                v1.to_str().unwrap(),
                "--version",
                "1.0.0",
                "--approve",
            ],
        ),
        "publish",
    );
    assert!(published.contains("state: approved"), "{published}");
    let provisioned = ok(
        run(
            &alice,
            &["provision", "--recovery", &principal_of(&alice_recovery)],
        ),
        "provision",
    );
    assert!(provisioned.starts_with("canister "), "{provisioned}");
    let shown = ok(run(&alice, &["canister", "show"]), "canister show");
    assert!(shown.contains("version: 1.0.0"), "{shown}");
    fails_with(
        run(&alice, &["rollout", "start", "1.0.0"]),
        "the factory refused",
    );
    drop(served);
}

/// The demo's story over ic-agent against a served network (rounds in real
/// time), at its smallest size; what needs the emulator is said to be skipped.
#[test]
fn http_interface_demo_runs_over_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("net");
    let served = serve(&state, 50);
    let report = dir.path().join("report.html");
    let run = factoryctl_in(
        dir.path(),
        &state,
        &[
            "--network",
            served.url.as_str(),
            "demo",
            "--users",
            "2",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let out = ok(run, "demo over the network");
    for line in [
        "publish 1.0.0:",
        "provision: 2 users, each storing its data",
        "rollout 1 -> 2.0.0 completed: upgraded=2 failed=0",
        "rollout 2 -> 3.0.0 halted:",
        "cancel, revoke 3.0.0",
        "publish 3.0.1:",
        "2.0.0 -> 3.0.1",
        "restored",
        "3.0.1 -> 2.0.0",
        "data: 2/2 users read back exactly what they stored",
        "skipped over a network: rounds and factory instructions",
    ] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
    // The report is built from the emulator's counters: not written here.
    assert!(!report.exists());
    // Flags the demo cannot honour over a network are refused.
    fails_with(
        factoryctl_in(
            dir.path(),
            &state,
            &["--network", served.url.as_str(), "--as", "aaaaa-aa", "demo"],
        ),
        "the demo makes its own keys",
    );
    drop(served);
}
