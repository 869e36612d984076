//! `audit` and `metrics`.

use super::format::secs;
use super::Client;
use anyhow::Result;

pub fn audit(client: &Client, limit: u32, before: Option<u64>) -> Result<()> {
    let page = client.audit_log(before, limit)?;
    println!("{} entries in all", page.total);
    for e in &page.entries {
        let result = match &e.error {
            None => "ok".to_string(),
            Some(err) => format!("failed: {err}"),
        };
        println!(
            "#{} {} {} {:?}: {result}",
            e.seq,
            secs(e.time_ns),
            e.caller,
            e.action
        );
    }
    if let Some(next) = page.next_before {
        println!("older: --before {next}");
    }
    Ok(())
}

pub fn metrics(client: &Client) -> Result<()> {
    print!("{}", client.metrics()?);
    Ok(())
}
