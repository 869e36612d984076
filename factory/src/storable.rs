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

/// Any Candid type as an unbounded `Storable`, for types defined outside this
/// crate (the wire types of `factory_api` that the factory also stores).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candid<T>(pub T);

impl<T> ic_stable_structures::Storable for Candid<T>
where
    T: candid::CandidType + for<'de> candid::Deserialize<'de> + Clone,
{
    fn to_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Owned(self.clone().into_bytes())
    }
    fn into_bytes(self) -> Vec<u8> {
        candid::encode_one(&self.0).expect("encoding a factory record cannot fail")
    }
    fn from_bytes(bytes: std::borrow::Cow<[u8]>) -> Self {
        Candid(candid::decode_one(&bytes).expect("stable record written by this factory"))
    }
    const BOUND: ic_stable_structures::storable::Bound =
        ic_stable_structures::storable::Bound::Unbounded;
}

/// A `StableCell` of a Candid value, read and written as the value itself.
pub struct CandidCell<T, M: ic_stable_structures::Memory>(
    ic_stable_structures::StableCell<Candid<T>, M>,
)
where
    Candid<T>: ic_stable_structures::Storable;

impl<T, M: ic_stable_structures::Memory> CandidCell<T, M>
where
    Candid<T>: ic_stable_structures::Storable,
{
    pub fn init(memory: M, default: T) -> Self {
        CandidCell(ic_stable_structures::StableCell::init(
            memory,
            Candid(default),
        ))
    }
    pub fn get(&self) -> &T {
        &self.0.get().0
    }
    pub fn set(&mut self, value: T) {
        self.0.set(Candid(value));
    }
}
