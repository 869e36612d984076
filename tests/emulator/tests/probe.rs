//! An ordinary ic-cdk canister (ic-cdk 0.20, ic-cdk-timers 1, ic-stable-structures
//! 0.7, inter-canister calls) runs on the emulator unchanged.

use candid::Principal;
use ic_emulator::{Emulator, ErrorCode, RejectCode};
use std::time::Duration;

fn probe(emu: &Emulator) -> Principal {
    let id = emu.create_canister();
    emu.install_canister(
        id,
        canister_artifacts::artifacts().probe.wasm_gz.clone(),
        candid::encode_args(()).unwrap(),
        None,
    );
    id
}

fn get(emu: &Emulator, id: Principal, key: u64) -> Option<String> {
    emu.query_candid::<_, (Option<String>,)>(id, "get", (key,))
        .unwrap()
        .0
}

fn count(emu: &Emulator, id: Principal, method: &str) -> u64 {
    emu.query_candid::<_, (u64,)>(id, method, ()).unwrap().0
}

#[test]
fn stable_structures_survive_an_upgrade_and_the_heap_does_not() {
    let emu = Emulator::new();
    let id = probe(&emu);
    for k in 0..3u64 {
        let (prev,): (Option<String>,) =
            emu.update_candid(id, "put", (k, format!("v{k}"))).unwrap();
        assert_eq!(prev, None);
    }
    assert_eq!(count(&emu, id, "heap_counter"), 3);
    let wasm = canister_artifacts::artifacts().probe.wasm_gz.clone();
    emu.upgrade_canister(id, wasm, candid::encode_args(()).unwrap(), None)
        .unwrap();
    assert_eq!(count(&emu, id, "len"), 3);
    assert_eq!(get(&emu, id, 2), Some("v2".into()));
    assert_eq!(
        count(&emu, id, "heap_counter"),
        0,
        "thread_local heap state is reset by the upgrade"
    );
}

#[test]
fn interval_timers_run_through_ic_cdk_timers_self_calls() {
    let emu = Emulator::new();
    let id = probe(&emu);
    emu.tick_n(5);
    assert_eq!(count(&emu, id, "ticks"), 0);
    for expected in 1..=3 {
        emu.advance_time(Duration::from_secs(10));
        emu.tick_n(4); // timer task → self-call → its response
        assert_eq!(count(&emu, id, "ticks"), expected);
    }
    assert_eq!(
        emu.open_call_contexts(id),
        0,
        "every timer call context closed"
    );
    // post_upgrade re-arms the interval.
    let wasm = canister_artifacts::artifacts().probe.wasm_gz.clone();
    emu.upgrade_canister(id, wasm, candid::encode_args(()).unwrap(), None)
        .unwrap();
    emu.advance_time(Duration::from_secs(10));
    emu.tick_n(4);
    assert_eq!(count(&emu, id, "ticks"), 4);
}

#[test]
fn awaited_inter_canister_calls_and_rollback_after_an_await() {
    let emu = Emulator::new();
    let a = probe(&emu);
    let b = probe(&emu);
    let (r,): (Result<Option<String>, String>,) = emu
        .update_candid(a, "put_on", (b, 5u64, "x".to_string()))
        .unwrap();
    assert_eq!(r, Ok(None));
    assert_eq!(get(&emu, b, 5), Some("x".into()));
    let e = emu
        .update_candid::<_, ()>(a, "put_then_trap", (b, 10u64))
        .unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::CanisterError, ErrorCode::CanisterCalledTrap)
    );
    assert!(e.reject_message.contains("trap after the await"), "{e}");
    assert_eq!(
        get(&emu, a, 10),
        Some("before await".into()),
        "committed at the await"
    );
    assert_eq!(get(&emu, a, 11), None, "rolled back by the trap");
    assert_eq!(get(&emu, b, 10), Some("remote".into()));
}

#[test]
fn a_timer_can_make_calls() {
    let emu = Emulator::new();
    let a = probe(&emu);
    let b = probe(&emu);
    let () = emu.update_candid(a, "schedule_put_on", (b, 5u64)).unwrap();
    emu.advance_time(Duration::from_secs(5));
    emu.tick_n(8);
    assert_eq!(get(&emu, b, 1_000_000), Some("from a timer".into()));
    assert_eq!(get(&emu, a, 1_000_000), Some("ok".into()));
}

#[test]
fn raw_rand_through_the_cdk() {
    let emu = Emulator::new();
    let id = probe(&emu);
    let (bytes,): (Vec<u8>,) = emu.update_candid(id, "random", ()).unwrap();
    assert_eq!(bytes.len(), 32);
}

#[test]
fn instruction_counts_of_a_real_canister_are_deterministic() {
    let run = || {
        let emu = Emulator::new();
        let id = probe(&emu);
        let _: (Option<String>,) = emu
            .update_candid(id, "put", (1u64, "a".to_string()))
            .unwrap();
        emu.instruction_stats(id)
    };
    let first = run();
    assert!(first.last > 1_000, "{first:?}");
    assert!(first.last_install > 1_000, "{first:?}");
    assert_eq!(first, run());
}
