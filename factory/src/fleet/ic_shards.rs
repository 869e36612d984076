//! The index's calls to its shards and to the management canister about
//! them, with ic-cdk: the one ic-cdk file of the fleet. Unbounded waits: every call changes state whose outcome the index
//! must know (a bounded wait could time out on a call that did succeed).

use crate::error::FactoryError;
use crate::fleet::shard_install::{Mode, ShardControl};
use crate::fleet::shards::Shards;
use crate::ic_runtime::Outstanding;
use candid::utils::ArgumentEncoder;
use candid::{CandidType, Deserialize, Principal};
use factory_api::methods::Method;
use ic_cdk::call::Call;
use ic_management_canister_types as mgmt;

pub struct IcShards;

impl Shards for IcShards {
    async fn call<A, R>(&self, shard: Principal, method: Method, args: A) -> Result<R, FactoryError>
    where
        A: ArgumentEncoder,
        R: CandidType + for<'de> Deserialize<'de>,
    {
        let failed = |message: String| FactoryError::ShardCall { shard, message };
        // Counted like a management call: `pre_upgrade` refuses while a reply is due.
        let _outstanding = Outstanding::new();
        let reply = Call::unbounded_wait(shard, method.name())
            .with_args(&args)
            .await
            .map_err(|e| failed(format!("{}: {e}", method.name())))?;
        reply
            .candid::<Result<R, FactoryError>>()
            .map_err(|e| failed(format!("{}: undecodable reply: {e}", method.name())))?
    }
}

/// The index's management calls about its shards.
pub struct IcShardControl;

async fn management<A: CandidType, R: CandidType + for<'de> Deserialize<'de>>(
    method: &'static str,
    args: &A,
    cycles: u128,
) -> Result<R, FactoryError> {
    let failed = |message: String| FactoryError::ManagementCall {
        method: method.to_string(),
        reject_code: 0,
        message,
    };
    let _outstanding = Outstanding::new();
    let reply = Call::unbounded_wait(Principal::management_canister(), method)
        .with_arg(args)
        .with_cycles(cycles)
        .await
        .map_err(|e| failed(e.to_string()))?;
    reply
        .candid::<R>()
        .map_err(|e| failed(format!("undecodable reply: {e}")))
}

/// The cycles-minting canister (dfinity/ic `rs/nns/constants/src/lib.rs`,
/// `CYCLES_MINTING_CANISTER_ID`).
const CMC: &str = "rkp4c-7iaaa-aaaaa-aaaca-cai";

/// `CreateCanisterArg` of dfinity/ic `rs/nns/cmc/cmc.did`.
#[derive(CandidType)]
struct CmcCreateCanisterArg {
    settings: Option<mgmt::CanisterSettings>,
    subnet_type: Option<String>,
    subnet_selection: Option<CmcSubnetSelection>,
}

#[derive(CandidType)]
enum CmcSubnetSelection {
    Subnet { subnet: Principal },
}

/// `CreateCanisterError` of `rs/nns/cmc/cmc.did`.
#[derive(CandidType, Deserialize)]
enum CmcCreateCanisterError {
    Refunded {
        refund_amount: candid::Nat,
        create_error: String,
    },
}

/// The CMC's `create_canister` on `subnet`: the attached cycles pay the
/// subnet's creation fee, the rest is the canister's balance; a refusal
/// refunds all but a small penalty.
async fn create_on_subnet(
    settings: mgmt::CanisterSettings,
    cycles: u128,
    subnet: Principal,
) -> Result<Principal, FactoryError> {
    let failed = |message: String| FactoryError::ManagementCall {
        method: "cycles minting canister: create_canister".to_string(),
        reject_code: 0,
        message,
    };
    let cmc = Principal::from_text(CMC).map_err(|e| failed(e.to_string()))?;
    let arg = CmcCreateCanisterArg {
        settings: Some(settings),
        subnet_type: None,
        subnet_selection: Some(CmcSubnetSelection::Subnet { subnet }),
    };
    let _outstanding = Outstanding::new();
    let reply = Call::unbounded_wait(cmc, "create_canister")
        .with_arg(&arg)
        .with_cycles(cycles)
        .await
        .map_err(|e| failed(e.to_string()))?;
    match reply.candid::<Result<Principal, CmcCreateCanisterError>>() {
        Ok(Ok(id)) => Ok(id),
        Ok(Err(CmcCreateCanisterError::Refunded {
            refund_amount,
            create_error,
        })) => Err(failed(format!(
            "refused on subnet {subnet} ({refund_amount} cycles refunded): {create_error}"
        ))),
        Err(e) => Err(failed(format!("undecodable reply: {e}"))),
    }
}

impl ShardControl for IcShardControl {
    async fn create(
        &self,
        controllers: Vec<Principal>,
        cycles: u128,
        subnet: Option<Principal>,
    ) -> Result<Principal, FactoryError> {
        let settings = mgmt::CanisterSettings {
            controllers: Some(controllers),
            ..Default::default()
        };
        // The fee on this subnet's size. Through the CMC the target subnet
        // charges its own: the same between application subnets of one
        // size; a larger target refuses it and the CMC refunds.
        let fee = ic_cdk::api::cost_create_canister();
        if let Some(subnet) = subnet {
            return create_on_subnet(settings, fee.saturating_add(cycles), subnet).await;
        }
        let args = mgmt::CreateCanisterArgs {
            settings: Some(settings),
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        };
        let reply: mgmt::CanisterIdRecord =
            management("create_canister", &args, fee.saturating_add(cycles)).await?;
        Ok(reply.canister_id)
    }

    async fn install(
        &self,
        shard: Principal,
        mode: Mode,
        module: &[u8],
        arg: Vec<u8>,
    ) -> Result<(), FactoryError> {
        let args = mgmt::InstallCodeArgs {
            mode: match mode {
                Mode::Install => mgmt::CanisterInstallMode::Install,
                Mode::Upgrade => mgmt::CanisterInstallMode::Upgrade(None),
            },
            canister_id: shard,
            wasm_module: module.to_vec(),
            arg,
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        };
        management("install_code", &args, 0).await
    }

    async fn stop(&self, shard: Principal) -> Result<(), FactoryError> {
        management(
            "stop_canister",
            &mgmt::CanisterIdRecord { canister_id: shard },
            0,
        )
        .await
    }

    async fn start(&self, shard: Principal) -> Result<(), FactoryError> {
        management(
            "start_canister",
            &mgmt::CanisterIdRecord { canister_id: shard },
            0,
        )
        .await
    }
}
