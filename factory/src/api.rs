//! The canister's endpoints: decode, authorize (in `guard`, the one place),
//! call the flow, encode. No logic lives here.

use crate::admin;
use crate::auth::{authorize_in, CallerFacts, Endpoint, Subject};
use crate::config::FactoryConfig;
use crate::dashboard;
use crate::error::FactoryError;
use crate::fleet;
use crate::fleet::ic_shards::{IcShardControl, IcShards};
use crate::ic_runtime::{IcEnv, IcManagement};
use crate::metrics::{HttpRequest, HttpResponse};
use crate::provision;
use crate::recovery;
use crate::releases;
use crate::rollout::{self, arming, on_demand::UpgradeAccepted, plan::RolloutPlan, status::*};
use crate::runtime::{Ctx, Env};
use crate::state::{FactoryState, VMem};
use crate::types::*;
use crate::users::UserView;
use candid::Principal;
use factory_api::methods::Method;
use factory_api::{
    AddShardArgs, CreateShardArgs, FactoryRole, FleetRollout, FleetRolloutState, ShardProgress,
    ShardProvisionArgs, ShardReleaseRow, ShardRolloutArgs, ShardUpgradeRow, ShardView,
};
use ic_cdk::api::msg_caller;
use ic_cdk::{init, post_upgrade, pre_upgrade, query, update};
use ic_stable_structures::memory_manager::MemoryManager;
use ic_stable_structures::DefaultMemoryImpl;
use std::cell::{Cell, RefCell};
use std::time::Duration;
use wasm_registry::{
    BeginUpload, RegistryConfig, Release, ReleaseState, UploadChunk, UploadStatus,
};

type State = FactoryState<VMem<DefaultMemoryImpl>>;

thread_local! {
    // Leaked once so flows can hold it across awaits; the canister's state
    // lives as long as the module anyway.
    static STATE: &'static RefCell<State> = Box::leak(Box::new(RefCell::new(
        FactoryState::init(&MemoryManager::init(DefaultMemoryImpl::default())),
    )));
}

fn state() -> &'static RefCell<State> {
    STATE.with(|s| *s)
}

fn read<T>(f: impl FnOnce(&State) -> T) -> T {
    f(&state().borrow())
}

fn write<T>(f: impl FnOnce(&mut State) -> T) -> T {
    f(&mut state().borrow_mut())
}

fn ctx() -> Ctx<'static, IcEnv, IcManagement, VMem<DefaultMemoryImpl>> {
    Ctx {
        env: &IcEnv,
        mgmt: &IcManagement,
        state: state(),
    }
}

/// The one place that checks callers: builds the facts and asks `auth`.
/// `about` is the user canister the call concerns, if any.
fn guard(endpoint: Endpoint, about: Option<Principal>) -> Result<Principal, FactoryError> {
    let caller = msg_caller();
    let (role, facts) = read(|s| {
        let facts = CallerFacts {
            caller: Some(caller),
            is_admin: s.is_admin(&caller),
            is_controller: ic_cdk::api::is_controller(&caller),
            is_user_canister: s.owner_of_canister(&caller).is_some(),
            is_index: s.fleet.index() == Some(caller),
            is_shard: s.fleet.is_shard(&caller),
            subject: about.and_then(|c| s.user_by_canister(&c)).map(|r| Subject {
                owner: r.owner,
                recovery: r.recovery,
            }),
        };
        (s.fleet.role(), facts)
    });
    authorize_in(role, endpoint, &facts)?;
    Ok(caller)
}

/// Refuses an endpoint of another role with `WrongRole`.
fn require_role(endpoint: Endpoint, wanted: fn(FactoryRole) -> bool) -> Result<(), FactoryError> {
    let role = read(|s| s.fleet.role());
    if wanted(role) {
        return Ok(());
    }
    Err(FactoryError::WrongRole {
        endpoint: endpoint.method_name().to_string(),
        role,
    })
}

fn now() -> u64 {
    IcEnv.now_ns()
}

#[init]
fn init(arg: FactoryArg) {
    let FactoryArg::Init(args) = arg else {
        ic_cdk::trap("install the factory with FactoryArg::Init");
    };
    if let Err(e) = write(|s| apply_init(s, args)) {
        ic_cdk::trap(format!("invalid init args: {e}"));
    }
    start_watchdog();
    arm_policies();
}

