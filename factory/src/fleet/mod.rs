//! One fleet across subnets: the Index and Shard roles of the factory.
//!
//! A standalone factory never enters this module. An index keeps the shards
//! (`store`), places each new owner on one (`placement`), forwards their
//! `provision` (`forward`) and copies approved and revoked releases into each
//! shard's own registry (`push`); a shard runs the standalone flows on the
//! work its index sends. Who may call what in each role is decided in
//! `auth`, like every other endpoint.
//!
//! Everything here is free of ic-cdk except `ic_shards`, the index's calls
//! to its shards.

pub mod control;
pub mod forward;
pub mod gate;
pub mod ic_shards;
pub mod placement;
pub mod progress;
pub mod push;
pub mod rollout;
pub mod rollout_driver;
pub mod shard_install;
pub mod shards;
pub mod store;
pub mod tick_guard;

#[cfg(test)]
mod flow_tests;
