//! An in-process Internet Computer emulator: a small PocketIC that runs real
//! canister wasm under wasmtime, with the IC's message semantics, the
//! management canister, virtual time and fault injection.
//!
//! Start with [`Emulator`] (its API mirrors `pocket_ic::PocketIc`), and
//! [`backend::IcBackend`] to write scenarios that also run on PocketIC.

pub mod backend;
mod builder;
mod certified;
mod cycles;
pub mod doubles;
mod driver;
mod engine;
mod error;
mod faults;
pub mod ids;
pub mod limits;
mod management;
mod persist;
mod scheduler;
mod state;
pub mod subnet;
mod system_api;

pub use builder::EmulatorBuilder;
pub use candid::Principal;
pub use certified::CertifiedCanister;
pub use driver::{Emulator, MessageId, RegisteredCallback, Time};
pub use error::{CallResult, ErrorCode, RejectCode, RejectResponse};
pub use faults::Fault;
pub use ic_management_canister_types as management_types;
pub use persist::{SaveReport, StateError, FORMAT_VERSION as STATE_FORMAT_VERSION};
pub use state::canister::InstructionStats;
pub use state::{DebugLine, InFlight};
pub use subnet::{BudgetUse, RoundUsage, StoppedInterval, SubnetConfig, SubnetId, XNetConfig};
pub use system_api::{Import as Ic0Import, IMPORTS as IC0_IMPORTS};

/// Cycle costs the emulator charges (`ic0.cost_*`).
pub mod costs {
    pub use crate::cycles::{cost_call, CREATE_CANISTER_FEE, DEFAULT_PROVISIONAL_CYCLES};
}
