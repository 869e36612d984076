//! The test-facing API, shaped like `pocket_ic::PocketIc`.
//!
//! Calls to the management canister made through the driver execute at once
//! (no round passes), except `stop_canister`, which ticks until the canister is
//! stopped. Update calls to canisters are ingress messages: they are queued and
//! rounds run until they complete.

use crate::error::{CallResult, RejectResponse};
use crate::ids::MANAGEMENT;
use crate::management::{InstallRequest, MgmtCall};
use crate::state::calls::{Input, ReplyTo};
use crate::state::canister::InstructionStats;
use crate::state::{DebugLine, InFlight, IngressState, StateMachine};
use crate::subnet::{RoundUsage, StoppedInterval, SubnetConfig, SubnetId};
use crate::system_api::ApiKind;
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{CandidType, Nat, Principal};
use ic_error_types::ErrorCode;
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, CanisterSettings, CanisterStatusResult, ChangeOrigin,
    ChunkHash, DeleteCanisterSnapshotArgs, FromUserRecord, InstallChunkedCodeArgs,
    LoadCanisterSnapshotArgs, ProvisionalCreateCanisterWithCyclesArgs,
    ProvisionalTopUpCanisterArgs, Snapshot, TakeCanisterSnapshotArgs, UninstallCodeArgs,
    UpdateSettingsArgs, UpgradeFlags, UploadChunkArgs,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// Virtual time (nanoseconds since the Unix epoch), like `pocket_ic::Time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(u64);

impl Time {
    pub const fn from_nanos_since_unix_epoch(nanos: u64) -> Self {
        Time(nanos)
    }
    pub const fn as_nanos_since_unix_epoch(&self) -> u64 {
        self.0
    }
}

impl From<Time> for SystemTime {
    fn from(t: Time) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(t.0)
    }
}

impl std::ops::Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0 + d.as_nanos() as u64)
    }
}

/// An ingress message submitted with [`Emulator::submit_call`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageId(pub u64);

/// The emulated IC: one subnet, virtual time, deterministic randomness.
pub struct Emulator {
    pub(crate) sm: RefCell<StateMachine>,
    /// Rounds [`Emulator::await_call`] runs before giving up.
    pub max_rounds_per_call: u64,
    /// What the last `save_state`/`load_state` wrote or read, so the next
    /// save into that directory skips unchanged canisters.
    pub(crate) saved: RefCell<Option<crate::persist::Saved>>,
}

impl Default for Emulator {
    fn default() -> Self {
        Self::new()
    }
}

fn sender_or_anonymous(sender: Option<Principal>) -> Principal {
    sender.unwrap_or_else(Principal::anonymous)
}

fn decode_reply<T: for<'a> ArgumentDecoder<'a>>(bytes: &[u8]) -> T {
    candid::decode_args(bytes)
        .unwrap_or_else(|e| panic!("the reply does not decode as the expected types: {e}"))
}

/// Encodes `input`, makes the call, decodes the reply: the Candid helpers of
/// the emulator and of every [`crate::backend::IcBackend`].
pub(crate) fn candid_call<I: ArgumentEncoder, O: for<'a> ArgumentDecoder<'a>>(
    input: I,
    call: impl FnOnce(Vec<u8>) -> CallResult,
) -> Result<O, RejectResponse> {
    let bytes = call(candid::encode_args(input).expect("arguments encode"))?;
    Ok(decode_reply(&bytes))
}

impl Emulator {
    pub fn new() -> Self {
        Self::with_seed(0)
    }

    /// `seed` drives `raw_rand`.
    pub fn with_seed(seed: u64) -> Self {
        Emulator {
            sm: RefCell::new(StateMachine::new(seed)),
            max_rounds_per_call: 1_000,
            saved: RefCell::new(None),
        }
    }

    /// An emulator whose subnet has `config`'s capacity (the default is
    /// [`SubnetConfig::application`]).
    pub fn with_subnet_config(config: SubnetConfig) -> Self {
        let emu = Self::new();
        emu.set_subnet_config(config);
        emu
    }

