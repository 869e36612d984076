//! [`factory_managed!`]: the conventional endpoints of a managed canister.

/// Defines, in the calling canister, the endpoints every factory-managed
/// canister has:
///
/// - `version : () -> (VersionInfo) query`, from the stored install argument
///   and the app's own crate version (`CANISTER_GIT_COMMIT` at build time);
/// - `request_upgrade : (opt text) -> (variant { Ok; Err : text })`, which
///   only the owner may call, and which asks the factory one-way.
///
/// The app depends on this crate as `factory_guest` (Candid export needs the
/// plain path in signatures). `$args` is an expression giving the current [`InstallArgs`](crate::InstallArgs)
/// (e.g. a read of the app's stable cell). The app keeps its own `init` and
/// `post_upgrade`, where it decodes and stores the argument and migrates its data.
#[macro_export]
macro_rules! factory_managed {
    ($args:expr) => {
        #[$crate::__ic_cdk::query]
        fn version() -> factory_guest::VersionInfo {
            let args: $crate::InstallArgs = $args;
            $crate::VersionInfo {
                release: args.version,
                crate_version: env!("CARGO_PKG_VERSION").to_string(),
                git_commit: option_env!("CANISTER_GIT_COMMIT").map(str::to_string),
            }
        }

        /// Asks the factory to upgrade this canister (to `version`, or the newest
        /// approved release). One-way: `Ok` means sent; watch `version`.
        #[$crate::__ic_cdk::update]
        fn request_upgrade(version: Option<String>) -> Result<(), String> {
            let args: $crate::InstallArgs = $args;
            if $crate::__ic_cdk::api::msg_caller() != args.owner {
                return Err("only the owner may request an upgrade".to_string());
            }
            $crate::request_upgrade(args.factory, version.as_deref()).map_err(|e| e.to_string())
        }
    };
}
