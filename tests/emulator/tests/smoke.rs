mod common;
use common::*;
use ic_emulator::Emulator;

#[test]
fn wat_counter_update_and_query() {
    let emu = Emulator::new();
    let id = install(&emu, CALLEE);
    assert_eq!(i64_of(&update(&emu, id, "inc", vec![]).unwrap()), 1);
    assert_eq!(i64_of(&update(&emu, id, "inc", vec![]).unwrap()), 2);
    assert_eq!(i64_of(&query(&emu, id, "get", vec![]).unwrap()), 2);
    assert_eq!(update(&emu, id, "echo", b"hi".to_vec()).unwrap(), b"hi");
}

#[test]
fn real_user_canister_answers_version() {
    use candid::{CandidType, Deserialize, Principal};
    #[derive(CandidType, Deserialize)]
    struct Args {
        owner: Principal,
        factory: Principal,
        version: String,
    }
    #[derive(CandidType, Deserialize, Debug)]
    struct VersionInfo {
        release: String,
        crate_version: String,
        git_commit: Option<String>,
    }
    let art = canister_artifacts::artifacts();
    let emu = Emulator::new();
    let id = emu.create_canister();
    let args = Args {
        // The user canister refuses an anonymous owner or factory.
        owner: Principal::from_slice(&[1; 29]),
        factory: Principal::from_slice(&[2; 29]),
        version: "1.2.3".into(),
    };
    emu.install_canister(
        id,
        art.user_canister.wasm_gz.clone(),
        candid::encode_one(&args).unwrap(),
        None,
    );
    let (v,): (VersionInfo,) = emu.query_candid(id, "version", ()).unwrap();
    assert_eq!(v.release, "1.2.3");
    let status = emu.canister_status(id, None).unwrap();
    assert_eq!(status.module_hash, Some(art.user_canister.sha256.to_vec()));
}
