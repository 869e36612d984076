//! `rollout start|pause|resume|cancel|status|history` (`watch` has its own file).

use super::format::{percent_bps, rollout_state};
use super::{watch, Client};
use crate::cli::{RolloutCommand, RolloutStartArgs};
use anyhow::{bail, Result};
use factory_api::RolloutEnd;
use factory_client::{
    ActiveRollout, HistoryQuery, RetryPolicy, RolloutPlan, RolloutStatus, SnapshotPolicy,
    StagePhase, StagePlan,
};

const SECOND_NS: u64 = 1_000_000_000;

pub fn run(client: &Client, command: RolloutCommand) -> Result<()> {
    match command {
        RolloutCommand::Start(args) => start(client, &args),
        RolloutCommand::Pause => {
            client.pause_rollout()?;
            crate::say!("rollout paused");
            Ok(())
        }
        RolloutCommand::Resume => {
            client.resume_rollout()?;
            crate::say!("rollout resumed");
            Ok(())
        }
        RolloutCommand::Cancel => {
            client.cancel_rollout()?;
            crate::say!("rollout cancelled");
            Ok(())
        }
        RolloutCommand::Status => status(client),
        RolloutCommand::Watch(args) => watch::run(client, &args),
        RolloutCommand::History { limit } => history(client, limit),
    }
}

/// Basis points of a percentage given on the command line.
fn bps(what: &str, percent: f64) -> Result<u16> {
    if !(0.0..=100.0).contains(&percent) {
        bail!("{what} must be between 0 and 100, got {percent}");
    }
    Ok((percent * 100.0).round() as u16)
}

/// A canary stage (unless 0 %) and then the whole fleet.
pub fn plan(args: &RolloutStartArgs) -> Result<RolloutPlan> {
    let canary = bps("--canary-percent", args.canary_percent)?;
    let mut stages = Vec::new();
    if canary > 0 && canary < 10_000 {
        stages.push(StagePlan {
            name: "canary".into(),
            fleet_bps: canary,
            max_failure_bps: bps(
                "--canary-max-failure-percent",
                args.canary_max_failure_percent,
            )?,
            min_sample: None,
        });
    }
    stages.push(StagePlan {
        name: "all".into(),
        fleet_bps: 10_000,
        max_failure_bps: bps("--max-failure-percent", args.max_failure_percent)?,
        min_sample: None,
    });
    Ok(RolloutPlan {
        target_version: args.version.clone(),
        stages,
        max_in_flight: args.max_in_flight,
        max_starts_per_tick: None,
        tick_interval_ns: None,
        retry: Some(RetryPolicy {
            max_attempts: args.max_attempts,
            initial_backoff_ns: 5 * SECOND_NS,
            max_backoff_ns: 300 * SECOND_NS,
        }),
        filter: None,
        snapshot: Some(if args.no_snapshot {
            SnapshotPolicy::Never
        } else {
            SnapshotPolicy::ReplacePrevious
        }),
        top_up: None,
        allow_downgrade: None,
        supersede: Some(args.supersede),
        admission: None,
    })
}

fn start(client: &Client, args: &RolloutStartArgs) -> Result<()> {
    let id = client.start_rollout(plan(args)?)?;
    crate::say!("rollout {id} started: target {}", args.version);
    Ok(())
}

fn status(client: &Client) -> Result<()> {
    let status = client.rollout_status()?;
    match &status.active {
        Some(active) => print_active(active),
        None => {
            crate::say!("no active rollout");
            let last = client.rollout_history(HistoryQuery {
                before: None,
                limit: 1,
            })?;
            if let Some(r) = last.rollouts.first() {
                let upgraded: u64 = r.stages.iter().map(|s| s.counters.upgraded).sum();
                let failed: u64 = r.stages.iter().map(|s| s.counters.failed).sum();
                crate::say!(
                    "last: rollout {} -> {} {}: upgraded={upgraded} failed={failed}",
                    r.id,
                    r.target_version,
                    end_name(&r.end)
                );
            }
        }
    }
    print_scheduler(&status);
    Ok(())
}

