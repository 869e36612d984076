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
    let (sent,): (Result<(), String>,) = w
        .emu
        .update_candid_as(c1, user(1), "request_upgrade", (None::<String>,))
        .unwrap();
    assert_eq!(sent, Ok(()));
    // Mid-upgrade the canister is stopped and refuses queries: not there yet.
    w.drive("the on-demand upgrade", 500, SECOND, |w| {
        w.emu
            .query_candid::<_, (VersionInfo,)>(c1, "version", ())
            .is_ok_and(|(v,)| v.release == "2.1.0")
    });
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
