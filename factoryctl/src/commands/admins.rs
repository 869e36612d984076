//! `admins list|add|remove`: who administers the factory.

use super::Client;
use crate::say;
use anyhow::Result;
use candid::Principal;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum AdminsCommand {
    /// The factory's admins.
    List,
    /// Make a principal an admin (it can then approve releases).
    Add {
        /// The principal to add, as text.
        principal: Principal,
    },
    /// Remove an admin (never the last one, nor one the approval policy needs).
    Remove {
        /// The principal to remove, as text.
        principal: Principal,
    },
}

pub fn run(client: &Client, command: AdminsCommand) -> Result<()> {
    match command {
        AdminsCommand::List => {
            for admin in client.list_admins()? {
                say!("{admin}");
            }
        }
        AdminsCommand::Add { principal } => {
            client.add_admin(principal)?;
            say!("{principal} is now an admin");
        }
        AdminsCommand::Remove { principal } => {
            client.remove_admin(principal)?;
            say!("{principal} is no longer an admin");
        }
    }
    Ok(())
}