fn apply_init(s: &mut State, args: FactoryInitArgs) -> Result<(), FactoryError> {
    if args.admins.is_empty() || args.admins.contains(&Principal::anonymous()) {
        return Err(FactoryError::InvalidArgument(
            "at least one admin, and not the anonymous principal".into(),
        ));
    }
    let config = args.config.unwrap_or_default();
    config.validate()?;
    let role = args.role.unwrap_or_default();
    if let FactoryRole::Shard { index } = role {
        if index == Principal::anonymous() || index == Principal::management_canister() {
            return Err(FactoryError::InvalidArgument(
                "a shard's index is a canister: not anonymous, not the management canister".into(),
            ));
        }
    }
    s.fleet.set_role(role);
    s.config.set(config);
    for admin in args.admins {
        s.admins.insert(admin, ());
    }
    let policy = match role {
        // The index approved the release already; the shard records that.
        FactoryRole::Shard { .. } => RegistryConfig {
            approvals_required: 1,
            uploader_counts: true,
        },
        _ => args.approvals.unwrap_or_else(|| s.registry.config()),
    };
    crate::admin::check_approval_policy(&policy, s.admins.len())?;
    s.registry.set_config(policy, now())?;
    Ok(())
}

/// State is in stable structures: nothing to save. Refuses an upgrade that
/// would deliver this module's outstanding replies to the next one.
#[pre_upgrade]
fn pre_upgrade() {
    if let Some(why) = crate::lifecycle::refuse_upgrade(crate::ic_runtime::outstanding_calls()) {
        ic_cdk::trap(why);
    }
}

#[post_upgrade]
fn post_upgrade(_arg: Option<FactoryArg>) {
    // Locks of the previous module's epoch are stale from here on; its runs
    // keep their in-flight slots until they have settled (`rollout::settle`).
    let now = now();
    write(|s| {
        s.update_counters(|c| c.epoch += 1);
        rollout::settle::factory_upgraded(s, now);
    });
    // Timers do not survive an upgrade: the first tick reconciles runs of the
    // previous epoch and resumes the rollout.
    arm_tick(0);
    if read(|s| s.fleet.role()) == FactoryRole::Index {
        arm_fleet_tick();
    }
    start_watchdog();
    arm_policies();
}

/// A policy's periodic work (the cycles keeper, the reclaim): at most one
/// tick armed, none while the policy is off, each tick re-arming the next.
struct Periodic {
    /// A tick is armed (heap only: re-armed after upgrades).
    armed: &'static std::thread::LocalKey<Cell<bool>>,
    /// The policy's tick interval; `None` while it is off.
    interval_ns: fn(&State) -> Option<u64>,
    /// One tick's work (skipped while the canister is stopping).
    run: fn(),
}

impl Periodic {
    /// Arms the next tick in `delay_ns`, if the policy is on and none is armed.
    fn arm(&'static self, delay_ns: u64) {
        if self.armed.get() || read(self.interval_ns).is_none() {
            return;
        }
        self.armed.set(true);
        ic_cdk_timers::set_timer(Duration::from_nanos(delay_ns), async move {
            self.armed.set(false);
            if !IcEnv.is_stopping() {
                (self.run)();
            }
            if let Some(interval_ns) = read(self.interval_ns) {
                self.arm(interval_ns);
            }
        });
    }
}

thread_local! {
    static KEEPER_ARMED: Cell<bool> = const { Cell::new(false) };
    static RECLAIM_ARMED: Cell<bool> = const { Cell::new(false) };
}

static KEEPER: Periodic = Periodic {
    armed: &KEEPER_ARMED,
    interval_ns: |s| s.config.get().keeper.map(|k| k.tick_interval_ns),
    run: || {
        let picked = write(|s| crate::cycles::keeper::tick(s, now()));
        for canister in picked {
            ic_cdk::futures::spawn(async move {
                crate::cycles::keeper::check(&ctx(), canister).await;
            });
        }
    },
};

static RECLAIM: Periodic = Periodic {
    armed: &RECLAIM_ARMED,
    interval_ns: |s| s.config.get().reclaim.map(|r| r.tick_interval_ns),
    run: || {
        use crate::cycles::reclaim::{self, flow};
        let plan = write(|s| reclaim::tick(s, now()));
        for canister in plan.reclaim {
            ic_cdk::futures::spawn(async move {
                let _ = flow::reclaim_one(&ctx(), canister).await;
            });
        }
        for canister in plan.delete {
            ic_cdk::futures::spawn(async move {
                let _ = flow::delete_one(&ctx(), canister).await;
            });
        }
    },
};

