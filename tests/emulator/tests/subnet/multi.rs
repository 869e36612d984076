//! Several subnets in one emulator: id ranges, creation on a chosen subnet
//! (directly, from a canister, through the CMC double), cross-subnet latency
//! and payload limits, independent budgets, and save/load.
//! Every test's name contains `subnet`: `cargo test -p ic-emulator subnet`.
//! (A module of `tests/subnet.rs`, so that it links no test binary of its own.)

use super::common::{self, call_arg, canister, via_proxy, CALLEE, PROXY};
use candid::{Decode, Encode, Nat};
use ic_emulator::doubles::cmc::{
    CreateCanisterArg, CreateCanisterError, CreateCanisterResult, SubnetFilter, SubnetSelection,
    CMC_ID,
};
use ic_emulator::management_types::{
    CanisterIdRecord, CreateCanisterArgs, TakeCanisterSnapshotArgs,
};
use ic_emulator::{Emulator, MessageId, Principal, RejectCode, SubnetId};

const MGMT: Principal = Principal::management_canister();
const MIB: u32 = 1 << 20;

/// A proxy that can also send a large argument it makes itself (an
/// ingress message cannot carry more than 2 MiB): `send_big` takes a
/// `call_arg` whose payload is the size (4 LE bytes) to send from zeroed
/// memory; it replies [0] on a reply, else [reject code] ++ message.
const BIG_SENDER: &str = r#"
  (elem (i32.const 3) $big_reply)
  (func $big_reply (param i32)
    (i32.store8 (i32.const 0x1000) (i32.const 0))
    (call $reply_append (i32.const 0x1000) (i32.const 1))
    (call $msg_reply))
  (func (export "canister_update send_big")
    (local $clen i32) (local $m i32) (local $mlen i32) (local $size i32)
    (drop (memory.grow (i32.const 96)))
    (drop (call $arg))
    (local.set $clen (i32.load8_u (i32.const 0x2000)))
    (local.set $m (i32.add (i32.const 0x2001) (local.get $clen)))
    (local.set $mlen (i32.load8_u (local.get $m)))
    (local.set $size (i32.load (i32.add (i32.add (local.get $m) (i32.const 1)) (local.get $mlen))))
    (call $call_new (i32.const 0x2001) (local.get $clen) (i32.add (local.get $m) (i32.const 1)) (local.get $mlen)
      (i32.const 3) (i32.const 0) (i32.const 2) (i32.const 0))
    (call $call_data_append (i32.const 0x100000) (local.get $size))
    (if (call $call_perform) (then (unreachable))))
"#;

fn three_subnets() -> (Emulator, Vec<SubnetId>) {
    let emu = Emulator::builder().with_application_subnets(3).build();
    let subnets = emu.subnets();
    (emu, subnets)
}

fn installed_on(emu: &Emulator, subnet: SubnetId, body: &str) -> Principal {
    let id = emu.create_canister_on_subnet(None, None, subnet);
    emu.install_canister(id, canister(body), vec![], None);
    id
}

fn proxy_body() -> String {
    format!("{PROXY}{BIG_SENDER}")
}

fn in_range(emu: &Emulator, subnet: SubnetId, id: Principal) -> bool {
    let (lo, hi) = emu.subnet_canister_range(subnet).expect("a subnet");
    (lo..=hi).contains(&id)
}

/// Rounds from submission until the ingress message completes.
fn rounds_to_complete(emu: &Emulator, id: MessageId) -> u64 {
    let start = emu.rounds();
    for _ in 0..100 {
        emu.tick();
        if emu.ingress_status(id).is_some() {
            return emu.rounds() - start;
        }
    }
    panic!("the call did not complete in 100 rounds");
}

#[test]
fn subnet_default_emulator_has_one_subnet_and_the_old_ids() {
    let emu = Emulator::new();
    assert_eq!(emu.subnets().len(), 1);
    let id = emu.create_canister();
    assert_eq!(id.to_text(), "rwlgt-iiaaa-aaaaa-aaaaa-cai");
    assert_eq!(emu.get_subnet(id), Some(emu.subnets()[0]));
}

