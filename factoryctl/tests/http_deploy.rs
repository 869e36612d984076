//! `factoryctl --network URL deploy` against `factoryctl serve`: the factory
//! created with provisional cycles and installed over ic-agent, as dfx
//! deploys on a local network; its id recorded where network commands find
//! it; then publish and provision over the network.

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

/// `demo --network URL` says the demo is embedded-only instead of quietly
/// running embedded (nothing is sent, no report written).
#[test]
fn demo_with_a_network_says_it_runs_embedded_only() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let run = factoryctl_in(
        dir.path(),
        &dir.path().join("net"),
        &[
            "--network",
            "http://127.0.0.1:9",
            "demo",
            "--users",
            "1",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    fails_with(run, "the demo runs on a fresh embedded network only");
    assert!(!report.exists());
}