/// Arms the keeper's and the reclaim's next ticks (each if its policy is on).
fn arm_policies() {
    KEEPER.arm(0);
    RECLAIM.arm(0);
}

thread_local! {
    /// When the earliest armed tick is due (heap only: re-armed after upgrades).
    static NEXT_TICK_NS: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Arms a tick in `delay_ns` unless one is due sooner (or the armed one was
/// lost to a trap: see `rollout::arming`).
fn arm_tick(delay_ns: u64) {
    let due = match arming::decide(NEXT_TICK_NS.get(), now(), delay_ns) {
        arming::Arm::Keep => match NEXT_TICK_NS.get() {
            Some(due) => due,
            None => return,
        },
        arming::Arm::New { due } => {
            NEXT_TICK_NS.set(Some(due));
            ic_cdk_timers::set_timer(Duration::from_nanos(delay_ns), run_tick());
            due
        }
    };
    // A trapped `canister_global_timer` leaves the system timer off while
    // ic-cdk-timers believes it armed (and so never arms it again): keep the
    // system timer no later than the tick's due time. When it fires,
    // ic-cdk-timers runs what is due and re-arms itself.
    let previous = ic_cdk::api::global_timer_set(due);
    if previous != 0 && previous < due {
        ic_cdk::api::global_timer_set(previous);
    }
}

/// Every minute, makes sure a tick is armed: ticks re-arm themselves while
/// there is work, and this catches a chain broken by a trap.
fn start_watchdog() {
    ic_cdk_timers::set_timer_interval(
        Duration::from_nanos(arming::WATCHDOG_INTERVAL_NS),
        || async {
            if read(|s| rollout::tick::wants_tick(s, now())) {
                arm_tick(0)
            }
            // A fleet tick that trapped after an await armed no successor.
            if wants_fleet_tick() {
                arm_fleet_tick();
            }
        },
    );
}

async fn run_tick() {
    NEXT_TICK_NS.set(None);
    let (now, balance) = (now(), IcEnv.cycles_balance());
    let report = write(|s| rollout::tick::tick(s, now, balance));
    for job in report.jobs {
        ic_cdk::futures::spawn(async move {
            rollout::worker::worker(ctx(), job).await;
            // Runs in a callback: if the timer chain broke while this
            // worker ran, this is what mends it.
            arm_tick(0);
        });
    }
    if let Some(delay) = report.next_tick_ns {
        arm_tick(delay);
    }
    push_fleet_progress(now);
}

thread_local! {
    /// At a shard: what the last progress push told the index (heap: after
    /// an upgrade the next push repeats it, which changes nothing there).
    static LAST_PUSH: RefCell<Option<fleet::progress::Pushed>> = const { RefCell::new(None) };
}

/// At a shard, after each tick: tells the index, one-way, of what its
/// judgement needs (`fleet::progress`). A push the system refuses is left
/// to the index's polls.
fn push_fleet_progress(now: u64) {
    let report = LAST_PUSH.with_borrow(|last| {
        read(|s| {
            let id = fleet::progress::due(s, last.as_ref())?;
            let index = s.fleet.index()?;
            let p = fleet::progress::report(s, id, now)?;
            fleet::progress::should_push(last.as_ref(), &p).then_some((index, p))
        })
    });
    let Some((index, p)) = report else {
        return;
    };
    let sent = ic_cdk::call::Call::unbounded_wait(index, Method::ShardProgress.name())
        .with_arg(&p)
        .oneway();
    if sent.is_ok() {
        LAST_PUSH.set(Some(fleet::progress::Pushed::from(&p)));
    }
}

#[query]
fn version() -> BuildInfo {
    BuildInfo {
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("CANISTER_GIT_COMMIT").map(str::to_string),
    }
}

#[query]
fn http_request(req: HttpRequest) -> HttpResponse {
    read(|s| dashboard::http_request(s, &req, IcEnv.cycles_balance(), now()))
}

#[query]
fn list_releases(args: ListReleasesArgs) -> Result<Vec<Release>, FactoryError> {
    guard(Endpoint::ListReleases, None)?;
    let after = args
        .after
        .as_deref()
        .map(wasm_registry::parse_version)
        .transpose()?;
    Ok(read(|s| {
        s.registry
            .list_releases(after.as_ref(), args.limit as usize)
    }))
}

#[query]
fn get_release(version: String) -> Result<Release, FactoryError> {
    guard(Endpoint::GetRelease, None)?;
    let v = wasm_registry::parse_version(&version)?;
    read(|s| s.registry.release(&v)).ok_or(FactoryError::Registry(
        wasm_registry::RegistryError::UnknownVersion { version },
    ))
}

#[update]
async fn provision(args: ProvisionArgs) -> Result<Principal, FactoryError> {
    let caller = guard(Endpoint::Provision, None)?;
    if read(|s| s.fleet.role()) == FactoryRole::Index {
        return fleet::forward::provision(
            state(),
            &IcShards,
            IcEnv.self_id(),
            caller,
            args.recovery,
        )
        .await;
    }
    provision::provision(&ctx(), caller, args.recovery).await
}

/// Provisions the caller's canister, paid from their cycles-ledger approval.
#[update]
async fn provision_paid(args: PaidProvisionArgs) -> Result<Principal, FactoryError> {
    let caller = guard(Endpoint::ProvisionPaid, None)?;
    crate::cycles::paid::provision_paid(&ctx(), caller, args).await
}

/// What `provision_paid` charges (approve this plus the ledger fee).
#[query]
fn provision_price() -> Result<ProvisionPrice, FactoryError> {
    guard(Endpoint::ProvisionPrice, None)?;
    Ok(read(|s| {
        crate::cycles::paid::quote(s, IcEnv.create_canister_fee())
    }))
}

/// A shard: its index forwards an owner's `provision`.
#[update]
async fn shard_provision(args: ShardProvisionArgs) -> Result<Principal, FactoryError> {
    guard(Endpoint::ShardProvision, None)?;
    provision::provision(&ctx(), args.owner, args.recovery).await
}

fn is_index(role: FactoryRole) -> bool {
    role == FactoryRole::Index
}

#[query]
fn list_shards() -> Result<Vec<ShardView>, FactoryError> {
    guard(Endpoint::ListShards, None)?;
    require_role(Endpoint::ListShards, is_index)?;
    Ok(read(|s| s.fleet.shards()))
}

#[update]
fn add_shard(args: AddShardArgs) -> Result<ShardView, FactoryError> {
    let caller = guard(Endpoint::AddShard, None)?;
    require_role(Endpoint::AddShard, is_index)?;
    write(|s| fleet::store::add_shard(s, caller, args, now()))
}

#[update]
async fn create_shard(args: CreateShardArgs) -> Result<ShardView, FactoryError> {
    guard(Endpoint::CreateShard, None)?;
    require_role(Endpoint::CreateShard, is_index)?;
    let (index, balance) = (IcEnv.self_id(), IcEnv.cycles_balance());
    fleet::shard_install::create_shard(state(), &IcShardControl, index, balance, args, now()).await
}

#[update]
async fn upgrade_shards(
    module: serde_bytes::ByteBuf,
) -> Result<Vec<ShardUpgradeRow>, FactoryError> {
    guard(Endpoint::UpgradeShards, None)?;
    require_role(Endpoint::UpgradeShards, is_index)?;
    fleet::shard_install::upgrade_shards(state(), &IcShardControl, &module).await
}

#[update]
async fn push_release(version: String) -> Result<Vec<ShardReleaseRow>, FactoryError> {
    guard(Endpoint::PushRelease, None)?;
    require_role(Endpoint::PushRelease, is_index)?;
    fleet::push::push_release(state(), &IcShards, version).await
}

#[query]
fn my_canister() -> Result<UserView, FactoryError> {
    let caller = guard(Endpoint::MyCanister, None)?;
    read(|s| {
        s.users
            .get(&caller)
            .map(|r| r.view(s.epoch()))
            .ok_or(FactoryError::NoCanister)
    })
}

#[update]
async fn rotate_recovery(args: RotateRecoveryArgs) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::RotateRecovery, Some(args.canister_id))?;
    recovery::rotate_recovery(&ctx(), caller, args.canister_id, args.new_recovery).await
}

