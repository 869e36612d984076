//! The HTML report: the summary and, per rollout, a chart of its progress
//! over rounds as inline SVG (no scripts, no external assets).

use super::rollout_run::{RolloutRun, Sample};
use super::summary::Summary;
use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const MARGIN: f64 = 40.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Upgraded, failed and in-flight canisters against rounds.
pub fn chart(run: &RolloutRun) -> String {
    let max_x = run.samples.last().map_or(1, |s| s.round).max(1) as f64;
    let max_y = run
        .samples
        .iter()
        .map(|s| s.upgraded.max(s.failed).max(s.in_flight))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let x = |r: u64| MARGIN + (r as f64 / max_x) * (WIDTH - 2.0 * MARGIN);
    let y = |v: u64| HEIGHT - MARGIN - (v as f64 / max_y) * (HEIGHT - 2.0 * MARGIN);
    let line = |value: &dyn Fn(&Sample) -> u64| {
        run.samples
            .iter()
            .map(|s| format!("{:.1},{:.1}", x(s.round), y(value(s))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="rollout {id} over rounds">
<rect width="100%" height="100%" fill="#fff"/>
<line x1="{MARGIN}" y1="{b}" x2="{r}" y2="{b}" stroke="#444"/>
<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{b}" stroke="#444"/>
<text x="{MARGIN}" y="{t}" font-size="11">{max_y}</text>
<text x="{r}" y="{bl}" font-size="11" text-anchor="end">round {max_x}</text>
"##,
        id = run.id,
        b = HEIGHT - MARGIN,
        r = WIDTH - MARGIN,
        t = MARGIN - 6.0,
        bl = HEIGHT - MARGIN + 16.0,
    );
    // Where the stage changes: a dashed vertical line with its name.
    let mut last_stage = String::new();
    for s in &run.samples {
        if s.stage != last_stage && s.stage != "done" {
            let _ = writeln!(
                svg,
                r##"<line x1="{0:.1}" y1="{MARGIN}" x2="{0:.1}" y2="{1}" stroke="#aaa" stroke-dasharray="4 3"/><text x="{2:.1}" y="{3}" font-size="11" fill="#666">{4}</text>"##,
                x(s.round),
                HEIGHT - MARGIN,
                x(s.round) + 3.0,
                MARGIN + 12.0,
                escape(&s.stage)
            );
            last_stage = s.stage.clone();
        }
    }
    for (name, color, points) in [
        ("upgraded", "#2a9d3f", line(&|s: &Sample| s.upgraded)),
        ("failed", "#d62828", line(&|s: &Sample| s.failed)),
        ("in flight", "#1d6fd6", line(&|s: &Sample| s.in_flight)),
    ] {
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"><title>{name}</title></polyline>"#
        );
    }
    for (i, (name, color)) in [
        ("upgraded", "#2a9d3f"),
        ("failed", "#d62828"),
        ("in flight", "#1d6fd6"),
    ]
    .iter()
    .enumerate()
    {
        let lx = MARGIN + 10.0 + i as f64 * 110.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{lx}" y="8" width="12" height="12" fill="{color}"/><text x="{}" y="18" font-size="12">{name}</text>"#,
            lx + 16.0
        );
    }
    svg.push_str("</svg>");
    svg
}

pub fn html(summary: &Summary) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "<h1>Factory demo: {} users</h1>", summary.users);
    let _ = writeln!(body, "<pre>{}</pre>", escape(&summary.table()));
    for run in &summary.rollouts {
        let _ = writeln!(
            body,
            "<h2>Rollout {} to {}: {}</h2>\n<p>{} rounds; upgraded {}, failed {}, skipped {}.</p>\n{}",
            run.id,
            escape(&run.target),
            escape(&run.end),
            run.rounds,
            run.upgraded,
            run.failed,
            run.skipped,
            chart(run)
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Factory demo report</title>\n\
         <style>body{{font-family:sans-serif;max-width:800px;margin:2em auto}}pre{{background:#f4f4f4;padding:1em;overflow-x:auto}}</style>\n\
         </head><body>\n{body}</body></html>\n"
    )
}
