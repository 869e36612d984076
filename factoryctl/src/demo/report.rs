//! The HTML report an admin reads at a glance: the summary as tables and,
//! per rollout, two charts over rounds as inline SVG (no scripts, no
//! external assets): progress (upgraded, failed) and concurrency (in flight,
//! retrying) on scales of their own, with labelled axes, ticks from zero and
//! a shaded band per stage. Values are drawn as steps between samples (they
//! hold until the next one), never as false diagonals.

use super::rollout_run::{RolloutRun, Sample};
use super::summary::{group, Summary};
use std::fmt::Write;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 44.0;
/// Rough width of one character of the 11 px labels, to keep them apart.
const CHAR_PX: f64 = 6.5;
const BANDS: [&str; 2] = ["#f1f5fb", "#fbf6ee"];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tick step of 1, 2 or 5 × 10^k giving about five ticks up to `max`.
fn tick_step(max: u64) -> u64 {
    let rough = (max as f64 / 5.0).max(1.0);
    let magnitude = 10f64.powi(rough.log10().floor() as i32);
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    (step as u64).max(1)
}

/// The axis top: `max` rounded up to a whole tick.
fn axis_max(max: u64) -> (u64, u64) {
    let step = tick_step(max.max(1));
    (max.max(1).div_ceil(step) * step, step)
}

struct Series<'a> {
    name: &'a str,
    color: &'a str,
    value: fn(&Sample) -> u64,
}

/// One chart of `series` against rounds, with the stages as bands.
fn chart(run: &RolloutRun, title: &str, y_label: &str, series: &[Series]) -> String {
    let last_round = run.samples.last().map_or(0, |s| s.round);
    let (max_x, x_step) = axis_max(last_round);
    let top_value = run
        .samples
        .iter()
        .flat_map(|s| series.iter().map(move |ser| (ser.value)(s)))
        .max()
        .unwrap_or(0);
    let (max_y, y_step) = axis_max(top_value);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |r: u64| LEFT + r as f64 / max_x as f64 * plot_w;
    let y = |v: u64| TOP + plot_h - v as f64 / max_y as f64 * plot_h;
    let bottom = TOP + plot_h;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{title}">
<rect width="100%" height="100%" fill="#fff"/>
<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{title}</text>
"##,
        title = escape(title)
    );
    // Stage bands: from the round a stage became current to the next one's.
    let mut bands: Vec<(String, u64, u64)> = Vec::new();
    for s in run.samples.iter().filter(|s| s.stage != "done") {
        match bands.last_mut() {
            Some((name, _, end)) if *name == s.stage => *end = s.round,
            _ => {
                if let Some((_, _, end)) = bands.last_mut() {
                    *end = s.round;
                }
                bands.push((s.stage.clone(), s.round, s.round));
            }
        }
    }
    if let Some((_, _, end)) = bands.last_mut() {
        *end = last_round;
    }
    let mut label_ends = [f64::MIN; 2];
    let mut labels = String::new();
    for (i, (name, from, to)) in bands.iter().enumerate() {
        let (x0, x1) = (x(*from), x(*to).max(x(*from) + 1.0));
        let _ = writeln!(
            svg,
            r##"<rect x="{x0:.1}" y="{TOP}" width="{:.1}" height="{plot_h}" fill="{}"/>"##,
            x1 - x0,
            BANDS[i % 2]
        );
        // Two label rows: a label goes to the first row where it fits.
        let width = ("stage ".len() + name.len()) as f64 * CHAR_PX;
        let row = usize::from(label_ends[0] > x0 + 2.0);
        label_ends[row] = x0 + 2.0 + width + CHAR_PX;
        // Drawn after every band, so a later band never covers a label.
        let _ = writeln!(
            labels,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#555">stage {}</text>"##,
            x0 + 2.0,
            TOP + 12.0 + row as f64 * 12.0,
            escape(name)
        );
    }
    svg += &labels;
    // Axes, grid and ticks from zero.
    let mut v = 0;
    while v <= max_y {
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#ddd"/><text x="{2:.1}" y="{3:.1}" font-size="11" text-anchor="end">{4}</text>"##,
            y(v),
            LEFT + plot_w,
            LEFT - 6.0,
            y(v) + 4.0,
            group(v)
        );
        v += y_step;
    }
    let mut r = 0;
    while r <= max_x {
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{bottom}" x2="{0:.1}" y2="{1:.1}" stroke="#444"/><text x="{0:.1}" y="{2:.1}" font-size="11" text-anchor="middle">{3}</text>"##,
            x(r),
            bottom + 4.0,
            bottom + 16.0,
            group(r)
        );
        r += x_step;
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#444"/><line x1="{LEFT}" y1="{bottom}" x2="{0:.1}" y2="{bottom}" stroke="#444"/>
<text x="{1:.1}" y="{2:.1}" font-size="12" text-anchor="middle">round (one second each)</text>
<text x="14" y="{3:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {3:.1})">{4}</text>"##,
        LEFT + plot_w,
        LEFT + plot_w / 2.0,
        HEIGHT - 8.0,
        TOP + plot_h / 2.0,
        escape(y_label)
    );
    // Steps: a value holds until the next sample.
    for s in series {
        let mut path = String::new();
        for (i, sample) in run.samples.iter().enumerate() {
            let (px, py) = (x(sample.round), y((s.value)(sample)));
            if i == 0 {
                let _ = write!(path, "M{px:.1},{py:.1}");
            } else {
                let _ = write!(path, " H{px:.1} V{py:.1}");
            }
        }
        let _ = writeln!(
            svg,
            r#"<path fill="none" stroke="{}" stroke-width="2" d="{path}"><title>{}</title></path>"#,
            s.color, s.name
        );
    }
    for (i, s) in series.iter().enumerate() {
        let lx = WIDTH - RIGHT - (series.len() - i) as f64 * 110.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{lx}" y="6" width="12" height="12" fill="{}"/><text x="{}" y="16" font-size="12">{}</text>"#,
            s.color,
            lx + 16.0,
            s.name
        );
    }
    svg.push_str("</svg>");
    svg
}

