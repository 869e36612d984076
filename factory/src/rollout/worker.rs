//! A worker: runs a job, records it, and takes the next canister itself while
//! a slot is free — so throughput is bounded by the in-flight cap, not by
//! the tick. It stops taking work when the factory is being stopped (new
//! calls would keep it from ever stopping).

use super::complete::complete;
use super::job::run_job;
use super::model::ItemState;
use super::take::{take_next, Job};
use super::transitions::{place, with_sched, Place};
use crate::runtime::{Ctx, Env, Management};
use candid::Principal;
use ic_stable_structures::Memory;

pub async fn worker<E: Env, G: Management, M: Memory>(ctx: Ctx<'_, E, G, M>, first: Job) {
    let mut job = first;
    loop {
        let guard = RunGuard {
            ctx,
            canister: job.canister,
            token: job.token,
            armed: true,
        };
        let report = run_job(&ctx, &job).await;
        guard.disarm();
        // Held back before its stop: the next one would be too.
        let deferred = report.outcome == super::job::JobOutcome::Deferred;
        let now = ctx.env.now_ns();
        let stopping = ctx.env.is_stopping();
        let next = ctx.with(|s| {
            complete(s, job.canister, job.token, report, now);
            if stopping || deferred {
                None
            } else {
                take_next(s, now)
            }
        });
        match next {
            Some(next) => job = next,
            None => return,
        }
    }
}

/// If a worker is dropped mid-job (its task cancelled by a trap elsewhere in
/// the same message), its canister goes back to the queue to be reconciled
/// instead of looking in flight until the next factory upgrade.
struct RunGuard<'a, E: Env, G: Management, M: Memory> {
    ctx: Ctx<'a, E, G, M>,
    canister: Principal,
    token: u64,
    armed: bool,
}

impl<E: Env, G: Management, M: Memory> RunGuard<'_, E, G, M> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl<E: Env, G: Management, M: Memory> Drop for RunGuard<'_, E, G, M> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(mut s) = self.ctx.state.try_borrow_mut() else {
            return;
        };
        s.admission.on_ended(self.canister);
        with_sched(&mut s, |s, sc| {
            let Some(mut item) = s.sched.items.get(&self.canister) else {
                return;
            };
            match &item.state {
                ItemState::Running(run) if run.token == self.token => {
                    item.interrupted = Some(run.clone());
                    place(s, sc, self.canister, item, Place::Queue);
                }
                _ => {}
            }
        });
    }
}