#[update]
async fn restore_snapshot(canister_id: Principal) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::RestoreSnapshot, Some(canister_id))?;
    recovery::restore_snapshot(&ctx(), caller, canister_id).await
}

#[update]
async fn reinstall_last_good(canister_id: Principal) -> Result<String, FactoryError> {
    let caller = guard(Endpoint::ReinstallLastGood, Some(canister_id))?;
    recovery::reinstall_last_good(&ctx(), caller, canister_id).await
}

#[update]
async fn detach(canister_id: Principal) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::Detach, Some(canister_id))?;
    recovery::detach(&ctx(), caller, canister_id).await
}

#[query]
fn get_user(owner: Principal) -> Result<UserView, FactoryError> {
    guard(Endpoint::GetUser, None)?;
    read(|s| {
        s.users
            .get(&owner)
            .map(|r| r.view(s.epoch()))
            .ok_or(FactoryError::NoCanister)
    })
}

#[query]
fn list_users(args: ListUsersArgs) -> Result<UserPage, FactoryError> {
    guard(Endpoint::ListUsers, None)?;
    Ok(read(|s| crate::types::list_users(s, &args)))
}

#[query]
fn get_config() -> Result<FactorySettings, FactoryError> {
    guard(Endpoint::GetConfig, None)?;
    Ok(read(|s| FactorySettings {
        config: s.config.get().clone(),
        approvals: s.registry.config(),
    }))
}

