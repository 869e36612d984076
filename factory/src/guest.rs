//! What the factory passes to the canisters it manages: the guest library's
//! install argument (`factory_guest`), the one contract every app links.

use candid::Principal;

pub fn install_arg(owner: Principal, factory: Principal, version: &str) -> Vec<u8> {
    factory_guest::InstallArgs {
        owner,
        factory,
        version: version.to_string(),
        app_arg: None,
    }
    .encode()
}
