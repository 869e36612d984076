//! Every way a factory endpoint can refuse or fail: `factory_api`'s wire type.

pub use factory_api::FactoryError;
