//! `demo --network local|URL`: the story's steps through the network
//! transport (ic-agent) against a local network such as `factoryctl serve`,
//! where rounds run in real time: deploy, publish 1.0.0, provision users who
//! store data, roll 2.0.0 out canary-first, see a broken 3.0.0 halt, upgrade
//! one user on demand to the fix, restore that canister from its recovery
//! principal, read every user's data back. Each user is a fresh
//! Ed25519 key. What needs the emulator itself (rounds, instruction counts,
//! the HTML report) is said to be skipped.

use super::fleet::{data_of, DATA_KEY};
use crate::cli::{DemoArgs, RolloutStartArgs, WatchArgs};
use crate::commands::{rollout_plan, rollout_state_text, watch_rollout};
use crate::network_deploy::deploy_over;
use crate::transport::{remote_connection_as, Connection, Remote};
use anyhow::{anyhow, bail, Result};
use candid::{Principal, Reserved};
use canister_artifacts::variants;
use factory_client::{FactoryClient, PublishOptions, RolloutState, Transport};
use factory_guest::VersionInfo;
use ic_agent::identity::BasicIdentity;
use ic_agent::Identity;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Skipped over a network, and why.
const SKIPPED: [&str; 2] = [
    "rounds and factory instructions per step (the emulator's counters; a network has none to read)",
    "the HTML/JSON report (built from those counters)",
];

struct Net {
    remote: Remote,
    factory: Principal,
    /// A per-run seed: each run's keys (so principals) are new.
    seed: [u8; 32],
}

impl Net {
    /// The `n`th key of this run (`role` keeps users and recovery apart).
    fn identity(&self, role: &str, n: u64) -> Arc<dyn Identity> {
        let key: [u8; 32] = Sha256::new()
            .chain_update(self.seed)
            .chain_update(role.as_bytes())
            .chain_update(n.to_be_bytes())
            .finalize()
            .into();
        Arc::new(BasicIdentity::from_raw_key(&key))
    }

    fn connect(&self, identity: Arc<dyn Identity>) -> Result<Connection> {
        remote_connection_as(self.remote.clone(), identity)
    }

    fn client(&self, identity: Arc<dyn Identity>) -> Result<FactoryClient<Connection>> {
        Ok(FactoryClient::new(self.connect(identity)?, self.factory))
    }
}

