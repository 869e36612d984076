//! The guest library's `request_upgrade` (through our user canister, which
//! uses it as any app would) is one-way by construction: while the factory
//! holds the request without answering, the user canister has no call
//! context left open and stops at once, as the factory's upgrade needs.

mod common;

use common::*;
use factory_guest::{InstallArgs, REQUEST_UPGRADE_METHOD};
use ic_emulator::{Emulator, Principal};

/// A factory that takes the request and never answers it; `requests`
/// counts the requests that arrived.
fn silent_factory() -> String {
    format!(
        r#"
  (func (export "canister_update {REQUEST_UPGRADE_METHOD}")
    (global.set $counter (i64.add (global.get $counter) (i64.const 1))))
  (func (export "canister_query requests") (call $reply_i64 (global.get $counter)))
"#
    )
}

#[test]
fn guest_request_upgrade_registers_no_callback() {
    let emu = Emulator::new();
    let factory = install(&emu, &silent_factory());
    let owner = Principal::self_authenticating(b"owner");
    let user_canister = emu.create_canister();
    let arg = InstallArgs {
        owner,
        factory,
        version: "1.0.0".into(),
        app_arg: None,
    };
    emu.install_canister(
        user_canister,
        canister_artifacts::artifacts().user_canister.wasm_gz.clone(),
        arg.encode(),
        None,
    );

    let reply: (Result<(), candid::Reserved>,) = emu
        .update_candid_as(user_canister, owner, "request_upgrade", (None::<String>,))
        .unwrap();
    assert!(reply.0.is_ok(), "the request was sent");
    emu.tick_n(5);
    assert_eq!(
        i64_of(&query(&emu, factory, "requests", vec![]).unwrap()),
        1,
        "the factory got it"
    );
    assert_eq!(emu.open_call_contexts(factory), 1, "and holds it unanswered");
    assert_eq!(
        emu.open_call_contexts(user_canister),
        0,
        "the user canister waits for nothing"
    );
    emu.stop_canister(user_canister, None)
        .expect("a canister with no open callback stops");
}
