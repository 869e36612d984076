//! The rollout scheduler (DESIGN.md flows 3 and 4): batched, rate-limited
//! upgrades of the fleet on a timer, and upgrades on demand.
//!
//! Pure over the [`crate::runtime`] traits and stable memory: the canister
//! drives it with ic-cdk timers and spawned workers (`api`), unit tests with
//! the fake management canister and a round-based simulator.
//!
//! - [`plan`]: the plan, its defaults and validation;
//! - [`control`]: start (or supersede), pause, resume, cancel, history;
//! - [`tick`]: one timer tick's bounded work; [`enumerate`] fills the queue
//!   for the current stage from a cursor over the users;
//! - [`take`]: the next canister the caps allow; [`worker`] runs it with
//!   [`job`] and records it with [`complete`], then takes the next;
//! - [`stages`]: halt, advance, complete; pause on low cycles;
//! - [`on_demand`]: user requests; [`status`]: what admins and users see;
//! - [`settle`]: runs of an earlier module keep their slots until settled.
//!
//! Every canister the scheduler holds is one [`model::Item`] in stable
//! memory, in exactly one of: the queue (priority, stage, seq), the retry map
//! (ready time), or in flight (epoch, canister); [`transitions`] keeps the
//! per-stage counters equal to those sets.

pub mod admission;
pub mod arming;
pub mod complete;
pub mod control;
pub mod enumerate;
pub mod job;
pub mod membership;
pub mod model;
pub mod on_demand;
pub mod plan;
pub mod reasons;
pub mod settle;
pub mod stages;
pub mod status;
pub mod store;
pub mod take;
pub mod tick;
pub mod transitions;
pub mod worker;

#[cfg(test)]
pub(crate) mod tests;
