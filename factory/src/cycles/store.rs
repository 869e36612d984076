//! The keeper's stable state: a record per canister, the queue of canisters
//! due a reading, the set of those at risk, the sweep's cursor, and what the
//! factory spent per day.

use super::record::CanisterCycles;
use super::stable_parts::{SweepCursor, TimeQueue};
use candid::Principal;
use factory_api::{CyclesHealth, DaySpend, SpendKind};
use ic_stable_structures::{Memory, StableBTreeMap};

pub const DAY_NS: u64 = 86_400_000_000_000;
/// Days of spending kept (older days are dropped as new ones start).
pub const SPEND_DAYS: u64 = 90;
/// The `day` under which all-time totals are kept.
const TOTAL_DAY: u64 = u64::MAX;

pub struct KeeperMemories<M> {
    pub records: M,
    pub due: M,
    pub at_risk: M,
    pub cursor: M,
    pub spend: M,
    pub payments: M,
}

pub struct KeeperStore<M: Memory> {
    /// user canister → what the keeper knows
    pub records: StableBTreeMap<Principal, CanisterCycles, M>,
    /// (when, canister): read it then.
    pub due: TimeQueue<M>,
    pub at_risk: StableBTreeMap<Principal, (), M>,
    cursor: SweepCursor<M>,
    /// (day, kind) → cycles; `TOTAL_DAY` holds the totals.
    spend: StableBTreeMap<(u64, u8), u128, M>,
    /// owner → their payment for provisioning (`paid`).
    pub payments: StableBTreeMap<Principal, super::payment::Payment, M>,
}

fn kind_code(k: SpendKind) -> u8 {
    match k {
        SpendKind::Creation => 0,
        SpendKind::KeeperTopUp => 1,
        SpendKind::RolloutTopUp => 2,
        SpendKind::UpgradeSnapshot => 3,
        SpendKind::UpgradeInstall => 4,
        SpendKind::Reclaimed => 5,
    }
}

fn kind_of(code: u8) -> Option<SpendKind> {
    match code {
        0 => Some(SpendKind::Creation),
        1 => Some(SpendKind::KeeperTopUp),
        2 => Some(SpendKind::RolloutTopUp),
        3 => Some(SpendKind::UpgradeSnapshot),
        4 => Some(SpendKind::UpgradeInstall),
        5 => Some(SpendKind::Reclaimed),
        _ => None,
    }
}

impl<M: Memory> KeeperStore<M> {
    pub fn init(m: KeeperMemories<M>) -> Self {
        KeeperStore {
            records: StableBTreeMap::init(m.records),
            due: TimeQueue::init(m.due),
            at_risk: StableBTreeMap::init(m.at_risk),
            cursor: SweepCursor::init(m.cursor),
            spend: StableBTreeMap::init(m.spend),
            payments: StableBTreeMap::init(m.payments),
        }
    }

    pub fn get(&self, canister: &Principal) -> Option<CanisterCycles> {
        self.records.get(canister)
    }

    /// Writes a record, keeping the due queue and the at-risk set in step.
    pub fn put(&mut self, canister: Principal, r: CanisterCycles) {
        let old = self.records.insert(canister, r);
        if let Some(old) = old.filter(|o| o.due_ns != 0 && o.due_ns != r.due_ns) {
            self.due.remove(old.due_ns, canister);
        }
        if r.due_ns != 0 {
            self.due.insert(r.due_ns, canister);
        }
        match r.health {
            CyclesHealth::AtRisk { .. } => {
                self.at_risk.insert(canister, ());
            }
            _ => {
                self.at_risk.remove(&canister);
            }
        }
    }

    pub fn remove(&mut self, canister: &Principal) {
        if let Some(old) = self.records.remove(canister) {
            self.due.remove(old.due_ns, *canister);
        }
        self.at_risk.remove(canister);
    }

    /// Up to `limit` canisters due by `now`, earliest first.
    pub fn due_by(&self, now_ns: u64, limit: usize) -> Vec<Principal> {
        self.due.up_to(now_ns, limit)
    }

    pub fn cursor(&self) -> Option<Principal> {
        self.cursor.get()
    }

    pub fn set_cursor(&mut self, after: Option<Principal>) {
        self.cursor.set(after)
    }

