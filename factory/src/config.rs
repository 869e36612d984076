//! The factory's configuration: set at install, changed by admins (audited).
//! The release approval policy lives in the registry (`wasm_registry::RegistryConfig`).

pub use factory_api::{FactoryConfig, ProvisioningMode};

pub const MAX_ADMINS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FactoryError;
    use crate::rate_limit::RateLimit;

    #[test]
    fn default_is_valid_and_each_bad_field_is_refused() {
        assert_eq!(FactoryConfig::default().validate(), Ok(()));
        let bad = [
            FactoryConfig {
                cycles_per_canister: 0,
                ..Default::default()
            },
            FactoryConfig {
                provision_rate: RateLimit {
                    capacity: 0,
                    refill_period_ns: 1,
                },
                ..Default::default()
            },
            FactoryConfig {
                user_upgrade_rate: RateLimit {
                    capacity: 1,
                    refill_period_ns: 0,
                },
                ..Default::default()
            },
        ];
        for config in bad {
            assert!(
                matches!(config.validate(), Err(FactoryError::InvalidConfig(_))),
                "{config:?}"
            );
        }
    }
}
