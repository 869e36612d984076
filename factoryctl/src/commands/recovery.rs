//! `recovery rotate|restore|revive|detach`: the owner's or recovery principal's way out.

use super::users::target_canister;
use super::Client;
use crate::cli::RecoveryCommand;
use anyhow::{bail, Result};
use candid::{CandidType, Deserialize, Principal};
use factory_client::Transport;

pub fn run(client: &Client, command: RecoveryCommand) -> Result<()> {
    match command {
        RecoveryCommand::Rotate {
            canister,
            new_recovery,
        } => {
            let id = target_canister(client, canister)?;
            client.rotate_recovery(id, new_recovery)?;
            crate::say!("canister {id}: recovery principal is now {new_recovery}");
        }
        RecoveryCommand::Restore { canister } => {
            let id = target_canister(client, canister)?;
            client.restore_snapshot(id)?;
            let version = client.upgrade_status(id)?.version;
            crate::say!(
                "canister {id}: restored from its snapshot, now at {}",
                version.as_deref().unwrap_or("an unknown version")
            );
        }
        RecoveryCommand::Revive { canister } => {
            let id = target_canister(client, canister)?;
            client.revive(id)?;
            crate::say!("canister {id}: revived from the snapshot taken when it was reclaimed");
        }
        RecoveryCommand::Detach { canister } => {
            let id = target_canister(client, canister)?;
            if let Err(e) = client.detach(id) {
                if factory_no_longer_controls(client, id) {
                    bail!("canister {id} is already detached: the factory no longer controls it");
                }
                return Err(e.into());
            }
            crate::say!("canister {id}: detached; the factory no longer controls it");
        }
    }
    Ok(())
}

#[derive(CandidType)]
struct CanisterIdRecord {
    canister_id: Principal,
}

/// The part of `canister_status` read here (candid skips the other fields).
#[derive(CandidType, Deserialize)]
struct StatusReply {
    settings: Settings,
}

#[derive(CandidType, Deserialize)]
struct Settings {
    controllers: Vec<Principal>,
}

/// Whether the caller controls the canister and the factory does not (a
/// detach already happened). Only a controller may ask, as the recovery
/// principal can; any failure to ask means "not known".
fn factory_no_longer_controls(client: &Client, canister_id: Principal) -> bool {
    let Ok(arg) = candid::encode_one(CanisterIdRecord { canister_id }) else {
        return false;
    };
    client
        .transport
        .update(Principal::management_canister(), "canister_status", arg)
        .ok()
        .and_then(|reply| candid::decode_one::<StatusReply>(&reply).ok())
        .is_some_and(|s| !s.settings.controllers.contains(&client.factory))
}
