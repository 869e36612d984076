//! The golden bytes of the factory's stored records (`golden`); the users
//! map's record has its own in `user_codec`, the rollout scheduler's are left
//! to its rewrite. Each value sets every optional field, so a field's
//! encoding is covered.

use crate::audit::{AuditAction, AuditEntry};
use crate::config::FactoryConfig;
use crate::golden::check;
use crate::rate_limit::TokenBucket;
use crate::state::Counters;
use crate::storable::Candid;
use candid::Principal;

#[test]
fn golden_counters_decode() {
    check(
        "counters",
        &Counters {
            epoch: 3,
            provision_bucket: Some(TokenBucket {
                tokens: 7,
                refilled_at_ns: 1_748_736_000_000_000_000,
            }),
            canisters_created: 1_000,
            provision_failures: 2,
            audit_seq: 12,
        },
    );
}

#[test]
fn golden_audit_entry_decodes() {
    check(
        "audit_entry",
        &AuditEntry {
            seq: 5,
            time_ns: 1_748_736_000_000_000_000,
            caller: Principal::from_slice(&[7; 29]),
            action: AuditAction::ReleaseApproved {
                version: "2.0.0".into(),
            },
            error: Some("needs 2 approvals".into()),
        },
    );
}

#[test]
fn golden_factory_config_decodes() {
    check("factory_config", &Candid(FactoryConfig::default()));
}
