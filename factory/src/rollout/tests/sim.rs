//! A round-based simulator: the fake management canister answers each call
//! after `latency` rounds; every round the sim polls the workers and runs the
//! timer tick when due, as the canister's timer and callbacks would.

use crate::rollout::model::*;
use crate::rollout::plan::{RetryPolicy, RolloutPlan, StagePlan};
use crate::rollout::status::RolloutStatus;
use crate::rollout::tick::{tick, TickReport};
use crate::rollout::worker::worker;
use crate::testing::*;
use crate::users::{Phase, UserRecord};
use candid::Principal;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use wasm_registry::Release;

pub const ROUND_NS: u64 = 1_000_000_000;

type Task<'h> = Pin<Box<dyn Future<Output = ()> + 'h>>;

pub struct Sim<'h> {
    pub h: &'h Harness,
    tasks: Vec<Task<'h>>,
    next_tick: Option<u64>,
    pub round: u64,
    pub last_tick: Option<TickReport>,
    pub ticks: u64,
}

impl<'h> Sim<'h> {
    pub fn new(h: &'h Harness) -> Self {
        h.mgmt.latency.set(1);
        Sim {
            h,
            tasks: Vec::new(),
            next_tick: None,
            round: h.mgmt.round.get(),
            last_tick: None,
            ticks: 0,
        }
    }

    /// As `arm_tick` in the canister: due in `delay_ns`, the next round at least.
    pub fn arm(&mut self, delay_ns: u64) {
        let due = self.round + delay_ns.div_ceil(ROUND_NS).max(1);
        self.next_tick = Some(self.next_tick.map_or(due, |t| t.min(due)));
    }

    pub fn tick_now(&mut self) -> TickReport {
        self.next_tick = None;
        let h = self.h;
        let report = tick(
            &mut h.state.borrow_mut(),
            h.env.now.get(),
            h.env.balance.get(),
        );
        for job in report.jobs.clone() {
            self.tasks.push(Box::pin(worker(h.ctx(), job)));
        }
        if let Some(d) = report.next_tick_ns {
            self.arm(d);
        }
        self.ticks += 1;
        self.last_tick = Some(report.clone());
        report
    }

    /// One round: calls made earlier answer, workers go on, the tick runs if due.
    pub fn step(&mut self) {
        self.round += 1;
        self.h.mgmt.round.set(self.round);
        self.h.env.now.set(self.h.env.now.get() + ROUND_NS);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        self.tasks
            .retain_mut(|t| matches!(t.as_mut().poll(&mut cx), Poll::Pending));
        // Timers do not fire in a stopping canister.
        if self.next_tick.is_some_and(|t| t <= self.round) && !self.h.env.stopping.get() {
            self.tick_now();
        }
    }

    pub fn idle(&self) -> bool {
        self.tasks.is_empty() && self.next_tick.is_none()
    }

    /// Steps until nothing is left to do; returns the rounds it took.
    pub fn run(&mut self, max_rounds: u64) -> u64 {
        let start = self.round;
        while !self.idle() {
            assert!(
                self.round - start < max_rounds,
                "not idle after {max_rounds} rounds"
            );
            self.step();
        }
        self.round - start
    }

    pub fn run_until(&mut self, max_rounds: u64, mut done: impl FnMut(&Self) -> bool) {
        for _ in 0..max_rounds {
            if done(self) {
                return;
            }
            self.step();
        }
        panic!("condition not reached in {max_rounds} rounds");
    }

    /// A factory upgrade: the old module's tasks vanish with its heap, no
    /// destructor runs.
    pub fn kill_tasks(&mut self) {
        for t in self.tasks.drain(..) {
            std::mem::forget(t);
        }
        self.next_tick = None;
    }

    /// Cancels every task (as a trap in the message would): destructors run.
    pub fn cancel_tasks(&mut self) {
        self.tasks.clear();
        self.next_tick = None;
    }

    pub fn workers(&self) -> usize {
        self.tasks.len()
    }
}

pub fn canister_of(n: u64) -> Principal {
    principal(1_000_000 + n)
}

pub fn owner_of(n: u64) -> Principal {
    principal(2_000_000 + n)
}

