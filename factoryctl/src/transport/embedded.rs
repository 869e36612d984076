//! The embedded network: the emulator in this process, its state loaded from
//! `--state-dir` at the start of a command and saved at its end, so one
//! command after another behaves as against a local replica. The directory's
//! lock is held from load to save (see `lock.rs`): commands take turns.

use super::lock::StateLock;
use anyhow::{anyhow, Context, Result};
use candid::Principal;
use factory_client::EmulatorTransport;
use ic_emulator::Emulator;
use serde::{Deserialize, Serialize};
use std::cell::{Ref, RefCell};
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
    /// Counts the saves, so a command that let another one in knows whether
    /// to load what that one saved.
    #[serde(default)]
    pub generation: u64,
}

pub struct EmbeddedNetwork {
    emu: RefCell<Emulator>,
    meta: RefCell<NetworkMeta>,
    dir: PathBuf,
    sender: Principal,
    lock: StateLock,
}

/// The caller when `--as` is not given: the principal `deploy` makes admin,
/// so commands run as admin by default, like dfx's default identity.
pub fn default_principal() -> Principal {
    Principal::self_authenticating(b"factoryctl embedded network default identity")
}

impl EmbeddedNetwork {
    /// The network in `dir`, or a fresh one if nothing was saved there;
    /// waits for any other command using `dir` to finish first.
    pub fn open(dir: &Path, sender: Option<Principal>) -> Result<EmbeddedNetwork> {
        let lock = StateLock::acquire(dir)?;
        let (emu, meta) = load(dir)?;
        Ok(EmbeddedNetwork {
            emu: RefCell::new(emu),
            meta: RefCell::new(meta),
            dir: dir.to_path_buf(),
            sender: sender.unwrap_or_else(default_principal),
            lock,
        })
    }

    pub fn sender(&self) -> Principal {
        self.sender
    }

    pub fn emu(&self) -> Ref<'_, Emulator> {
        self.emu.borrow()
    }

    /// Replaces a fresh network's emulator by `emu` (one built with several
    /// subnets); refused once a factory is deployed.
    pub fn replace_emulator(&self, emu: Emulator) -> Result<()> {
        if self.meta.borrow().factory.is_some() {
            return Err(anyhow!("the network already has a factory"));
        }
        *self.emu.borrow_mut() = emu;
        Ok(())
    }

    pub fn meta(&self) -> NetworkMeta {
        self.meta.borrow().clone()
    }

    pub fn set_meta(&self, meta: NetworkMeta) {
        *self.meta.borrow_mut() = meta;
    }

    pub fn update(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, factory_client::TransportError> {
        use factory_client::Transport;
        EmulatorTransport::new(&self.emu.borrow(), self.sender).update(canister, method, arg)
    }

    pub fn query(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, factory_client::TransportError> {
        use factory_client::Transport;
        EmulatorTransport::new(&self.emu.borrow(), self.sender).query(canister, method, arg)
    }

    pub fn management_update(
        &self,
        target: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, factory_client::TransportError> {
        use factory_client::Transport;
        EmulatorTransport::new(&self.emu.borrow(), self.sender)
            .management_update(target, method, arg)
    }

    /// The emulator, what the network knows, and the directory's lock, for a
    /// command (`serve`) that runs the emulator elsewhere and saves it itself
    /// before it drops the lock.
    pub fn into_parts(self) -> (Emulator, NetworkMeta, StateLock) {
        (self.emu.into_inner(), self.meta.into_inner(), self.lock)
    }

    pub fn factory(&self) -> Result<Principal> {
        self.meta.borrow().factory.ok_or_else(|| {
            anyhow!(
                "no factory on the embedded network in {}: run `factoryctl deploy` first",
                self.dir.display()
            )
        })
    }

    /// One round, a second of virtual time later, so the factory's timers
    /// fire. If another command waits for the state directory, saves first,
    /// lets it in and goes on from what it saved.
    pub fn step(&self) -> Result<()> {
        {
            let emu = self.emu.borrow();
            emu.advance_time(STEP);
            emu.tick();
        }
        if self.lock.wanted() {
            self.save()?;
            let ours = self.meta.borrow().generation;
            self.lock.let_others_in()?;
            if read_meta(&self.dir)?.is_some_and(|m| m.generation != ours) {
                let (emu, meta) = load(&self.dir)?;
                *self.emu.borrow_mut() = emu;
                *self.meta.borrow_mut() = meta;
            }
        }
        Ok(())
    }

    /// Saves what changed; a command that changed nothing writes nothing.
    pub fn save(&self) -> Result<()> {
        let mut meta = self.meta.borrow_mut();
        let mut next = meta.clone();
        next.generation += 1;
        if save_network(&self.emu.borrow(), &next, &self.dir, Some(&meta))? {
            *meta = next;
        }
        Ok(())
    }
}

fn read_meta(dir: &Path) -> Result<Option<NetworkMeta>> {
    let meta_path = dir.join(META_FILE);
    if !meta_path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&meta_path)
        .with_context(|| format!("reading {}", meta_path.display()))?;
    let meta = serde_json::from_str(&text)
        .with_context(|| format!("{} is damaged", meta_path.display()))?;
    Ok(Some(meta))
}

fn load(dir: &Path) -> Result<(Emulator, NetworkMeta)> {
    let Some(meta) = read_meta(dir)? else {
        return Ok((Emulator::new(), NetworkMeta::default()));
    };
    let emu = Emulator::load_state(&dir.join(EMULATOR_DIR))
        .map_err(|e| anyhow!("loading the embedded network from {}: {e}", dir.display()))?;
    Ok((emu, meta))
}

/// Writes `emu` and `meta` into `dir`, where [`EmbeddedNetwork::open`] finds
/// them. The caller holds the directory's lock. With `loaded` (what `dir`
/// held when the command began, `meta` counting one more save), nothing is
/// written if neither the emulator nor the metadata changed: returns whether
/// anything was.
pub fn save_network(
    emu: &Emulator,
    meta: &NetworkMeta,
    dir: &Path,
    loaded: Option<&NetworkMeta>,
) -> Result<bool> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the state directory {}", dir.display()))?;
    let report = emu
        .save_state(&dir.join(EMULATOR_DIR))
        .map_err(|e| anyhow!("saving the embedded network to {}: {e}", dir.display()))?;
    let unchanged =
        loaded.is_some_and(|old| old.factory == meta.factory && old.operator == meta.operator);
    if report.files_written == 0 && unchanged && dir.join(META_FILE).is_file() {
        return Ok(false);
    }
    let text = serde_json::to_string_pretty(meta).context("encoding the network metadata")?;
    // Written aside and renamed: a reader never sees half of it.
    let tmp = dir.join(format!("{META_FILE}.tmp"));
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(META_FILE))
        .with_context(|| format!("writing {}", dir.join(META_FILE).display()))?;
    Ok(true)
}
