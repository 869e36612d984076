//! Admin housekeeping: the admin set, the config, the allowlist. Audited.

use crate::audit::AuditAction;
use crate::config::{FactoryConfig, MAX_ADMINS};
use crate::error::FactoryError;
use crate::state::FactoryState;
use candid::Principal;
use ic_stable_structures::Memory;
use wasm_registry::RegistryConfig;

pub const MAX_ALLOWLIST: usize = 10_000;

pub fn add_admin<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    admin: Principal,
    now: u64,
) -> Result<(), FactoryError> {
    let result = if admin == Principal::anonymous() {
        Err(FactoryError::InvalidArgument(
            "the anonymous principal cannot be an admin".into(),
        ))
    } else if !s.is_admin(&admin) && s.admins.len() as usize >= MAX_ADMINS {
        Err(FactoryError::TooManyAdmins {
            max: MAX_ADMINS as u32,
        })
    } else {
        s.admins.insert(admin, ());
        Ok(())
    };
    audit(s, caller, now, AuditAction::AdminAdded { admin }, &result);
    result
}

pub fn remove_admin<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    admin: Principal,
    now: u64,
) -> Result<(), FactoryError> {
    let result = if !s.is_admin(&admin) {
        Err(FactoryError::InvalidArgument(format!(
            "{admin} is not an admin"
        )))
    } else if s.admins.len() == 1 {
        Err(FactoryError::LastAdmin)
    } else {
        check_approval_policy(&s.registry.config(), s.admins.len() - 1).map(|()| {
            s.admins.remove(&admin);
        })
    };
    audit(s, caller, now, AuditAction::AdminRemoved { admin }, &result);
    result
}

pub fn set_config<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    config: FactoryConfig,
    now: u64,
) -> Result<(), FactoryError> {
    let result = config.validate().map(|()| {
        s.config.set(config);
    });
    audit(s, caller, now, AuditAction::ConfigChanged, &result);
    result
}

/// Sets the release approval policy; releases that now have enough approvals
/// become approved (returned).
pub fn set_approval_policy<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    policy: RegistryConfig,
    now: u64,
) -> Result<Vec<String>, FactoryError> {
    let result = check_approval_policy(&policy, s.admins.len()).and_then(|()| {
        s.registry
            .set_config(policy, now)
            .map(|approved| approved.iter().map(ToString::to_string).collect())
            .map_err(FactoryError::from)
    });
    audit(s, caller, now, AuditAction::ConfigChanged, &result);
    result
}

pub use factory_api::config::check_approval_policy;

/// Replaces the allowlist.
pub fn set_allowlist<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    principals: Vec<Principal>,
    now: u64,
) -> Result<(), FactoryError> {
    let result = if principals.len() > MAX_ALLOWLIST {
        Err(FactoryError::InvalidArgument(format!(
            "at most {MAX_ALLOWLIST} principals on the allowlist"
        )))
    } else {
        s.allowlist.clear_new();
        for p in &principals {
            s.allowlist.insert(*p, ());
        }
        Ok(())
    };
    let entries = principals.len() as u32;
    audit(
        s,
        caller,
        now,
        AuditAction::AllowlistSet { entries },
        &result,
    );
    result
}

fn audit<M: Memory, T>(
    s: &mut FactoryState<M>,
    caller: Principal,
    now: u64,
    action: AuditAction,
    result: &Result<T, FactoryError>,
) {
    let error = result.as_ref().err().map(ToString::to_string);
    s.audit(now, caller, action, error);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(approvals_required: u32, uploader_counts: bool) -> RegistryConfig {
        RegistryConfig {
            approvals_required,
            uploader_counts,
        }
    }

    #[test]
    fn a_policy_more_admins_than_exist_could_meet_is_refused() {
        assert!(check_approval_policy(&policy(1, true), 1).is_ok());
        assert!(check_approval_policy(&policy(2, true), 2).is_ok());
        let err = check_approval_policy(&policy(2, true), 1).unwrap_err();
        assert!(err.to_string().contains("only 1 admins"), "{err}");
        // Four-eyes with one admin: the uploader cannot approve their own.
        assert!(check_approval_policy(&policy(1, false), 1).is_err());
        assert!(check_approval_policy(&policy(1, false), 2).is_ok());
    }
}