pub fn progress_chart(run: &RolloutRun) -> String {
    chart(
        run,
        &format!("rollout {}: progress", run.id),
        "canisters",
        &[
            Series {
                name: "upgraded",
                color: "#2a9d3f",
                value: |s| s.upgraded,
            },
            Series {
                name: "failed",
                color: "#d62828",
                value: |s| s.failed,
            },
        ],
    )
}

pub fn concurrency_chart(run: &RolloutRun) -> String {
    chart(
        run,
        &format!(
            "rollout {}: upgrades in flight and waiting to retry",
            run.id
        ),
        "canisters at once",
        &[
            Series {
                name: "in flight",
                color: "#1d6fd6",
                value: |s| s.in_flight,
            },
            Series {
                name: "retrying",
                color: "#e09f1f",
                value: |s| s.retrying,
            },
        ],
    )
}

/// What the rollout costs the owners: canisters stopped at once, and the
/// p99 of the latest stopped intervals (stop sent → start answered).
pub fn downtime_chart(run: &RolloutRun) -> String {
    chart(
        run,
        &format!("rollout {}: downtime", run.id),
        "canisters stopped / rounds",
        &[
            Series {
                name: "stopped now",
                color: "#7b2cbf",
                value: |s| s.stopped_now,
            },
            Series {
                name: "downtime p99 (rounds)",
                color: "#c9184a",
                value: |s| s.downtime_p99,
            },
        ],
    )
}

fn row(cells: &[String], header: bool) -> String {
    let tag = if header { "th" } else { "td" };
    let cells: String = cells
        .iter()
        .map(|c| format!("<{tag}>{}</{tag}>", escape(c)))
        .collect();
    format!("<tr>{cells}</tr>\n")
}

fn steps_table(summary: &Summary) -> String {
    let mut t = String::from("<table class=\"num\">\n");
    t += &row(
        &[
            "step".into(),
            "rounds".into(),
            "wall time".into(),
            "factory instructions".into(),
        ],
        true,
    );
    let seconds = |ms: u128| format!("{:.1} s", ms as f64 / 1000.0);
    for s in &summary.steps {
        t += &row(
            &[
                s.name.clone(),
                group(s.rounds),
                seconds(s.wall_ms),
                group(s.factory_instructions),
            ],
            false,
        );
    }
    t += &row(
        &[
            "total".into(),
            group(summary.rounds),
            seconds(summary.wall_ms),
            group(summary.factory_instructions),
        ],
        true,
    );
    t + "</table>\n"
}

