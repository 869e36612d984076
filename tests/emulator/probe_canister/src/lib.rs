//! The emulator's probe: an ordinary ic-cdk canister that uses timers
//! (ic-cdk-timers self-calls), stable structures (a MemoryManager with a
//! BTreeMap and a Cell) and inter-canister calls, so the emulator is tested on
//! what the CDK really emits.

use candid::Principal;
use ic_cdk::call::Call;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, StableBTreeMap, StableCell};
use std::cell::{Cell, RefCell};
use std::time::Duration;

type Memory = VirtualMemory<DefaultMemoryImpl>;

/// The key a timer-made call records its outcome under.
const TIMER_CALL_KEY: u64 = 1_000_000;

thread_local! {
    static MEMORY: RefCell<MemoryManager<DefaultMemoryImpl>> =
        RefCell::new(MemoryManager::init(DefaultMemoryImpl::default()));
    static NOTES: RefCell<StableBTreeMap<u64, String, Memory>> =
        RefCell::new(StableBTreeMap::init(MEMORY.with_borrow(|m| m.get(MemoryId::new(0)))));
    static TICKS: RefCell<StableCell<u64, Memory>> =
        RefCell::new(StableCell::init(MEMORY.with_borrow(|m| m.get(MemoryId::new(1))), 0));
    /// Heap only: reset by every upgrade.
    static HEAP_COUNTER: Cell<u64> = const { Cell::new(0) };
}

/// A repeating timer that counts its runs in stable memory.
fn arm_interval() {
    ic_cdk_timers::set_timer_interval(Duration::from_secs(10), || async {
        TICKS.with_borrow_mut(|t| {
            let n = *t.get() + 1;
            t.set(n);
        });
    });
}

#[ic_cdk::init]
fn init() {
    arm_interval();
}

#[ic_cdk::post_upgrade]
fn post_upgrade() {
    arm_interval();
}

#[ic_cdk::update]
fn put(key: u64, value: String) -> Option<String> {
    HEAP_COUNTER.set(HEAP_COUNTER.get() + 1);
    NOTES.with_borrow_mut(|n| n.insert(key, value))
}

#[ic_cdk::query]
fn get(key: u64) -> Option<String> {
    NOTES.with_borrow(|n| n.get(&key))
}

#[ic_cdk::query]
fn len() -> u64 {
    NOTES.with_borrow(|n| n.len())
}

#[ic_cdk::query]
fn ticks() -> u64 {
    TICKS.with_borrow(|t| *t.get())
}

#[ic_cdk::query]
fn heap_counter() -> u64 {
    HEAP_COUNTER.get()
}

/// `put` on `peer` through an awaited inter-canister call.
#[ic_cdk::update]
async fn put_on(peer: Principal, key: u64, value: String) -> Result<Option<String>, String> {
    let reply = Call::unbounded_wait(peer, "put")
        .with_args(&(key, value))
        .await
        .map_err(|e| e.to_string())?;
    reply.candid::<Option<String>>().map_err(|e| e.to_string())
}

/// Records `key` locally, awaits `put` on `peer`, then traps: the local write
/// before the await is kept, the one after it is rolled back.
#[ic_cdk::update]
async fn put_then_trap(peer: Principal, key: u64) {
    NOTES.with_borrow_mut(|n| n.insert(key, "before await".into()));
    let _ = Call::unbounded_wait(peer, "put")
        .with_args(&(key, "remote".to_string()))
        .await;
    NOTES.with_borrow_mut(|n| n.insert(key + 1, "after await".into()));
    ic_cdk::trap("trap after the await");
}

/// In `delay_secs`, a one-shot timer calls `put` on `peer` and records the outcome.
#[ic_cdk::update]
fn schedule_put_on(peer: Principal, delay_secs: u64) {
    ic_cdk_timers::set_timer(Duration::from_secs(delay_secs), async move {
        let outcome = match Call::bounded_wait(peer, "put")
            .with_args(&(TIMER_CALL_KEY, "from a timer".to_string()))
            .await
        {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("error: {e}"),
        };
        NOTES.with_borrow_mut(|n| n.insert(TIMER_CALL_KEY, outcome));
    });
}

/// 32 bytes from the management canister's `raw_rand`.
#[ic_cdk::update]
async fn random() -> Vec<u8> {
    Call::bounded_wait(Principal::management_canister(), "raw_rand")
        .await
        .expect("raw_rand replies")
        .candid::<Vec<u8>>()
        .expect("raw_rand returns a blob")
}

#[ic_cdk::query]
fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

ic_cdk::export_candid!();

#[cfg(test)]
mod candid_interface_test {
    #[test]
    fn committed_did_matches_the_exported_service() {
        let did = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("probe_canister.did");
        canister_artifacts::assert_did_matches(&did, &super::__export_service());
    }
}
