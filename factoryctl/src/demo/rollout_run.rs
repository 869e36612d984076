//! Drives one rollout on the emulator to its end (completed, halted or
//! paused), one round and one second at a time, recording the progress of
//! every round for the report.

use crate::progress::RolloutProgress;
use anyhow::{bail, Result};
use factory_api::{RolloutEnd, RolloutState, StageCounters};
use factory_client::EmulatorTransport;
use factory_client::{FactoryClient, HistoryQuery};
use ic_emulator::Emulator;
use serde::Serialize;
use std::time::Duration;

/// More rounds than any demo rollout needs; reaching it is a failure.
const MAX_ROUNDS: u64 = 100_000;

#[derive(Serialize, Clone, Debug)]
pub struct Sample {
    /// Rounds since the rollout started.
    pub round: u64,
    pub upgraded: u64,
    pub failed: u64,
    pub in_flight: u64,
    /// Failed attempts waiting for their next try (out of flight meanwhile).
    pub retrying: u64,
    /// Canisters stopped right now, and the p99 of the latest stopped
    /// intervals in rounds (one a second), as the factory reports them.
    pub stopped_now: u64,
    pub downtime_p99: u64,
    pub stage: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct RolloutRun {
    pub id: u64,
    pub target: String,
    /// `completed`, or `halted: <reason>`.
    pub end: String,
    pub rounds: u64,
    pub upgraded: u64,
    pub failed: u64,
    pub skipped: u64,
    pub samples: Vec<Sample>,
}

fn totals<'a>(stages: impl Iterator<Item = &'a StageCounters>) -> (u64, u64, u64, u64) {
    stages.fold((0, 0, 0, 0), |(u, f, s, i), c| {
        (u + c.upgraded, f + c.failed, s + c.skipped, i + c.in_flight)
    })
}

pub fn drive(
    emu: &Emulator,
    admin: &FactoryClient<EmulatorTransport<'_>>,
    id: u64,
    target: &str,
    progress: &mut RolloutProgress,
) -> Result<RolloutRun> {
    let start_round = emu.rounds();
    let mut samples = Vec::new();
    loop {
        let round = emu.rounds() - start_round;
        let status = admin.rollout_status()?;
        match status.active.filter(|a| a.id == id) {
            Some(a) => {
                progress.update(round, &a, &status.admission);
                let (upgraded, failed, skipped, in_flight) =
                    totals(a.stages.iter().map(|s| &s.counters));
                let stage = a
                    .stages
                    .get(usize::from(a.current_stage))
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                let retrying = a.stages.iter().map(|s| s.counters.retrying).sum();
                samples.push(Sample {
                    round,
                    upgraded,
                    failed,
                    in_flight,
                    retrying,
                    stopped_now: status.admission.stopped_now.into(),
                    downtime_p99: status.admission.downtime_p99_ns / 1_000_000_000,
                    stage,
                });
                let end = match &a.state {
                    RolloutState::Running => None,
                    RolloutState::Halted { reason, .. } => Some(format!("halted: {reason}")),
                    RolloutState::Paused(_) => Some(crate::commands::rollout_state_text(&a.state)),
                };
                if let Some(end) = end {
                    progress.finish();
                    return Ok(RolloutRun {
                        id,
                        target: target.into(),
                        end,
                        rounds: round,
                        upgraded,
                        failed,
                        skipped,
                        samples,
                    });
                }
            }
            None => {
                progress.finish();
                let page = admin.rollout_history(HistoryQuery {
                    before: None,
                    limit: 5,
                })?;
                let Some(r) = page.rollouts.into_iter().find(|r| r.id == id) else {
                    bail!("rollout {id} ended but is not in the history");
                };
                let (upgraded, failed, skipped, _) = totals(r.stages.iter().map(|s| &s.counters));
                samples.push(Sample {
                    round,
                    upgraded,
                    failed,
                    in_flight: 0,
                    retrying: 0,
                    stopped_now: 0,
                    downtime_p99: samples.last().map_or(0, |s| s.downtime_p99),
                    stage: "done".into(),
                });
                let end = match r.end {
                    RolloutEnd::Completed => "completed".to_string(),
                    other => crate::commands::end_text(&other),
                };
                return Ok(RolloutRun {
                    id,
                    target: target.into(),
                    end,
                    rounds: round,
                    upgraded,
                    failed,
                    skipped,
                    samples,
                });
            }
        }
        if round >= MAX_ROUNDS {
            bail!("rollout {id} did not end within {MAX_ROUNDS} rounds");
        }
        emu.advance_time(Duration::from_secs(1));
        emu.tick();
    }
}
