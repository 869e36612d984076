//! The results of one run: one row per figure, printed as a table and
//! written as JSON and Markdown so two commits can be compared.

use serde::Serialize;
use std::fmt::Write;
use std::path::Path;

#[derive(Serialize, Clone, Debug)]
pub struct Figure {
    /// Which benchmark (e.g. "rollout N=1000").
    pub bench: String,
    pub metric: String,
    pub value: f64,
    pub unit: String,
    /// How it was measured, a ratio against a reference, or a goal.
    pub note: String,
}

#[derive(Serialize, Debug)]
pub struct Report {
    pub size: String,
    pub git_commit: Option<String>,
    /// Total wall time of the run, seconds (noisy on a shared machine).
    pub wall_s: f64,
    pub figures: Vec<Figure>,
}

impl Report {
    pub fn add(
        &mut self,
        bench: &str,
        metric: &str,
        value: f64,
        unit: &str,
        note: impl Into<String>,
    ) {
        let f = Figure {
            bench: bench.into(),
            metric: metric.into(),
            value,
            unit: unit.into(),
            note: note.into(),
        };
        eprintln!(
            "  {:<28} {:<44} {:>16} {:<6} {}",
            f.bench,
            f.metric,
            fmt(f.value),
            f.unit,
            f.note
        );
        self.figures.push(f);
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| bench | metric | value | unit | note |\n| --- | --- | ---: | --- | --- |"
        );
        for f in &self.figures {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                f.bench,
                f.metric,
                fmt(f.value),
                f.unit,
                f.note.replace('|', "/")
            );
        }
        out
    }

    pub fn markdown(&self) -> String {
        format!(
            "# factory-bench ({} size)\n\ncommit: {}; run wall time {:.0} s. Instruction counts and rounds are \
             deterministic; wall times are medians, noisy on a shared machine.\n\n{}",
            self.size,
            self.git_commit.as_deref().unwrap_or("unknown"),
            self.wall_s,
            self.table()
        )
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("results.json"), json)?;
        std::fs::write(dir.join("results.md"), self.markdown())
    }
}

/// Integers without decimals, ratios and small numbers with three digits.
pub fn fmt(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_markdown_hold_every_figure() {
        let mut r = Report {
            size: "smallest".into(),
            git_commit: Some("abc".into()),
            wall_s: 1.0,
            figures: vec![],
        };
        r.add(
            "rollout N=10",
            "rounds",
            42.0,
            "rounds",
            "ideal 40 | ratio 1.05",
        );
        r.add("wasm", "factory gz", 1234.0, "B", "");
        let dir = std::env::temp_dir().join(format!("factory-bench-{}", std::process::id()));
        r.write(&dir).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(json["figures"][0]["value"], 42.0);
        assert_eq!(json["figures"].as_array().unwrap().len(), 2);
        let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
        assert!(
            md.contains("| rollout N=10 | rounds | 42 | rounds | ideal 40 / ratio 1.05 |"),
            "{md}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn numbers_are_formatted_for_reading() {
        assert_eq!(fmt(1_000_000.0), "1000000");
        assert_eq!(fmt(1.23456), "1.235");
        assert_eq!(fmt(1234.56), "1234.6");
    }
}
