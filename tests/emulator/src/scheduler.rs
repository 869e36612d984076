//! Rounds: deliver what is queued, run timers and heartbeats, commit or roll
//! back each message, answer starved call contexts and complete stops.

use crate::cycles;
use crate::engine::exec::{execute, Entry, ExecError, HeapState};
use crate::error::{CallResult, RejectResponse};
use crate::ids::MANAGEMENT;
use crate::limits;
use crate::management::MgmtCall;
use crate::state::calls::{CallContext, Callback, Input, Origin, ReplyTo};
use crate::state::canister::{Canister, Status};
use crate::state::StateMachine;
use crate::system_api::{ApiContext, ApiKind, Response};
use candid::Principal;
use ic_error_types::ErrorCode;

/// What a callback or cleanup sees of the response it handles.
#[derive(Clone, Debug, Default)]
pub struct ResponseInfo {
    pub reject_code: u32,
    pub reject_message: String,
    pub refunded: u128,
}

pub fn injected_trap() -> ExecError {
    ExecError {
        code: ErrorCode::CanisterTrapped,
        message: "Canister trapped: injected fault (emulator fault injection)".into(),
    }
}

impl StateMachine {
    /// One round.
    pub fn tick(&mut self) {
        self.round += 1;
        self.time += self.time_step_nanos;
        self.expire_deadlines();
        self.subnet_round_start();
        self.run_system_tasks();
        let n = self.inbox.len();
        for _ in 0..n {
            let Some(input) = self.inbox.pop_front() else {
                break;
            };
            if input.held_back_at(self.round) {
                // A delayed response or a request still crossing subnets.
                self.inbox.push_back(input);
                continue;
            }
            if let Some(executes) = input.executes_on() {
                if !self.canister_may_execute(executes) {
                    // The round's execution budget is spent: it waits for the next.
                    self.note_canister_deferred(executes);
                    self.inbox.push_back(input);
                    continue;
                }
            }
            match input {
                Input::Ingress {
                    id,
                    sender,
                    receiver,
                    method,
                    arg,
                } => {
                    if crate::doubles::is_double(self, &receiver) {
                        self.deliver_to_double(
                            receiver,
                            sender,
                            false,
                            method,
                            arg,
                            0,
                            ReplyTo::Ingress(id),
                        );
                    } else if receiver == MANAGEMENT {
                        self.handle_management(MgmtCall {
                            sender,
                            from_canister: false,
                            driver: false,
                            method,
                            arg,
                            cycles: 0,
                            reply_to: ReplyTo::Ingress(id),
                            sender_version: None,
                            subnet: None,
                        });
                    } else {
                        self.deliver_call(
                            receiver,
                            Origin::Ingress { id, sender },
                            method,
                            arg,
                            0,
                            0,
                        );
                    }
                }
                Input::Request {
                    sender,
                    receiver,
                    method,
                    arg,
                    cycles,
                    callback_id,
                    deadline,
                    sender_version,
                    ..
                } => {
                    if deadline.is_some_and(|d| d <= self.time) {
                        continue; // expired in the queue: the caller gets SYS_UNKNOWN instead
                    }
                    if crate::doubles::is_double(self, &receiver) {
                        let reply_to = ReplyTo::Canister {
                            caller: sender,
                            callback_id,
                        };
                        self.deliver_to_double(
                            receiver, sender, true, method, arg, cycles, reply_to,
                        );
                    } else if receiver == MANAGEMENT {
                        let reply_to = ReplyTo::Canister {
                            caller: sender,
                            callback_id,
                        };
                        self.handle_management(MgmtCall {
                            sender,
                            from_canister: true,
                            driver: false,
                            method,
                            arg,
                            cycles,
                            reply_to,
                            sender_version,
                            subnet: None,
                        });
                    } else {
                        let origin = Origin::Canister {
                            caller: sender,
                            callback_id,
                        };
                        self.deliver_call(
                            receiver,
                            origin,
                            method,
                            arg,
                            cycles,
                            deadline.unwrap_or(0),
                        );
                    }
                }
                Input::Response {
                    originator,
                    respondent,
                    callback_id,
                    result,
                    refund,
                    expiry,
                    ..
                } => {
                    self.deliver_response(
                        originator,
                        respondent,
                        callback_id,
                        result,
                        refund,
                        expiry,
                    );
                }
            }
        }
        self.complete_stops();
        self.subnet_round_end();
    }