    /// Changes every subnet's capacity from the next admission on.
    pub fn set_subnet_config(&self, config: SubnetConfig) {
        for s in &mut self.sm.borrow_mut().subnets {
            s.capacity.config = config;
        }
    }

    /// The first subnet's capacity.
    pub fn subnet_config(&self) -> SubnetConfig {
        self.sm.borrow().subnets[0].capacity.config
    }

    /// Runs `method` of the management canister as an ingress message from `sender`.
    fn management(&self, sender: Principal, method: &str, arg: Vec<u8>) -> CallResult {
        self.management_on(None, sender, method, arg)
    }

    /// [`Emulator::management`] on a chosen subnet's management canister
    /// (`None`: the one the call's canister lives on, else the first).
    pub(crate) fn management_on(
        &self,
        subnet: Option<Principal>,
        sender: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> CallResult {
        let id = {
            let mut sm = self.sm.borrow_mut();
            let id = sm.next_ingress;
            sm.next_ingress += 1;
            sm.ingress.insert(id, IngressState::Pending);
            let call = MgmtCall {
                sender,
                from_canister: false,
                driver: true,
                method: method.into(),
                arg,
                cycles: 0,
                reply_to: ReplyTo::Ingress(id),
                sender_version: None,
                subnet,
            };
            sm.handle_management(call);
            id
        };
        self.await_call(MessageId(id))
    }

    fn management_candid<A: CandidType, R: for<'a> ArgumentDecoder<'a>>(
        &self,
        sender: Option<Principal>,
        method: &str,
        arg: A,
    ) -> Result<R, RejectResponse> {
        let bytes = self.management(
            sender_or_anonymous(sender),
            method,
            candid::encode_one(arg).expect("encodes"),
        )?;
        Ok(decode_reply(&bytes))
    }

    // ---- Canisters ----

    /// A canister controlled by the anonymous principal, with 100 T cycles.
    pub fn create_canister(&self) -> Principal {
        self.create_canister_with_settings(None, None)
    }

    pub fn create_canister_with_settings(
        &self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
    ) -> Principal {
        self.try_create_canister(sender, settings, None, None)
            .unwrap_or_else(|e| panic!("create_canister failed: {e}"))
    }

    pub fn create_canister_with_id(
        &self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        canister_id: Principal,
    ) -> Result<Principal, String> {
        self.try_create_canister(sender, settings, None, Some(canister_id))
            .map_err(|e| e.to_string())
    }

    /// `provisional_create_canister_with_cycles` with every option.
    pub fn try_create_canister(
        &self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        cycles: Option<u128>,
        specified_id: Option<Principal>,
    ) -> Result<Principal, RejectResponse> {
        let args = ProvisionalCreateCanisterWithCyclesArgs {
            amount: cycles.map(Nat::from),
            settings,
            specified_id,
            sender_canister_version: None,
        };
        let (r,): (CanisterIdRecord,) =
            self.management_candid(sender, "provisional_create_canister_with_cycles", args)?;
        Ok(r.canister_id)
    }

    /// Adds cycles; returns the new balance.
    pub fn add_cycles(&self, canister_id: Principal, amount: u128) -> u128 {
        let args = ProvisionalTopUpCanisterArgs {
            canister_id,
            amount: Nat::from(amount),
        };
        let () = self
            .management_candid(None, "provisional_top_up_canister", args)
            .unwrap_or_else(|e| panic!("add_cycles failed: {e}"));
        self.cycle_balance(canister_id)
    }

    pub fn cycle_balance(&self, canister_id: Principal) -> u128 {
        self.sm
            .borrow()
            .canisters
            .get(&canister_id)
            .map_or(0, |c| c.cycles)
    }

    pub fn canister_exists(&self, canister_id: Principal) -> bool {
        self.sm.borrow().canisters.contains_key(&canister_id)
    }

    /// Installs `wasm_module` (wasm or gzipped wasm); panics on failure, like PocketIC.
    pub fn install_canister(
        &self,
        canister_id: Principal,
        wasm_module: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) {
        self.install_code(
            CanisterInstallMode::Install,
            canister_id,
            wasm_module,
            arg,
            sender,
        )
        .unwrap_or_else(|e| panic!("install_canister failed: {e}"))
    }

    pub fn upgrade_canister(
        &self,
        canister_id: Principal,
        wasm_module: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.install_code(
            CanisterInstallMode::Upgrade(None),
            canister_id,
            wasm_module,
            arg,
            sender,
        )
    }

    pub fn upgrade_canister_with_flags(
        &self,
        canister_id: Principal,
        wasm_module: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
        flags: UpgradeFlags,
    ) -> Result<(), RejectResponse> {
        self.install_code(
            CanisterInstallMode::Upgrade(Some(flags)),
            canister_id,
            wasm_module,
            arg,
            sender,
        )
    }

    pub fn reinstall_canister(
        &self,
        canister_id: Principal,
        wasm_module: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.install_code(
            CanisterInstallMode::Reinstall,
            canister_id,
            wasm_module,
            arg,
            sender,
        )
    }

    /// `install_code` as an ingress message from `sender`. The module skips the
    /// Candid round trip (decoding a large `vec nat8` costs milliseconds);
    /// the checks and effects are those of the management canister's method.
    pub fn install_code(
        &self,
        mode: CanisterInstallMode,
        canister_id: Principal,
        wasm_module: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        let sender = sender_or_anonymous(sender);
        // Like PocketIC's, a direct install takes its turn on the subnet: it
        // waits for the round's budget, a long install and the canister's
        // install rate limit (see `crate::subnet`).
        self.run_until(|sm| sm.driver_install_may_start(canister_id))?;
        let mut sm = self.sm.borrow_mut();
        sm.controlled(&canister_id, &sender)?;
        let origin = ChangeOrigin::FromUser(FromUserRecord { user_id: sender });
        sm.install(InstallRequest {
            mode,
            canister_id,
            wasm: wasm_module,
            arg,
            sender,
            origin,
        })?;
        let cost = sm.install_cost(canister_id);
        let subnet = sm.subnet_index(&canister_id);
        sm.charge_subnet(subnet, "install_code", Some(canister_id), cost);
        sm.add_install_debit(canister_id, cost);
        let long = sm.starts_long_install("install_code", canister_id, cost, None);
        drop(sm);
        if long {
            self.run_until(|sm| !sm.in_long_install(canister_id))?;
        }
        Ok(())
    }

    /// Runs rounds until `ready` holds (at most `max_rounds_per_call`).
    fn run_until(&self, ready: impl Fn(&StateMachine) -> bool) -> Result<(), RejectResponse> {
        for _ in 0..=self.max_rounds_per_call {
            if ready(&self.sm.borrow()) {
                return Ok(());
            }
            self.tick();
        }
        Err(RejectResponse::new(
            ErrorCode::IngressMessageTimeout,
            format!(
                "the subnet did not admit the call within {} rounds",
                self.max_rounds_per_call
            ),
        ))
    }

    pub fn uninstall_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.management_candid(
            sender,
            "uninstall_code",
            UninstallCodeArgs {
                canister_id,
                sender_canister_version: None,
            },
        )
    }

