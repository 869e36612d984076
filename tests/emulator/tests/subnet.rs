//! The subnet capacity model with the replica's numbers (`SubnetConfig::application`):
//! round budgets for management work, compilation costs, long installs, the
//! install rate limit, the stop timeout and the canister limit; several
//! subnets in one emulator in `subnet/multi.rs`.
//! Every test's name contains `subnet`: `cargo test -p ic-emulator subnet`.

mod common;
#[path = "subnet/multi.rs"]
mod multi;

use candid::Encode;
use common::{canister, CALLEE};
use ic_emulator::management_types::{
    CanisterIdRecord, CanisterInstallMode, InstallCodeArgs, TakeCanisterSnapshotArgs,
};
use ic_emulator::{Emulator, ErrorCode, Fault, MessageId, Principal, SubnetConfig};
use std::time::Duration;

const MGMT: Principal = Principal::management_canister();

/// A module with about `wasm_instructions` instructions (in functions of
/// 50,000 `nop`s), distinct per `tag`: its compilation costs
/// 6,000 × that many instructions the first time the subnet sees it.
fn module_of_size(wasm_instructions: usize, tag: u8) -> Vec<u8> {
    let mut body = String::from(CALLEE);
    body.push_str(&format!("(global $tag i32 (i32.const {tag}))\n"));
    let mut left = wasm_instructions;
    while left > 0 {
        let n = left.min(50_000);
        body.push_str("(func ");
        body.push_str(&"nop ".repeat(n));
        body.push_str(")\n");
        left -= n;
    }
    canister(&body)
}

fn install_arg(canister_id: Principal, mode: CanisterInstallMode, wasm: &[u8]) -> Vec<u8> {
    Encode!(&InstallCodeArgs {
        mode,
        canister_id,
        wasm_module: wasm.to_vec(),
        arg: vec![],
        sender_canister_version: None,
    })
    .unwrap()
}

fn submit(emu: &Emulator, method: &str, arg: Vec<u8>) -> MessageId {
    emu.submit_call(MGMT, Principal::anonymous(), method, arg)
        .expect("submitted")
}

/// Runs rounds until every call completed; the round each completed in.
fn completion_rounds(emu: &Emulator, calls: &[MessageId]) -> Vec<u64> {
    let mut done = vec![None; calls.len()];
    for _ in 0..100 {
        emu.tick();
        for (i, c) in calls.iter().enumerate() {
            if done[i].is_none() && emu.ingress_status(*c).is_some() {
                done[i] = Some(emu.rounds());
            }
        }
        if done.iter().all(Option::is_some) {
            return done.into_iter().map(|r| r.unwrap()).collect();
        }
    }
    panic!("calls did not complete in 100 rounds: {done:?}");
}

fn snapshot_arg(canister_id: Principal) -> Vec<u8> {
    Encode!(&TakeCanisterSnapshotArgs {
        canister_id,
        replace_snapshot: None,
        uninstall_code: None,
        sender_canister_version: None,
    })
    .unwrap()
}

fn small_canisters(emu: &Emulator, n: usize) -> Vec<Principal> {
    (0..n)
        .map(|_| {
            let id = emu.create_canister();
            emu.install_canister(id, canister(CALLEE), vec![], None);
            id
        })
        .collect()
}

#[test]
fn subnet_three_snapshots_queued_complete_in_three_different_rounds() {
    let emu = Emulator::new();
    let ids = small_canisters(&emu, 3);
    emu.tick();
    let calls: Vec<_> = ids
        .iter()
        .map(|id| submit(&emu, "take_canister_snapshot", snapshot_arg(*id)))
        .collect();
    let rounds = completion_rounds(&emu, &calls);
    // 2 B each against a 437.5 M budget: one per round, in order.
    assert_eq!(rounds, vec![rounds[0], rounds[0] + 1, rounds[0] + 2]);
    for r in &calls {
        emu.ingress_status(*r).unwrap().expect("snapshot taken");
    }
    let usage = emu.subnet_round_usage();
    for (round, id) in rounds.iter().zip(&ids) {
        let u = usage.iter().find(|u| u.round == *round).expect("recorded");
        assert_eq!(u.subnet_budget, 437_500_000);
        assert_eq!(u.subnet_work.len(), 1, "one snapshot in round {round}");
        assert_eq!(u.subnet_work[0].method, "take_canister_snapshot");
        assert_eq!(u.subnet_work[0].canister, Some(*id));
        assert_eq!(u.subnet_work[0].instructions, 2_000_000_000);
    }
    let first = usage.iter().find(|u| u.round == rounds[0]).unwrap();
    assert_eq!(
        first.pending_management_calls, 2,
        "two waited after the first round"
    );
}

