//! Issue 8: every endpoint of both canisters (read from their `.did`) called
//! by every role, against ONE table of expected outcomes. A `.did` method
//! without a row fails, and so does a row for a method the `.did` lacks.

use candid::{CandidType, Principal};
use factory_client::{
    AddShardArgs, AuditQuery, BeginUpload, CreateShardArgs, HistoryQuery, HttpRequest,
    ListReleasesArgs, ListUsersArgs, ProvisionArgs, ReleaseStateChange, RequestUpgradeArgs,
    RolloutPlan, RotateRecoveryArgs, ShardProgress, ShardProvisionArgs, ShardRolloutArgs,
    UploadChunk,
};
use ic_emulator::ErrorCode;
use scenarios::did::{factory_did, methods, user_canister_did};
use scenarios::outcome::{classify_factory, classify_user, Observed};
use scenarios::recovery_of;
use scenarios::roles::{Cast, Role};
use serde_bytes::ByteBuf;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Canister {
    Factory,
    User,
}
use Canister::{Factory as F, User as C};

/// The expected outcome of one cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Allowed: the endpoint ran (its reply may still be a typed error about
    /// the arguments or the state, never about the caller).
    Y,
    /// Factory `AnonymousCaller`.
    A,
    /// Factory `Unauthorized { endpoint }` naming this endpoint.
    U,
    /// User canister `NotOwner { caller }` naming the caller.
    N,
    /// User canister `Unauthorized { caller }` naming the caller.
    W,
    /// Dropped by the user canister's `inspect_message` before it ran.
    I,
}
use Expect::*;

type Args = fn(&Cast) -> Vec<u8>;

struct Row {
    canister: Canister,
    method: &'static str,
    args: Args,
    /// Run every cell in a fresh world (the allowed call is irreversible).
    fresh: bool,
    /// Anonymous, stranger, owner, other user, recovery, admin, user canister, controller.
    expect: [Expect; 8],
}

fn enc<T: CandidType>(v: T) -> Vec<u8> {
    candid::encode_one(v).expect("encodes")
}

fn no_args(_: &Cast) -> Vec<u8> {
    candid::encode_args(()).expect("encodes")
}

#[derive(CandidType)]
struct ListRequest {
    start_after: Option<String>,
    limit: u32,
}

fn row(canister: Canister, method: &'static str, args: Args, expect: [Expect; 8]) -> Row {
    Row {
        canister,
        method,
        args,
        fresh: false,
        expect,
    }
}

