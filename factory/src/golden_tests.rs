//! The golden bytes of the factory's stored records (`golden`); the users
//! map's record has its own in `user_codec`, the rollout scheduler's are in
//! `rollout_golden_tests`, the cycles and fleet records beside their codecs.
//! Each value sets every optional field, so a field's encoding is covered.

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

/// The composite keys of the cycles and reclaim stores (`(u64, Principal)`
/// due and by-activity indexes, `(u64, u8)` spend buckets) are
/// stable-structures' tuple encodings: pinned here, so a library upgrade that
/// changed them would fail before it misread a stored index.
#[test]
fn golden_tuple_keys_decode() {
    check(
        "key_time_principal",
        &(
            1_748_736_000_000_000_000u64,
            Principal::from_slice(&[9; 29]),
        ),
    );
    check("key_day_kind", &(20_240u64, 3u8));
}