#[update]
fn set_config(config: FactoryConfig) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::SetConfig, None)?;
    write(|s| admin::set_config(s, caller, config, now()))?;
    arm_policies();
    Ok(())
}

#[update]
fn set_approval_policy(policy: RegistryConfig) -> Result<Vec<String>, FactoryError> {
    let caller = guard(Endpoint::SetApprovalPolicy, None)?;
    write(|s| admin::set_approval_policy(s, caller, policy, now()))
}

#[query]
fn list_admins() -> Result<Vec<Principal>, FactoryError> {
    guard(Endpoint::ListAdmins, None)?;
    Ok(read(|s| s.admins.keys().collect()))
}

#[update]
fn add_admin(admin: Principal) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::AddAdmin, None)?;
    write(|s| admin::add_admin(s, caller, admin, now()))
}

#[update]
fn remove_admin(admin: Principal) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::RemoveAdmin, None)?;
    write(|s| admin::remove_admin(s, caller, admin, now()))
}

#[update]
fn set_allowlist(principals: Vec<Principal>) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::SetAllowlist, None)?;
    write(|s| admin::set_allowlist(s, caller, principals, now()))
}

#[query]
fn audit_log(args: AuditQuery) -> Result<crate::audit::AuditPage, FactoryError> {
    guard(Endpoint::AuditLog, None)?;
    Ok(read(|s| s.audit_page(args.before, args.limit)))
}

#[update]
fn begin_release(args: BeginUpload) -> Result<UploadStatus, FactoryError> {
    let caller = guard(Endpoint::BeginRelease, None)?;
    releases::begin(&ctx(), caller, args)
}

#[update]
fn upload_release_chunk(args: UploadChunk) -> Result<wasm_registry::Sha256, FactoryError> {
    guard(Endpoint::UploadReleaseChunk, None)?;
    releases::upload_chunk(&ctx(), args)
}

#[update]
fn commit_release(version: String) -> Result<Release, FactoryError> {
    let caller = guard(Endpoint::CommitRelease, None)?;
    releases::commit(&ctx(), caller, version)
}

#[update]
fn abort_release(version: String) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::AbortRelease, None)?;
    releases::abort(&ctx(), caller, version)
}

#[update]
async fn approve_release(version: String) -> Result<ReleaseState, FactoryError> {
    let caller = guard(Endpoint::ApproveRelease, None)?;
    releases::approve(&ctx(), caller, version).await
}

#[update]
fn deprecate_release(args: ReleaseStateChange) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::DeprecateRelease, None)?;
    releases::deprecate(&ctx(), caller, args.version, args.reason)
}

#[update]
async fn revoke_release(args: ReleaseStateChange) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::RevokeRelease, None)?;
    releases::revoke(&ctx(), caller, args.version, args.reason).await
}

#[update]
fn start_rollout(plan: RolloutPlan) -> Result<u64, FactoryError> {
    let caller = guard(Endpoint::StartRollout, None)?;
    if read(|s| s.fleet.role()) == FactoryRole::Index {
        let id = write(|s| fleet::control::start(s, caller, plan, now()))?;
        arm_fleet_tick();
        return Ok(id);
    }
    let id = write(|s| rollout::control::start_rollout(s, caller, plan, now()))?;
    arm_tick(0);
    Ok(id)
}

