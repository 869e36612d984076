//! Approval states: Committed → Approved (enough distinct approvers) → Deprecated or Revoked,
//! and the approval policy.

use crate::error::RegistryError;
use crate::registry::Registry;
use crate::storage::HashKey;
use crate::types::{Approval, RegistryConfig, Release, ReleaseState, StateChange};
use crate::upload::invalid_state;
use crate::{MAX_APPROVALS_REQUIRED, MAX_REASON_LEN};
use candid::Principal;
use ic_stable_structures::Memory;
use semver::Version;

/// Approvals that count under `config` (the uploader's only if `uploader_counts`).
fn counted_approvals(release: &Release, config: &RegistryConfig) -> usize {
    release
        .approvals
        .iter()
        .filter(|a| config.uploader_counts || a.by != release.uploader)
        .count()
}

fn promote_if_approved(release: &mut Release, config: &RegistryConfig, now_ns: u64) -> bool {
    let enough = counted_approvals(release, config) >= config.approvals_required as usize;
    if release.state == ReleaseState::Committed && enough {
        release.state = ReleaseState::Approved;
        release.approved_ns = Some(now_ns);
        return true;
    }
    false
}

fn check_reason(reason: &str) -> Result<(), RegistryError> {
    if reason.len() > MAX_REASON_LEN {
        return Err(RegistryError::ReasonTooLong {
            len: reason.len() as u64,
            max: MAX_REASON_LEN as u64,
        });
    }
    Ok(())
}

impl<M: Memory> Registry<M> {
    /// Records `caller`'s approval of a committed (or already approved) release and returns the
    /// resulting state: `Approved` once `approvals_required` distinct approvers counted.
    pub fn approve(
        &mut self,
        version: &Version,
        caller: Principal,
        now_ns: u64,
    ) -> Result<ReleaseState, RegistryError> {
        if caller == Principal::anonymous() {
            return Err(RegistryError::AnonymousCaller);
        }
        let mut stored = self.stored(version)?;
        let release = &mut stored.release;
        if !matches!(
            release.state,
            ReleaseState::Committed | ReleaseState::Approved
        ) {
            return Err(invalid_state(release, "approve"));
        }
        if release.approvals.iter().any(|a| a.by == caller) {
            return Err(RegistryError::AlreadyApproved {
                version: release.version.clone(),
                approver: caller,
            });
        }
        let config = self.config();
        if !config.uploader_counts && caller == release.uploader {
            return Err(RegistryError::UploaderCannotApprove {
                version: release.version.clone(),
            });
        }
        release.approvals.push(Approval {
            by: caller,
            at_ns: now_ns,
        });
        promote_if_approved(release, &config, now_ns);
        let state = release.state;
        self.save(version, stored);
        Ok(state)
    }

    /// No new installs or rollouts of this release; canisters on it stay, and its module is
    /// kept (rollback, reinstall). Allowed from `Committed` or `Approved`; idempotent.
    pub fn deprecate(
        &mut self,
        version: &Version,
        caller: Principal,
        now_ns: u64,
        reason: String,
    ) -> Result<(), RegistryError> {
        check_reason(&reason)?;
        if caller == Principal::anonymous() {
            return Err(RegistryError::AnonymousCaller);
        }
        let mut stored = self.stored(version)?;
        let release = &mut stored.release;
        match release.state {
            ReleaseState::Deprecated => return Ok(()),
            ReleaseState::Committed | ReleaseState::Approved => {}
            ReleaseState::Uploading | ReleaseState::Revoked => {
                return Err(invalid_state(release, "deprecate"))
            }
        }
        release.state = ReleaseState::Deprecated;
        release.deprecated = Some(StateChange {
            by: caller,
            at_ns: now_ns,
            reason,
        });
        self.save(version, stored);
        Ok(())
    }

    /// The release is never installed again, and its module can never be published again under
    /// any version. Its module bytes are freed once no other non-revoked release uses them.
    /// Allowed from `Committed`, `Approved` or `Deprecated` (abort an upload instead); idempotent.
    pub fn revoke(
        &mut self,
        version: &Version,
        caller: Principal,
        now_ns: u64,
        reason: String,
    ) -> Result<(), RegistryError> {
        check_reason(&reason)?;
        if caller == Principal::anonymous() {
            return Err(RegistryError::AnonymousCaller);
        }
        let mut stored = self.stored(version)?;
        let release = &mut stored.release;
        match release.state {
            ReleaseState::Revoked => return Ok(()),
            ReleaseState::Committed | ReleaseState::Approved | ReleaseState::Deprecated => {}
            ReleaseState::Uploading => return Err(invalid_state(release, "revoke")),
        }
        release.state = ReleaseState::Revoked;
        release.revoked = Some(StateChange {
            by: caller,
            at_ns: now_ns,
            reason,
        });
        let key = HashKey(release.sha256);
        if let Some(mut entry) = self.modules.get(&key) {
            entry.revoked = true;
            if entry.is_live() {
                entry.refs -= 1;
                if !entry.is_live() {
                    self.blobs.free(entry.offset, entry.size);
                }
            }
            self.modules.insert(key, entry);
        }
        self.save(version, stored);
        Ok(())
    }

    /// Changes the approval policy. Committed releases that now have enough approvals become
    /// `Approved` (their versions are returned); approved releases stay approved if the policy
    /// gets stricter.
    pub fn set_config(
        &mut self,
        config: RegistryConfig,
        now_ns: u64,
    ) -> Result<Vec<Version>, RegistryError> {
        if config.approvals_required == 0 || config.approvals_required > MAX_APPROVALS_REQUIRED {
            return Err(RegistryError::InvalidConfig {
                reason: format!(
                    "approvals_required must be between 1 and {MAX_APPROVALS_REQUIRED}, got {}",
                    config.approvals_required
                ),
            });
        }
        self.update_meta(|meta| meta.config = config);
        let committed: Vec<_> = self
            .releases
            .iter()
            .map(|e| e.into_pair())
            .filter(|(_, s)| s.release.state == ReleaseState::Committed)
            .collect();
        let mut promoted = Vec::new();
        for (key, mut stored) in committed {
            if promote_if_approved(&mut stored.release, &config, now_ns) {
                promoted.push(key.0.clone());
                self.save(&key.0, stored);
            }
        }
        Ok(promoted)
    }
}
