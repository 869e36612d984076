//! A typed client of the factory canister.
//!
//! Every factory endpoint as a method returning `Result<T, ClientError>`,
//! where the factory's own typed refusals stay typed (`ClientError::Factory`),
//! plus the multi-step admin job of publishing a release in resumable 1 MiB
//! chunks. The same code path drives a real network and the emulator.

mod client;
#[cfg(feature = "emulator")]
mod emulator;
mod factory_upgrade;
mod publish;
mod transport;

#[cfg(feature = "emulator")]
pub use emulator::EmulatorTransport;

pub use client::{ClientError, FactoryClient};
pub use factory_upgrade::{FactoryUpgraded, MAX_MODULE_BYTES};
pub use publish::{module_hash, PublishOptions, PublishReport};
pub use transport::{Transport, TransportError};

/// The factory's Candid types, re-exported for callers.
pub use factory_api::*;
