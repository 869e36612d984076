//! Installing the factory from its release artifact on an emulator, as the
//! `deploy` command and the demo do (over a network: `network_deploy`, with
//! the same init argument).

use anyhow::{anyhow, Result};
use candid::Principal;
use factory_client::{
    FactoryArg, FactoryConfig, FactoryInitArgs, FactoryRole, RateLimit, RegistryConfig,
};
use ic_emulator::management_types::CanisterSettings;
use ic_emulator::{Emulator, SubnetId};

/// Cycles the factory starts with: room for well over 1,000 user canisters
/// (1 T each plus the creation fee) above its reserve.
pub const FACTORY_CYCLES: u128 = 10_000_000_000_000_000;

/// A local network's config: the default one, except that provisioning is
/// not rate-limited (the demo provisions a thousand users in a few seconds
/// of virtual time).
pub fn local_config() -> FactoryConfig {
    FactoryConfig {
        provision_rate: RateLimit {
            capacity: 1_000_000,
            refill_period_ns: 1,
        },
        ..FactoryConfig::default()
    }
}

/// The factory's init argument (Candid), the same on every network: these
/// admins, the local config, `approvals_required` distinct approvals.
pub fn init_arg(
    admins: Vec<Principal>,
    approvals_required: u32,
    role: Option<FactoryRole>,
) -> Result<Vec<u8>> {
    let arg = FactoryArg::Init(FactoryInitArgs {
        admins,
        config: Some(local_config()),
        approvals: Some(RegistryConfig {
            approvals_required,
            uploader_counts: true,
        }),
        role,
    });
    candid::encode_one(arg).map_err(|e| anyhow!("encoding the init argument: {e}"))
}

pub struct Installed {
    pub factory: Principal,
    pub wasm_sha256: String,
}

/// Creates the factory canister controlled by `operator` and installs the
/// release artifact of the factory (built first if its sources changed).
pub fn install_factory(
    emu: &Emulator,
    operator: Principal,
    admins: Vec<Principal>,
    approvals_required: u32,
) -> Result<Installed> {
    install_factory_as(emu, operator, admins, approvals_required, None, None)
}

/// [`install_factory`] in `role`, on `subnet` (the default subnet when `None`).
pub fn install_factory_as(
    emu: &Emulator,
    operator: Principal,
    admins: Vec<Principal>,
    approvals_required: u32,
    role: Option<FactoryRole>,
    subnet: Option<SubnetId>,
) -> Result<Installed> {
    let artifacts =
        canister_artifacts::ensure_built().map_err(|e| anyhow!("building the canisters: {e}"))?;
    let settings = CanisterSettings {
        controllers: Some(vec![operator]),
        ..Default::default()
    };
    let factory = match subnet {
        Some(subnet) => emu.try_create_canister_on_subnet(
            Some(operator),
            Some(settings),
            Some(FACTORY_CYCLES),
            subnet,
        ),
        None => emu.try_create_canister(Some(operator), Some(settings), Some(FACTORY_CYCLES), None),
    }
    .map_err(|e| anyhow!("creating the factory canister: {}", e.reject_message))?;
    let arg = init_arg(admins, approvals_required, role)?;
    emu.install_code(
        ic_emulator::management_types::CanisterInstallMode::Install,
        factory,
        artifacts.factory.wasm_gz.clone(),
        arg,
        Some(operator),
    )
    .map_err(|e| anyhow!("installing the factory: {}", e.reject_message))?;
    Ok(Installed {
        factory,
        wasm_sha256: artifacts.factory.sha256_hex(),
    })
}
