//! Candid encoding for the factory's stable records.
//!
//! Records evolve by adding `opt` fields, which Candid decodes from older bytes,
//! so a factory upgrade never needs a migration pass over its users.

/// Implements `Storable` (unbounded) for a Candid type.
macro_rules! candid_storable {
    ($t:ty) => {
        impl ic_stable_structures::Storable for $t {
            fn to_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
                std::borrow::Cow::Owned(self.clone().into_bytes())
            }
            fn into_bytes(self) -> Vec<u8> {
                candid::encode_one(&self).expect("encoding a factory record cannot fail")
            }
            fn from_bytes(bytes: std::borrow::Cow<[u8]>) -> Self {
                candid::decode_one(&bytes).expect("stable record written by this factory")
            }
            const BOUND: ic_stable_structures::storable::Bound =
                ic_stable_structures::storable::Bound::Unbounded;
        }
    };
}
pub(crate) use candid_storable;