    pub fn upload_chunk(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        chunk: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        let (h,): (ChunkHash,) = self.management_candid(
            sender,
            "upload_chunk",
            UploadChunkArgs { canister_id, chunk },
        )?;
        Ok(h.hash)
    }

    pub fn stored_chunks(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<Vec<Vec<u8>>, RejectResponse> {
        let (hashes,): (Vec<ChunkHash>,) =
            self.management_candid(sender, "stored_chunks", CanisterIdRecord { canister_id })?;
        Ok(hashes.into_iter().map(|h| h.hash).collect())
    }

    pub fn clear_chunk_store(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.management_candid(
            sender,
            "clear_chunk_store",
            CanisterIdRecord { canister_id },
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn install_chunked_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        mode: CanisterInstallMode,
        store_canister: Principal,
        chunk_hashes_list: Vec<Vec<u8>>,
        wasm_module_hash: Vec<u8>,
        arg: Vec<u8>,
    ) -> Result<(), RejectResponse> {
        let args = InstallChunkedCodeArgs {
            mode,
            target_canister: canister_id,
            store_canister: Some(store_canister),
            chunk_hashes_list: chunk_hashes_list
                .into_iter()
                .map(|hash| ChunkHash { hash })
                .collect(),
            wasm_module_hash,
            arg,
            sender_canister_version: None,
        };
        self.management_candid(sender, "install_chunked_code", args)
    }

    pub fn canister_status(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<CanisterStatusResult, RejectResponse> {
        let (s,): (CanisterStatusResult,) =
            self.management_candid(sender, "canister_status", CanisterIdRecord { canister_id })?;
        Ok(s)
    }

    /// Stops the canister, running rounds until it is stopped (or the stop fails).
    pub fn stop_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.management_candid(sender, "stop_canister", CanisterIdRecord { canister_id })
    }

    pub fn start_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.management_candid(sender, "start_canister", CanisterIdRecord { canister_id })
    }

    pub fn delete_canister(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.management_candid(sender, "delete_canister", CanisterIdRecord { canister_id })
    }

    pub fn update_canister_settings(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        settings: CanisterSettings,
    ) -> Result<(), RejectResponse> {
        self.management_candid(
            sender,
            "update_settings",
            UpdateSettingsArgs {
                canister_id,
                settings,
                sender_canister_version: None,
            },
        )
    }

    pub fn set_controllers(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        new_controllers: Vec<Principal>,
    ) -> Result<(), RejectResponse> {
        let settings = CanisterSettings {
            controllers: Some(new_controllers),
            ..Default::default()
        };
        self.update_canister_settings(canister_id, sender, settings)
    }

    pub fn get_controllers(&self, canister_id: Principal) -> Vec<Principal> {
        self.sm
            .borrow()
            .canisters
            .get(&canister_id)
            .map(|c| c.settings.controllers.clone())
            .unwrap_or_default()
    }

    /// The canister's history as `canister_info` reports it: total changes and the kept ones.
    pub fn canister_history(
        &self,
        canister_id: Principal,
    ) -> Option<(u64, Vec<ic_management_canister_types::Change>)> {
        let sm = self.sm.borrow();
        let c = sm.canisters.get(&canister_id)?;
        Some((c.total_changes, c.history.iter().cloned().collect()))
    }

    pub fn take_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        replace_snapshot: Option<Vec<u8>>,
    ) -> Result<Snapshot, RejectResponse> {
        let args = TakeCanisterSnapshotArgs {
            canister_id,
            replace_snapshot,
            uninstall_code: None,
            sender_canister_version: None,
        };
        let (s,): (Snapshot,) = self.management_candid(sender, "take_canister_snapshot", args)?;
        Ok(s)
    }

