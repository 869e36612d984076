//! What admins and users see: the active rollout's progress per stage, its
//! grouped failures, rate and ETA; the history; one canister's upgrade state.
//! All read from counters and bounded structures, never a scan of the users.

use super::model::*;
use super::reasons;
use crate::state::FactoryState;
use candid::Principal;
use ic_stable_structures::Memory;

pub use factory_api::{
    ActiveRollout, AdmissionStatus, HistoryPage, HistoryQuery, PendingUpgrade, RolloutStatus,
    StagePhase, StageStatus, UpgradeStatus,
};

pub fn rollout_status<M: Memory>(s: &FactoryState<M>, now: u64) -> RolloutStatus {
    let sc = s.sched.sched.get();
    let active = match (s.sched.active_plan(), sc.rollout.as_ref()) {
        (Some(a), Some(p)) => Some(active(s, a, p, now)),
        _ => None,
    };
    RolloutStatus {
        active,
        queued: s.sched.queue.len(),
        retrying: s.sched.retries.len(),
        in_flight: super::take::in_flight(s),
        max_in_flight: super::take::cap(s),
        totals: sc.totals.clone(),
        admission: admission(s, sc),
    }
}

fn admission<M: Memory>(s: &FactoryState<M>, sc: &Sched) -> AdmissionStatus {
    let v = s.admission.view();
    let stopped_now = s.admission.stopped_now();
    let (policy_bound, remaining) = match (s.sched.active_plan(), sc.rollout.as_ref()) {
        (Some(a), Some(p)) => {
            let snap =
                super::take::snapshots_in_stage(a.plan.snapshot, p.stage, a.plan.stages.len());
            let attempted: u64 = p.stages.iter().map(StageCounters::attempted).sum();
            (
                snap.then_some(SNAPSHOTS_PER_KROUND),
                Some(p.eligible_estimate.saturating_sub(attempted)),
            )
        }
        _ => (None, None),
    };
    let eta_at_rate_ns = remaining.and_then(|r| {
        (u128::from(r) * 1_000 * 1_000_000_000)
            .checked_div(u128::from(v.served_per_ks))
            .map(|ns| ns as u64)
    });
    AdmissionStatus {
        window: super::take::limit(s),
        stopped_now,
        base_latency_ns: v.base_latency_ns,
        latency_ns: v.latency_ns,
        upgrades_per_ks: v.served_per_ks,
        policy_bound_per_kround: policy_bound,
        eta_at_rate_ns,
        cuts: v.cuts,
        downtime_p50_ns: v.downtime_ns[0],
        downtime_p99_ns: v.downtime_ns[1],
        downtime_max_ns: v.downtime_ns[2],
    }
}

/// A snapshot counts `DEFAULT_CANISTERS_SNAPSHOT_BASELINE_INSTRUCTIONS` (2 B,
/// rs/config/src/subnet_config.rs) against the heavy-message budget of
/// `max_instructions_per_round / SUBNET_MESSAGES_LIMIT_FRACTION` (7 B / 16,
/// rs/execution_environment/src/scheduler.rs), checked before each message:
/// one snapshot fills a round, so at most one per round.
pub const SNAPSHOTS_PER_KROUND: u64 = 1_000;

fn active<M: Memory>(s: &FactoryState<M>, a: &ActivePlan, p: &Progress, now: u64) -> ActiveRollout {
    let stages = a
        .plan
        .stages
        .iter()
        .zip(&p.stages)
        .enumerate()
        .map(|(i, (st, c))| StageStatus {
            name: st.name.clone(),
            fleet_bps: st.fleet_bps,
            max_failure_bps: st.max_failure_bps,
            phase: match (i as u8).cmp(&p.stage) {
                std::cmp::Ordering::Less => StagePhase::Done,
                std::cmp::Ordering::Equal => StagePhase::Running,
                std::cmp::Ordering::Greater => StagePhase::Waiting,
            },
            pending: c.pending(),
            counters: c.clone(),
            failure_bps: c.failure_bps(),
        })
        .collect();
    let attempted: u64 = p.stages.iter().map(StageCounters::attempted).sum();
    let elapsed = now.saturating_sub(p.started_ns);
    let per_hour = (u128::from(attempted) * 3_600_000_000_000)
        .checked_div(u128::from(elapsed))
        .unwrap_or(0) as u64;
    let remaining = p.eligible_estimate.saturating_sub(attempted);
    let eta_ns = (attempted > 0 && p.state == RolloutState::Running)
        .then(|| (u128::from(remaining) * u128::from(elapsed) / u128::from(attempted)) as u64);
    ActiveRollout {
        id: a.id,
        plan: (&a.plan).into(),
        state: p.state.clone(),
        current_stage: p.stage,
        stages,
        failure_reasons: reasons::list(s),
        started_by: a.started_by,
        started_ns: p.started_ns,
        current_stage_enumerated: p.pass_done,
        eligible_estimate: p.eligible_estimate,
        per_hour,
        eta_ns,
    }
}

pub const MAX_HISTORY_PAGE: u32 = 50;

pub fn history<M: Memory>(s: &FactoryState<M>, q: &HistoryQuery) -> HistoryPage {
    let total = s.sched.history.len();
    let end = q.before.unwrap_or(total).min(total);
    let start = end.saturating_sub(u64::from(q.limit.clamp(1, MAX_HISTORY_PAGE)));
    HistoryPage {
        rollouts: (start..end)
            .rev()
            .filter_map(|i| s.sched.history.get(i).map(Into::into))
            .collect(),
        next_before: (start > 0).then_some(start),
        total,
    }
}

pub fn upgrade_status<M: Memory>(
    s: &FactoryState<M>,
    canister: Principal,
) -> Option<UpgradeStatus> {
    let record = s.user_by_canister(&canister)?;
    let pending = s.sched.items.get(&canister).map(|item| {
        let (state, phase, next_try_ns) = match &item.state {
            ItemState::Queued(_) => ("queued", None, None),
            ItemState::Waiting(k) => ("retrying", None, Some(k.ready_at_ns)),
            ItemState::Running(r) => ("in_flight", Some(r.phase), None),
        };
        PendingUpgrade {
            target_version: item.target.clone(),
            on_demand: item.on_demand,
            rollout_id: item.rollout.map(|r| r.id),
            state: state.into(),
            phase,
            attempts: item.attempts,
            next_try_ns,
            last_error: item.last_error.clone(),
        }
    });
    Some(UpgradeStatus {
        canister_id: canister,
        version: record.version,
        last_outcome: record.last_outcome,
        pending,
    })
}
