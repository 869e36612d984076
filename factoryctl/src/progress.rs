//! Live progress of a rollout, shared by `rollout watch` and the demo: a
//! progress bar on a terminal (or one line per change elsewhere), and each
//! new failure reason printed the moment its count grows.

use crate::commands::stage_line;
use factory_client::{ActiveRollout, AdmissionStatus, StagePhase};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;

pub struct RolloutProgress {
    bar: Option<ProgressBar>,
    quiet: bool,
    failures_seen: HashMap<String, u64>,
    last_line: String,
}

impl RolloutProgress {
    /// `bar`: draw a progress bar (only where stderr is a terminal);
    /// `quiet`: print nothing at all.
    pub fn new(bar: bool, quiet: bool) -> Self {
        let bar = (bar && !quiet).then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        RolloutProgress {
            bar,
            quiet,
            failures_seen: HashMap::new(),
            last_line: String::new(),
        }
    }

    fn say(&self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) if !b.is_hidden() => b.println(line),
            _ => crate::say!("{line}"),
        }
    }

    /// Shows one observation of the active rollout and of its admission
    /// (the live rate, canisters stopped now, downtime percentiles).
    pub fn update(&mut self, round: u64, a: &ActiveRollout, adm: &AdmissionStatus) {
        for f in &a.failure_reasons {
            let seen = self.failures_seen.entry(f.reason.clone()).or_insert(0);
            if f.count > *seen {
                let new = f.count - *seen;
                *seen = f.count;
                self.say(&format!(
                    "round {round}: {new} new failure(s), {} so far: {} (e.g. {})",
                    f.count, f.reason, f.example
                ));
            }
        }
        let current = a
            .stages
            .iter()
            .find(|s| s.phase == StagePhase::Running)
            .or(a.stages.last());
        let done: u64 = a
            .stages
            .iter()
            .map(|s| s.counters.upgraded + s.counters.failed + s.counters.skipped)
            .sum();
        if let Some(bar) = &self.bar {
            bar.set_length(a.eligible_estimate.max(done));
            bar.set_position(done);
            if let Some(s) = current {
                bar.set_prefix(s.name.clone());
                bar.set_message(format!(
                    "upgraded {} failed {} in flight {} | {}",
                    s.counters.upgraded,
                    s.counters.failed,
                    s.counters.in_flight,
                    admission_summary(adm)
                ));
            }
            if !bar.is_hidden() {
                return;
            }
        }
        // No bar: a line whenever the current stage's figures change.
        if let Some(s) = current {
            let line = stage_line(s);
            if line != self.last_line {
                self.say(&format!(
                    "round {round}: {line} | {}",
                    admission_summary(adm)
                ));
                self.last_line = line;
            }
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Upgrades per round (one round a second on an application subnet), what
/// is stopped now and the stopped intervals' p50 / p99 / max.
pub fn admission_summary(a: &AdmissionStatus) -> String {
    let secs = |ns: u64| ns / 1_000_000_000;
    format!(
        "{:.2} upgrades/round, {} stopped now, downtime p50/p99/max {}/{}/{} s",
        a.upgrades_per_ks as f64 / 1_000.0,
        a.stopped_now,
        secs(a.downtime_p50_ns),
        secs(a.downtime_p99_ns),
        secs(a.downtime_max_ns)
    )
}
