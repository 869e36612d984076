//! `factoryctl factory upgrade <wasm>` mid-rollout on the embedded network:
//! stop (the factory's calls finish), upgrade, start; the rollout resumes
//! and completes. Only a controller may.

mod common;

use canister_artifacts::{artifacts, variants};
use common::{factoryctl, fails_with, ok};

const USERS: [(&str, &str); 3] = [
    ("rrkah-fqaaa-aaaaa-aaaaq-cai", "r7inp-6aaaa-aaaaa-aaabq-cai"),
    ("ryjl3-tyaaa-aaaaa-aaaba-cai", "rkp4c-7iaaa-aaaaa-aaaca-cai"),
    ("renrk-eyaaa-aaaaa-aaada-cai", "rno2w-sqaaa-aaaaa-aaacq-cai"),
];

#[test]
fn factory_upgrade_mid_rollout_resumes_it_to_completion() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("net");
    let state = state.as_path();
    let user_wasm = &artifacts().user_canister.wasm_gz;
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    for v in ["1.0.0", "2.0.0"] {
        std::fs::write(path(v), variants::tagged(user_wasm, v).unwrap()).unwrap();
    }
    let next = variants::tagged(&artifacts().factory.wasm_gz, "factory-next").unwrap();
    std::fs::write(path("factory-next.wasm.gz"), &next).unwrap();

    ok(state, &["deploy"]);
    ok(
        state,
        &["publish", &path("1.0.0"), "--version", "1.0.0", "--approve"],
    );
    for (user, recovery) in USERS {
        ok(state, &["--as", user, "provision", "--recovery", recovery]);
    }
    ok(
        state,
        &["publish", &path("2.0.0"), "--version", "2.0.0", "--approve"],
    );
    ok(
        state,
        &["rollout", "start", "2.0.0", "--max-in-flight", "1"],
    );
    // Two seconds in: mid-rollout, a call in flight.
    let partial = factoryctl(
        state,
        &["rollout", "watch", "--plain", "--timeout-secs", "2"],
    );
    fails_with(partial, "still running");

    fails_with(
        factoryctl(
            state,
            &[
                "--as",
                USERS[0].0,
                "factory",
                "upgrade",
                &path("factory-next.wasm.gz"),
            ],
        ),
        "rejected",
    );
    let upgraded = ok(
        state,
        &["factory", "upgrade", &path("factory-next.wasm.gz")],
    );
    let hash = hex::encode(factory_client::module_hash(&next).0);
    assert!(upgraded.contains(&format!("-> {hash}")), "{upgraded}");
    assert!(upgraded.contains("factory started"), "{upgraded}");
    assert!(upgraded.contains("rollout 1 resumed"), "{upgraded}");

    let watched = ok(state, &["rollout", "watch", "--plain"]);
    assert!(
        watched.contains("rollout 1 -> 2.0.0 completed: upgraded=3 failed=0"),
        "{watched}"
    );
}
