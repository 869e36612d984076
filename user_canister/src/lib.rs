//! The per-user canister: the app every user gets from the factory.
//!
//! The owner's records live in stable structures (`store`), so upgrades keep them without
//! a `pre_upgrade`. Endpoints here are thin: authorize (`auth`), call the pure core,
//! encode. Everything below the endpoints is free of ic-cdk and tested natively.
//!
//! Built to `wasm32-unknown-unknown` by `canister_artifacts`; the same crate compiles
//! natively so its Candid interface can be checked in a unit test.

pub mod auth;
pub mod limits;
pub mod migration;
pub mod pages;
pub mod record;
pub mod state;
pub mod store;
pub mod types;

pub use types::*;

use auth::Endpoint;
use factory_guest::RequestUpgradeError;
use ic_cdk::api::{canister_cycle_balance, is_controller, msg_caller, time};
use ic_stable_structures::DefaultMemoryImpl;
use serde_bytes::ByteBuf;
use state::State;
use std::cell::RefCell;

/// The factory's method that queues an upgrade of its caller.
pub const FACTORY_UPGRADE_METHOD: &str = factory_guest::REQUEST_UPGRADE_METHOD;

thread_local! {
    static STATE: RefCell<State<DefaultMemoryImpl>> =
        RefCell::new(State::open(DefaultMemoryImpl::default()));
}

fn with_state<R>(f: impl FnOnce(&State<DefaultMemoryImpl>) -> R) -> R {
    STATE.with_borrow(f)
}

fn with_state_mut<R>(f: impl FnOnce(&mut State<DefaultMemoryImpl>) -> R) -> R {
    STATE.with_borrow_mut(f)
}

/// The one check every endpoint makes, through `auth`.
fn authorize(endpoint: Endpoint) -> Result<(), UserError> {
    let caller = msg_caller();
    let role = with_state(|s| {
        let a = s.args();
        auth::role(caller, a.owner, a.factory, is_controller(&caller))
    });
    auth::authorize(endpoint, role, caller)
}

#[ic_cdk::init]
fn init(args: UserCanisterArgs) {
    // A trap fails the install: the factory sees why and no half-set canister remains.
    if let Err(e) = with_state_mut(|s| s.init(args)) {
        ic_cdk::trap(e);
    }
}

#[ic_cdk::post_upgrade]
fn post_upgrade(args: UserCanisterArgs) {
    match with_state_mut(|s| s.post_upgrade(args, time())) {
        Ok(None) => {}
        Ok(Some(m)) => ic_cdk::println!(
            "schema migrated {} -> {}: {} records",
            m.from,
            m.to,
            m.records
        ),
        // Rolls the upgrade back: the old code keeps running on the untouched data.
        Err(e) => ic_cdk::trap(e),
    }
}

/// Drops strangers' ingress before it is executed (and paid for). Not a security boundary:
/// every endpoint checks again.
#[ic_cdk::inspect_message]
fn inspect_message() {
    let method = ic_cdk::api::msg_method_name();
    if Endpoint::from_method(&method).is_some_and(|e| authorize(e).is_ok()) {
        ic_cdk::api::accept_message();
    }
}

#[ic_cdk::query]
fn version() -> VersionInfo {
    VersionInfo {
        release: with_state(|s| s.args().version.clone()),
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("CANISTER_GIT_COMMIT").map(str::to_string),
    }
}

#[ic_cdk::query]
fn health() -> Result<Health, UserError> {
    authorize(Endpoint::Health)?;
    Ok(with_state(|s| {
        let stats = s.store.stats();
        let limits = s.store.limits();
        Health {
            release: s.args().version.clone(),
            schema_version: s.schema_version(),
            cycles: canister_cycle_balance(),
            records: stats.records,
            data_bytes: stats.data_bytes,
            quota_bytes: limits.quota_bytes,
            max_records: limits.max_records,
            stable_memory_pages: ic_cdk::stable::stable_size(),
            heap_memory_pages: heap_pages(),
        }
    }))
}