#[test]
fn subnet_unlimited_runs_every_snapshot_in_one_round() {
    // The old world, asked for by name: everything in the round it arrives.
    let emu = Emulator::with_subnet_config(SubnetConfig::unlimited());
    let ids = small_canisters(&emu, 3);
    let calls: Vec<_> = ids
        .iter()
        .map(|id| submit(&emu, "take_canister_snapshot", snapshot_arg(*id)))
        .collect();
    let rounds = completion_rounds(&emu, &calls);
    assert!(rounds.iter().all(|r| *r == rounds[0]), "{rounds:?}");
    let usage = emu.subnet_round_usage();
    let u = usage.iter().find(|u| u.round == rounds[0]).unwrap();
    assert_eq!(u.subnet_instructions, 6_000_000_000, "costs still counted");
}

#[test]
fn subnet_first_install_of_a_new_module_takes_the_round_then_many_per_round() {
    let emu = Emulator::new();
    // 80,000 instructions × 6,000 = 480 M > 437.5 M: the first install
    // overshoots the budget; later ones count 1/100 of it (4.8 M).
    let wasm = module_of_size(80_000, 1);
    let ids: Vec<_> = (0..20).map(|_| emu.create_canister()).collect();
    emu.tick();
    let calls: Vec<_> = ids
        .iter()
        .map(|id| {
            submit(
                &emu,
                "install_code",
                install_arg(*id, CanisterInstallMode::Install, &wasm),
            )
        })
        .collect();
    let rounds = completion_rounds(&emu, &calls);
    for c in &calls {
        emu.ingress_status(*c).unwrap().expect("installed");
    }
    assert!(
        rounds[1..].iter().all(|r| *r == rounds[0] + 1),
        "{rounds:?}"
    );
    let usage = emu.subnet_round_usage();
    let first = usage.iter().find(|u| u.round == rounds[0]).unwrap();
    assert_eq!(first.subnet_work.len(), 1);
    assert!(first.subnet_work[0].instructions >= 480_000_000);
    let second = usage.iter().find(|u| u.round == rounds[0] + 1).unwrap();
    assert_eq!(second.subnet_work.len(), 19);
    assert!(second
        .subnet_work
        .iter()
        .all(|w| w.instructions < 10_000_000));
}

#[test]
fn subnet_a_long_install_holds_back_the_next_install() {
    let emu = Emulator::new();
    // 400,000 instructions × 6,000 = 2.4 B: more than one 2 B slice, so the
    // install runs over two rounds and no other install starts meanwhile.
    let wasm = module_of_size(400_000, 2);
    let a = emu.create_canister();
    let b = emu.create_canister();
    emu.tick();
    let first = submit(
        &emu,
        "install_code",
        install_arg(a, CanisterInstallMode::Install, &wasm),
    );
    let second = submit(
        &emu,
        "install_code",
        install_arg(b, CanisterInstallMode::Install, &wasm),
    );
    emu.tick();
    assert!(
        emu.ingress_status(first).is_none(),
        "still running its second slice"
    );
    assert!(emu.ingress_status(second).is_none(), "held back");
    assert_eq!(emu.pending_management_calls(), 2);
    assert!(emu.canister_status(b, None).unwrap().module_hash.is_none());
    let rounds = completion_rounds(&emu, &[first, second]);
    assert!(rounds[1] >= rounds[0], "{rounds:?}");
    emu.ingress_status(first).unwrap().expect("installed");
    emu.ingress_status(second).unwrap().expect("installed");
    let continued = emu
        .subnet_round_usage()
        .into_iter()
        .flat_map(|u| u.subnet_work)
        .filter(|w| w.method == "install_code (continued)")
        .count();
    assert_eq!(continued, 1);
}

#[test]
fn subnet_install_rate_limit_rejects_a_second_install_in_the_same_round() {
    let emu = Emulator::new();
    let id = emu.create_canister();
    emu.tick();
    let wasm = canister(CALLEE);
    let install = submit(
        &emu,
        "install_code",
        install_arg(id, CanisterInstallMode::Install, &wasm),
    );
    let again = submit(
        &emu,
        "install_code",
        install_arg(id, CanisterInstallMode::Reinstall, &wasm),
    );
    emu.tick();
    emu.ingress_status(install).unwrap().expect("installed");
    let e = emu.ingress_status(again).unwrap().unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterInstallCodeRateLimited);
    // The debit (under 2 B) has drained at the end of the round.
    let later = submit(
        &emu,
        "install_code",
        install_arg(id, CanisterInstallMode::Reinstall, &wasm),
    );
    emu.tick();
    emu.ingress_status(later)
        .unwrap()
        .expect("reinstalled a round later");
}

