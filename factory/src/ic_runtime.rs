//! The runtime traits implemented with ic-cdk: the real IC (and the emulator).

use crate::runtime::{
    CallFailure, CallResult, Env, InstallChunked, InstallMode, LedgerRefusal, Management,
    RunStatus, StatusInfo, WithdrawFrom,
};
use candid::utils::ArgumentEncoder;
use candid::{CandidType, Deserialize, Nat, Principal};
use ic_cdk::call::{Call, CallFailed};
use ic_management_canister_types as mgmt;
use std::cell::Cell;

thread_local! {
    /// Management calls sent and not answered yet (heap: what the running
    /// module itself awaits; `pre_upgrade` reads it).
    static OUTSTANDING: Cell<u32> = const { Cell::new(0) };
}

/// Management calls this module awaits right now.
pub fn outstanding_calls() -> u32 {
    OUTSTANDING.get()
}

/// Counts one call while its future lives (dropped: answered or cancelled).
pub(crate) struct Outstanding;

impl Outstanding {
    pub(crate) fn new() -> Self {
        OUTSTANDING.set(OUTSTANDING.get().saturating_add(1));
        Outstanding
    }
}

impl Drop for Outstanding {
    fn drop(&mut self) {
        OUTSTANDING.set(OUTSTANDING.get().saturating_sub(1));
    }
}

pub struct IcEnv;

impl Env for IcEnv {
    fn now_ns(&self) -> u64 {
        ic_cdk::api::time()
    }
    fn self_id(&self) -> Principal {
        ic_cdk::api::canister_self()
    }
    fn cycles_balance(&self) -> u128 {
        ic_cdk::api::canister_cycle_balance()
    }
    fn create_canister_fee(&self) -> u128 {
        ic_cdk::api::cost_create_canister()
    }
    fn is_stopping(&self) -> bool {
        ic_cdk::api::canister_status() != ic_cdk::api::CanisterStatusCode::Running
    }
}

/// How long the factory waits for a canister to stop before starting it
/// again and counting the upgrade as failed.
pub const STOP_TIMEOUT_SECONDS: u32 = 300;

pub struct IcManagement;

fn failure(method: &'static str, e: CallFailed) -> CallFailure {
    let (reject_code, message) = match &e {
        CallFailed::CallRejected(r) => (r.raw_reject_code(), r.reject_message().to_string()),
        other => (0, other.to_string()),
    };
    CallFailure {
        method,
        reject_code,
        message,
    }
}

/// One management call: unbounded wait (the default for state-changing
/// calls, whose outcome must be known) unless a timeout is given.
async fn call<A: ArgumentEncoder, R: for<'de> Deserialize<'de> + CandidType>(
    method: &'static str,
    args: &A,
    cycles: u128,
    timeout_seconds: Option<u32>,
) -> CallResult<R> {
    call_to(
        Principal::management_canister(),
        method,
        args,
        cycles,
        timeout_seconds,
    )
    .await
}

async fn call_to<A: ArgumentEncoder, R: for<'de> Deserialize<'de> + CandidType>(
    target: Principal,
    method: &'static str,
    args: &A,
    cycles: u128,
    timeout_seconds: Option<u32>,
) -> CallResult<R> {
    let call = match timeout_seconds {
        Some(t) => Call::bounded_wait(target, method).change_timeout(t),
        None => Call::unbounded_wait(target, method),
    };
    let _outstanding = Outstanding::new();
    let response = call
        .with_args(args)
        .with_cycles(cycles)
        .await
        .map_err(|e| failure(method, e))?;
    response.candid::<R>().map_err(|e| CallFailure {
        method,
        reject_code: 0,
        message: format!("undecodable reply: {e}"),
    })
}

fn id(canister_id: Principal) -> mgmt::CanisterIdRecord {
    mgmt::CanisterIdRecord { canister_id }
}

/// The part of `canister_status`'s reply the factory reads; Candid ignores the
/// other fields, so this keeps working as the IC adds some.
#[derive(CandidType, Deserialize)]
struct StatusReply {
    status: mgmt::CanisterStatusType,
    module_hash: Option<Vec<u8>>,
    settings: StatusSettings,
    cycles: Nat,
    idle_cycles_burned_per_day: Nat,
}

#[derive(CandidType, Deserialize)]
struct StatusSettings {
    controllers: Vec<Principal>,
    freezing_threshold: Nat,
}

fn nat_u128(n: Nat) -> u128 {
    u128::try_from(n.0).unwrap_or(u128::MAX)
}

impl Management for IcManagement {
    async fn create_canister(
        &self,
        controllers: Vec<Principal>,
        cycles: u128,
    ) -> CallResult<Principal> {
        let args = mgmt::CreateCanisterArgs {
            settings: Some(mgmt::CanisterSettings {
                controllers: Some(controllers),
                ..Default::default()
            }),
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        };
        let fee = ic_cdk::api::cost_create_canister();
        let reply: mgmt::CanisterIdRecord = call(
            "create_canister",
            &(args,),
            fee.saturating_add(cycles),
            None,
        )
        .await?;
        Ok(reply.canister_id)
    }