pub fn run(remote: Remote, args: &DemoArgs) -> Result<()> {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(format!("{:?}", std::time::SystemTime::now()))
        .chain_update(std::process::id().to_be_bytes())
        .finalize()
        .into();
    let mut net = Net {
        remote,
        factory: Principal::anonymous(),
        seed,
    };
    let say = |line: &str| crate::say!("{line}");
    say(&format!(
        "demo over {} (rounds run in real time there)",
        net.remote.url
    ));
    let admin_id = net.identity("admin", 0);
    let admin_conn = net.connect(admin_id.clone())?;
    let admin = admin_conn.sender();
    let installed = deploy_over(&admin_conn, vec![admin], 1)?;
    net.factory = installed.factory;
    say(&format!("deploy: factory {} (admin {admin})", net.factory));
    let admin = FactoryClient::new(admin_conn, net.factory);

    let user_wasm = &canister_artifacts::ensure_built()
        .map_err(|e| anyhow!("building the canisters: {e}"))?
        .user_canister
        .wasm_gz;
    let publish = |version: &str, broken: bool| -> Result<()> {
        let module = if broken {
            variants::with_trapping_post_upgrade(user_wasm, version)
        } else {
            variants::tagged(user_wasm, version)
        }
        .map_err(|e| anyhow!("building release {version}: {e}"))?;
        let options = PublishOptions {
            notes: format!("demo release {version}"),
            approve: true,
            ..Default::default()
        };
        let report = admin.publish_release(version, &module, &options, |_, _| {})?;
        say(&format!(
            "publish {version}: {} bytes in {} chunk(s), {:?}",
            module.len(),
            report.chunks_total,
            report.state
        ));
        Ok(())
    };
    publish("1.0.0", false)?;

    let mut users = Vec::new();
    for n in 0..args.users {
        let owner = net.client(net.identity("user", n))?;
        let recovery = net
            .identity("recovery", n)
            .sender()
            .map_err(|e| anyhow!(e))?;
        let canister = owner
            .provision(recovery)
            .map_err(|e| anyhow!("provisioning user {n}: {e}"))?;
        put(&owner.transport, canister, &data_of(n))?;
        users.push((owner, canister));
    }
    say(&format!(
        "provision: {} users, each storing its data",
        users.len()
    ));

    publish("2.0.0", false)?;
    let plan = |version: &str, max_attempts| {
        rollout_plan(&RolloutStartArgs {
            version: version.into(),
            canary_percent: 5.0,
            canary_max_failure_percent: 10.0,
            max_failure_percent: 5.0,
            max_in_flight: args.max_in_flight,
            max_attempts,
            no_snapshot: false,
            supersede: false,
        })
    };
    let id = admin.start_rollout(plan("2.0.0", 3)?)?;
    say(&format!("rollout {id} -> 2.0.0 started (canary first)"));
    watch_rollout(
        &admin,
        &WatchArgs {
            timeout_secs: 600,
            plain: true,
        },
    )?;
    crate::output::release();
    for (owner, canister) in &users {
        let now = release_of(&owner.transport, *canister)?;
        if now != "2.0.0" {
            bail!("{canister} runs {now} after the rollout to 2.0.0");
        }
    }

    // A release whose post_upgrade traps: the rollout halts, nothing is lost.
    publish("3.0.0", true)?;
    let id = admin.start_rollout(plan("3.0.0", 2)?)?;
    let halted = until_halted(&admin, id)?;
    say(&format!("rollout {id} -> 3.0.0 halted: {halted}"));
    admin.cancel_rollout()?;
    admin.revoke_release("3.0.0", "post_upgrade traps: the rollout halted")?;
    say("cancel, revoke 3.0.0");
    publish("3.0.1", false)?;

    // User 0 upgrades on demand to the fix, then its recovery principal
    // restores the snapshot taken before that upgrade.
    let (user0, canister) = &users[0];
    let owner = &user0.transport;
    let accepted = user0.request_upgrade(*canister, None)?;
    let mut waited = 0;
    while user0.upgrade_status(*canister)?.pending.is_some() {
        if waited > 300 {
            bail!("the on-demand upgrade of {canister} did not finish in {waited} s");
        }
        user0.transport.pass_time()?;
        waited += Connection::SECONDS_PER_STEP;
    }
    let upgraded = release_of(owner, *canister)?;
    if upgraded != accepted.target_version {
        bail!(
            "{canister} runs {upgraded} after its on-demand upgrade to {}",
            accepted.target_version
        );
    }
    say(&format!(
        "on demand: user 0's canister {canister}: {} -> {upgraded}",
        accepted.from_version
    ));
    net.client(net.identity("recovery", 0))?
        .restore_snapshot(*canister)?;
    let restored = release_of(owner, *canister)?;
    if restored != accepted.from_version {
        bail!(
            "{canister} runs {restored} after its restore, not {}",
            accepted.from_version
        );
    }
    say(&format!(
        "recovery: user 0's recovery principal restored {canister}: {upgraded} -> {restored}"
    ));

    let mut verified = 0;
    for (n, (owner, canister)) in users.iter().enumerate() {
        if get(&owner.transport, *canister)? == Some(data_of(n as u64)) {
            verified += 1;
        }
    }
    say(&format!(
        "data: {verified}/{} users read back exactly what they stored",
        users.len()
    ));
    for s in SKIPPED {
        say(&format!("skipped over a network: {s}"));
    }
    if verified != users.len() {
        bail!(
            "data lost: only {verified} of {} users read back what they stored",
            users.len()
        );
    }
    Ok(())
}

/// Waits (in real time) until rollout `id` halts; its reason. One that
/// completes or stays running for 10 minutes is an error.
fn until_halted(admin: &FactoryClient<Connection>, id: u64) -> Result<String> {
    for _ in 0..600 / Connection::SECONDS_PER_STEP {
        match admin.rollout_status()?.active {
            Some(a) if a.id == id => {
                if let RolloutState::Halted { .. } = &a.state {
                    return Ok(rollout_state_text(&a.state));
                }
            }
            _ => bail!("rollout {id} of a broken release ended without halting"),
        }
        admin.transport.pass_time()?;
    }
    bail!("rollout {id} of a broken release did not halt in 10 minutes")
}

fn put(owner: &Connection, canister: Principal, value: &[u8]) -> Result<()> {
    let arg = candid::encode_args((DATA_KEY, ByteBuf::from(value.to_vec())))?;
    let reply = owner.update(canister, "put", arg)?;
    let (result,): (Result<(), Reserved>,) = candid::decode_args(&reply)?;
    result.map_err(|_| anyhow!("put on {canister} was refused"))
}

fn get(owner: &Connection, canister: Principal) -> Result<Option<Vec<u8>>> {
    let reply = owner.query(canister, "get", candid::encode_args((DATA_KEY,))?)?;
    let (result,): (Result<Option<ByteBuf>, Reserved>,) = candid::decode_args(&reply)?;
    result
        .map(|v| v.map(ByteBuf::into_vec))
        .map_err(|_| anyhow!("get on {canister} was refused"))
}

fn release_of(owner: &Connection, canister: Principal) -> Result<String> {
    let reply = owner.query(canister, "version", candid::encode_args(())?)?;
    let (v,): (VersionInfo,) = candid::decode_args(&reply)?;
    Ok(v.release)
}
