//! A fake management canister and environment for the flows' unit tests.
//!
//! The fake keeps just enough IC state (controllers, status, module hash,
//! chunk store, snapshots) to check what the flows did, can fail a chosen
//! method, and can make every call yield once so concurrent flows interleave
//! as they do on the IC.

use crate::runtime::*;
use crate::state::{FactoryState, VMem};
use candid::Principal;
use ic_stable_structures::memory_manager::MemoryManager;
use ic_stable_structures::VectorMemory;
use sha2::{Digest, Sha256};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

pub type TestState = FactoryState<VMem<VectorMemory>>;

pub fn principal(n: u64) -> Principal {
    let mut bytes = [0u8; 10];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[9] = 0x01;
    Principal::from_slice(&bytes)
}

pub const FACTORY: u64 = 1_000;

pub struct FakeEnv {
    pub now: Cell<u64>,
    /// Shared with the fake management canister, which takes deposits from it.
    pub balance: Rc<Cell<u128>>,
    pub stopping: Cell<bool>,
}

impl Default for FakeEnv {
    fn default() -> Self {
        FakeEnv {
            now: Cell::new(1_000_000_000),
            balance: Rc::new(Cell::new(1_000_000_000_000_000)),
            stopping: Cell::new(false),
        }
    }
}

impl Env for FakeEnv {
    fn now_ns(&self) -> u64 {
        self.now.get()
    }
    fn self_id(&self) -> Principal {
        principal(FACTORY)
    }
    fn cycles_balance(&self) -> u128 {
        self.balance.get()
    }
    fn create_canister_fee(&self) -> u128 {
        500_000_000_000
    }
    fn is_stopping(&self) -> bool {
        self.stopping.get()
    }
}

#[derive(Clone, Debug, Default)]
pub struct FakeCanister {
    pub controllers: Vec<Principal>,
    pub module_hash: Option<[u8; 32]>,
    pub stopped: bool,
    /// A stop that never finished left it stopping.
    pub stopping: bool,
    /// The user's data: upgrades keep it.
    pub data: Vec<u8>,
    pub cycles: u128,
    /// Reported by `canister_status`; a canister below `freezing_limit` (when
    /// set) is refused installs, as on the IC.
    pub idle_burn_per_day: u128,
    pub freezing_limit: u128,
    pub snapshots: BTreeMap<Vec<u8>, Option<[u8; 32]>>,
    pub install_args: Vec<Vec<u8>>,
}

#[derive(Default)]
pub struct FakeIc {
    pub canisters: BTreeMap<Principal, FakeCanister>,
    pub chunk_store: BTreeMap<[u8; 32], Vec<u8>>,
    pub next_id: u64,
    pub next_snapshot: u64,
    /// Methods to fail, with how many more times.
    pub failing: BTreeMap<&'static str, u32>,
    /// Of those, the ones refused as SYS_TRANSIENT (the subnet too busy:
    /// rate limited, queue full) rather than CANISTER_ERROR.
    pub transient: BTreeSet<&'static str>,
    pub calls: Vec<&'static str>,
    /// Canisters whose stop never completes (it times out).
    pub never_stops: BTreeSet<Principal>,
    /// Canisters where installing traps (post_upgrade): rolled back.
    pub trap_install: BTreeSet<Principal>,
    /// Fail every call about these canisters.
    pub unreachable: BTreeSet<Principal>,
    pub deposited: u128,
    pub ledger: FakeLedger,
    /// The user data each snapshot holds (by snapshot id).
    pub snapshot_data: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// The cycles ledger, as far as the factory uses it: accounts, one
/// approval per owner (for the factory), and deduplication by
/// (payer, created_at_time).
#[derive(Default)]
pub struct FakeLedger {
    pub balances: BTreeMap<Principal, u128>,
    pub allowances: BTreeMap<Principal, u128>,
    pub seen: BTreeSet<(Principal, u64)>,
    /// Fail the next `withdraw_from` calls (a call failure, not a refusal).
    pub unreachable: bool,
}

#[derive(Default)]
pub struct FakeManagement {
    pub ic: RefCell<FakeIc>,
    /// Every call yields once before running, so concurrent flows interleave.
    pub yield_once: Cell<bool>,
    /// Round-based mode (0 = off): a call takes this many rounds of
    /// `round`, which the test advances; in-flight calls are counted here,
    /// on the management canister's side.
    pub latency: Cell<u64>,
    pub round: Cell<u64>,
    pub in_flight: Cell<u32>,
    pub max_in_flight: Cell<u32>,
    /// The factory's balance (the env's): cycles attached to a call leave it
    /// when the call is made, as on the IC.
    pub factory_balance: Rc<Cell<u128>>,
    /// The lowest the factory's balance went.
    pub min_balance: Cell<u128>,
}

impl FakeManagement {
    pub fn fail(&self, method: &'static str, times: u32) {
        self.ic.borrow_mut().failing.insert(method, times);
    }

