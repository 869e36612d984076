//! `factory upgrade <wasm>`: the safe way to upgrade the factory itself —
//! stop it (its calls finish first), install in upgrade mode, start it —
//! then watch the rollout resume. `dfx deploy` upgrades a running canister,
//! which the factory refuses while it has calls outstanding.

use super::format::{hex, rollout_state};
use super::Client;
use anyhow::{Context, Result};
use clap::Subcommand;
use factory_client::RolloutStatus;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum FactoryCommand {
    /// Upgrade the factory canister: stop it (waiting for its calls), install
    /// the module in upgrade mode, start it, and report the rollout resuming.
    /// The caller must control the factory.
    Upgrade {
        /// The factory's `.wasm` or `.wasm.gz` (e.g. target/canisters/factory.wasm.gz).
        wasm: PathBuf,
    },
}

/// Steps (a second each) to wait for the rollout to show it resumed.
const RESUME_STEPS: u32 = 30;

pub fn run(client: &Client, command: FactoryCommand) -> Result<()> {
    match command {
        FactoryCommand::Upgrade { wasm } => upgrade(client, &wasm),
    }
}

fn upgrade(client: &Client, path: &std::path::Path) -> Result<()> {
    let wasm = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    crate::say!(
        "stopping factory {} (its calls finish first)",
        client.factory
    );
    let done = client.upgrade_factory(&wasm)?;
    let previous = done.previous_module.as_ref().map_or("none".into(), hex);
    crate::say!("upgraded: module {previous} -> {}", hex(&done.module));
    crate::say!("factory started");
    match done.rollout {
        Ok(status) => report_resume(client, status),
        Err(e) => {
            crate::say!("rollout status not readable by this caller: {e}");
            Ok(())
        }
    }
}

/// Prints the rollout once it moves again (or says there is none).
fn report_resume(client: &Client, first: RolloutStatus) -> Result<()> {
    let Some(active) = first.active.as_ref() else {
        crate::say!("no active rollout");
        return Ok(());
    };
    let (id, before) = (active.id, first.totals.upgraded + first.totals.skipped);
    let mut status = first;
    for _ in 0..RESUME_STEPS {
        let moved = status.totals.upgraded + status.totals.skipped > before;
        if status.in_flight > 0 || moved || status.active.is_none() {
            break;
        }
        client.transport.pass_time()?;
        status = client.rollout_status()?;
    }
    match &status.active {
        Some(a) => crate::say!(
            "rollout {id} resumed: {}, in_flight={}/{} queued={} upgraded={}",
            rollout_state(&a.state),
            status.in_flight,
            status.max_in_flight,
            status.queued,
            status.totals.upgraded
        ),
        None => crate::say!("rollout {id} finished: upgraded={}", status.totals.upgraded),
    }
    Ok(())
}
