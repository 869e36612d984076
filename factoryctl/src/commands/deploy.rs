//! `deploy`: installs the factory on the embedded network, or over a local
//! network (`--network local|URL`, as dfx deploys there; see
//! `network_deploy`).

use crate::cli::{DeployArgs, GlobalArgs};
use crate::factory_install::{install_factory, install_factory_as};
use crate::network_deploy::{deploy_over, NetworkDeployError};
use crate::say;
use crate::transport::embedded::{EmbeddedNetwork, NetworkMeta};
use crate::transport::{remote_connection, Network, Remote};
use anyhow::{anyhow, bail, Result};
use candid::Principal;
use factory_api::config::check_approval_policy;
use factory_client::{EmulatorTransport, FactoryClient, FactoryRole, RegistryConfig, Transport};
use ic_emulator::Emulator;

pub fn run(global: &GlobalArgs, args: &DeployArgs) -> Result<()> {
    if let Network::Remote(remote) = Network::parse(&global.network)? {
        return deploy_remote(global, args, remote);
    }
    let net = EmbeddedNetwork::open(&global.state_dir, global.as_principal)?;
    if let Some(factory) = net.meta().factory {
        bail!(
            "a factory is already deployed at {factory} in {} (delete the directory to start over)",
            global.state_dir.display()
        );
    }
    let caller = net.sender();
    let admins = admins_of(args, caller)?;
    if let Some(n) = args.subnets {
        return deploy_fleet(global, &net, &admins, args.approvals_required, n);
    }
    let installed = install_factory(&net.emu(), caller, admins.clone(), args.approvals_required)?;
    net.set_meta(NetworkMeta {
        factory: Some(installed.factory),
        operator: Some(caller),
        ..net.meta()
    });
    net.save()?;
    say!("factory {}", installed.factory);
    say!("  module sha256: {}", installed.wasm_sha256);
    say!("  controller: {caller}");
    for a in &admins {
        say!("  admin: {a}");
    }
    say!("  state: {}", global.state_dir.display());
    Ok(())
}

/// `deploy --subnets N`: a fresh emulator with N + 1 application subnets
/// (and the CMC double, for `create_shard` on a chosen subnet), the index on
/// the first, a shard on each of the others, each registered at the index.
fn deploy_fleet(
    global: &GlobalArgs,
    net: &EmbeddedNetwork,
    admins: &[Principal],
    approvals_required: u32,
    shards: u8,
) -> Result<()> {
    let caller = net.sender();
    let emu = Emulator::builder()
        .with_application_subnets(usize::from(shards) + 1)
        .with_cmc_double()
        .build();
    net.replace_emulator(emu)?;
    let subnets = net.emu().subnets();
    let install = |role, subnet| {
        install_factory_as(
            &net.emu(),
            caller,
            admins.to_vec(),
            approvals_required,
            Some(role),
            Some(subnet),
        )
    };
    let index = install(FactoryRole::Index, subnets[0])?;
    say!("index {} on subnet {}", index.factory, subnets[0]);
    {
        let emu = net.emu();
        let admin = FactoryClient::new(EmulatorTransport::new(&emu, admins[0]), index.factory);
        for &subnet in &subnets[1..] {
            let shard = install(
                FactoryRole::Shard {
                    index: index.factory,
                },
                subnet,
            )?;
            admin
                .add_shard(shard.factory, None)
                .map_err(|e| anyhow!("registering shard {}: {e}", shard.factory))?;
            say!("  shard {} on subnet {subnet}", shard.factory);
        }
    }
    net.set_meta(NetworkMeta {
        factory: Some(index.factory),
        operator: Some(caller),
        ..net.meta()
    });
    net.save()?;
    say!("  module sha256: {}", index.wasm_sha256);
    say!("  controller: {caller}");
    for a in admins {
        say!("  admin: {a}");
    }
    say!("  state: {}", global.state_dir.display());
    say!("the index is the factory of this network: `factoryctl shards list`");
    Ok(())
}

/// The factory's admins (default: the caller), checked against the approval policy.
fn admins_of(args: &DeployArgs, caller: Principal) -> Result<Vec<Principal>> {
    let admins = if args.admins.is_empty() {
        vec![caller]
    } else {
        args.admins.clone()
    };
    check_approval_policy(
        &RegistryConfig {
            approvals_required: args.approvals_required,
            uploader_counts: true,
        },
        admins.len() as u64,
    )
    .map_err(|e| anyhow!("{e} (add admins with --admin)"))?;
    Ok(admins)
}

/// `deploy --network local|URL`: creates and installs the factory over the
/// network as the `--identity`, and records its id where network commands
/// look for it (`.dfx/<network>/canister_ids.json`, as dfx does).
fn deploy_remote(global: &GlobalArgs, args: &DeployArgs, remote: Remote) -> Result<()> {
    if global.as_principal.is_some() {
        bail!(
            "--as only applies to the embedded network; use --identity on {}",
            remote.url
        );
    }
    if args.subnets.is_some() {
        return Err(NetworkDeployError::Subnets(remote.url).into());
    }
    if !remote.fetch_root_key {
        return Err(NetworkDeployError::NotLocal(remote.url).into());
    }
    if let Ok(factory) = remote.factory_from_canister_ids() {
        bail!(
            "a factory is already recorded for {} at {factory} ({}): pass --factory to use it, or remove its entry to deploy another",
            remote.name,
            remote.local_canister_ids().display()
        );
    }
    let connection = remote_connection(remote.clone(), global.identity.as_deref())?;
    let caller = connection.sender();
    let admins = admins_of(args, caller)?;
    let installed = deploy_over(&connection, admins.clone(), args.approvals_required)?;
    let recorded = remote.record_factory(installed.factory)?;
    say!("factory {}", installed.factory);
    say!("  module sha256: {}", installed.wasm_sha256);
    say!("  controller: {caller}");
    for a in &admins {
        say!("  admin: {a}");
    }
    say!("  network: {}", remote.url);
    say!("  recorded in: {}", recorded.display());
    Ok(())
}
