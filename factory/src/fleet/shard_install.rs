//! The index installs and upgrades its shards like any canister it
//! controls: create → install for a new one; stop → install → start for an
//! upgrade, one shard at a time, and the start is sent whatever the install
//! did, so a failed upgrade never leaves a shard (and its users) stopped.
//!
//! The module comes with the call (a factory module is well below the 2 MiB
//! message limit), so the index keeps no copy. Stopping first lets the
//! shard finish its outstanding calls, which its `pre_upgrade` requires.
//! A created shard lands on the index's own subnet (the management
//! canister's `create_canister`), or on a chosen subnet through the
//! cycles-minting canister's `create_canister` with `subnet_selection`.

use crate::error::FactoryError;
use crate::state::FactoryState;
use candid::Principal;
use factory_api::fleet::DEFAULT_SHARD_CYCLES;
use factory_api::{
    AddShardArgs, CreateShardArgs, FactoryArg, FactoryInitArgs, FactoryRole, FactoryUpgradeArgs,
    ShardUpgradeRow, ShardView,
};
use ic_stable_structures::Memory;
use std::cell::RefCell;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Install,
    Upgrade,
}

/// The management calls the index makes about its shards.
#[allow(async_fn_in_trait)] // used with concrete types only; no Send needed on the IC
pub trait ShardControl {
    /// A canister controlled by `controllers` with `cycles`, on `subnet`
    /// (the index's own when `None`).
    async fn create(
        &self,
        controllers: Vec<Principal>,
        cycles: u128,
        subnet: Option<Principal>,
    ) -> Result<Principal, FactoryError>;
    async fn install(
        &self,
        shard: Principal,
        mode: Mode,
        module: &[u8],
        arg: Vec<u8>,
    ) -> Result<(), FactoryError>;
    async fn stop(&self, shard: Principal) -> Result<(), FactoryError>;
    async fn start(&self, shard: Principal) -> Result<(), FactoryError>;
}

/// Upgrades every shard, one after the other; a shard that fails does not
/// stop the others (its row says why).
pub async fn upgrade_shards<C: ShardControl, M: Memory>(
    state: &RefCell<FactoryState<M>>,
    control: &C,
    module: &[u8],
) -> Result<Vec<ShardUpgradeRow>, FactoryError> {
    let arg = encode(&FactoryArg::Upgrade(FactoryUpgradeArgs {}))?;
    let ids = state.borrow().fleet.shard_ids();
    let mut rows = Vec::with_capacity(ids.len());
    for shard in ids {
        let result = upgrade_one(control, shard, module, arg.clone()).await;
        rows.push(ShardUpgradeRow { shard, result });
    }
    Ok(rows)
}

async fn upgrade_one<C: ShardControl>(
    control: &C,
    shard: Principal,
    module: &[u8],
    arg: Vec<u8>,
) -> Result<(), FactoryError> {
    let installed = match control.stop(shard).await {
        Ok(()) => control.install(shard, Mode::Upgrade, module, arg).await,
        Err(e) => Err(e),
    };
    // Always: a shard left stopped would stop its users' upgrades and recovery.
    let started = control.start(shard).await;
    installed.and(started)
}

/// Creates a canister (controlled by the index), installs the factory in
/// the Shard role with the index's admins and config, and registers it.
pub async fn create_shard<C: ShardControl, M: Memory>(
    state: &RefCell<FactoryState<M>>,
    control: &C,
    index: Principal,
    balance: u128,
    args: CreateShardArgs,
    now_ns: u64,
) -> Result<ShardView, FactoryError> {
    let cycles = args.cycles.unwrap_or(DEFAULT_SHARD_CYCLES);
    let (admins, config) = {
        let s = state.borrow();
        (s.admins.keys().collect::<Vec<_>>(), s.config.get().clone())
    };
    let needed = config.cycles_reserve.saturating_add(cycles);
    if balance < needed {
        return Err(FactoryError::InsufficientCycles { balance, needed });
    }
    let arg = encode(&FactoryArg::Init(FactoryInitArgs {
        admins,
        config: Some(config),
        approvals: None,
        role: Some(FactoryRole::Shard { index }),
    }))?;
    let shard = control.create(vec![index], cycles, args.subnet).await?;
    if let Err(e) = control
        .install(shard, Mode::Install, &args.module, arg)
        .await
    {
        // The empty canister stays the index's; naming it lets an admin
        // install it by hand and `add_shard` it.
        return Err(FactoryError::ShardCall {
            shard,
            message: format!("created, but the install failed: {e}"),
        });
    }
    let add = AddShardArgs {
        canister_id: shard,
        capacity: args.capacity,
    };
    state.borrow_mut().fleet.add_shard(add, now_ns)
}

