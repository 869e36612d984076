//! `/metrics` in Prometheus text format over `http_request`, the IC's
//! convention for canister metrics. Every figure is read from a counter, never
//! from a scan of the users, so the query costs the same at any fleet size.

use crate::state::FactoryState;
use ic_stable_structures::Memory;
use std::fmt::Write;

pub use factory_api::{HttpRequest, HttpResponse};

pub fn http_request<M: Memory>(
    s: &FactoryState<M>,
    req: &HttpRequest,
    cycles_balance: u128,
    now_ns: u64,
) -> HttpResponse {
    let path = req.url.split('?').next().unwrap_or_default();
    if path != "/metrics" {
        return text(404, "not found: try /metrics\n".into());
    }
    if req.method != "GET" {
        return text(405, "only GET\n".into());
    }
    text(200, render(s, cycles_balance, now_ns))
}

fn text(status_code: u16, body: String) -> HttpResponse {
    HttpResponse {
        status_code,
        headers: vec![
            ("Content-Type".into(), "text/plain; version=0.0.4".into()),
            ("Content-Length".into(), body.len().to_string()),
        ],
        body: serde_bytes::ByteBuf::from(body.into_bytes()),
    }
}

pub fn render<M: Memory>(s: &FactoryState<M>, cycles_balance: u128, now_ns: u64) -> String {
    let mut out = String::new();
    let counters = s.counters.get();
    let stats = s.registry.stats();
    let mut gauge = |name: &str, help: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge(
        "factory_users",
        "Users with a record (any phase).",
        s.users.len().to_string(),
    );
    gauge(
        "factory_cycles_balance",
        "Cycles balance of the factory.",
        cycles_balance.to_string(),
    );
    gauge(
        "factory_cycles_reserve",
        "Cycles the factory keeps in reserve.",
        s.config.get().cycles_reserve.to_string(),
    );
    gauge(
        "factory_canisters_created_total",
        "User canisters created.",
        counters.canisters_created.to_string(),
    );
    gauge(
        "factory_provision_failures_total",
        "Provisioning attempts that failed.",
        counters.provision_failures.to_string(),
    );
    gauge(
        "factory_releases",
        "Releases in the registry.",
        stats.releases.to_string(),
    );
    gauge(
        "factory_registry_module_bytes",
        "Bytes of stored modules.",
        stats.module_bytes.to_string(),
    );
    gauge(
        "factory_user_stable_bytes",
        "Stable memory grown by the per-user structures (users, reverse index, version counts).",
        s.user_stable_bytes().to_string(),
    );
    gauge(
        "factory_audit_entries",
        "Entries in the audit log.",
        s.audit.len().to_string(),
    );
    gauge(
        "factory_epoch",
        "Factory upgrades so far.",
        counters.epoch.to_string(),
    );
    let _ = writeln!(
        out,
        "# HELP factory_canisters_by_version Ready user canisters per installed release.\n# TYPE factory_canisters_by_version gauge"
    );
    for (version, n) in s.version_counts.iter().map(|e| e.into_pair()) {
        let _ = writeln!(
            out,
            "factory_canisters_by_version{{version=\"{version}\"}} {n}"
        );
    }
    render_scheduler(s, &mut out);
    crate::cycles::metrics::render(s, now_ns, &mut out);
    let _ = writeln!(out, "# timestamp {}", now_ns / 1_000_000);
    out
}

/// The scheduler's figures: counters and bounded maps only.
fn render_scheduler<M: Memory>(s: &FactoryState<M>, out: &mut String) {
    let sc = s.sched.sched.get();
    let t = &sc.totals;
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, String)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    metric(
        "factory_rollout_in_flight",
        "gauge",
        "Upgrades in flight now.",
        &[("", crate::rollout::take::in_flight(s).to_string())],
    );
    metric(
        "factory_rollout_queued",
        "gauge",
        "Canisters queued (rollouts and on-demand).",
        &[("", s.sched.queue.len().to_string())],
    );
    metric(
        "factory_rollout_retrying",
        "gauge",
        "Canisters waiting for a retry.",
        &[("", s.sched.retries.len().to_string())],
    );
    if let Some(p) = &sc.rollout {
        let state = match &p.state {
            crate::rollout::model::RolloutState::Running => "running",
            crate::rollout::model::RolloutState::Paused(_) => "paused",
            crate::rollout::model::RolloutState::Halted { .. } => "halted",
        };
        metric(
            "factory_rollout_state",
            "gauge",
            "The active rollout and its state.",
            &[(
                &format!("{{id=\"{}\",state=\"{state}\"}}", p.id),
                "1".into(),
            )],
        );
        metric(
            "factory_rollout_stage",
            "gauge",
            "The active rollout's current stage (0 = first).",
            &[("", p.stage.to_string())],
        );
    }
    metric(
        "factory_upgrades_total",
        "counter",
        "Canisters the scheduler finished, by outcome.",
        &[
            ("{outcome=\"upgraded\"}", t.upgraded.to_string()),
            ("{outcome=\"skipped\"}", t.skipped.to_string()),
            ("{outcome=\"failed\"}", t.failed.to_string()),
        ],
    );
    metric(
        "factory_upgrade_retries_total",
        "counter",
        "Failed tries scheduled again.",
        &[("", t.retries.to_string())],
    );
    metric(
        "factory_reconciled_total",
        "counter",
        "Runs found mid-sequence after a factory upgrade.",
        &[("", t.reconciled.to_string())],
    );
    metric(
        "factory_on_demand_requests_total",
        "counter",
        "On-demand upgrade requests, by result.",
        &[
            ("{result=\"accepted\"}", t.on_demand_accepted.to_string()),
            (
                "{result=\"rate_limited\"}",
                t.on_demand_rate_limited.to_string(),
            ),
        ],
    );
    metric(
        "factory_top_ups_total",
        "counter",
        "Cycle top-ups of user canisters before an upgrade.",
        &[("", t.top_ups.to_string())],
    );
    metric(
        "factory_top_up_cycles_total",
        "counter",
        "Cycles sent in top-ups.",
        &[("", t.top_up_cycles.to_string())],
    );
    metric(
        "factory_scheduler_ticks_total",
        "counter",
        "Timer ticks of the scheduler.",
        &[("", t.ticks.to_string())],
    );
}
