//! The scheduler against the fake management canister, round by round.

pub(crate) mod sim;

mod admission_flow_tests;
mod control_tests;
mod on_demand_tests;
mod plan_tests;
mod rollout_tests;
mod settle_tests;
