//! The round budgets: admitting, charging and queueing management work, and
//! the canister-execution budget.

use super::cost::{self, HeavyMethod};
use super::{budget, BudgetUse, LongInstall, RoundUsage};
use crate::error::{CallResult, RejectResponse};
use crate::ids::MANAGEMENT;
use crate::management::MgmtCall;
use crate::state::calls::ReplyTo;
use crate::state::StateMachine;
use candid::Principal;
use ic_error_types::ErrorCode;

fn rate_limited(id: Principal) -> RejectResponse {
    // The replica's message (rs/types/src/... `InstallCodeRateLimited`, in
    // rs/execution_environment/src/canister_manager/types.rs).
    RejectResponse::new(
        ErrorCode::CanisterInstallCodeRateLimited,
        format!("Canister {id} is rate limited because it executed too many instructions in the previous install_code messages. Please retry installation after several minutes."),
    )
}

fn canister_limit_reached(max: u64) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::MaxNumberOfCanistersReached,
        format!("Canister creation failed: the subnet has reached the allowed canister limit of {max} canisters. Retry creating the canister."),
    )
}

impl StateMachine {
    /// A call to the management canister arriving (from a round's inbox or
    /// the driver): runs now if the subnet admits it and its sender has
    /// nothing waiting, else waits in its sender's queue.
    pub fn handle_management(&mut self, call: MgmtCall) {
        let s = self.management_subnet(&call);
        let heavy = HeavyMethod::of(&call.method);
        let target = cost::effective_canister(&call.method, &call.arg);
        // A sender's calls run in the order it sent them; the driver's, like
        // PocketIC's, each in rounds of its own, behind nothing it sent.
        let behind_own = !call.driver && self.subnets[s].capacity.pending.has_waiting(&call.sender);
        if behind_own || self.management_must_wait(s, &call, heavy, target) {
            self.subnets[s].capacity.pending.push(call);
            return;
        }
        self.run_management(s, call, heavy, target);
    }

    /// Whether the call cannot start in this round (the replica's
    /// `can_execute_subnet_msg`, rs/execution_environment/src/scheduler.rs).
    fn management_must_wait(
        &self,
        subnet: usize,
        call: &MgmtCall,
        heavy: Option<HeavyMethod>,
        target: Option<Principal>,
    ) -> bool {
        let s = &self.subnets[subnet].capacity;
        if !s.config.enforce_budgets {
            return false;
        }
        // A canister with a paused (long) install executes no subnet message.
        if let (Some(li), Some(t)) = (&s.long_install, target) {
            if li.canister == t {
                return true;
            }
        }
        let Some(heavy) = heavy else {
            return false;
        };
        if heavy.installs_code() && s.long_install.is_some() {
            return true;
        }
        // The driver's calls behave as PocketIC's, each in rounds of its own:
        // they wait out the install rate limit rather than being rejected.
        if call.driver && heavy.installs_code() && target.is_some_and(|t| self.install_debit(t) > 0)
        {
            return true;
        }
        s.subnet_budget_left <= 0
    }

    /// The capacity state of the subnet hosting canister `id`.
    pub(crate) fn capacity_of(&self, id: &Principal) -> &super::SubnetState {
        &self.subnets[self.subnet_index(id)].capacity
    }

    pub(crate) fn capacity_of_mut(&mut self, id: &Principal) -> &mut super::SubnetState {
        let s = self.subnet_index(id);
        &mut self.subnets[s].capacity
    }

    fn install_debit(&self, id: Principal) -> u64 {
        self.capacity_of(&id)
            .install_debit
            .get(&id)
            .copied()
            .unwrap_or(0)
    }

    fn run_management(
        &mut self,
        s: usize,
        call: MgmtCall,
        heavy: Option<HeavyMethod>,
        target: Option<Principal>,
    ) {
        let config = self.subnets[s].capacity.config;
        if cost::creates_canister(&call.method) && self.canisters_on(s) >= config.max_canisters {
            let reject = canister_limit_reached(config.max_canisters);
            return self.send_management_response(call.reply_to, s, Err(reject), call.cycles);
        }
        if let (Some(h), Some(t)) = (heavy, target) {
            if h.installs_code()
                && config.install_code_rate_limit.is_some()
                && self.install_debit(t) > 0
                && self.canisters.contains_key(&t)
            {
                return self.send_management_response(
                    call.reply_to,
                    s,
                    Err(rate_limited(t)),
                    call.cycles,
                );
            }
        }
        let status_before = target
            .and_then(|t| self.canisters.get(&t))
            .map(|c| c.status);
        let reply_to = call.reply_to.clone();
        let outcome = self.execute_management(&call);
        if let Some(t) = target {
            self.note_status(t, status_before);
        }
        let Some((result, refund)) = outcome else {
            return; // deferred (stop_canister): answered when the canister stops
        };
        let cost = match heavy {
            None => 0,
            Some(h) if h.installs_code() => match (target, &result) {
                (Some(t), Ok(_)) => self.install_cost(t),
                _ => 0,
            },
            Some(h) => h.fixed_cost(&config),
        };
        if heavy.is_some() {
            self.charge_subnet(s, &call.method, target, cost);
        }
        if let (Some(h), Some(t)) = (heavy, target) {
            if h.installs_code() && result.is_ok() {
                self.add_install_debit(t, cost);
                if self.starts_long_install(
                    &call.method,
                    t,
                    cost,
                    Some((reply_to.clone(), result.clone(), refund)),
                ) {
                    return;
                }
            }
        }
        self.send_management_response(reply_to, s, result, refund);
    }