    /// `fail`, refused as SYS_TRANSIENT (e.g. `CanisterInstallCodeRateLimited`).
    pub fn fail_transient(&self, method: &'static str, times: u32) {
        let mut ic = self.ic.borrow_mut();
        ic.failing.insert(method, times);
        ic.transient.insert(method);
    }

    pub fn calls(&self, method: &str) -> usize {
        self.ic
            .borrow()
            .calls
            .iter()
            .filter(|m| **m == method)
            .count()
    }

    pub fn canister(&self, id: Principal) -> FakeCanister {
        self.ic
            .borrow()
            .canisters
            .get(&id)
            .cloned()
            .expect("fake canister exists")
    }

    async fn enter(&self, method: &'static str) -> CallResult<()> {
        if self.yield_once.get() {
            YieldOnce(false).await;
        }
        let latency = self.latency.get();
        if latency > 0 {
            self.in_flight.set(self.in_flight.get() + 1);
            self.max_in_flight
                .set(self.max_in_flight.get().max(self.in_flight.get()));
            WaitRound {
                round: &self.round,
                until: self.round.get() + latency,
            }
            .await;
            self.in_flight.set(self.in_flight.get() - 1);
        }
        let mut ic = self.ic.borrow_mut();
        ic.calls.push(method);
        if let Some(n) = ic.failing.get_mut(method) {
            if *n > 0 {
                *n -= 1;
                return Err(CallFailure {
                    method,
                    reject_code: if ic.transient.contains(method) { 2 } else { 5 },
                    message: format!("injected failure of {method}"),
                });
            }
        }
        Ok(())
    }

    fn with_canister<T>(
        &self,
        method: &'static str,
        id: Principal,
        f: impl FnOnce(&mut FakeCanister) -> CallResult<T>,
    ) -> CallResult<T> {
        let mut ic = self.ic.borrow_mut();
        if ic.unreachable.contains(&id) {
            return Err(CallFailure {
                method,
                reject_code: 2,
                message: format!("{id} unreachable"),
            });
        }
        let c = ic.canisters.get_mut(&id).ok_or(CallFailure {
            method,
            reject_code: 3,
            message: format!("canister {id} not found"),
        })?;
        if !c.controllers.contains(&principal(FACTORY)) {
            return Err(CallFailure {
                method,
                reject_code: 5,
                message: "the factory is not a controller".into(),
            });
        }
        f(c)
    }
}

/// Pending until the test's round reaches `until`.
struct WaitRound<'a> {
    round: &'a Cell<u64>,
    until: u64,
}

