//! Which subnets the network certifies, and the canister ranges of each.
//!
//! A network without an NNS has no delegations: every certificate is signed
//! with the root key, and an agent names the subnet of such a certificate by
//! the root key's self-authenticating id (ic-agent `fetch_subnet_by_canister`;
//! `verify_for_subnet` takes any subnet id for a certificate without
//! delegation). So the tree publishes that *root* subnet, routing every
//! emulated range and the system doubles, and beside it each emulated subnet
//! under its own id with its own range, the ids the CMC double's
//! `get_default_subnets` hands out and that clients such as icp-cli then read
//! at `/api/v3/subnet/<id>/read_state`. All of them share the one threshold
//! key and node of this single-node network: the interface spec's state tree
//! holds `/subnet/<id>/...` for every subnet, not only the answering one.

use candid::Principal;
use ic_emulator::Emulator;

/// An emulated subnet: its id and the canister ids it owns (first, last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedSubnet {
    pub id: Principal,
    pub range: (Principal, Principal),
}

#[derive(Clone, Debug)]
pub struct Topology {
    /// The root key's self-authenticating id.
    pub root: Principal,
    /// The emulator's subnets, its default subnet first.
    pub subnets: Vec<ServedSubnet>,
}

impl Topology {
    /// The emulator's subnets as they are now (the emulator fixes them when
    /// it is built).
    pub fn of(emu: &Emulator, root: Principal) -> Topology {
        let subnets = emu
            .subnets()
            .into_iter()
            .filter_map(|id| {
                emu.subnet_canister_range(id)
                    .map(|range| ServedSubnet { id, range })
            })
            .collect();
        Topology { root, subnets }
    }

    /// Whether `/api/v*/subnet/<id>/read_state` answers for `id`.
    pub fn serves(&self, id: Principal) -> bool {
        id == self.root || self.subnets.iter().any(|s| s.id == id)
    }

    /// Whether canister `id` is routed here: in an emulated subnet's range,
    /// or a system double.
    pub fn routes(&self, id: Principal) -> bool {
        ic_emulator::doubles::is_double_id(&id) || self.subnets.iter().any(|s| within(&s.range, id))
    }

    /// Each served subnet with its ranges, sorted by first id: the root with
    /// every emulated range and the doubles outside them, then every
    /// emulated subnet with its own.
    pub fn ranges(&self) -> Vec<(Principal, Vec<(Principal, Principal)>)> {
        let mut root: Vec<(Principal, Principal)> = self.subnets.iter().map(|s| s.range).collect();
        for double in [
            *ic_emulator::doubles::cmc::CMC_ID,
            *ic_emulator::doubles::cycles_ledger::CYCLES_LEDGER_ID,
        ] {
            if !root.iter().any(|r| within(r, double)) {
                root.push((double, double));
            }
        }
        root.sort_by(|a, b| a.0.as_slice().cmp(b.0.as_slice()));
        let mut out = vec![(self.root, root)];
        out.extend(self.subnets.iter().map(|s| (s.id, vec![s.range])));
        out
    }
}

fn within(range: &(Principal, Principal), id: Principal) -> bool {
    id.as_slice() >= range.0.as_slice() && id.as_slice() <= range.1.as_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_routes_every_emulated_range_and_each_subnet_its_own() {
        let emu = Emulator::builder().with_application_subnets(2).build();
        let root = Principal::self_authenticating(b"root key");
        let t = Topology::of(&emu, root);
        assert_eq!(t.subnets.len(), 2);
        let ranges = t.ranges();
        assert_eq!(ranges[0].0, root);
        for s in &t.subnets {
            assert!(ranges[0].1.contains(&s.range));
            assert!(ranges.contains(&(s.id, vec![s.range])));
            assert!(t.serves(s.id));
            assert!(t.routes(s.range.0) && t.routes(s.range.1));
        }
        assert!(t.routes(*ic_emulator::doubles::cycles_ledger::CYCLES_LEDGER_ID));
        assert!(ranges[0]
            .1
            .windows(2)
            .all(|w| w[0].0.as_slice() < w[1].0.as_slice()));
        let beyond = ic_emulator::ids::canister_id_from_u64(3 << 20);
        assert!(!t.routes(beyond));
        assert!(t.serves(root));
        assert!(!t.serves(Principal::anonymous()));
    }
}
