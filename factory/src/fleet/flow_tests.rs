//! The index's flows against shards that are real factory states in the
//! same process (each with its own fake management canister): placement,
//! forwarding, retries, a shard down, release pushes.

use crate::error::FactoryError;
use crate::fleet::forward;
use crate::fleet::push::push_release;
use crate::fleet::shards::Shards;
use crate::provision::provision;
use crate::releases;
use crate::testing::{principal, run, Harness};
use candid::utils::ArgumentEncoder;
use candid::{CandidType, Deserialize, Principal};
use factory_api::methods::Method;
use factory_api::{AddShardArgs, FactoryRole, ReleaseStateChange, ShardProvisionArgs};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use wasm_registry::{BeginUpload, RegistryConfig, ReleaseState, UploadChunk};

const INDEX: u64 = 77;

struct FakeShards {
    shards: BTreeMap<Principal, Harness>,
    down: RefCell<BTreeSet<Principal>>,
    calls: RefCell<Vec<(Principal, Method)>>,
}

fn reply<T: CandidType>(v: Result<T, FactoryError>) -> Vec<u8> {
    candid::encode_one(v).expect("encodes")
}

fn arg<T: CandidType + for<'de> Deserialize<'de>>(bytes: &[u8]) -> T {
    candid::decode_one(bytes).expect("decodes")
}

impl Shards for FakeShards {
    async fn call<A, R>(&self, shard: Principal, method: Method, args: A) -> Result<R, FactoryError>
    where
        A: ArgumentEncoder,
        R: CandidType + for<'de> Deserialize<'de>,
    {
        self.calls.borrow_mut().push((shard, method));
        let down = FactoryError::ShardCall {
            shard,
            message: "unreachable".into(),
        };
        if self.down.borrow().contains(&shard) {
            return Err(down);
        }
        let h = self.shards.get(&shard).ok_or(down)?;
        let bytes = candid::encode_args(args).expect("encodes");
        let index = principal(INDEX);
        let out = match method {
            Method::ShardProvision => {
                let a: ShardProvisionArgs = arg(&bytes);
                reply(provision(&h.ctx(), a.owner, a.recovery).await)
            }
            Method::BeginRelease => {
                reply(releases::begin(&h.ctx(), index, arg::<BeginUpload>(&bytes)))
            }
            Method::UploadReleaseChunk => {
                reply(releases::upload_chunk(&h.ctx(), arg::<UploadChunk>(&bytes)))
            }
            Method::CommitRelease => reply(releases::commit(&h.ctx(), index, arg(&bytes))),
            Method::ApproveRelease => reply(releases::approve(&h.ctx(), index, arg(&bytes)).await),
            Method::RevokeRelease => {
                let a: ReleaseStateChange = arg(&bytes);
                reply(releases::revoke(&h.ctx(), index, a.version, a.reason).await)
            }
            other => panic!("the fake shard does not answer {other:?}"),
        };
        candid::decode_one::<Result<R, FactoryError>>(&out).expect("reply decodes")
    }
}

struct Fleet {
    index: Harness,
    shards: FakeShards,
}

fn fleet(n: u64) -> Fleet {
    let index = Harness::default();
    index.state.borrow_mut().fleet.set_role(FactoryRole::Index);
    let mut shards = BTreeMap::new();
    for i in 0..n {
        let id = principal(500 + i);
        let h = Harness::default();
        {
            let mut s = h.state.borrow_mut();
            s.fleet.set_role(FactoryRole::Shard {
                index: principal(INDEX),
            });
            let policy = RegistryConfig {
                approvals_required: 1,
                uploader_counts: true,
            };
            s.registry.set_config(policy, 0).expect("policy");
        }
        let args = AddShardArgs {
            canister_id: id,
            capacity: None,
        };
        index
            .state
            .borrow_mut()
            .fleet
            .add_shard(args, 0)
            .expect("added");
        shards.insert(id, h);
    }
    Fleet {
        index,
        shards: FakeShards {
            shards,
            down: RefCell::default(),
            calls: RefCell::default(),
        },
    }
}

impl Fleet {
    fn publish(&self, version: &str) {
        self.index.publish(version);
        let rows = run(push_release(
            &self.index.state,
            &self.shards,
            version.into(),
        ))
        .expect("push");
        assert!(
            rows.iter().all(|r| r.result == Ok(ReleaseState::Approved)),
            "{rows:?}"
        );
    }

    fn provision(&self, n: u64) -> Result<Principal, FactoryError> {
        run(forward::provision(
            &self.index.state,
            &self.shards,
            principal(INDEX),
            principal(n),
            principal(n + 10_000),
        ))
    }

