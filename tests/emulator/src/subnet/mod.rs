//! The subnet's capacity: what one round may execute, what management work
//! costs, and the records tests and benchmarks read about it.
//!
//! The model (each rule with its source in the emulator's README):
//! - heavy subnet messages ([`cost::HeavyMethod`]) start only while the
//!   round's subnet budget (`max_instructions_per_round / 16`) is above zero;
//!   the budget is checked before each message, so one may overshoot it, and
//!   the rest stay queued for the next rounds, one queue per sender taken
//!   round-robin ([`queue`]);
//! - an install counts its module's compilation cost (in full on the
//!   subnet's first sight of the module, 1/100 after) plus its hooks'
//!   instructions; one costing more than a slice (2 B) runs over several
//!   rounds and blocks other installs and its canister meanwhile;
//! - a canister that installed rejects installs until its install debit has
//!   drained (2 B a round): `CanisterInstallCodeRateLimited`;
//! - canister messages start while the round's execution budget (4 threads ×
//!   7 B, plus overheads) lasts, at most one thread's worth per canister;
//! - a subnet holds at most `max_canisters` canisters.

pub mod config;
pub mod cost;
mod downtime;
mod queue;
mod rounds;
pub mod topology;
mod xnet;

pub use config::SubnetConfig;
pub use topology::{SubnetId, XNetConfig, CANISTER_IDS_PER_SUBNET};

use crate::error::CallResult;
use crate::state::calls::ReplyTo;
use candid::Principal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One piece of work counted toward a round's budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetUse {
    /// The management method (`"install_code (continued)"` for a later slice
    /// of a long install).
    pub method: String,
    pub canister: Option<Principal>,
    pub instructions: u64,
}

/// What one round of the subnet used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundUsage {
    pub round: u64,
    /// The subnet-message budget the round started with.
    pub subnet_budget: u64,
    /// Instructions heavy subnet messages counted (may exceed the budget: overshoot).
    pub subnet_instructions: u64,
    /// What counted toward the subnet budget, in execution order.
    pub subnet_work: Vec<BudgetUse>,
    /// Instructions (plus overheads) of canister messages.
    pub canister_instructions: u64,
    /// Canister messages that waited for a later round (budget exhausted).
    pub canister_messages_deferred: u64,
    /// Management calls waiting for a later round when the round ended.
    pub pending_management_calls: usize,
}

impl RoundUsage {
    fn is_empty(&self) -> bool {
        self.subnet_work.is_empty()
            && self.canister_instructions == 0
            && self.canister_messages_deferred == 0
            && self.pending_management_calls == 0
    }
}

/// One interval a canister spent not running: from the round its stop was
/// requested (it became `stopping`), through the round it became `stopped`,
/// to the round it was running again (`None` while still down).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedInterval {
    pub stop_requested_round: u64,
    pub stopped_round: Option<u64>,
    pub running_again_round: Option<u64>,
}

impl StoppedInterval {
    /// Rounds from the stop request to running again (so far, if still down).
    pub fn rounds_down(&self, now: u64) -> u64 {
        self.running_again_round.unwrap_or(now) - self.stop_requested_round
    }
}

/// A response held back until a long install's last slice has run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct LongInstall {
    pub canister: Principal,
    pub method: String,
    /// Instructions still to run, one slice per round.
    pub remaining: u64,
    pub response: Option<(ReplyTo, CallResult, u128)>,
}

/// The subnet's capacity state (saved with the emulator).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SubnetState {
    pub config: SubnetConfig,
    /// Subnet-message instructions left this round (negative after an overshoot).
    pub subnet_budget_left: i64,
    pub canister_budget_left: i64,
    /// Instructions each canister executed this round.
    pub executed_this_round: BTreeMap<Principal, u64>,
    /// Management calls waiting for a round with budget, per sender.
    pub pending: queue::SubnetQueues,
    pub long_install: Option<LongInstall>,
    /// `install_code_debit` per canister.
    pub install_debit: BTreeMap<Principal, u64>,
    /// Hashes of the modules this subnet has compiled (`expected_compiled_wasms`).
    /// Kept for the emulator's lifetime: an inference (the replica's
    /// compilation cache is per node, bounded, and survives rounds).
    pub compiled: BTreeSet<[u8; 32]>,
    pub current: RoundUsage,
    pub history: Vec<RoundUsage>,
    pub stopped: BTreeMap<Principal, Vec<StoppedInterval>>,
}

impl SubnetState {
    pub fn new(config: SubnetConfig) -> Self {
        SubnetState {
            config,
            subnet_budget_left: budget(config.subnet_message_budget()),
            canister_budget_left: budget(config.canister_execution_budget()),
            executed_this_round: BTreeMap::new(),
            pending: queue::SubnetQueues::default(),
            long_install: None,
            install_debit: BTreeMap::new(),
            compiled: BTreeSet::new(),
            current: RoundUsage {
                subnet_budget: config.subnet_message_budget(),
                ..Default::default()
            },
            history: Vec::new(),
            stopped: BTreeMap::new(),
        }
    }
}

impl Default for SubnetState {
    fn default() -> Self {
        Self::new(SubnetConfig::application())
    }
}

fn budget(instructions: u64) -> i64 {
    i64::try_from(instructions).unwrap_or(i64::MAX)
}