    /// Bounded-wait calls past their deadline get SYS_UNKNOWN (digest §3).
    fn expire_deadlines(&mut self) {
        let now = self.time;
        let mut expired = Vec::new();
        for c in self.canisters.values_mut() {
            for (id, cb) in c.callbacks.iter_mut() {
                if !cb.expired && cb.deadline.is_some_and(|d| d <= now) {
                    cb.expired = true;
                    expired.push(Input::Response {
                        originator: c.id,
                        respondent: cb.callee,
                        callback_id: *id,
                        result: Err(RejectResponse::new(
                            ErrorCode::DeadlineExpired,
                            "Request timed out.",
                        )),
                        refund: 0,
                        not_before_round: 0,
                        expiry: true,
                    });
                }
            }
        }
        self.inbox.extend(expired);
    }

    fn run_system_tasks(&mut self) {
        let ready: Vec<Principal> = self
            .canisters
            .values()
            .filter(|c| self.running(c.id).is_ok() && !c.is_frozen())
            .map(|c| c.id)
            .filter(|id| self.canister_may_execute(*id))
            .collect();
        for id in ready {
            let c = &self.canisters[&id];
            let exports = &c.heap.as_ref().expect("filtered").module.exports;
            let heartbeat = exports.has("canister_heartbeat");
            let timer = exports.has("canister_global_timer")
                && c.global_timer != 0
                && c.global_timer <= self.time;
            if heartbeat {
                self.run_system_task(id, "canister_heartbeat");
            }
            if timer {
                // The timer is deactivated before it runs, and stays so even if it traps.
                self.canisters.get_mut(&id).expect("exists").global_timer = 0;
                self.run_system_task(id, "canister_global_timer");
            }
        }
    }

    fn run_system_task(&mut self, id: Principal, export: &str) {
        let ctx_id = self.open_context(id, Origin::System, export, 0, 0);
        let err = self.execute_message(
            id,
            ctx_id,
            ApiKind::SystemTask,
            Entry::Export(export.into()),
            Vec::new(),
            ResponseInfo::default(),
        );
        self.finish_context(id, ctx_id, err.err());
    }

    pub fn open_context(
        &mut self,
        id: Principal,
        origin: Origin,
        method: &str,
        cycles: u128,
        deadline: u64,
    ) -> u64 {
        let c = self
            .canisters
            .get_mut(&id)
            .expect("caller checked the canister exists");
        let ctx_id = c.next_context_id;
        c.next_context_id += 1;
        c.call_contexts.insert(
            ctx_id,
            CallContext {
                origin,
                method: method.to_string(),
                responded: false,
                available_cycles: cycles,
                outstanding: 0,
                deleted: false,
                deadline,
                instructions: 0,
            },
        );
        ctx_id
    }

    /// The canister and its module, if it takes messages: the status check
    /// every call and query starts with (the replica refuses a stopping or
    /// stopped canister, and one without a module, the same way for both).
    fn running(&self, receiver: Principal) -> Result<(&Canister, &HeapState), RejectResponse> {
        let c = self.canister(&receiver)?;
        let refused = |code, state: &str| {
            RejectResponse::new(code, format!("Canister {receiver} is {state}"))
        };
        match c.status {
            Status::Running => {}
            Status::Stopping => return Err(refused(ErrorCode::CanisterStopping, "stopping")),
            Status::Stopped => return Err(refused(ErrorCode::CanisterStopped, "stopped")),
        }
        let heap = c.heap.as_ref().ok_or_else(|| {
            RejectResponse::from_canister(
                receiver,
                ErrorCode::CanisterWasmModuleNotFound,
                "Attempted to execute a message, but the canister contains no Wasm module.",
            )
        })?;
        Ok((c, heap))
    }

