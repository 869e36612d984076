//! The guest library: the contract between the factory and the user canisters
//! it manages, in one crate an app's canister depends on.
//!
//! - [`InstallArgs`]: what the factory passes to `init` and `post_upgrade`
//!   (owner, factory, release version, and the optional app-defined argument
//!   an admin attached to the release), with typed decoding and checks.
//! - [`request_upgrade`]: the one-way call asking the factory to upgrade this
//!   canister. One-way by construction: it returns before any reply, and no
//!   callback exists that could run in the new wasm.
//! - [`notify_if_low_on_cycles`]: the one-way, rate-limited "low on cycles"
//!   notice (the factory verifies it by reading the balance).
//! - [`report_activity`]: the one-way, rate-limited "my owner was active"
//!   report the factory measures dormancy by.
//! - [`VersionInfo`]: what the conventional `version` query answers.
//! - [`factory_managed!`]: the `version` and `request_upgrade` endpoints of a
//!   managed canister in one line.
//!
//! ```ignore
//! // A plain ic-cdk canister, factory-managed:
//! #[ic_cdk::init]
//! fn init(args: factory_guest::InstallArgs) { store(args.checked().unwrap_or_else(|e| ic_cdk::trap(e.to_string()))) }
//! #[ic_cdk::post_upgrade]
//! fn post_upgrade(args: factory_guest::InstallArgs) { /* migrate, then */ store(args.checked()...) }
//! factory_guest::factory_managed!(|| stored_args());
//! ```

mod activity;
mod args;
mod call;
mod endpoints;
mod low_cycles;
mod version;

pub use activity::{report_activity, report_due, MIN_REPORT_INTERVAL_NS, REPORT_ACTIVITY_METHOD};
pub use args::{GuestArgError, InstallArgs};
pub use call::{request_upgrade, RequestUpgradeError, REQUEST_UPGRADE_METHOD};
pub use low_cycles::{
    notice_due, notify_if_low_on_cycles, MIN_NOTICE_INTERVAL_NS, NOTIFY_LOW_CYCLES_METHOD,
};
pub use version::VersionInfo;

/// Re-exported for [`factory_managed!`], so an app needs no extra dependency.
#[doc(hidden)]
pub use ic_cdk as __ic_cdk;