pub fn print_active(a: &ActiveRollout) {
    crate::say!(
        "rollout {} -> {}: {} (stage {}/{})",
        a.id,
        a.plan.target_version,
        rollout_state(&a.state),
        usize::from(a.current_stage) + 1,
        a.stages.len()
    );
    for s in &a.stages {
        crate::say!("  {}", stage_line(s));
    }
    for f in &a.failure_reasons {
        crate::say!("  failure x{}: {} (e.g. {})", f.count, f.reason, f.example);
    }
}

pub fn stage_line(s: &factory_client::StageStatus) -> String {
    let c = &s.counters;
    let phase = match s.phase {
        StagePhase::Waiting => "waiting",
        StagePhase::Running => "running",
        StagePhase::Done => "done",
    };
    format!(
        "{:<8} {:<8} upgraded={} failed={} skipped={} in_flight={} queued={} retrying={} failure_rate={} (max {})",
        s.name,
        phase,
        c.upgraded,
        c.failed,
        c.skipped,
        c.in_flight,
        c.queued,
        c.retrying,
        percent_bps(s.failure_bps),
        percent_bps(u64::from(s.max_failure_bps))
    )
}

fn print_scheduler(s: &RolloutStatus) {
    let t = &s.totals;
    crate::say!(
        "scheduler: in_flight={}/{} queued={} retrying={}",
        s.in_flight,
        s.max_in_flight,
        s.queued,
        s.retrying
    );
    crate::say!("{}", admission_line(&s.admission));
    crate::say!(
        "totals: upgraded={} failed={} skipped={} retries={} on_demand={} reconciled={}",
        t.upgraded,
        t.failed,
        t.skipped,
        t.retries,
        t.on_demand_accepted,
        t.reconciled
    );
}

/// The admission window: the live rate, what is stopped now, the latency.
pub fn admission_line(a: &factory_client::AdmissionStatus) -> String {
    let secs = |ns: u64| ns as f64 / 1e9;
    let mut line = format!(
        "admission: window={} stopped_now={} rate={:.2}/round latency={:.1}s (least {:.1}s) \
         downtime p50/p99/max={:.0}/{:.0}/{:.0}s cuts={}",
        a.window,
        a.stopped_now,
        // One round a second on an application subnet.
        a.upgrades_per_ks as f64 / 1_000.0,
        secs(a.latency_ns),
        secs(a.base_latency_ns),
        secs(a.downtime_p50_ns),
        secs(a.downtime_p99_ns),
        secs(a.downtime_max_ns),
        a.cuts
    );
    if let Some(bound) = a.policy_bound_per_kround {
        line.push_str(&format!(
            " policy_bound={:.2}/round",
            bound as f64 / 1_000.0
        ));
    }
    if let Some(eta) = a.eta_at_rate_ns {
        line.push_str(&format!(" eta_at_rate={:.0}s", secs(eta)));
    }
    line
}

pub fn end_name(end: &RolloutEnd) -> String {
    match end {
        RolloutEnd::Completed => "completed".into(),
        RolloutEnd::Cancelled { by } => format!("cancelled by {by}"),
        RolloutEnd::Superseded { by_rollout } => format!("superseded by rollout {by_rollout}"),
    }
}

fn history(client: &Client, limit: u32) -> Result<()> {
    let page = client.rollout_history(HistoryQuery {
        before: None,
        limit,
    })?;
    if page.rollouts.is_empty() {
        crate::say!("no finished rollouts");
    }
    for r in &page.rollouts {
        crate::say!(
            "rollout {} -> {}: {}",
            r.id,
            r.target_version,
            end_name(&r.end)
        );
        for s in &r.stages {
            let c = &s.counters;
            crate::say!(
                "  {:<8} upgraded={} failed={} skipped={}",
                s.name,
                c.upgraded,
                c.failed,
                c.skipped
            );
        }
        for f in &r.reasons {
            crate::say!("  failure x{}: {}", f.count, f.reason);
        }
    }
    Ok(())
}
