//! `demo`: the whole story on a fresh embedded network, with the release
//! artifacts: deploy, publish v1, provision users who store data, roll v2
//! out canary-first, see a broken v3 halt at its canary, upgrade one user on
//! demand, restore one canister from its recovery principal, then read
//! every user's data back. Ends with a summary table, an HTML report and a
//! JSON summary, and saves the network for further `factoryctl` commands.

mod cycles_chart;
mod fleet;
#[cfg(feature = "network")]
mod network;
mod report;
mod rollout_run;
mod story;
mod summary;

use crate::cli::{DemoArgs, GlobalArgs};
use crate::transport::Network;
use anyhow::{bail, Context, Result};
use std::path::Path;

pub fn run(global: &GlobalArgs, args: &DemoArgs) -> Result<()> {
    if args.users == 0 {
        bail!("--users must be at least 1");
    }
    if !(1..=500).contains(&args.max_in_flight) {
        bail!(
            "--max-in-flight must be between 1 and 500, got {}",
            args.max_in_flight
        );
    }
    // Over a network: the story's steps through ic-agent, minus what only
    // the emulator can show (said so in the output).
    if let Network::Remote(remote) = Network::parse(&global.network)? {
        if global.as_principal.is_some() || global.identity.is_some() {
            bail!("the demo makes its own keys: drop --as/--identity");
        }
        return network_demo(remote, args);
    }
    let out_dir = args.report.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let summary = story::Story::new(args)?.run(&out_dir.join("state"))?;

    std::fs::write(&args.report, report::html(&summary))
        .with_context(|| format!("writing {}", args.report.display()))?;
    let json_path = args.report.with_extension("json");
    let json = serde_json::to_string_pretty(&summary).context("encoding the summary")?;
    std::fs::write(&json_path, json).with_context(|| format!("writing {}", json_path.display()))?;
    crate::output::text(&summary.table());
    crate::say!("report: {}", args.report.display());
    crate::say!("summary: {}", json_path.display());
    if let Some(dir) = &summary.state_dir {
        crate::say!("explore it: factoryctl --state-dir {dir} rollout history");
        crate::say!(
            "  a user's canister: factoryctl --state-dir {dir} --as {} canister show",
            fleet::user(0)
        );
    }
    if summary.data_verified != summary.data_checked {
        bail!(
            "data lost: only {} of {} users read back what they stored",
            summary.data_verified,
            summary.data_checked
        );
    }
    Ok(())
}

#[cfg(feature = "network")]
fn network_demo(remote: crate::transport::Remote, args: &DemoArgs) -> Result<()> {
    network::run(remote, args)
}

#[cfg(not(feature = "network"))]
fn network_demo(remote: crate::transport::Remote, _args: &DemoArgs) -> Result<()> {
    bail!(
        "{} is a real network, and this factoryctl was built without the `network` feature",
        remote.url
    )
}
