//! `deploy --subnets N` on the embedded network (issue 16): an index on a
//! subnet of its own and a shard on each of N more, registered at the index,
//! kept across invocations.

mod common;

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
    for s in &shards {
        let id = s.split_whitespace().nth(1).unwrap();
        assert!(listed.contains(id), "{id} not in {listed}");
    }
}
