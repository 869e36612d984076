//! Installs N copies of a real canister (default 10 000 user_canisters) and
//! delivers one message to each in a single round; prints wall times, peak
//! memory and instructions.
//!
//!     cargo run --release -p ic-emulator --example round_bench -- [N] [user|probe]
//!
//! `user` sends the user_canister's `version` (a query called as an update:
//! executed and discarded); `probe` installs the emulator's probe canister and
//! sends `put`, an update that writes a stable BTreeMap and is committed.

use candid::Principal;
use factory_guest::InstallArgs;
use ic_emulator::Emulator;
use std::time::Instant;

/// A `/proc/self/status` field in MiB (Linux).
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let probe = std::env::args().nth(2).as_deref() == Some("probe");
    let artifacts = canister_artifacts::artifacts();
    let wasm = if probe {
        artifacts.probe.wasm_gz.clone()
    } else {
        artifacts.user_canister.wasm_gz.clone()
    };
    let factory = Principal::self_authenticating(b"factory");
    let emu = Emulator::new();
    let what = if probe { "probe" } else { "user" };
    println!(
        "round_bench: {n} {what} canisters ({} bytes gzipped wasm)",
        wasm.len()
    );
    println!("start: VmRSS {:.0} MiB", status_mib("VmRSS:"));

    let t = Instant::now();
    let mut ids = Vec::with_capacity(n as usize);
    for i in 0..n {
        let id = emu.create_canister();
        let arg = if probe {
            candid::encode_args(()).unwrap()
        } else {
            let owner = Principal::self_authenticating(i.to_le_bytes());
            InstallArgs {
                owner,
                factory,
                version: "1.0.0".into(),
                app_arg: None,
            }
            .encode()
        };
        emu.install_canister(id, wasm.clone(), arg, None);
        ids.push(id);
    }
    let install = t.elapsed();
    let private: usize = ids.iter().map(|id| emu.private_heap_bytes(*id)).sum();
    println!(
        "install: {:.2} s ({:.0} µs per canister); VmRSS {:.0} MiB, VmHWM {:.0} MiB; private heap pages {:.1} MiB ({:.1} KiB per canister)",
        install.as_secs_f64(),
        install.as_micros() as f64 / n as f64,
        status_mib("VmRSS:"),
        status_mib("VmHWM:"),
        private as f64 / (1 << 20) as f64,
        private as f64 / 1024.0 / n as f64,
    );

    // One ingress message per canister (`version` called as an update, i.e. a
    // replicated query), all delivered in one round.
    let msgs: Vec<_> = ids
        .iter()
        .map(|id| {
            emu.submit_call(
                *id,
                Principal::anonymous(),
                "version",
                candid::encode_args(()).unwrap(),
            )
            .unwrap()
        })
        .collect();
    let t = Instant::now();
    emu.tick();
    let round = t.elapsed();
    let done = msgs
        .iter()
        .filter(|m| matches!(emu.ingress_status(**m), Some(Ok(_))))
        .count();
    assert_eq!(done as u64, n, "every message completed in the round");
    let stats = emu.instruction_stats(ids[0]);
    println!(
        "round: {:.2} s for {n} messages ({:.0} µs per message); {} instructions per message; VmRSS {:.0} MiB, VmHWM {:.0} MiB",
        round.as_secs_f64(),
        round.as_micros() as f64 / n as f64,
        stats.last,
        status_mib("VmRSS:"),
        status_mib("VmHWM:"),
    );
    println!("install instructions (init): {}", stats.last_install);
    let private: usize = ids.iter().map(|id| emu.private_heap_bytes(*id)).sum();
    println!(
        "private heap pages after the round: {:.1} MiB",
        private as f64 / (1 << 20) as f64
    );
    let t = Instant::now();
    emu.tick();
    println!(
        "empty round with {n} canisters: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
}
