//! The scheduler's stable structures. Everything it needs to resume after a
//! factory upgrade lives here; nothing is kept on the heap between messages.

use super::model::*;
use candid::Principal;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, StableLog};

pub struct Scheduler<M: Memory> {
    pub plan: StableCell<PlanCell, M>,
    pub sched: StableCell<Sched, M>,
    /// canister → the one item the scheduler holds for it
    pub items: StableBTreeMap<Principal, Item, M>,
    pub queue: StableBTreeMap<QueueKey, Principal, M>,
    pub retries: StableBTreeMap<RetryKey, Principal, M>,
    pub running: StableBTreeMap<RunKey, (), M>,
    /// The active rollout's failures, grouped (at most `MAX_REASONS` + 1).
    pub reasons: StableBTreeMap<String, ReasonCount, M>,
    pub history: StableLog<RolloutSummary, M, M>,
}

/// The memories, in the order `init` takes them.
pub struct SchedulerMemories<M> {
    pub plan: M,
    pub sched: M,
    pub items: M,
    pub queue: M,
    pub retries: M,
    pub running: M,
    pub reasons: M,
    pub history_index: M,
    pub history_data: M,
}

impl<M: Memory> Scheduler<M> {
    pub fn init(m: SchedulerMemories<M>) -> Self {
        Scheduler {
            plan: StableCell::init(m.plan, PlanCell::default()),
            sched: StableCell::init(m.sched, Sched::default()),
            items: StableBTreeMap::init(m.items),
            queue: StableBTreeMap::init(m.queue),
            retries: StableBTreeMap::init(m.retries),
            running: StableBTreeMap::init(m.running),
            reasons: StableBTreeMap::init(m.reasons),
            history: StableLog::init(m.history_index, m.history_data),
        }
    }

    pub fn active_plan(&self) -> Option<&ActivePlan> {
        self.plan.get().active.as_ref()
    }

    /// Runs `f` on a copy of the global values and writes them back once.
    pub fn update<T>(&mut self, f: impl FnOnce(&mut Sched) -> T) -> T {
        let mut sc = self.sched.get().clone();
        let out = f(&mut sc);
        self.sched.set(sc);
        out
    }
}
