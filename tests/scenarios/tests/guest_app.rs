//! A second, different app (`examples/notes_v1`, `examples/notes_v2`), built
//! only on the guest library, managed end to end: provisioned, rolled out
//! canary-first with a schema migration, upgraded on demand through the
//! guest's one-way request, and restored by its recovery principal.

use candid::Principal;
use canister_artifacts::{artifacts, variants};
use factory_guest::VersionInfo;
use scenarios::rollout_helpers::{canary_then_all, history, plan};
use scenarios::{recovery_of, user, World};
use std::time::Duration;

const USERS: u64 = 4;

/// A note as `notes_v2.did` describes it, read as any client of the app would
/// (the app's crate cannot be linked beside the user canister's: both export
/// the same canister entry points natively).
#[derive(candid::CandidType, candid::Deserialize, Debug, PartialEq, Eq)]
struct Note {
    text: String,
    words: u32,
}
const SECOND: Duration = Duration::from_secs(1);

fn release(w: &World, version: &str, module: &[u8]) -> factory_api::Release {
    w.publish_module(version, &variants::tagged(module, version).expect("tag"))
}

fn version(w: &World, canister: Principal) -> String {
    let (v,): (VersionInfo,) = w
        .emu
        .query_candid(canister, "version", ())
        .expect("version answers anyone");
    v.release
}

/// User `n` asks its canister for the newest release (the guest's one-way request).
fn ask_for_upgrade(w: &World, canister: Principal, n: u64) {
    let (sent,): (Result<(), String>,) = w
        .emu
        .update_candid_as(canister, user(n), "request_upgrade", (None::<String>,))
        .unwrap();
    assert_eq!(sent, Ok(()));
}

/// Runs rounds until `canister` answers `version` with `release` (mid-upgrade
/// it is stopped and refuses queries).
fn wait_for_version(w: &World, canister: Principal, release: &str) {
    w.drive(&format!("the upgrade to {release}"), 500, SECOND, |w| {
        w.emu
            .query_candid::<_, (VersionInfo,)>(canister, "version", ())
            .is_ok_and(|(v,)| v.release == release)
    });
}

fn text_of(n: u64) -> String {
    format!("note of user {n}")
}

#[test]
fn guest_app_is_provisioned_rolled_out_upgraded_on_demand_and_restored() {
    let w = World::new();
    let a = artifacts();
    release(&w, "1.0.0", &a.notes_v1.wasm_gz);
    let canisters: Vec<Principal> = (1..=USERS).map(|n| w.provision(n)).collect();
    for (n, &c) in (1..=USERS).zip(&canisters) {
        assert_eq!(version(&w, c), "1.0.0");
        let (id,): (Result<u64, String>,) = w
            .emu
            .update_candid_as(c, user(n), "add_note", (text_of(n),))
            .unwrap();
        assert_eq!(id, Ok(0));
        // The app's own check: only the owner writes.
        let (refused,): (Result<u64, String>,) = w
            .emu
            .update_candid_as(c, user(n + 100), "add_note", ("x",))
            .unwrap();
        assert!(refused.is_err());
    }

    // Release 2 changes the data schema; a canary stage goes first.
    release(&w, "2.0.0", &a.notes_v2.wasm_gz);
    let mut p = plan("2.0.0", 10);
    p.stages = canary_then_all(2_500, 0);
    w.admin().start_rollout(p).expect("rollout starts");
    w.drive_until_idle("rollout to 2.0.0", 2_000, SECOND);
    let h = history(&w);
    let last = &h.rollouts[0];
    assert_eq!(last.stages.len(), 2, "canary, then everyone");
    let upgraded: u64 = last.stages.iter().map(|s| s.counters.upgraded).sum();
    assert_eq!((upgraded, last.stages[1].counters.failed), (USERS, 0));
    for (n, &c) in (1..=USERS).zip(&canisters) {
        assert_eq!(version(&w, c), "2.0.0");
        let (notes,): (Result<Vec<(u64, Note)>, String>,) =
            w.emu.query_candid_as(c, user(n), "notes", ()).unwrap();
        let expected = Note {
            text: text_of(n),
            words: 4,
        };
        assert_eq!(notes, Ok(vec![(0, expected)]), "user {n}'s note migrated");
        let (schema,): (u32,) = w.emu.query_candid(c, "schema", ()).unwrap();
        assert_eq!(schema, 2);
    }

    // On demand: the owner asks its own canister, which asks the factory one-way.
    release(&w, "2.1.0", &a.notes_v2.wasm_gz);
    let c1 = canisters[0];
    let (stranger,): (Result<(), String>,) = w
        .emu
        .update_candid_as(c1, user(2), "request_upgrade", (None::<String>,))
        .unwrap();
    assert!(stranger.is_err(), "only the owner may ask");
    ask_for_upgrade(&w, c1, 1);
    wait_for_version(&w, c1, "2.1.0");
    w.drive_until_idle("the on-demand upgrade's end", 500, SECOND);
    assert_eq!(version(&w, canisters[1]), "2.0.0", "only the asker moved");

    // The recovery principal rolls back to the snapshot taken before 2.1.0.
    w.client(recovery_of(1))
        .restore_snapshot(c1)
        .expect("restore by the recovery principal");
    assert_eq!(version(&w, c1), "2.0.0");
    let (notes,): (Result<Vec<(u64, Note)>, String>,) =
        w.emu.query_candid_as(c1, user(1), "notes", ()).unwrap();
    assert_eq!(notes.map(|n| n.len()), Ok(1), "the data came back with it");
}