    /// Owners on each shard, from the shards themselves.
    fn owners(&self) -> BTreeMap<Principal, BTreeSet<Principal>> {
        self.shards
            .shards
            .iter()
            .map(|(id, h)| (*id, h.user_ids()))
            .collect()
    }

    fn calls(&self, method: Method) -> usize {
        self.shards
            .calls
            .borrow()
            .iter()
            .filter(|(_, m)| *m == method)
            .count()
    }
}

#[test]
fn the_index_places_evenly_forwards_and_a_retry_returns_the_same_canister() {
    let f = fleet(3);
    f.publish("1.0.0");
    let mut canisters = BTreeMap::new();
    for n in 1..=30 {
        canisters.insert(n, f.provision(n).expect("provisioned"));
    }
    let owners = f.owners();
    assert!(owners.values().all(|o| o.len() == 10), "{owners:?}");
    let all: BTreeSet<Principal> = owners.values().flatten().copied().collect();
    assert_eq!(all.len(), 30, "each owner on exactly one shard");
    // A retry is answered from the index's record: no new call, same canister.
    let forwards = f.calls(Method::ShardProvision);
    assert_eq!(f.provision(7), Ok(canisters[&7]));
    assert_eq!(f.calls(Method::ShardProvision), forwards);
    let loads: Vec<u64> = f
        .index
        .state
        .borrow()
        .fleet
        .shards()
        .iter()
        .map(|s| s.users)
        .collect();
    assert_eq!(loads, vec![10, 10, 10]);
}

#[test]
fn a_shard_down_keeps_the_placement_and_the_retry_lands_on_it() {
    let f = fleet(2);
    f.publish("1.0.0");
    let first = f.index.state.borrow().fleet.shard_ids()[0];
    f.shards.down.borrow_mut().insert(first);
    let err = f.provision(1).expect_err("its shard is down");
    assert!(matches!(err, FactoryError::ShardCall { shard, .. } if shard == first));
    // Still placed there: a retry is not sent to the other shard.
    f.shards.down.borrow_mut().clear();
    let canister = f.provision(1).expect("provisioned on retry");
    let owners = f.owners();
    assert_eq!(owners[&first], BTreeSet::from([principal(1)]));
    assert_eq!(owners.values().map(BTreeSet::len).sum::<usize>(), 1);
    assert_eq!(f.provision(1), Ok(canister));
}

#[test]
fn pushes_are_resumable_and_carry_revocations() {
    let f = fleet(2);
    f.index.publish("1.0.0");
    // The first push reaches one shard only.
    let second = f.index.state.borrow().fleet.shard_ids()[1];
    f.shards.down.borrow_mut().insert(second);
    let rows = run(push_release(&f.index.state, &f.shards, "1.0.0".into())).expect("push");
    assert_eq!(rows[0].result, Ok(ReleaseState::Approved));
    assert!(matches!(
        rows[1].result,
        Err(FactoryError::ShardCall { .. })
    ));
    f.shards.down.borrow_mut().clear();
    let uploads = f.calls(Method::UploadReleaseChunk);
    let rows = run(push_release(&f.index.state, &f.shards, "1.0.0".into())).expect("push");
    assert!(rows.iter().all(|r| r.result == Ok(ReleaseState::Approved)));
    // Only the shard that lacked it got chunks.
    assert_eq!(f.calls(Method::UploadReleaseChunk), uploads + 1);
    // Every shard put the module in its own chunk store on approval.
    for h in f.shards.shards.values() {
        assert_eq!(h.state.borrow().chunk_store.len(), 1);
    }
    // Not approved at the index: nothing to push.
    let v = semver::Version::parse("1.0.0").expect("semver");
    let now = f.index.env.now.get();
    f.index
        .state
        .borrow_mut()
        .registry
        .revoke(&v, principal(1), now, "broken".into())
        .expect("revoked at the index");
    let rows = run(push_release(&f.index.state, &f.shards, "1.0.0".into())).expect("push");
    assert!(
        rows.iter().all(|r| r.result == Ok(ReleaseState::Revoked)),
        "{rows:?}"
    );
    for h in f.shards.shards.values() {
        let s = h.state.borrow();
        assert_eq!(
            s.registry.release(&v).map(|r| r.state),
            Some(ReleaseState::Revoked)
        );
        assert!(s.registry.newest_approved().is_none());
    }
    assert!(matches!(
        run(push_release(&f.index.state, &f.shards, "9.9.9".into())),
        Err(FactoryError::UnknownTarget { .. })
    ));
}