#[update]
async fn pause_rollout() -> Result<(), FactoryError> {
    let caller = guard(Endpoint::PauseRollout, None)?;
    if read(|s| s.fleet.role()) == FactoryRole::Index {
        return fleet_command(caller, fleet::control::Command::Pause).await;
    }
    write(|s| rollout::control::pause(s, caller, now()))
}

#[update]
async fn resume_rollout() -> Result<(), FactoryError> {
    let caller = guard(Endpoint::ResumeRollout, None)?;
    if read(|s| s.fleet.role()) == FactoryRole::Index {
        fleet_command(caller, fleet::control::Command::Resume).await?;
        arm_fleet_tick();
        return Ok(());
    }
    write(|s| rollout::control::resume(s, caller, now()))?;
    arm_tick(0);
    Ok(())
}

#[update]
async fn cancel_rollout() -> Result<(), FactoryError> {
    let caller = guard(Endpoint::CancelRollout, None)?;
    if read(|s| s.fleet.role()) == FactoryRole::Index {
        return fleet_command(caller, fleet::control::Command::Cancel).await;
    }
    write(|s| rollout::control::cancel(s, caller, now()))
}

/// An index's pause/resume/cancel: recorded at once, then carried to every shard.
async fn fleet_command(
    caller: Principal,
    command: fleet::control::Command,
) -> Result<(), FactoryError> {
    use fleet::control::Command;
    write(|s| fleet::control::command(s, caller, command, now()))?;
    let method = match command {
        Command::Pause => factory_api::methods::Method::PauseRollout,
        Command::Resume => factory_api::methods::Method::ResumeRollout,
        Command::Cancel => factory_api::methods::Method::CancelRollout,
    };
    fleet::rollout_driver::broadcast(state(), &IcShards, method).await;
    Ok(())
}

#[query]
fn fleet_rollout_status() -> Result<Option<FleetRollout>, FactoryError> {
    guard(Endpoint::FleetRolloutStatus, None)?;
    require_role(Endpoint::FleetRolloutStatus, is_index)?;
    Ok(read(|s| s.fleet.rollout()))
}

/// A shard: its index starts its part of a fleet rollout, or lets it go on.
#[update]
fn shard_rollout(args: ShardRolloutArgs) -> Result<u64, FactoryError> {
    let caller = guard(Endpoint::ShardRollout, None)?;
    let id = write(|s| fleet::gate::shard_rollout(s, caller, args, now()))?;
    arm_tick(0);
    Ok(id)
}

/// An index: a shard's one-way report of its part of the fleet rollout.
#[update]
fn shard_progress(p: ShardProgress) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::ShardProgress, None)?;
    require_role(Endpoint::ShardProgress, is_index)?;
    match write(|s| fleet::rollout_driver::on_progress(s, caller, &p)) {
        fleet::rollout::Judgement::Halted => ic_cdk::futures::spawn(async {
            fleet::rollout_driver::broadcast(state(), &IcShards, Method::PauseRollout).await;
        }),
        fleet::rollout::Judgement::Advanced => arm_fleet_tick(),
        _ => {}
    }
    Ok(())
}

thread_local! {
    /// The index's fleet tick: armed, running (heap: re-armed after upgrades).
    static FLEET_TICK: Cell<fleet::tick_guard::TickGuard> = Cell::default();
}

/// Arms the index's fleet tick unless one is armed (see `fleet::tick_guard`).
fn arm_fleet_tick() {
    let mut guard = FLEET_TICK.get();
    if !guard.arm() {
        return;
    }
    FLEET_TICK.set(guard);
    let interval = read(|s| s.fleet.rollout())
        .and_then(|r| r.plan.tick_interval_ns)
        .unwrap_or(fleet::rollout::DEFAULT_TICK_NS);
    ic_cdk_timers::set_timer(Duration::from_nanos(interval), run_fleet_tick());
}

/// Releases the running claim when the tick ends, returned or trapped (ic-cdk
/// drops a trapped task in the call's cleanup).
struct FleetTickRunning;

impl Drop for FleetTickRunning {
    fn drop(&mut self) {
        let mut guard = FLEET_TICK.get();
        guard.end();
        FLEET_TICK.set(guard);
    }
}

