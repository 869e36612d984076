//! What a new user hit (issue 13), one regression test per defect: commands
//! on one state directory take turns, a watch keeps what it did and what
//! others did meanwhile, a closed stdout loses nothing, an empty rollout
//! ends, a failed upload can be replaced, and the answers say what is stored.

mod common;

use canister_artifacts::{artifacts, variants};
use common::{factoryctl, fails_with, field, ok};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const ALICE: &str = "rrkah-fqaaa-aaaaa-aaaaq-cai";
const BOB: &str = "ryjl3-tyaaa-aaaaa-aaaba-cai";
const ALICE_RECOVERY: &str = "r7inp-6aaaa-aaaaa-aaabq-cai";
const BOB_RECOVERY: &str = "rkp4c-7iaaa-aaaaa-aaaca-cai";
const CAROL: &str = "rno2w-sqaaa-aaaaa-aaacq-cai";

fn command(state: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_factoryctl"));
    cmd.arg("--state-dir").arg(state).args(args);
    cmd
}

/// A deployed factory with 1.0.0 approved, and the file of 2.0.0.
fn with_release(dir: &Path) -> std::path::PathBuf {
    let state = dir.join("net");
    let user_wasm = &artifacts().user_canister.wasm_gz;
    let v1 = dir.join("v1.wasm.gz");
    std::fs::write(&v1, variants::tagged(user_wasm, "1.0.0").unwrap()).unwrap();
    std::fs::write(
        dir.join("v2.wasm.gz"),
        variants::tagged(user_wasm, "2.0.0").unwrap(),
    )
    .unwrap();
    ok(&state, &["deploy"]);
    ok(
        &state,
        &[
            "publish",
            v1.to_str().unwrap(),
            "--version",
            "1.0.0",
            "--approve",
        ],
    );
    state
}

fn canister_of(provisioned: &str) -> String {
    provisioned
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("canister ")
        .to_string()
}

#[test]
fn commands_on_one_state_dir_take_turns_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = with_release(dir.path());
    // Two users provision at the same moment: two canisters, both kept.
    let spawn = |user: &str, recovery: &str| {
        command(&state, &["--as", user, "provision", "--recovery", recovery])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(ALICE, ALICE_RECOVERY), spawn(BOB, BOB_RECOVERY));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    let a = canister_of(&String::from_utf8_lossy(&a.stdout));
    let b = canister_of(&String::from_utf8_lossy(&b.stdout));
    assert_ne!(a, b, "two users were handed the same canister");
    let shown = ok(&state, &["--as", ALICE, "canister", "show"]);
    assert!(shown.contains(&a), "{shown}");
    let shown = ok(&state, &["--as", BOB, "canister", "show"]);
    assert!(shown.contains(&b), "{shown}");

    // A command that finds the directory in use waits, and says so.
    let lock = std::fs::File::open(state.join("lock")).unwrap();
    lock.lock().unwrap();
    let waiting = command(&state, &["releases", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    lock.unlock().unwrap();
    let waited = waiting.wait_with_output().unwrap();
    assert!(waited.status.success());
    let stderr = String::from_utf8_lossy(&waited.stderr);
    assert!(stderr.contains("waiting for"), "{stderr}");
    assert!(String::from_utf8_lossy(&waited.stdout).contains("1.0.0"));
}

/// Starts a slow `rollout watch --plain` and returns it once it has shown
/// `progress` in a line.
fn watch_until(state: &Path, progress: &str) -> (std::process::Child, Vec<String>) {
    let mut watch = command(state, &["rollout", "watch", "--plain"])
        .env("FACTORYCTL_WATCH_STEP_DELAY_MS", "100")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut out = BufReader::new(watch.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "watch ended: {lines:?}"
        );
        lines.push(line.clone());
        if line.contains(progress) {
            break;
        }
    }
    // Keep reading in the background so the watch never blocks on a full pipe.
    std::thread::spawn(move || for _ in out.lines() {});
    (watch, lines)
}

