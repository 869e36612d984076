//! `deploy` over a network (`--network local|URL`): what dfx does on a local
//! network, through any [`Transport`]: create the factory canister with
//! provisional cycles, controlled by the caller, then install the factory's
//! release artifact with the init argument the embedded deploy uses.
//!
//! Why `provisional_create_canister_with_cycles` and not the cycles ledger's
//! `create_canister` (icp-cli's way): a local network (dfx's replica,
//! PocketIC, `factoryctl serve`) lets any caller create canisters with
//! provisional cycles, so the caller needs no funded ledger account and the
//! factory gets the cycles it runs a fleet on in one call. The IC refuses
//! provisional creation outside its whitelist: there, deploy with dfx or
//! icp-cli (a cycles wallet or ledger pays).

use crate::factory_install::{init_arg, Installed, FACTORY_CYCLES};
use candid::{Nat, Principal};
use factory_client::{Transport, TransportError};
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, CanisterSettings, InstallCodeArgs,
    ProvisionalCreateCanisterWithCyclesArgs,
};

/// The effective canister id a provisional create is routed by: the first
/// id of a local network's default subnet range (dfx's replica, PocketIC's
/// default effective canister id, the emulator's `canister_id_from_u64(0)`).
/// The call names no canister; any id the subnet owns routes it there.
/// (`rwlgt-iiaaa-aaaaa-aaaaa-cai`)
pub const CREATE_ROUTE: Principal = Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);

#[derive(Debug, thiserror::Error)]
pub enum NetworkDeployError {
    #[error("{0} is the IC: it creates canisters with provisional cycles only for whitelisted principals; deploy the factory there with dfx or icp-cli (a wallet or the cycles ledger pays)")]
    NotLocal(String),
    #[error("--subnets deploys a fleet of emulated subnets: embedded network only (on {0}, deploy an index and shards with dfx or icp-cli)")]
    Subnets(String),
    #[error("the network refused to create the factory canister with provisional cycles ({0}); a local network (dfx, PocketIC, factoryctl serve) allows it, the IC does not")]
    CreateRefused(TransportError),
    #[error("installing the factory in {canister}: {reason}")]
    InstallRefused {
        canister: Principal,
        reason: TransportError,
    },
    #[error("the network's reply to {method} is not what the interface spec says: {detail}")]
    BadReply { method: String, detail: String },
    #[error("{0}")]
    Artifact(String),
}

/// Creates the factory (controller: the caller; cycles: [`FACTORY_CYCLES`])
/// and installs the factory artifact with `admins` and `approvals_required`.
pub fn deploy_over(
    transport: &impl Transport,
    admins: Vec<Principal>,
    approvals_required: u32,
) -> Result<Installed, NetworkDeployError> {
    let artifacts = canister_artifacts::ensure_built()
        .map_err(|e| NetworkDeployError::Artifact(format!("building the canisters: {e}")))?;
    let arg = init_arg(admins, approvals_required, None)
        .map_err(|e| NetworkDeployError::Artifact(format!("{e:#}")))?;
    let caller = transport.sender();
    let create = ProvisionalCreateCanisterWithCyclesArgs {
        amount: Some(Nat::from(FACTORY_CYCLES)),
        settings: Some(CanisterSettings {
            controllers: Some(vec![caller]),
            ..Default::default()
        }),
        specified_id: None,
        sender_canister_version: None,
    };
    let reply = transport
        .management_update(
            CREATE_ROUTE,
            "provisional_create_canister_with_cycles",
            encode("provisional_create_canister_with_cycles", &create)?,
        )
        .map_err(NetworkDeployError::CreateRefused)?;
    let factory = candid::decode_one::<CanisterIdRecord>(&reply)
        .map_err(|e| NetworkDeployError::BadReply {
            method: "provisional_create_canister_with_cycles".into(),
            detail: e.to_string(),
        })?
        .canister_id;
    let install = InstallCodeArgs {
        mode: CanisterInstallMode::Install,
        canister_id: factory,
        wasm_module: artifacts.factory.wasm_gz.clone(),
        arg,
        sender_canister_version: None,
    };
    transport
        .management_update(factory, "install_code", encode("install_code", &install)?)
        .map_err(|reason| NetworkDeployError::InstallRefused {
            canister: factory,
            reason,
        })?;
    Ok(Installed {
        factory,
        wasm_sha256: artifacts.factory.sha256_hex(),
    })
}

fn encode(method: &str, arg: &impl candid::CandidType) -> Result<Vec<u8>, NetworkDeployError> {
    candid::encode_one(arg).map_err(|e| NetworkDeployError::BadReply {
        method: method.into(),
        detail: format!("encoding the argument: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use factory_client::{EmulatorTransport, FactoryClient};
    use ic_emulator::Emulator;

    #[test]
    fn the_route_is_the_emulators_first_canister_id() {
        assert_eq!(CREATE_ROUTE, ic_emulator::ids::canister_id_from_u64(0));
        assert_eq!(CREATE_ROUTE.to_text(), "rwlgt-iiaaa-aaaaa-aaaaa-cai");
    }

    #[test]
    fn a_user_deploys_the_factory_as_its_controller_and_admin() {
        let emu = Emulator::new();
        let user = Principal::self_authenticating([7u8; 32]);
        let installed = deploy_over(&EmulatorTransport::new(&emu, user), vec![user], 1).unwrap();
        let client = FactoryClient::new(EmulatorTransport::new(&emu, user), installed.factory);
        assert_eq!(client.list_admins().unwrap(), vec![user]);
        assert_eq!(
            emu.get_controllers(installed.factory),
            vec![user],
            "the caller controls the factory"
        );
    }
}
