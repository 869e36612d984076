//! Upgrade-path rules: which release new canisters get, whether `from → to` is allowed, and the
//! next step when `to` declares a `min_upgrade_from` above `from`.
//!
//! A hop `x → y` (upward) is allowed when `y` is `Approved` and `y.min_upgrade_from <= x`.
//! `next_step` picks the highest release reachable in one hop that still lies below `to`: any
//! release reachable from a lower step is reachable from a higher one, so this greedy choice
//! finds a path whenever one exists, with the fewest hops.

use crate::error::PathError;
use crate::registry::Registry;
use crate::storage::VersionKey;
use crate::types::{Release, ReleaseState};
use ic_stable_structures::Memory;
use semver::Version;
use std::cmp::Ordering;
use std::ops::Bound;

fn min_of(release: &Release) -> Option<Version> {
    release
        .min_upgrade_from
        .as_deref()
        .and_then(|m| Version::parse(m).ok())
}

// Comparisons use semver precedence, which ignores build metadata: stored versions have none,
// but a canister may report `1.2.0+abc` for release 1.2.0.
fn reachable(from: &Version, min: Option<&Version>) -> bool {
    min.is_none_or(|m| m.cmp_precedence(from) != Ordering::Greater)
}

impl<M: Memory> Registry<M> {
    /// The release new canisters get: the highest `Approved` version (deprecated and revoked
    /// releases never qualify).
    pub fn newest_approved(&self) -> Option<Release> {
        self.releases
            .values()
            .rev()
            .map(|s| s.release)
            .find(|r| r.state == ReleaseState::Approved)
    }

    /// May a canister on `from` be upgraded straight to `to`? `to` must be approved; equal
    /// versions are refused; a lower `to` needs `allow_downgrade`; a higher `to` whose
    /// `min_upgrade_from` is above `from` needs steps (see `next_step`). `from` need not be in
    /// the registry (a canister may run a version that was never, or is no longer, published).
    pub fn check_upgrade(
        &self,
        from: &Version,
        to: &Version,
        allow_downgrade: bool,
    ) -> Result<(), PathError> {
        let target = self.installable(to)?;
        direct(from, to, min_of(&target).as_ref(), allow_downgrade)
    }

    /// The version to install next on the way from `from` to `to`: `to` itself when the direct
    /// upgrade is allowed, otherwise the highest approved intermediate release reachable in one
    /// hop. `NoPath` when no chain of approved releases gets there.
    pub fn next_step(
        &self,
        from: &Version,
        to: &Version,
        allow_downgrade: bool,
    ) -> Result<Version, PathError> {
        let target = self.installable(to)?;
        let to_min = min_of(&target);
        match direct(from, to, to_min.as_ref(), allow_downgrade) {
            Ok(()) => return Ok(to.clone()),
            Err(PathError::StepRequired { .. }) => {}
            Err(e) => return Err(e),
        }
        // Here from < to. One scan; the greedy walk then runs in memory.
        let steps: Vec<(Version, Option<Version>)> = self
            .releases
            .range((
                Bound::Excluded(VersionKey(from.clone())),
                Bound::Excluded(VersionKey(to.clone())),
            ))
            .map(|e| e.value().release)
            .filter(|r| r.state == ReleaseState::Approved)
            .filter_map(|r| Some((r.semver()?, min_of(&r))))
            .collect();
        let mut current = from.clone();
        let mut first: Option<Version> = None;
        loop {
            if reachable(&current, to_min.as_ref()) {
                // `first` is set: the direct hop from `from` was not reachable.
                return first.ok_or_else(|| no_path(from, to));
            }
            let hop = steps.iter().rev().find(|(v, min)| {
                v.cmp_precedence(&current) == Ordering::Greater && reachable(&current, min.as_ref())
            });
            match hop {
                Some((v, _)) => {
                    first.get_or_insert_with(|| v.clone());
                    current = v.clone();
                }
                None => return Err(no_path(from, to)),
            }
        }
    }

    fn installable(&self, version: &Version) -> Result<Release, PathError> {
        let release = self
            .release(version)
            .ok_or_else(|| PathError::UnknownVersion {
                version: version.to_string(),
            })?;
        if release.state != ReleaseState::Approved {
            return Err(PathError::NotInstallable {
                version: version.to_string(),
                state: release.state,
            });
        }
        Ok(release)
    }
}

fn direct(
    from: &Version,
    to: &Version,
    to_min: Option<&Version>,
    allow_downgrade: bool,
) -> Result<(), PathError> {
    match to.cmp_precedence(from) {
        Ordering::Equal => {
            return Err(PathError::SameVersion {
                version: to.to_string(),
            })
        }
        Ordering::Less => {
            return if allow_downgrade {
                Ok(())
            } else {
                Err(PathError::Downgrade {
                    from: from.to_string(),
                    to: to.to_string(),
                })
            }
        }
        Ordering::Greater => {}
    }
    match to_min {
        Some(min) if !reachable(from, Some(min)) => Err(PathError::StepRequired {
            from: from.to_string(),
            to: to.to_string(),
            min_upgrade_from: min.to_string(),
        }),
        _ => Ok(()),
    }
}

fn no_path(from: &Version, to: &Version) -> PathError {
    PathError::NoPath {
        from: from.to_string(),
        to: to.to_string(),
    }
}
