//! The bounds on user input, checked before anything is written.

use crate::types::UserError;

/// The bounds the store enforces. Tests use smaller ones; the canister uses [`Limits::DEFAULT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest key, in UTF-8 bytes.
    pub max_key_bytes: u64,
    /// Largest value: 1 MiB leaves room for the key and Candid in a 2 MiB ingress message.
    pub max_value_bytes: u64,
    /// Most bytes (keys plus values) the owner may store.
    pub quota_bytes: u64,
    /// Most records: bounds the work of a schema migration, which visits every record
    /// inside one `post_upgrade`.
    pub max_records: u64,
    /// Most keys in one `list` page.
    pub max_list: u32,
}

pub const MIB: u64 = 1024 * 1024;

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_key_bytes: 256,
        max_value_bytes: MIB,
        quota_bytes: 200 * MIB,
        max_records: 100_000,
        max_list: 1000,
    };

    /// Keys are non-empty and at most `max_key_bytes` long.
    pub fn check_key(&self, key: &str) -> Result<(), UserError> {
        if key.is_empty() {
            return Err(UserError::EmptyKey);
        }
        self.check_key_len(key)
    }

    /// Only the length: `list` accepts an empty `start_after` (it means "from the start").
    pub fn check_key_len(&self, key: &str) -> Result<(), UserError> {
        let len = key.len() as u64;
        if len > self.max_key_bytes {
            return Err(UserError::KeyTooLong {
                len,
                max: self.max_key_bytes,
            });
        }
        Ok(())
    }

    pub fn check_value(&self, size: usize) -> Result<(), UserError> {
        let size = size as u64;
        if size > self.max_value_bytes {
            return Err(UserError::ValueTooLarge {
                size,
                max: self.max_value_bytes,
            });
        }
        Ok(())
    }

    pub fn check_list_limit(&self, limit: u32) -> Result<(), UserError> {
        if limit == 0 || limit > self.max_list {
            return Err(UserError::InvalidLimit {
                limit,
                max: self.max_list,
            });
        }
        Ok(())
    }
}

/// Longest version string `request_upgrade` forwards.
pub const MAX_VERSION_BYTES: usize = 64;

/// A cheap plausibility check of the version `request_upgrade` forwards: the factory does
/// the real (semver, approved?) check, this only keeps junk and 2 MiB strings off the call.
pub fn check_version_request(version: Option<&str>) -> Result<(), UserError> {
    let Some(v) = version else { return Ok(()) };
    let reason = if v.is_empty() {
        "empty"
    } else if v.len() > MAX_VERSION_BYTES {
        "longer than 64 bytes"
    } else if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
    {
        "only ASCII letters, digits, '.', '-' and '+' are allowed"
    } else {
        return Ok(());
    };
    Err(UserError::InvalidVersion {
        reason: reason.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits::DEFAULT;

    #[test]
    fn default_limits_are_the_documented_ones() {
        assert_eq!(L.max_key_bytes, 256);
        assert_eq!(L.max_value_bytes, 1_048_576);
        assert_eq!(L.quota_bytes, 200 * 1_048_576);
        assert_eq!(L.max_records, 100_000);
        assert_eq!(L.max_list, 1000);
    }

    #[test]
    fn keys_must_be_non_empty_and_bounded() {
        assert_eq!(L.check_key(""), Err(UserError::EmptyKey));
        assert_eq!(L.check_key("a"), Ok(()));
        assert_eq!(L.check_key(&"k".repeat(256)), Ok(()));
        assert_eq!(
            L.check_key(&"k".repeat(257)),
            Err(UserError::KeyTooLong { len: 257, max: 256 })
        );
        // Bytes, not chars: 86 three-byte chars are 258 bytes.
        assert_eq!(
            L.check_key(&"€".repeat(86)),
            Err(UserError::KeyTooLong { len: 258, max: 256 })
        );
        assert_eq!(L.check_key_len(""), Ok(()));
    }

    #[test]
    fn values_are_bounded() {
        assert_eq!(L.check_value(0), Ok(()));
        assert_eq!(L.check_value(1_048_576), Ok(()));
        assert_eq!(
            L.check_value(1_048_577),
            Err(UserError::ValueTooLarge {
                size: 1_048_577,
                max: 1_048_576
            })
        );
    }

    #[test]
    fn list_limit_is_between_one_and_max() {
        assert_eq!(
            L.check_list_limit(0),
            Err(UserError::InvalidLimit {
                limit: 0,
                max: 1000
            })
        );
        assert_eq!(L.check_list_limit(1), Ok(()));
        assert_eq!(L.check_list_limit(1000), Ok(()));
        assert_eq!(
            L.check_list_limit(1001),
            Err(UserError::InvalidLimit {
                limit: 1001,
                max: 1000
            })
        );
    }

    #[test]
    fn version_requests_are_plausible_or_absent() {
        assert_eq!(check_version_request(None), Ok(()));
        assert_eq!(check_version_request(Some("1.2.3")), Ok(()));
        assert_eq!(check_version_request(Some("1.2.3-rc.1+build.7")), Ok(()));
        for bad in ["", "1.2 .3", "1.2.3\n", "v1;drop", &"1".repeat(65)] {
            assert!(
                matches!(
                    check_version_request(Some(bad)),
                    Err(UserError::InvalidVersion { .. })
                ),
                "{bad:?} was accepted"
            );
        }
    }
}