impl Future for WaitRound<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.round.get() >= self.until {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Management for FakeManagement {
    async fn create_canister(
        &self,
        controllers: Vec<Principal>,
        cycles: u128,
    ) -> CallResult<Principal> {
        self.enter("create_canister").await?;
        let mut ic = self.ic.borrow_mut();
        ic.next_id += 1;
        let id = principal(ic.next_id);
        ic.canisters.insert(
            id,
            FakeCanister {
                controllers,
                cycles,
                ..Default::default()
            },
        );
        Ok(id)
    }

    async fn install_chunked_code(&self, a: InstallChunked) -> CallResult<()> {
        self.enter("install_chunked_code").await?;
        let method = "install_chunked_code";
        let module: Vec<u8> = {
            let ic = self.ic.borrow();
            let mut module = Vec::new();
            for h in &a.chunk_hashes {
                let chunk = ic.chunk_store.get(h).ok_or(CallFailure {
                    method,
                    reject_code: 5,
                    message: "chunk not in the store".into(),
                })?;
                module.extend_from_slice(chunk);
            }
            module
        };
        if sha(&module) != a.module_hash {
            return Err(CallFailure {
                method,
                reject_code: 5,
                message: "module hash mismatch".into(),
            });
        }
        if self.ic.borrow().trap_install.contains(&a.canister_id) {
            return Err(CallFailure {
                method,
                reject_code: 5,
                message: format!("{} trapped in post_upgrade", a.canister_id),
            });
        }
        self.with_canister(method, a.canister_id, |c| {
            let floor = c.freezing_limit + crate::cycles::frozen::INSTALL_PREPAY;
            if c.freezing_limit > 0 && c.cycles < floor {
                return Err(CallFailure {
                    method,
                    reject_code: 5,
                    message: format!("canister {} is out of cycles", a.canister_id),
                });
            }
            match (a.mode, c.module_hash) {
                (InstallMode::Install, Some(_)) | (InstallMode::Upgrade, None) => {
                    return Err(CallFailure {
                        method,
                        reject_code: 5,
                        message: "wrong install mode".into(),
                    })
                }
                _ => {}
            }
            c.module_hash = Some(a.module_hash);
            c.install_args.push(a.arg);
            Ok(())
        })
    }

    async fn upload_chunk(&self, _store: Principal, chunk: Vec<u8>) -> CallResult<[u8; 32]> {
        self.enter("upload_chunk").await?;
        let h = sha(&chunk);
        self.ic.borrow_mut().chunk_store.insert(h, chunk);
        Ok(h)
    }

    async fn clear_chunk_store(&self, _store: Principal) -> CallResult<()> {
        self.enter("clear_chunk_store").await?;
        self.ic.borrow_mut().chunk_store.clear();
        Ok(())
    }

    async fn set_controllers(
        &self,
        canister: Principal,
        controllers: Vec<Principal>,
    ) -> CallResult<()> {
        self.enter("update_settings").await?;
        self.with_canister("update_settings", canister, |c| {
            c.controllers = controllers;
            Ok(())
        })
    }

    async fn canister_status(&self, canister: Principal) -> CallResult<StatusInfo> {
        self.enter("canister_status").await?;
        self.with_canister("canister_status", canister, |c| {
            Ok(StatusInfo {
                status: if c.stopped {
                    RunStatus::Stopped
                } else if c.stopping {
                    RunStatus::Stopping
                } else {
                    RunStatus::Running
                },
                module_hash: c.module_hash.map(|h| h.to_vec()),
                controllers: c.controllers.clone(),
                cycles: c.cycles,
                idle_burn_per_day: c.idle_burn_per_day,
                freezing_limit: c.freezing_limit,
            })
        })
    }

    async fn stop_canister(&self, canister: Principal) -> CallResult<()> {
        self.enter("stop_canister").await?;
        let never = self.ic.borrow().never_stops.contains(&canister);
        self.with_canister("stop_canister", canister, |c| {
            if never {
                c.stopping = true;
                return Err(CallFailure {
                    method: "stop_canister",
                    reject_code: 2,
                    message: "stop_canister timed out".into(),
                });
            }
            c.stopped = true;
            Ok(())
        })
    }

