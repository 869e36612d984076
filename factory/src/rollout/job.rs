//! One canister's upgrade, the async part: read its status (skip a canister
//! already on the release, make sure a stopped one runs, top up its cycles),
//! then the shared sequence of `upgrade::upgrade_steps`. One management call
//! is outstanding at a time, so in-flight jobs bound in-flight calls.

use super::model::{ItemState, JobPhase};
use super::take::Job;
use super::transitions::rewrite;
use crate::error::FactoryError;
use crate::runtime::{Ctx, Env, Management, RunStatus};
use crate::upgrade::{upgrade_steps, UpgradeRequest};
use ic_stable_structures::Memory;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// Installed and confirmed.
    Upgraded { snapshot_id: Option<Vec<u8>> },
    /// The canister already runs the release's module.
    AlreadyThere,
    /// A restart-only run: the canister runs now.
    Restarted,
    /// `running`: whether the canister is known to run (None: this run did
    /// not touch it).
    Failed {
        error: FactoryError,
        running: Option<bool>,
        /// The module it was seen running after the failure, when read.
        runs: Option<Vec<u8>>,
    },
    /// A top-up would take the factory below its reserve.
    LowCycles { balance: u128, needed: u128 },
    /// Not stopped: the subnet's queue already holds ours waiting
    /// (`take::may_stop`); back to the queue, running, no try spent.
    Deferred,
    /// Too poor to be upgraded (the IC refuses the install) and the factory
    /// cannot pay for it: skipped, not failed (`cycles::frozen`).
    TooPoorToUpgrade { cycles: u128, needed: u128 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobReport {
    pub outcome: JobOutcome,
    pub topped_up: u128,
    /// What the upgrade cost the canister, when it was confirmed.
    pub cost: crate::cycles::upgrade_cost::UpgradeCost,
}

pub async fn run_job<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    job: &Job,
) -> JobReport {
    let mut topped_up = 0;
    let mut cost = Default::default();
    let outcome = steps(ctx, job, &mut topped_up, &mut cost).await;
    JobReport {
        outcome,
        topped_up,
        cost,
    }
}

async fn steps<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    job: &Job,
    topped_up: &mut u128,
    cost: &mut crate::cycles::upgrade_cost::UpgradeCost,
) -> JobOutcome {
    let c = job.canister;
    let failed = |e: crate::runtime::CallFailure, running| JobOutcome::Failed {
        error: e.into(),
        running,
        runs: None,
    };
    let status = match ctx.mgmt.canister_status(c).await {
        Ok(s) => s,
        Err(e) => return failed(e, None),
    };
    let now = ctx.env.now_ns();
    ctx.with(|s| crate::cycles::keeper::record_status(s, c, &status, now));
    if status.status != RunStatus::Running {
        // Found stopped (mid-sequence before a factory upgrade, or by hand):
        // make sure it runs before anything can bail out.
        set_phase(ctx, job, JobPhase::Starting, None);
        if let Err(e) = ctx.mgmt.start_canister(c).await {
            return failed(e, Some(false));
        }
    }
    if job.restart_only {
        return JobOutcome::Restarted;
    }
    if status.module_hash.as_deref() == Some(&job.release.sha256.0[..]) {
        return JobOutcome::AlreadyThere;
    }
    let top_up = job.top_up;
    if top_up.amount > 0 && status.cycles < top_up.below {
        let balance = ctx.env.cycles_balance();
        let needed = job.reserve.saturating_add(top_up.amount);
        if balance < needed {
            return JobOutcome::LowCycles { balance, needed };
        }
        set_phase(ctx, job, JobPhase::ToppingUp, None);
        if let Err(e) = ctx.mgmt.deposit_cycles(c, top_up.amount).await {
            return failed(e, Some(true));
        }
        *topped_up = top_up.amount;
    }
    if let Err(outcome) = unfreeze(ctx, job, &status, topped_up).await {
        return outcome;
    }
    let now = ctx.env.now_ns();
    if !ctx.with(|s| super::take::may_stop(s, now)) {
        return JobOutcome::Deferred;
    }
    let req = UpgradeRequest {
        canister_id: c,
        owner: job.owner,
        release: &job.release,
        snapshot: job.snapshot,
        replace_snapshot: job.replace_snapshot.clone(),
    };
    let mut on_phase = |phase, snapshot: Option<&[u8]>| set_phase(ctx, job, phase, snapshot);
    match upgrade_steps(ctx, req, &mut on_phase).await {
        Ok(u) => {
            let before = status.cycles.saturating_add(*topped_up);
            *cost = crate::cycles::upgrade_cost::upgrade_cost(
                before,
                u.cycles_after,
                u.snapshot_id.is_some(),
            );
            JobOutcome::Upgraded {
                snapshot_id: u.snapshot_id,
            }
        }
        Err(f) if f.running => landed_anyway(ctx, job, f.error).await,
        Err(f) => JobOutcome::Failed {
            error: f.error,
            running: Some(false),
            runs: None,
        },
    }
}

