//! The cycles keeper: knows every user canister's balance and burn rate
//! (from the status calls the factory makes anyway, a bounded sweep per tick
//! and the canisters' own "low on cycles" notices), tops them up within a
//! per-user budget and never below the factory's reserve, reports those it
//! cannot save, and counts what the factory spends per day.
//!
//! - [`record`]: what is stored per canister (fixed layout, golden bytes);
//! - [`policy`]: the pure decisions (burn rate, top-up, next reading);
//! - [`sweep`]: which canisters a tick reads;
//! - [`keeper`]: the async reading and top-up, generic over the runtime;
//! - [`frozen`]: what a rollout does with a canister too poor to upgrade;
//! - [`store`]: the stable structures ([`stable_parts`]: those the reclaim's store shares);
//! - [`metrics`]: the `/metrics` lines;
//! - [`paid`], [`payment`]: provisioning paid by the user from the cycles ledger;
//! - [`upgrade_cost`]: what an upgrade cost the canister, by purpose;
//! - [`reclaim`]: reclaiming dormant canisters (snapshot, uninstall, revive, delete).

pub mod frozen;
pub mod keeper;
pub mod metrics;
pub mod paid;
pub mod payment;
pub mod policy;
pub mod reclaim;
pub mod record;
pub mod stable_parts;
pub mod store;
pub mod sweep;
pub mod upgrade_cost;

#[cfg(test)]
mod keeper_tests;
#[cfg(test)]
mod paid_tests;