    async fn start_canister(&self, canister: Principal) -> CallResult<()> {
        self.enter("start_canister").await?;
        self.with_canister("start_canister", canister, |c| {
            c.stopped = false;
            c.stopping = false;
            Ok(())
        })
    }

    async fn take_snapshot(
        &self,
        canister: Principal,
        replace: Option<Vec<u8>>,
    ) -> CallResult<Vec<u8>> {
        self.enter("take_canister_snapshot").await?;
        let id = {
            let mut ic = self.ic.borrow_mut();
            ic.next_snapshot += 1;
            ic.next_snapshot.to_be_bytes().to_vec()
        };
        self.with_canister("take_canister_snapshot", canister, |c| {
            if let Some(old) = replace {
                // As on the IC: replacing a snapshot that is gone fails.
                if c.snapshots.remove(&old).is_none() {
                    return Err(CallFailure {
                        method: "take_canister_snapshot",
                        reject_code: 5,
                        message: "Could not find the snapshot ID to replace".into(),
                    });
                }
            }
            c.snapshots.insert(id.clone(), c.module_hash);
            Ok(id)
        })
    }

    async fn load_snapshot(&self, canister: Principal, snapshot_id: Vec<u8>) -> CallResult<()> {
        self.enter("load_canister_snapshot").await?;
        self.with_canister("load_canister_snapshot", canister, |c| {
            let module = c.snapshots.get(&snapshot_id).copied().ok_or(CallFailure {
                method: "load_canister_snapshot",
                reject_code: 3,
                message: "no such snapshot".into(),
            })?;
            c.module_hash = module;
            Ok(())
        })?;
        let data = self.ic.borrow().snapshot_data.get(&snapshot_id).cloned();
        if let Some(data) = data {
            self.with_canister("load_canister_snapshot", canister, |c| {
                c.data = data;
                Ok(())
            })?;
        }
        Ok(())
    }

    async fn take_snapshot_and_uninstall(&self, canister: Principal) -> CallResult<Vec<u8>> {
        self.enter("take_canister_snapshot").await?;
        let id = {
            let mut ic = self.ic.borrow_mut();
            ic.next_snapshot += 1;
            ic.next_snapshot.to_be_bytes().to_vec()
        };
        let data = self.with_canister("take_canister_snapshot", canister, |c| {
            c.snapshots.insert(id.clone(), c.module_hash);
            c.module_hash = None;
            Ok(std::mem::take(&mut c.data))
        })?;
        self.ic.borrow_mut().snapshot_data.insert(id.clone(), data);
        Ok(id)
    }

    async fn install_code(
        &self,
        canister: Principal,
        module: Vec<u8>,
        arg: Vec<u8>,
    ) -> CallResult<()> {
        self.enter("install_code").await?;
        self.with_canister("install_code", canister, |c| {
            if c.module_hash.is_some() {
                return Err(CallFailure {
                    method: "install_code",
                    reject_code: 5,
                    message: "install mode needs an empty canister".into(),
                });
            }
            c.module_hash = Some(sha(&module));
            c.install_args.push(arg);
            Ok(())
        })
    }

    async fn drain(&self, canister: Principal) -> CallResult<()> {
        self.enter("drain").await?;
        let sent = self.with_canister("drain", canister, |c| {
            // The drain module sends its balance above `keep` to the factory.
            let keep = c
                .install_args
                .last()
                .and_then(|a| crate::cycles::reclaim::drain::parse_keep(a))
                .unwrap_or(u128::MAX);
            let sent = c.cycles.saturating_sub(keep);
            c.cycles -= sent;
            Ok(sent)
        })?;
        let balance = &self.factory_balance;
        balance.set(balance.get() + sent);
        Ok(())
    }

