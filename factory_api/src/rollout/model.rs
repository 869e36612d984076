//! A rollout's progress and history as the status endpoints show them.

use candid::{CandidType, Deserialize, Principal};

/// The steps of one upgrade, in order; reconciliation reads how far it got.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobPhase {
    Checking,
    ToppingUp,
    Stopping,
    Snapshotting,
    Installing,
    Starting,
    Confirming,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct StageCounters {
    pub queued: u64,
    pub retrying: u64,
    pub in_flight: u64,
    pub upgraded: u64,
    pub skipped: u64,
    pub failed: u64,
    pub started_ns: Option<u64>,
    pub finished_ns: Option<u64>,
}

/// The counts of several shards' (or stages') counters added up; the times
/// are not summed (they stay unset).
impl<'a> std::iter::Sum<&'a StageCounters> for StageCounters {
    fn sum<I: Iterator<Item = &'a StageCounters>>(rows: I) -> Self {
        rows.fold(StageCounters::default(), |mut t, c| {
            t.queued += c.queued;
            t.retrying += c.retrying;
            t.in_flight += c.in_flight;
            t.upgraded += c.upgraded;
            t.skipped += c.skipped;
            t.failed += c.failed;
            t
        })
    }
}

impl StageCounters {
    pub fn pending(&self) -> u64 {
        self.queued + self.retrying + self.in_flight
    }
    pub fn attempted(&self) -> u64 {
        self.upgraded + self.failed
    }
    /// Failures per 10,000 attempted upgrades.
    pub fn failure_bps(&self) -> u64 {
        (self.failed * 10_000)
            .checked_div(self.attempted())
            .unwrap_or(0)
    }
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum PauseReason {
    Admin {
        by: Principal,
    },
    /// Resumes by itself once the balance is back above `needed`.
    LowCycles {
        balance: u128,
        needed: u128,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RolloutState {
    Running,
    Paused(PauseReason),
    /// A stage went over its failure threshold (or the target was revoked);
    /// `resume_rollout` overrides, `cancel_rollout` ends it.
    Halted {
        stage: u8,
        reason: String,
    },
}

/// How a rollout ended, in the history.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RolloutEnd {
    Completed,
    Cancelled { by: Principal },
    Superseded { by_rollout: u64 },
}

/// Figures since the factory was installed, for `/metrics`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Totals {
    pub upgraded: u64,
    pub skipped: u64,
    pub failed: u64,
    pub retries: u64,
    pub reconciled: u64,
    pub on_demand_accepted: u64,
    pub on_demand_rate_limited: u64,
    pub top_ups: u64,
    pub top_up_cycles: u128,
    pub ticks: u64,
    pub workers_started: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FailureReason {
    pub reason: String,
    pub count: u64,
    pub example: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StageSummary {
    pub name: String,
    pub counters: StageCounters,
}

/// A finished rollout, as the history keeps it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RolloutSummary {
    pub id: u64,
    pub target_version: String,
    pub started_by: Principal,
    pub started_ns: u64,
    pub ended_ns: u64,
    pub end: RolloutEnd,
    /// The state it was in when it ended (e.g. halted, then cancelled).
    pub last_state: RolloutState,
    pub stages: Vec<StageSummary>,
    pub reasons: Vec<FailureReason>,
}
