//! Measures `save_state` and `load_state`: installs N copies of a real
//! canister (default 1 000 user_canisters), saves, loads into a new
//! emulator and prints the times and the directory's size.
//!
//!     cargo run --release -p ic-emulator --example state_persist -- [N] [user|probe]
//!
//! `probe` installs the emulator's probe canister and stores one entry in
//! each (a stable BTreeMap write and a heap change).

use candid::Principal;
use factory_guest::InstallArgs;
use ic_emulator::Emulator;
use std::path::Path;
use std::time::Instant;

fn dir_size(path: &Path) -> (u64, usize) {
    let mut total = (0, 0);
    for entry in std::fs::read_dir(path).expect("readable state directory") {
        let entry = entry.expect("directory entry");
        let meta = entry.metadata().expect("metadata");
        if meta.is_dir() {
            let (bytes, files) = dir_size(&entry.path());
            total = (total.0 + bytes, total.1 + files);
        } else {
            total = (total.0 + meta.len(), total.1 + 1);
        }
    }
    total
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000);
    let probe = std::env::args().nth(2).as_deref() == Some("probe");
    let artifacts = canister_artifacts::artifacts();
    let wasm = if probe {
        artifacts.probe.wasm_gz.clone()
    } else {
        artifacts.user_canister.wasm_gz.clone()
    };
    let factory = Principal::self_authenticating(b"factory");
    let emu = Emulator::new();
    let t = Instant::now();
    let mut ids = Vec::new();
    for i in 0..n {
        let id = emu.create_canister();
        let arg = if probe {
            candid::encode_args(()).expect("encodes")
        } else {
            InstallArgs {
                owner: Principal::self_authenticating(i.to_le_bytes()),
                factory,
                version: "1.0.0".into(),
                app_arg: None,
            }
            .encode()
        };
        emu.install_canister(id, wasm.clone(), arg, None);
        if probe {
            let _: (Option<String>,) = emu
                .update_candid(id, "put", (i, format!("value {i}")))
                .expect("put");
        }
        ids.push(id);
    }
    let what = if probe { "probe" } else { "user_canister" };
    println!("{n} {what} canisters installed in {:.2?}", t.elapsed());

    let dir = std::env::temp_dir().join(format!("ic-emulator-state-bench-{}", std::process::id()));
    let t = Instant::now();
    emu.save_state(&dir).expect("save");
    let save = t.elapsed();
    let t = Instant::now();
    emu.save_state(&dir).expect("save over the previous state");
    let resave = t.elapsed();
    let (bytes, files) = dir_size(&dir);
    let t = Instant::now();
    let loaded = Emulator::load_state(&dir).expect("load");
    let load = t.elapsed();
    assert!(ids.iter().all(|id| loaded.canister_exists(*id)));
    let t = Instant::now();
    let first_query = loaded.query_call(
        ids[0],
        Principal::anonymous(),
        "version",
        candid::encode_args(()).expect("encodes"),
    );
    println!(
        "first query after load: {:.2?} ({})",
        t.elapsed(),
        if first_query.is_ok() {
            "ok"
        } else {
            "rejected"
        }
    );
    println!(
        "save {save:.2?} (again over it: {resave:.2?}), load {load:.2?}, {:.1} MiB in {files} files",
        bytes as f64 / (1 << 20) as f64
    );
    std::fs::remove_dir_all(&dir).expect("remove the state");
}
