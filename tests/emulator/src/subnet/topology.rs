//! Several subnets in one emulator, shaped like PocketIC's topology: each
//! subnet owns a contiguous range of canister ids (the IC's routing table),
//! its own management canister, budgets and round accounting. All subnets
//! run their rounds together (one `tick` is a round of every subnet).
//!
//! Messages between subnets travel through XNet streams: a request or
//! response made in round `r` on subnet A is routed into A's stream to B at
//! the end of the round (rs/messaging/src/routing/stream_builder.rs), B's
//! block can only include slices of A's stream that A has *certified*
//! (rs/xnet/payload_builder/src/lib.rs, `CertifiedStreamStore`), and B
//! inducts them at the start of its next round
//! (rs/messaging/src/routing/stream_handler.rs). On the same subnet the
//! message is inducted in the next round. So a cross-subnet hop takes at least
//! one more round than a local one: an inference from that pipeline (the
//! replica has no constant for it), configurable as
//! [`XNetConfig::extra_rounds_per_hop`].

use super::SubnetState;
use crate::ids::{self, MANAGEMENT};
use crate::management::MgmtCall;
use crate::state::StateMachine;
use candid::Principal;
use serde::{Deserialize, Serialize};

/// A subnet's id (a principal, as in PocketIC).
pub type SubnetId = Principal;

/// Canister ids per subnet: `CANISTER_IDS_PER_SUBNET` (1 << 20) in
/// rs/registry/routing_table/src/lib.rs. Subnet `k` owns
/// `[k << 20, (k + 1) << 20 - 1]`, so the first subnet's ids are the ones
/// the single-subnet emulator always handed out.
pub const CANISTER_IDS_PER_SUBNET: u64 = 1 << 20;

/// How messages between subnets are delayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XNetConfig {
    /// Rounds a cross-subnet request or response takes beyond a same-subnet
    /// one (default 1: the certification of the sender's stream; see the
    /// module comment, an inference).
    pub extra_rounds_per_hop: u64,
}

impl Default for XNetConfig {
    fn default() -> Self {
        XNetConfig {
            extra_rounds_per_hop: 1,
        }
    }
}

/// One subnet of the emulator.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Subnet {
    pub id: SubnetId,
    /// The canister ids it owns, `[range_start, range_end]`.
    pub range_start: u64,
    pub range_end: u64,
    /// The next id `create_canister` tries.
    pub next_canister: u64,
    /// Budgets, queued management work, records.
    pub capacity: SubnetState,
}

impl Subnet {
    /// The `index`-th application subnet (0 is the default one).
    pub fn application(index: u64, capacity: SubnetState) -> Self {
        let range_start = index * CANISTER_IDS_PER_SUBNET;
        Subnet {
            id: subnet_id(index),
            range_start,
            range_end: range_start + CANISTER_IDS_PER_SUBNET - 1,
            next_canister: range_start,
            capacity,
        }
    }

    fn owns(&self, n: u64) -> bool {
        (self.range_start..=self.range_end).contains(&n)
    }
}

/// Subnet `index`'s id: the first is [`ids::SUBNET_ID`], as before subnets
/// were several; the others are derived the same way.
pub fn subnet_id(index: u64) -> SubnetId {
    if index == 0 {
        *ids::SUBNET_ID
    } else {
        Principal::self_authenticating(format!("ic-emulator subnet {index}"))
    }
}

/// Where a principal's messages are executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// On an emulated subnet (its index).
    Subnet(usize),
    /// On the NNS subnet: the system-canister test doubles (`crate::doubles`).
    Nns,
}

/// The canister-id number of a principal in the replica's convention, if it is one.
fn canister_number(id: &Principal) -> Option<u64> {
    let b = id.as_slice();
    if b.len() != 10 || b[8] != 0x01 || b[9] != 0x01 {
        return None;
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&b[..8]);
    Some(u64::from_be_bytes(n))
}

impl StateMachine {
    /// The subnet that hosts canister `id` (by the routing table's ranges; an
    /// id outside every range, such as a `specified_id` far away, is hosted
    /// by the first subnet, as before subnets were several).
    pub(crate) fn subnet_index(&self, id: &Principal) -> usize {
        if self.subnets.len() == 1 {
            return 0;
        }
        canister_number(id)
            .and_then(|n| self.subnets.iter().position(|s| s.owns(n)))
            .unwrap_or(0)
    }