    /// Why a call to `receiver` cannot start, if it cannot.
    fn call_refusal(&self, receiver: Principal, method: &str) -> Result<ApiKind, RejectResponse> {
        let (c, heap) = self.running(receiver)?;
        if c.is_frozen() {
            return Err(RejectResponse::new(
                ErrorCode::CanisterOutOfCycles,
                format!("Canister {receiver} is out of cycles: it holds {} cycles and its freezing limit is {}", c.cycles, c.freezing_limit()),
            ));
        }
        let exports = &heap.module.exports;
        if exports.updates.contains(method) {
            Ok(ApiKind::Update)
        } else if exports.queries.contains(method) {
            Ok(ApiKind::ReplicatedQuery)
        } else if exports.composite_queries.contains(method) {
            Err(RejectResponse::from_canister(
                receiver,
                ErrorCode::CompositeQueryCalledInReplicatedMode,
                "Composite query cannot be called in replicated mode",
            ))
        } else {
            Err(RejectResponse::from_canister(
                receiver,
                ErrorCode::CanisterMethodNotFound,
                format!("Canister has no update method '{method}'."),
            ))
        }
    }

    /// An update call (from a user or a canister) arriving at a canister.
    fn deliver_call(
        &mut self,
        receiver: Principal,
        origin: Origin,
        method: String,
        arg: Vec<u8>,
        cycles: u128,
        deadline: u64,
    ) {
        let caller = match &origin {
            Origin::Canister { caller, .. } => Some(*caller),
            _ => None,
        };
        let kind = match self.call_refusal(receiver, &method).and_then(|kind| {
            self.canisters[&receiver].refuses_incoming_cycles(caller, cycles)?;
            Ok(kind)
        }) {
            Ok(kind) => kind,
            Err(reject) => {
                return self.send_response(origin.reply_to(), receiver, Err(reject), cycles)
            }
        };
        let export = match kind {
            ApiKind::Update => format!("canister_update {method}"),
            _ => format!("canister_query {method}"),
        };
        let ctx_id = self.open_context(receiver, origin, &method, cycles, deadline);
        let err = self.execute_message(
            receiver,
            ctx_id,
            kind,
            Entry::Export(export),
            arg,
            ResponseInfo::default(),
        );
        self.finish_context(receiver, ctx_id, err.err());
    }

    fn deliver_response(
        &mut self,
        originator: Principal,
        respondent: Principal,
        callback_id: u64,
        result: CallResult,
        refund: u128,
        expiry: bool,
    ) {
        let Some(c) = self.canisters.get_mut(&originator) else {
            return;
        };
        match c.callbacks.get(&callback_id) {
            None => return,                              // already resolved
            Some(cb) if cb.expired && !expiry => return, // late response after SYS_UNKNOWN: dropped
            Some(_) => {}
        }
        let cb = c.callbacks.remove(&callback_id).expect("checked");
        c.cycles = c.cycles.saturating_add(refund);
        debug_assert_eq!(cb.callee, respondent);
        self.call_resolved(originator, cb.callee);
        let c = self.canisters.get_mut(&originator).expect("exists");
        let ctx_id = cb.context_id;
        let Some(cc) = c.call_contexts.get(&ctx_id) else {
            return;
        };
        if cc.deleted || c.heap.is_none() {
            // uninstalled meanwhile: the callback never runs
            c.call_contexts
                .get_mut(&ctx_id)
                .expect("exists")
                .outstanding -= 1;
            return self.finish_context(originator, ctx_id, None);
        }
        let (kind, closure, arg, info) = match result {
            Ok(bytes) => (
                ApiKind::ReplyCallback,
                cb.reply,
                bytes,
                ResponseInfo {
                    refunded: refund,
                    ..Default::default()
                },
            ),
            Err(r) => (
                ApiKind::RejectCallback,
                cb.reject,
                Vec::new(),
                ResponseInfo {
                    reject_code: r.reject_code as u32,
                    reject_message: r.reject_message,
                    refunded: refund,
                },
            ),
        };
        let err = self
            .execute_message(
                originator,
                ctx_id,
                kind,
                Entry::Callback(closure),
                arg,
                info.clone(),
            )
            .err();
        if let (Some(_), Some(cleanup)) = (&err, cb.cleanup) {
            // Cleanup runs on the pre-callback state; if it traps too, it is discarded as well.
            let _ = self.execute_message(
                originator,
                ctx_id,
                ApiKind::Cleanup,
                Entry::Callback(cleanup),
                Vec::new(),
                info,
            );
        }
        if let Some(cc) = self
            .canisters
            .get_mut(&originator)
            .and_then(|c| c.call_contexts.get_mut(&ctx_id))
        {
            cc.outstanding -= 1;
        }
        self.finish_context(originator, ctx_id, err);
    }

