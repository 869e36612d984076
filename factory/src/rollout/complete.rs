//! Recording how a canister's run ended: the user's record (version,
//! snapshot, last outcome, lock released), then the item's next place —
//! done, the next step of a multi-step path, a retry with backoff, or a
//! restart-only run when it is out of tries but may be stopped.

use super::job::{JobOutcome, JobReport};
use super::model::*;
use super::plan::{backoff_ns, RetryPolicy, DEFAULT_RETRY};
use super::reasons;
use super::stages;
use super::take::{outcome, MAX_OUTCOME_ERROR};
use super::transitions::{place, with_sched, Place};
use crate::state::FactoryState;
use candid::Principal;
use ic_stable_structures::Memory;

/// A factory low on cycles looks again after this.
pub const LOW_CYCLES_RETRY_NS: u64 = 60_000_000_000;

pub fn complete<M: Memory>(
    s: &mut FactoryState<M>,
    canister: Principal,
    token: u64,
    report: JobReport,
    now: u64,
) {
    let done = with_sched(s, |s, sc| record(s, sc, canister, token, report, now));
    if done {
        stages::evaluate(s, now);
    }
}

/// Returns whether anything was recorded (false for a stale result).
fn record<M: Memory>(
    s: &mut FactoryState<M>,
    sc: &mut Sched,
    canister: Principal,
    token: u64,
    report: JobReport,
    now: u64,
) -> bool {
    let Some(mut item) = s.sched.items.get(&canister) else {
        return false;
    };
    let run = match &item.state {
        ItemState::Running(run) if run.token == token => run.clone(),
        // Reconciled meanwhile: another run owns the canister now.
        _ => return false,
    };
    s.admission.on_ended(canister);
    if report.topped_up > 0 {
        sc.totals.top_ups += 1;
        sc.totals.top_up_cycles += report.topped_up;
        s.keeper
            .spent(factory_api::SpendKind::RolloutTopUp, report.topped_up, now);
    }
    // What the upgrade cost the canister: the keeper pays it back in time.
    s.keeper.spent(
        factory_api::SpendKind::UpgradeSnapshot,
        report.cost.snapshot,
        now,
    );
    s.keeper.spent(
        factory_api::SpendKind::UpgradeInstall,
        report.cost.install,
        now,
    );
    let interrupted = item.interrupted.take();
    let Some(mut user) = s.users.get(&item.owner) else {
        place(s, sc, canister, item, Place::Done(Final::Skipped));
        return true;
    };
    user.lock = None;
    let installed_before = interrupted
        .as_ref()
        .filter(|r| r.phase >= JobPhase::Installing);
    let outcome_now = match report.outcome {
        JobOutcome::AlreadyThere if installed_before.is_some() => JobOutcome::Upgraded {
            snapshot_id: installed_before.and_then(|r| r.snapshot_id.clone()),
        },
        other => other,
    };
    let next = match outcome_now {
        JobOutcome::Upgraded { snapshot_id } => {
            // A latency sample for the admission window (`admission`).
            let (n, ceiling) = (super::take::in_flight(s), super::take::cap(s));
            s.admission
                .on_served(now.saturating_sub(run.since_ns), n, ceiling, now);
            outcome(&mut user, &item, now, None);
            user.previous_version = user.version.replace(run.step.clone());
            // Without a new snapshot the old one predates the previous
            // version: restoring it would not give back what ran before.
            // This run's own snapshot counts too (an attempt whose module
            // landed although a later step failed).
            user.snapshot_id = snapshot_id.or_else(|| run.snapshot_id.clone());
            item.must_start = false;
            next_hop(&mut item, &run.step, Final::Upgraded)
        }
        JobOutcome::AlreadyThere => {
            if user.version.as_deref() != Some(&run.step) {
                user.version = Some(run.step.clone());
            }
            item.must_start = false;
            next_hop(&mut item, &run.step, Final::Skipped)
        }
        JobOutcome::Restarted => {
            // Out of tries earlier (the reason was counted then); it runs now.
            outcome(&mut user, &item, now, item.last_error.clone());
            Place::Done(Final::Failed)
        }
        JobOutcome::Failed {
            error,
            running,
            runs,
        } => {
            // Record what runs, not what was meant to: a call that failed
            // here may have executed after all (the IC gives no guarantee).
            let seen = runs.as_deref().and_then(|hash| {
                crate::recovery::release_of_module(s, hash, user.version.as_deref())
            });
            if let Some(version) = seen.filter(|v| user.version.as_ref() != Some(v)) {
                user.previous_version = user.version.replace(version);
            }
            if run.snapshot_id.is_some() {
                // The attempt's snapshot replaced the recorded one; the next
                // attempt must replace this one (and a restore gets it).
                user.snapshot_id = run.snapshot_id.clone();
            }
            let message = error.to_string();
            outcome(&mut user, &item, now, Some(message.clone()));
            // The subnet too busy for it now (rate limited, queue full): not
            // the canister's failure; a smaller window, the same try again.
            // A stop that timed out counts as a try (the canister may never
            // stop), and also shrinks the window.
            let congested = congestion(&error);
            if congested.is_some() {
                s.admission.on_congested(now);
            }
            if congested != Some(Congestion::SubnetBusy) {
                item.attempts = item.attempts.saturating_add(1);
            }
            item.last_error = Some(reasons::truncate(message.clone(), MAX_OUTCOME_ERROR));
            if let Some(r) = running {
                item.must_start = !r;
            }
            let policy = retry_policy(s, &item);
            let orphan = item.rollout.is_some() && !item.on_demand && !of_active(sc, &item);
            if item.attempts < policy.max_attempts && !orphan {
                sc.totals.retries += 1;
                Place::Retry {
                    ready_at_ns: now.saturating_add(backoff_ns(&policy, item.attempts.max(1))),
                }
            } else {
                reasons::record(s, reasons::group(&error), &message);
                if item.must_start {
                    // Out of tries, but it may be stopped: never leave it so.
                    item.restart_only = true;
                    Place::Retry {
                        ready_at_ns: now.saturating_add(backoff_ns(&policy, item.attempts)),
                    }
                } else {
                    Place::Done(Final::Failed)
                }
            }
        }
        JobOutcome::Deferred => {
            // Nothing happened to it: an interrupted run's record is kept
            // for the next try (its install may have landed).
            item.interrupted = interrupted.clone();
            Place::Queue
        }
        JobOutcome::TooPoorToUpgrade { cycles, needed } => {
            let message = format!(
                "skipped: too few cycles to upgrade ({cycles}); needs {needed} more, above the factory's reserve"
            );
            reasons::record(s, "skipped: too few cycles to upgrade".into(), &message);
            outcome(&mut user, &item, now, Some(message));
            Place::Done(Final::Skipped)
        }
        JobOutcome::LowCycles { balance, needed } => {
            stages::pause_for_cycles(sc, balance, needed);
            Place::Retry {
                ready_at_ns: now.saturating_add(LOW_CYCLES_RETRY_NS),
            }
        }
    };
    s.put_user(user);
    place(s, sc, canister, item, next);
    true
}