    /// Where `id` executes: a subnet, or the NNS for a test double.
    pub(crate) fn location(&self, id: &Principal) -> Location {
        if crate::doubles::is_double(self, id) {
            Location::Nns
        } else {
            Location::Subnet(self.subnet_index(id))
        }
    }

    /// The index of the subnet with id `subnet`.
    pub(crate) fn subnet_by_id(&self, subnet: &SubnetId) -> Option<usize> {
        self.subnets.iter().position(|s| s.id == *subnet)
    }

    /// Which subnet's management canister handles `call`: the one it names
    /// (the driver's `create_canister_on_subnet`, the CMC double), else the
    /// subnet of its effective canister, else the calling canister's, else
    /// the first (ingress `provisional_create_canister_with_cycles`, like
    /// PocketIC's default subnet).
    pub(crate) fn management_subnet(&self, call: &MgmtCall) -> usize {
        if let Some(i) = call.subnet.and_then(|s| self.subnet_by_id(&s)) {
            return i;
        }
        if self.subnets.len() == 1 {
            return 0;
        }
        if let Some(t) = super::cost::effective_canister(&call.method, &call.arg) {
            return self.subnet_index(&t);
        }
        if let Some(id) = super::cost::specified_id(&call.method, &call.arg) {
            return self.subnet_index(&id);
        }
        if call.from_canister {
            return self.subnet_index(&call.sender);
        }
        0
    }

    /// Where a request from `sender` to `receiver` executes.
    pub(crate) fn request_destination(
        &self,
        sender: &Principal,
        receiver: &Principal,
        method: &str,
        arg: &[u8],
    ) -> Location {
        if *receiver != MANAGEMENT {
            return self.location(receiver);
        }
        if self.subnets.len() == 1 {
            return Location::Subnet(0);
        }
        match super::cost::effective_canister(method, arg) {
            Some(t) => Location::Subnet(self.subnet_index(&t)),
            None => self.location(sender),
        }
    }

    /// Extra rounds a message from `from` to `to` waits (0 on the same subnet).
    pub(crate) fn xnet_delay(&self, from: Location, to: Location) -> u64 {
        if from == to {
            0
        } else {
            self.xnet.extra_rounds_per_hop
        }
    }

    /// A fresh canister id from subnet `s`'s range, if any is left.
    pub(crate) fn fresh_canister_id(&mut self, s: usize) -> Option<Principal> {
        loop {
            let subnet = &self.subnets[s];
            if subnet.next_canister > subnet.range_end {
                return None;
            }
            let id = ids::canister_id_from_u64(subnet.next_canister);
            self.subnets[s].next_canister += 1;
            let taken = self.canisters.contains_key(&id)
                || self.deleted.contains(&id)
                || crate::doubles::is_double(self, &id);
            if !taken {
                return Some(id);
            }
        }
    }

    /// Canisters hosted by subnet `s`.
    pub(crate) fn canisters_on(&self, s: usize) -> u64 {
        if self.subnets.len() == 1 {
            return self.canisters.len() as u64;
        }
        let subnet = &self.subnets[s];
        let lo = ids::canister_id_from_u64(subnet.range_start);
        let hi = ids::canister_id_from_u64(subnet.range_end);
        // (Ids outside every range, hosted by the first subnet, are not
        // counted: only a `specified_id` far away makes one.)
        self.canisters.range(lo..=hi).count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_ranges_are_contiguous_and_the_first_starts_at_zero() {
        let a = Subnet::application(0, SubnetState::default());
        let b = Subnet::application(1, SubnetState::default());
        assert_eq!(a.range_start, 0);
        assert_eq!(b.range_start, a.range_end + 1);
        assert_eq!(a.id, *ids::SUBNET_ID);
        assert_ne!(a.id, b.id);
        assert_eq!(
            canister_number(&ids::canister_id_from_u64(1 << 20)),
            Some(1 << 20)
        );
        assert_eq!(canister_number(&Principal::anonymous()), None);
    }
}
