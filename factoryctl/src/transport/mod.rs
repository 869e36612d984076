//! How commands reach the factory: one `factory_client::Transport` over
//! either the embedded emulator or a real network (ic-agent), plus the one
//! thing commands need beyond calls: letting time pass while they wait.

#[cfg(feature = "network")]
mod agent;
pub mod embedded;
#[cfg(feature = "network")]
mod identity;
pub mod lock;
mod network;

pub use network::{Network, Remote};

use crate::cli::GlobalArgs;
use anyhow::{bail, Result};
use candid::Principal;
use factory_client::{FactoryClient, Transport, TransportError};

// One per process: the size difference of the variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Connection {
    Embedded(embedded::EmbeddedNetwork),
    #[cfg(feature = "network")]
    Agent(agent::AgentTransport),
}

impl Connection {
    /// The factory client, as the caller the global flags name. A real
    /// network's factory id is resolved before anything is sent.
    pub fn open_client(global: &GlobalArgs) -> Result<FactoryClient<Connection>> {
        match Network::parse(&global.network)? {
            Network::Embedded => {
                if global.identity.is_some() {
                    bail!("--identity applies to real networks; on the embedded network use --as <principal>");
                }
                let net = embedded::EmbeddedNetwork::open(&global.state_dir, global.as_principal)?;
                let factory = match global.factory {
                    Some(id) => id,
                    None => net.factory()?,
                };
                Ok(FactoryClient::new(Connection::Embedded(net), factory))
            }
            Network::Remote(remote) => {
                if global.as_principal.is_some() {
                    bail!(
                        "--as only applies to the embedded network; use --identity on {}",
                        remote.url
                    );
                }
                let factory = match global.factory {
                    Some(id) => id,
                    None => remote.factory_from_canister_ids()?,
                };
                let connection = remote_connection(remote, global.identity.as_deref())?;
                Ok(FactoryClient::new(connection, factory))
            }
        }
    }

    /// Lets a moment pass while waiting for the factory's timers: one round
    /// (and a second of virtual time) on the embedded network, a real second
    /// elsewhere. Fails once Ctrl-C was pressed: the command ends there, and
    /// what happened so far is kept (`close` saves it).
    pub fn pass_time(&self) -> Result<()> {
        if crate::interrupt::interrupted() {
            bail!("interrupted; what happened until now is kept");
        }
        match self {
            Connection::Embedded(net) => net.step(),
            #[cfg(feature = "network")]
            Connection::Agent(_) => {
                std::thread::sleep(std::time::Duration::from_secs(1));
                Ok(())
            }
        }
    }

    /// Seconds [`Connection::pass_time`] lets pass.
    pub const SECONDS_PER_STEP: u64 = 1;

    /// Keeps what happened: the embedded network settles and saves its state.
    pub fn close(self) -> Result<()> {
        match self {
            Connection::Embedded(net) => net.save(),
            #[cfg(feature = "network")]
            Connection::Agent(_) => Ok(()),
        }
    }
}

/// A PEM identity file, as `--identity` reads it.
#[cfg(feature = "network")]
pub fn load_identity(path: &str) -> Result<std::sync::Arc<dyn ic_agent::Identity>> {
    identity::load(Some(path))
}

/// A connection to a real network as `identity` (a key held in memory).
#[cfg(feature = "network")]
pub fn remote_connection_as(
    remote: network::Remote,
    identity: std::sync::Arc<dyn ic_agent::Identity>,
) -> Result<Connection> {
    Ok(Connection::Agent(agent::AgentTransport::connect(
        &remote, identity,
    )?))
}

/// A connection to a real network as `identity` (anonymous when `None`).
#[cfg(feature = "network")]
pub fn remote_connection(remote: network::Remote, identity: Option<&str>) -> Result<Connection> {
    let identity = identity::load(identity)?;
    Ok(Connection::Agent(agent::AgentTransport::connect(
        &remote, identity,
    )?))
}

#[cfg(not(feature = "network"))]
pub fn remote_connection(remote: network::Remote, _identity: Option<&str>) -> Result<Connection> {
    bail!(
        "{} is a real network, and this factoryctl was built without the `network` feature",
        remote.url
    )
}

impl Transport for Connection {
    fn sender(&self) -> Principal {
        match self {
            Connection::Embedded(net) => net.sender(),
            #[cfg(feature = "network")]
            Connection::Agent(a) => a.sender(),
        }
    }

    fn update(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        match self {
            Connection::Embedded(net) => net.update(canister, method, arg),
            #[cfg(feature = "network")]
            Connection::Agent(a) => a.update(canister, method, arg),
        }
    }

    fn query(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        match self {
            Connection::Embedded(net) => net.query(canister, method, arg),
            #[cfg(feature = "network")]
            Connection::Agent(a) => a.query(canister, method, arg),
        }
    }

    fn management_update(
        &self,
        target: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        match self {
            Connection::Embedded(net) => net.management_update(target, method, arg),
            #[cfg(feature = "network")]
            Connection::Agent(a) => a.management_update(target, method, arg),
        }
    }
}
