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

pub fn run(client: &Client, args: &WatchArgs) -> Result<()> {
    let Some(first) = client.rollout_status()?.active else {
        bail!("no active rollout to watch");
    };
    let id = first.id;
    let mut progress = RolloutProgress::new(!args.plain, false);
    let max_steps = args.timeout_secs / Connection::SECONDS_PER_STEP;
    for step in 0..=max_steps {
        let status = client.rollout_status()?;
        match status.active {
            Some(a) if a.id == id => {
                progress.update(step, &a);
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
                        println!("rollout {id} is paused; `rollout resume` continues it");
                        return Ok(());
                    }
                }
            }
            _ => {
                progress.finish();
                return print_end(client, id);
            }
        }
        client.transport.pass_time();
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
    println!(
        "rollout {id} -> {} {}: upgraded={upgraded} failed={failed} skipped={skipped}",
        r.target_version,
        end_name(&r.end)
    );
    Ok(())
}