    async fn install_chunked_code(&self, a: InstallChunked) -> CallResult<()> {
        let args = mgmt::InstallChunkedCodeArgs {
            mode: match a.mode {
                InstallMode::Install => mgmt::CanisterInstallMode::Install,
                InstallMode::Upgrade => mgmt::CanisterInstallMode::Upgrade(None),
            },
            target_canister: a.canister_id,
            store_canister: Some(a.store_canister),
            chunk_hashes_list: a
                .chunk_hashes
                .iter()
                .map(|h| mgmt::ChunkHash { hash: h.to_vec() })
                .collect(),
            wasm_module_hash: a.module_hash.to_vec(),
            arg: a.arg,
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        };
        call("install_chunked_code", &(args,), 0, None).await
    }

    async fn upload_chunk(&self, store: Principal, chunk: Vec<u8>) -> CallResult<[u8; 32]> {
        let args = mgmt::UploadChunkArgs {
            canister_id: store,
            chunk,
        };
        let reply: mgmt::ChunkHash = call("upload_chunk", &(args,), 0, None).await?;
        reply.hash.try_into().map_err(|_| CallFailure {
            method: "upload_chunk",
            reject_code: 0,
            message: "chunk hash is not 32 bytes".into(),
        })
    }

    async fn clear_chunk_store(&self, store: Principal) -> CallResult<()> {
        call("clear_chunk_store", &(id(store),), 0, None).await
    }

    async fn set_controllers(
        &self,
        canister: Principal,
        controllers: Vec<Principal>,
    ) -> CallResult<()> {
        let args = mgmt::UpdateSettingsArgs {
            canister_id: canister,
            settings: mgmt::CanisterSettings {
                controllers: Some(controllers),
                ..Default::default()
            },
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        };
        call("update_settings", &(args,), 0, None).await
    }

    async fn canister_status(&self, canister: Principal) -> CallResult<StatusInfo> {
        let reply: StatusReply = call("canister_status", &(id(canister),), 0, None).await?;
        Ok(StatusInfo {
            status: match reply.status {
                mgmt::CanisterStatusType::Running => RunStatus::Running,
                mgmt::CanisterStatusType::Stopping => RunStatus::Stopping,
                mgmt::CanisterStatusType::Stopped => RunStatus::Stopped,
            },
            module_hash: reply.module_hash,
            freezing_limit: crate::cycles::policy::freezing_limit(
                nat_u128(reply.idle_cycles_burned_per_day.clone()),
                u64::try_from(reply.settings.freezing_threshold.0).unwrap_or(u64::MAX),
            ),
            idle_burn_per_day: nat_u128(reply.idle_cycles_burned_per_day),
            controllers: reply.settings.controllers,
            cycles: nat_u128(reply.cycles),
        })
    }

    async fn stop_canister(&self, canister: Principal) -> CallResult<()> {
        call(
            "stop_canister",
            &(id(canister),),
            0,
            Some(STOP_TIMEOUT_SECONDS),
        )
        .await
    }

    async fn start_canister(&self, canister: Principal) -> CallResult<()> {
        call("start_canister", &(id(canister),), 0, None).await
    }

    async fn take_snapshot(
        &self,
        canister: Principal,
        replace: Option<Vec<u8>>,
    ) -> CallResult<Vec<u8>> {
        let args = mgmt::TakeCanisterSnapshotArgs {
            canister_id: canister,
            replace_snapshot: replace,
            uninstall_code: None,
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        };
        let reply: mgmt::Snapshot = call("take_canister_snapshot", &(args,), 0, None).await?;
        Ok(reply.id)
    }

    async fn load_snapshot(&self, canister: Principal, snapshot_id: Vec<u8>) -> CallResult<()> {
        let args = mgmt::LoadCanisterSnapshotArgs {
            canister_id: canister,
            snapshot_id,
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        };
        call("load_canister_snapshot", &(args,), 0, None).await
    }

    async fn take_snapshot_and_uninstall(&self, canister: Principal) -> CallResult<Vec<u8>> {
        let args = mgmt::TakeCanisterSnapshotArgs {
            canister_id: canister,
            replace_snapshot: None,
            uninstall_code: Some(true),
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        };
        let reply: mgmt::Snapshot = call("take_canister_snapshot", &(args,), 0, None).await?;
        Ok(reply.id)
    }

    async fn install_code(
        &self,
        canister: Principal,
        module: Vec<u8>,
        arg: Vec<u8>,
    ) -> CallResult<()> {
        let args = mgmt::InstallCodeArgs {
            mode: mgmt::CanisterInstallMode::Install,
            canister_id: canister,
            wasm_module: module,
            arg,
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        };
        call("install_code", &(args,), 0, None).await
    }

