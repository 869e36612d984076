//! What the factory passes to the canisters it manages: the guest library's
//! install argument (`factory_guest`), the one contract every app links.

use candid::Principal;
use wasm_registry::Release;

/// The argument of an install or upgrade of `release`: who owns the
/// canister, which factory manages it, the release's version, and the app's
/// own argument as an admin attached it to the release.
pub fn install_arg(owner: Principal, factory: Principal, release: &Release) -> Vec<u8> {
    factory_guest::InstallArgs {
        owner,
        factory,
        version: release.version.clone(),
        app_arg: release.app_arg.clone(),
    }
    .encode()
}