    /// What the install that just succeeded on `id` counts: its module's
    /// compilation (full on first sight, reduced after) plus its hooks.
    pub(crate) fn install_cost(&mut self, id: Principal) -> u64 {
        let Some(c) = self.canisters.get(&id) else {
            return 0;
        };
        let hooks = c.stats.last_install;
        let Some(heap) = &c.heap else {
            return hooks;
        };
        let module = heap.module.clone();
        let n = cost::cached_wasm_instruction_count(module.hash, &module.submitted);
        let subnet = self.capacity_of_mut(&id);
        let seen = !subnet.compiled.insert(module.hash);
        cost::compilation_cost(&subnet.config, n, seen) + hooks
    }

    /// `install_code_debit += instructions` (rs/execution_environment/src/execution/install_code.rs).
    pub(crate) fn add_install_debit(&mut self, id: Principal, instructions: u64) {
        let s = self.capacity_of_mut(&id);
        if s.config.install_code_rate_limit.is_some() && instructions > 0 {
            *s.install_debit.entry(id).or_default() += instructions;
        }
    }

    /// Counts `instructions` of `method` toward this round's budget of subnet `subnet`.
    pub(crate) fn charge_subnet(
        &mut self,
        subnet: usize,
        method: &str,
        canister: Option<Principal>,
        instructions: u64,
    ) {
        let s = &mut self.subnets[subnet].capacity;
        let counted = if s.config.enforce_budgets {
            instructions.min(s.config.max_instructions_per_slice)
        } else {
            instructions
        };
        s.subnet_budget_left = s.subnet_budget_left.saturating_sub(budget(counted));
        s.current.subnet_instructions += counted;
        s.current.subnet_work.push(BudgetUse {
            method: method.to_string(),
            canister,
            instructions: counted,
        });
    }

    /// An install costing more than a slice continues over the next rounds
    /// (DTS), its response held until its last slice; `false` if it fits.
    pub(crate) fn starts_long_install(
        &mut self,
        method: &str,
        canister: Principal,
        cost: u64,
        response: Option<(ReplyTo, CallResult, u128)>,
    ) -> bool {
        let s = self.capacity_of_mut(&canister);
        let slice = s.config.max_instructions_per_slice;
        if !s.config.enforce_budgets || cost <= slice {
            return false;
        }
        s.long_install = Some(LongInstall {
            canister,
            method: method.to_string(),
            remaining: cost - slice,
            response,
        });
        true
    }

    /// Whether a long install holds `id` (nothing else executes on it).
    pub(crate) fn in_long_install(&self, id: Principal) -> bool {
        self.capacity_of(&id)
            .long_install
            .as_ref()
            .is_some_and(|li| li.canister == id)
    }

    /// Whether the driver's own install on `id` may start now (on its subnet).
    pub(crate) fn driver_install_may_start(&self, id: Principal) -> bool {
        let s = self.capacity_of(&id);
        !s.config.enforce_budgets
            || (s.long_install.is_none()
                && s.subnet_budget_left > 0
                && !s
                    .pending
                    .iter()
                    .any(|c| HeavyMethod::of(&c.method).is_some())
                && (s.config.install_code_rate_limit.is_none() || self.install_debit(id) == 0))
    }

    /// The start of a round, on every subnet: fresh budgets, the long
    /// install's next slice, then the management work that waited.
    pub(crate) fn subnet_round_start(&mut self) {
        for s in 0..self.subnets.len() {
            self.subnet_round_start_on(s);
        }
    }

