//! factoryctl through ic-agent (query-signature verification on) against
//! `factoryctl serve`: the network path end to end with dfx-style PEM
//! identities: publish (in chunks), provision, rollout, recovery, on-demand
//! upgrade; then the factory's /metrics and its dashboard (in headless
//! Chromium, during the rollout) through the HTTP gateway.

mod common;

use canister_artifacts::{artifacts, variants};
use common::chromium::Chromium;
use common::served::{ed25519_pem, principal_of, secp256k1_pem, serve};
use common::{big_wasm, factoryctl, fails_with, ok};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// GET through the HTTP gateway: (status, body).
fn gateway_get(url: &str, canister: &str, path: &str) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let port = addr.rsplit(':').next().unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {canister}.localhost:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

#[test]
fn http_interface_factoryctl_over_ic_agent_publishes_provisions_rolls_out_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("net");
    let state = state.as_path();
    let (admin, alice, alice_recovery) = (
        dir.path().join("admin.pem"),
        dir.path().join("alice.pem"),
        dir.path().join("alice-recovery.pem"),
    );
    ed25519_pem(&admin);
    secp256k1_pem(&alice);
    ed25519_pem(&alice_recovery);
    let admin_id = principal_of(&admin);

    // The factory is deployed on the embedded network, which is then served.
    let deployed = ok(state, &["deploy", "--admin", &admin_id]);
    let factory = deployed
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("factory ")
        .to_string();
    let served = serve(state, 50);
    let run = |pem: &Path, args: &[&str]| {
        let mut all = vec![
            "--network",
            served.url.as_str(),
            "--factory",
            factory.as_str(),
            "--identity",
            pem.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        factoryctl(state, &all)
    };
    let ok_as = |pem: &Path, args: &[&str]| {
        let r = run(pem, args);
        assert_eq!(
            r.code, 0,
            "factoryctl {args:?} failed:\n{}{}",
            r.stdout, r.stderr
        );
        r.stdout
    };

    let user_wasm = &artifacts().user_canister.wasm_gz;
    let write = |name: &str, bytes: Vec<u8>| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let v1 = write("v1.wasm.gz", variants::tagged(user_wasm, "1.0.0").unwrap());
    let v2 = write("v2.wasm.gz", variants::tagged(user_wasm, "2.0.0").unwrap());
    let published = ok_as(
        &admin,
        &[
            "publish",
            v1.to_str().unwrap(),
            "--version",
            "1.0.0",
            "--approve",
        ],
    );
    assert!(published.contains("state: approved"), "{published}");
    // A module of 2.5 MB goes up in three 1 MiB chunks (each a separate call).
    let big = write("big.wasm", big_wasm(2_500_000, 19));
    let published = ok_as(
        &admin,
        &["publish", big.to_str().unwrap(), "--version", "0.9.0"],
    );
    assert!(published.contains("chunks uploaded: 3/3"), "{published}");

    // Alice (a secp256k1 key) provisions her canister; a stranger is refused.
    let provisioned = ok_as(
        &alice,
        &["provision", "--recovery", &principal_of(&alice_recovery)],
    );
    let canister = provisioned
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("canister ")
        .to_string();
    fails_with(
        run(&alice, &["rollout", "start", "1.0.0"]),
        "the factory refused",
    );

    // A rollout, watched in real time while the server's rounds run.
    ok_as(
        &admin,
        &[
            "publish",
            v2.to_str().unwrap(),
            "--version",
            "2.0.0",
            "--approve",
        ],
    );
    let started = ok_as(
        &admin,
        &[
            "rollout",
            "start",
            "2.0.0",
            "--canary-percent",
            "50",
            "--max-in-flight",
            "1",
        ],
    );
    assert!(started.contains("rollout 1 started"), "{started}");
    // Paused, so the page is read while the rollout is still active.
    ok_as(&admin, &["rollout", "pause"]);
    dashboard_in_chromium(&served.url, &factory);
    ok_as(&admin, &["rollout", "resume"]);
    let watched = ok_as(&admin, &["rollout", "watch", "--plain"]);
    assert!(
        watched.contains("rollout 1 -> 2.0.0 completed: upgraded=1 failed=0"),
        "{watched}"
    );
    let shown = ok_as(&alice, &["canister", "show"]);
    assert!(shown.contains("version: 2.0.0"), "{shown}");

    // Recovery, then an on-demand upgrade back to the newest release.
    let restored = ok_as(
        &alice_recovery,
        &["recovery", "restore", "--canister", &canister],
    );
    assert!(restored.contains("now at 1.0.0"), "{restored}");
    let upgraded = ok_as(&alice, &["upgrade", "request"]);
    assert!(upgraded.contains("1.0.0 -> 2.0.0: ok"), "{upgraded}");

    // The factory's /metrics, scraped through the HTTP gateway.
    let (status, metrics) = gateway_get(&served.url, &factory, "/metrics");
    assert_eq!(status, 200, "{metrics}");
    assert!(
        metrics.contains("factory_canisters_by_version{version=\"2.0.0\"} 1"),
        "{metrics}"
    );
    // The dashboard's JSON feed, after the rollout.
    let (status, feed) = gateway_get(&served.url, &factory, "/dashboard.json");
    assert_eq!(status, 200, "{feed}");
    assert!(
        feed.contains(r#""fleet":[{"version":"2.0.0","canisters":1}]"#)
            && feed.contains(r#""rollout":null"#)
            && feed.contains(r#""target_version":"2.0.0","end":"completed""#),
        "{feed}"
    );
    scrape_with_prometheus(&served.url, &factory, dir.path());
    drop(served);
}

/// The factory's dashboard through the gateway in headless Chromium (Debian's,
/// which scripts/setup-chromium.sh installs) while rollout 1 is paused: the
/// page's text after its script has refreshed it, and a screenshot under target/.
fn dashboard_in_chromium(url: &str, factory: &str) {
    let Some(chromium) = Chromium::find("the dashboard's browser check") else {
        return;
    };
    let chromium = chromium.with(&[
        "--no-proxy-server",
        // Long enough for two of the page's refreshes (every 2 s).
        "--virtual-time-budget=5000",
        "--window-size=1000,1100",
    ]);
    let port = url.rsplit(':').next().unwrap();
    // Chromium resolves every *.localhost name to the loopback address.
    let page = format!("http://{factory}.localhost:{port}/dashboard");
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dashboard-during-rollout.png");
    let dom = chromium.dom(&page);
    for text in [
        "Factory rollout dashboard",
        "Rollout 1 to 2.0.0",
        "paused",
        "<td>canary</td>",
        "Canisters on a release: 1; users: 1.",
        "canisters stopped now",
        "connected",
    ] {
        assert!(dom.contains(text), "{text:?} not on the page:\n{dom}");
    }
    assert!(
        dom.contains("<td>1.0.0</td><td class=\"n\">1</td>")
            || dom.contains("<td>2.0.0</td><td class=\"n\">1</td>"),
        "the one canister by version:\n{dom}"
    );
    assert!(
        !dom.contains("<span id=\"refreshes\">0</span>"),
        "the page's script refreshed it:\n{dom}"
    );
    chromium.screenshot(&page, &shot, &[], 10_000);
}

/// Debian's Prometheus, unpacked by scripts/setup-prometheus.sh (which .ci/run calls).
fn prometheus_bin() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PROMETHEUS_BIN")
        .map(Into::into)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/tools/prometheus/usr/bin/prometheus")
        });
    path.exists().then_some(path)
}

/// Prometheus on 127.0.0.1 scrapes the factory through the gateway
/// (`/metrics?canisterId=<factory>`) and its API returns the factory's series.
fn scrape_with_prometheus(url: &str, factory: &str, dir: &Path) {
    let Some(bin) = prometheus_bin() else {
        eprintln!(
            "prometheus scrape: not run, Prometheus is not installed here \
             (run scripts/setup-prometheus.sh or set PROMETHEUS_BIN)"
        );
        return;
    };
    let target = url.trim_start_matches("http://");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: factory\n    metrics_path: /metrics\n    params:\n      canisterId: ['{factory}']\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={listen}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _prometheus = Kill(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        let Ok(mut s) = std::net::TcpStream::connect(&listen) else {
            continue;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!(
            "GET /api/v1/query?query=factory_canisters_by_version HTTP/1.1\r\nHost: {listen}\r\nConnection: close\r\n\r\n"
        );
        if s.write_all(request.as_bytes()).is_err() {
            continue;
        }
        last.clear();
        let _ = s.read_to_string(&mut last);
        if last.contains("\"version\":\"2.0.0\"") && last.contains("\"job\":\"factory\"") {
            return;
        }
    }
    panic!("Prometheus never returned the factory's series; last answer:\n{last}");
}
