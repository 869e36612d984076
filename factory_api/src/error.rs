//! Every way a factory endpoint can refuse or fail, one variant per case.

use candid::{CandidType, Deserialize, Principal};

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FactoryError {
    /// The anonymous principal cannot own, recover or administer anything.
    #[error("the anonymous principal is not allowed here")]
    AnonymousCaller,
    /// The caller has none of the roles the endpoint allows.
    #[error("the caller is not allowed to {}", endpoint.replace('_', " "))]
    Unauthorized { endpoint: String },
    /// Provisioning is allowlist-only and the caller is not on the list.
    #[error("provisioning is allowlist-only and the caller is not listed")]
    NotAllowlisted,
    /// Provisioning is closed.
    #[error("provisioning is closed")]
    ProvisioningClosed,
    /// Too many requests; retry after this many nanoseconds.
    #[error("rate limited: retry in {} ms", retry_after_ns.div_ceil(1_000_000))]
    RateLimited { retry_after_ns: u64 },
    /// Spending this would take the factory below its cycles reserve.
    #[error("the factory needs {needed} cycles above its reserve and has {balance}")]
    InsufficientCycles { balance: u128, needed: u128 },
    /// No release is approved, so there is nothing to install.
    #[error("no approved release to install")]
    NoApprovedRelease,
    /// Another call is provisioning this owner's canister right now.
    #[error("this owner's canister is being provisioned; retry")]
    ProvisioningInProgress,
    /// The caller (or the named principal) has no canister here.
    #[error("no canister is provisioned for this principal")]
    NoCanister,
    /// No user canister with this id is managed by the factory.
    #[error("{canister_id} is not managed here")]
    UnknownCanister { canister_id: Principal },
    /// The canister is in the middle of an upgrade or recovery action.
    #[error("{canister_id} is busy with another action")]
    CanisterBusy { canister_id: Principal },
    /// No snapshot was taken before this canister's last upgrade.
    #[error("no snapshot was taken before the last upgrade")]
    NoSnapshot,
    /// No earlier successful version is recorded for this canister.
    #[error("no earlier successful version is recorded")]
    NoLastGoodVersion,
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Removing this admin would leave the factory without one.
    #[error("the last admin cannot be removed")]
    LastAdmin,
    #[error("at most {max} admins")]
    TooManyAdmins { max: u32 },
    /// After an install the canister reports another module than the release's.
    #[error("{canister_id} does not run {version}'s module after the install")]
    ModuleHashMismatch {
        canister_id: Principal,
        version: String,
    },
    /// The release registry refused (unknown version, bad chunk, wrong state...).
    #[error("registry: {0}")]
    Registry(#[from] wasm_registry::RegistryError),
    /// The upgrade path does not allow this (downgrade, skipped step...).
    #[error("upgrade path: {0}")]
    UpgradePath(#[from] wasm_registry::PathError),
    /// The rollout target is not a release in the registry.
    #[error("no release {version} in the registry")]
    UnknownTarget { version: String },
    /// The rollout target exists but is not approved (committed, deprecated, revoked...).
    #[error("release {version} is {state}, not approved")]
    TargetNotApproved {
        version: String,
        state: wasm_registry::ReleaseState,
    },
    /// A rollout is active; a plan with `supersede` replaces it.
    #[error(
        "rollout {id} is active; cancel it, or start the new one as its replacement (factoryctl: --supersede)"
    )]
    RolloutActive { id: u64 },
    /// There is no active rollout to pause, resume or cancel.
    #[error("no active rollout")]
    NoActiveRollout,
    /// The rollout is not in a state that allows this (e.g. resuming a running one).
    #[error("not allowed while the rollout is {state}")]
    RolloutState { state: String },
    /// `max_in_flight` must be within 1..=max (the IC's queue capacity).
    #[error("max_in_flight {value} is outside 1..={max}")]
    InFlightOutOfRange { value: u32, max: u32 },
    /// `max_starts_per_tick` must be within 1..=max.
    #[error("max_starts_per_tick {value} is outside 1..={max}")]
    StartsPerTickOutOfRange { value: u32, max: u32 },
    /// Stages must cover increasing shares of the fleet and end at 100 %.
    #[error("invalid stages: {0}")]
    InvalidStages(String),
    /// A failure threshold above 100 % (10,000 basis points).
    #[error("failure threshold {value} bps is above 10000")]
    ThresholdOutOfRange { value: u16 },
    /// Retry policy out of range (attempts, backoff).
    #[error("invalid retry policy: {0}")]
    InvalidRetryPolicy(String),
    /// Too many entries in a filter list.
    #[error("{field} has more than {max} entries")]
    FilterTooLarge { field: String, max: u32 },
    /// A field outside its allowed range (tick interval, top-up...).
    #[error("{field}: {why}")]
    OutOfRange { field: String, why: String },
    /// The endpoint belongs to another role of the factory (e.g. `add_shard`
    /// on a standalone factory).
    #[error("{} is not available on a factory in the {role:?} role", endpoint.replace('_', " "))]
    WrongRole {
        endpoint: String,
        role: crate::fleet::FactoryRole,
    },
    /// Every shard is at its capacity: add a shard.
    #[error("every shard is full; add a shard")]
    NoShardCapacity,
    /// No shard with this id is registered at the index.
    #[error("{canister_id} is not a shard of this index")]
    UnknownShard { canister_id: Principal },
    /// The shard is registered already.
    #[error("{canister_id} is a shard already")]
    ShardExists { canister_id: Principal },
    /// A call from the index to a shard could not be made or was rejected
    /// (the shard's own typed refusals come back as themselves).
    #[error("shard {shard}: {message}")]
    ShardCall { shard: Principal, message: String },
    /// A call to the management canister failed.
    #[error("management canister {method} failed (reject {reject_code}): {message}")]
    ManagementCall {
        method: String,
        reject_code: u32,
        message: String,
    },
    /// Provisioning is paid: call `provision_paid` with an approval of this much.
    #[error("provisioning is paid: approve the factory for {price} cycles (plus the ledger fee) and call provision_paid")]
    PaymentRequired { price: u128 },
    /// The caller's approval on the cycles ledger is smaller than the price.
    #[error("the approval is {allowance} cycles; {needed} are needed")]
    InsufficientAllowance { allowance: u128, needed: u128 },
    /// The caller's cycles-ledger balance cannot pay.
    #[error("the cycles-ledger balance is {balance}; {needed} are needed")]
    InsufficientLedgerFunds { balance: u128, needed: u128 },
    /// This `created_at_time` paid for an attempt that was refunded: use a new one.
    #[error("this created_at_time was used by a refunded attempt; use a new one")]
    PaymentReused,
    /// The cycles ledger refused or could not be reached; nothing was charged,
    /// or a retry with the same created_at_time finds the payment.
    #[error("cycles ledger: {message}")]
    Ledger { message: String },
    /// The cycles keeper is off (`FactoryConfig.keeper` is not set).
    #[error("the cycles keeper is off")]
    KeeperOff,
    /// The canister was reclaimed (dormant): `revive` it first.
    #[error("canister {canister_id} was reclaimed as dormant: revive it first")]
    CanisterReclaimed { canister_id: Principal },
    /// `revive` of a canister that is not reclaimed.
    #[error("canister {canister_id} is not reclaimed")]
    NotReclaimed { canister_id: Principal },
}
