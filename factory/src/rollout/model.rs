//! What the scheduler keeps in stable memory: the items it holds (one per
//! canister), the keys that order them, and the rollout's progress.

use super::plan::Plan;
use crate::storable::candid_storable;
use candid::{CandidType, Deserialize, Principal};
use ic_stable_structures::storable::Bound;
use ic_stable_structures::Storable;
use std::borrow::Cow;

pub use factory_api::{
    FailureReason, JobPhase, PauseReason, RolloutEnd, RolloutState, StageCounters, StageSummary,
    Totals,
};

/// Queue priorities, lowest first.
pub mod priority {
    /// Canisters found mid-sequence (e.g. after a factory upgrade), which may
    /// be stopped: nothing goes before them.
    pub const RECONCILE: u8 = 0;
    pub const ON_DEMAND: u8 = 1;
    pub const ROLLOUT: u8 = 2;
}

/// Queue order: priority, then stage (a later stage waits for the previous
/// one), then arrival.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueKey {
    pub priority: u8,
    pub stage: u8,
    pub seq: u64,
}

/// Retries wait here until `ready_at_ns`.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RetryKey {
    pub ready_at_ns: u64,
    pub seq: u64,
}

/// In flight, by the factory epoch that started it: entries of an earlier
/// epoch lost their task with the previous module and are reconciled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunKey {
    pub epoch: u64,
    pub canister: Principal,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Running {
    pub epoch: u64,
    pub since_ns: u64,
    /// Identifies this run: a result whose token no longer matches is stale.
    pub token: u64,
    /// The release being installed (the target, or a step towards it).
    pub step: String,
    pub phase: JobPhase,
    /// Taken in this run, kept here the moment it exists.
    pub snapshot_id: Option<Vec<u8>>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ItemState {
    Queued(QueueKey),
    Waiting(RetryKey),
    Running(Running),
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolloutRef {
    pub id: u64,
    pub stage: u8,
}

/// A canister the scheduler holds, wherever it is (queued, waiting for a
/// retry, in flight). One per canister: a second request merges into it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub owner: Principal,
    /// The version wanted in the end.
    pub target: String,
    pub rollout: Option<RolloutRef>,
    pub on_demand: bool,
    /// Failed tries so far.
    pub attempts: u8,
    pub state: ItemState,
    pub queued_at_ns: u64,
    pub last_error: Option<String>,
    /// Out of tries while the canister may be stopped: the next run only
    /// makes sure it runs, then records the failure.
    pub restart_only: bool,
    /// The previous run ended without knowing whether the canister runs.
    pub must_start: bool,
    /// Phase and snapshot of a run interrupted by a factory upgrade.
    pub interrupted: Option<Running>,
}
candid_storable!(Item);

impl Item {
    pub fn queue_priority(&self) -> u8 {
        if self.must_start || self.interrupted.is_some() {
            priority::RECONCILE
        } else if self.on_demand {
            priority::ON_DEMAND
        } else {
            priority::ROLLOUT
        }
    }

    pub fn stage(&self) -> u8 {
        self.rollout.map_or(0, |r| r.stage)
    }
}

/// Where an item counts in its stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Queued,
    Retrying,
    InFlight,
}

impl ItemState {
    pub fn slot(&self) -> Slot {
        match self {
            ItemState::Queued(_) => Slot::Queued,
            ItemState::Waiting(_) => Slot::Retrying,
            ItemState::Running(_) => Slot::InFlight,
        }
    }
}

/// How an item left the scheduler.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Final {
    Upgraded,
    Skipped,
    Failed,
}

/// The counter an item's slot or end adds to.
pub trait CounterSlots {
    fn slot_mut(&mut self, slot: Slot) -> &mut u64;
    fn final_mut(&mut self, f: Final) -> &mut u64;
}

impl CounterSlots for StageCounters {
    fn slot_mut(&mut self, slot: Slot) -> &mut u64 {
        match slot {
            Slot::Queued => &mut self.queued,
            Slot::Retrying => &mut self.retrying,
            Slot::InFlight => &mut self.in_flight,
        }
    }
    fn final_mut(&mut self, f: Final) -> &mut u64 {
        match f {
            Final::Upgraded => &mut self.upgraded,
            Final::Skipped => &mut self.skipped,
            Final::Failed => &mut self.failed,
        }
    }
}

