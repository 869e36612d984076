//! Headless Chromium (Debian's, which `scripts/setup-chromium.sh` installs;
//! `CHROMIUM` names another) for the tests that look at a page as a browser
//! shows it: its DOM after the scripts ran, and a screenshot.

use std::path::Path;
use std::process::Command;

pub struct Chromium {
    bin: String,
    /// A fresh profile per test, so no two runs share a cache or a lock.
    profile: tempfile::TempDir,
    /// Options of every run beyond the common ones (window size, time budget).
    options: Vec<String>,
}

impl Chromium {
    /// `None` when Chromium is not installed, saying that `check` did not run.
    pub fn find(check: &str) -> Option<Chromium> {
        let bin = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
        if Command::new(&bin).arg("--version").output().is_err() {
            eprintln!("{bin} is not installed (scripts/setup-chromium.sh): {check} did not run");
            return None;
        }
        Some(Chromium {
            bin,
            profile: tempfile::tempdir().expect("a temporary profile"),
            options: Vec::new(),
        })
    }

    /// Adds `options` to every later run.
    pub fn with(mut self, options: &[&str]) -> Self {
        self.options.extend(options.iter().map(|o| o.to_string()));
        self
    }

    /// The page's DOM once loaded (and its scripts ran within the options' budget).
    pub fn dom(&self, url: &str) -> String {
        self.run(url, &["--dump-dom".into()])
    }

    /// A screenshot of the page into `shot`; returns its bytes, checked to be
    /// a PNG of at least `min_bytes` (a blank page is far smaller).
    pub fn screenshot(&self, url: &str, shot: &Path, extra: &[&str], min_bytes: usize) -> Vec<u8> {
        let mut args = vec![format!("--screenshot={}", shot.display())];
        args.extend(extra.iter().map(|o| o.to_string()));
        self.run(url, &args);
        let png = std::fs::read(shot).expect("a screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > min_bytes,
            "a real screenshot: {} bytes",
            png.len()
        );
        png
    }

    /// A scratch directory beside the profile (removed with it).
    pub fn scratch(&self) -> &Path {
        self.profile.path()
    }

    fn run(&self, url: &str, extra: &[String]) -> String {
        let out = Command::new(&self.bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .args(&self.options)
            .arg(format!("--user-data-dir={}", self.profile.path().display()))
            .args(extra)
            .arg(url)
            .output()
            .expect("chromium runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