/// THE table. Arguments are chosen so an allowed call leaves the cast usable
/// (no-op changes, unknown versions), except `detach`, which runs fresh.
#[rustfmt::skip]
fn table() -> Vec<Row> {
    vec![
        //                                                                   anon str own oth rec adm ucn ctl
        row(F, "version", no_args, [Y, Y, Y, Y, Y, Y, Y, Y]),
        row(F, "http_request", |_| enc(HttpRequest { method: "GET".into(), url: "/metrics".into(), headers: vec![], body: ByteBuf::new() }), [Y, Y, Y, Y, Y, Y, Y, Y]),
        row(F, "list_releases", |_| enc(ListReleasesArgs { after: None, limit: 10 }), [Y, Y, Y, Y, Y, Y, Y, Y]),
        row(F, "get_release", |_| enc("1.0.0"), [Y, Y, Y, Y, Y, Y, Y, Y]),
        row(F, "provision", |_| enc(ProvisionArgs { recovery: recovery_of(50) }), [A, Y, Y, Y, Y, Y, Y, Y]),
        row(F, "my_canister", no_args, [A, Y, Y, Y, Y, Y, Y, Y]),
        row(F, "rotate_recovery", |c| enc(RotateRecoveryArgs { canister_id: c.canister, new_recovery: recovery_of(1) }), [A, U, Y, U, Y, U, U, U]),
        row(F, "restore_snapshot", |c| enc(c.canister), [A, U, U, U, Y, U, U, U]),
        row(F, "reinstall_last_good", |c| enc(c.canister), [A, U, U, U, Y, U, U, U]),
        Row { fresh: true, ..row(F, "detach", |c| enc(c.canister), [A, U, Y, U, Y, U, U, U]) },
        row(F, "get_user", |_| enc(scenarios::user(1)), [A, U, U, U, U, Y, U, U]),
        row(F, "list_users", |_| enc(ListUsersArgs { start_after: None, limit: 10 }), [A, U, U, U, U, Y, U, U]),
        row(F, "get_config", no_args, [A, U, U, U, U, Y, U, U]),
        row(F, "set_config", |c| enc(c.settings.config.clone()), [A, U, U, U, U, Y, U, U]),
        row(F, "set_approval_policy", |c| enc(c.settings.approvals), [A, U, U, U, U, Y, U, U]),
        row(F, "list_admins", no_args, [A, U, U, U, U, Y, U, Y]),
        row(F, "add_admin", |c| enc(c.world.admin), [A, U, U, U, U, Y, U, Y]),
        row(F, "remove_admin", |_| enc(scenarios::principal(424_242)), [A, U, U, U, U, Y, U, Y]),
        row(F, "set_allowlist", |_| enc(Vec::<Principal>::new()), [A, U, U, U, U, Y, U, U]),
        row(F, "audit_log", |_| enc(AuditQuery { before: None, limit: 10 }), [A, U, U, U, U, Y, U, U]),
        row(F, "begin_release", |_| enc(BeginUpload { version: "9.0.0".into(), sha256: factory_client::Sha256([0; 32]), size: 4, min_upgrade_from: None, notes: String::new(), app_arg: None }), [A, U, U, U, U, Y, U, U]),
        row(F, "upload_release_chunk", |_| enc(UploadChunk { version: "9.0.0".into(), index: 0, bytes: ByteBuf::from(vec![0; 4]), sha256: None }), [A, U, U, U, U, Y, U, U]),
        row(F, "commit_release", |_| enc("9.0.0"), [A, U, U, U, U, Y, U, U]),
        row(F, "abort_release", |_| enc("9.0.0"), [A, U, U, U, U, Y, U, U]),
        row(F, "approve_release", |_| enc("1.0.0"), [A, U, U, U, U, Y, U, U]),
        row(F, "deprecate_release", |_| enc(ReleaseStateChange { version: "0.0.1".into(), reason: "test".into() }), [A, U, U, U, U, Y, U, U]),
        row(F, "revoke_release", |_| enc(ReleaseStateChange { version: "0.0.1".into(), reason: "test".into() }), [A, U, U, U, U, Y, U, U]),
        row(F, "start_rollout", |_| enc(plan_to("8.8.8")), [A, U, U, U, U, Y, U, U]),
        row(F, "pause_rollout", no_args, [A, U, U, U, U, Y, U, U]),
        row(F, "resume_rollout", no_args, [A, U, U, U, U, Y, U, U]),
        row(F, "cancel_rollout", no_args, [A, U, U, U, U, Y, U, U]),
        row(F, "rollout_status", no_args, [A, U, U, U, U, Y, U, U]),
        row(F, "rollout_history", |_| enc(HistoryQuery { before: None, limit: 10 }), [A, U, U, U, U, Y, U, U]),
        row(F, "request_upgrade", |c| enc(RequestUpgradeArgs { canister_id: c.canister, version: Some("1.0.0".into()) }), [A, U, Y, U, Y, U, U, U]),
        row(F, "request_upgrade_from_canister", |_| enc(Some("1.0.0".to_string())), [A, U, U, U, U, U, Y, U]),
        row(F, "upgrade_status", |c| enc(c.canister), [A, U, Y, U, Y, Y, U, U]),
        row(F, "cycles_status", |_| enc(factory_client::CyclesQuery { after: None, limit: 10, at_risk_only: false }), [A, U, U, U, U, Y, U, U]),
        row(F, "cycles_report", |_| enc(7u32), [A, U, U, U, U, Y, U, U]),
        row(F, "notify_low_cycles", no_args, [A, U, U, U, U, U, Y, U]),
        row(F, "report_activity", no_args, [A, U, U, U, U, U, Y, U]),
        // Not reclaimed: the allowed callers get `NotReclaimed`.
        row(F, "revive", |c| enc(c.canister), [A, U, Y, U, Y, U, U, U]),
        row(F, "reclaim_status", |_| enc(factory_client::ReclaimQuery { after: None, limit: 10 }), [A, U, U, U, U, Y, U, U]),
        row(F, "provision_price", no_args, [Y, Y, Y, Y, Y, Y, Y, Y]),
        // Open mode: allowed for everyone authenticated; the ledger is absent here, so it fails after the caller check.
        row(F, "provision_paid", |_| enc(factory_client::PaidProvisionArgs { recovery: recovery_of(51), created_at_time: 1, from_subaccount: None }), [A, Y, Y, Y, Y, Y, Y, Y]),
        // The fleet's endpoints: a standalone factory lets admins call the
        // index's (they answer `WrongRole`) and nobody forward as an index.
        row(F, "list_shards", no_args, [A, U, U, U, U, Y, U, U]),
        row(F, "add_shard", |_| enc(AddShardArgs { canister_id: scenarios::principal(77), capacity: None }), [A, U, U, U, U, Y, U, U]),
        row(F, "push_release", |_| enc("1.0.0"), [A, U, U, U, U, Y, U, U]),
        row(F, "create_shard", |_| enc(CreateShardArgs { module: ByteBuf::from(vec![0; 4]), capacity: None, cycles: None, subnet: None }), [A, U, U, U, U, Y, U, U]),
        row(F, "upgrade_shards", |_| enc(ByteBuf::from(vec![0; 4])), [A, U, U, U, U, Y, U, U]),
        row(F, "fleet_rollout_status", no_args, [A, U, U, U, U, Y, U, U]),
        row(F, "shard_rollout", |_| enc(ShardRolloutArgs { plan: None, rollout_id: Some(1), allowed_stage: 0 }), [A, U, U, U, U, U, U, U]),
        row(F, "shard_provision", |_| enc(ShardProvisionArgs { owner: scenarios::user(60), recovery: recovery_of(60) }), [A, U, U, U, U, U, U, U]),
        // Only an index's registered shards; a standalone factory has none.
        row(F, "shard_progress", |_| enc(progress_report()), [A, U, U, U, U, U, U, U]),
        // The owner's canister. Its controllers are the factory and the recovery principal.
        row(C, "version", no_args, [Y, Y, Y, Y, Y, Y, Y, Y]),
        row(C, "health", no_args, [W, W, Y, W, Y, W, W, W]),
        row(C, "get", |_| enc("note"), [N, N, Y, N, N, N, N, N]),
        row(C, "list", |_| enc(ListRequest { start_after: None, limit: 10 }), [N, N, Y, N, N, N, N, N]),
        row(C, "put", |_| candid::encode_args(("note", ByteBuf::from(b"v".to_vec()))).expect("encodes"), [I, I, Y, I, I, I, I, I]),
        row(C, "delete", |_| enc("missing"), [I, I, Y, I, I, I, I, I]),
        row(C, "request_upgrade", |_| enc(Some("1.0.0".to_string())), [I, I, Y, I, I, I, I, I]),
    ]
}

