//! What the index needs from its shards: one call to a shard endpoint, as a
//! trait so the flows stay free of ic-cdk (`ic_shards` implements it).

use crate::error::FactoryError;
use candid::utils::ArgumentEncoder;
use candid::{CandidType, Deserialize, Principal};
use factory_api::methods::Method;

#[allow(async_fn_in_trait)] // used with concrete types only; no Send needed on the IC
pub trait Shards {
    /// Calls `method` on `shard` and decodes its `Result<R, FactoryError>`;
    /// a call that could not be made comes back as `FactoryError::ShardCall`.
    async fn call<A, R>(
        &self,
        shard: Principal,
        method: Method,
        args: A,
    ) -> Result<R, FactoryError>
    where
        A: ArgumentEncoder,
        R: CandidType + for<'de> Deserialize<'de>;
}
