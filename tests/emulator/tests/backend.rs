//! One scenario, written against `IcBackend`, run on the emulator and — with
//! the `pocket-ic` feature and `POCKET_IC_BIN` set — on PocketIC too.

use candid::Principal;
use ic_emulator::backend::IcBackend;
use ic_emulator::management_types::{CanisterInstallMode, CanisterSettings, CanisterStatusType};
use ic_emulator::Emulator;
use sha2::{Digest, Sha256};

fn probe_wasm() -> Vec<u8> {
    canister_artifacts::artifacts().probe.wasm_gz.clone()
}

/// Install, call, upgrade (stable data kept), stop/start, snapshot round trip,
/// chunked install, controllers.
fn scenario<B: IcBackend>(ic: &B) {
    let admin = Principal::self_authenticating([1; 32]);
    let settings = CanisterSettings {
        controllers: Some(vec![admin]),
        ..Default::default()
    };
    let a = ic.create_canister_with_settings(Some(admin), Some(settings.clone()));
    ic.add_cycles(a, 10_000_000_000_000);
    let wasm = probe_wasm();
    ic.install_canister(
        a,
        wasm.clone(),
        candid::encode_args(()).unwrap(),
        Some(admin),
    );
    let (prev,): (Option<String>,) = ic
        .update_candid_as(a, admin, "put", (1u64, "one".to_string()))
        .unwrap();
    assert_eq!(prev, None);
    ic.upgrade_canister(
        a,
        wasm.clone(),
        candid::encode_args(()).unwrap(),
        Some(admin),
    )
    .unwrap();
    let (v,): (Option<String>,) = ic.query_candid_as(a, admin, "get", (1u64,)).unwrap();
    assert_eq!(
        v.as_deref(),
        Some("one"),
        "{}: stable data survives an upgrade",
        ic.backend_name()
    );

    let snapshot = ic.take_canister_snapshot(a, Some(admin), None).unwrap();
    let _: (Option<String>,) = ic
        .update_candid_as(a, admin, "put", (2u64, "two".to_string()))
        .unwrap();
    ic.stop_canister(a, Some(admin)).unwrap();
    let status = ic.canister_status(a, Some(admin)).unwrap();
    assert_eq!(status.status, CanisterStatusType::Stopped);
    assert_eq!(status.module_hash, Some(Sha256::digest(&wasm).to_vec()));
    ic.load_canister_snapshot(a, Some(admin), snapshot.clone())
        .unwrap();
    ic.start_canister(a, Some(admin)).unwrap();
    let (v,): (Option<String>,) = ic.query_candid_as(a, admin, "get", (2u64,)).unwrap();
    assert_eq!(
        v,
        None,
        "{}: the snapshot predates key 2",
        ic.backend_name()
    );
    assert_eq!(
        ic.list_canister_snapshots(a, Some(admin)).unwrap(),
        vec![snapshot]
    );

    // Chunked install of a second canister from a's chunk store.
    let b = ic.create_canister_with_settings(Some(admin), Some(settings));
    let hashes: Vec<Vec<u8>> = wasm
        .chunks(64 * 1024)
        .map(|c| ic.upload_chunk(a, Some(admin), c.to_vec()).unwrap())
        .collect();
    let hash = Sha256::digest(&wasm).to_vec();
    ic.install_chunked_canister(
        b,
        Some(admin),
        CanisterInstallMode::Install,
        a,
        hashes,
        hash,
        candid::encode_args(()).unwrap(),
    )
    .unwrap();
    let (r,): (Result<Option<String>, String>,) = ic
        .update_candid_as(a, admin, "put_on", (b, 7u64, "seven".to_string()))
        .unwrap();
    assert_eq!(r, Ok(None));
    let (v,): (Option<String>,) = ic.query_candid_as(b, admin, "get", (7u64,)).unwrap();
    assert_eq!(v.as_deref(), Some("seven"));

    // Someone else may not touch a.
    let e = ic
        .set_controllers(a, Some(Principal::anonymous()), vec![])
        .unwrap_err();
    assert_eq!(e.reject_code, ic_emulator::RejectCode::CanisterError);
    ic.set_controllers(a, Some(admin), vec![admin, b]).unwrap();
    assert_eq!(ic.get_controllers(a).len(), 2);
}

#[test]
fn scenario_on_the_emulator() {
    scenario(&Emulator::new());
}

#[test]
fn scenario_on_pocket_ic_when_available() {
    #[cfg(feature = "pocket-ic")]
    {
        match ic_emulator::backend::pocket::unavailable_reason() {
            Some(why) => eprintln!("NOTE: the PocketIC run of this scenario could not run here: {why}. Only the emulator ran it."),
            None => scenario(&pocket_ic::PocketIc::new()),
        }
    }
    #[cfg(not(feature = "pocket-ic"))]
    eprintln!(
        "NOTE: the PocketIC run of this scenario could not run here: the `pocket-ic` feature is off \
         (cargo test -p ic-emulator --features pocket-ic, with POCKET_IC_BIN set). Only the emulator ran it."
    );
}
