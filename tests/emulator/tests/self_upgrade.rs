//! The forum thread's case: a canister awaiting its own upgrade has its
//! callback run by the *new* module; a one-way call, or stopping before the
//! upgrade, avoids that.

mod common;
use candid::Encode;
use common::*;
use ic_emulator::management_types::{CanisterInstallMode, CanisterStatusType, InstallCodeArgs};
use ic_emulator::{Emulator, Fault, Principal};

fn upgrade_args(canister_id: Principal, wasm: Vec<u8>) -> Vec<u8> {
    Encode!(&InstallCodeArgs {
        mode: CanisterInstallMode::Upgrade(None),
        canister_id,
        wasm_module: wasm,
        arg: vec![],
        sender_canister_version: None,
    })
    .unwrap()
}

/// A canister running `versioned(1)` that controls itself.
fn self_controlled(emu: &Emulator) -> Principal {
    let id = emu.create_canister();
    emu.install_canister(id, versioned(1), vec![], None);
    emu.set_controllers(id, None, vec![Principal::anonymous(), id])
        .unwrap();
    id
}

fn marker(emu: &Emulator, id: Principal) -> i64 {
    i64_of(&query(emu, id, "marker", vec![]).unwrap())
}

#[test]
fn awaiting_its_own_upgrade_runs_the_callback_in_the_new_module() {
    let emu = Emulator::new();
    let id = self_controlled(&emu);
    // v1 awaits install_code(upgrade to v2) with callback table[1]; the reply
    // comes back after the upgrade, so v2's table[1] handles it.
    let reply = update(&emu, id, "upgrade_self", upgrade_args(id, versioned(2))).unwrap();
    assert_eq!(
        i64_of(&reply),
        2,
        "the reply was produced by the new module's function"
    );
    assert_eq!(marker(&emu, id), 2);
    assert_eq!(i64_of(&query(&emu, id, "version", vec![]).unwrap()), 2);
}

#[test]
fn a_one_way_upgrade_request_runs_no_callback() {
    let emu = Emulator::new();
    let id = self_controlled(&emu);
    update(
        &emu,
        id,
        "oneway_upgrade_self",
        upgrade_args(id, versioned(2)),
    )
    .unwrap();
    emu.tick_n(5);
    assert_eq!(
        i64_of(&query(&emu, id, "version", vec![]).unwrap()),
        2,
        "the upgrade happened"
    );
    assert_eq!(marker(&emu, id), 0, "no callback ran in either module");
    assert_eq!(emu.open_call_contexts(id), 0);
}

#[test]
fn stopping_before_the_upgrade_lets_old_callbacks_finish_in_the_old_module() {
    let emu = Emulator::new();
    let id = self_controlled(&emu);
    let other = install(&emu, CALLEE);
    // An outstanding call whose response is held back for a while.
    emu.inject_fault(id, Fault::DelayResponses(5)).unwrap();
    let pending = emu
        .submit_call(
            id,
            Principal::anonymous(),
            "call_other",
            call_arg(other, "inc", &[]),
        )
        .unwrap();
    emu.tick();
    // stop_canister runs rounds until the canister has no open call context:
    // the callback runs first, in the old module.
    emu.stop_canister(id, None).unwrap();
    assert_eq!(
        i64_of(&emu.await_call(pending).unwrap()),
        1,
        "answered by v1"
    );
    assert_eq!(
        emu.canister_status(id, None).unwrap().status,
        CanisterStatusType::Stopped
    );
    emu.upgrade_canister(id, versioned(2), vec![], None)
        .unwrap();
    emu.start_canister(id, None).unwrap();
    emu.tick_n(10);
    assert_eq!(marker(&emu, id), 1, "v2 never ran a callback meant for v1");
    assert_eq!(i64_of(&query(&emu, id, "version", vec![]).unwrap()), 2);
}

#[test]
fn upgrading_without_stopping_hands_old_callbacks_to_the_new_module() {
    let emu = Emulator::new();
    let id = self_controlled(&emu);
    let other = install(&emu, CALLEE);
    emu.inject_fault(id, Fault::DelayResponses(5)).unwrap();
    let pending = emu
        .submit_call(
            id,
            Principal::anonymous(),
            "call_other",
            call_arg(other, "inc", &[]),
        )
        .unwrap();
    emu.tick();
    emu.upgrade_canister(id, versioned(2), vec![], None)
        .unwrap();
    assert_eq!(
        i64_of(&emu.await_call(pending).unwrap()),
        2,
        "the call context survived; v2 ran v1's callback"
    );
    assert_eq!(marker(&emu, id), 2);
}
