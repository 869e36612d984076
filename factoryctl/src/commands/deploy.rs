//! `deploy`: installs the factory on the embedded network (a real network
//! deploys with dfx, see the README).

use crate::cli::{DeployArgs, GlobalArgs};
use crate::factory_install::install_factory;
use crate::say;
use crate::transport::embedded::{EmbeddedNetwork, NetworkMeta};
use crate::transport::Network;
use anyhow::{anyhow, bail, Result};
use factory_api::config::check_approval_policy;
use factory_client::RegistryConfig;

pub fn run(global: &GlobalArgs, args: &DeployArgs) -> Result<()> {
    if Network::parse(&global.network)? != Network::Embedded {
        bail!(
            "deploy installs on the embedded network; on {} use `dfx deploy factory` (see the README)",
            global.network
        );
    }
    let net = EmbeddedNetwork::open(&global.state_dir, global.as_principal)?;
    if let Some(factory) = net.meta().factory {
        bail!(
            "a factory is already deployed at {factory} in {} (delete the directory to start over)",
            global.state_dir.display()
        );
    }
    let caller = net.sender();
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