    async fn delete_canister(&self, canister: Principal) -> CallResult<()> {
        self.enter("delete_canister").await?;
        self.with_canister("delete_canister", canister, |c| {
            if !c.stopped {
                return Err(CallFailure {
                    method: "delete_canister",
                    reject_code: 5,
                    message: "the canister must be stopped".into(),
                });
            }
            Ok(())
        })?;
        self.ic.borrow_mut().canisters.remove(&canister);
        Ok(())
    }

    async fn deposit_cycles(&self, canister: Principal, amount: u128) -> CallResult<()> {
        let balance = &self.factory_balance;
        balance.set(balance.get().saturating_sub(amount));
        self.min_balance
            .set(self.min_balance.get().min(balance.get()));
        let done = async {
            self.enter("deposit_cycles").await?;
            self.with_canister("deposit_cycles", canister, |c| {
                c.cycles += amount;
                Ok(())
            })
        }
        .await;
        match done {
            Ok(()) => self.ic.borrow_mut().deposited += amount,
            // Cycles of a rejected call come back.
            Err(_) => balance.set(balance.get() + amount),
        }
        done
    }

    async fn ledger_withdraw_from(&self, a: WithdrawFrom) -> CallResult<Result<(), LedgerRefusal>> {
        self.enter("withdraw_from").await?;
        let fee = crate::cycles::payment::LEDGER_FEE;
        let mut ic = self.ic.borrow_mut();
        let l = &mut ic.ledger;
        if l.unreachable {
            return Err(CallFailure {
                method: "withdraw_from",
                reject_code: 2,
                message: "ledger unreachable".into(),
            });
        }
        if l.seen.contains(&(a.from, a.created_at_time)) {
            return Ok(Err(LedgerRefusal::Duplicate));
        }
        let needed = a.amount + fee;
        let allowance = l.allowances.get(&a.from).copied().unwrap_or(0);
        if allowance < needed {
            return Ok(Err(LedgerRefusal::InsufficientAllowance { allowance }));
        }
        let balance = l.balances.get(&a.from).copied().unwrap_or(0);
        if balance < needed {
            return Ok(Err(LedgerRefusal::InsufficientFunds { balance }));
        }
        l.allowances.insert(a.from, allowance - needed);
        l.balances.insert(a.from, balance - needed);
        l.seen.insert((a.from, a.created_at_time));
        self.factory_balance
            .set(self.factory_balance.get() + a.amount);
        Ok(Ok(()))
    }

    async fn ledger_deposit(&self, to: Principal, cycles: u128) -> CallResult<()> {
        self.enter("deposit").await?;
        let balance = &self.factory_balance;
        balance.set(balance.get().saturating_sub(cycles));
        let mut ic = self.ic.borrow_mut();
        *ic.ledger.balances.entry(to).or_default() += cycles;
        Ok(())
    }
}

impl FakeManagement {
    pub fn ledger_balance(&self, who: Principal) -> u128 {
        self.ic
            .borrow()
            .ledger
            .balances
            .get(&who)
            .copied()
            .unwrap_or(0)
    }
    pub fn set_never_stops(&self, id: Principal) {
        self.ic.borrow_mut().never_stops.insert(id);
    }
    pub fn set_trap_install(&self, id: Principal) {
        self.ic.borrow_mut().trap_install.insert(id);
    }
    pub fn running(&self, id: Principal) -> bool {
        let c = self.canister(id);
        !c.stopped && !c.stopping
    }
}

/// A factory state, env and fake IC, with helpers to publish releases.
pub struct Harness {
    pub env: FakeEnv,
    pub mgmt: FakeManagement,
    pub state: RefCell<TestState>,
    pub memory: VectorMemory,
}

pub const ADMIN: u64 = 900;

impl Default for Harness {
    fn default() -> Self {
        Self::on_memory(VectorMemory::default())
    }
}

impl Harness {
    /// A factory over `memory`: reopening the same memory is a factory upgrade.
    pub fn on_memory(memory: VectorMemory) -> Self {
        let state = FactoryState::init(&MemoryManager::init(memory.clone()));
        let env = FakeEnv::default();
        let mgmt = FakeManagement {
            factory_balance: env.balance.clone(),
            min_balance: Cell::new(u128::MAX),
            ..Default::default()
        };
        let h = Harness {
            env,
            mgmt,
            state: RefCell::new(state),
            memory,
        };
        h.state.borrow_mut().admins.insert(principal(ADMIN), ());
        h
    }

