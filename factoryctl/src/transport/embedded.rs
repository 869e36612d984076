//! The embedded network: the emulator in this process, its state loaded from
//! `--state-dir` at the start of a command and saved at its end, so one
//! command after another behaves as against a local replica.

use anyhow::{anyhow, Context, Result};
use candid::Principal;
use factory_client::EmulatorTransport;
use ic_emulator::Emulator;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the network knows beyond the emulator: which canister is the factory.
const META_FILE: &str = "network.json";
/// The emulator's own saved state (replaced as a whole at every save).
const EMULATOR_DIR: &str = "emulator";
/// Virtual time per waiting step: about one IC round.
pub const STEP: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct NetworkMeta {
    pub factory: Option<Principal>,
    /// Controls the factory (who deployed it).
    pub operator: Option<Principal>,
}

pub struct EmbeddedNetwork {
    pub emu: Emulator,
    pub meta: NetworkMeta,
    dir: PathBuf,
    sender: Principal,
}

/// The caller when `--as` is not given: the principal `deploy` makes admin,
/// so commands run as admin by default, like dfx's default identity.
pub fn default_principal() -> Principal {
    Principal::self_authenticating(b"factoryctl embedded network default identity")
}

impl EmbeddedNetwork {
    /// The network in `dir`, or a fresh one if nothing was saved there.
    pub fn open(dir: &Path, sender: Option<Principal>) -> Result<EmbeddedNetwork> {
        let meta_path = dir.join(META_FILE);
        let (emu, meta) = if meta_path.exists() {
            let text = std::fs::read_to_string(&meta_path)
                .with_context(|| format!("reading {}", meta_path.display()))?;
            let meta: NetworkMeta = serde_json::from_str(&text)
                .with_context(|| format!("{} is damaged", meta_path.display()))?;
            let emu = Emulator::load_state(&dir.join(EMULATOR_DIR))
                .map_err(|e| anyhow!("loading the embedded network from {}: {e}", dir.display()))?;
            (emu, meta)
        } else {
            (Emulator::new(), NetworkMeta::default())
        };
        Ok(EmbeddedNetwork {
            emu,
            meta,
            dir: dir.to_path_buf(),
            sender: sender.unwrap_or_else(default_principal),
        })
    }

    pub fn sender(&self) -> Principal {
        self.sender
    }

    pub fn transport(&self) -> EmulatorTransport<'_> {
        EmulatorTransport::new(&self.emu, self.sender)
    }

    pub fn factory(&self) -> Result<Principal> {
        self.meta.factory.ok_or_else(|| {
            anyhow!(
                "no factory on the embedded network in {}: run `factoryctl deploy` first",
                self.dir.display()
            )
        })
    }

    /// One round, a second of virtual time later, so the factory's timers fire.
    pub fn step(&self) {
        self.emu.advance_time(STEP);
        self.emu.tick();
    }

    pub fn save(&self) -> Result<()> {
        save_network(&self.emu, &self.meta, &self.dir)
    }
}

/// Writes `emu` and `meta` into `dir`, where [`EmbeddedNetwork::open`] finds them.
pub fn save_network(emu: &Emulator, meta: &NetworkMeta, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the state directory {}", dir.display()))?;
    emu.save_state(&dir.join(EMULATOR_DIR))
        .map_err(|e| anyhow!("saving the embedded network to {}: {e}", dir.display()))?;
    let text = serde_json::to_string_pretty(meta).context("encoding the network metadata")?;
    std::fs::write(dir.join(META_FILE), text)
        .with_context(|| format!("writing {}", dir.join(META_FILE).display()))
}