fn plan_to(version: &str) -> RolloutPlan {
    RolloutPlan {
        target_version: version.into(),
        stages: vec![],
        max_in_flight: 10,
        max_starts_per_tick: None,
        tick_interval_ns: Some(0),
        retry: None,
        filter: None,
        snapshot: None,
        top_up: None,
        allow_downgrade: None,
        supersede: None,
        admission: None,
    }
}

/// Is `observed` what the cell expects, fields included?
fn matches(expect: Expect, observed: &Observed, method: &str, caller: Principal) -> bool {
    match (expect, observed) {
        (Y, Observed::Allowed) | (A, Observed::AnonymousCaller) => true,
        (U, Observed::Unauthorized { endpoint }) => endpoint == method,
        (N, Observed::NotOwner { caller: c }) | (W, Observed::UserUnauthorized { caller: c }) => {
            *c == caller
        }
        (I, Observed::Rejected { code, message }) => {
            *code == ErrorCode::CanisterRejectedMessage && message.contains("rejected the message")
        }
        _ => false,
    }
}

fn call(cast: &Cast, row: &Row, role: Role, query: bool) -> Observed {
    let w = &cast.world;
    let target = match row.canister {
        F => w.factory,
        C => cast.canister,
    };
    let sender = cast.principal(role);
    let bytes = (row.args)(cast);
    let result = if query {
        w.emu.query_call(target, sender, row.method, bytes)
    } else {
        w.emu.update_call(target, sender, row.method, bytes)
    };
    let observed = match row.canister {
        F => classify_factory(&result),
        C => classify_user(&result),
    };
    if !query && observed == Observed::Allowed {
        // Let whatever an allowed update queued settle before the next cell.
        w.emu.tick_n(3);
    }
    observed
}

