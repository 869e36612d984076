//! `deploy --subnets N` on the embedded network (issue 16): an index on a
//! subnet of its own and a shard on each of N more, registered at the index,
//! kept across invocations.

mod common;

use canister_artifacts::{artifacts, variants};
use common::{factoryctl, fails_with, ok};

#[test]
fn fleet_deploy_with_subnets_puts_each_shard_on_its_own_subnet() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("net");
    let state = state.as_path();
    let deployed = ok(state, &["deploy", "--subnets", "2"]);
    let subnet_of = |line: &str| line.rsplit(" on subnet ").next().unwrap().to_string();
    let lines: Vec<&str> = deployed.lines().collect();
    assert!(lines[0].starts_with("index "), "{deployed}");
    let shards: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.trim_start().starts_with("shard "))
        .collect();
    assert_eq!(shards.len(), 2, "{deployed}");
    let mut subnets: Vec<String> = shards.iter().map(|l| subnet_of(l)).collect();
    subnets.push(subnet_of(lines[0]));
    subnets.sort();
    subnets.dedup();
    assert_eq!(
        subnets.len(),
        3,
        "index and shards on three subnets: {deployed}"
    );
    fails_with(factoryctl(state, &["deploy"]), "already deployed");
    // The next invocation loads the fleet: the index lists both shards.
    let listed = ok(state, &["shards", "list"]);
    let ids: Vec<&str> = shards
        .iter()
        .map(|s| s.split_whitespace().nth(1).unwrap())
        .collect();
    for id in &ids {
        assert!(listed.contains(id), "{id} not in {listed}");
    }

    // A fleet rollout, watched with a row per shard.
    let user_wasm = &artifacts().user_canister.wasm_gz;
    for v in ["1.0.0", "2.0.0"] {
        let path = dir.path().join(format!("user_canister-{v}.wasm.gz"));
        std::fs::write(&path, variants::tagged(user_wasm, v).unwrap()).unwrap();
        let path = path.to_str().unwrap().to_string();
        ok(state, &["publish", &path, "--version", v, "--approve"]);
        ok(state, &["shards", "push", v]);
        if v == "1.0.0" {
            for (user, recovery) in USERS {
                ok(state, &["--as", user, "provision", "--recovery", recovery]);
            }
        }
    }
    let started = ok(
        state,
        &["rollout", "start", "2.0.0", "--max-in-flight", "2"],
    );
    assert!(started.contains("started"), "{started}");
    let watched = ok(state, &["rollout", "watch", "--plain"]);
    for id in &ids {
        let row = watched
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with(&format!("shard {id} ")))
            .unwrap_or_else(|| panic!("no row for shard {id} in {watched}"));
        assert!(row.trim_end().ends_with("finished"), "{row}");
        assert!(
            row.contains("upgraded=1 ") && row.contains("failed=0 "),
            "{row}"
        );
    }
    assert!(
        watched.contains("fleet rollout 1 -> 2.0.0 completed: upgraded=2 failed=0"),
        "{watched}"
    );
}

/// Owners and their recovery principals (one lands on each shard).
const USERS: [(&str, &str); 2] = [
    ("rrkah-fqaaa-aaaaa-aaaaq-cai", "r7inp-6aaaa-aaaaa-aaabq-cai"),
    ("ryjl3-tyaaa-aaaaa-aaaba-cai", "rkp4c-7iaaa-aaaaa-aaaca-cai"),
];