#[test]
fn subnet_create_on_a_chosen_subnet_allocates_from_its_range() {
    let (emu, subnets) = three_subnets();
    assert_eq!(subnets.len(), 3);
    for (i, s) in subnets.iter().enumerate() {
        let (lo, hi) = emu.subnet_canister_range(*s).unwrap();
        let a = emu.create_canister_on_subnet(None, None, *s);
        let b = emu.create_canister_on_subnet(None, None, *s);
        assert_eq!(a, lo, "subnet {i}'s first canister is its range's first id");
        assert!(in_range(&emu, *s, b) && a != b && b < hi);
        assert_eq!(emu.get_subnet(a), Some(*s));
        assert_eq!(emu.get_subnet(b), Some(*s));
    }
    // The default create stays on the first subnet.
    let c = emu.create_canister();
    assert_eq!(emu.get_subnet(c), Some(subnets[0]));
    // Ranges are contiguous and disjoint, 2^20 ids each.
    let (_, hi0) = emu.subnet_canister_range(subnets[0]).unwrap();
    let (lo1, _) = emu.subnet_canister_range(subnets[1]).unwrap();
    assert!(hi0 < lo1);
    let unknown = Principal::self_authenticating(b"no such subnet");
    assert!(emu
        .try_create_canister_on_subnet(None, None, None, unknown)
        .is_err());
    assert_eq!(emu.get_subnet(Principal::anonymous()), None);
}

#[test]
fn subnet_create_canister_from_a_canister_creates_on_the_callers_subnet() {
    let (emu, subnets) = three_subnets();
    let proxy = installed_on(&emu, subnets[2], PROXY);
    let arg = Encode!(&None::<CreateCanisterArgs>).unwrap();
    let reply = via_proxy(&emu, proxy, "create_canister", arg, 1_000_000_000_000).expect("created");
    let id = Decode!(&reply, CanisterIdRecord).unwrap().canister_id;
    assert_eq!(emu.get_subnet(id), Some(subnets[2]));
    assert!(in_range(&emu, subnets[2], id));
    assert_eq!(emu.get_controllers(id), vec![proxy]);
}

#[test]
fn subnet_cross_subnet_call_takes_longer_than_a_same_subnet_call() {
    let (emu, subnets) = three_subnets();
    let proxy = installed_on(&emu, subnets[0], &proxy_body());
    let local = installed_on(&emu, subnets[0], CALLEE);
    let remote = installed_on(&emu, subnets[1], CALLEE);
    let time = |callee| {
        let m = emu
            .submit_call(
                proxy,
                Principal::anonymous(),
                "call",
                call_arg(callee, "inc", &[]),
            )
            .unwrap();
        let rounds = rounds_to_complete(&emu, m);
        emu.ingress_status(m).unwrap().expect("replied");
        rounds
    };
    let sent = emu.xnet_requests();
    let same = time(local);
    assert_eq!(
        emu.xnet_requests(),
        sent,
        "a same-subnet call is not counted"
    );
    let cross = time(remote);
    assert_eq!(emu.xnet_requests(), sent + 1, "one request crossed");
    // One more round for the request's hop and one for the response's.
    assert_eq!(
        cross,
        same + 2,
        "same-subnet {same} rounds, cross-subnet {cross}"
    );
    // Configurable: three extra rounds a hop.
    emu.set_xnet_config(ic_emulator::XNetConfig {
        extra_rounds_per_hop: 3,
    });
    assert_eq!(time(remote), same + 6);
    assert_eq!(time(local), same);
}

