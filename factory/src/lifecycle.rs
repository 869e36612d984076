//! What the upgrade hooks decide, free of ic-cdk: whether an upgrade of the
//! factory itself is safe now.
//!
//! A canister upgraded with calls outstanding gets their replies delivered to
//! the *new* module's function table (interface spec, "Upgrades"); with
//! ic-cdk the callback reads a pointer into the old heap, so the reply is
//! lost at best. The factory's state is all in stable structures, so
//! `pre_upgrade` has nothing to save: it only refuses that case, and names
//! the safe path.

/// Why `pre_upgrade` refuses, or None when the upgrade is safe.
pub fn refuse_upgrade(outstanding_calls: u32) -> Option<String> {
    (outstanding_calls > 0).then(|| {
        format!(
            "stop the factory first: {outstanding_calls} management call(s) are outstanding and \
             their replies would reach the new module, which cannot handle them. Run \
             `factoryctl factory upgrade <wasm>` (stop, upgrade, start), or `dfx canister stop` \
             the factory before upgrading it. A controller who must upgrade it running can pass \
             `skip_pre_upgrade = opt true`; the new module then keeps the old calls' slots until \
             they have settled."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_factory_upgrades() {
        assert_eq!(refuse_upgrade(0), None);
    }

    #[test]
    fn outstanding_calls_refuse_and_name_the_safe_path() {
        let msg = refuse_upgrade(3).expect("refused");
        assert!(msg.starts_with("stop the factory first: 3 management call(s)"));
        assert!(msg.contains("factoryctl factory upgrade"));
        assert!(msg.contains("dfx canister stop"));
        assert!(msg.contains("skip_pre_upgrade"));
    }
}
