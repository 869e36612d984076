//! What the factory's flows need from the IC, as traits: the environment
//! (time, identity, cycles) and the management canister. The canister
//! implements them with ic-cdk (`ic_runtime`); unit tests with a fake.

use crate::error::FactoryError;
use crate::state::FactoryState;
use candid::Principal;
use ic_stable_structures::Memory;
use std::cell::RefCell;

pub trait Env {
    fn now_ns(&self) -> u64;
    fn self_id(&self) -> Principal;
    fn cycles_balance(&self) -> u128;
    /// Cycles the IC charges for `create_canister`, on top of the new balance.
    fn create_canister_fee(&self) -> u128;
    /// The factory itself is being stopped: finish what is in flight, start
    /// nothing new (new calls would keep it from ever stopping).
    fn is_stopping(&self) -> bool {
        false
    }
}

/// A management-canister call that did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFailure {
    pub method: &'static str,
    pub reject_code: u32,
    pub message: String,
}

impl From<CallFailure> for FactoryError {
    fn from(f: CallFailure) -> Self {
        FactoryError::ManagementCall {
            method: f.method.to_string(),
            reject_code: f.reject_code,
            message: f.message,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallMode {
    Install,
    Upgrade,
}

/// `install_chunked_code` with the factory's chunk store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallChunked {
    pub mode: InstallMode,
    pub canister_id: Principal,
    pub store_canister: Principal,
    pub chunk_hashes: Vec<[u8; 32]>,
    pub module_hash: [u8; 32],
    pub arg: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Stopping,
    Stopped,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusInfo {
    pub status: RunStatus,
    pub module_hash: Option<Vec<u8>>,
    pub controllers: Vec<Principal>,
    pub cycles: u128,
    /// `idle_cycles_burned_per_day`: the burn without any message.
    pub idle_burn_per_day: u128,
    /// Below this balance the canister is frozen (from its freezing threshold).
    pub freezing_limit: u128,
}

pub type CallResult<T> = Result<T, CallFailure>;

/// The cycles ledger's `withdraw_from`: `amount` from the payer's account
/// (which approved the factory) to the factory's balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithdrawFrom {
    pub from: Principal,
    pub from_subaccount: Option<Vec<u8>>,
    pub amount: u128,
    pub created_at_time: u64,
}

/// The ledger's typed refusals the factory acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerRefusal {
    InsufficientAllowance {
        allowance: u128,
    },
    InsufficientFunds {
        balance: u128,
    },
    /// The same transaction (payer, amount, created_at_time) already went through.
    Duplicate,
    Other(String),
}

/// The management-canister methods the factory uses.
#[allow(async_fn_in_trait)] // used with concrete types only; no Send needed on the IC
pub trait Management {
    async fn create_canister(
        &self,
        controllers: Vec<Principal>,
        cycles: u128,
    ) -> CallResult<Principal>;
    async fn install_chunked_code(&self, args: InstallChunked) -> CallResult<()>;
    async fn upload_chunk(&self, store: Principal, chunk: Vec<u8>) -> CallResult<[u8; 32]>;
    async fn clear_chunk_store(&self, store: Principal) -> CallResult<()>;
    async fn set_controllers(
        &self,
        canister: Principal,
        controllers: Vec<Principal>,
    ) -> CallResult<()>;
    async fn canister_status(&self, canister: Principal) -> CallResult<StatusInfo>;
    async fn stop_canister(&self, canister: Principal) -> CallResult<()>;
    async fn start_canister(&self, canister: Principal) -> CallResult<()>;
    /// Returns the new snapshot's id; `replace` names one to replace.
    async fn take_snapshot(
        &self,
        canister: Principal,
        replace: Option<Vec<u8>>,
    ) -> CallResult<Vec<u8>>;
    async fn load_snapshot(&self, canister: Principal, snapshot_id: Vec<u8>) -> CallResult<()>;
    /// `take_canister_snapshot` with `uninstall_code = true`: one atomic
    /// step, so a canister is never left without code and without snapshot.
    async fn take_snapshot_and_uninstall(&self, canister: Principal) -> CallResult<Vec<u8>>;
    /// `install_code` in install mode with a small module given whole (the
    /// reclaim's drain module; releases go through the chunk store).
    async fn install_code(
        &self,
        canister: Principal,
        module: Vec<u8>,
        arg: Vec<u8>,
    ) -> CallResult<()>;
    /// The drain module's `drain` update on `canister` (`cycles::reclaim::drain`):
    /// it sends its cycles above what it keeps to the factory.
    async fn drain(&self, canister: Principal) -> CallResult<()>;
    /// `delete_canister` (it must be stopped); its remaining cycles are burned.
    async fn delete_canister(&self, canister: Principal) -> CallResult<()>;
    /// Sends `amount` of the factory's cycles to `canister`.
    async fn deposit_cycles(&self, canister: Principal, amount: u128) -> CallResult<()>;
    /// The cycles ledger (not the management canister, but the one other
    /// canister the factory pays through).
    async fn ledger_withdraw_from(&self, a: WithdrawFrom) -> CallResult<Result<(), LedgerRefusal>>;
    /// Credits `to`'s ledger account with `cycles` of the factory's (a refund).
    async fn ledger_deposit(&self, to: Principal, cycles: u128) -> CallResult<()>;
}

/// Everything a flow works with.
pub struct Ctx<'a, E, G, M: Memory> {
    pub env: &'a E,
    pub mgmt: &'a G,
    pub state: &'a RefCell<FactoryState<M>>,
}

// References only: a worker owns its copy.
impl<E, G, M: Memory> Clone for Ctx<'_, E, G, M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E, G, M: Memory> Copy for Ctx<'_, E, G, M> {}

impl<E: Env, G: Management, M: Memory> Ctx<'_, E, G, M> {
    /// Runs `f` on the state; never held across an await.
    pub fn with<T>(&self, f: impl FnOnce(&mut FactoryState<M>) -> T) -> T {
        f(&mut self.state.borrow_mut())
    }
}