fn start_slow_rollout(state: &Path, dir: &Path) {
    for (user, recovery) in [
        (ALICE, ALICE_RECOVERY),
        (BOB, BOB_RECOVERY),
        (CAROL, ALICE_RECOVERY),
    ] {
        ok(state, &["--as", user, "provision", "--recovery", recovery]);
    }
    let v2 = dir.join("v2.wasm.gz");
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
    ok(
        state,
        &[
            "rollout",
            "start",
            "2.0.0",
            "--canary-percent",
            "0",
            "--max-in-flight",
            "1",
        ],
    );
}

#[test]
fn a_pause_during_a_watch_is_kept_and_the_watch_stops_there() {
    let dir = tempfile::tempdir().unwrap();
    let state = with_release(dir.path());
    start_slow_rollout(&state, dir.path());
    let (watch, _) = watch_until(&state, "upgraded=1");
    let paused = ok(&state, &["rollout", "pause"]);
    assert!(paused.contains("rollout paused"), "{paused}");
    let watched = watch.wait_with_output().unwrap();
    assert!(watched.status.success(), "{watched:?}");
    let status = ok(&state, &["rollout", "status"]);
    assert!(status.contains("paused by"), "{status}");
    assert!(field(&status, "totals:", "upgraded") < 3, "{status}");
    // It goes on from there.
    ok(&state, &["rollout", "resume"]);
    let done = ok(&state, &["rollout", "watch", "--plain"]);
    assert!(done.contains("completed: upgraded=3"), "{done}");
}

#[test]
fn ctrl_c_during_a_watch_keeps_the_progress_made() {
    let dir = tempfile::tempdir().unwrap();
    let state = with_release(dir.path());
    start_slow_rollout(&state, dir.path());
    let (watch, _) = watch_until(&state, "upgraded=1");
    let pid = watch.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let watched = watch.wait_with_output().unwrap();
    assert!(!watched.status.success());
    let stderr = String::from_utf8_lossy(&watched.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    let status = ok(&state, &["rollout", "status"]);
    assert!(field(&status, "totals:", "upgraded") >= 1, "{status}");
}

#[test]
fn a_closed_stdout_keeps_the_change_and_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let state = with_release(dir.path());
    let mut child = command(
        &state,
        &["--as", ALICE, "provision", "--recovery", ALICE_RECOVERY],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    drop(child.stdout.take()); // as `| true` does
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panic") && !stderr.contains("Broken pipe"));
    let shown = ok(&state, &["--as", ALICE, "canister", "show"]);
    assert!(shown.contains("version: 1.0.0"), "{shown}");
}

#[test]
fn an_empty_rollout_completes_and_a_second_restore_keeps_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let state = with_release(dir.path());
    // Nobody to upgrade yet: it ends, it does not run forever.
    ok(&state, &["rollout", "start", "1.0.0"]);
    let watched = ok(&state, &["rollout", "watch", "--plain"]);
    assert!(watched.contains("completed: upgraded=0"), "{watched}");

    let alice = ok(
        &state,
        &["--as", ALICE, "provision", "--recovery", ALICE_RECOVERY],
    );
    let canister = canister_of(&alice);
    let v2 = dir.path().join("v2.wasm.gz");
    ok(
        &state,
        &[
            "publish",
            v2.to_str().unwrap(),
            "--version",
            "2.0.0",
            "--approve",
        ],
    );
    ok(&state, &["--as", ALICE, "upgrade", "request"]);
    for _ in 0..2 {
        let restored = ok(
            &state,
            &[
                "--as",
                ALICE_RECOVERY,
                "recovery",
                "restore",
                "--canister",
                &canister,
            ],
        );
        assert!(restored.contains("now at 1.0.0"), "{restored}");
    }
    let upgraded = ok(&state, &["--as", ALICE, "upgrade", "request"]);
    assert!(upgraded.contains("1.0.0 -> 2.0.0: ok"), "{upgraded}");
}

