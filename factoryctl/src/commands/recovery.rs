//! `recovery rotate|restore|detach`: the owner's or recovery principal's way out.

use super::users::target_canister;
use super::Client;
use crate::cli::RecoveryCommand;
use anyhow::Result;

pub fn run(client: &Client, command: RecoveryCommand) -> Result<()> {
    match command {
        RecoveryCommand::Rotate {
            canister,
            new_recovery,
        } => {
            let id = target_canister(client, canister)?;
            client.rotate_recovery(id, new_recovery)?;
            println!("canister {id}: recovery principal is now {new_recovery}");
        }
        RecoveryCommand::Restore { canister } => {
            let id = target_canister(client, canister)?;
            client.restore_snapshot(id)?;
            let version = client.upgrade_status(id)?.version;
            println!(
                "canister {id}: restored from its snapshot, now at {}",
                version.as_deref().unwrap_or("an unknown version")
            );
        }
        RecoveryCommand::Detach { canister } => {
            let id = target_canister(client, canister)?;
            client.detach(id)?;
            println!("canister {id}: detached; the factory no longer controls it");
        }
    }
    Ok(())
}
