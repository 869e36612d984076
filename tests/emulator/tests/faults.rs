//! Fault injection (issue item 5). NeverStop, DelayResponses, DrainCycles and
//! TrapNextPostUpgrade are also exercised by the semantics and management tests.

mod common;
use common::*;
use ic_emulator::management_types::ChangeDetails;
use ic_emulator::{Emulator, ErrorCode, Fault, Principal, RejectCode};

#[test]
fn trap_next_message_fails_one_message_and_rolls_it_back() {
    let emu = Emulator::new();
    let id = install(&emu, CALLEE);
    update(&emu, id, "inc", vec![]).unwrap();
    emu.inject_fault(id, Fault::TrapNextMessage).unwrap();
    let e = update(&emu, id, "inc", vec![]).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::CanisterError, ErrorCode::CanisterTrapped)
    );
    assert!(e.reject_message.contains("injected fault"), "{e}");
    assert_eq!(i64_of(&query(&emu, id, "get", vec![]).unwrap()), 1);
    assert_eq!(
        i64_of(&update(&emu, id, "inc", vec![]).unwrap()),
        2,
        "only one message is affected"
    );
}

#[test]
fn controllers_changed_behind_a_canisters_back() {
    let emu = Emulator::new();
    let proxy = install(&emu, PROXY);
    let target = emu.create_canister_with_settings(None, None);
    emu.set_controllers(target, None, vec![proxy]).unwrap();
    let recovery = Principal::self_authenticating([7; 32]);
    emu.inject_fault(target, Fault::SetControllers(vec![recovery]))
        .unwrap();
    assert_eq!(emu.get_controllers(target), vec![recovery]);
    let arg = candid::encode_one(ic_emulator::management_types::CanisterIdRecord {
        canister_id: target,
    })
    .unwrap();
    let (code, msg) = via_proxy(&emu, proxy, "stop_canister", arg, 0).unwrap_err();
    assert_eq!(code, 5, "the former controller is refused: {msg}");
    let (_, history) = emu.canister_history(target).unwrap();
    assert!(matches!(
        history.last().unwrap().details,
        Some(ChangeDetails::ControllersChange(_))
    ));
}

#[test]
fn drained_cycles_freeze_a_canister_and_make_its_calls_fail() {
    let emu = Emulator::new();
    let id = install(&emu, CALLEE);
    emu.inject_fault(id, Fault::DrainCycles).unwrap();
    assert_eq!(emu.cycle_balance(id), 0);
    let e = update(&emu, id, "inc", vec![]).unwrap_err();
    assert_eq!(
        (e.reject_code, e.error_code),
        (RejectCode::SysTransient, ErrorCode::CanisterOutOfCycles)
    );
    emu.add_cycles(id, 1_000_000_000_000);
    assert_eq!(i64_of(&update(&emu, id, "inc", vec![]).unwrap()), 1);
}

#[test]
fn delayed_responses_arrive_after_the_given_rounds() {
    let emu = Emulator::new();
    let proxy = install(&emu, PROXY);
    let callee = install(&emu, CALLEE);
    emu.inject_fault(proxy, Fault::DelayResponses(10)).unwrap();
    let id = emu
        .submit_call(
            proxy,
            Principal::anonymous(),
            "call",
            call_arg(callee, "inc", &[]),
        )
        .unwrap();
    let start = emu.rounds();
    assert_eq!(i64_of(&emu.await_call(id).unwrap()), 1);
    assert!(
        emu.rounds() - start >= 12,
        "ingress, request, then 10 rounds of delay"
    );
}

#[test]
fn faults_on_unknown_canisters_are_typed_errors() {
    let emu = Emulator::new();
    let e = emu
        .inject_fault(
            ic_emulator::ids::canister_id_from_u64(77),
            Fault::DrainCycles,
        )
        .unwrap_err();
    assert_eq!(e.error_code, ErrorCode::CanisterNotFound);
}
