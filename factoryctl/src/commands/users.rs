//! What end users do: `provision`, `canister show`, `upgrade request`.

use super::format::{outcome, time};
use super::Client;
use crate::cli::{CanisterCommand, UpgradeCommand};
use anyhow::{anyhow, bail, Result};
use candid::Principal;
use factory_client::FactoryError;
use factory_client::{Phase, UserView};

/// Steps (seconds) `upgrade request` waits for the outcome.
const UPGRADE_WAIT_STEPS: u32 = 600;

pub fn provision(client: &Client, recovery: Principal) -> Result<()> {
    let id = client.provision(recovery)?;
    // A second provision returns the same canister, recovery unchanged: print what is stored.
    let stored = match client.my_canister() {
        Ok(view) => view.recovery,
        // Provisioned, yet not here: an index, which keeps no users (the
        // record is on the shard it placed the owner on).
        Err(factory_client::ClientError::Factory(FactoryError::NoCanister)) => {
            crate::say!("canister {id}");
            crate::say!("  placed on a shard by the index; recovery: {recovery}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    crate::say!("canister {id}");
    crate::say!(
        "  owner: {}",
        factory_client::Transport::sender(&client.transport)
    );
    crate::say!("  recovery: {stored}");
    if stored != recovery {
        crate::say!(
            "  note: --recovery {recovery} was ignored: this canister already exists with the recovery principal above (change it with `recovery rotate --new-recovery`)"
        );
    }
    Ok(())
}

pub fn canister(client: &Client, command: CanisterCommand) -> Result<()> {
    let CanisterCommand::Show { owner } = command;
    let view = match owner {
        Some(owner) => client.get_user(owner),
        None => client.my_canister(),
    }?;
    print_view(&view);
    if let Some(id) = view.canister_id {
        if let Some(p) = client.upgrade_status(id)?.pending {
            crate::say!(
                "  pending: {} to {} (attempts {}{})",
                p.state,
                p.target_version,
                p.attempts,
                p.last_error
                    .map(|e| format!(", last error: {e}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn print_view(v: &UserView) {
    let id = v
        .canister_id
        .map(|c| c.to_string())
        .unwrap_or_else(|| "-".into());
    crate::say!("canister {id}");
    crate::say!("  owner: {}", v.owner);
    crate::say!("  recovery: {}", v.recovery);
    let phase = match v.phase {
        Phase::Creating => "creating",
        Phase::Installing => "installing",
        Phase::Ready => "ready",
    };
    crate::say!("  phase: {phase}");
    crate::say!("  version: {}", v.version.as_deref().unwrap_or("-"));
    if let Some(prev) = &v.previous_version {
        crate::say!("  previous version: {prev}");
    }
    crate::say!("  snapshot: {}", if v.has_snapshot { "yes" } else { "no" });
    crate::say!("  created at: {}", time(v.created_at_ns));
    if v.busy {
        crate::say!("  busy: an upgrade or recovery action holds it");
    }
    if let Some(o) = &v.last_outcome {
        crate::say!("  last outcome: {}", outcome(o));
    }
}

/// `--canister`, or the caller's own canister.
pub fn target_canister(client: &Client, canister: Option<Principal>) -> Result<Principal> {
    if let Some(id) = canister {
        return Ok(id);
    }
    client
        .my_canister()
        .map_err(|e| anyhow!("{e} (pass --canister to act on another one)"))?
        .canister_id
        .ok_or_else(|| {
            anyhow!("your canister is still being created; run `provision` again to finish it")
        })
}

pub fn upgrade(client: &Client, command: UpgradeCommand) -> Result<()> {
    let UpgradeCommand::Request {
        canister,
        version,
        no_wait,
    } = command;
    let id = target_canister(client, canister)?;
    let accepted = client.request_upgrade(id, version)?;
    crate::say!(
        "upgrade of {id} from {} to {} accepted{}",
        accepted.from_version,
        accepted.target_version,
        if accepted.already_pending {
            " (already pending)"
        } else {
            ""
        }
    );
    if no_wait {
        return Ok(());
    }
    for _ in 0..UPGRADE_WAIT_STEPS {
        let status = client.upgrade_status(id)?;
        if status.pending.is_none() {
            let Some(o) = status.last_outcome else {
                bail!("the upgrade of {id} ended without an outcome");
            };
            if let Some(e) = &o.error {
                bail!("upgrade of {id} to {} failed: {e}", accepted.target_version);
            }
            crate::say!("{id}: {}", outcome(&o));
            return Ok(());
        }
        client.transport.pass_time()?;
    }
    bail!("the upgrade of {id} is still pending after {UPGRADE_WAIT_STEPS} s")
}