#[test]
fn a_failed_upload_can_be_aborted_or_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let state = with_release(dir.path());
    let good = std::fs::read(dir.path().join("v2.wasm.gz")).unwrap();
    let truncated = dir.path().join("truncated.wasm.gz");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let publish = |file: &Path| {
        factoryctl(
            &state,
            &["publish", file.to_str().unwrap(), "--version", "2.0.0"],
        )
    };
    fails_with(publish(&truncated), "releases abort 2.0.0");
    let shown = ok(&state, &["releases", "show", "2.0.0"]);
    assert!(shown.contains("state: uploading"), "{shown}");
    assert!(shown.contains("in 1 chunks"), "{shown}");
    assert!(shown.contains("upload: 1/1 chunks received"), "{shown}");
    // The corrected file replaces the failed upload under the same version.
    let published = publish(&dir.path().join("v2.wasm.gz"));
    assert_eq!(published.code, 0, "{}", published.stderr);
    let shown = ok(&state, &["releases", "show", "2.0.0"]);
    assert!(shown.contains("state: committed"), "{shown}");

    // Or abort it and publish again.
    fails_with(
        factoryctl(
            &state,
            &["publish", truncated.to_str().unwrap(), "--version", "3.0.0"],
        ),
        "releases abort 3.0.0",
    );
    let aborted = ok(&state, &["releases", "abort", "3.0.0"]);
    assert!(aborted.contains("aborted"), "{aborted}");
    fails_with(factoryctl(&state, &["releases", "show", "3.0.0"]), "3.0.0");
}

#[test]
fn answers_say_what_is_stored_and_name_no_internals() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("net");
    // An approval policy one admin can never meet is refused.
    fails_with(
        factoryctl(&state, &["deploy", "--approvals-required", "2"]),
        "no release could ever be approved",
    );
    let state = with_release(dir.path());
    let alice = canister_of(&ok(
        &state,
        &["--as", ALICE, "provision", "--recovery", ALICE_RECOVERY],
    ));
    // A second provision with another recovery: the stored one, and a note.
    let again = ok(&state, &["--as", ALICE, "provision", "--recovery", BOB]);
    assert!(
        again.contains(&format!("recovery: {ALICE_RECOVERY}")),
        "{again}"
    );
    assert!(
        again.contains(&format!("--recovery {BOB} was ignored")),
        "{again}"
    );

    ok(&state, &["admins", "add", BOB]);
    let admins = ok(&state, &["admins", "list"]);
    assert!(admins.contains(BOB), "{admins}");
    ok(&state, &["admins", "remove", BOB]);
    assert!(!ok(&state, &["admins", "list"]).contains(BOB));

    let refused = fails_with(
        factoryctl(
            &state,
            &[
                "--as",
                BOB,
                "recovery",
                "rotate",
                "--canister",
                &alice,
                "--new-recovery",
                BOB,
            ],
        ),
        "not allowed to",
    );
    assert!(!refused.contains("rotate_recovery"), "{refused}");

    // A second detach says it was done already.
    let detach = [
        "--as",
        ALICE_RECOVERY,
        "recovery",
        "detach",
        "--canister",
        alice.as_str(),
    ];
    ok(&state, &detach);
    fails_with(factoryctl(&state, &detach), "already detached");

    let audit = ok(&state, &["audit", "--limit", "50"]);
    assert!(!audit.contains("Principal {"), "{audit}");
    assert!(audit.contains(&format!("admin {BOB} added")), "{audit}");
    assert!(!audit.contains("000s "), "{audit}");
    let shown = ok(&state, &["releases", "show", "1.0.0"]);
    assert!(shown.contains("Z"), "an RFC 3339 time: {shown}");

    let help = ok(&state, &["rollout", "--help"]);
    for line in ["pause", "resume", "cancel"] {
        let described = help
            .lines()
            .find(|l| l.trim_start().starts_with(line))
            .unwrap();
        assert!(described.split_whitespace().count() > 1, "{help}");
    }
    let help = ok(&state, &["rollout", "start", "--help"]);
    assert!(help.contains("The approved release to upgrade"), "{help}");
}
