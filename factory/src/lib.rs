//! The factory canister: provisions one canister per user, keeps the registry
//! of approved releases and upgrades the fleet.
//!
//! Flows (`provision`, `releases`, `recovery`, `upgrade`) are generic over the
//! [`runtime`] traits, so they run natively in unit tests against a fake
//! management canister and in the canister through `ic_runtime`; `api` holds
//! the thin endpoints.

pub mod admin;
mod api;
pub mod audit;
pub mod auth;
mod canister_index;
pub mod chunk_store;
pub mod config;
pub mod cycles;
pub mod dashboard;
pub mod error;
pub mod fleet;
mod guest;
mod ic_runtime;
pub mod lifecycle;
mod mappers;
pub mod metrics;
pub mod provision;
pub mod rate_limit;
pub mod recovery;
pub mod releases;
pub mod rollout;
pub mod runtime;
pub mod state;
mod storable;
pub mod types;
pub mod upgrade;
mod user_codec;
mod user_store;
mod user_wire;
pub mod users;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod footprint_tests;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod rollout_golden_tests;
#[cfg(test)]
mod testing;

// `export_candid!` names the types the endpoints use.
#[allow(unused_imports)]
use candid::Principal;
#[allow(unused_imports)]
use wasm_registry::{
    BeginUpload, RegistryConfig, Release, ReleaseState, Sha256, UploadChunk, UploadStatus,
};
#[allow(unused_imports)]
use {
    audit::AuditPage,
    config::FactoryConfig,
    error::FactoryError,
    factory_api::{
        AddShardArgs, CreateShardArgs, FleetRollout, ShardProgress, ShardProvisionArgs,
        ShardReleaseRow, ShardRolloutArgs, ShardUpgradeRow, ShardView,
    },
    metrics::*,
    rollout::{on_demand::UpgradeAccepted, plan::RolloutPlan, status::*},
    types::*,
    users::UserView,
};

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface_test {
    #[test]
    fn committed_did_matches_the_exported_service() {
        let did = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("factory.did");
        canister_artifacts::assert_did_matches(&did, &super::__export_service());
    }

    /// `factory_api::methods::Method` names every endpoint of the service, and
    /// only those: clients call by these names.
    #[test]
    fn the_api_crate_names_every_service_method() {
        let service = super::__export_service();
        let body = &service[service.rfind("service :").expect("a service")..];
        let mut methods: Vec<&str> = body
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.starts_with("//") && !l.starts_with("service"))
            .filter_map(|l| l.split_once(" : "))
            .map(|(name, _)| name.trim_matches('"'))
            .collect();
        let mut api: Vec<&str> = factory_api::methods::Method::all()
            .map(|m| m.name())
            .collect();
        let mut endpoints: Vec<&str> = crate::auth::Endpoint::ALL
            .iter()
            .map(|e| e.method_name())
            .collect();
        methods.sort();
        api.sort();
        endpoints.sort();
        assert_eq!(api, methods, "service:\n{body}");
        assert_eq!(endpoints, methods);
    }
}
