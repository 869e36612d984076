//! The demo's story, step by step, each step measured in rounds, wall time
//! and factory instructions.

use super::fleet::{data_of, recovery_of, user, UserCanister, DATA_KEY};
use super::rollout_run::{drive, RolloutRun};
use super::summary::{FactoryTotals, Step, Summary};
use crate::cli::{DemoArgs, RolloutStartArgs};
use crate::commands::rollout_plan;
use crate::factory_install::install_factory;
use crate::progress::RolloutProgress;
use crate::transport::embedded::{default_principal, save_network, NetworkMeta};
use crate::transport::lock::StateLock;
use anyhow::{anyhow, bail, Context, Result};
use candid::Principal;
use canister_artifacts::variants;
use factory_client::EmulatorTransport;
use factory_client::{FactoryClient, PublishOptions};
use ic_emulator::Emulator;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const V1: &str = "1.0.0";
const V2: &str = "2.0.0";
const BROKEN: &str = "3.0.0";
const FIX: &str = "3.0.1";
/// Rounds an on-demand upgrade may take before the demo gives up.
const ON_DEMAND_MAX_ROUNDS: u64 = 1_000;

pub struct Story<'a> {
    args: &'a DemoArgs,
    emu: Emulator,
    admin: Principal,
    factory: Principal,
    user_wasm_gz: Vec<u8>,
    factory_wasm: String,
    canisters: Vec<Principal>,
    steps: Vec<Step>,
    rollouts: Vec<RolloutRun>,
    started: Instant,
}

impl<'a> Story<'a> {
    /// A fresh network with the factory deployed.
    pub fn new(args: &'a DemoArgs) -> Result<Story<'a>> {
        let started = Instant::now();
        let artifacts = canister_artifacts::ensure_built()
            .map_err(|e| anyhow!("building the canisters: {e}"))?;
        let emu = Emulator::new();
        // The network's default identity is the admin, so `factoryctl
        // --state-dir <saved demo>` commands run as admin.
        let admin = default_principal();
        let installed = install_factory(&emu, admin, vec![admin], 1)?;
        Ok(Story {
            args,
            emu,
            admin,
            factory: installed.factory,
            user_wasm_gz: artifacts.user_canister.wasm_gz.clone(),
            factory_wasm: installed.wasm_sha256,
            canisters: Vec::new(),
            steps: Vec::new(),
            rollouts: Vec::new(),
            started,
        })
    }

    fn say(&self, line: &str) {
        if !self.args.quiet {
            crate::say!("{line}");
        }
    }

    fn client(&self, sender: Principal) -> FactoryClient<EmulatorTransport<'_>> {
        FactoryClient::new(EmulatorTransport::new(&self.emu, sender), self.factory)
    }

    fn factory_instructions(&self) -> u64 {
        self.emu.instruction_stats(self.factory).total
    }