    fn subnet_round_start_on(&mut self, s: usize) {
        let round = self.round;
        let cap = &mut self.subnets[s].capacity;
        let config = cap.config;
        let previous = std::mem::replace(
            &mut cap.current,
            RoundUsage {
                round,
                subnet_budget: config.subnet_message_budget(),
                ..Default::default()
            },
        );
        if !previous.is_empty() {
            cap.history.push(previous);
        }
        cap.subnet_budget_left = budget(config.subnet_message_budget());
        cap.canister_budget_left = budget(config.canister_execution_budget());
        cap.executed_this_round.clear();
        if let Some(mut li) = cap.long_install.take() {
            let slice = li.remaining.min(config.max_instructions_per_slice);
            li.remaining -= slice;
            let method = format!("{} (continued)", li.method);
            let canister = li.canister;
            // `charge_subnet` needs `&mut self`: put it back first.
            let done = li.remaining == 0;
            let response = if done { li.response.take() } else { None };
            if !done {
                cap.long_install = Some(li);
            }
            self.charge_subnet(s, &method, Some(canister), slice);
            if let Some((to, result, refund)) = response {
                self.send_management_response(to, s, result, refund);
            }
        }
        // After a slice the replica clamps the budget to zero so that free
        // methods still run (rs/execution_environment/src/scheduler.rs).
        self.drain_pending(s);
    }

    /// Runs the waiting management calls of subnet `s` the round admits,
    /// as the replica's `drain_subnet_queues` does
    /// (rs/execution_environment/src/scheduler.rs): the next sender's first
    /// call runs if it can, else that sender is skipped; the drain ends when
    /// every sender with calls was skipped in a row. Free methods still run
    /// once the budget is spent (see `management_must_wait`), but never
    /// ahead of their own sender's earlier calls.
    fn drain_pending(&mut self, s: usize) {
        // Taken out while calls run; anything queued meanwhile joins after.
        let mut queues = std::mem::take(&mut self.subnets[s].capacity.pending);
        let mut skipped = 0;
        while skipped < queues.senders() {
            let Some(next) = queues.peek() else {
                break;
            };
            let heavy = HeavyMethod::of(&next.method);
            let target = cost::effective_canister(&next.method, &next.arg);
            if self.management_must_wait(s, next, heavy, target) {
                queues.skip();
                skipped += 1;
                continue;
            }
            skipped = 0;
            if let Some(call) = queues.pop() {
                self.run_management(s, call, heavy, target);
            }
        }
        let arrived = std::mem::replace(&mut self.subnets[s].capacity.pending, queues);
        self.subnets[s].capacity.pending.append(arrived);
    }

    /// The end of a round, on every subnet: install debits drain
    /// (`install_code_debit -= install_code_rate_limit`,
    /// rs/execution_environment/src/scheduler.rs).
    pub(crate) fn subnet_round_end(&mut self) {
        for subnet in &mut self.subnets {
            let cap = &mut subnet.capacity;
            if let Some(rate) = cap.config.install_code_rate_limit {
                cap.install_debit.retain(|_, d| {
                    *d = d.saturating_sub(rate);
                    *d > 0
                });
            }
            cap.current.pending_management_calls =
                cap.pending.len() + usize::from(cap.long_install.is_some());
        }
    }

    /// Whether a message of canister `id` may start in this round: the
    /// round's execution budget lasts (all threads), and the canister has not
    /// used one thread's round (it runs on one thread at a time; an
    /// inference). Checked before, so a message may overshoot.
    pub(crate) fn canister_may_execute(&self, id: Principal) -> bool {
        let s = self.capacity_of(&id);
        if !s.config.enforce_budgets {
            return true;
        }
        if self.in_long_install(id) {
            return false;
        }
        let used = s.executed_this_round.get(&id).copied().unwrap_or(0);
        s.canister_budget_left > 0 && used < s.config.max_instructions_per_round
    }

    pub(crate) fn note_canister_deferred(&mut self, id: Principal) {
        self.capacity_of_mut(&id).current.canister_messages_deferred += 1;
    }

    /// Counts one canister message's instructions and the overheads.
    pub(crate) fn charge_canister_execution(&mut self, id: Principal, instructions: u64) {
        let s = self.capacity_of_mut(&id);
        let first = !s.executed_this_round.contains_key(&id);
        let mut total = instructions + s.config.instruction_overhead_per_execution;
        if first {
            total += s.config.instruction_overhead_per_canister;
        }
        *s.executed_this_round.entry(id).or_default() += total;
        s.canister_budget_left = s.canister_budget_left.saturating_sub(budget(total));
        s.current.canister_instructions += total;
    }
}

impl crate::state::calls::Input {
    /// Whether the input waits for a later round than `round` (a delayed
    /// response, or a message still crossing subnets).
    pub(crate) fn held_back_at(&self, round: u64) -> bool {
        use crate::state::calls::Input;
        match self {
            Input::Request {
                not_before_round, ..
            }
            | Input::Response {
                not_before_round, ..
            } => *not_before_round > round,
            Input::Ingress { .. } => false,
        }
    }

    /// The canister this input runs code on when delivered (`None`: a call to
    /// the management canister).
    pub(crate) fn executes_on(&self) -> Option<Principal> {
        use crate::state::calls::Input;
        match self {
            Input::Ingress { receiver, .. } | Input::Request { receiver, .. } => {
                (*receiver != MANAGEMENT).then_some(*receiver)
            }
            Input::Response { originator, .. } => Some(*originator),
        }
    }
}
