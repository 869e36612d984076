//! The command line: global flags and one subcommand per admin or user task.

use candid::Principal;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "factoryctl",
    version,
    about = "Publish releases, roll them out, provision and recover user canisters of a factory.",
    long_about = "Publish releases, roll them out, provision and recover user canisters of a factory.\n\n\
                  Runs against a real IC network through ic-agent (--network local|ic|URL) or, by default, \
                  an embedded emulator whose state is kept in --state-dir between invocations."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// `embedded` (in-process emulator), `local` (http://127.0.0.1:4943), `ic`, or a replica URL.
    #[arg(long, global = true, default_value = "embedded")]
    pub network: String,
    /// Where the embedded network keeps its state between invocations.
    #[arg(long, global = true, default_value = ".factoryctl/embedded")]
    pub state_dir: PathBuf,
    /// A PEM file, or the name of a dfx identity (~/.config/dfx/identity/NAME/identity.pem).
    /// Anonymous when absent. Real networks only.
    #[arg(long, global = true)]
    pub identity: Option<String>,
    /// The caller on the embedded network (default: the embedded network's own admin).
    #[arg(long = "as", global = true, value_name = "PRINCIPAL")]
    pub as_principal: Option<Principal>,
    /// The factory canister (default: canister_ids.json or .dfx/<network>/canister_ids.json;
    /// on the embedded network, the deployed one).
    #[arg(long, global = true)]
    pub factory: Option<Principal>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Install the factory: on the embedded network, or over a local network
    /// (`--network local|URL`: provisional cycles, as dfx deploys there).
    Deploy(DeployArgs),
    /// Publish a release: hash, upload in 1 MiB chunks (resumable), commit, optionally approve.
    Publish(PublishArgs),
    /// List or show releases.
    #[command(subcommand)]
    Releases(ReleasesCommand),
    /// Approve a committed release (counts as the caller's approval).
    Approve {
        /// The release's semver version, e.g. 2.0.0.
        version: String,
    },
    /// Deprecate a release: no new installs, canisters on it keep it.
    Deprecate {
        /// The release's semver version, e.g. 2.0.0.
        version: String,
        /// Why, for the audit log and `releases show`.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Revoke a release: never installed again.
    Revoke {
        /// The release's semver version, e.g. 2.0.0.
        version: String,
        /// Why, for the audit log and `releases show`.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// List, add or remove the factory's admins.
    #[command(subcommand)]
    Admins(crate::commands::admins::AdminsCommand),
    /// An index factory's shards: list, add, push a release.
    #[command(subcommand)]
    Shards(crate::commands::shards::ShardsCommand),
    /// Principals to use with --as: a new one, or the one of a PEM identity.
    #[command(subcommand)]
    Principal(crate::commands::principal::PrincipalCommand),
    /// Start, steer and watch fleet upgrades.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// Provision the caller's own canister.
    Provision {
        /// A second controller able to recover the canister without the factory.
        #[arg(long)]
        recovery: Principal,
    },
    /// User canisters.
    #[command(subcommand)]
    Canister(CanisterCommand),
    /// On-demand upgrades.
    #[command(subcommand)]
    Upgrade(UpgradeCommand),
    /// What a recovery principal (or the owner) can do.
    #[command(subcommand)]
    Recovery(RecoveryCommand),
    /// The factory's audit log, newest first.
    Audit {
        /// Entries to show.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Entries older than this sequence number.
        #[arg(long)]
        before: Option<u64>,
    },
    /// The factory's /metrics page (Prometheus text).
    Metrics,
    /// Cycles: what the factory spent per day, and the keeper's canisters.
    Cycles {
        /// Days of spending to show (at most 90).
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Also list canisters at risk of freezing (at most this many).
        #[arg(long, default_value_t = 20)]
        at_risk: u32,
    },
    /// The factory canister itself (e.g. `factory upgrade <wasm>`).
    #[command(subcommand)]
    Factory(crate::commands::factory_upgrade::FactoryCommand),
    /// Run the whole story on a fresh embedded network and write a report
    /// (or over `--network local|URL`: the story without the report).
    Demo(DemoArgs),
    /// Serve the embedded network over the IC's HTTP interface (and an HTTP gateway) on 127.0.0.1.
    Serve(ServeArgs),
    /// Write a copy of a .wasm.gz tagged with a version: a second module to publish.
    Tag(TagArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The port on 127.0.0.1 (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 4943)]
    pub port: u16,
    /// Real milliseconds between two rounds (virtual time follows the wall clock).
    #[arg(long, default_value_t = 100)]
    pub round_ms: u64,
    /// Stop after this many seconds (default: at Ctrl-C or SIGTERM); the state is saved either way.
    #[arg(long = "for", value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Test only: credit this principal 1,000 T cycles on the cycles-ledger
    /// double, as a local network funds its developer (repeatable).
    #[arg(long = "fund", value_name = "PRINCIPAL")]
    pub fund: Vec<Principal>,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    /// A gzipped wasm module, e.g. target/canisters/user_canister.wasm.gz.
    pub file: PathBuf,
    /// The version to tag it with (its SHA-256 then differs from the input's).
    #[arg(long)]
    pub version: String,
    /// Where to write the tagged module.
    #[arg(long, short)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// Admins of the new factory (default: the caller).
    #[arg(long = "admin")]
    pub admins: Vec<Principal>,
    /// Distinct admins needed to approve a release.
    #[arg(long, default_value_t = 1)]
    pub approvals_required: u32,
    /// Deploy a fleet instead: an index on a subnet of its own and a shard
    /// on each of N more subnets (issue 16).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=32))]
    pub subnets: Option<u8>,
}

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// A `.wasm` or `.wasm.gz` module.
    pub file: PathBuf,
    /// The release's semver version.
    #[arg(long)]
    pub version: String,
    /// Release notes, shown by `releases show`.
    #[arg(long, default_value = "")]
    pub notes: String,
    /// Oldest version that may upgrade straight to this one.
    #[arg(long)]
    pub min_upgrade_from: Option<String>,
    /// Approve once committed.
    #[arg(long)]
    pub approve: bool,
    /// The SHA-256 (hex) the file must have; refused before anything is sent if it differs.
    #[arg(long)]
    pub sha256: Option<String>,
    /// The app's own argument, passed to every install and upgrade of this
    /// release (at most 8 KiB): one Candid value in text, with the types the
    /// app decodes, e.g. '(record { max_note_len = 140 : nat32 })'; or @FILE,
    /// a file of such text or of Candid bytes (DIDL...).
    #[arg(long, value_name = "CANDID|@FILE")]
    pub app_arg: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ReleasesCommand {
    /// Every release, oldest first.
    List {
        /// Releases to show.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// One release in detail.
    Show {
        /// The release's semver version, e.g. 2.0.0.
        version: String,
    },
    /// Abandon an upload that is not committed (e.g. one whose commit
    /// failed), freeing its version for another publish.
    Abort {
        /// The release's semver version, e.g. 2.0.0.
        version: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RolloutCommand {
    /// Start a rollout: a canary stage, then the whole fleet.
    Start(RolloutStartArgs),
    /// Pause the active rollout: nothing new starts, upgrades in flight finish.
    Pause,
    /// Resume a paused or halted rollout.
    Resume,
    /// End the active rollout; canisters not yet upgraded stay as they are.
    Cancel,
    /// The active rollout's progress per stage, and the scheduler's totals.
    Status,
    /// Follow the active rollout until it completes, halts or pauses
    /// (on the embedded network this drives its rounds and time).
    Watch(WatchArgs),
    /// Finished rollouts, newest first.
    History {
        /// Rollouts to show.
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
}

#[derive(Args, Debug, Clone)]
pub struct RolloutStartArgs {
    /// The approved release to upgrade the fleet to, e.g. 2.0.0.
    pub version: String,
    /// Share of the fleet in the canary stage (0 = no canary, one stage).
    #[arg(long, default_value_t = 5.0)]
    pub canary_percent: f64,
    /// The canary halts the rollout above this failure rate.
    #[arg(long, default_value_t = 10.0)]
    pub canary_max_failure_percent: f64,
    /// The rest of the fleet halts the rollout above this failure rate.
    #[arg(long, default_value_t = 5.0)]
    pub max_failure_percent: f64,
    /// Upgrades in flight at once (1..=500).
    #[arg(long, default_value_t = 50)]
    pub max_in_flight: u32,
    /// Tries per canister, including the first.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u8,
    /// Skip the snapshot before each install (no restore possible afterwards).
    #[arg(long)]
    pub no_snapshot: bool,
    /// Replace an active rollout.
    #[arg(long)]
    pub supersede: bool,
}

#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    /// Give up after this many seconds (virtual seconds on the embedded network).
    #[arg(long, default_value_t = 3_600)]
    pub timeout_secs: u64,
    /// No progress bars: one line per change.
    #[arg(long)]
    pub plain: bool,
}

#[derive(Subcommand, Debug)]
pub enum CanisterCommand {
    /// The caller's canister, or (admins) an owner's.
    Show {
        /// The owner whose canister to show (admins only; default: the caller).
        #[arg(long)]
        owner: Option<Principal>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UpgradeCommand {
    /// Ask the factory to upgrade a canister now (owner or recovery principal).
    Request {
        /// The user canister to upgrade (default: the caller's own).
        #[arg(long)]
        canister: Option<Principal>,
        /// The approved release to upgrade to (default: the newest approved one).
        #[arg(long)]
        version: Option<String>,
        /// Return once accepted instead of waiting for the outcome.
        #[arg(long)]
        no_wait: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum RecoveryCommand {
    /// Replace the recovery principal (a controller of the canister).
    Rotate {
        /// The user canister (default: the caller's own).
        #[arg(long)]
        canister: Option<Principal>,
        /// The principal to become the recovery controller instead.
        #[arg(long)]
        new_recovery: Principal,
    },
    /// Load the snapshot taken before the canister's last upgrade.
    Restore {
        /// The user canister (default: the caller's own).
        #[arg(long)]
        canister: Option<Principal>,
    },
    /// Bring back a canister reclaimed as dormant (its snapshot, data intact).
    Revive {
        /// The user canister (default: the caller's own).
        #[arg(long)]
        canister: Option<Principal>,
    },
    /// The factory stops controlling the canister and forgets it.
    Detach {
        /// The user canister (default: the caller's own).
        #[arg(long)]
        canister: Option<Principal>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// End users to provision.
    #[arg(long, default_value_t = 1_000)]
    pub users: u64,
    /// Upgrades in flight at once during rollouts.
    #[arg(long, default_value_t = 50)]
    pub max_in_flight: u32,
    /// The HTML report (a JSON summary is written beside it).
    #[arg(long, default_value = "target/demo/report.html")]
    pub report: PathBuf,
    /// Only the summary table.
    #[arg(long)]
    pub quiet: bool,
}