    pub fn load_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        snapshot_id: Vec<u8>,
    ) -> Result<(), RejectResponse> {
        let args = LoadCanisterSnapshotArgs {
            canister_id,
            snapshot_id,
            sender_canister_version: None,
        };
        self.management_candid(sender, "load_canister_snapshot", args)
    }

    pub fn list_canister_snapshots(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<Vec<Snapshot>, RejectResponse> {
        let (l,): (Vec<Snapshot>,) = self.management_candid(
            sender,
            "list_canister_snapshots",
            CanisterIdRecord { canister_id },
        )?;
        Ok(l)
    }

    pub fn delete_canister_snapshot(
        &self,
        canister_id: Principal,
        sender: Option<Principal>,
        snapshot_id: Vec<u8>,
    ) -> Result<(), RejectResponse> {
        self.management_candid(
            sender,
            "delete_canister_snapshot",
            DeleteCanisterSnapshotArgs {
                canister_id,
                snapshot_id,
            },
        )
    }

    // ---- Calls ----

    /// Submits an ingress update call; `canister_inspect_message` runs now.
    pub fn submit_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<MessageId, RejectResponse> {
        if payload.len() > crate::limits::MAX_PAYLOAD {
            return Err(RejectResponse::new(
                ErrorCode::CanisterRejectedMessage,
                "the ingress payload exceeds 2 MiB",
            ));
        }
        let mut sm = self.sm.borrow_mut();
        if canister_id != MANAGEMENT {
            sm.inspect_message(canister_id, sender, method, &payload)?;
        }
        let id = sm.next_ingress;
        sm.next_ingress += 1;
        sm.ingress.insert(id, IngressState::Pending);
        sm.inbox.push_back(Input::Ingress {
            id,
            sender,
            receiver: canister_id,
            method: method.into(),
            arg: payload,
        });
        Ok(MessageId(id))
    }

    /// Runs rounds until the message completes.
    pub fn await_call(&self, id: MessageId) -> CallResult {
        for _ in 0..=self.max_rounds_per_call {
            if let Some(r) = self.ingress_status(id) {
                self.sm.borrow_mut().ingress.remove(&id.0);
                return r;
            }
            self.tick();
        }
        Err(RejectResponse::new(
            ErrorCode::IngressMessageTimeout,
            format!(
                "the message did not complete within {} rounds",
                self.max_rounds_per_call
            ),
        ))
    }

    /// The result, once the message has completed.
    pub fn ingress_status(&self, id: MessageId) -> Option<CallResult> {
        match self.sm.borrow().ingress.get(&id.0) {
            Some(IngressState::Done(r)) => Some(r.clone()),
            _ => None,
        }
    }

    pub fn update_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> CallResult {
        if canister_id == MANAGEMENT {
            return self.management(sender, method, payload);
        }
        let id = self.submit_call(canister_id, sender, method, payload)?;
        self.await_call(id)
    }

    /// A non-replicated query on committed state; nothing it changes is kept.
    pub fn query_call(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> CallResult {
        if canister_id == MANAGEMENT && method == "canister_status" {
            return self.management(sender, method, payload);
        }
        self.sm
            .borrow_mut()
            .query(canister_id, sender, method, payload)
    }

    pub fn update_candid<I: ArgumentEncoder, O: for<'a> ArgumentDecoder<'a>>(
        &self,
        canister_id: Principal,
        method: &str,
        input: I,
    ) -> Result<O, RejectResponse> {
        self.update_candid_as(canister_id, Principal::anonymous(), method, input)
    }

    pub fn update_candid_as<I: ArgumentEncoder, O: for<'a> ArgumentDecoder<'a>>(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        input: I,
    ) -> Result<O, RejectResponse> {
        candid_call(input, |arg| {
            self.update_call(canister_id, sender, method, arg)
        })
    }

    pub fn query_candid<I: ArgumentEncoder, O: for<'a> ArgumentDecoder<'a>>(
        &self,
        canister_id: Principal,
        method: &str,
        input: I,
    ) -> Result<O, RejectResponse> {
        self.query_candid_as(canister_id, Principal::anonymous(), method, input)
    }

    pub fn query_candid_as<I: ArgumentEncoder, O: for<'a> ArgumentDecoder<'a>>(
        &self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        input: I,
    ) -> Result<O, RejectResponse> {
        candid_call(input, |arg| {
            self.query_call(canister_id, sender, method, arg)
        })
    }

    // ---- Time and rounds ----

    /// One round: timers, queued messages and responses, stop completion.
    pub fn tick(&self) {
        self.sm.borrow_mut().tick();
    }

    pub fn tick_n(&self, rounds: u64) {
        for _ in 0..rounds {
            self.tick();
        }
    }

    pub fn get_time(&self) -> Time {
        Time(self.sm.borrow().time)
    }

    /// Moves virtual time forward (without running a round).
    pub fn advance_time(&self, duration: Duration) {
        let mut sm = self.sm.borrow_mut();
        sm.time = sm
            .time
            .saturating_add(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Sets virtual time; it never goes backwards (panics if asked to).
    pub fn set_time(&self, time: Time) {
        let mut sm = self.sm.borrow_mut();
        assert!(time.0 >= sm.time, "time cannot go backwards on the IC");
        sm.time = time.0;
    }

    /// Overrides the per-message instruction limits (the IC's by default).
    pub fn set_instruction_limits(&self, limits: crate::limits::InstructionLimits) {
        self.sm.borrow_mut().instruction_limits = limits;
    }

    /// The DER-encoded (fixed, fake) root key canisters see.
    pub fn root_key(&self) -> Option<Vec<u8>> {
        Some(self.sm.borrow().root_key.clone())
    }

    // ---- Observability ----

    /// Rounds run so far.
    pub fn rounds(&self) -> u64 {
        self.sm.borrow().round
    }

    /// Every `debug_print` line so far.
    pub fn debug_log(&self) -> Vec<DebugLine> {
        self.sm.borrow().debug_log.clone()
    }

    /// Returns and clears the `debug_print` lines.
    pub fn take_debug_log(&self) -> Vec<DebugLine> {
        std::mem::take(&mut self.sm.borrow_mut().debug_log)
    }

    /// Calls from `caller` to the management canister not answered yet: now and at most.
    pub fn management_calls_in_flight(&self, caller: Principal) -> InFlight {
        self.sm
            .borrow()
            .mgmt_in_flight
            .get(&caller)
            .cloned()
            .unwrap_or_default()
    }

    /// Instructions executed by the canister's messages (fuel-exact, deterministic).
    pub fn instruction_stats(&self, canister_id: Principal) -> InstructionStats {
        self.sm
            .borrow()
            .canisters
            .get(&canister_id)
            .map(|c| c.stats.clone())
            .unwrap_or_default()
    }

    /// Open call contexts of the canister (a stopping canister stops at 0).
    pub fn open_call_contexts(&self, canister_id: Principal) -> usize {
        self.sm
            .borrow()
            .canisters
            .get(&canister_id)
            .map_or(0, |c| c.call_contexts.len())
    }

    /// The callbacks the canister registered for its outstanding calls
    /// (`ic0.call_new`'s closures, `ic0.call_on_cleanup`'s), in callback order:
    /// what would run in the canister when each response arrives.
    pub fn registered_callbacks(&self, canister_id: Principal) -> Vec<RegisteredCallback> {
        self.sm
            .borrow()
            .canisters
            .get(&canister_id)
            .map(|c| {
                c.callbacks
                    .values()
                    .map(|cb| RegisteredCallback {
                        callee: cb.callee,
                        reply_fun: cb.reply.0,
                        reject_fun: cb.reject.0,
                        cleanup_fun: cb.cleanup.map(|(fun, _)| fun),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Messages and responses waiting for a round.
    pub fn queued_messages(&self) -> usize {
        self.sm.borrow().inbox.len()
    }

    /// Per round, what counted toward the first subnet's budgets (rounds
    /// where nothing counted and nothing waited are left out; the current
    /// round last). Other subnets: [`Emulator::subnet_round_usage_of`].
    pub fn subnet_round_usage(&self) -> Vec<RoundUsage> {
        self.subnet_round_usage_of(self.subnets()[0])
    }

    /// [`Emulator::subnet_round_usage`] of subnet `subnet` (empty if there is none).
    pub fn subnet_round_usage_of(&self, subnet: SubnetId) -> Vec<RoundUsage> {
        let sm = self.sm.borrow();
        let Some(i) = sm.subnet_by_id(&subnet) else {
            return Vec::new();
        };
        let cap = &sm.subnets[i].capacity;
        let mut v = cap.history.clone();
        v.push(cap.current.clone());
        v
    }

    /// Returns and clears the first subnet's per-round records (as
    /// [`Emulator::subnet_round_usage`]); the other subnets' are cleared too.
    pub fn take_subnet_round_usage(&self) -> Vec<RoundUsage> {
        let mut sm = self.sm.borrow_mut();
        let mut first = None;
        for s in &mut sm.subnets {
            let mut v = std::mem::take(&mut s.capacity.history);
            v.push(s.capacity.current.clone());
            if first.is_none() {
                first = Some(v);
            }
        }
        first.unwrap_or_default()
    }

    /// Management calls waiting for a round with budget, on every subnet (a
    /// long install still running counts as one).
    pub fn pending_management_calls(&self) -> usize {
        let sm = self.sm.borrow();
        sm.subnets
            .iter()
            .map(|s| s.capacity.pending.len() + usize::from(s.capacity.long_install.is_some()))
            .sum()
    }

    /// Every interval the canister spent stopping or stopped, oldest first.
    pub fn stopped_intervals(&self, canister_id: Principal) -> Vec<StoppedInterval> {
        self.sm
            .borrow()
            .capacity_of(&canister_id)
            .stopped
            .get(&canister_id)
            .cloned()
            .unwrap_or_default()
    }

    /// [`Emulator::stopped_intervals`] of every canister that was ever
    /// stopped, on every subnet.
    pub fn all_stopped_intervals(&self) -> BTreeMap<Principal, Vec<StoppedInterval>> {
        let sm = self.sm.borrow();
        let mut all = BTreeMap::new();
        for s in &sm.subnets {
            all.extend(s.capacity.stopped.iter().map(|(k, v)| (*k, v.clone())));
        }
        all
    }

    /// Heap bytes the canister holds privately (not shared with its module's image).
    pub fn private_heap_bytes(&self, canister_id: Principal) -> usize {
        self.sm
            .borrow()
            .canisters
            .get(&canister_id)
            .and_then(|c| c.heap.as_ref())
            .map_or(0, |h| h.private_bytes())
    }
}

impl StateMachine {
    /// `canister_inspect_message` for an ingress update (non-replicated; changes discarded).
    fn inspect_message(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: &[u8],
    ) -> Result<(), RejectResponse> {
        let Some(c) = self.canisters.get(&canister_id) else {
            return Ok(());
        };
        let Some(heap) = c.heap.clone() else {
            return Ok(());
        };
        if !heap.module.exports.has("canister_inspect_message")
            || !heap.module.exports.updates.contains(method)
        {
            return Ok(());
        }
        let cc = crate::state::calls::CallContext {
            origin: crate::state::calls::Origin::Ingress {
                id: u64::MAX,
                sender,
            },
            method: method.to_string(),
            responded: false,
            available_cycles: 0,
            outstanding: 0,
            deleted: false,
            deadline: 0,
            instructions: 0,
        };
        let ctx = self.api_context(
            canister_id,
            ApiKind::InspectMessage,
            Some(&cc),
            payload.to_vec(),
            Default::default(),
        );
        let limit = ctx.instruction_limit;
        let entry = crate::engine::exec::Entry::Export("canister_inspect_message".into());
        let mut exe =
            crate::engine::exec::execute(&heap, &[(ApiKind::InspectMessage, entry)], ctx, limit);
        let lines = std::mem::take(&mut exe.ctx.debug_log);
        self.log_lines(canister_id, lines);
        if let Err(e) = exe.result {
            return Err(RejectResponse::from_canister(
                canister_id,
                e.code,
                e.message,
            ));
        }
        if !exe.ctx.accepted_message {
            return Err(RejectResponse::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Canister {canister_id} rejected the message"),
            ));
        }
        Ok(())
    }
}

/// One callback a canister holds ([`Emulator::registered_callbacks`]): the
/// table indexes `ic0.call_new` was given. A one-way call (ic-cdk's
/// `Call::oneway`) passes [`RegisteredCallback::ONEWAY_FUN`], which no table
/// holds, so its response traps before any of the canister's code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisteredCallback {
    pub callee: Principal,
    pub reply_fun: u32,
    pub reject_fun: u32,
    pub cleanup_fun: Option<u32>,
}

impl RegisteredCallback {
    /// `usize::MAX` on wasm32: ic0's `call_new_oneway` (digest §2.2).
    pub const ONEWAY_FUN: u32 = u32::MAX;

    /// Whether the response can run any of the canister's code.
    pub fn runs_code(&self) -> bool {
        self.reply_fun != Self::ONEWAY_FUN
            || self.reject_fun != Self::ONEWAY_FUN
            || self.cleanup_fun.is_some()
    }
}
