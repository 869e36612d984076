//! The demo with a small fleet, its JSON summary checked against what the
//! factory itself reports once the demo's saved network is reopened.

mod common;

use common::chromium::Chromium;
use common::{field, ok};

#[test]
fn the_demo_report_matches_the_factorys_own_status() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let users = 20u64;
    let out = ok(
        dir.path(),
        &[
            "demo",
            "--users",
            &users.to_string(),
            "--quiet",
            "--max-in-flight",
            "8",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert!(out.contains("data verified intact: 20/20"), "{out}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let num = |v: &serde_json::Value| v.as_u64().unwrap();
    assert_eq!(num(&json["users"]), users);
    assert_eq!(num(&json["data_verified"]), users);
    let rollouts = json["rollouts"].as_array().unwrap();
    assert_eq!(rollouts.len(), 2);
    assert_eq!(rollouts[0]["end"], "completed");
    assert_eq!(num(&rollouts[0]["upgraded"]), users);
    assert!(
        rollouts[1]["end"].as_str().unwrap().starts_with("halted"),
        "{}",
        rollouts[1]
    );
    assert_eq!(
        num(&rollouts[1]["upgraded"]),
        0,
        "the broken release never installs"
    );
    assert!(num(&rollouts[1]["failed"]) >= 1);

    // The factory's own figures, through the saved network.
    let state = dir.path().join("state");
    let status = ok(&state, &["rollout", "status"]);
    let totals = &json["totals"];
    for key in ["upgraded", "failed", "skipped", "retries"] {
        assert_eq!(
            field(&status, "totals:", key),
            num(&totals[key]),
            "{key} in {status}"
        );
    }
    // v2 to everyone, plus one on-demand upgrade; v3 failed on the canary only.
    assert_eq!(num(&totals["upgraded"]), users + 1);
    assert_eq!(num(&totals["failed"]), num(&rollouts[1]["failed"]));
    let metrics = ok(&state, &["metrics"]);
    let versions = json["versions"].as_object().unwrap();
    assert_eq!(
        versions.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        users
    );
    for (version, count) in versions {
        let line = format!("factory_canisters_by_version{{version=\"{version}\"}} {count}");
        assert!(metrics.contains(&line), "{line} missing from:\n{metrics}");
    }
    assert_eq!(versions["3.0.1"], 1, "the on-demand upgrade");
    assert_eq!(versions["1.0.0"], 1, "the restored canister");
    let history = ok(&state, &["rollout", "history"]);
    assert!(
        history.contains("rollout 2 -> 3.0.0: cancelled"),
        "{history}"
    );

    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("<table"), "a chart");
    assert!(html.contains("Cycles by purpose"), "the cycles chart");
    let cycles = json["cycles"].as_array().expect("cycles by purpose");
    assert!(
        cycles.iter().any(|c| c["purpose"] == "creation"),
        "{cycles:?}"
    );
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "no external assets"
    );
    in_chromium(&report);
}

/// The report as a browser shows it: its text (the DOM after layout) and a
/// screenshot, in headless Chromium (`scripts/setup-chromium.sh` installs it).
fn in_chromium(report: &std::path::Path) {
    let Some(chromium) = Chromium::find("the report's screenshot check") else {
        return;
    };
    let url = format!("file://{}", report.display());
    let dom = chromium.dom(&url);
    for text in [
        "<table",
        "data verified intact",
        "stage canary",
        "stage all",
        "round (one second each)",
        "retrying",
        "in flight",
    ] {
        assert!(dom.contains(text), "{text} missing from the page:\n{dom}");
    }
    let shot = chromium.scratch().join("report.png");
    chromium.screenshot(&url, &shot, &["--window-size=900,2600"], 20_000);
}
