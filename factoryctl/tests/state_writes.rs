//! What a command writes into the embedded network's state directory: a
//! read-only command nothing, a change for one user the same few files
//! whatever the fleet's size (issue 13, item 13); and a release module that
//! names its version (the build embeds it) is refused under another one.

mod common;

use canister_artifacts::artifacts;
use common::{factoryctl, fails_with, ok};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A principal for `--as` or `--recovery`.
fn principal(name: &str) -> String {
    candid::Principal::self_authenticating(name.as_bytes()).to_text()
}

/// Every file below `dir` with its size and modification time.
fn files(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            let meta = std::fs::metadata(&path).unwrap();
            out.insert(path, (meta.len(), meta.modified().unwrap()));
        }
    }
    out
}

/// The files that are new or changed in `after`.
fn written(before: &BTreeMap<PathBuf, (u64, SystemTime)>, dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|(path, meta)| before.get(path) != Some(meta))
        .map(|(path, _)| path)
        .collect()
}

#[test]
fn read_only_commands_write_nothing_and_one_new_user_writes_a_few_files() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("net");
    let state = state.as_path();
    let module = dir.path().join("user_canister.wasm.gz");
    std::fs::write(&module, &artifacts().user_canister.wasm_gz).unwrap();
    let module = module.to_str().unwrap();
    ok(state, &["deploy"]);

    // The build names the module's version: under another one it is refused.
    fails_with(
        factoryctl(state, &["publish", module, "--version", "3.0.0"]),
        "says it is release",
    );
    ok(
        state,
        &["publish", module, "--version", "1.0.0", "--approve"],
    );
    let (user, recovery) = (principal("user 0"), principal("recovery 0"));
    ok(
        state,
        &["--as", &user, "provision", "--recovery", &recovery],
    );

    let before = files(state);
    ok(state, &["releases", "list"]);
    ok(state, &["rollout", "status"]);
    ok(state, &["--as", &user, "canister", "show"]);
    assert_eq!(written(&before, state), Vec::<PathBuf>::new());

    for n in 1..3 {
        let (user, recovery) = (
            principal(&format!("user {n}")),
            principal(&format!("rec {n}")),
        );
        let before = files(state);
        ok(
            state,
            &["--as", &user, "provision", "--recovery", &recovery],
        );
        let written = written(&before, state);
        // The factory's and the new canister's memory and records, the
        // emulator's three files of its own, its manifest and network.json:
        // as many with more users.
        assert_eq!(written.len(), 9, "{written:#?}");
        let in_canisters = |suffix: &str| {
            written
                .iter()
                .filter(|p| {
                    let p = p.to_string_lossy();
                    p.contains("/canisters/") && p.ends_with(suffix)
                })
                .count()
        };
        assert_eq!(in_canisters(".bin.gz"), 2, "{written:#?}");
        assert_eq!(in_canisters(".json"), 2, "{written:#?}");
    }
}
