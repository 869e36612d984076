//! `rollout watch` at an index: the fleet rollout with a row per shard,
//! printed whenever a row changes, until it completes, halts or is paused.

use super::Client;
use crate::transport::Connection;
use anyhow::{bail, Result};
use factory_api::{FleetRollout, FleetRolloutState, FleetShardRow, StageCounters};

/// Follows the index's fleet rollout. `delay` as for the standalone watch.
pub fn run(
    client: &Client,
    first: FleetRollout,
    timeout_secs: u64,
    delay: Option<std::time::Duration>,
) -> Result<()> {
    let id = first.id;
    if !matches!(first.state, FleetRolloutState::Running) {
        print_rows(&first);
        return ended(&first);
    }
    crate::output::live();
    let mut shown: Vec<String> = Vec::new();
    let max_steps = timeout_secs / Connection::SECONDS_PER_STEP;
    for _ in 0..=max_steps {
        let Some(r) = client.fleet_rollout_status()?.filter(|r| r.id == id) else {
            bail!("fleet rollout {id} is gone");
        };
        let rows = lines(&r);
        if rows != shown {
            for line in &rows {
                crate::say!("{line}");
            }
            shown = rows;
        }
        if !matches!(r.state, FleetRolloutState::Running) {
            crate::output::hold();
            return ended(&r);
        }
        client.transport.pass_time()?;
        if let Some(delay) = delay {
            std::thread::sleep(delay);
        }
    }
    bail!("fleet rollout {id} is still running after {timeout_secs} s")
}

fn print_rows(r: &FleetRollout) {
    for line in lines(r) {
        crate::say!("{line}");
    }
}

/// The last line: how the fleet rollout ended (or why it stopped).
fn ended(r: &FleetRollout) -> Result<()> {
    let t = r.totals.iter().sum::<StageCounters>();
    let target = &r.plan.target_version;
    let counts = format!(
        "upgraded={} failed={} skipped={}",
        t.upgraded, t.failed, t.skipped
    );
    match &r.state {
        FleetRolloutState::Completed => {
            crate::say!("fleet rollout {} -> {target} completed: {counts}", r.id);
            Ok(())
        }
        FleetRolloutState::Paused => {
            crate::say!(
                "fleet rollout {} is paused ({counts}); `rollout resume` continues it",
                r.id
            );
            Ok(())
        }
        FleetRolloutState::Cancelled => {
            crate::say!("fleet rollout {} -> {target} cancelled: {counts}", r.id);
            Ok(())
        }
        FleetRolloutState::Halted { stage, reason } => {
            bail!(
                "fleet rollout {} halted at stage {}: {reason} ({counts})",
                r.id,
                stage + 1
            )
        }
        FleetRolloutState::Running => Ok(()),
    }
}

/// The fleet rollout's head line, then one row per shard.
pub fn lines(r: &FleetRollout) -> Vec<String> {
    let n = r.totals.len().max(1);
    let stage_name = r
        .plan
        .stages
        .get(usize::from(r.stage))
        .map_or("all", |s| s.name.as_str());
    let t = r.totals.iter().sum::<StageCounters>();
    let mut out = vec![format!(
        "fleet rollout {} -> {}: {}, stage {}/{n} ({stage_name}); upgraded={} failed={} skipped={} over {} shards",
        r.id,
        r.plan.target_version,
        state_name(&r.state),
        usize::from(r.stage) + 1,
        t.upgraded,
        t.failed,
        t.skipped,
        r.shards.len()
    )];
    out.extend(r.shards.iter().map(|row| shard_row(r, row, n)));
    out
}

fn state_name(s: &FleetRolloutState) -> &'static str {
    match s {
        FleetRolloutState::Running => "running",
        FleetRolloutState::Paused => "paused",
        FleetRolloutState::Halted { .. } => "halted",
        FleetRolloutState::Completed => "completed",
        FleetRolloutState::Cancelled => "cancelled",
    }
}

/// One shard: its stage, its counters over every stage, and what it does.
fn shard_row(r: &FleetRollout, row: &FleetShardRow, stages: usize) -> String {
    let c = row.stages.iter().sum::<StageCounters>();
    let pending = c.queued + c.retrying + c.in_flight;
    let doing = if row.finished {
        "finished".to_string()
    } else if row.first_stage > r.stage {
        format!("waits for stage {}", row.first_stage + 1)
    } else if row.local_id.is_none() {
        "starting".to_string()
    } else if row.stage_complete && row.current_stage == Some(r.stage) {
        "stage done".to_string()
    } else {
        "upgrading".to_string()
    };
    let stage = row
        .current_stage
        .map_or("-".to_string(), |s| format!("{}/{stages}", s + 1));
    let error = row
        .last_error
        .as_deref()
        .map(|e| format!("  last error: {e}"))
        .unwrap_or_default();
    format!(
        "  shard {} stage {stage:<5} upgraded={:<6} failed={:<4} pending={:<6} {doing}{error}",
        row.shard, c.upgraded, c.failed, pending
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use factory_api::RolloutPlan;

    fn row(n: u8, first_stage: u8, upgraded: u64, queued: u64) -> FleetShardRow {
        FleetShardRow {
            shard: Principal::from_slice(&[n; 10]),
            first_stage,
            local_id: (first_stage == 0).then_some(1),
            allowed_stage: Some(0),
            stages: vec![
                StageCounters {
                    upgraded,
                    queued,
                    ..Default::default()
                },
                StageCounters::default(),
            ],
            current_stage: (first_stage == 0).then_some(0),
            stage_complete: queued == 0,
            finished: false,
            last_error: None,
        }
    }

    #[test]
    fn one_row_per_shard_with_its_own_progress() {
        let r = FleetRollout {
            id: 3,
            plan: RolloutPlan {
                target_version: "2.0.0".into(),
                stages: vec![],
                max_in_flight: 10,
                max_starts_per_tick: None,
                tick_interval_ns: None,
                retry: None,
                filter: None,
                snapshot: None,
                admission: None,
                top_up: None,
                allow_downgrade: None,
                supersede: None,
            },
            state: FleetRolloutState::Running,
            stage: 0,
            totals: vec![
                StageCounters {
                    upgraded: 4,
                    queued: 6,
                    ..Default::default()
                },
                StageCounters::default(),
            ],
            shards: vec![row(1, 0, 4, 6), row(2, 1, 0, 0)],
            started_by: Principal::anonymous(),
            started_ns: 0,
            halt_overridden: None,
        };
        let l = lines(&r);
        assert_eq!(l.len(), 3, "{l:?}");
        assert!(
            l[0].starts_with("fleet rollout 3 -> 2.0.0: running, stage 1/2 (all); upgraded=4"),
            "{}",
            l[0]
        );
        let canary = Principal::from_slice(&[1; 10]).to_text();
        assert!(
            l[1].contains(&format!("shard {canary} stage 1/2")),
            "{}",
            l[1]
        );
        assert!(
            l[1].contains("upgraded=4") && l[1].contains("pending=6"),
            "{}",
            l[1]
        );
        assert!(l[1].ends_with("upgrading"), "{}", l[1]);
        assert!(l[2].ends_with("waits for stage 2"), "{}", l[2]);
    }
}