async fn run_fleet_tick() {
    let mut guard = FLEET_TICK.get();
    let may_run = guard.begin(now());
    FLEET_TICK.set(guard);
    if !may_run {
        // The running tick re-arms when it returns; the watchdog if it traps.
        return;
    }
    let running = FleetTickRunning;
    let more = fleet::rollout_driver::tick(state(), &IcShards).await;
    drop(running);
    if more {
        arm_fleet_tick();
    }
}

/// An index with a fleet rollout running wants its fleet tick.
fn wants_fleet_tick() -> bool {
    read(|s| {
        s.fleet.role() == FactoryRole::Index
            && s.fleet
                .rollout()
                .is_some_and(|r| r.state == FleetRolloutState::Running)
    })
}

#[query]
fn rollout_status() -> Result<RolloutStatus, FactoryError> {
    guard(Endpoint::RolloutStatus, None)?;
    Ok(read(|s| rollout::status::rollout_status(s, now())))
}

#[query]
fn rollout_history(q: HistoryQuery) -> Result<HistoryPage, FactoryError> {
    guard(Endpoint::RolloutHistory, None)?;
    Ok(read(|s| rollout::status::history(s, &q)))
}

#[update]
fn request_upgrade(args: RequestUpgradeArgs) -> Result<UpgradeAccepted, FactoryError> {
    guard(Endpoint::RequestUpgrade, Some(args.canister_id))?;
    on_demand(args.canister_id, args.version)
}

/// The user canister's one-way request about itself (it must not await the
/// reply: it is about to be stopped and upgraded).
#[update]
fn request_upgrade_from_canister(version: Option<String>) -> Result<UpgradeAccepted, FactoryError> {
    let caller = guard(Endpoint::RequestUpgradeFromCanister, None)?;
    on_demand(caller, version)
}

fn on_demand(
    canister: Principal,
    version: Option<String>,
) -> Result<UpgradeAccepted, FactoryError> {
    let accepted = write(|s| rollout::on_demand::request_upgrade(s, canister, version, now()))?;
    arm_tick(0);
    Ok(accepted)
}

#[query]
fn upgrade_status(canister_id: Principal) -> Result<UpgradeStatus, FactoryError> {
    guard(Endpoint::UpgradeStatus, Some(canister_id))?;
    read(|s| rollout::status::upgrade_status(s, canister_id))
        .ok_or(FactoryError::UnknownCanister { canister_id })
}

#[query]
fn cycles_status(q: CyclesQuery) -> Result<CyclesStatus, FactoryError> {
    guard(Endpoint::CyclesStatus, None)?;
    Ok(read(|s| crate::cycles::keeper::status(s, &q)))
}

/// Cycles spent per day over the last `days` days (at most 90), by purpose.
#[query]
fn cycles_report(days: u32) -> Result<Vec<DaySpend>, FactoryError> {
    guard(Endpoint::CyclesReport, None)?;
    Ok(read(|s| s.keeper.spend_by_day(now(), u64::from(days))))
}

/// A user canister's one-way notice that it runs low on cycles: rate-limited,
/// and acted on only by reading its balance.
#[update]
async fn notify_low_cycles() -> Result<(), FactoryError> {
    let caller = guard(Endpoint::NotifyLowCycles, None)?;
    write(|s| crate::cycles::keeper::accept_notice(s, caller, now()))?;
    crate::cycles::keeper::check(&ctx(), caller).await;
    Ok(())
}

/// A user canister's one-way report that its owner was active (recorded at
/// the factory's time, at most hourly).
#[update]
fn report_activity() -> Result<(), FactoryError> {
    let caller = guard(Endpoint::ReportActivity, None)?;
    write(|s| crate::cycles::reclaim::report_activity(s, caller, now()))
}

/// Brings a reclaimed (dormant) canister back from its snapshot.
#[update]
async fn revive(canister_id: Principal) -> Result<(), FactoryError> {
    let caller = guard(Endpoint::Revive, Some(canister_id))?;
    crate::cycles::reclaim::flow::revive(&ctx(), caller, canister_id).await
}

/// The reclaim policy, its totals and one page of reclaimed canisters.
#[query]
fn reclaim_status(q: ReclaimQuery) -> Result<ReclaimStatus, FactoryError> {
    guard(Endpoint::ReclaimStatus, None)?;
    Ok(read(|s| crate::cycles::reclaim::status(s, &q)))
}
