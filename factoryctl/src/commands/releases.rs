//! `releases list|show`, `approve`, `deprecate`, `revoke`.

use super::format::{hex, secs, state_name};
use super::Client;
use crate::cli::ReleasesCommand;
use anyhow::Result;
use factory_client::Release;

pub fn run(client: &Client, command: ReleasesCommand) -> Result<()> {
    match command {
        ReleasesCommand::List { limit } => list(client, limit),
        ReleasesCommand::Show { version } => show(client, &version),
    }
}

fn list(client: &Client, limit: u32) -> Result<()> {
    let releases = client.list_releases(None, limit)?;
    if releases.is_empty() {
        println!("no releases");
        return Ok(());
    }
    println!(
        "{:<16} {:<11} {:>10} {:<14} notes",
        "version", "state", "bytes", "sha256"
    );
    for r in &releases {
        println!(
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
    println!("release {}", r.version);
    println!("  state: {}", state_name(&r.state));
    println!("  sha256: {}", hex(&r.sha256));
    println!(
        "  size: {} bytes in {} chunks",
        r.size,
        r.chunk_hashes.len()
    );
    println!("  uploader: {}", r.uploader);
    if !r.notes.is_empty() {
        println!("  notes: {}", r.notes);
    }
    if let Some(min) = &r.min_upgrade_from {
        println!("  min upgrade from: {min}");
    }
    for a in &r.approvals {
        println!("  approved by {} at {}", a.by, secs(a.at_ns));
    }
    if let Some(upload) = &r.upload {
        let have = upload.chunks.iter().filter(|c| c.is_some()).count();
        println!("  upload: {have}/{} chunks received", upload.chunks.len());
    }
    for (what, change) in [("deprecated", &r.deprecated), ("revoked", &r.revoked)] {
        if let Some(c) = change {
            println!("  {what} by {} at {}: {}", c.by, secs(c.at_ns), c.reason);
        }
    }
}

pub fn approve(client: &Client, version: &str) -> Result<()> {
    let state = client.approve_release(version)?;
    println!("release {version}: {}", state_name(&state));
    Ok(())
}

pub fn deprecate(client: &Client, version: &str, reason: &str) -> Result<()> {
    client.deprecate_release(version, reason)?;
    println!("release {version}: deprecated");
    Ok(())
}

pub fn revoke(client: &Client, version: &str, reason: &str) -> Result<()> {
    client.revoke_release(version, reason)?;
    println!("release {version}: revoked");
    Ok(())
}