    /// Runs one step and records what it cost.
    fn step<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.say(&format!("==> {name}"));
        let (rounds, wall, instr) = (
            self.emu.rounds(),
            Instant::now(),
            self.factory_instructions(),
        );
        let result = f(self).with_context(|| format!("demo step '{name}'"))?;
        self.steps.push(Step {
            name: name.into(),
            rounds: self.emu.rounds() - rounds,
            wall_ms: wall.elapsed().as_millis(),
            factory_instructions: self.factory_instructions() - instr,
        });
        Ok(result)
    }

    pub fn run(mut self, state_dir: &Path) -> Result<Summary> {
        let users = self.args.users;
        self.say(&format!(
            "factory {} deployed (module sha256 {})",
            self.factory, self.factory_wasm
        ));
        self.step(&format!("publish {V1}"), |s| s.publish(V1, false))?;
        self.step(&format!("provision {users} users, store data"), |s| {
            s.provision_all()
        })?;
        self.step(&format!("publish {V2}"), |s| s.publish(V2, false))?;
        let run = self.step(&format!("rollout {V2}: canary, then all"), |s| {
            s.rollout(V2, 3)
        })?;
        if run.end != "completed" || run.failed > 0 {
            bail!(
                "the rollout of {V2} should complete without failures: {}",
                run.end
            );
        }
        self.step(&format!("publish {BROKEN} (post_upgrade traps)"), |s| {
            s.publish(BROKEN, true)
        })?;
        let run = self.step(&format!("rollout {BROKEN}: halts at the canary"), |s| {
            s.rollout(BROKEN, 2)
        })?;
        if !run.end.starts_with("halted") {
            bail!(
                "the broken rollout should halt at its canary, it ended: {}",
                run.end
            );
        }
        self.step(&format!("cancel, revoke {BROKEN}, publish {FIX}"), |s| {
            let admin = s.client(s.admin);
            admin.cancel_rollout()?;
            admin.revoke_release(BROKEN, "post_upgrade traps: halted at the canary")?;
            s.publish(FIX, false)
        })?;
        let on_demand = self.step("user 0 upgrades on demand", |s| s.on_demand(0))?;
        let restore = self.step("a recovery principal restores", |s| s.restore())?;
        let (verified, checked) = self.step("read back every user's data", |s| s.verify_data())?;

        let status = self.client(self.admin).rollout_status()?;
        let t = status.totals;
        let versions = self.versions()?;
        let spend = self.client(self.admin).cycles_report(90)?;
        let cycles = super::cycles_chart::by_purpose(&spend);
        let user_canister_instructions = self
            .canisters
            .iter()
            .map(|c| self.emu.instruction_stats(*c).total)
            .sum();
        let state_dir = self.save(state_dir);
        Ok(Summary {
            users,
            max_in_flight: self.args.max_in_flight,
            factory: self.factory.to_string(),
            steps: self.steps.clone(),
            rollouts: self.rollouts.clone(),
            rounds: self.emu.rounds(),
            wall_ms: self.started.elapsed().as_millis(),
            factory_instructions: self.factory_instructions(),
            user_canister_instructions,
            totals: FactoryTotals {
                upgraded: t.upgraded,
                failed: t.failed,
                skipped: t.skipped,
                retries: t.retries,
                on_demand_accepted: t.on_demand_accepted,
            },
            versions,
            on_demand,
            restore,
            data_verified: verified,
            data_checked: checked,
            state_dir,
            cycles,
        })
    }

    fn publish(&mut self, version: &str, broken: bool) -> Result<()> {
        let module = if broken {
            variants::with_trapping_post_upgrade(&self.user_wasm_gz, version)
        } else {
            variants::tagged(&self.user_wasm_gz, version)
        }
        .map_err(|e| anyhow!("building release {version}: {e}"))?;
        let options = PublishOptions {
            notes: format!("demo release {version}"),
            approve: true,
            ..Default::default()
        };
        let report =
            self.client(self.admin)
                .publish_release(version, &module, &options, |_, _| {})?;
        self.say(&format!(
            "    {version}: {} bytes in {} chunk(s), sha256 {}, {:?}",
            module.len(),
            report.chunks_total,
            hex::encode(report.release.sha256.0),
            report.state
        ));
        Ok(())
    }

    fn provision_all(&mut self) -> Result<()> {
        let bar = if self.args.quiet {
            ProgressBar::with_draw_target(Some(self.args.users), ProgressDrawTarget::hidden())
        } else {
            ProgressBar::new(self.args.users)
        };
        bar.set_style(
            ProgressStyle::with_template("    provisioning [{bar:30}] {pos}/{len} users")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        for n in 0..self.args.users {
            let canister = self
                .client(user(n))
                .provision(recovery_of(n))
                .map_err(|e| anyhow!("provisioning user {n}: {e}"))?;
            UserCanister {
                emu: &self.emu,
                canister,
                owner: user(n),
            }
            .put(DATA_KEY, &data_of(n))?;
            self.canisters.push(canister);
            bar.inc(1);
        }
        bar.finish_and_clear();
        self.say(&format!(
            "    {} canisters, each with its owner's data",
            self.canisters.len()
        ));
        Ok(())
    }

    fn rollout(&mut self, version: &str, max_attempts: u8) -> Result<RolloutRun> {
        let plan = rollout_plan(&RolloutStartArgs {
            version: version.into(),
            canary_percent: 5.0,
            canary_max_failure_percent: 10.0,
            max_failure_percent: 5.0,
            max_in_flight: self.args.max_in_flight,
            max_attempts,
            no_snapshot: false,
            supersede: false,
        })?;
        let admin = self.client(self.admin);
        let id = admin.start_rollout(plan)?;
        let mut progress = RolloutProgress::new(true, self.args.quiet);
        let run = drive(&self.emu, &admin, id, version, &mut progress)?;
        self.say(&format!(
            "    rollout {id}: {} after {} rounds (upgraded {}, failed {})",
            run.end, run.rounds, run.upgraded, run.failed
        ));
        self.rollouts.push(run.clone());
        Ok(run)
    }

    fn on_demand(&mut self, n: u64) -> Result<String> {
        let canister = *self
            .canisters
            .get(n as usize)
            .ok_or_else(|| anyhow!("no user {n}"))?;
        let owner = self.client(user(n));
        let accepted = owner.request_upgrade(canister, None)?;
        let start = self.emu.rounds();
        while owner.upgrade_status(canister)?.pending.is_some() {
            if self.emu.rounds() - start > ON_DEMAND_MAX_ROUNDS {
                bail!("the on-demand upgrade of {canister} did not finish");
            }
            self.emu.advance_time(Duration::from_secs(1));
            self.emu.tick();
        }
        let reported = UserCanister {
            emu: &self.emu,
            canister,
            owner: user(n),
        }
        .release()?;
        if reported != accepted.target_version {
            bail!(
                "{canister} runs {reported} after its on-demand upgrade to {}",
                accepted.target_version
            );
        }
        let line = format!(
            "user {n}'s canister {canister}: {} -> {} in {} rounds",
            accepted.from_version,
            accepted.target_version,
            self.emu.rounds() - start
        );
        self.say(&format!("    {line}"));
        Ok(line)
    }

    /// The recovery principal of the last user whose last upgrade succeeded
    /// (so a snapshot of the version before it exists) restores it.
    fn restore(&mut self) -> Result<String> {
        let admin = self.client(self.admin);
        let mut chosen = None;
        for n in (0..self.args.users).rev() {
            let view = admin.get_user(user(n))?;
            let ok = view
                .last_outcome
                .as_ref()
                .is_some_and(|o| o.error.is_none());
            if view.has_snapshot && ok && view.previous_version.is_some() {
                chosen = Some((n, view));
                break;
            }
        }
        let Some((n, before)) = chosen else {
            bail!("no canister has a snapshot to restore");
        };
        let canister = before
            .canister_id
            .ok_or_else(|| anyhow!("user {n} has no canister"))?;
        self.client(recovery_of(n)).restore_snapshot(canister)?;
        let after = admin.get_user(user(n))?;
        let reported = UserCanister {
            emu: &self.emu,
            canister,
            owner: user(n),
        }
        .release()?;
        if after.version.as_deref() != Some(reported.as_str()) {
            bail!(
                "after the restore the factory records {:?} but {canister} runs {reported}",
                after.version
            );
        }
        let line = format!(
            "user {n}'s recovery principal restored {canister}: {} -> {reported}",
            before.version.as_deref().unwrap_or("-")
        );
        self.say(&format!("    {line}"));
        Ok(line)
    }

    fn verify_data(&mut self) -> Result<(u64, u64)> {
        let mut verified = 0;
        for (n, canister) in self.canisters.iter().enumerate() {
            let n = n as u64;
            let c = UserCanister {
                emu: &self.emu,
                canister: *canister,
                owner: user(n),
            };
            if c.get(DATA_KEY)? == Some(data_of(n)) {
                verified += 1;
            } else {
                self.say(&format!(
                    "    user {n}'s data on {canister} is not what was stored"
                ));
            }
        }
        self.say(&format!(
            "    {verified}/{} users read back exactly what they stored",
            self.canisters.len()
        ));
        Ok((verified, self.canisters.len() as u64))
    }

    /// Canisters per version, as the factory records them.
    fn versions(&self) -> Result<BTreeMap<String, u64>> {
        let admin = self.client(self.admin);
        let mut counts = BTreeMap::new();
        let mut after = None;
        loop {
            let page = admin.list_users(after, 1_000)?;
            for u in &page.users {
                *counts
                    .entry(u.version.clone().unwrap_or_else(|| "-".into()))
                    .or_insert(0) += 1;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(counts),
            }
        }
    }

    /// Saves the network for further commands; a failure to save is reported, not fatal.
    fn save(&self, dir: &Path) -> Option<String> {
        let meta = NetworkMeta {
            factory: Some(self.factory),
            operator: Some(self.admin),
            generation: 1,
        };
        // No factoryctl command may read it half-written.
        let saved =
            StateLock::acquire(dir).and_then(|_lock| save_network(&self.emu, &meta, dir, None));
        match saved {
            Ok(_) => Some(dir.display().to_string()),
            Err(e) => {
                crate::output::warn(&format!("warning: the demo's network was not saved: {e:#}"));
                None
            }
        }
    }
}