    /// Closes a call context that has nothing outstanding; a context that never
    /// responded gets CANISTER_ERROR (the trap, or "did not reply").
    pub fn finish_context(&mut self, id: Principal, ctx_id: u64, err: Option<ExecError>) {
        let Some(c) = self.canisters.get_mut(&id) else {
            return;
        };
        let Some(cc) = c.call_contexts.get(&ctx_id) else {
            return;
        };
        if cc.outstanding > 0 || cc.origin == Origin::Phantom {
            return;
        }
        let cc = c.call_contexts.remove(&ctx_id).expect("checked");
        if cc.origin.needs_response() && !cc.responded && !cc.deleted {
            let reject = match err {
                Some(e) => RejectResponse::from_canister(id, e.code, e.message),
                None => RejectResponse::from_canister(
                    id,
                    ErrorCode::CanisterDidNotReply,
                    format!("Canister {id} did not produce a response"),
                ),
            };
            self.send_response(cc.origin.reply_to(), id, Err(reject), cc.available_cycles);
        }
    }

    /// The System API context for a message of `kind` in call context `cc`.
    pub fn api_context(
        &self,
        id: Principal,
        kind: ApiKind,
        cc: Option<&CallContext>,
        arg: Vec<u8>,
        info: ResponseInfo,
    ) -> ApiContext {
        let c = &self.canisters[&id];
        let mut ctx = ApiContext::new(
            kind,
            id,
            cc.map_or(MANAGEMENT, |cc| cc.origin.caller()),
            self.time,
        );
        if let Some(cc) = cc {
            ctx.method_name = cc.method.clone();
            ctx.can_respond = cc.origin.needs_response()
                && !cc.responded
                && !cc.deleted
                && !matches!(kind, ApiKind::Cleanup | ApiKind::SystemTask);
            ctx.cycles_available = cc.available_cycles;
            ctx.deadline = cc.deadline;
            ctx.context_instructions = cc.instructions;
        }
        ctx.arg = arg;
        ctx.reject_code = info.reject_code;
        ctx.reject_message = info.reject_message;
        ctx.cycles_refunded = info.refunded;
        ctx.balance = c.cycles;
        ctx.freezing_limit = c.freezing_limit();
        ctx.outstanding = c.outstanding.clone();
        ctx.stable = c.stable.clone();
        ctx.stable_pages = c.stable_pages;
        ctx.certified_data = c.certified_data.clone();
        ctx.global_timer = c.global_timer;
        ctx.canister_version = c.version;
        ctx.status = c.status.code();
        ctx.controllers = c.settings.controllers.clone();
        ctx.env_vars = c.env_vars();
        ctx.wasm_memory_limit = c.wasm_memory_limit();
        ctx.root_key = self.root_key.clone();
        ctx.subnet_id = self.subnets[self.subnet_index(&id)].id;
        let limits = self.instruction_limits;
        ctx.instruction_limit = match kind {
            ApiKind::ReplicatedQuery | ApiKind::NonReplicatedQuery | ApiKind::CompositeQuery => {
                limits.query
            }
            ApiKind::InspectMessage => limits.inspect,
            ApiKind::Init | ApiKind::PreUpgrade | ApiKind::Start => limits.install,
            _ => limits.update,
        };
        ctx
    }

