//! `audit` and `metrics`.

use super::format::{audit_action, time};
use super::Client;
use anyhow::Result;

pub fn audit(client: &Client, limit: u32, before: Option<u64>) -> Result<()> {
    let page = client.audit_log(before, limit)?;
    crate::say!("{} entries in all", page.total);
    for e in &page.entries {
        let result = match &e.error {
            None => "ok".to_string(),
            Some(err) => format!("failed: {err}"),
        };
        crate::say!(
            "#{} {} {} {}: {result}",
            e.seq,
            time(e.time_ns),
            e.caller,
            audit_action(&e.action)
        );
    }
    if let Some(next) = page.next_before {
        crate::say!("older: --before {next}");
    }
    Ok(())
}

pub fn metrics(client: &Client) -> Result<()> {
    crate::output::text(&client.metrics()?);
    Ok(())
}