#[test]
fn every_endpoint_for_every_role_matches_the_table() {
    let table = table();
    let mut declared = BTreeSet::new();
    let mut kinds = std::collections::BTreeMap::new();
    for (canister, path) in [(F, factory_did()), (C, user_canister_did())] {
        for m in methods(&path) {
            declared.insert((canister, m.name.clone()));
            kinds.insert((canister, m.name), m.query);
        }
    }
    let rows: BTreeSet<_> = table
        .iter()
        .map(|r| (r.canister, r.method.to_string()))
        .collect();
    assert_eq!(rows.len(), table.len(), "a method has two rows");
    let missing: Vec<_> = declared.difference(&rows).collect();
    let unknown: Vec<_> = rows.difference(&declared).collect();
    assert!(missing.is_empty(), "endpoints without a row: {missing:?}");
    assert!(
        unknown.is_empty(),
        "rows for endpoints the .did lacks: {unknown:?}"
    );

    let shared = Cast::new();
    let mut wrong = Vec::new();
    let mut cells = 0;
    for row in &table {
        let query = kinds[&(row.canister, row.method.to_string())];
        for (role, expect) in Role::ALL.into_iter().zip(row.expect) {
            let fresh;
            // Only an allowed call can change anything.
            let cast = if row.fresh && expect == Y {
                fresh = Cast::new();
                &fresh
            } else {
                &shared
            };
            let observed = call(cast, row, role, query);
            cells += 1;
            if !matches(expect, &observed, row.method, cast.principal(role)) {
                wrong.push(format!(
                    "{:?}.{} as {role:?}: expected {expect:?}, got {observed:?}",
                    row.canister, row.method
                ));
            }
        }
    }
    println!(
        "access: {} endpoints × {} roles = {cells} cells checked",
        table.len(),
        Role::ALL.len()
    );
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The callers of a shard: the roles above, plus its index.
#[derive(Clone, Copy, Debug)]
enum ShardCaller {
    Anonymous,
    Stranger,
    Owner,
    Recovery,
    Admin,
    UserCanister,
    Controller,
    Index,
}

/// A shard's own table: its new work (owners, releases) comes from its
/// index only, rollout commands from its index or admins, and its users are
/// served as by a standalone factory.
#[rustfmt::skip]
#[test]
fn fleet_shard_endpoints_for_every_caller_match_the_table() {
    use ShardCaller::*;
    let w = scenarios::shards::ShardedWorld::new(1);
    w.publish("1.0.0");
    let shard = w.shards[0];
    let canister = w.provision(1);
    let callers = [Anonymous, Stranger, Owner, Recovery, Admin, UserCanister, Controller, Index];
    let principal_of = |c: ShardCaller| match c {
        Anonymous => Principal::anonymous(),
        Stranger => scenarios::principal(999_999),
        Owner => scenarios::user(1),
        Recovery => recovery_of(1),
        Admin => w.admin,
        UserCanister => canister,
        Controller => w.operator,
        Index => w.index,
    };
    let begin = || enc(BeginUpload { version: "9.0.0".into(), sha256: factory_client::Sha256([0; 32]), size: 4, min_upgrade_from: None, notes: String::new(), app_arg: None });
    let change = || enc(ReleaseStateChange { version: "0.0.1".into(), reason: "test".into() });
    // (method, args, is query, expected per caller in the order above)
    let rows: Vec<(&str, Vec<u8>, bool, [Expect; 8])> = vec![
        //                                                                                                       anon str own rec adm ucn ctl idx
        ("provision", enc(ProvisionArgs { recovery: recovery_of(50) }), false,                                   [A, U, U, U, U, U, U, U]),
        ("shard_provision", enc(ShardProvisionArgs { owner: scenarios::user(61), recovery: recovery_of(61) }), false, [A, U, U, U, U, U, U, Y]),
        ("begin_release", begin(), false,                                                                        [A, U, U, U, U, U, U, Y]),
        ("upload_release_chunk", enc(UploadChunk { version: "9.0.0".into(), index: 0, bytes: ByteBuf::from(vec![0; 4]), sha256: None }), false, [A, U, U, U, U, U, U, Y]),
        ("commit_release", enc("9.0.0"), false,                                                                  [A, U, U, U, U, U, U, Y]),
        ("abort_release", enc("9.0.0"), false,                                                                   [A, U, U, U, U, U, U, Y]),
        ("approve_release", enc("1.0.0"), false,                                                                 [A, U, U, U, U, U, U, Y]),
        ("deprecate_release", change(), false,                                                                   [A, U, U, U, U, U, U, Y]),
        ("revoke_release", change(), false,                                                                      [A, U, U, U, U, U, U, Y]),
        ("set_approval_policy", enc(factory_client::RegistryConfig { approvals_required: 1, uploader_counts: true }), false, [A, U, U, U, U, U, U, Y]),
        ("start_rollout", enc(plan_to("8.8.8")), false,                                                          [A, U, U, U, Y, U, U, Y]),
        ("pause_rollout", no_args_bytes(), false,                                                                [A, U, U, U, Y, U, U, Y]),
        ("rollout_status", no_args_bytes(), true,                                                                [A, U, U, U, Y, U, U, Y]),
        ("my_canister", no_args_bytes(), true,                                                                   [A, Y, Y, Y, Y, Y, Y, Y]),
        ("request_upgrade", enc(RequestUpgradeArgs { canister_id: canister, version: Some("1.0.0".into()) }), false, [A, U, Y, Y, U, U, U, U]),
        ("request_upgrade_from_canister", enc(Some("1.0.0".to_string())), false,                                  [A, U, U, U, U, Y, U, U]),
        ("shard_rollout", enc(ShardRolloutArgs { plan: None, rollout_id: Some(99), allowed_stage: 0 }), false, [A, U, U, U, U, U, U, Y]),
        ("list_shards", no_args_bytes(), true,                                                                   [A, U, U, U, Y, U, U, U]),
        // A shard has no shards: nobody reports progress to it, its index neither.
        ("shard_progress", enc(progress_report()), false,                                                        [A, U, U, U, U, U, U, U]),
    ];
    let mut wrong = Vec::new();
    for (method, args, query, expect) in &rows {
        for (caller, expect) in callers.into_iter().zip(expect) {
            let sender = principal_of(caller);
            let result = if *query {
                w.emu.query_call(shard, sender, method, args.clone())
            } else {
                w.emu.update_call(shard, sender, method, args.clone())
            };
            let observed = classify_factory(&result);
            if !query && observed == Observed::Allowed {
                w.emu.tick_n(3);
            }
            if !matches(*expect, &observed, method, sender) {
                wrong.push(format!("shard.{method} as {caller:?}: expected {expect:?}, got {observed:?}"));
            }
        }
    }
    println!("fleet shard access: {} endpoints × {} callers", rows.len(), callers.len());
    assert!(wrong.is_empty(), "{} cells differ:\n{}", wrong.len(), wrong.join("\n"));
}

fn progress_report() -> ShardProgress {
    ShardProgress {
        rollout_id: 1,
        stages: vec![],
        current_stage: 0,
        stage_complete: true,
        ended: None,
        halted: None,
    }
}

fn no_args_bytes() -> Vec<u8> {
    candid::encode_args(()).expect("encodes")
}