    /// Executes one message in call context `ctx_id` and commits its effects if
    /// it returns normally; on a trap, only the execution fee is kept.
    pub fn execute_message(
        &mut self,
        id: Principal,
        ctx_id: u64,
        kind: ApiKind,
        entry: Entry,
        arg: Vec<u8>,
        info: ResponseInfo,
    ) -> Result<(), ExecError> {
        let c = &self.canisters[&id];
        let cc = c.call_contexts.get(&ctx_id).cloned();
        let heap = c.heap.clone().expect("callers check the canister has code");
        let ctx = self.api_context(id, kind, cc.as_ref(), arg, info);
        let limit = ctx.instruction_limit;
        let c = self.canisters.get_mut(&id).expect("exists");
        let (result, ctx, new_heap, instructions) =
            if std::mem::take(&mut c.faults.trap_next_message) {
                (Err(injected_trap()), ctx, None, 0)
            } else {
                let exe = execute(&heap, &[(kind, entry)], ctx, limit);
                (exe.result, exe.ctx, exe.heap, exe.instructions)
            };
        let mut ctx = ctx;
        let lines = std::mem::take(&mut ctx.debug_log);
        self.log_lines(id, lines);
        if kind.replicated() {
            self.charge_canister_execution(id, instructions);
        }
        let c = self.canisters.get_mut(&id).expect("exists");
        c.stats_record(instructions);
        if let Some(cc) = c.call_contexts.get_mut(&ctx_id) {
            cc.instructions += instructions;
        }
        let fee = if kind.replicated() {
            cycles::execution_fee(instructions)
        } else {
            0
        };
        if let Err(e) = result {
            c.cycles = c.cycles.saturating_sub(fee);
            return Err(e);
        }
        let is_query = matches!(
            kind,
            ApiKind::ReplicatedQuery | ApiKind::NonReplicatedQuery | ApiKind::CompositeQuery
        );
        if !is_query {
            if let Some(pending) = ctx.pending_call.take() {
                ctx.balance = ctx.balance.saturating_add(pending.cycles); // never performed: the cycles come back
            }
            c.heap = new_heap;
            c.stable = ctx.stable;
            c.stable_pages = ctx.stable_pages;
            c.certified_data = ctx.certified_data;
            c.global_timer = ctx.global_timer;
            c.cycles = ctx.balance;
        }
        c.cycles = c.cycles.saturating_sub(fee);
        if kind.replicated() {
            c.version += 1;
        }
        let accepted = if is_query { 0 } else { ctx.cycles_accepted };
        let sender_version = Some(ctx.canister_version);
        let mut requests = Vec::new();
        for call in ctx.outgoing {
            let callback_id = c.next_callback_id;
            c.next_callback_id += 1;
            c.callbacks.insert(
                callback_id,
                Callback {
                    context_id: ctx_id,
                    callee: call.callee,
                    reply: call.reply,
                    reject: call.reject,
                    cleanup: call.cleanup,
                    deadline: call.deadline,
                    expired: false,
                },
            );
            *c.outstanding.entry(call.callee).or_default() += 1;
            requests.push(Input::Request {
                sender: id,
                receiver: call.callee,
                method: call.method,
                arg: call.payload,
                cycles: call.cycles,
                callback_id,
                deadline: call.deadline,
                sender_version,
                not_before_round: 0,
            });
        }
        let requests: Vec<Input> = requests
            .into_iter()
            .map(|r| self.route_request(r))
            .collect();
        let c = self.canisters.get_mut(&id).expect("exists");
        let mut response = None;
        if let Some(cc) = c.call_contexts.get_mut(&ctx_id) {
            cc.available_cycles -= accepted.min(cc.available_cycles);
            cc.outstanding += requests.len();
            if let Some(r) = ctx.response {
                cc.responded = true;
                let refund = std::mem::take(&mut cc.available_cycles);
                response = Some((cc.origin.reply_to(), r, refund));
            }
        }
        for r in &requests {
            if let Input::Request { receiver, .. } = r {
                if *receiver == MANAGEMENT {
                    let f = self.mgmt_in_flight.entry(id).or_default();
                    f.current += 1;
                    f.max = f.max.max(f.current);
                }
            }
        }
        self.inbox.extend(requests);
        if let Some((to, r, refund)) = response {
            let result = match r {
                Response::Reply(bytes) => Ok(bytes),
                Response::Reject(msg) => Err(RejectResponse::canister_reject(msg)),
            };
            self.send_response(to, id, result, refund);
        }
        Ok(())
    }