#[test]
fn subnet_3_mib_cross_subnet_argument_is_refused_but_allowed_on_the_same_subnet() {
    let (emu, subnets) = three_subnets();
    let sender = installed_on(&emu, subnets[0], &proxy_body());
    let local = installed_on(&emu, subnets[0], CALLEE);
    let remote = installed_on(&emu, subnets[1], CALLEE);
    let send = |callee, size: u32| {
        emu.update_call(
            sender,
            Principal::anonymous(),
            "send_big",
            call_arg(callee, "inc", &size.to_le_bytes()),
        )
        .expect("the sender replies")
    };
    // 3 MiB is within the 10 MiB same-subnet limit...
    assert_eq!(send(local, 3 * MIB), vec![0]);
    // ...and above the 2 MiB cross-subnet one: CANISTER_ERROR, the replica's message.
    let refused = send(remote, 3 * MIB);
    assert_eq!(refused[0], RejectCode::CanisterError as u8);
    let message = String::from_utf8_lossy(&refused[1..]).into_owned();
    assert!(
        message.contains("violated contract: attempted to send a message of size")
            && message.contains("exceeding the limit 2097152"),
        "{message}"
    );
    assert_eq!(
        common::i64_of(
            &emu.query_call(remote, Principal::anonymous(), "get", vec![])
                .unwrap()
        ),
        0,
        "the remote callee never ran"
    );
    // Just under 2 MiB (with the method name) crosses.
    assert_eq!(send(remote, 2 * MIB - 3), vec![0]);
}

fn cmc_create(
    emu: &Emulator,
    proxy: Principal,
    selection: Option<SubnetSelection>,
    cycles: u64,
) -> CreateCanisterResult {
    let arg = Encode!(&CreateCanisterArg {
        settings: None,
        subnet_type: None,
        subnet_selection: selection,
    })
    .unwrap();
    let mut payload = cycles.to_le_bytes().to_vec();
    payload.extend(call_arg(*CMC_ID, "create_canister", &arg));
    let reply = emu
        .update_call(proxy, Principal::anonymous(), "call_with_cycles", payload)
        .expect("the proxy replies");
    assert!(
        reply.starts_with(b"DIDL"),
        "the CMC double replied: {reply:?}"
    );
    Decode!(&reply, CreateCanisterResult).unwrap()
}

#[test]
fn subnet_cmc_double_creates_on_the_selected_subnet_against_attached_cycles() {
    let emu = Emulator::builder()
        .with_application_subnets(3)
        .with_cmc_double()
        .build();
    let subnets = emu.subnets();
    assert_eq!(CMC_ID.to_text(), "rkp4c-7iaaa-aaaaa-aaaca-cai");
    let proxy = installed_on(&emu, subnets[0], PROXY);
    let cycles = 2_000_000_000_000u64;
    let id = cmc_create(
        &emu,
        proxy,
        Some(SubnetSelection::Subnet { subnet: subnets[2] }),
        cycles,
    )
    .expect("created");
    assert_eq!(emu.get_subnet(id), Some(subnets[2]));
    assert!(in_range(&emu, subnets[2], id));
    assert_eq!(emu.get_controllers(id), vec![proxy]);
    assert_eq!(
        emu.cycle_balance(id),
        cycles as u128 - ic_emulator::costs::CREATE_CANISTER_FEE
    );
    // A filter without a subnet type picks one of the subnets.
    let any = cmc_create(
        &emu,
        proxy,
        Some(SubnetSelection::Filter(SubnetFilter { subnet_type: None })),
        cycles,
    )
    .expect("created");
    assert!(subnets.contains(&emu.get_subnet(any).unwrap()));
}

