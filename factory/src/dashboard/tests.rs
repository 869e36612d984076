//! The dashboard against the scheduler's simulator: figures mid-rollout and
//! after it, and the page and feed the endpoint serves.

use super::snapshot::{gather, Dashboard, End, Phase, State};
use super::{html, http_request};
use crate::metrics::HttpRequest;
use crate::rollout::tests::sim::*;
use crate::testing::*;

fn get(h: &Harness, url: &str) -> (u16, String, Vec<(String, String)>) {
    let r = http_request(
        &h.state.borrow(),
        &HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: vec![],
            body: Default::default(),
        },
        0,
        h.env.now.get(),
    );
    (
        r.status_code,
        String::from_utf8(r.body.into_vec()).unwrap(),
        r.headers,
    )
}

fn snapshot(h: &Harness) -> Dashboard {
    gather(&h.state.borrow(), h.env.now.get())
}

#[test]
fn dashboard_shows_the_fleet_stages_stopped_canisters_and_failures_mid_rollout() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    seed(&h, 0..10, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(
        &mut sim,
        crate::rollout::plan::RolloutPlan {
            stages: vec![stage("canary", 2_000, 10_000), stage("all", 10_000, 10_000)],
            // One try each: the failure below is final, so it is grouped.
            retry: Some(crate::rollout::plan::RetryPolicy {
                max_attempts: 1,
                ..FAST_RETRY
            }),
            ..plan("2.0.0", 2)
        },
    );
    // One install fails: a failure reason to group.
    h.mgmt.fail("install_chunked_code", 1);
    let mut seen_stopped = 0;
    sim.run_until(200, |sim| {
        let d = snapshot(sim.h);
        seen_stopped = seen_stopped.max(d.scheduler.stopped_now);
        d.scheduler.upgraded_total >= 3
    });
    let d = snapshot(&h);
    assert_eq!(
        seen_stopped, 2,
        "both in-flight upgrades had their canister stopped at once"
    );
    assert!(d.scheduler.stopped_now <= 2);
    let r = d.rollout.as_ref().expect("a rollout is active");
    assert_eq!(
        (r.id, r.target_version.as_str(), r.state),
        (1, "2.0.0", State::Running)
    );
    assert_eq!(r.stages.len(), 2);
    assert_eq!(r.stages[0].name, "canary");
    assert_eq!(r.stages[1].phase, Phase::Running);
    assert!(
        r.failures
            .iter()
            .any(|f| f.reason == "install_chunked_code rejected (code 5)" && f.count == 1),
        "{:?}",
        r.failures
    );
    let on = |v: &str| {
        d.fleet
            .iter()
            .find(|c| c.version == v)
            .map_or(0, |c| c.canisters)
    };
    assert_eq!(on("1.0.0") + on("2.0.0"), 10);
    assert_eq!(on("2.0.0"), d.scheduler.upgraded_total);
    assert_eq!(d.fleet[0].version, "1.0.0", "version order");

    // The page says the same, as text a person reads.
    let page = html::page(&d);
    for text in [
        "Fleet by version",
        "<td>1.0.0</td>",
        "<td>2.0.0</td>",
        "Rollout 1 to 2.0.0",
        "running",
        "stage 2 of 2 (all)",
        "canisters stopped now",
        "<td>install_chunked_code rejected (code 5)</td><td class=\"n\">1</td>",
    ] {
        assert!(page.contains(text), "{text:?} missing from:\n{page}");
    }

    sim.run(500);
    let d = snapshot(&h);
    assert!(d.rollout.is_none());
    assert_eq!(d.scheduler.stopped_now, 0);
    let versions: Vec<(&str, u64)> = d
        .fleet
        .iter()
        .map(|v| (v.version.as_str(), v.canisters))
        .collect();
    assert_eq!(versions, [("1.0.0", 1), ("2.0.0", 9)]);
    assert_eq!(d.history_total, 1);
    let past = &d.history[0];
    assert_eq!(
        (past.id, past.end, past.upgraded, past.failed),
        (1, End::Completed, 9, 1)
    );
    let page = html::live(&d);
    assert!(page.contains("No rollout is active."), "{page}");
    assert!(page.contains("<td>completed</td>"), "{page}");
}

#[test]
fn dashboard_endpoint_serves_page_live_part_feed_and_metrics() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    seed(&h, 0..3, &v1);

    let (status, page, headers) = get(&h, "/dashboard?canisterId=aaaaa-aa");
    assert_eq!(status, 200);
    assert!(headers.contains(&("Content-Type".into(), "text/html; charset=utf-8".into())));
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<script>") && page.contains("setInterval(refresh,2000)"));
    // No external asset: nothing is loaded from anywhere but this canister.
    assert!(!page.contains("src=") && !page.contains("http://") && !page.contains("https://"));
    assert!(headers
        .iter()
        .any(|(k, v)| k == "Content-Security-Policy" && v.contains("default-src 'none'")));

    let (status, live, _) = get(&h, "/dashboard/live");
    assert_eq!(status, 200);
    assert!(
        !live.contains("<script") && live.contains("<td>1.0.0</td><td class=\"n\">3</td>"),
        "{live}"
    );

    let (status, feed, headers) = get(&h, "/dashboard.json");
    assert_eq!(status, 200);
    assert!(headers.contains(&("Content-Type".into(), "application/json".into())));
    let json: serde_json::Value = serde_json::from_str(&feed).unwrap();
    assert_eq!(json["fleet"][0]["version"], "1.0.0");
    assert_eq!(json["fleet"][0]["canisters"], 3);
    assert_eq!(json["users"], 3);
    assert!(json["rollout"].is_null());
    assert_eq!(json["scheduler"]["stopped_now"], 0);

    let (status, metrics, _) = get(&h, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("factory_canisters_by_version{version=\"1.0.0\"} 3"));

    let (status, body, _) = get(&h, "/nothing");
    assert_eq!(status, 404);
    assert!(body.contains("/dashboard"));
    let post = http_request(
        &h.state.borrow(),
        &HttpRequest {
            method: "POST".into(),
            url: "/dashboard".into(),
            headers: vec![],
            body: Default::default(),
        },
        0,
        0,
    );
    assert_eq!(post.status_code, 405);
}

#[test]
fn dashboard_page_escapes_what_admins_named() {
    let h = Harness::default();
    let v1 = h.publish("1.0.0");
    seed(&h, 0..2, &v1);
    h.publish("2.0.0");
    let mut sim = Sim::new(&h);
    start(
        &mut sim,
        crate::rollout::plan::RolloutPlan {
            stages: vec![stage("<b>canary</b>", 10_000, 10_000)],
            ..plan("2.0.0", 1)
        },
    );
    let page = html::page(&snapshot(&h));
    assert!(page.contains("&lt;b&gt;canary&lt;/b&gt;"), "{page}");
    assert!(!page.contains("<b>canary"));
}