/// The active rollout: its plan (written once) ...
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ActivePlan {
    pub id: u64,
    pub plan: Plan,
    pub started_by: Principal,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct PlanCell {
    pub active: Option<ActivePlan>,
}
candid_storable!(PlanCell);

/// ... and its progress (written as canisters finish).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub id: u64,
    pub state: RolloutState,
    pub stage: u8,
    pub stages: Vec<StageCounters>,
    /// The stage's pass over the users: the last owner (or, with a canister
    /// list, the index) visited.
    pub cursor: Option<Principal>,
    pub cursor_index: u32,
    pub pass_done: bool,
    /// A halted stage the admin chose to continue past.
    pub halt_overridden: Option<u8>,
    pub started_ns: u64,
    /// Canisters on a version the filter admits, other than the target, when
    /// the rollout started (from the per-version counts): the ETA's basis.
    pub eligible_estimate: u64,
}

/// The scheduler's small global values, in one cell.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Sched {
    pub next_seq: u64,
    pub next_rollout_id: u64,
    /// When the factory was last upgraded: every run of an earlier epoch
    /// sent its calls before then (`settle`). In flight is not kept here: it
    /// is the size of `running`, every epoch's runs included.
    pub upgraded_at_ns: Option<u64>,
    pub rollout: Option<Progress>,
    pub totals: Totals,
}
candid_storable!(Sched);

impl Sched {
    pub fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// The counters of `r`'s stage if `r` belongs to the active rollout.
    pub fn stage_mut(&mut self, r: Option<RolloutRef>) -> Option<&mut StageCounters> {
        let r = r?;
        let p = self.rollout.as_mut().filter(|p| p.id == r.id)?;
        p.stages.get_mut(usize::from(r.stage))
    }
}

/// One grouped failure reason of the active rollout.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReasonCount {
    pub count: u64,
    /// One full message of this kind.
    pub example: String,
}
candid_storable!(ReasonCount);

/// A finished rollout, as the history stores it (`rollout_history` answers
/// `factory_api::RolloutSummary`).
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
candid_storable!(RolloutSummary);

impl Storable for QueueKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        let mut b = Vec::with_capacity(10);
        b.push(self.priority);
        b.push(self.stage);
        b.extend_from_slice(&self.seq.to_be_bytes());
        Cow::Owned(b)
    }
    fn into_bytes(self) -> Vec<u8> {
        self.to_bytes().into_owned()
    }
    fn from_bytes(b: Cow<[u8]>) -> Self {
        QueueKey {
            priority: b[0],
            stage: b[1],
            seq: u64_at(&b, 2),
        }
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 10,
        is_fixed_size: true,
    };
}

impl Storable for RetryKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        let mut b = Vec::with_capacity(16);
        b.extend_from_slice(&self.ready_at_ns.to_be_bytes());
        b.extend_from_slice(&self.seq.to_be_bytes());
        Cow::Owned(b)
    }
    fn into_bytes(self) -> Vec<u8> {
        self.to_bytes().into_owned()
    }
    fn from_bytes(b: Cow<[u8]>) -> Self {
        RetryKey {
            ready_at_ns: u64_at(&b, 0),
            seq: u64_at(&b, 8),
        }
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 16,
        is_fixed_size: true,
    };
}

impl Storable for RunKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        let mut b = Vec::with_capacity(8 + 29);
        b.extend_from_slice(&self.epoch.to_be_bytes());
        b.extend_from_slice(self.canister.as_slice());
        Cow::Owned(b)
    }
    fn into_bytes(self) -> Vec<u8> {
        self.to_bytes().into_owned()
    }
    fn from_bytes(b: Cow<[u8]>) -> Self {
        RunKey {
            epoch: u64_at(&b, 0),
            canister: Principal::from_slice(&b[8..]),
        }
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 8 + 29,
        is_fixed_size: false,
    };
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let q = QueueKey {
            priority: 2,
            stage: 1,
            seq: 77,
        };
        assert_eq!(QueueKey::from_bytes(q.to_bytes()), q);
        let r = RetryKey {
            ready_at_ns: 5,
            seq: 9,
        };
        assert_eq!(RetryKey::from_bytes(r.to_bytes()), r);
        let k = RunKey {
            epoch: 3,
            canister: Principal::from_slice(&[1, 2, 3]),
        };
        assert_eq!(RunKey::from_bytes(k.to_bytes()), k);
    }
}