#[test]
fn subnet_cmc_double_refunds_when_creation_fails() {
    let emu = Emulator::builder()
        .with_application_subnets(2)
        .with_cmc_double()
        .build();
    let proxy = installed_on(&emu, emu.subnets()[1], PROXY);
    let before = emu.cycle_balance(proxy);
    let cycles = 1_000_000_000_000u64;
    let unknown = Principal::self_authenticating(b"no such subnet");
    let err = cmc_create(
        &emu,
        proxy,
        Some(SubnetSelection::Subnet { subnet: unknown }),
        cycles,
    )
    .unwrap_err();
    let CreateCanisterError::Refunded {
        refund_amount,
        create_error,
    } = err;
    assert_eq!(refund_amount, Nat::from(cycles - 100_000_000));
    assert!(create_error.contains("not authorized"), "{create_error}");
    let spent = before - emu.cycle_balance(proxy);
    assert!(
        (100_000_000..10_000_000_000).contains(&spent),
        "only the penalty and the call's fees are kept: {spent}"
    );
    // A typed subnet filter matches no emulated subnet.
    let typed = Some(SubnetSelection::Filter(SubnetFilter {
        subnet_type: Some("fiduciary".into()),
    }));
    assert!(cmc_create(&emu, proxy, typed, cycles).is_err());
    // Too few cycles for the creation fee.
    assert!(cmc_create(&emu, proxy, None, 1_000_000).is_err());
}

fn snapshot_of(emu: &Emulator, id: Principal) -> MessageId {
    let arg = Encode!(&TakeCanisterSnapshotArgs {
        canister_id: id,
        replace_snapshot: None,
        uninstall_code: None,
        sender_canister_version: None,
    })
    .unwrap();
    emu.submit_call(MGMT, Principal::anonymous(), "take_canister_snapshot", arg)
        .unwrap()
}

/// The round each call completed in.
fn completion_rounds(emu: &Emulator, calls: &[MessageId]) -> Vec<u64> {
    let mut done = vec![None; calls.len()];
    for _ in 0..50 {
        emu.tick();
        for (i, c) in calls.iter().enumerate() {
            if done[i].is_none() && emu.ingress_status(*c).is_some() {
                emu.ingress_status(*c).unwrap().expect("succeeded");
                done[i] = Some(emu.rounds());
            }
        }
        if done.iter().all(Option::is_some) {
            return done.into_iter().map(Option::unwrap).collect();
        }
    }
    panic!("not done: {done:?}");
}

#[test]
fn subnet_budgets_are_independent_a_snapshot_on_a_does_not_hold_back_b() {
    let (emu, subnets) = three_subnets();
    let a1 = installed_on(&emu, subnets[0], CALLEE);
    let a2 = installed_on(&emu, subnets[0], CALLEE);
    let b = installed_on(&emu, subnets[1], CALLEE);
    emu.tick();
    // Two on A: 2 B each against A's 437.5 M budget, one round apart.
    let on_a = completion_rounds(&emu, &[snapshot_of(&emu, a1), snapshot_of(&emu, a2)]);
    assert_eq!(on_a[1], on_a[0] + 1);
    // One on A and one on B: the same round.
    let split = completion_rounds(&emu, &[snapshot_of(&emu, a1), snapshot_of(&emu, b)]);
    assert_eq!(split[0], split[1], "B's snapshot does not wait for A's");
    let usage_b = emu.subnet_round_usage_of(subnets[1]);
    let round_b = usage_b
        .iter()
        .find(|u| u.round == split[1])
        .expect("recorded on B");
    assert_eq!(round_b.subnet_work.len(), 1);
    assert_eq!(round_b.subnet_work[0].canister, Some(b));
    assert!(emu
        .subnet_round_usage()
        .iter()
        .all(|u| u.subnet_work.iter().all(|w| w.canister != Some(b))));
}

