//! `/metrics` in Prometheus text format over `http_request`, the IC's
//! convention for canister metrics. Every figure is read from a counter, never
//! from a scan of the users, so the query costs the same at any fleet size.

use crate::state::FactoryState;
use candid::{CandidType, Deserialize};
use ic_stable_structures::Memory;
use std::fmt::Write;

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: serde_bytes::ByteBuf,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: Vec<(String, String)>,
    pub body: serde_bytes::ByteBuf,
}

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
    let _ = writeln!(out, "# timestamp {}", now_ns / 1_000_000);
    out
}
