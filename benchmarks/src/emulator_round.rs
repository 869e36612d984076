//! The emulator itself: wall time of one round delivering a message to each
//! of N real user canisters, and the process's memory. Runs first, so the
//! peak RSS is this benchmark's.

use crate::measure::{median, status_mib, timed};
use crate::report::Report;
use crate::size::Size;
use candid::Principal;
use ic_emulator::Emulator;

pub fn run(size: &Size, report: &mut Report) {
    let n = size.round_canisters;
    let bench = format!("emulator, {n} canisters");
    let emu = Emulator::new();
    let wasm = canister_artifacts::artifacts()
        .user_canister
        .wasm_gz
        .clone();
    let factory = Principal::self_authenticating(b"factory");
    let (ids, install_s) = timed(|| {
        (0..n)
            .map(|i| {
                let id = emu.create_canister();
                let arg = factory_guest::InstallArgs {
                    owner: Principal::self_authenticating(i.to_le_bytes()),
                    factory,
                    version: "1.0.0".into(),
                    app_arg: None,
                }
                .encode();
                emu.install_canister(id, wasm.clone(), arg, None);
                id
            })
            .collect::<Vec<_>>()
    });
    let mut rounds = Vec::new();
    for _ in 0..size.runs {
        // `version` called as an update: executed in the round, then discarded.
        let calls: Vec<_> = ids
            .iter()
            .map(|id| {
                emu.submit_call(
                    *id,
                    Principal::anonymous(),
                    "version",
                    candid::encode_args(()).expect("encode"),
                )
                .expect("submitted")
            })
            .collect();
        let ((), s) = timed(|| emu.tick());
        let done = calls
            .iter()
            .filter(|m| matches!(emu.ingress_status(**m), Some(Ok(_))))
            .count();
        assert_eq!(done as u64, n, "every message completed in the round");
        rounds.push(s);
    }
    let (_, empty_s) = timed(|| emu.tick());
    report.add(
        &bench,
        "wall time of a round (one message each)",
        median(rounds.clone()),
        "s",
        format!("median of {} rounds", rounds.len()),
    );
    report.add(&bench, "wall time of an empty round", empty_s, "s", "");
    report.add(
        &bench,
        "install wall time per canister",
        install_s / n as f64 * 1e6,
        "µs",
        "",
    );
    report.add(
        &bench,
        "RSS after the rounds",
        status_mib("VmRSS:"),
        "MiB",
        "process",
    );
    report.add(
        &bench,
        "peak RSS",
        status_mib("VmHWM:"),
        "MiB",
        "process high-water mark (this bench runs first)",
    );
}
