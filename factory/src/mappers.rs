//! Stored records to wire types (`factory_api`), where the two are kept apart:
//! what the factory stores can change without changing its interface.

use crate::audit::AuditEntry;
use crate::rollout::model::RolloutSummary;
use crate::rollout::plan::{Plan, Stage};

impl From<AuditEntry> for factory_api::AuditEntry {
    fn from(e: AuditEntry) -> Self {
        factory_api::AuditEntry {
            seq: e.seq,
            time_ns: e.time_ns,
            caller: e.caller,
            action: e.action,
            error: e.error,
        }
    }
}

impl From<&Stage> for factory_api::Stage {
    fn from(s: &Stage) -> Self {
        factory_api::Stage {
            name: s.name.clone(),
            fleet_bps: s.fleet_bps,
            max_failure_bps: s.max_failure_bps,
            min_sample: s.min_sample,
        }
    }
}

impl From<&Plan> for factory_api::Plan {
    fn from(p: &Plan) -> Self {
        factory_api::Plan {
            target_version: p.target_version.clone(),
            stages: p.stages.iter().map(Into::into).collect(),
            max_in_flight: p.max_in_flight,
            max_starts_per_tick: p.max_starts_per_tick,
            tick_interval_ns: p.tick_interval_ns,
            retry: p.retry,
            from_versions: p.from_versions.clone(),
            exclude_versions: p.exclude_versions.clone(),
            canisters: p.canisters.clone(),
            exclude_canisters: p.exclude_canisters.clone(),
            snapshot: p.snapshot,
            top_up: p.top_up,
            allow_downgrade: p.allow_downgrade,
            admission: p.admission.unwrap_or_default(),
        }
    }
}

impl From<RolloutSummary> for factory_api::RolloutSummary {
    fn from(r: RolloutSummary) -> Self {
        factory_api::RolloutSummary {
            id: r.id,
            target_version: r.target_version,
            started_by: r.started_by,
            started_ns: r.started_ns,
            ended_ns: r.ended_ns,
            end: r.end,
            last_state: r.last_state,
            stages: r.stages,
            reasons: r.reasons,
        }
    }
}