#[test]
fn subnet_topology_survives_save_and_load_with_three_subnets() {
    let emu = Emulator::builder()
        .with_application_subnets(3)
        .with_cmc_double()
        .build();
    let subnets = emu.subnets();
    let proxy = installed_on(&emu, subnets[0], &proxy_body());
    let remote = installed_on(&emu, subnets[2], CALLEE);
    let on_b = emu.create_canister_on_subnet(None, None, subnets[1]);
    emu.set_xnet_config(ic_emulator::XNetConfig {
        extra_rounds_per_hop: 2,
    });
    // A snapshot still queued on subnet C when saved.
    let c2 = installed_on(&emu, subnets[2], CALLEE);
    emu.tick();
    let queued = [snapshot_of(&emu, remote), snapshot_of(&emu, c2)];
    emu.tick();
    assert_eq!(emu.pending_management_calls(), 1);
    let dir = std::env::temp_dir().join(format!("ic-emulator-subnets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    emu.save_state(&dir).unwrap();
    let loaded = Emulator::load_state(&dir).unwrap();
    assert_eq!(loaded.subnets(), subnets);
    for id in [proxy, remote, on_b, c2] {
        assert_eq!(loaded.get_subnet(id), emu.get_subnet(id));
    }
    assert_eq!(loaded.xnet_config().extra_rounds_per_hop, 2);
    assert_eq!(loaded.pending_management_calls(), 1);
    assert_eq!(
        loaded.subnet_round_usage_of(subnets[2]),
        emu.subnet_round_usage_of(subnets[2])
    );
    completion_rounds(&loaded, &queued[1..]);
    // Id allocation carries on in each range.
    let next_b = loaded.create_canister_on_subnet(None, None, subnets[1]);
    assert!(in_range(&loaded, subnets[1], next_b) && next_b > on_b);
    // Cross-subnet calls still take the configured extra rounds.
    let local = installed_on(&loaded, subnets[0], CALLEE);
    let m = loaded
        .submit_call(
            proxy,
            Principal::anonymous(),
            "call",
            call_arg(remote, "inc", &[]),
        )
        .unwrap();
    let cross = rounds_to_complete(&loaded, m);
    let m = loaded
        .submit_call(
            proxy,
            Principal::anonymous(),
            "call",
            call_arg(local, "inc", &[]),
        )
        .unwrap();
    assert_eq!(cross, rounds_to_complete(&loaded, m) + 4);
    // The CMC double is still installed.
    let arg = Encode!(&CreateCanisterArg::default()).unwrap();
    let r = loaded.update_call(*CMC_ID, Principal::anonymous(), "create_canister", arg);
    let reply = Decode!(&r.expect("the double answers"), CreateCanisterResult).unwrap();
    assert!(reply.is_err(), "ingress attaches no cycles");
    // Only now: a loaded emulator reads canisters' memory from `dir` lazily.
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn subnet_chunk_store_and_snapshot_source_must_be_on_the_targets_subnet() {
    let (emu, subnets) = three_subnets();
    let target = emu.create_canister_on_subnet(None, None, subnets[0]);
    let store_here = emu.create_canister_on_subnet(None, None, subnets[0]);
    let store_there = emu.create_canister_on_subnet(None, None, subnets[1]);
    let wasm = canister(CALLEE);
    let hash = ic_emulator::management_types::ChunkHash {
        hash: sha256(&wasm),
    };
    for store in [store_here, store_there] {
        emu.upload_chunk(store, None, wasm.clone())
            .expect("uploaded");
    }
    let install = |store| {
        emu.install_chunked_canister(
            target,
            None,
            ic_emulator::management_types::CanisterInstallMode::Install,
            store,
            vec![hash.hash.clone()],
            hash.hash.clone(),
            vec![],
        )
    };
    let err = install(store_there).expect_err("the store is on another subnet");
    assert_eq!(err.error_code, ic_emulator::ErrorCode::CanisterNotFound);
    install(store_here).expect("installed from a store on the same subnet");
    // A snapshot of a canister on another subnet cannot be loaded.
    let other = installed_on(&emu, subnets[1], CALLEE);
    let snapshot = emu.take_canister_snapshot(other, None, None).unwrap();
    let err = emu
        .load_canister_snapshot(target, None, snapshot.id)
        .expect_err("the source is on another subnet");
    assert_ne!(
        err.error_code,
        ic_emulator::ErrorCode::CanisterInvalidController
    );
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}