/// Management methods that count toward a subnet's round budget for heavy
/// messages (`counts_toward_round_limit`,
/// rs/execution_environment/src/ic00_permissions.rs) among those a job calls.
const HEAVY_METHODS: [&str; 2] = ["install_chunked_code", "take_canister_snapshot"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Congestion {
    /// Install or snapshot refused as too much for now.
    SubnetBusy,
    /// A stop or any other call that timed out.
    TimedOut,
}

fn congestion(error: &crate::error::FactoryError) -> Option<Congestion> {
    match error {
        crate::error::FactoryError::ManagementCall {
            method,
            reject_code,
            ..
        } if super::admission::is_congestion(*reject_code) => Some(
            // Only the heavy calls the subnet rations per round; a canister
            // unreachable on every call is not the subnet being busy.
            if *reject_code == 2 && HEAVY_METHODS.contains(&method.as_str()) {
                Congestion::SubnetBusy
            } else {
                Congestion::TimedOut
            },
        ),
        _ => None,
    }
}

/// Done at the target, or queued again for the next step of the path.
fn next_hop(item: &mut Item, installed: &str, done: Final) -> Place {
    if installed == item.target {
        Place::Done(done)
    } else {
        item.attempts = 0;
        Place::Queue
    }
}

fn of_active(sc: &Sched, item: &Item) -> bool {
    matches!((item.rollout, sc.rollout.as_ref()), (Some(r), Some(p)) if r.id == p.id)
}

fn retry_policy<M: Memory>(s: &FactoryState<M>, item: &Item) -> RetryPolicy {
    match s.sched.active_plan() {
        Some(a) if item.rollout.is_some_and(|r| r.id == a.id) => a.plan.retry,
        _ => DEFAULT_RETRY,
    }
}