fn heap_pages() -> u64 {
    #[cfg(target_arch = "wasm32")]
    let pages = core::arch::wasm32::memory_size(0) as u64;
    #[cfg(not(target_arch = "wasm32"))]
    let pages = 0;
    pages
}

#[ic_cdk::query]
fn get(key: String) -> Result<Option<ByteBuf>, UserError> {
    authorize(Endpoint::Get)?;
    with_state(|s| s.store.get(&key)).map(|v| v.map(ByteBuf::from))
}

/// Keys in ascending order, one page at a time (at most 1000 keys).
#[ic_cdk::query]
fn list(request: ListRequest) -> Result<ListPage, UserError> {
    authorize(Endpoint::List)?;
    with_state(|s| s.store.list(request.start_after.as_deref(), request.limit))
}

#[ic_cdk::update]
fn put(key: String, value: ByteBuf) -> Result<(), UserError> {
    authorize(Endpoint::Put)?;
    with_state_mut(|s| s.store.put(key, &value, time()))?;
    // Writes are what grow its burn: tell the factory when it runs low (a
    // notice not sent is no reason to fail the write).
    let factory = with_state(|s| s.args().factory);
    let _ = factory_guest::notify_if_low_on_cycles(factory, LOW_CYCLES_NOTICE_BELOW);
    // The owner is active: keeps the canister from being reclaimed as dormant.
    let _ = factory_guest::report_activity(factory);
    Ok(())
}

/// Below this liquid balance (above its freezing limit) the canister tells
/// the factory; the factory's own threshold decides whether to top it up.
const LOW_CYCLES_NOTICE_BELOW: u128 = 500_000_000_000;

#[ic_cdk::update]
fn delete(key: String) -> Result<bool, UserError> {
    authorize(Endpoint::Delete)?;
    let deleted = with_state_mut(|s| s.store.delete(&key))?;
    let factory = with_state(|s| s.args().factory);
    let _ = factory_guest::report_activity(factory);
    Ok(deleted)
}

/// Asks the factory to upgrade this canister (to `version`, or the newest approved one).
///
/// One-way on purpose: the factory will stop and upgrade this canister, so a callback
/// would either keep it from stopping or run in the new wasm. `Ok` means the request was
/// sent, not that an upgrade will happen: watch `version` for that.
#[ic_cdk::update]
fn request_upgrade(version: Option<String>) -> Result<(), UserError> {
    authorize(Endpoint::RequestUpgrade)?;
    limits::check_version_request(version.as_deref())?;
    let factory = with_state(|s| s.args().factory);
    factory_guest::request_upgrade(factory, version.as_deref()).map_err(|e| match e {
        RequestUpgradeError::InsufficientCycles {
            available,
            required,
        } => UserError::InsufficientCycles {
            available,
            required,
        },
        RequestUpgradeError::CallPerformFailed => UserError::CallFailed {
            reason: e.to_string(),
        },
    })
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface_test {
    use crate::auth::Endpoint;

    #[test]
    fn committed_did_matches_the_exported_service() {
        let did = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("user_canister.did");
        canister_artifacts::assert_did_matches(&did, &super::__export_service());
    }

    /// `auth` knows every method of the service, and only those: an endpoint added to the
    /// interface without a rule fails here.
    #[test]
    fn every_service_method_has_an_auth_rule() {
        let service = super::__export_service();
        let body = &service[service.rfind("service :").expect("a service")..];
        let methods: Vec<&str> = body
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.starts_with("//"))
            .filter_map(|l| l.split_once(" : "))
            .map(|(name, _)| name.trim_matches('"'))
            .filter(|name| !name.starts_with("service"))
            .collect();
        let mut known: Vec<&str> = Endpoint::ALL.iter().map(|e| e.method()).collect();
        let mut methods = methods;
        methods.sort();
        known.sort();
        assert_eq!(methods, known, "service:\n{body}");
    }
}
