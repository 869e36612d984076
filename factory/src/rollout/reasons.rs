//! Failure reasons, grouped so a thousand canisters failing the same way are
//! one line: the group is the kind of error (and the management method and
//! reject code), not its message, which names the canister. Bounded: at most
//! `MAX_REASONS` groups, the rest go to "other".

use super::model::{FailureReason, ReasonCount};
use crate::error::FactoryError;
use crate::state::FactoryState;
use ic_stable_structures::Memory;

pub const MAX_REASONS: u64 = 20;
pub const MAX_EXAMPLE: usize = 300;
const OTHER: &str = "other";

pub fn group(e: &FactoryError) -> String {
    match e {
        FactoryError::ManagementCall {
            method,
            reject_code,
            ..
        } => format!("{method} rejected (code {reject_code})"),
        FactoryError::ModuleHashMismatch { .. } => "module hash mismatch after install".into(),
        FactoryError::UpgradePath(p) => format!("upgrade path: {}", variant_name(p)),
        other => variant_name(other),
    }
}

/// The variant's name, from its Debug form.
fn variant_name(e: &impl std::fmt::Debug) -> String {
    let d = format!("{e:?}");
    d.split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_string()
}

pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

pub fn record<M: Memory>(s: &mut FactoryState<M>, group: String, message: &str) {
    let reasons = &mut s.sched.reasons;
    let key = if reasons.contains_key(&group) || reasons.len() < MAX_REASONS {
        group
    } else {
        OTHER.to_string()
    };
    let mut entry = reasons.get(&key).unwrap_or_else(|| ReasonCount {
        count: 0,
        example: truncate(message.to_string(), MAX_EXAMPLE),
    });
    entry.count += 1;
    reasons.insert(key, entry);
}

/// Most frequent first.
pub fn list<M: Memory>(s: &FactoryState<M>) -> Vec<FailureReason> {
    let mut v: Vec<FailureReason> = s
        .sched
        .reasons
        .iter()
        .map(|e| {
            let (reason, c) = e.into_pair();
            FailureReason {
                reason,
                count: c.count,
                example: c.example,
            }
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    v
}
