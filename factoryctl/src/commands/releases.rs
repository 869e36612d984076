//! `releases list|show`, `approve`, `deprecate`, `revoke`.

use super::format::{hex, state_name, time};
use super::Client;
use crate::cli::ReleasesCommand;
use crate::say;
use anyhow::Result;
use factory_client::Release;

pub fn run(client: &Client, command: ReleasesCommand) -> Result<()> {
    match command {
        ReleasesCommand::List { limit } => list(client, limit),
        ReleasesCommand::Show { version } => show(client, &version),
        ReleasesCommand::Abort { version } => {
            client.abort_release(&version)?;
            say!("release {version}: upload aborted; the version can be published again");
            Ok(())
        }
    }
}

fn list(client: &Client, limit: u32) -> Result<()> {
    let releases = client.list_releases(None, limit)?;
    if releases.is_empty() {
        say!("no releases");
        return Ok(());
    }
    say!(
        "{:<16} {:<11} {:>10} {:<14} notes",
        "version",
        "state",
        "bytes",
        "sha256"
    );
    for r in &releases {
        say!(
            "{:<16} {:<11} {:>10} {:<14} {}",
            r.version,
            state_name(&r.state),
            r.size,
            &hex(&r.sha256)[..12],
            r.notes
        );
    }
    Ok(())
}

fn show(client: &Client, version: &str) -> Result<()> {
    print_release(&client.get_release(version)?);
    Ok(())
}

fn print_release(r: &Release) {
    say!("release {}", r.version);
    say!("  state: {}", state_name(&r.state));
    say!("  sha256: {}", hex(&r.sha256));
    // An upload has no chunk hashes yet: count its chunks, not the hashes.
    let chunks = match &r.upload {
        Some(upload) => upload.chunks.len(),
        None => r.chunk_hashes.len(),
    };
    say!("  size: {} bytes in {chunks} chunks", r.size);
    say!("  uploader: {}", r.uploader);
    if !r.notes.is_empty() {
        say!("  notes: {}", r.notes);
    }
    if let Some(min) = &r.min_upgrade_from {
        say!("  min upgrade from: {min}");
    }
    if let Some(arg) = &r.app_arg {
        // As the admin wrote it (Candid text), or its size if it does not decode.
        match candid_parser::IDLArgs::from_bytes(arg) {
            Ok(text) => say!("  app argument: {text}"),
            Err(_) => say!("  app argument: {} bytes", arg.len()),
        }
    }
    for a in &r.approvals {
        say!("  approved by {} at {}", a.by, time(a.at_ns));
    }
    if let Some(upload) = &r.upload {
        let have = upload.chunks.iter().filter(|c| c.is_some()).count();
        say!("  upload: {have}/{} chunks received", upload.chunks.len());
    }
    for (what, change) in [("deprecated", &r.deprecated), ("revoked", &r.revoked)] {
        if let Some(c) = change {
            say!("  {what} by {} at {}: {}", c.by, time(c.at_ns), c.reason);
        }
    }
}

pub fn approve(client: &Client, version: &str) -> Result<()> {
    let state = client.approve_release(version)?;
    say!("release {version}: {}", state_name(&state));
    Ok(())
}

pub fn deprecate(client: &Client, version: &str, reason: &str) -> Result<()> {
    client.deprecate_release(version, reason)?;
    say!("release {version}: deprecated");
    Ok(())
}

pub fn revoke(client: &Client, version: &str, reason: &str) -> Result<()> {
    client.revoke_release(version, reason)?;
    say!("release {version}: revoked");
    Ok(())
}