fn facts_table(summary: &Summary) -> String {
    let mut facts: Vec<(String, String)> = Vec::new();
    for r in &summary.rollouts {
        facts.push((
            format!("rollout {} to {}", r.id, r.target),
            format!(
                "{} after {} rounds: upgraded {}, failed {}, skipped {}",
                r.end, r.rounds, r.upgraded, r.failed, r.skipped
            ),
        ));
    }
    facts.push(("on-demand upgrade".into(), summary.on_demand.clone()));
    facts.push(("recovery restore".into(), summary.restore.clone()));
    let versions: Vec<String> = summary
        .versions
        .iter()
        .map(|(v, n)| format!("{v}: {}", group(*n)))
        .collect();
    facts.push(("canisters by version".into(), versions.join(", ")));
    let t = &summary.totals;
    facts.push((
        "factory totals".into(),
        format!(
            "upgraded {}, failed {}, skipped {}, retries {}",
            group(t.upgraded),
            group(t.failed),
            group(t.skipped),
            group(t.retries)
        ),
    ));
    facts.push((
        "user canister instructions".into(),
        group(summary.user_canister_instructions),
    ));
    facts.push((
        "data verified intact".into(),
        format!("{} of {}", summary.data_verified, summary.data_checked),
    ));
    let mut out = String::from("<table>\n");
    for (k, v) in facts {
        out += &format!("<tr><th>{}</th><td>{}</td></tr>\n", escape(&k), escape(&v));
    }
    out + "</table>\n"
}

pub fn html(summary: &Summary) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>Factory demo: {} users, up to {} upgrades in flight</h1>",
        group(summary.users),
        summary.max_in_flight
    );
    body += &facts_table(summary);
    body += "<h2>Steps</h2>\n";
    body += &steps_table(summary);
    body += "<h2>Cycles</h2>\n";
    body += &super::cycles_chart::chart(&summary.cycles);
    for run in &summary.rollouts {
        let _ = writeln!(
            body,
            "<h2>Rollout {} to {}: {}</h2>\n{}\n{}\n{}",
            run.id,
            escape(&run.target),
            escape(&run.end),
            progress_chart(run),
            concurrency_chart(run),
            downtime_chart(run)
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Factory demo report</title>\n\
         <style>body{{font-family:sans-serif;max-width:800px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0;width:100%}}\
         th,td{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}\
         th{{background:#f4f4f4}}table.num td+td{{text-align:right}}svg{{display:block;margin:1em 0}}</style>\n\
         </head><body>\n{body}</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(round: u64, upgraded: u64, in_flight: u64, retrying: u64, stage: &str) -> Sample {
        Sample {
            round,
            upgraded,
            failed: 0,
            in_flight,
            retrying,
            stopped_now: in_flight / 2,
            downtime_p99: 6,
            stage: stage.into(),
        }
    }

    fn run() -> RolloutRun {
        RolloutRun {
            id: 1,
            target: "2.0.0".into(),
            end: "completed".into(),
            rounds: 130,
            upgraded: 1000,
            failed: 0,
            skipped: 0,
            samples: vec![
                sample(0, 0, 0, 0, "canary"),
                sample(1, 0, 50, 0, "all"),
                sample(60, 480, 50, 3, "all"),
                sample(130, 1000, 0, 0, "done"),
            ],
        }
    }

    #[test]
    fn ticks_are_round_numbers_from_zero() {
        assert_eq!(axis_max(1000), (1000, 200));
        assert_eq!(axis_max(130), (150, 50));
        assert_eq!(axis_max(7), (8, 2));
        assert_eq!(axis_max(0), (1, 1));
    }

    #[test]
    fn charts_have_axes_ticks_stage_bands_and_their_own_scales() {
        let progress = progress_chart(&run());
        assert!(progress.contains(">round (one second each)<"));
        assert!(progress.contains(">canisters<"));
        assert!(progress.contains(">1,000<") && progress.contains(">0<"));
        // Adjacent short stages get their own labels, on two rows.
        assert!(progress.contains(">stage canary<") && progress.contains(">stage all<"));
        // Steps, not diagonals: horizontal then vertical moves only.
        assert!(progress.contains(" H") && progress.contains(" V"));
        let concurrency = concurrency_chart(&run());
        assert!(concurrency.contains(">retrying<") && concurrency.contains(">in flight<"));
        // In flight peaks at 50: its axis ends there, not at 1,000.
        assert!(concurrency.contains(">50<") && !concurrency.contains(">1,000<"));
        let downtime = downtime_chart(&run());
        assert!(downtime.contains(">stopped now<") && downtime.contains(">downtime p99 (rounds)<"));
        // Its own scale: stopped peaks at 25, not the 1,000 upgraded.
        assert!(!downtime.contains(">1,000<"));
    }
}