#[test]
fn subnet_stop_times_out_after_five_minutes_of_open_call_contexts() {
    let emu = Emulator::new();
    let [id] = small_canisters(&emu, 1)[..] else {
        unreachable!()
    };
    emu.inject_fault(id, Fault::NeverStop).unwrap();
    let stop = submit(
        &emu,
        "stop_canister",
        Encode!(&CanisterIdRecord { canister_id: id }).unwrap(),
    );
    let start = emu.get_time();
    let mut seconds = 0;
    let result = loop {
        emu.advance_time(Duration::from_secs(1));
        emu.tick();
        seconds += 1;
        if let Some(r) = emu.ingress_status(stop) {
            break r;
        }
        assert!(seconds < 400, "the stop never timed out");
    };
    let waited = emu.get_time().as_nanos_since_unix_epoch() - start.as_nanos_since_unix_epoch();
    assert!(
        waited >= 300_000_000_000,
        "not before 5 minutes ({waited} ns)"
    );
    assert!(
        waited < 302_000_000_000,
        "in the round the 5 minutes are up ({waited} ns)"
    );
    assert_eq!(
        result.unwrap_err().error_code,
        ErrorCode::StopCanisterRequestTimeout
    );
    let intervals = emu.stopped_intervals(id);
    assert_eq!(intervals.len(), 1);
    assert_eq!(intervals[0].stopped_round, None, "never stopped");
    assert_eq!(intervals[0].running_again_round, None);
}

#[test]
fn subnet_at_its_canister_limit_refuses_create_canister() {
    // The replica's rule with a lowered number: 100,000 canisters would take
    // this test minutes to create.
    let emu = Emulator::with_subnet_config(SubnetConfig {
        max_canisters: 3,
        ..SubnetConfig::application()
    });
    assert_eq!(SubnetConfig::application().max_canisters, 100_000);
    for _ in 0..3 {
        emu.try_create_canister(None, None, None, None)
            .expect("room");
    }
    let e = emu.try_create_canister(None, None, None, None).unwrap_err();
    assert_eq!(e.error_code, ErrorCode::MaxNumberOfCanistersReached);
}

#[test]
fn subnet_records_every_interval_a_canister_spent_stopped() {
    let emu = Emulator::new();
    let [id] = small_canisters(&emu, 1)[..] else {
        unreachable!()
    };
    emu.stop_canister(id, None).unwrap();
    let stopped_at = emu.rounds();
    emu.tick_n(5);
    emu.start_canister(id, None).unwrap();
    let intervals = emu.stopped_intervals(id);
    assert_eq!(intervals.len(), 1);
    let i = &intervals[0];
    assert_eq!(i.stopped_round, Some(stopped_at));
    assert_eq!(i.running_again_round, Some(stopped_at + 5));
    assert_eq!(
        i.rounds_down(emu.rounds()),
        5 + stopped_at - i.stop_requested_round
    );
}

#[test]
fn subnet_queued_management_work_survives_save_and_load() {
    let emu = Emulator::new();
    let ids = small_canisters(&emu, 3);
    emu.tick();
    let calls: Vec<_> = ids
        .iter()
        .map(|id| submit(&emu, "take_canister_snapshot", snapshot_arg(*id)))
        .collect();
    emu.tick();
    assert_eq!(emu.pending_management_calls(), 2);
    let dir = std::env::temp_dir().join(format!("ic-emulator-subnet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    emu.save_state(&dir).unwrap();
    let loaded = Emulator::load_state(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(loaded.pending_management_calls(), 2);
    assert_eq!(loaded.subnet_round_usage(), emu.subnet_round_usage());
    let rounds = completion_rounds(&loaded, &calls[1..]);
    assert_eq!(rounds, vec![rounds[0], rounds[0] + 1]);
}

#[test]
fn subnet_a_neighbours_call_is_not_stuck_behind_another_senders_hundred() {
    // The replica serves the subnet's queues round-robin across senders
    // (`drain_subnet_queues`), not in one arrival order.
    let emu = Emulator::new();
    let ids = small_canisters(&emu, 100);
    let neighbour = Principal::self_authenticating(b"another app's controller");
    let theirs = emu.create_canister_with_settings(Some(neighbour), None);
    emu.install_canister(theirs, canister(CALLEE), vec![], Some(neighbour));
    emu.tick();
    let ours: Vec<_> = ids
        .iter()
        .map(|id| submit(&emu, "take_canister_snapshot", snapshot_arg(*id)))
        .collect();
    let their_call = emu
        .submit_call(
            MGMT,
            neighbour,
            "take_canister_snapshot",
            snapshot_arg(theirs),
        )
        .expect("submitted");
    let rounds = completion_rounds(&emu, &[ours[0], their_call]);
    // One 2 B snapshot a round: our first (it arrived alone), our second
    // (our turn came first), then theirs; not behind our hundred.
    assert_eq!(rounds[1], rounds[0] + 2, "{rounds:?}");
    emu.ingress_status(their_call)
        .unwrap()
        .expect("snapshot taken");
    let waiting = emu.pending_management_calls();
    assert!(waiting >= 96, "ours still wait their turns: {waiting}");
}
