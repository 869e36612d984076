//! One module per group of commands; all but `deploy` and `demo` go through
//! the same `FactoryClient<Connection>`, whatever the network.

pub mod admins;
mod audit;
mod cycles;
mod deploy;
pub mod factory_upgrade;
mod fleet_watch;
mod format;
pub mod principal;
mod publish;
mod recovery;
mod releases;
mod rollout;
mod serve;
pub mod shards;
mod tag;
mod users;
mod watch;

use crate::cli::{Cli, Command};
use crate::transport::Connection;
use anyhow::Result;
use factory_client::FactoryClient;

pub type Client = FactoryClient<Connection>;
pub use format::rollout_state as rollout_state_text;
pub use rollout::{end_name as end_text, plan as rollout_plan, stage_line};
#[cfg(feature = "network")]
pub use watch::run as watch_rollout;

pub fn run(cli: Cli) -> Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Demo(args) => crate::demo::run(&global, &args),
        Command::Principal(sub) => principal::run(sub),
        Command::Tag(args) => tag::run(&args),
        Command::Deploy(args) => deploy::run(&global, &args),
        Command::Serve(args) => serve::run(&global, &args),
        command => {
            // Ctrl-C stops a waiting command where it can keep its progress.
            crate::interrupt::catch();
            let client = Connection::open_client(&global)?;
            crate::output::hold();
            let result = dispatch(&client, command);
            // Kept even when the command failed half-way: an interrupted
            // publish resumes from what reached the factory.
            let closed = client.transport.close();
            // The answer only once what it says is saved.
            match &closed {
                Ok(()) => crate::output::release(),
                Err(_) => crate::output::discard(),
            }
            result.and(closed)
        }
    }
}

fn dispatch(client: &Client, command: Command) -> Result<()> {
    match command {
        Command::Publish(args) => publish::run(client, &args),
        Command::Releases(sub) => releases::run(client, sub),
        Command::Approve { version } => releases::approve(client, &version),
        Command::Deprecate { version, reason } => releases::deprecate(client, &version, &reason),
        Command::Revoke { version, reason } => releases::revoke(client, &version, &reason),
        Command::Admins(sub) => admins::run(client, sub),
        Command::Shards(sub) => shards::run(client, sub),
        Command::Rollout(sub) => rollout::run(client, sub),
        Command::Provision { recovery } => users::provision(client, recovery),
        Command::Canister(sub) => users::canister(client, sub),
        Command::Upgrade(sub) => users::upgrade(client, sub),
        Command::Recovery(sub) => recovery::run(client, sub),
        Command::Audit { limit, before } => audit::audit(client, limit, before),
        Command::Metrics => audit::metrics(client),
        Command::Cycles { days, at_risk } => cycles::run(client, days, at_risk),
        Command::Factory(sub) => factory_upgrade::run(client, sub),
        Command::Demo(_)
        | Command::Deploy(_)
        | Command::Serve(_)
        | Command::Principal(_)
        | Command::Tag(_) => {
            unreachable!("handled by run")
        }
    }
}
