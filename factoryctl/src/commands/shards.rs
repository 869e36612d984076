//! `shards list|add|push`: the shards of an index factory.

use super::Client;
use crate::say;
use anyhow::Result;
use candid::Principal;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum ShardsCommand {
    /// The index's shards and how many users each holds.
    List,
    /// Register a factory installed as this index's shard (`role = Shard { index }`).
    Add {
        /// The shard's canister id, as text.
        canister: Principal,
        /// Most users placed on it (below a subnet's 100,000 canisters).
        #[arg(long)]
        capacity: Option<u64>,
    },
    /// Copy a release's approval (or revocation) from the index to every shard.
    Push {
        /// The release's semver version, e.g. 2.0.0.
        version: String,
    },
}

pub fn run(client: &Client, command: ShardsCommand) -> Result<()> {
    match command {
        ShardsCommand::List => {
            let shards = client.list_shards()?;
            say!("{:<30} {:>8} {:>9}", "shard", "users", "capacity");
            for s in shards {
                say!(
                    "{:<30} {:>8} {:>9}",
                    s.canister_id.to_text(),
                    s.users,
                    s.capacity
                );
            }
        }
        ShardsCommand::Add { canister, capacity } => {
            let view = client.add_shard(canister, capacity)?;
            say!(
                "shard {} added (capacity {})",
                view.canister_id,
                view.capacity
            );
        }
        ShardsCommand::Push { version } => {
            for row in client.push_release(&version)? {
                match row.result {
                    Ok(state) => say!("{}: {version} {state:?}", row.shard),
                    Err(e) => say!("{}: {version} not pushed: {e}", row.shard),
                }
            }
        }
    }
    Ok(())
}
