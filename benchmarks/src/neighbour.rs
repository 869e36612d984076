//! Another app on the factory's subnet: one canister whose controller
//! upgrades and snapshots it in a loop (ingress to the management canister),
//! one call at a time, while the rollout runs. Its calls' latency in rounds
//! is what the factory's queue costs the neighbours.

use crate::fleet::tiny_module;
use candid::Principal;
use ic_emulator::management_types::{
    CanisterInstallMode, InstallCodeArgs, TakeCanisterSnapshotArgs,
};
use ic_emulator::{Emulator, MessageId};

pub struct Neighbour {
    controller: Principal,
    canister: Principal,
    /// The call outstanding: (id, round it was sent).
    pending: Option<(MessageId, u64)>,
    /// The call outstanding when a measurement started: not counted.
    unmeasured: Option<MessageId>,
    next_is_snapshot: bool,
    snapshot: Option<Vec<u8>>,
    /// Rounds each completed call took (sent → answered).
    pub latencies: Vec<u64>,
    pub failures: u64,
}

impl Neighbour {
    pub fn new(emu: &Emulator) -> Neighbour {
        let controller = Principal::self_authenticating(b"neighbour app's controller");
        let canister = emu.create_canister_with_settings(Some(controller), None);
        emu.add_cycles(canister, 100_000_000_000_000);
        emu.install_canister(canister, tiny_module("neighbour"), vec![], Some(controller));
        Neighbour {
            controller,
            canister,
            pending: None,
            unmeasured: None,
            next_is_snapshot: false,
            snapshot: None,
            latencies: Vec::new(),
            failures: 0,
        }
    }

    /// Before a round: record an answered call, send the next one.
    pub fn before_round(&mut self, emu: &Emulator) {
        if let Some((id, sent)) = self.pending {
            let Some(result) = emu.ingress_status(id) else {
                return;
            };
            if self.unmeasured.take() != Some(id) {
                self.latencies.push(emu.rounds() - sent);
            }
            match result {
                Ok(bytes) if !self.next_is_snapshot => {
                    // The snapshot just answered: keep its id to replace it.
                    self.snapshot =
                        candid::decode_one::<ic_emulator::management_types::Snapshot>(&bytes)
                            .ok()
                            .map(|s| s.id);
                }
                Ok(_) => {}
                Err(_) => self.failures += 1,
            }
            self.pending = None;
        }
        let (method, arg) = if self.next_is_snapshot {
            (
                "take_canister_snapshot",
                candid::encode_one(TakeCanisterSnapshotArgs {
                    canister_id: self.canister,
                    replace_snapshot: self.snapshot.clone(),
                    uninstall_code: None,
                    sender_canister_version: None,
                })
                .expect("encodes"),
            )
        } else {
            (
                "install_code",
                candid::encode_one(InstallCodeArgs {
                    mode: CanisterInstallMode::Upgrade(None),
                    canister_id: self.canister,
                    wasm_module: tiny_module("neighbour"),
                    arg: vec![],
                    sender_canister_version: None,
                })
                .expect("encodes"),
            )
        };
        self.next_is_snapshot = !self.next_is_snapshot;
        let id = emu
            .submit_call(
                Principal::management_canister(),
                self.controller,
                method,
                arg,
            )
            .expect("the management canister takes ingress");
        self.pending = Some((id, emu.rounds()));
    }

    /// Forgets the latencies so far (a new measurement starts). The call
    /// outstanding is not measured: between two measurements nobody looks
    /// at it (rollouts are started, releases published), so its latency
    /// would count the gap, not the subnet.
    pub fn take_latencies(&mut self) -> Vec<u64> {
        self.unmeasured = self.pending.map(|(id, _)| id);
        std::mem::take(&mut self.latencies)
    }
}
