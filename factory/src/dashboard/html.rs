//! The dashboard page: a whole document with its style and a small inline
//! script that fetches `/dashboard/live` every few seconds and swaps it in,
//! so every figure is rendered here, in one place.

use super::format::{ago, duration, escape, percent, share_bps};
use super::snapshot::{Dashboard, End, Phase, Rollout, State};
use std::fmt::Write;

/// Between two refreshes of the page's live part.
pub const REFRESH_MS: u32 = 2_000;

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:60em}\
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.4em}\
table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}\
td.n{text-align:right}.bar{background:#4a7;height:.8em;min-width:1px}\
.state-running{color:#262}.state-paused{color:#a60}.state-halted{color:#b22}\
footer{margin-top:2em;color:#777;font-size:.9em}";

pub fn page(d: &Dashboard) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Factory rollouts</title><style>{STYLE}</style></head><body>\
<h1>Factory rollout dashboard</h1><main id=\"live\">{}</main>\
<footer>Refreshed live every {} s (refreshes so far: <span id=\"refreshes\">0</span>, \
<span id=\"link\">connected</span>). Also as <a href=\"/dashboard.json\">JSON</a> \
and <a href=\"/metrics\">Prometheus metrics</a>.</footer>{}</body></html>\n",
        live(d),
        REFRESH_MS / 1_000,
        script(),
    )
}

/// The page's live part: everything that changes.
pub fn live(d: &Dashboard) -> String {
    let mut out = String::new();
    fleet(&mut out, d);
    match &d.rollout {
        Some(r) => rollout(&mut out, d.now_ns, r),
        None => {
            out.push_str("<h2>Active rollout</h2><p id=\"no-rollout\">No rollout is active.</p>")
        }
    }
    scheduler(&mut out, d);
    history(&mut out, d);
    out
}

fn fleet(out: &mut String, d: &Dashboard) {
    let total: u64 = d.fleet.iter().map(|v| v.canisters).sum();
    let _ = write!(
        out,
        "<h2>Fleet by version</h2><p id=\"fleet-total\">Canisters on a release: {total}; users: {}.</p>\
<table id=\"fleet\"><tr><th>version</th><th>canisters</th><th>share</th><th></th></tr>",
        d.users
    );
    for v in &d.fleet {
        let bps = share_bps(v.canisters, total);
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td style=\"width:12em\"><div class=\"bar\" style=\"width:{}%\"></div></td></tr>",
            escape(&v.version),
            v.canisters,
            percent(bps),
            bps / 100
        );
    }
    out.push_str("</table>");
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Running => "running",
        State::Paused => "paused",
        State::Halted => "halted",
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Waiting => "waiting",
        Phase::Running => "running",
        Phase::Done => "done",
    }
}

fn rollout(out: &mut String, now: u64, r: &Rollout) {
    let state = state_name(r.state);
    let _ = write!(
        out,
        "<h2>Active rollout</h2><p id=\"rollout\">Rollout {} to {}: \
<strong class=\"state-{state}\">{state}</strong>",
        r.id,
        escape(&r.target_version)
    );
    if let Some(detail) = &r.state_detail {
        let _ = write!(out, " ({})", escape(detail));
    }
    let stage_name = r
        .stages
        .get(usize::from(r.current_stage))
        .map_or("", |s| s.name.as_str());
    let _ = write!(
        out,
        ", stage {} of {} ({}), started {}.</p><p id=\"rate\">Rate: {} upgrades per hour; \
about {} canisters eligible; {}.</p>",
        usize::from(r.current_stage) + 1,
        r.stages.len(),
        escape(stage_name),
        ago(now, r.started_ns),
        r.per_hour,
        r.eligible_estimate,
        r.eta_ns
            .map_or("no estimate of the time left yet".into(), |eta| format!(
                "about {} left",
                duration(eta)
            )),
    );
    out.push_str(
        "<table id=\"stages\"><tr><th>stage</th><th>phase</th><th>fleet</th><th>upgraded</th>\
<th>failed</th><th>skipped</th><th>pending</th><th>failure rate</th><th>halts above</th></tr>",
    );
    for s in &r.stages {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td></tr>",
            escape(&s.name),
            phase_name(s.phase),
            percent(u64::from(s.fleet_bps)),
            s.upgraded,
            s.failed,
            s.skipped,
            s.pending,
            percent(s.failure_bps),
            percent(u64::from(s.max_failure_bps)),
        );
    }
    out.push_str("</table><h2>Failures by reason</h2>");
    if r.failures.is_empty() {
        out.push_str("<p id=\"failures\">No failures.</p>");
        return;
    }
    out.push_str("<table id=\"failures\"><tr><th>reason</th><th>canisters</th></tr>");
    for f in &r.failures {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&f.reason),
            f.count
        );
    }
    out.push_str("</table>");
}

fn scheduler(out: &mut String, d: &Dashboard) {
    let s = &d.scheduler;
    let _ = write!(
        out,
        "<h2>Now</h2><table id=\"now\">\
<tr><td>canisters stopped now</td><td class=\"n\">{}</td></tr>\
<tr><td>upgrades in flight</td><td class=\"n\">{} of {}</td></tr>\
<tr><td>queued</td><td class=\"n\">{}</td></tr>\
<tr><td>waiting for a retry</td><td class=\"n\">{}</td></tr>\
<tr><td>upgraded since install</td><td class=\"n\">{}</td></tr>\
<tr><td>failed since install</td><td class=\"n\">{}</td></tr>\
<tr><td>skipped since install</td><td class=\"n\">{}</td></tr></table>",
        s.stopped_now,
        s.in_flight,
        s.max_in_flight,
        s.queued,
        s.retrying,
        s.upgraded_total,
        s.failed_total,
        s.skipped_total,
    );
}

fn end_name(e: End) -> &'static str {
    match e {
        End::Completed => "completed",
        End::Cancelled => "cancelled",
        End::Superseded => "superseded",
    }
}

fn history(out: &mut String, d: &Dashboard) {
    let _ = write!(
        out,
        "<h2>Recent rollouts</h2><p>{} in the history.</p>",
        d.history_total
    );
    if d.history.is_empty() {
        return;
    }
    out.push_str(
        "<table id=\"history\"><tr><th>rollout</th><th>to</th><th>end</th><th>upgraded</th>\
<th>failed</th><th>skipped</th><th>took</th><th>ended</th></tr>",
    );
    for h in &d.history {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            h.id,
            escape(&h.target_version),
            end_name(h.end),
            h.upgraded,
            h.failed,
            h.skipped,
            duration(h.ended_ns.saturating_sub(h.started_ns)),
            ago(d.now_ns, h.ended_ns),
        );
    }
    out.push_str("</table>");
}

/// Fetches the live part again (keeping the query, e.g. `?canisterId=`, that
/// the gateway may need) and counts the refreshes, which the browser test reads.
fn script() -> String {
    format!(
        "<script>(()=>{{let n=0;const live=document.getElementById('live'),\
count=document.getElementById('refreshes'),link=document.getElementById('link');\
async function refresh(){{try{{const r=await fetch('/dashboard/live'+location.search,{{cache:'no-store'}});\
if(!r.ok)throw new Error(r.status);live.innerHTML=await r.text();count.textContent=String(++n);\
link.textContent='connected';}}catch(e){{link.textContent='not connected: '+e.message;}}}}\
setInterval(refresh,{REFRESH_MS});}})();</script>"
    )
}