fn encode(arg: &FactoryArg) -> Result<Vec<u8>, FactoryError> {
    candid::encode_one(arg).map_err(|e| FactoryError::InvalidArgument(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{principal, run, Harness};
    use std::collections::BTreeSet;

    /// Management calls as a log; `fail_install` and `fail_stop` name shards.
    #[derive(Default)]
    struct FakeControl {
        log: RefCell<Vec<String>>,
        fail_install: BTreeSet<Principal>,
        fail_stop: BTreeSet<Principal>,
    }

    impl ShardControl for FakeControl {
        async fn create(
            &self,
            _: Vec<Principal>,
            _: u128,
            subnet: Option<Principal>,
        ) -> Result<Principal, FactoryError> {
            let on = subnet.map_or("here".to_string(), |s| s.to_text());
            self.log.borrow_mut().push(format!("create {on}"));
            Ok(principal(700))
        }
        async fn install(
            &self,
            shard: Principal,
            mode: Mode,
            _: &[u8],
            _: Vec<u8>,
        ) -> Result<(), FactoryError> {
            self.log
                .borrow_mut()
                .push(format!("install {mode:?} {shard}"));
            if self.fail_install.contains(&shard) {
                return Err(FactoryError::InvalidArgument("trap in post_upgrade".into()));
            }
            Ok(())
        }
        async fn stop(&self, shard: Principal) -> Result<(), FactoryError> {
            self.log.borrow_mut().push(format!("stop {shard}"));
            if self.fail_stop.contains(&shard) {
                return Err(FactoryError::InvalidArgument("stop timed out".into()));
            }
            Ok(())
        }
        async fn start(&self, shard: Principal) -> Result<(), FactoryError> {
            self.log.borrow_mut().push(format!("start {shard}"));
            Ok(())
        }
    }

    fn index_with(shards: &[u64]) -> Harness {
        let h = Harness::default();
        for &n in shards {
            let args = AddShardArgs {
                canister_id: principal(n),
                capacity: None,
            };
            h.state
                .borrow_mut()
                .fleet
                .add_shard(args, 0)
                .expect("added");
        }
        h
    }

    #[test]
    fn shards_upgrade_one_at_a_time_and_are_always_started() {
        let h = index_with(&[1, 2, 3]);
        let control = FakeControl {
            fail_install: BTreeSet::from([principal(2)]),
            fail_stop: BTreeSet::from([principal(3)]),
            ..Default::default()
        };
        let rows = run(upgrade_shards(&h.state, &control, b"module")).expect("rows");
        let (a, b, c) = (principal(1), principal(2), principal(3));
        assert_eq!(
            *control.log.borrow(),
            vec![
                format!("stop {a}"),
                format!("install Upgrade {a}"),
                format!("start {a}"),
                format!("stop {b}"),
                format!("install Upgrade {b}"),
                format!("start {b}"),
                // A shard that did not stop is not installed, but started.
                format!("stop {c}"),
                format!("start {c}"),
            ]
        );
        assert_eq!(rows[0].result, Ok(()));
        assert!(rows[1].result.is_err() && rows[2].result.is_err());
    }

    #[test]
    fn a_created_shard_is_installed_then_registered() {
        let h = index_with(&[]);
        let control = FakeControl::default();
        let args = CreateShardArgs {
            module: serde_bytes::ByteBuf::from(b"module".to_vec()),
            capacity: Some(500),
            cycles: None,
            subnet: Some(principal(42)),
        };
        let view = run(create_shard(
            &h.state,
            &control,
            principal(9),
            u128::MAX,
            args.clone(),
            0,
        ))
        .expect("created");
        assert_eq!((view.canister_id, view.capacity), (principal(700), 500));
        assert_eq!(h.state.borrow().fleet.shard_ids(), vec![principal(700)]);
        let log = control.log.borrow().clone();
        assert_eq!(
            log[0],
            format!("create {}", principal(42)),
            "on the chosen subnet"
        );
        // Too poor: nothing is created.
        let poor = run(create_shard(
            &h.state,
            &control,
            principal(9),
            1,
            args.clone(),
            0,
        ));
        assert!(matches!(poor, Err(FactoryError::InsufficientCycles { .. })));
        // A failed install leaves it unregistered and names it.
        let h = index_with(&[]);
        let control = FakeControl {
            fail_install: BTreeSet::from([principal(700)]),
            ..Default::default()
        };
        let r = run(create_shard(
            &h.state,
            &control,
            principal(9),
            u128::MAX,
            args,
            0,
        ));
        assert!(matches!(r, Err(FactoryError::ShardCall { shard, .. }) if shard == principal(700)));
        assert!(h.state.borrow().fleet.shard_ids().is_empty());
    }
}