    pub fn ctx(&self) -> Ctx<'_, FakeEnv, FakeManagement, VMem<VectorMemory>> {
        Ctx {
            env: &self.env,
            mgmt: &self.mgmt,
            state: &self.state,
        }
    }

    /// A tiny valid wasm module whose bytes differ per version.
    pub fn module(version: &str) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // A custom section named after the version keeps the module valid.
        let name = version.as_bytes();
        m.push(0);
        m.push((name.len() + 1) as u8);
        m.push(name.len() as u8);
        m.extend_from_slice(name);
        m
    }

    /// Publishes and approves `version` (one approver, the uploader counts).
    pub fn publish(&self, version: &str) -> wasm_registry::Release {
        self.publish_with(version, None)
    }

    /// Publishes `version`, reachable only from `min_upgrade_from` or later.
    pub fn publish_with(
        &self,
        version: &str,
        min_upgrade_from: Option<&str>,
    ) -> wasm_registry::Release {
        self.publish_full(version, min_upgrade_from, None)
    }

    /// Publishes `version` with an app argument its installs receive.
    pub fn publish_with_app_arg(&self, version: &str, app_arg: Vec<u8>) -> wasm_registry::Release {
        self.publish_full(version, None, Some(app_arg))
    }

    fn publish_full(
        &self,
        version: &str,
        min_upgrade_from: Option<&str>,
        app_arg: Option<Vec<u8>>,
    ) -> wasm_registry::Release {
        let module = Self::module(version);
        let now = self.env.now.get();
        let admin = principal(ADMIN);
        let mut s = self.state.borrow_mut();
        s.registry
            .set_config(
                wasm_registry::RegistryConfig {
                    approvals_required: 1,
                    uploader_counts: true,
                },
                now,
            )
            .unwrap();
        s.registry
            .begin_upload(
                wasm_registry::BeginUpload {
                    version: version.into(),
                    sha256: wasm_registry::Sha256::of(&module),
                    size: module.len() as u64,
                    notes: String::new(),
                    min_upgrade_from: min_upgrade_from.map(str::to_string),
                    app_arg: app_arg.map(serde_bytes::ByteBuf::from),
                },
                admin,
                now,
            )
            .unwrap();
        s.registry
            .upload_chunk(
                wasm_registry::UploadChunk {
                    version: version.into(),
                    index: 0,
                    bytes: serde_bytes::ByteBuf::from(module),
                    sha256: None,
                },
                now,
            )
            .unwrap();
        let v = semver::Version::parse(version).unwrap();
        s.registry.commit_upload(&v, now).unwrap();
        s.registry.approve(&v, admin, now).unwrap();
        s.registry.release(&v).unwrap()
    }

    /// A factory upgrade: the heap is gone, the stable structures are
    /// reopened on the same memory, and the epoch moves on.
    pub fn upgrade_factory(&self) {
        let state = FactoryState::init(&MemoryManager::init(self.memory.clone()));
        *self.state.borrow_mut() = state;
        self.state.borrow_mut().update_counters(|c| c.epoch += 1);
        crate::rollout::settle::factory_upgraded(&mut self.state.borrow_mut(), self.env.now.get());
    }

    pub fn user_ids(&self) -> BTreeSet<Principal> {
        self.state.borrow().users.keys().collect()
    }
}

/// Runs a flow to completion.
pub fn run<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}
