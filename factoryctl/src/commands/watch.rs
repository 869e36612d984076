//! `rollout watch`: follows the active rollout until it ends, halts or is
//! paused, letting time pass between looks (rounds on the embedded network).

use super::rollout::{end_name, print_active};
use super::Client;
use crate::cli::WatchArgs;
use crate::progress::RolloutProgress;
use crate::transport::Connection;
use anyhow::{bail, Result};
use factory_api::RolloutState;
use factory_client::HistoryQuery;

/// Wall-clock milliseconds to wait after each round: lets tests (and
/// curious users) act on the network while a watch is in the middle of it.
pub const STEP_DELAY_ENV: &str = "FACTORYCTL_WATCH_STEP_DELAY_MS";

pub fn run(client: &Client, args: &WatchArgs) -> Result<()> {
    let delay = match std::env::var(STEP_DELAY_ENV) {
        Ok(ms) => Some(std::time::Duration::from_millis(
            ms.parse()
                .map_err(|_| anyhow::anyhow!("{STEP_DELAY_ENV} must be a number"))?,
        )),
        Err(_) => None,
    };
    // An index runs fleet rollouts: a row per shard. Any other role answers
    // `WrongRole` and has its own rollout.
    if let Ok(fleet) = client.fleet_rollout_status() {
        let Some(first) = fleet else {
            bail!("no fleet rollout to watch");
        };
        return super::fleet_watch::run(client, first, args.timeout_secs, delay);
    }
    let Some(first) = client.rollout_status()?.active else {
        bail!("no active rollout to watch");
    };
    let id = first.id;
    // Progress as it happens; the state is saved whenever another command
    // asks for the directory, and at the end (also after Ctrl-C).
    crate::output::live();
    let mut progress = RolloutProgress::new(!args.plain, false);
    let max_steps = args.timeout_secs / Connection::SECONDS_PER_STEP;
    for step in 0..=max_steps {
        let status = client.rollout_status()?;
        match status.active {
            Some(a) if a.id == id => {
                progress.update(step, &a, &status.admission);
                match &a.state {
                    RolloutState::Running => {}
                    RolloutState::Halted { .. } => {
                        progress.finish();
                        print_active(&a);
                        bail!(
                            "rollout {id} halted: {}",
                            super::format::rollout_state(&a.state)
                        );
                    }
                    RolloutState::Paused(_) => {
                        progress.finish();
                        print_active(&a);
                        crate::say!("rollout {id} is paused; `rollout resume` continues it");
                        return Ok(());
                    }
                }
            }
            _ => {
                progress.finish();
                // The final line once the end is saved.
                crate::output::hold();
                return print_end(client, id);
            }
        }
        client.transport.pass_time()?;
        if let Some(delay) = delay {
            std::thread::sleep(delay);
        }
    }
    progress.finish();
    bail!(
        "rollout {id} is still running after {} s",
        args.timeout_secs
    )
}

fn print_end(client: &Client, id: u64) -> Result<()> {
    let page = client.rollout_history(HistoryQuery {
        before: None,
        limit: 10,
    })?;
    let Some(r) = page.rollouts.iter().find(|r| r.id == id) else {
        bail!("rollout {id} ended but is not in the history");
    };
    let upgraded: u64 = r.stages.iter().map(|s| s.counters.upgraded).sum();
    let failed: u64 = r.stages.iter().map(|s| s.counters.failed).sum();
    let skipped: u64 = r.stages.iter().map(|s| s.counters.skipped).sum();
    crate::say!(
        "rollout {id} -> {} {}: upgraded={upgraded} failed={failed} skipped={skipped}",
        r.target_version,
        end_name(&r.end)
    );
    Ok(())
}
