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
pub use factory::{
    audit::{AuditAction, AuditEntry, AuditPage},
    config::{FactoryConfig, ProvisioningMode},
    error::FactoryError,
    metrics::{HttpRequest, HttpResponse},
    rate_limit::RateLimit,
    rollout::model::{PauseReason, RolloutEnd, RolloutState},
    rollout::on_demand::UpgradeAccepted,
    rollout::plan::{
        RetryPolicy, RolloutFilter, RolloutPlan, SnapshotPolicy, StagePlan, TopUpPolicy,
    },
    rollout::status::{
        ActiveRollout, HistoryPage, HistoryQuery, PendingUpgrade, RolloutStatus, StagePhase,
        StageStatus, UpgradeStatus,
    },
    types::*,
    users::{Outcome, Phase, UserView},
};
pub use wasm_registry::{
    BeginUpload, RegistryConfig, Release, ReleaseState, Sha256, UploadChunk, UploadStatus,
};