    /// Stopping canisters with no open call context become stopped; their stop
    /// requests are answered. Requests waiting too long are rejected.
    fn complete_stops(&mut self) {
        let mut responses = Vec::new();
        let mut stopped = Vec::new();
        let now = self.time;
        for c in self.canisters.values_mut() {
            if c.status != Status::Stopping {
                continue;
            }
            if c.call_contexts.is_empty() {
                c.status = Status::Stopped;
                c.version += 1;
                stopped.push(c.id);
                for r in c.stop_requests.drain(..) {
                    responses.push((
                        r.reply_to,
                        c.id,
                        Ok(candid::encode_one(()).expect("encodes")),
                    ));
                }
            } else {
                let (expired, waiting) = std::mem::take(&mut c.stop_requests)
                    .into_iter()
                    .partition(|r| {
                        now.saturating_sub(r.requested_at) >= limits::STOP_TIMEOUT_NANOS
                    });
                c.stop_requests = waiting;
                for r in expired {
                    let reject = RejectResponse::new(
                        ErrorCode::StopCanisterRequestTimeout,
                        format!("Stop canister request timed out for canister {}", c.id),
                    );
                    responses.push((r.reply_to, c.id, Err(reject)));
                }
            }
        }
        for id in stopped {
            self.note_stopped(id);
        }
        for (to, id, result) in responses {
            let s = self.subnet_index(&id);
            self.send_management_response(to, s, result, 0);
        }
    }

    /// A query from a user: runs on committed state, always discards its changes.
    pub fn query(
        &mut self,
        receiver: Principal,
        sender: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> CallResult {
        if crate::doubles::is_double(self, &receiver) {
            return self.query_double(receiver, sender, method, &arg);
        }
        let heap = self.running(receiver)?.1.clone();
        let (kind, export) = if heap.module.exports.queries.contains(method) {
            (
                ApiKind::NonReplicatedQuery,
                format!("canister_query {method}"),
            )
        } else if heap.module.exports.composite_queries.contains(method) {
            (
                ApiKind::CompositeQuery,
                format!("canister_composite_query {method}"),
            )
        } else {
            return Err(RejectResponse::from_canister(
                receiver,
                ErrorCode::CanisterMethodNotFound,
                format!("Canister has no query method '{method}'."),
            ));
        };
        let cc = CallContext {
            origin: Origin::Ingress {
                id: u64::MAX,
                sender,
            },
            method: method.to_string(),
            responded: false,
            available_cycles: 0,
            outstanding: 0,
            deleted: false,
            deadline: 0,
            instructions: 0,
        };
        let ctx = self.api_context(receiver, kind, Some(&cc), arg, ResponseInfo::default());
        let limit = ctx.instruction_limit;
        let mut exe = execute(&heap, &[(kind, Entry::Export(export))], ctx, limit);
        let lines = std::mem::take(&mut exe.ctx.debug_log);
        self.log_lines(receiver, lines);
        if let Err(e) = exe.result {
            return Err(RejectResponse::from_canister(receiver, e.code, e.message));
        }
        match exe.ctx.response {
            Some(Response::Reply(bytes)) => Ok(bytes),
            Some(Response::Reject(msg)) => Err(RejectResponse::canister_reject(msg)),
            None => Err(RejectResponse::from_canister(
                receiver,
                ErrorCode::CanisterDidNotReply,
                format!("Canister {receiver} did not produce a response"),
            )),
        }
    }
}
