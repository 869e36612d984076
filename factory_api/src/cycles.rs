//! The cycles keeper's wire types: its settings (part of `FactoryConfig`),
//! what it knows about each canister, and what the factory spent per day.

use crate::error::FactoryError;
use candid::{CandidType, Deserialize, Principal};

const SECOND_NS: u64 = 1_000_000_000;
const DAY_NS: u64 = 86_400 * SECOND_NS;
const T: u128 = 1_000_000_000_000;

/// How the factory keeps its user canisters alive.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeeperConfig {
    /// A canister whose balance is below this is topped up...
    pub threshold: u128,
    /// ...to this.
    pub target: u128,
    /// The most the factory gives one canister per budget period: a runaway
    /// canister cannot drain the factory.
    pub budget_per_period: u128,
    pub budget_period_ns: u64,
    /// Every canister is read at least once per this period (sooner when its
    /// burn rate says it reaches the threshold before)...
    pub sweep_period_ns: u64,
    /// ...by ticks this far apart...
    pub tick_interval_ns: u64,
    /// ...each reading at most this many canisters.
    pub max_per_tick: u32,
    /// A canister's own "low on cycles" notice is acted on at most once per this.
    pub notice_interval_ns: u64,
}

pub const MAX_KEEPER_BATCH: u32 = 1_000;

impl Default for KeeperConfig {
    fn default() -> Self {
        KeeperConfig {
            threshold: T / 2,
            target: 3 * T / 2,
            budget_per_period: 5 * T,
            budget_period_ns: 30 * DAY_NS,
            sweep_period_ns: DAY_NS,
            tick_interval_ns: 60 * SECOND_NS,
            max_per_tick: 100,
            notice_interval_ns: 3_600 * SECOND_NS,
        }
    }
}

impl KeeperConfig {
    pub fn validate(&self) -> Result<(), FactoryError> {
        let invalid = |why: &str| Err(FactoryError::InvalidConfig(format!("keeper: {why}")));
        if self.threshold == 0 || self.target <= self.threshold {
            return invalid("needs 0 < threshold < target");
        }
        if self.budget_period_ns == 0 || self.tick_interval_ns == 0 {
            return invalid("budget_period_ns and tick_interval_ns must be positive");
        }
        if self.sweep_period_ns < self.tick_interval_ns {
            return invalid("sweep_period_ns must be at least tick_interval_ns");
        }
        if self.max_per_tick == 0 || self.max_per_tick > MAX_KEEPER_BATCH {
            return invalid("max_per_tick must be in 1..=1000");
        }
        Ok(())
    }
}

/// What the keeper makes of a canister.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CyclesHealth {
    /// Not read yet.
    Unknown,
    Healthy,
    /// Below the threshold and the factory cannot top it up: it will freeze
    /// unless someone else does.
    AtRisk {
        reason: AtRiskReason,
    },
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtRiskReason {
    /// Its budget for this period is spent.
    BudgetExhausted,
    /// A top-up would take the factory below its reserve.
    FactoryReserve,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CanisterCyclesView {
    pub canister_id: Principal,
    pub health: CyclesHealth,
    pub balance: u128,
    pub burn_per_day: u128,
    /// Below this balance it is frozen.
    pub freezing_limit: u128,
    pub observed_at_ns: u64,
    /// When, at its burn rate, it freezes (None: not burning or not read).
    pub freezes_at_ns: Option<u64>,
    pub spent_this_period: u128,
    pub topped_up_total: u128,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CyclesQuery {
    /// Canisters after this one (paging), in id order.
    pub after: Option<Principal>,
    pub limit: u32,
    /// Only canisters at risk.
    pub at_risk_only: bool,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CyclesStatus {
    pub keeper: Option<KeeperConfig>,
    pub tracked: u64,
    pub at_risk: u64,
    /// How long a full sweep takes at the configured rate and today's count.
    pub sweep_period_ns: u64,
    pub canisters: Vec<CanisterCyclesView>,
    pub next_after: Option<Principal>,
}

/// What the factory's cycles went on.
#[derive(
    CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, strum::EnumIter,
)]
pub enum SpendKind {
    /// Creation fee plus the new canister's start balance.
    Creation,
    /// The keeper's top-ups.
    KeeperTopUp,
    /// A rollout's top-ups (its plan's, and unfreezing a frozen canister).
    RolloutTopUp,
    /// What upgrades cost the fleet's canisters in snapshots (their balance
    /// over `take_canister_snapshot`), which the keeper pays back.
    UpgradeSnapshot,
    /// What upgrades cost them in compilation and install (their balance
    /// over `install_chunked_code` and the start).
    UpgradeInstall,
    /// Cycles deleted (reclaimed) canisters sent back: income, not spending.
    Reclaimed,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DaySpend {
    /// Days since the Unix epoch (UTC).
    pub day: u64,
    pub kind: SpendKind,
    pub cycles: u128,
}

/// `provision_paid`: the caller pays for their canister from an ICRC-2
/// approval they gave the factory on the cycles ledger.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PaidProvisionArgs {
    pub recovery: Principal,
    /// Makes the payment idempotent: a retry with the same value is never
    /// charged twice (the ledger deduplicates it). Nanoseconds since the
    /// epoch, within the ledger's window (24 hours).
    pub created_at_time: u64,
    /// The caller's subaccount that approved the factory.
    pub from_subaccount: Option<Vec<u8>>,
}

/// What `provision_paid` charges, and where.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProvisionPrice {
    /// The factory takes this much (creation fee plus the start balance);
    /// approve at least this plus `ledger_fee`.
    pub price: u128,
    pub ledger_fee: u128,
    pub ledger: Principal,
    pub mode: crate::config::ProvisioningMode,
}
