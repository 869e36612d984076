//! The factory's wire types: what `factory.did` says, as Rust.
//!
//! Clients (`factory_client`, `factoryctl`, the scenarios, the benchmarks)
//! depend on this crate, not on the canister. The canister keeps its stored
//! records apart and maps them to these types where the two differ (`Plan`,
//! audit entries, the rollout history), so storage can change without
//! changing the interface. The release registry's types come from
//! `wasm_registry`, re-exported here.

pub mod args;
pub mod audit;
pub mod config;
pub mod cycles;
pub mod error;
pub mod fleet;
pub mod http;
pub mod methods;
pub mod reclaim;
pub mod rollout;
pub mod users;

pub use args::*;
pub use audit::{AuditAction, AuditEntry, AuditPage};
pub use config::{FactoryConfig, ProvisioningMode, RateLimit};
pub use cycles::*;
pub use error::FactoryError;
pub use fleet::{
    AddShardArgs, CreateShardArgs, FactoryRole, FleetRollout, FleetRolloutState, FleetShardRow,
    ShardProgress, ShardProvisionArgs, ShardReleaseRow, ShardRolloutArgs, ShardUpgradeRow,
    ShardView,
};
pub use http::{HttpRequest, HttpResponse};
pub use reclaim::*;
pub use rollout::*;
pub use users::{ListUsersArgs, Outcome, Phase, UserPage, UserView};
pub use wasm_registry::{
    Approval, BeginUpload, PathError, RegistryConfig, RegistryError, Release, ReleaseState, Sha256,
    StateChange, UploadChunk, UploadProgress, UploadStatus,
};
