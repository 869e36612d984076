//! `deploy`: installs the factory on the embedded network (a real network
//! deploys with dfx, see the README).

use crate::cli::{DeployArgs, GlobalArgs};
use crate::factory_install::install_factory;
use crate::transport::{embedded::EmbeddedNetwork, Network};
use anyhow::{bail, Result};

pub fn run(global: &GlobalArgs, args: &DeployArgs) -> Result<()> {
    if Network::parse(&global.network)? != Network::Embedded {
        bail!(
            "deploy installs on the embedded network; on {} use `dfx deploy factory` (see the README)",
            global.network
        );
    }
    let mut net = EmbeddedNetwork::open(&global.state_dir, global.as_principal)?;
    if let Some(factory) = net.meta.factory {
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
    let installed = install_factory(&net.emu, caller, admins.clone(), args.approvals_required)?;
    net.meta.factory = Some(installed.factory);
    net.meta.operator = Some(caller);
    net.save()?;
    println!("factory {}", installed.factory);
    println!("  module sha256: {}", installed.wasm_sha256);
    println!("  controller: {caller}");
    for a in &admins {
        println!("  admin: {a}");
    }
    println!("  state: {}", global.state_dir.display());
    Ok(())
}