    pub fn spent(&mut self, kind: SpendKind, cycles: u128, now_ns: u64) {
        if cycles == 0 {
            return;
        }
        let day = now_ns / DAY_NS;
        for d in [day, TOTAL_DAY] {
            let key = (d, kind_code(kind));
            let v = self.spend.get(&key).unwrap_or(0);
            self.spend.insert(key, v.saturating_add(cycles));
        }
        // Bounded: days older than the window go (a few keys per new day).
        let oldest = day.saturating_sub(SPEND_DAYS);
        let stale: Vec<(u64, u8)> = self.spend.keys_range(..(oldest, 0)).take(16).collect();
        for k in stale {
            self.spend.remove(&k);
        }
    }

    /// The last `days` days, oldest first.
    pub fn spend_by_day(&self, now_ns: u64, days: u64) -> Vec<DaySpend> {
        let today = now_ns / DAY_NS;
        let from = today.saturating_sub(days.clamp(1, SPEND_DAYS).saturating_sub(1));
        self.spend
            .range((from, 0)..=(today, u8::MAX))
            .filter_map(|e| {
                let ((day, code), cycles) = e.into_pair();
                kind_of(code).map(|kind| DaySpend { day, kind, cycles })
            })
            .collect()
    }

    pub fn spent_total(&self, kind: SpendKind) -> u128 {
        self.spend.get(&(TOTAL_DAY, kind_code(kind))).unwrap_or(0)
    }

    pub fn spent_on(&self, day: u64, kind: SpendKind) -> u128 {
        self.spend.get(&(day, kind_code(kind))).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::principal;
    use factory_api::AtRiskReason;
    use ic_stable_structures::VectorMemory;

    pub fn store() -> KeeperStore<VectorMemory> {
        KeeperStore::init(KeeperMemories {
            records: VectorMemory::default(),
            due: VectorMemory::default(),
            at_risk: VectorMemory::default(),
            cursor: VectorMemory::default(),
            spend: VectorMemory::default(),
            payments: VectorMemory::default(),
        })
    }

    #[test]
    fn cycles_store_keeps_queue_and_risk_set_in_step() {
        let mut s = store();
        let (a, b) = (principal(1), principal(2));
        s.put(
            a,
            CanisterCycles {
                due_ns: 50,
                ..Default::default()
            },
        );
        s.put(
            b,
            CanisterCycles {
                due_ns: 10,
                ..Default::default()
            },
        );
        assert_eq!(s.due_by(100, 10), vec![b, a]);
        assert_eq!(s.due_by(20, 10), vec![b]);
        s.put(
            b,
            CanisterCycles {
                due_ns: 200,
                health: CyclesHealth::AtRisk {
                    reason: AtRiskReason::BudgetExhausted,
                },
                ..Default::default()
            },
        );
        assert_eq!(s.due_by(100, 10), vec![a]);
        assert_eq!(s.due.len(), 2);
        assert!(s.at_risk.contains_key(&b));
        s.remove(&b);
        assert_eq!((s.due.len(), s.at_risk.len(), s.records.len()), (1, 0, 1));
    }

    #[test]
    fn cycles_spend_is_per_day_and_bounded() {
        let mut s = store();
        s.spent(SpendKind::KeeperTopUp, 5, 0);
        s.spent(SpendKind::KeeperTopUp, 7, DAY_NS / 2);
        s.spent(SpendKind::Creation, 3, DAY_NS);
        assert_eq!(s.spent_on(0, SpendKind::KeeperTopUp), 12);
        let days = s.spend_by_day(DAY_NS, 2);
        assert_eq!(days.len(), 2);
        assert_eq!(
            days[1],
            DaySpend {
                day: 1,
                kind: SpendKind::Creation,
                cycles: 3
            }
        );
        s.spent(SpendKind::Creation, 1, (SPEND_DAYS + 5) * DAY_NS);
        assert_eq!(
            s.spent_on(0, SpendKind::KeeperTopUp),
            0,
            "old days are dropped"
        );
        assert_eq!(s.spent_total(SpendKind::KeeperTopUp), 12);
        assert_eq!(s.spent_total(SpendKind::Creation), 4);
    }
}
