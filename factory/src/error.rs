//! Every way a factory endpoint can refuse or fail, one variant per case.

use candid::{CandidType, Deserialize, Principal};
use std::fmt;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum FactoryError {
    /// The anonymous principal cannot own, recover or administer anything.
    AnonymousCaller,
    /// The caller has none of the roles the endpoint allows.
    Unauthorized {
        endpoint: String,
    },
    /// Provisioning is allowlist-only and the caller is not on the list.
    NotAllowlisted,
    /// Provisioning is closed.
    ProvisioningClosed,
    /// Too many requests; retry after this many nanoseconds.
    RateLimited {
        retry_after_ns: u64,
    },
    /// Spending this would take the factory below its cycles reserve.
    InsufficientCycles {
        balance: u128,
        needed: u128,
    },
    /// No release is approved, so there is nothing to install.
    NoApprovedRelease,
    /// Another call is provisioning this owner's canister right now.
    ProvisioningInProgress,
    /// The caller (or the named principal) has no canister here.
    NoCanister,
    /// No user canister with this id is managed by the factory.
    UnknownCanister {
        canister_id: Principal,
    },
    /// The canister is in the middle of an upgrade or recovery action.
    CanisterBusy {
        canister_id: Principal,
    },
    /// No snapshot was taken before this canister's last upgrade.
    NoSnapshot,
    /// No earlier successful version is recorded for this canister.
    NoLastGoodVersion,
    InvalidConfig(String),
    InvalidArgument(String),
    /// Removing this admin would leave the factory without one.
    LastAdmin,
    TooManyAdmins {
        max: u32,
    },
    /// After an install the canister reports another module than the release's.
    ModuleHashMismatch {
        canister_id: Principal,
        version: String,
    },
    /// The release registry refused (unknown version, bad chunk, wrong state...).
    Registry(wasm_registry::RegistryError),
    /// The upgrade path does not allow this (downgrade, skipped step...).
    UpgradePath(wasm_registry::PathError),
    /// The rollout target is not a release in the registry.
    UnknownTarget {
        version: String,
    },
    /// The rollout target exists but is not approved (committed, deprecated, revoked...).
    TargetNotApproved {
        version: String,
        state: wasm_registry::ReleaseState,
    },
    /// A rollout is active; a plan with `supersede` replaces it.
    RolloutActive {
        id: u64,
    },
    /// There is no active rollout to pause, resume or cancel.
    NoActiveRollout,
    /// The rollout is not in a state that allows this (e.g. resuming a running one).
    RolloutState {
        state: String,
    },
    /// `max_in_flight` must be within 1..=max (the IC's queue capacity).
    InFlightOutOfRange {
        value: u32,
        max: u32,
    },
    /// `max_starts_per_tick` must be within 1..=max.
    StartsPerTickOutOfRange {
        value: u32,
        max: u32,
    },
    /// Stages must cover increasing shares of the fleet and end at 100 %.
    InvalidStages(String),
    /// A failure threshold above 100 % (10,000 basis points).
    ThresholdOutOfRange {
        value: u16,
    },
    /// Retry policy out of range (attempts, backoff).
    InvalidRetryPolicy(String),
    /// Too many entries in a filter list.
    FilterTooLarge {
        field: String,
        max: u32,
    },
    /// A field outside its allowed range (tick interval, top-up...).
    OutOfRange {
        field: String,
        why: String,
    },
    /// A call to the management canister failed.
    ManagementCall {
        method: String,
        reject_code: u32,
        message: String,
    },
}

impl fmt::Display for FactoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use FactoryError::*;
        match self {
            AnonymousCaller => write!(f, "the anonymous principal is not allowed here"),
            Unauthorized { endpoint } => write!(
                f,
                "the caller is not allowed to {}",
                endpoint.replace('_', " ")
            ),
            NotAllowlisted => write!(
                f,
                "provisioning is allowlist-only and the caller is not listed"
            ),
            ProvisioningClosed => write!(f, "provisioning is closed"),
            RateLimited { retry_after_ns } => {
                write!(
                    f,
                    "rate limited: retry in {} ms",
                    retry_after_ns.div_ceil(1_000_000)
                )
            }
            InsufficientCycles { balance, needed } => write!(
                f,
                "the factory needs {needed} cycles above its reserve and has {balance}"
            ),
            NoApprovedRelease => write!(f, "no approved release to install"),
            ProvisioningInProgress => {
                write!(f, "this owner's canister is being provisioned; retry")
            }
            NoCanister => write!(f, "no canister is provisioned for this principal"),
            UnknownCanister { canister_id } => write!(f, "{canister_id} is not managed here"),
            CanisterBusy { canister_id } => write!(f, "{canister_id} is busy with another action"),
            NoSnapshot => write!(f, "no snapshot was taken before the last upgrade"),
            NoLastGoodVersion => write!(f, "no earlier successful version is recorded"),
            InvalidConfig(why) => write!(f, "invalid config: {why}"),
            InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            LastAdmin => write!(f, "the last admin cannot be removed"),
            TooManyAdmins { max } => write!(f, "at most {max} admins"),
            ModuleHashMismatch {
                canister_id,
                version,
            } => write!(
                f,
                "{canister_id} does not run {version}'s module after the install"
            ),
            Registry(e) => write!(f, "registry: {e}"),
            UpgradePath(e) => write!(f, "upgrade path: {e}"),
            UnknownTarget { version } => write!(f, "no release {version} in the registry"),
            TargetNotApproved { version, state } => {
                write!(f, "release {version} is {state}, not approved")
            }
            RolloutActive { id } => write!(
                f,
                "rollout {id} is active; cancel it, or start the new one as its replacement (factoryctl: --supersede)"
            ),
            NoActiveRollout => write!(f, "no active rollout"),
            RolloutState { state } => write!(f, "not allowed while the rollout is {state}"),
            InFlightOutOfRange { value, max } => {
                write!(f, "max_in_flight {value} is outside 1..={max}")
            }
            StartsPerTickOutOfRange { value, max } => {
                write!(f, "max_starts_per_tick {value} is outside 1..={max}")
            }
            InvalidStages(why) => write!(f, "invalid stages: {why}"),
            ThresholdOutOfRange { value } => {
                write!(f, "failure threshold {value} bps is above 10000")
            }
            InvalidRetryPolicy(why) => write!(f, "invalid retry policy: {why}"),
            FilterTooLarge { field, max } => write!(f, "{field} has more than {max} entries"),
            OutOfRange { field, why } => write!(f, "{field}: {why}"),
            ManagementCall {
                method,
                reject_code,
                message,
            } => write!(
                f,
                "management canister {method} failed (reject {reject_code}): {message}"
            ),
        }
    }
}

impl std::error::Error for FactoryError {}

impl From<wasm_registry::RegistryError> for FactoryError {
    fn from(e: wasm_registry::RegistryError) -> Self {
        FactoryError::Registry(e)
    }
}

impl From<wasm_registry::PathError> for FactoryError {
    fn from(e: wasm_registry::PathError) -> Self {
        FactoryError::UpgradePath(e)
    }
}