/// The guest's `request_upgrade` is one-way on the IC's terms: `ic0.call_new`
/// gets no closure the canister's table holds and no cleanup, so when the
/// factory's reply comes (here held back, so it arrives while the factory
/// is stopping the guest) none of the guest's code runs, in the old wasm or
/// the new. The IC still keeps the call context open until that reply
/// arrives (spec: a canister stops once its call contexts are closed), so
/// the claim is about what the callback can run, not that none exists. The
/// control is the factory itself: its awaited `stop_canister` holds a
/// callback that runs code and a cleanup. Made with `Call::bounded_wait(..).await`
/// or `unbounded_wait(..).await`, the guest's request would hold one too.
#[test]
fn guest_one_way_request_registers_no_callback_that_runs_code() {
    use ic_emulator::management_types::CanisterStatusType;
    use ic_emulator::{Fault, RegisteredCallback};
    const HELD_BACK_ROUNDS: u64 = 20;
    let w = World::new();
    let a = artifacts();
    release(&w, "1.0.0", &a.notes_v1.wasm_gz);
    let c = w.provision(1);
    release(&w, "1.1.0", &a.notes_v1.wasm_gz);
    w.emu
        .inject_fault(c, Fault::DelayResponses(HELD_BACK_ROUNDS))
        .expect("the guest exists");
    assert!(w.emu.registered_callbacks(c).is_empty());

    ask_for_upgrade(&w, c, 1);
    let held = w.emu.registered_callbacks(c);
    assert_eq!(
        held,
        vec![RegisteredCallback {
            callee: w.factory,
            reply_fun: RegisteredCallback::ONEWAY_FUN,
            reject_fun: RegisteredCallback::ONEWAY_FUN,
            cleanup_fun: None,
        }],
        "the request's only callback is one the guest's table cannot run"
    );
    assert_eq!(w.emu.open_call_contexts(c), 1, "open until the reply comes");

    // The factory stops the guest for the upgrade; the guest waits for the
    // held-back reply, and the factory's awaited stop_canister is the control.
    let stopping = |w: &World| {
        w.emu
            .canister_status(c, Some(recovery_of(1)))
            .is_ok_and(|s| s.status == CanisterStatusType::Stopping)
    };
    w.drive("the factory stopping the guest", 50, SECOND, stopping);
    assert!(w
        .emu
        .registered_callbacks(c)
        .iter()
        .all(|cb| !cb.runs_code()));
    let factory_waits: Vec<RegisteredCallback> = w
        .emu
        .registered_callbacks(w.factory)
        .into_iter()
        .filter(|cb| cb.callee == Principal::management_canister())
        .collect();
    assert!(
        !factory_waits.is_empty()
            && factory_waits
                .iter()
                .all(|cb| cb.runs_code() && cb.cleanup_fun.is_some()),
        "an awaited call holds a callback that runs code: {factory_waits:?}"
    );

    wait_for_version(&w, c, "1.1.0");
    assert!(w.emu.registered_callbacks(c).is_empty());
    assert_eq!(w.emu.open_call_contexts(c), 0);
}

/// `notes_v2`'s app argument, as its .did describes it.
#[derive(candid::CandidType, candid::Deserialize, Debug, PartialEq, Eq)]
struct Settings {
    max_note_len: u32,
}

/// An admin attaches an app argument to a release; the factory passes it to
/// the upgrade of an existing canister and to the install of a new one, and
/// the example app acts on it.
#[test]
fn guest_app_receives_the_app_arg_of_its_release() {
    let w = World::new();
    let a = artifacts();
    release(&w, "1.0.0", &a.notes_v1.wasm_gz);
    let c1 = w.provision(1);
    let settings = Settings { max_note_len: 12 };
    let options = factory_client::PublishOptions {
        notes: "notes with a note-length limit".into(),
        app_arg: Some(candid::encode_one(&settings).unwrap()),
        approve: true,
        ..Default::default()
    };
    let module = variants::tagged(&a.notes_v2.wasm_gz, "2.0.0").expect("tag");
    let published = w
        .admin()
        .publish_release("2.0.0", &module, &options, |_, _| {})
        .expect("publish with an app argument");
    assert_eq!(
        published.release.app_arg.map(|b| b.into_vec()),
        options.app_arg
    );

    ask_for_upgrade(&w, c1, 1);
    wait_for_version(&w, c1, "2.0.0");
    let c2 = w.provision(2);
    for (n, c) in [(1, c1), (2, c2)] {
        let (got,): (Option<Settings>,) = w.emu.query_candid(c, "settings", ()).unwrap();
        assert_eq!(got.as_ref(), Some(&settings), "user {n}'s canister");
        let (long,): (Result<u64, String>,) = w
            .emu
            .update_candid_as(c, user(n), "add_note", ("thirteen byte",))
            .unwrap();
        assert!(long.is_err(), "the release's limit applies: {long:?}");
        let (short,): (Result<u64, String>,) = w
            .emu
            .update_candid_as(c, user(n), "add_note", ("short",))
            .unwrap();
        assert!(short.is_ok());
    }
}
