//! The Candid types of the interface (`user_canister.did` is generated from them).

use candid::{CandidType, Deserialize, Principal};

/// The factory's install/upgrade argument and the `version` convention come from the
/// guest library, as for any app the factory manages.
pub use factory_guest::{InstallArgs, VersionInfo};
/// The name this crate used before the guest library.
pub type UserCanisterArgs = InstallArgs;

/// What `health` answers: enough to see that the canister runs and how full it is.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// The release version the factory installed.
    pub release: String,
    /// The layout version of the data in stable memory.
    pub schema_version: u32,
    /// The canister's cycle balance.
    pub cycles: u128,
    /// How many records the owner stores.
    pub records: u64,
    /// Bytes counted against the quota: keys plus values.
    pub data_bytes: u64,
    /// The most `data_bytes` may reach.
    pub quota_bytes: u64,
    /// The most records the store accepts.
    pub max_records: u64,
    /// Size of the whole stable memory, in 64 KiB pages.
    pub stable_memory_pages: u64,
    /// Size of the wasm heap, in 64 KiB pages (dropped at every upgrade).
    pub heap_memory_pages: u64,
}

/// The argument of `list`: one page of keys in ascending order.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ListRequest {
    /// List the keys after this one; none starts at the first key.
    pub start_after: Option<String>,
    /// How many keys at most: 1 to the limit `list` documents (1000).
    pub limit: u32,
}

/// One key of a `list` page.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub key: String,
    /// The value's size in bytes.
    pub size: u64,
    /// When the value was last written (nanoseconds since the epoch).
    pub updated_at: u64,
}

/// A page of `list`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ListPage {
    pub keys: Vec<KeyInfo>,
    /// Pass as `start_after` for the next page; none when this is the last one.
    pub next: Option<String>,
}

/// Every way a call can be refused. Nothing is written when one is returned.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum UserError {
    /// Only the owner may call this endpoint.
    NotOwner { caller: Principal },
    /// Only the owner, the factory or a controller may call this endpoint.
    Unauthorized { caller: Principal },
    /// Keys must not be empty.
    EmptyKey,
    /// The key (in UTF-8 bytes) is longer than allowed.
    KeyTooLong { len: u64, max: u64 },
    /// The value is larger than allowed.
    ValueTooLarge { size: u64, max: u64 },
    /// `limit` must be between 1 and `max`.
    InvalidLimit { limit: u32, max: u32 },
    /// Storing `needed` bytes on top of `used` would pass the quota.
    QuotaExceeded { used: u64, needed: u64, quota: u64 },
    /// The store holds the most records it accepts.
    TooManyRecords { max: u64 },
    /// The requested release version is not a plausible version string.
    InvalidVersion { reason: String },
    /// Stable memory could not grow.
    OutOfStableMemory,
    /// The call was not sent: the balance above the freezing threshold is too low.
    InsufficientCycles { available: u128, required: u128 },
    /// The call was not sent (`ic0.call_perform` failed).
    CallFailed { reason: String },
}
