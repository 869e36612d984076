//! `principal new|from-pem`: a principal to pass to `--as` on the embedded
//! network, without dfx; or the one a PEM identity signs as on a real network.

use crate::say;
use anyhow::{bail, Context, Result};
use candid::Principal;
use clap::Subcommand;
use std::io::Read;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum PrincipalCommand {
    /// A new principal: random, or the same one every time for a --name.
    New {
        /// Derive it from this name (e.g. alice), so scripts can name users.
        #[arg(long)]
        name: Option<String>,
    },
    /// The principal of a PEM identity file (Ed25519 or secp256k1, as dfx writes).
    FromPem {
        /// The identity's PEM file.
        file: PathBuf,
    },
}

pub fn run(command: PrincipalCommand) -> Result<()> {
    let principal = match command {
        PrincipalCommand::New { name: Some(name) } => named(&name),
        PrincipalCommand::New { name: None } => random()?,
        PrincipalCommand::FromPem { file } => from_pem(&file)?,
    };
    say!("{principal}");
    Ok(())
}

/// The principal `principal new --name NAME` prints.
pub fn named(name: &str) -> Principal {
    Principal::self_authenticating(format!("factoryctl named principal {name}"))
}

fn random() -> Result<Principal> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .context("reading /dev/urandom")?;
    Ok(Principal::self_authenticating(seed))
}

#[cfg(feature = "network")]
fn from_pem(file: &std::path::Path) -> Result<Principal> {
    let path = file
        .to_str()
        .with_context(|| format!("{} is not a UTF-8 path", file.display()))?;
    if !file.exists() {
        bail!("{} does not exist", file.display());
    }
    let identity = crate::transport::load_identity(path)?;
    identity
        .sender()
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

#[cfg(not(feature = "network"))]
fn from_pem(_file: &std::path::Path) -> Result<Principal> {
    bail!("reading PEM identities needs the `network` feature (ic-agent)")
}
