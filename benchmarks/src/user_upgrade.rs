//! Instructions of a user canister upgrade (pre_upgrade + post_upgrade) with
//! little and much user data: state lives in stable memory, so the cost
//! must not grow with the data.

use crate::report::Report;
use crate::size::Size;
use candid::Principal;
use canister_artifacts::{artifacts, variants};
use ic_emulator::management_types::CanisterSettings;
use ic_emulator::Emulator;
use scenarios::user_canister::Health;

/// The largest value the user canister accepts in one `put`.
const MAX_VALUE: u64 = 1 << 20;

pub fn run(size: &Size, report: &mut Report) {
    let mut results = Vec::new();
    for &bytes in &size.user_data_bytes {
        let instructions = upgrade_with(bytes);
        report.add(
            "user canister upgrade",
            &format!("instructions with {} of data", human(bytes)),
            instructions as f64,
            "instr",
            "pre_upgrade + post_upgrade (fuel)",
        );
        results.push(instructions);
    }
    if let (Some(a), Some(b)) = (results.first(), results.last()) {
        if results.len() > 1 {
            report.add(
                "user canister upgrade",
                "largest data / smallest data",
                *b as f64 / *a as f64,
                "ratio",
                "must not grow with the data",
            );
        }
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

fn args(owner: Principal, version: &str) -> Vec<u8> {
    factory_guest::InstallArgs {
        owner,
        factory: Principal::self_authenticating(b"factory"),
        version: version.into(),
        app_arg: None,
    }
    .encode()
}

/// Fills a fresh user canister with `bytes` of values, upgrades it, and
/// returns the upgrade's instructions; checks the data survived.
fn upgrade_with(bytes: u64) -> u64 {
    let emu = Emulator::new();
    let controller = Principal::self_authenticating(b"controller");
    let owner = Principal::self_authenticating(b"owner");
    let c = emu.create_canister_with_settings(
        Some(controller),
        Some(CanisterSettings {
            controllers: Some(vec![controller]),
            ..Default::default()
        }),
    );
    emu.add_cycles(c, 1_000_000_000_000_000);
    let wasm = &artifacts().user_canister.wasm_gz;
    emu.install_canister(c, wasm.clone(), args(owner, "1.0.0"), Some(controller));
    let mut left = bytes;
    let mut i = 0u64;
    while left > 0 {
        let n = left.min(MAX_VALUE);
        let value = vec![(i % 251) as u8; n as usize];
        let arg = candid::encode_args((format!("k{i:06}"), value)).expect("encode");
        let reply = emu.update_call(c, owner, "put", arg).expect("put");
        let stored: Result<(), candid::Reserved> = candid::decode_one(&reply).expect("decode");
        assert!(stored.is_ok(), "put {i} refused");
        left -= n;
        i += 1;
    }
    let next = variants::tagged(wasm, "1.0.1").expect("tagged module");
    emu.upgrade_canister(c, next, args(owner, "1.0.1"), Some(controller))
        .expect("upgrade");
    let instructions = emu.instruction_stats(c).last_install;
    let reply = emu
        .query_call(c, owner, "health", candid::encode_args(()).expect("encode"))
        .expect("health");
    let health: Result<Health, candid::Reserved> = candid::decode_one(&reply).expect("decode");
    let health = health.unwrap_or_else(|_| panic!("health refused"));
    assert_eq!(health.records, i, "every record survived");
    assert_eq!(health.release, "1.0.1");
    instructions
}
