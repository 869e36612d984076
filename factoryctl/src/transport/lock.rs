//! One command at a time on a state directory: an OS file lock (`flock`)
//! held from loading the state to saving it, so two commands never both
//! start from the same state and the last to save wins. A command that finds
//! the lock taken waits (and says so); while it waits it leaves a marker
//! file, which a long command (`rollout watch`) looks for between rounds: it
//! then saves, lets the waiting command in, and loads what that one saved.

use crate::interrupt;
use anyhow::{bail, Context, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const LOCK_FILE: &str = "lock";
/// Present while another command waits for the lock.
const WANTED_FILE: &str = "lock.wanted";
const POLL: Duration = Duration::from_millis(50);
/// A marker nobody removes within this is left by a command that died.
const STALE_WANTED: Duration = Duration::from_secs(3);

pub struct StateLock {
    file: File,
    dir: PathBuf,
}

impl StateLock {
    /// Takes the lock of `dir` (created if missing), waiting for it if
    /// another command holds it. Ctrl-C while waiting gives up, changing nothing.
    pub fn acquire(dir: &Path) -> Result<StateLock> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the state directory {}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let lock = StateLock {
            file,
            dir: dir.to_path_buf(),
        };
        lock.wait(true)?;
        Ok(lock)
    }

    fn wait(&self, announce: bool) -> Result<()> {
        if self.try_lock()? {
            return Ok(());
        }
        if announce {
            crate::output::warn(&format!(
                "waiting for {}: another factoryctl command is using it (a `rollout watch` lets others in between rounds)",
                self.dir.display()
            ));
        }
        loop {
            // Touched each time: the holder may have removed it as stale.
            let _ = std::fs::write(self.dir.join(WANTED_FILE), std::process::id().to_string());
            std::thread::sleep(POLL);
            if interrupt::interrupted() {
                bail!(
                    "interrupted while waiting for {}; nothing was changed",
                    self.dir.display()
                );
            }
            if self.try_lock()? {
                let _ = std::fs::remove_file(self.dir.join(WANTED_FILE));
                return Ok(());
            }
        }
    }

    fn try_lock(&self) -> Result<bool> {
        match self.file.try_lock() {
            Ok(()) => Ok(true),
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking {}", self.dir.display()))
            }
        }
    }

    /// Whether another command is waiting for the lock.
    pub fn wanted(&self) -> bool {
        self.dir.join(WANTED_FILE).exists()
    }

    /// Lets a waiting command in (the caller saved first) and takes the lock
    /// back once it is done.
    pub fn let_others_in(&self) -> Result<()> {
        self.file
            .unlock()
            .with_context(|| format!("unlocking {}", self.dir.display()))?;
        let since = Instant::now();
        while self.wanted() && since.elapsed() < STALE_WANTED {
            std::thread::sleep(POLL / 5);
        }
        if self.wanted() {
            let _ = std::fs::remove_file(self.dir.join(WANTED_FILE));
        }
        self.file
            .lock()
            .with_context(|| format!("locking {}", self.dir.display()))
    }
}
