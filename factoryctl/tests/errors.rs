//! Bad input gives one clear line on stderr and a non-zero exit code, and an
//! interrupted publish resumes without ever leaving a half-approved release.

mod common;

use common::{big_wasm, factoryctl, factoryctl_env, fails_with, ok};

const STRANGER: &str = "2vxsx-fae"; // the anonymous principal
const UNKNOWN_USER: &str = "rrkah-fqaaa-aaaaa-aaaaq-cai";

fn deployed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["deploy"]);
    dir
}

#[test]
fn files_that_are_missing_not_wasm_or_not_the_expected_hash_are_refused_before_upload() {
    let dir = deployed();
    let state = dir.path();
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();

    let missing = files.join("missing.wasm");
    fails_with(
        factoryctl(
            state,
            &["publish", missing.to_str().unwrap(), "--version", "1.0.0"],
        ),
        "cannot read",
    );

    let text = files.join("notes.wasm");
    std::fs::write(&text, "this is not wasm").unwrap();
    fails_with(
        factoryctl(
            state,
            &["publish", text.to_str().unwrap(), "--version", "1.0.0"],
        ),
        "is not a wasm module",
    );

    let gz_text = files.join("notes.wasm.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"still not wasm").unwrap();
    std::fs::write(&gz_text, gz.finish().unwrap()).unwrap();
    fails_with(
        factoryctl(
            state,
            &["publish", gz_text.to_str().unwrap(), "--version", "1.0.0"],
        ),
        "not a gzipped wasm module",
    );

    let wasm = files.join("module.wasm");
    std::fs::write(&wasm, big_wasm(4_096, 1)).unwrap();
    let wrong = "00".repeat(32);
    fails_with(
        factoryctl(
            state,
            &[
                "publish",
                wasm.to_str().unwrap(),
                "--version",
                "1.0.0",
                "--sha256",
                &wrong,
            ],
        ),
        "hash mismatch",
    );
    fails_with(
        factoryctl(
            state,
            &[
                "publish",
                wasm.to_str().unwrap(),
                "--version",
                "1.0.0",
                "--sha256",
                "xyz",
            ],
        ),
        "64 hex digits",
    );
    // Nothing reached the registry.
    assert!(ok(state, &["releases", "list"]).contains("no releases"));
}

#[test]
fn unknown_releases_and_users_are_named_in_the_error() {
    let dir = deployed();
    let state = dir.path();
    fails_with(factoryctl(state, &["releases", "show", "9.9.9"]), "9.9.9");
    fails_with(factoryctl(state, &["approve", "9.9.9"]), "9.9.9");
    fails_with(factoryctl(state, &["rollout", "start", "9.9.9"]), "9.9.9");
    fails_with(
        factoryctl(state, &["releases", "show", "not-semver"]),
        "not-semver",
    );
    fails_with(
        factoryctl(state, &["canister", "show", "--owner", UNKNOWN_USER]),
        "the factory refused",
    );
    // A user without a canister asking for theirs.
    fails_with(
        factoryctl(state, &["--as", UNKNOWN_USER, "canister", "show"]),
        "the factory refused",
    );
    fails_with(
        factoryctl(
            state,
            &["--as", STRANGER, "provision", "--recovery", UNKNOWN_USER],
        ),
        "the factory refused",
    );
    fails_with(
        factoryctl(state, &["rollout", "watch"]),
        "no active rollout",
    );
}

#[test]
fn bad_flags_networks_and_identities_give_one_line() {
    let empty = tempfile::tempdir().unwrap();
    let state = empty.path();
    fails_with(
        factoryctl(state, &["releases", "list"]),
        "run `factoryctl deploy` first",
    );
    let bad_principal = factoryctl(state, &["--as", "not-a-principal", "releases", "list"]);
    assert_eq!(bad_principal.code, 2);
    fails_with(bad_principal, "not-a-principal");
    fails_with(
        factoryctl(state, &["--network", "mainnet", "releases", "list"]),
        "unknown network",
    );
    fails_with(
        factoryctl(
            state,
            &["--network", "ic", "--as", UNKNOWN_USER, "releases", "list"],
        ),
        "--as only applies",
    );
    fails_with(
        factoryctl(state, &["--identity", "alice", "releases", "list"]),
        "--identity applies to real networks",
    );
    // Real networks: without dfx or a replica here, only their error paths can be tested.
    let unreachable = fails_with(
        factoryctl(
            state,
            &[
                "--network",
                "http://127.0.0.1:9",
                "--factory",
                UNKNOWN_USER,
                "releases",
                "list",
            ],
        ),
        "cannot reach http://127.0.0.1:9",
    );
    println!("unreachable network (no replica on this machine, error path only): {unreachable}");
    fails_with(
        factoryctl(
            state,
            &["--network", "http://127.0.0.1:9", "releases", "list"],
        ),
        "no factory id for network",
    );
    let pem = state.join("bad.pem");
    std::fs::write(
        &pem,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    fails_with(
        factoryctl(
            state,
            &[
                "--network",
                "local",
                "--factory",
                UNKNOWN_USER,
                "--identity",
                pem.to_str().unwrap(),
                "metrics",
            ],
        ),
        "not an Ed25519 or secp256k1 private key",
    );
    fails_with(
        factoryctl(
            state,
            &[
                "--network",
                "local",
                "--factory",
                UNKNOWN_USER,
                "--identity",
                "no-such-identity-xyz",
                "metrics",
            ],
        ),
        "no identity 'no-such-identity-xyz'",
    );
    fails_with(factoryctl(state, &["demo", "--users", "0"]), "--users");
}

#[test]
fn an_interrupted_publish_resumes_and_is_never_half_approved() {
    let dir = deployed();
    let state = dir.path();
    // 2.5 MiB: three chunks.
    let wasm = state.join("big.wasm");
    std::fs::write(&wasm, big_wasm(5 * 512 * 1024, 7)).unwrap();
    let path = wasm.to_str().unwrap();
    let publish = ["publish", path, "--version", "1.0.0", "--approve"];

    let interrupted = factoryctl_env(
        state,
        &publish,
        &[("FACTORYCTL_INTERRUPT_AFTER_CHUNKS", "1")],
    );
    fails_with(
        interrupted,
        "interrupted; run the same command again to resume",
    );
    let shown = ok(state, &["releases", "show", "1.0.0"]);
    assert!(shown.contains("state: uploading"), "{shown}");
    assert!(shown.contains("upload: 1/3 chunks received"), "{shown}");
    assert!(!shown.contains("approved by"), "{shown}");
    // Nothing can be installed from it yet.
    fails_with(factoryctl(state, &["rollout", "start", "1.0.0"]), "1.0.0");

    let resumed = ok(state, &publish);
    assert!(
        resumed.contains("resumed: 1 of 3 chunks were already uploaded"),
        "{resumed}"
    );
    assert!(resumed.contains("chunks uploaded: 2/3"), "{resumed}");
    assert!(resumed.contains("state: approved"), "{resumed}");
    let shown = ok(state, &["releases", "show", "1.0.0"]);
    assert!(shown.contains("state: approved"), "{shown}");
    assert_eq!(shown.matches("approved by").count(), 1, "{shown}");

    // Publishing it again changes nothing and is not an error.
    let again = ok(state, &publish);
    assert!(again.contains("chunks uploaded: 0/3"), "{again}");
}
