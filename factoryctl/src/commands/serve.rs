//! `serve`: the embedded network in `--state-dir` as a local IC network that
//! real clients (ic-agent, `factoryctl --network URL`, the JS agent, icp-cli,
//! browsers, Prometheus) reach on 127.0.0.1; its state is saved back at exit.

use crate::cli::{GlobalArgs, ServeArgs};
use anyhow::{bail, Result};

/// What `--fund` credits (test only): 1,000 T cycles.
#[cfg(feature = "serve")]
const FUND: u128 = 1_000_000_000_000_000;

#[cfg(feature = "serve")]
pub fn run(global: &GlobalArgs, args: &ServeArgs) -> Result<()> {
    use crate::transport::{embedded, Network};
    use anyhow::{anyhow, Context};
    use std::io::Write;
    use std::time::Duration;

    if Network::parse(&global.network)? != Network::Embedded {
        bail!("serve serves the embedded network of --state-dir; --network is for its clients");
    }
    let net = embedded::EmbeddedNetwork::open(&global.state_dir, None)?;
    // The lock is held while serving: other commands wait until the state is saved.
    let (emu, meta, _lock) = net.into_parts();
    // The system canisters icp-cli creates canisters through: test doubles
    // of the CMC and the cycles ledger (tests/emulator/src/doubles/).
    // (An older state may hold a canister at the CMC's id: then no CMC.)
    let cmc = emu.install_cmc_double();
    let ledger = emu.install_cycles_ledger_double().map_err(|e| anyhow!(e))?;
    let mut funded = Vec::new();
    for p in &args.fund {
        funded.push((
            *p,
            emu.mint_ledger_cycles(*p, FUND).map_err(|e| anyhow!(e))?,
        ));
    }
    let config = ic_emulator_http::ServerConfig {
        port: args.port,
        round: Duration::from_millis(args.round_ms.max(1)),
        ..Default::default()
    };
    let server = ic_emulator_http::Server::start(config, move || emu)
        .with_context(|| format!("listening on 127.0.0.1:{}", args.port))?;
    let url = server.url();
    let port = server.addr().port();
    let mut out = std::io::stdout().lock();
    writeln!(out, "serving {} at {url}", global.state_dir.display())?;
    writeln!(out, "  root key: {}", hex::encode(server.root_key()))?;
    writeln!(out, "  cycles ledger (test double): {ledger}")?;
    match cmc {
        Ok(id) => writeln!(out, "  cycles-minting canister (test double): {id}")?,
        Err(e) => writeln!(out, "  no cycles-minting canister double: {e}")?,
    }
    for (p, balance) in funded {
        writeln!(out, "  funded {p}: {balance} cycles on the ledger")?;
    }
    if let Some(factory) = meta.factory {
        writeln!(out, "  factory: {factory}")?;
        writeln!(out, "  metrics: http://{factory}.localhost:{port}/metrics")?;
        writeln!(
            out,
            "  dashboard: http://{factory}.localhost:{port}/dashboard"
        )?;
        writeln!(
            out,
            "  try: factoryctl --network {url} --factory {factory} --identity <pem> rollout status"
        )?;
    } else {
        writeln!(
            out,
            "  no factory deployed yet (run `factoryctl deploy` on this state first)"
        )?;
    }
    out.flush()?;
    drop(out);
    server
        .wait_for_signal(args.duration.map(Duration::from_secs))
        .context("waiting for a signal")?;
    let dir = global.state_dir.clone();
    let saved = server
        .with_emulator(move |emu| {
            embedded::save_network(emu, &meta, &dir, None)
                .map(|_| ())
                .map_err(|e| format!("{e:#}"))
        })
        .ok_or_else(|| anyhow!("the network stopped before its state was saved"))?;
    server.stop();
    saved.map_err(|e| anyhow!(e))?;
    println!("saved {}", global.state_dir.display());
    Ok(())
}

#[cfg(not(feature = "serve"))]
pub fn run(_global: &GlobalArgs, _args: &ServeArgs) -> Result<()> {
    bail!("this factoryctl was built without the `serve` feature")
}
