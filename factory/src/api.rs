//! The canister's endpoints: decode, authorize (in `guard`, the one place),
//! call the flow, encode. No logic lives here.

use crate::admin;
use crate::auth::{authorize, CallerFacts, Endpoint, Subject};
use crate::config::FactoryConfig;
use crate::dashboard;
use crate::error::FactoryError;
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
    let facts = read(|s| CallerFacts {
        caller: Some(caller),
        is_admin: s.is_admin(&caller),
        is_controller: ic_cdk::api::is_controller(&caller),
        is_user_canister: s.owner_of_canister(&caller).is_some(),
        subject: about.and_then(|c| s.user_by_canister(&c)).map(|r| Subject {
            owner: r.owner,
            recovery: r.recovery,
        }),
    });
    authorize(endpoint, &facts)?;
    Ok(caller)
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
}

fn apply_init(s: &mut State, args: FactoryInitArgs) -> Result<(), FactoryError> {
    if args.admins.is_empty() || args.admins.contains(&Principal::anonymous()) {
        return Err(FactoryError::InvalidArgument(
            "at least one admin, and not the anonymous principal".into(),
        ));
    }
    let config = args.config.unwrap_or_default();
    config.validate()?;
    s.config.set(config);
    for admin in args.admins {
        s.admins.insert(admin, ());
    }
    let policy = args.approvals.unwrap_or_else(|| s.registry.config());
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
    start_watchdog();
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
    provision::provision(&ctx(), caller, args.recovery).await
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
    write(|s| admin::set_config(s, caller, config, now()))
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
    let id = write(|s| rollout::control::start_rollout(s, caller, plan, now()))?;
    arm_tick(0);
    Ok(id)
}

#[update]
fn pause_rollout() -> Result<(), FactoryError> {
    let caller = guard(Endpoint::PauseRollout, None)?;
    write(|s| rollout::control::pause(s, caller, now()))
}

#[update]
fn resume_rollout() -> Result<(), FactoryError> {
    let caller = guard(Endpoint::ResumeRollout, None)?;
    write(|s| rollout::control::resume(s, caller, now()))?;
    arm_tick(0);
    Ok(())
}

#[update]
fn cancel_rollout() -> Result<(), FactoryError> {
    let caller = guard(Endpoint::CancelRollout, None)?;
    write(|s| rollout::control::cancel(s, caller, now()))
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
