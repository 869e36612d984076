//! Upgrades on demand: the owner or the recovery principal through the
//! factory, or the user canister with a one-way call. Checked (an approved
//! target, an allowed path, no downgrade), rate-limited per user, queued
//! ahead of rollout work and merged with a rollout item for the same canister.

use super::model::*;
use super::transitions::{place, place_new, with_sched, Place};
use crate::error::FactoryError;
use crate::rate_limit::TokenBucket;
use crate::state::FactoryState;
use crate::users::Phase;
use candid::Principal;
use ic_stable_structures::Memory;
use wasm_registry::ReleaseState;

pub use factory_api::UpgradeAccepted;

pub fn request_upgrade<M: Memory>(
    s: &mut FactoryState<M>,
    canister: Principal,
    version: Option<String>,
    now: u64,
) -> Result<UpgradeAccepted, FactoryError> {
    let mut record = s
        .user_by_canister(&canister)
        .ok_or(FactoryError::UnknownCanister {
            canister_id: canister,
        })?;
    let from = match (&record.phase, record.version.clone()) {
        (Phase::Ready, Some(v)) => v,
        _ => {
            return Err(FactoryError::CanisterBusy {
                canister_id: canister,
            })
        }
    };
    let target = target_release(s, version)?;
    let from_v = wasm_registry::parse_version(&from)?;
    let to_v = wasm_registry::parse_version(&target)?;
    s.registry.next_step(&from_v, &to_v, false)?;
    let accepted = |already_pending| UpgradeAccepted {
        canister_id: canister,
        from_version: from.clone(),
        target_version: target.clone(),
        already_pending,
    };
    let held = s.sched.items.get(&canister);
    if let Some(item) = &held {
        let same = item.target == target;
        match item.state {
            ItemState::Running(_) if same => return Ok(accepted(true)),
            ItemState::Running(_) => {
                return Err(FactoryError::CanisterBusy {
                    canister_id: canister,
                })
            }
            _ if same && item.on_demand => return Ok(accepted(true)),
            _ => {}
        }
    }
    let limit = s.config.get().user_upgrade_rate;
    let mut bucket = record
        .upgrade_bucket
        .unwrap_or_else(|| TokenBucket::full(limit, now));
    let taken = bucket.try_take(limit, now);
    record.upgrade_bucket = Some(bucket);
    s.put_user(record.clone());
    if let Err(retry_after_ns) = taken {
        s.sched.update(|sc| sc.totals.on_demand_rate_limited += 1);
        return Err(FactoryError::RateLimited { retry_after_ns });
    }
    with_sched(s, |s, sc| {
        sc.totals.on_demand_accepted += 1;
        match held {
            Some(item) => merge(s, sc, canister, item, &target),
            None => {
                let item = Item {
                    owner: record.owner,
                    target: target.clone(),
                    rollout: None,
                    on_demand: true,
                    attempts: 0,
                    state: ItemState::Queued(QueueKey {
                        priority: priority::ON_DEMAND,
                        stage: 0,
                        seq: 0,
                    }),
                    queued_at_ns: now,
                    last_error: None,
                    restart_only: false,
                    must_start: false,
                    interrupted: None,
                };
                place_new(s, sc, canister, item, Place::Queue);
            }
        }
    });
    Ok(accepted(false))
}

/// The named approved release, or the newest approved one.
fn target_release<M: Memory>(
    s: &FactoryState<M>,
    version: Option<String>,
) -> Result<String, FactoryError> {
    let Some(version) = version else {
        return s
            .registry
            .newest_approved()
            .map(|r| r.version)
            .ok_or(FactoryError::NoApprovedRelease);
    };
    let v = wasm_registry::parse_version(&version)?;
    let release = s.registry.release(&v).ok_or(FactoryError::UnknownTarget {
        version: version.clone(),
    })?;
    if release.state != ReleaseState::Approved {
        return Err(FactoryError::TargetNotApproved {
            version,
            state: release.state,
        });
    }
    Ok(release.version)
}

/// A queued or waiting item becomes on-demand: it moves ahead of rollout
/// work, keeps its rollout stage if it goes to the same version (the stage
/// counts it when done), else leaves the rollout as skipped.
fn merge<M: Memory>(
    s: &mut FactoryState<M>,
    sc: &mut Sched,
    canister: Principal,
    mut item: Item,
    target: &str,
) {
    if item.target != target {
        if let Some(c) = sc.stage_mut(item.rollout) {
            let slot = c.slot_mut(item.state.slot());
            *slot = slot.saturating_sub(1);
            c.skipped += 1;
            // Counted again by `place` below unless detached: detach.
        }
        item.rollout = None;
        item.target = target.to_string();
    }
    item.on_demand = true;
    item.attempts = 0;
    // `place` takes the item out of its current slot; with the rollout
    // detached above, no stage counter moves twice.
    place(s, sc, canister, item, Place::Queue);
}
