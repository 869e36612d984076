//! `publish`: checks the file locally (exists, is wasm, has the expected
//! hash) before anything is sent, then uploads through the resumable
//! `publish_release` with a progress bar.

use super::format::{hex, state_name};
use super::Client;
use crate::cli::PublishArgs;
use anyhow::{anyhow, bail, Context, Result};
use candid::Principal;
use factory_client::{module_hash, FactoryClient, PublishOptions, Transport, TransportError};
use indicatif::{ProgressBar, ProgressStyle};
use std::cell::Cell;
use std::io::Read;
use std::path::Path;

/// Simulates an interruption after this many chunks: the upload stops as if
/// the connection dropped, which is how tests (and curious users) see a
/// publish resume.
pub const INTERRUPT_ENV: &str = "FACTORYCTL_INTERRUPT_AFTER_CHUNKS";

/// The Candid bytes of `--app-arg`: text parsed as Candid, or `@FILE` holding
/// text or bytes. Refused here if it does not parse; the factory checks size.
pub fn app_arg_bytes(spec: &str) -> Result<Vec<u8>> {
    let text = match spec.strip_prefix('@') {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading --app-arg {path}"))?;
            if bytes.starts_with(b"DIDL") {
                return Ok(bytes);
            }
            String::from_utf8(bytes)
                .map_err(|_| anyhow!("--app-arg {path}: neither Candid bytes (DIDL...) nor text"))?
        }
        None => spec.to_string(),
    };
    let args = candid_parser::parse_idl_args(&text)
        .map_err(|e| anyhow!("--app-arg is not Candid text: {e}"))?;
    args.to_bytes()
        .map_err(|e| anyhow!("--app-arg does not encode: {e}"))
}

pub fn run(client: &Client, args: &PublishArgs) -> Result<()> {
    let module = read_module(&args.file)?;
    let sha = module_hash(&module);
    if let Some(expected) = &args.sha256 {
        let expected = expected.trim().to_lowercase();
        if hex::decode(&expected).ok().map(|b| b.len()) != Some(32) {
            bail!("--sha256 must be 64 hex digits, got '{expected}'");
        }
        if expected != hex(&sha) {
            bail!(
                "hash mismatch: {} has SHA-256 {}, --sha256 says {expected}",
                args.file.display(),
                hex(&sha)
            );
        }
    }
    let interrupt_after = match std::env::var(INTERRUPT_ENV) {
        Ok(n) => Some(
            n.parse::<u32>()
                .map_err(|_| anyhow!("{INTERRUPT_ENV} must be a number"))?,
        ),
        Err(_) => None,
    };
    let uploader = FactoryClient::new(
        Interruptible {
            inner: &client.transport,
            chunks_left: Cell::new(interrupt_after),
        },
        client.factory,
    );
    let app_arg = args.app_arg.as_deref().map(app_arg_bytes).transpose()?;
    let options = PublishOptions {
        notes: args.notes.clone(),
        min_upgrade_from: args.min_upgrade_from.clone(),
        app_arg,
        approve: args.approve,
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} chunks")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(format!("uploading {}", args.version));
    let mut resumed_from = None;
    let published = uploader.publish_release(&args.version, &module, &options, |done, total| {
        resumed_from.get_or_insert(done);
        bar.set_length(u64::from(total));
        bar.set_position(u64::from(done));
    });
    bar.finish_and_clear();
    let report = published.map_err(|e| match e {
        factory_client::ClientError::Transport(t) if t.message == INTERRUPTED => anyhow!(
            "publishing {} was interrupted; run the same command again to resume",
            args.version
        ),
        other => {
            // A refused commit leaves the upload behind: say how to get past it.
            let stuck = client
                .get_release(&args.version)
                .is_ok_and(|r| r.state == factory_client::ReleaseState::Uploading);
            let hint = if stuck {
                format!(
                    "; the upload is not committed: publish a corrected file as {v} (it replaces this upload) or run `factoryctl releases abort {v}`",
                    v = args.version
                )
            } else {
                String::new()
            };
            anyhow!("publishing {}: {other}{hint}", args.version)
        }
    })?;
    crate::say!("release {}", report.release.version);
    crate::say!("  sha256: {}", hex(&report.release.sha256));
    crate::say!("  size: {} bytes", report.release.size);
    let already = resumed_from.unwrap_or(0);
    if already > 0 {
        crate::say!(
            "  resumed: {already} of {} chunks were already uploaded",
            report.chunks_total
        );
    }
    crate::say!(
        "  chunks uploaded: {}/{}",
        report.chunks_uploaded,
        report.chunks_total
    );
    crate::say!("  state: {}", state_name(&report.state));
    Ok(())
}

/// The file, if it is a wasm module or a gzipped one (checked here, so a
/// wrong file never starts an upload).
fn read_module(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let gzipped = bytes.starts_with(&[0x1f, 0x8b]);
    let mut head = [0u8; 4];
    let has_header = if gzipped {
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_exact(&mut head)
            .is_ok()
            && &head == b"\0asm"
    } else {
        bytes.starts_with(b"\0asm")
    };
    if !has_header && gzipped {
        bail!("{} is gzip but not a gzipped wasm module", path.display());
    }
    if !has_header {
        bail!("{} is not a wasm module (no \\0asm header)", path.display());
    }
    Ok(bytes)
}

const INTERRUPTED: &str = "interrupted";

/// The connection, refusing chunk uploads once its budget is spent.
struct Interruptible<'a, T> {
    inner: &'a T,
    chunks_left: Cell<Option<u32>>,
}

impl<T: Transport> Transport for Interruptible<'_, T> {
    fn sender(&self) -> Principal {
        self.inner.sender()
    }

    fn update(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        if method == "upload_release_chunk" {
            match self.chunks_left.get() {
                Some(0) => {
                    return Err(TransportError {
                        reject_code: 0,
                        message: INTERRUPTED.into(),
                    })
                }
                Some(n) => self.chunks_left.set(Some(n - 1)),
                None => {}
            }
        }
        self.inner.update(canister, method, arg)
    }

    fn query(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        self.inner.query(canister, method, arg)
    }
}

#[cfg(test)]
mod tests {
    use super::app_arg_bytes;

    #[test]
    fn app_arg_is_candid_text_or_a_file() {
        let text = app_arg_bytes("(record { max_note_len = 140 : nat32 })").unwrap();
        assert!(text.starts_with(b"DIDL"));
        let dir = std::env::temp_dir().join(format!("app-arg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("arg.bin");
        std::fs::write(&bin, &text).unwrap();
        assert_eq!(app_arg_bytes(&format!("@{}", bin.display())).unwrap(), text);
        let txt = dir.join("arg.did");
        std::fs::write(&txt, "(record { max_note_len = 140 : nat32 })").unwrap();
        assert_eq!(app_arg_bytes(&format!("@{}", txt.display())).unwrap(), text);
        assert!(app_arg_bytes("not candid {").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
