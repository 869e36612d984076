//! Plan validation: every refusal is its own typed error.

use super::sim::*;
use crate::error::FactoryError;
use crate::rollout::control::start_rollout;
use crate::rollout::plan::*;
use crate::testing::*;

fn refused(h: &Harness, p: RolloutPlan) -> FactoryError {
    start_rollout(&mut h.state.borrow_mut(), principal(ADMIN), p, 0).unwrap_err()
}

#[test]
fn caps_out_of_range_are_typed() {
    let h = Harness::default();
    h.publish("1.0.0");
    for value in [0, 501] {
        assert_eq!(
            refused(&h, plan("1.0.0", value)),
            FactoryError::InFlightOutOfRange { value, max: 500 }
        );
    }
    let mut p = plan("1.0.0", 10);
    p.max_starts_per_tick = Some(0);
    assert_eq!(
        refused(&h, p),
        FactoryError::StartsPerTickOutOfRange { value: 0, max: 500 }
    );
    let mut p = plan("1.0.0", 10);
    p.tick_interval_ns = Some(MAX_TICK_INTERVAL_NS + 1);
    assert!(matches!(refused(&h, p), FactoryError::OutOfRange { .. }));
    let mut p = plan("1.0.0", 10);
    p.top_up = Some(TopUpPolicy {
        below: 0,
        amount: 1,
    });
    assert!(matches!(refused(&h, p), FactoryError::OutOfRange { .. }));
}

#[test]
fn stages_must_increase_and_end_at_the_whole_fleet() {
    let h = Harness::default();
    h.publish("1.0.0");
    let with = |stages| RolloutPlan {
        stages,
        ..plan("1.0.0", 10)
    };
    for stages in [
        vec![stage("a", 100, 0)],
        vec![
            stage("a", 100, 0),
            stage("b", 100, 0),
            stage("c", 10_000, 0),
        ],
        vec![stage("a", 0, 0), stage("b", 10_000, 0)],
        vec![stage("a", 10_001, 0)],
        (1..=11).map(|i| stage("s", i * 900, 0)).collect(),
        vec![stage(&"x".repeat(65), 10_000, 0)],
    ] {
        assert!(
            matches!(
                refused(&h, with(stages.clone())),
                FactoryError::InvalidStages(_)
            ),
            "{stages:?}"
        );
    }
    assert_eq!(
        refused(&h, with(vec![stage("a", 10_000, 10_001)])),
        FactoryError::ThresholdOutOfRange { value: 10_001 }
    );
}

#[test]
fn retry_and_filter_limits() {
    let h = Harness::default();
    h.publish("1.0.0");
    for retry in [
        RetryPolicy {
            max_attempts: 0,
            ..FAST_RETRY
        },
        RetryPolicy {
            max_attempts: 11,
            ..FAST_RETRY
        },
        RetryPolicy {
            initial_backoff_ns: 10,
            max_backoff_ns: 5,
            max_attempts: 2,
        },
        RetryPolicy {
            max_backoff_ns: MAX_BACKOFF_NS + 1,
            ..FAST_RETRY
        },
    ] {
        let p = RolloutPlan {
            retry: Some(retry),
            ..plan("1.0.0", 10)
        };
        assert!(matches!(
            refused(&h, p),
            FactoryError::InvalidRetryPolicy(_)
        ));
    }
    let p = RolloutPlan {
        filter: Some(RolloutFilter {
            exclude_canisters: (0..1_001).map(principal).collect(),
            ..Default::default()
        }),
        ..plan("1.0.0", 10)
    };
    assert_eq!(
        refused(&h, p),
        FactoryError::FilterTooLarge {
            field: "filter.exclude_canisters".into(),
            max: 1_000
        }
    );
    let p = RolloutPlan {
        filter: Some(RolloutFilter {
            from_versions: vec!["not a version".into()],
            ..Default::default()
        }),
        ..plan("1.0.0", 10)
    };
    assert!(matches!(refused(&h, p), FactoryError::Registry(_)));
}

#[test]
fn unknown_unapproved_and_revoked_targets_are_refused() {
    let h = Harness::default();
    h.publish("1.0.0");
    assert_eq!(
        refused(&h, plan("9.9.9", 10)),
        FactoryError::UnknownTarget {
            version: "9.9.9".into()
        }
    );
    h.publish("2.0.0");
    h.state
        .borrow_mut()
        .registry
        .revoke(
            &semver::Version::new(2, 0, 0),
            principal(ADMIN),
            0,
            "bad".into(),
        )
        .unwrap();
    assert_eq!(
        refused(&h, plan("2.0.0", 10)),
        FactoryError::TargetNotApproved {
            version: "2.0.0".into(),
            state: wasm_registry::ReleaseState::Revoked
        }
    );
    assert!(matches!(
        refused(&h, plan("x", 10)),
        FactoryError::Registry(_)
    ));
    // Every refusal is audited.
    let s = h.state.borrow();
    let page = s.audit_page(None, 10);
    assert!(page.entries.iter().all(|e| e.error.is_some()));
}

#[test]
fn one_active_rollout_unless_superseding() {
    let h = Harness::default();
    h.publish("1.0.0");
    h.publish("2.0.0");
    let admin = principal(ADMIN);
    let id = start_rollout(&mut h.state.borrow_mut(), admin, plan("2.0.0", 10), 0).unwrap();
    assert_eq!(id, 1);
    assert_eq!(
        refused(&h, plan("2.0.0", 10)),
        FactoryError::RolloutActive { id: 1 }
    );
    let p = RolloutPlan {
        supersede: Some(true),
        ..plan("2.0.0", 20)
    };
    let id2 = start_rollout(&mut h.state.borrow_mut(), admin, p, 5).unwrap();
    assert_eq!(id2, 2);
    let past = history(&h);
    assert_eq!(past.len(), 1);
    assert_eq!(past[0].id, 1);
    assert_eq!(
        past[0].end,
        crate::rollout::model::RolloutEnd::Superseded { by_rollout: 2 }
    );
    assert_eq!(status(&h).active.unwrap().plan.max_in_flight, 20);
}

#[test]
fn defaults_fill_a_minimal_plan() {
    let p = plan("1.2.3", 7);
    let p = RolloutPlan {
        max_starts_per_tick: None,
        tick_interval_ns: None,
        retry: None,
        ..p
    }
    .normalize()
    .unwrap();
    assert_eq!(p.max_starts_per_tick, 7);
    assert_eq!(p.tick_interval_ns, DEFAULT_TICK_INTERVAL_NS);
    assert_eq!(p.retry, DEFAULT_RETRY);
    assert_eq!(p.stages.len(), 1);
    assert_eq!(p.stages[0].fleet_bps, FULL_BPS);
    assert_eq!(p.snapshot, SnapshotPolicy::ReplacePrevious);
    assert_eq!(p.window(), 7 + 14);
    assert_eq!(backoff_ns(&FAST_RETRY, 1), ROUND_NS);
    assert_eq!(backoff_ns(&FAST_RETRY, 3), 4 * ROUND_NS);
    assert_eq!(backoff_ns(&FAST_RETRY, 9), 8 * ROUND_NS);
}
