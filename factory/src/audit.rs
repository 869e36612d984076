//! The audit log: every admin and recovery action, who, what, when, outcome.

use crate::storable::candid_storable;
use candid::{CandidType, Deserialize, Principal};

pub use factory_api::{AuditAction, AuditPage};

/// An entry as the log stores it (`audit_log` answers `factory_api::AuditEntry`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: u64,
    pub time_ns: u64,
    pub caller: Principal,
    pub action: AuditAction,
    /// None when it succeeded, the error when it failed.
    pub error: Option<String>,
}

candid_storable!(AuditEntry);

pub const MAX_AUDIT_PAGE: u32 = 500;

/// The most bytes of caller-supplied text (a version) an entry keeps: the
/// action is audited before its input is validated, and a 2 MiB "version"
/// must not become a 2 MiB entry that makes the log unreadable in pages.
pub const MAX_AUDIT_TEXT: usize = 128;
/// The most bytes of an error message an entry keeps.
pub const MAX_AUDIT_ERROR: usize = 512;

/// `text` cut to at most `max` bytes (on a char boundary), marked with `…`.
fn bounded(text: &mut String, max: usize) {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
}

pub trait BoundedAction {
    /// The action with its caller-supplied text bounded.
    fn bounded(self) -> Self;
}

impl BoundedAction for AuditAction {
    fn bounded(mut self) -> Self {
        use AuditAction::*;
        match &mut self {
            ReleaseBegun { version }
            | ReleaseCommitted { version }
            | ReleaseAborted { version }
            | ReleaseApproved { version }
            | ReleaseDeprecated { version }
            | ReleaseRevoked { version }
            | ReinstalledLastGood { version, .. }
            | RolloutStarted {
                target_version: version,
                ..
            } => bounded(version, MAX_AUDIT_TEXT),
            ConfigChanged
            | AdminAdded { .. }
            | AdminRemoved { .. }
            | AllowlistSet { .. }
            | RecoveryRotated { .. }
            | SnapshotRestored { .. }
            | Detached { .. }
            | RolloutPaused { .. }
            | RolloutResumed { .. }
            | RolloutCancelled { .. }
            | CanisterAtRisk { .. }
            | CanisterReclaimed { .. }
            | CanisterRevived { .. }
            | CanisterDeleted { .. }
            | ShardAdded { .. } => {}
        }
        self
    }
}

/// An error message as an entry keeps it.
pub fn bounded_error(mut error: String) -> String {
    bounded(&mut error, MAX_AUDIT_ERROR);
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_supplied_text_is_bounded_in_entries() {
        let huge = "9".repeat(2 << 20);
        let action = AuditAction::ReleaseBegun {
            version: huge.clone(),
        }
        .bounded();
        let AuditAction::ReleaseBegun { version } = action else {
            panic!("same variant");
        };
        assert!(version.len() <= MAX_AUDIT_TEXT + '…'.len_utf8());
        assert!(version.starts_with("999"));
        let started = AuditAction::RolloutStarted {
            id: 0,
            target_version: huge.clone(),
        }
        .bounded();
        assert!(
            matches!(started, AuditAction::RolloutStarted { target_version, .. } if target_version.len() < 200)
        );
        assert!(bounded_error(huge).len() <= MAX_AUDIT_ERROR + 3);
        // Short text is kept as it is; multi-byte text is cut on a boundary.
        let short = AuditAction::ReleaseRevoked {
            version: "1.2.3".into(),
        };
        assert_eq!(short.clone().bounded(), short);
        assert!(bounded_error("é".repeat(1_000)).ends_with('…'));
    }
}
