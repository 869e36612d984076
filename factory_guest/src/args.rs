//! The install/upgrade argument the factory sends, and its checks.

use candid::{CandidType, Deserialize, Principal};
use ic_stable_structures::storable::{Bound, Storable};
use serde_bytes::ByteBuf;
use std::borrow::Cow;

/// Passed by the factory at install and at every upgrade (one type for both).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InstallArgs {
    /// The end user this canister belongs to.
    pub owner: Principal,
    /// The factory that provisioned and upgrades this canister.
    pub factory: Principal,
    /// The release version (semver) being installed.
    pub version: String,
    /// The app's own argument, Candid-encoded, as an admin attached it to the
    /// release; none when the release has none. `InstallArgs::app_arg` decodes it.
    pub app_arg: Option<ByteBuf>,
}

/// Why an install argument is refused (the install then fails and nothing is half set).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuestArgError {
    #[error("the install argument is not an InstallArgs record: {0}")]
    Undecodable(String),
    #[error("the owner must not be the anonymous principal")]
    AnonymousOwner,
    #[error("the factory must not be the anonymous principal")]
    AnonymousFactory,
    #[error("the owner must not be the factory")]
    OwnerIsFactory,
    #[error("the release version {version:?} is not semver: {reason}")]
    BadVersion { version: String, reason: String },
    #[error("the release's app argument does not decode as the app expects: {0}")]
    BadAppArg(String),
}

impl InstallArgs {
    /// The Candid bytes the factory passes to `install_code`.
    pub fn encode(&self) -> Vec<u8> {
        candid::encode_one(self).expect("a record of principals, text and bytes always encodes")
    }

    /// Decodes and checks raw argument bytes (`ic_cdk::api::msg_arg_data()`).
    pub fn decode(bytes: &[u8]) -> Result<Self, GuestArgError> {
        candid::decode_one::<InstallArgs>(bytes)
            .map_err(|e| GuestArgError::Undecodable(e.to_string()))?
            .checked()
    }

    /// The argument itself when it names a real owner and factory and a semver release.
    pub fn checked(self) -> Result<Self, GuestArgError> {
        if self.owner == Principal::anonymous() {
            return Err(GuestArgError::AnonymousOwner);
        }
        if self.factory == Principal::anonymous() {
            return Err(GuestArgError::AnonymousFactory);
        }
        if self.owner == self.factory {
            return Err(GuestArgError::OwnerIsFactory);
        }
        self.release()?;
        Ok(self)
    }

    /// The release version, parsed.
    pub fn release(&self) -> Result<semver::Version, GuestArgError> {
        semver::Version::parse(&self.version).map_err(|e| GuestArgError::BadVersion {
            version: self.version.clone(),
            reason: e.to_string(),
        })
    }

    /// The app-defined argument decoded as `T`; none when the release has none.
    pub fn app_arg<T: CandidType + for<'de> Deserialize<'de>>(
        &self,
    ) -> Result<Option<T>, GuestArgError> {
        self.app_arg
            .as_ref()
            .map(|b| candid::decode_one(b).map_err(|e| GuestArgError::BadAppArg(e.to_string())))
            .transpose()
    }
}

/// Candid in a stable cell, so an app keeps the argument across upgrades.
impl Storable for InstallArgs {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.encode())
    }

    fn into_bytes(self) -> Vec<u8> {
        self.encode()
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        candid::decode_one(&bytes).expect("InstallArgs written by this library")
    }

    const BOUND: Bound = Bound::Unbounded;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> InstallArgs {
        InstallArgs {
            owner: Principal::from_slice(&[1]),
            factory: Principal::from_slice(&[2]),
            version: "1.2.3".into(),
            app_arg: None,
        }
    }

    #[test]
    fn guest_args_round_trip_and_are_checked() {
        let a = args();
        assert_eq!(InstallArgs::decode(&a.encode()), Ok(a.clone()));
        assert_eq!(a.release().map(|v| v.minor), Ok(2));
        let refused = [
            (
                InstallArgs {
                    owner: Principal::anonymous(),
                    ..args()
                },
                GuestArgError::AnonymousOwner,
            ),
            (
                InstallArgs {
                    factory: Principal::anonymous(),
                    ..args()
                },
                GuestArgError::AnonymousFactory,
            ),
            (
                InstallArgs {
                    factory: a.owner,
                    ..args()
                },
                GuestArgError::OwnerIsFactory,
            ),
        ];
        for (bad, why) in refused {
            assert_eq!(InstallArgs::decode(&bad.encode()), Err(why));
        }
        let not_semver = InstallArgs {
            version: "v1".into(),
            ..args()
        };
        assert!(matches!(
            InstallArgs::decode(&not_semver.encode()),
            Err(GuestArgError::BadVersion { .. })
        ));
    }

    #[test]
    fn guest_args_refuse_other_records_and_garbage() {
        assert!(matches!(
            InstallArgs::decode(b"not candid"),
            Err(GuestArgError::Undecodable(_))
        ));
        let wrong = candid::encode_one(("text", 7u8)).unwrap();
        assert!(matches!(
            InstallArgs::decode(&wrong),
            Err(GuestArgError::Undecodable(_))
        ));
    }

    /// A sender that predates `app_arg` (no such field) still decodes: `opt` fields
    /// are absent-tolerant, so the factory and its apps can be upgraded in any order.
    #[test]
    fn guest_args_without_app_arg_decode() {
        #[derive(CandidType)]
        struct Older {
            owner: Principal,
            factory: Principal,
            version: String,
        }
        let bytes = candid::encode_one(Older {
            owner: Principal::from_slice(&[1]),
            factory: Principal::from_slice(&[2]),
            version: "1.2.3".into(),
        })
        .unwrap();
        assert_eq!(InstallArgs::decode(&bytes), Ok(args()));
    }

    #[test]
    fn guest_app_arg_decodes_typed() {
        #[derive(CandidType, Deserialize, Debug, PartialEq)]
        struct Settings {
            greeting: String,
        }
        let with = InstallArgs {
            app_arg: Some(ByteBuf::from(
                candid::encode_one(Settings {
                    greeting: "hi".into(),
                })
                .unwrap(),
            )),
            ..args()
        };
        assert_eq!(
            with.app_arg::<Settings>(),
            Ok(Some(Settings {
                greeting: "hi".into()
            }))
        );
        assert_eq!(args().app_arg::<Settings>(), Ok(None));
        assert!(matches!(
            with.app_arg::<u64>(),
            Err(GuestArgError::BadAppArg(_))
        ));
    }

    #[test]
    fn guest_args_survive_the_stable_cell() {
        let a = InstallArgs {
            app_arg: Some(ByteBuf::from(vec![1, 2, 3])),
            ..args()
        };
        assert_eq!(InstallArgs::from_bytes(a.to_bytes()), a);
    }
}