/// `n` ready users on `release`, written directly (fast, for big fleets).
pub fn seed(h: &Harness, range: std::ops::Range<u64>, release: &Release) -> Vec<Principal> {
    let mut ids = Vec::new();
    let mut s = h.state.borrow_mut();
    let mut ic = h.mgmt.ic.borrow_mut();
    for n in range {
        let canister = canister_of(n);
        let owner = owner_of(n);
        let mut r = UserRecord::new(owner, principal(3_000_000 + n), 0, 0);
        r.lock = None;
        r.canister_id = Some(canister);
        r.phase = Phase::Ready;
        r.version = Some(release.version.clone());
        s.put_user(r);
        s.canisters.insert(canister, owner);
        ic.canisters.insert(
            canister,
            FakeCanister {
                controllers: vec![principal(FACTORY)],
                module_hash: Some(release.sha256.0),
                cycles: 10_000_000_000_000,
                data: n.to_be_bytes().to_vec(),
                ..Default::default()
            },
        );
        ids.push(canister);
    }
    ids
}

pub const FAST_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    initial_backoff_ns: ROUND_NS,
    max_backoff_ns: 8 * ROUND_NS,
};

pub fn plan(target: &str, max_in_flight: u32) -> RolloutPlan {
    RolloutPlan {
        target_version: target.into(),
        stages: vec![],
        max_in_flight,
        max_starts_per_tick: None,
        tick_interval_ns: Some(0),
        retry: Some(FAST_RETRY),
        filter: None,
        snapshot: None,
        top_up: None,
        allow_downgrade: None,
        supersede: None,
        admission: None,
    }
}

pub fn stage(name: &str, fleet_bps: u16, max_failure_bps: u16) -> StagePlan {
    StagePlan {
        name: name.into(),
        fleet_bps,
        max_failure_bps,
        min_sample: None,
    }
}

pub fn start(sim: &mut Sim, p: RolloutPlan) -> u64 {
    let id = crate::rollout::control::start_rollout(
        &mut sim.h.state.borrow_mut(),
        principal(ADMIN),
        p,
        sim.h.env.now.get(),
    )
    .expect("rollout starts");
    sim.arm(0);
    id
}

pub fn status(h: &Harness) -> RolloutStatus {
    crate::rollout::status::rollout_status(&h.state.borrow(), h.env.now.get())
}

pub fn progress(h: &Harness) -> Progress {
    h.state
        .borrow()
        .sched
        .sched
        .get()
        .rollout
        .clone()
        .expect("an active rollout")
}

pub fn history(h: &Harness) -> Vec<RolloutSummary> {
    let s = h.state.borrow();
    (0..s.sched.history.len())
        .filter_map(|i| s.sched.history.get(i))
        .collect()
}

pub fn version_of(h: &Harness, canister: Principal) -> Option<String> {
    h.state.borrow().user_by_canister(&canister)?.version
}

/// The scheduler's books balance: every item in exactly one position, the
/// counters equal to the positions.
pub fn check_invariants(h: &Harness) {
    let s = h.state.borrow();
    let sch = &s.sched;
    let (mut queued, mut waiting, mut running) = (0u64, 0u64, 0u64);
    let active = sch.sched.get().rollout.clone();
    let mut per_stage: Vec<[u64; 3]> = active
        .as_ref()
        .map_or(vec![], |p| vec![[0; 3]; p.stages.len()]);
    for e in sch.items.iter() {
        let (canister, item) = e.into_pair();
        let slot = match &item.state {
            ItemState::Queued(k) => {
                assert_eq!(
                    sch.queue.get(k),
                    Some(canister),
                    "queue entry of {canister}"
                );
                queued += 1;
                0
            }
            ItemState::Waiting(k) => {
                assert_eq!(sch.retries.get(k), Some(canister));
                waiting += 1;
                1
            }
            ItemState::Running(r) => {
                assert!(sch.running.contains_key(&RunKey {
                    epoch: r.epoch,
                    canister
                }));
                running += 1;
                2
            }
        };
        if let (Some(r), Some(p)) = (item.rollout, active.as_ref()) {
            if r.id == p.id {
                per_stage[usize::from(r.stage)][slot] += 1;
            }
        }
    }
    assert_eq!(sch.queue.len(), queued, "queue entries without items");
    assert_eq!(sch.retries.len(), waiting);
    // In flight is `running`, every epoch's runs included.
    assert_eq!(sch.running.len(), running, "running entries without items");
    if let Some(p) = active {
        for (i, c) in p.stages.iter().enumerate() {
            assert_eq!(
                [c.queued, c.retrying, c.in_flight],
                per_stage[i],
                "stage {i} counters"
            );
        }
    }
}
