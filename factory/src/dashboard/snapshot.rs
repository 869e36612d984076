//! The dashboard's figures, gathered in bounded work: the version counters,
//! the active rollout's status (its stages and at most `MAX_REASONS` failure
//! groups), the in-flight runs (at most the in-flight cap) and the newest
//! history entries. Never a scan of the users.

use crate::rollout::model::{ItemState, JobPhase, RolloutEnd, RolloutState};
use crate::rollout::status::{self, HistoryQuery, StagePhase};
use crate::state::FactoryState;
use ic_stable_structures::Memory;
use serde::Serialize;

/// Rollouts of the history the dashboard shows.
pub const HISTORY_SHOWN: u32 = 10;
/// In-flight runs inspected for "stopped now": the cap on in-flight
/// upgrades (`plan::MAX_IN_FLIGHT`) with room for runs of an earlier module.
pub const MAX_RUNS_INSPECTED: usize = 1_000;

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Dashboard {
    pub now_ns: u64,
    pub users: u64,
    /// Ready canisters per installed release, in version order.
    pub fleet: Vec<VersionCount>,
    pub rollout: Option<Rollout>,
    pub scheduler: Scheduler,
    /// Newest first.
    pub history: Vec<Past>,
    pub history_total: u64,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct VersionCount {
    pub version: String,
    pub canisters: u64,
}

/// Everything the scheduler holds now (rollouts and on-demand upgrades).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Scheduler {
    pub in_flight: u32,
    pub max_in_flight: u32,
    pub queued: u64,
    pub retrying: u64,
    /// Canisters a run is stopping, has stopped or is starting again.
    pub stopped_now: u64,
    pub upgraded_total: u64,
    pub failed_total: u64,
    pub skipped_total: u64,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Running,
    Paused,
    Halted,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    pub id: u64,
    pub target_version: String,
    pub state: State,
    /// Why it is paused or halted.
    pub state_detail: Option<String>,
    pub current_stage: u8,
    pub stages: Vec<Stage>,
    pub started_ns: u64,
    pub eligible_estimate: u64,
    pub per_hour: u64,
    pub eta_ns: Option<u64>,
    /// Most frequent first; grouped by kind, without messages (they name canisters).
    pub failures: Vec<Failure>,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Waiting,
    Running,
    Done,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub phase: Phase,
    /// Share of the fleet covered once the stage is done (cumulative, bps).
    pub fleet_bps: u16,
    pub upgraded: u64,
    pub failed: u64,
    pub skipped: u64,
    pub pending: u64,
    pub failure_bps: u64,
    pub max_failure_bps: u16,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    pub count: u64,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum End {
    Completed,
    Cancelled,
    Superseded,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Past {
    pub id: u64,
    pub target_version: String,
    pub end: End,
    pub started_ns: u64,
    pub ended_ns: u64,
    pub upgraded: u64,
    pub failed: u64,
    pub skipped: u64,
}

pub fn gather<M: Memory>(s: &FactoryState<M>, now_ns: u64) -> Dashboard {
    let st = status::rollout_status(s, now_ns);
    let history = status::history(
        s,
        &HistoryQuery {
            before: None,
            limit: HISTORY_SHOWN,
        },
    );
    Dashboard {
        now_ns,
        users: s.users.len(),
        fleet: fleet(s),
        rollout: st.active.map(rollout),
        scheduler: Scheduler {
            in_flight: st.in_flight,
            max_in_flight: st.max_in_flight,
            queued: st.queued,
            retrying: st.retrying,
            stopped_now: stopped_now(s),
            upgraded_total: st.totals.upgraded,
            failed_total: st.totals.failed,
            skipped_total: st.totals.skipped,
        },
        history: history.rollouts.into_iter().map(past).collect(),
        history_total: history.total,
    }
}

/// In semantic-version order where the versions parse, else by text.
fn fleet<M: Memory>(s: &FactoryState<M>) -> Vec<VersionCount> {
    let mut v: Vec<VersionCount> = s
        .version_counts
        .iter()
        .map(|e| {
            let (version, canisters) = e.into_pair();
            VersionCount { version, canisters }
        })
        .collect();
    v.sort_by(|a, b| {
        match (
            semver::Version::parse(&a.version),
            semver::Version::parse(&b.version),
        ) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.version.cmp(&b.version),
        }
    });
    v
}

/// Runs between the stop call and the start call's answer.
fn stopped_now<M: Memory>(s: &FactoryState<M>) -> u64 {
    let stopped = JobPhase::Stopping..=JobPhase::Starting;
    s.sched
        .running
        .keys()
        .take(MAX_RUNS_INSPECTED)
        .filter(|k| {
            s.sched.items.get(&k.canister).is_some_and(
                |item| matches!(&item.state, ItemState::Running(r) if stopped.contains(&r.phase)),
            )
        })
        .count() as u64
}

fn rollout(a: status::ActiveRollout) -> Rollout {
    let (state, state_detail) = match a.state {
        RolloutState::Running => (State::Running, None),
        RolloutState::Paused(crate::rollout::model::PauseReason::Admin { .. }) => {
            (State::Paused, Some("paused by an admin".to_string()))
        }
        RolloutState::Paused(crate::rollout::model::PauseReason::LowCycles { balance, needed }) => {
            (
                State::Paused,
                Some(format!(
                    "low cycles: balance {balance}, resumes above {needed}"
                )),
            )
        }
        RolloutState::Halted { stage, reason } => {
            (State::Halted, Some(format!("stage {stage}: {reason}")))
        }
    };
    Rollout {
        id: a.id,
        target_version: a.plan.target_version,
        state,
        state_detail,
        current_stage: a.current_stage,
        stages: a
            .stages
            .into_iter()
            .map(|st| Stage {
                name: st.name,
                phase: match st.phase {
                    StagePhase::Waiting => Phase::Waiting,
                    StagePhase::Running => Phase::Running,
                    StagePhase::Done => Phase::Done,
                },
                fleet_bps: st.fleet_bps,
                upgraded: st.counters.upgraded,
                failed: st.counters.failed,
                skipped: st.counters.skipped,
                pending: st.pending,
                failure_bps: st.failure_bps,
                max_failure_bps: st.max_failure_bps,
            })
            .collect(),
        started_ns: a.started_ns,
        eligible_estimate: a.eligible_estimate,
        per_hour: a.per_hour,
        eta_ns: a.eta_ns,
        failures: a
            .failure_reasons
            .into_iter()
            .map(|f| Failure {
                reason: f.reason,
                count: f.count,
            })
            .collect(),
    }
}

fn past(r: factory_api::RolloutSummary) -> Past {
    let sum = |f: fn(&crate::rollout::model::StageCounters) -> u64| {
        r.stages.iter().map(|st| f(&st.counters)).sum()
    };
    Past {
        id: r.id,
        target_version: r.target_version.clone(),
        end: match r.end {
            RolloutEnd::Completed => End::Completed,
            RolloutEnd::Cancelled { .. } => End::Cancelled,
            RolloutEnd::Superseded { .. } => End::Superseded,
        },
        started_ns: r.started_ns,
        ended_ns: r.ended_ns,
        upgraded: sum(|c| c.upgraded),
        failed: sum(|c| c.failed),
        skipped: sum(|c| c.skipped),
    }
}