/// Tops up a canister that could not pay for its install (to the keeper's
/// threshold above that), or says why it is skipped.
async fn unfreeze<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    job: &Job,
    status: &crate::runtime::StatusInfo,
    topped_up: &mut u128,
) -> Result<(), JobOutcome> {
    use crate::cycles::frozen::{unfreeze, Unfreeze};
    let extra = ctx.with(|s| s.config.get().keeper.map_or(0, |k| k.threshold));
    let spendable = ctx.env.cycles_balance().saturating_sub(job.reserve);
    let now = crate::runtime::StatusInfo {
        cycles: status.cycles.saturating_add(*topped_up),
        ..status.clone()
    };
    match unfreeze(&now, extra, spendable) {
        Unfreeze::NotNeeded => Ok(()),
        Unfreeze::Skip { needed } => Err(JobOutcome::TooPoorToUpgrade {
            cycles: now.cycles,
            needed,
        }),
        Unfreeze::TopUp(amount) => {
            set_phase(ctx, job, JobPhase::ToppingUp, None);
            match ctx.mgmt.deposit_cycles(job.canister, amount).await {
                Ok(()) => {
                    *topped_up = topped_up.saturating_add(amount);
                    Ok(())
                }
                Err(e) => Err(JobOutcome::Failed {
                    error: e.into(),
                    running: Some(true),
                    runs: None,
                }),
            }
        }
    }
}

/// A step failed but the canister runs: a module may still have landed (a
/// reply lost or late, an earlier call that timed out executed after all), so
/// what runs is read back rather than assumed unchanged.
async fn landed_anyway<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    job: &Job,
    error: FactoryError,
) -> JobOutcome {
    let runs = ctx
        .mgmt
        .canister_status(job.canister)
        .await
        .ok()
        .and_then(|s| s.module_hash);
    if runs.as_deref() == Some(&job.release.sha256.0[..]) {
        return JobOutcome::Upgraded { snapshot_id: None };
    }
    JobOutcome::Failed {
        error,
        running: Some(true),
        runs,
    }
}

/// Persists how far the run got (and a new snapshot's id), so that after a
/// factory upgrade the canister is reconciled from the right point.
fn set_phase<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    job: &Job,
    phase: JobPhase,
    snapshot: Option<&[u8]>,
) {
    let now = ctx.env.now_ns();
    ctx.with(|s| {
        let Some(mut item) = s.sched.items.get(&job.canister) else {
            return;
        };
        let ItemState::Running(run) = &mut item.state else {
            return;
        };
        if run.token != job.token {
            return;
        }
        use super::admission::{HeavyKind, RunPhase};
        let counted = match phase {
            JobPhase::Stopping | JobPhase::Starting => RunPhase::Stopped,
            JobPhase::Snapshotting => RunPhase::Heavy(HeavyKind::Snapshot),
            JobPhase::Installing => RunPhase::Heavy(HeavyKind::Install),
            _ => RunPhase::Running,
        };
        let ceiling = super::take::cap(s);
        s.admission.note_phase(job.canister, counted, now, ceiling);
        run.phase = phase;
        if let Some(id) = snapshot {
            run.snapshot_id = Some(id.to_vec());
        }
        rewrite(s, job.canister, &item);
    });
}