    async fn drain(&self, canister: Principal) -> CallResult<()> {
        call_to(canister, "drain", &(), 0, None).await
    }

    async fn delete_canister(&self, canister: Principal) -> CallResult<()> {
        call("delete_canister", &(id(canister),), 0, None).await
    }

    async fn deposit_cycles(&self, canister: Principal, amount: u128) -> CallResult<()> {
        call("deposit_cycles", &(id(canister),), amount, None).await
    }

    async fn ledger_withdraw_from(&self, a: WithdrawFrom) -> CallResult<Result<(), LedgerRefusal>> {
        let args = ledger::WithdrawFromArgs {
            spender_subaccount: None,
            from: ledger::Account {
                owner: a.from,
                subaccount: a.from_subaccount,
            },
            to: ic_cdk::api::canister_self(),
            amount: Nat::from(a.amount),
            created_at_time: Some(a.created_at_time),
        };
        let reply: ledger::WithdrawFromResult =
            call_to(ledger::id()?, "withdraw_from", &(args,), 0, None).await?;
        Ok(reply.into_result())
    }

    async fn ledger_deposit(&self, to: Principal, cycles: u128) -> CallResult<()> {
        let args = ledger::DepositArgs {
            to: ledger::Account {
                owner: to,
                subaccount: None,
            },
            memo: None,
        };
        let _: ledger::DepositResult =
            call_to(ledger::id()?, "deposit", &(args,), cycles, None).await?;
        Ok(())
    }
}

/// The cycles ledger's types the factory uses (dfinity/cycles-ledger,
/// `cycles-ledger/cycles-ledger.did`): Candid ignores the rest.
mod ledger {
    use super::*;

    pub fn id() -> CallResult<Principal> {
        Principal::from_text(crate::cycles::paid::CYCLES_LEDGER).map_err(|e| CallFailure {
            method: "withdraw_from",
            reject_code: 0,
            message: e.to_string(),
        })
    }

    #[derive(CandidType, Deserialize)]
    pub struct Account {
        pub owner: Principal,
        pub subaccount: Option<Vec<u8>>,
    }

    #[derive(CandidType, Deserialize)]
    pub struct WithdrawFromArgs {
        pub spender_subaccount: Option<Vec<u8>>,
        pub from: Account,
        pub to: Principal,
        pub amount: Nat,
        pub created_at_time: Option<u64>,
    }

    #[derive(CandidType, Deserialize)]
    pub enum WithdrawFromError {
        InsufficientAllowance { allowance: Nat },
        InsufficientFunds { balance: Nat },
        Duplicate { duplicate_of: Nat },
        GenericError { message: String, error_code: Nat },
        TemporarilyUnavailable,
        FailedToWithdrawFrom { rejection_reason: String },
        InvalidReceiver { receiver: Principal },
        CreatedInFuture { ledger_time: u64 },
        TooOld,
    }

    #[derive(CandidType, Deserialize)]
    pub enum WithdrawFromResult {
        Ok(Nat),
        Err(WithdrawFromError),
    }

    impl WithdrawFromResult {
        pub fn into_result(self) -> Result<(), LedgerRefusal> {
            use WithdrawFromError as E;
            let n = |v: Nat| u128::try_from(v.0).unwrap_or(u128::MAX);
            match self {
                WithdrawFromResult::Ok(_) => Ok(()),
                WithdrawFromResult::Err(e) => Err(match e {
                    E::InsufficientAllowance { allowance } => {
                        LedgerRefusal::InsufficientAllowance {
                            allowance: n(allowance),
                        }
                    }
                    E::InsufficientFunds { balance } => LedgerRefusal::InsufficientFunds {
                        balance: n(balance),
                    },
                    E::Duplicate { .. } => LedgerRefusal::Duplicate,
                    E::GenericError { message, .. } => LedgerRefusal::Other(message),
                    E::TemporarilyUnavailable => {
                        LedgerRefusal::Other("temporarily unavailable".into())
                    }
                    E::FailedToWithdrawFrom { rejection_reason } => {
                        LedgerRefusal::Other(format!("failed to withdraw: {rejection_reason}"))
                    }
                    E::InvalidReceiver { receiver } => {
                        LedgerRefusal::Other(format!("invalid receiver {receiver}"))
                    }
                    E::CreatedInFuture { .. } => {
                        LedgerRefusal::Other("created_at_time is in the future".into())
                    }
                    E::TooOld => LedgerRefusal::Other("created_at_time is too old".into()),
                }),
            }
        }
    }

    #[derive(CandidType, Deserialize)]
    pub struct DepositArgs {
        pub to: Account,
        pub memo: Option<Vec<u8>>,
    }

    #[derive(CandidType, Deserialize)]
    pub struct DepositResult {
        pub balance: Nat,
        pub block_index: Nat,
    }
}
