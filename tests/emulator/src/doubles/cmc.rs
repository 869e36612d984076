//! A **test double** of the cycles-minting canister (CMC,
//! `rkp4c-7iaaa-aaaaa-aaaca-cai`): only its `create_canister` method (and the
//! `get_default_subnets` query icp-cli asks before creating), with
//! the Candid of dfinity/ic `rs/nns/cmc/cmc.did`:
//!
//! ```candid
//! create_canister : (CreateCanisterArg) -> (variant { Ok : principal; Err : CreateCanisterError });
//! type CreateCanisterArg = record {
//!   settings : opt CanisterSettings;
//!   subnet_type : opt text;                  // deprecated
//!   subnet_selection : opt SubnetSelection;
//! };
//! type SubnetSelection = variant { Subnet : record { subnet : principal }; Filter : SubnetFilter };
//! type SubnetFilter = record { subnet_type : opt text };
//! type CreateCanisterError = variant { Refunded : record { refund_amount : nat; create_error : text } };
//! ```
//!
//! What it does, as the real one (rs/nns/cmc/src/main.rs `create_canister`,
//! `do_create_canister`): creates a canister on the chosen subnet against the
//! cycles attached to the call (the subnet's creation fee is deducted, the
//! rest is the new canister's balance), controlled by `settings.controllers`
//! or else by the caller; on failure it keeps `BAD_REQUEST_CYCLES_PENALTY`
//! (100 M, rs/nns/cmc/src/lib.rs) and refunds the rest, replying
//! `Err(Refunded { .. })`. `Filter` with no `subnet_type` (or no selection)
//! picks a pseudo-random emulated subnet, as the real CMC picks a random
//! default subnet.
//!
//! What it leaves out: ICP payments (`notify_create_canister`,
//! `notify_top_up`), authorized-subnet lists (every emulated subnet is a
//! default subnet the double may choose; a `subnet_type` matches none, the
//! emulator has no typed subnets), the exchange rate, and every other method
//! (rejected as not found). It creates the canister when the request
//! arrives and delays its reply by the two further hops (to the subnet's
//! management canister and back) the real CMC's inter-canister call takes.

use crate::cycles;
use crate::error::RejectResponse;
use crate::ids;
use crate::state::calls::ReplyTo;
use crate::state::StateMachine;
use candid::{CandidType, Nat, Principal};
use ic_error_types::ErrorCode;
use ic_management_canister_types::{CanisterSettings, ChangeOrigin, FromCanisterRecord};
use serde::Deserialize;
use std::sync::LazyLock;

/// The CMC's canister id (canister 4 of the NNS subnet).
pub static CMC_ID: LazyLock<Principal> = LazyLock::new(|| ids::canister_id_from_u64(4));

/// `BAD_REQUEST_CYCLES_PENALTY` (rs/nns/cmc/src/lib.rs): what a failed
/// creation keeps of the attached cycles.
pub const BAD_REQUEST_CYCLES_PENALTY: u128 = 100_000_000;

/// `SubnetFilter` (rs/nns/cmc/cmc.did).
#[derive(Clone, Debug, Default, CandidType, Deserialize, PartialEq, Eq)]
pub struct SubnetFilter {
    pub subnet_type: Option<String>,
}

/// `SubnetSelection` (rs/nns/cmc/cmc.did).
#[derive(Clone, Debug, CandidType, Deserialize, PartialEq, Eq)]
pub enum SubnetSelection {
    Subnet { subnet: Principal },
    Filter(SubnetFilter),
}

/// `CreateCanisterArg` (rs/nns/cmc/cmc.did).
#[derive(Clone, Debug, Default, CandidType, Deserialize)]
pub struct CreateCanisterArg {
    pub settings: Option<CanisterSettings>,
    /// Deprecated in favour of `subnet_selection`.
    pub subnet_type: Option<String>,
    pub subnet_selection: Option<SubnetSelection>,
}

/// `CreateCanisterError` (rs/nns/cmc/cmc.did).
#[derive(Clone, Debug, CandidType, Deserialize, PartialEq, Eq)]
pub enum CreateCanisterError {
    Refunded {
        refund_amount: Nat,
        create_error: String,
    },
}

/// The reply of `create_canister`.
pub type CreateCanisterResult = Result<Principal, CreateCanisterError>;

impl StateMachine {
    pub(crate) fn cmc_double_call(
        &mut self,
        sender: Principal,
        from_canister: bool,
        method: &str,
        arg: &[u8],
        cycles: u128,
        reply_to: ReplyTo,
    ) {
        if method == "get_default_subnets" {
            let result = self.cmc_query(method);
            return self.cmc_reply(reply_to, result, cycles);
        }
        if method != "create_canister" {
            let reject = RejectResponse::from_canister(
                *CMC_ID,
                ErrorCode::CanisterMethodNotFound,
                format!("Canister has no update method '{method}' (the emulator's CMC double answers create_canister only)."),
            );
            return self.cmc_reply(reply_to, Err(reject), cycles);
        }
        let args = match candid::decode_one::<CreateCanisterArg>(arg) {
            Ok(a) => a,
            Err(e) => {
                let reject = RejectResponse::from_canister(
                    *CMC_ID,
                    ErrorCode::CanisterCalledTrap,
                    format!("Canister called `ic0.trap`: could not decode CreateCanisterArg: {e}"),
                );
                return self.cmc_reply(reply_to, Err(reject), cycles);
            }
        };
        let (result, refund) = match self.cmc_create(sender, from_canister, &args, cycles) {
            Ok(id) => (Ok(id), 0),
            Err(create_error) => {
                let refund = cycles.saturating_sub(BAD_REQUEST_CYCLES_PENALTY);
                let err = CreateCanisterError::Refunded {
                    refund_amount: Nat::from(refund),
                    create_error,
                };
                (Err(err), refund)
            }
        };
        let reply: CreateCanisterResult = result;
        let bytes = candid::encode_one(reply).expect("CreateCanisterResult encodes");
        self.cmc_reply(reply_to, Ok(bytes), refund);
    }

    /// Creates the canister or says why not.
    fn cmc_create(
        &mut self,
        sender: Principal,
        from_canister: bool,
        args: &CreateCanisterArg,
        cycles: u128,
    ) -> Result<Principal, String> {
        if !from_canister {
            return Err(
                "create_canister needs cycles attached: only a canister can call it".into(),
            );
        }
        self.cmc_create_for(sender, args, cycles)
    }

    /// The CMC's creation, for a caller `sender` that attached `cycles`
    /// (also the cycles ledger double's `create_canister`).
    pub(crate) fn cmc_create_for(
        &mut self,
        sender: Principal,
        args: &CreateCanisterArg,
        cycles: u128,
    ) -> Result<Principal, String> {
        let subnet = self.cmc_choose_subnet(args)?;
        if cycles < cycles::CREATE_CANISTER_FEE {
            return Err(format!(
                "Creating a canister requires a fee of {} cycles, but only {cycles} cycles were attached.",
                cycles::CREATE_CANISTER_FEE
            ));
        }
        let max = self.subnets[subnet].capacity.config.max_canisters;
        if self.canisters_on(subnet) >= max {
            return Err(format!(
                "Canister creation failed: the subnet has reached the allowed canister limit of {max} canisters."
            ));
        }
        let mut settings = args.settings.clone().unwrap_or_default();
        if settings.controllers.is_none() {
            settings.controllers = Some(vec![sender]);
        }
        let origin = ChangeOrigin::FromCanister(FromCanisterRecord {
            canister_id: *CMC_ID,
            canister_version: None,
        });
        let balance = cycles - cycles::CREATE_CANISTER_FEE;
        self.new_canister(subnet, None, *CMC_ID, Some(&settings), balance, origin)
            .map_err(|r| r.reject_message)
    }

    fn cmc_choose_subnet(&mut self, args: &CreateCanisterArg) -> Result<usize, String> {
        let subnet_type = match &args.subnet_selection {
            Some(SubnetSelection::Subnet { subnet }) => {
                return self
                    .subnet_by_id(subnet)
                    .ok_or_else(|| format!("Subnet {subnet} is not authorized for this caller (the emulator has no such subnet)."));
            }
            Some(SubnetSelection::Filter(f)) => f.subnet_type.clone(),
            None => args.subnet_type.clone(),
        };
        if let Some(t) = subnet_type {
            return Err(format!(
                "Provided subnet type {t} does not exist (the emulator's subnets have no type)."
            ));
        }
        let pick = self.random_bytes()[0] as usize % self.subnets.len();
        Ok(pick)
    }

    /// The double's reply, after the hops the real CMC's work takes: to the
    /// caller (one hop from the NNS) plus, for a canister caller, the
    /// round trip to the subnet's management canister.
    fn cmc_reply(&mut self, to: ReplyTo, result: crate::error::CallResult, refund: u128) {
        self.double_reply(*CMC_ID, to, result, refund, 3);
    }

    /// `get_default_subnets : () -> (vec principal) query`: every emulated
    /// subnet (icp-cli picks one of them for `icp deploy`).
    pub(crate) fn cmc_query(&self, method: &str) -> crate::error::CallResult {
        if method != "get_default_subnets" {
            return Err(RejectResponse::from_canister(
                *CMC_ID,
                ErrorCode::CanisterMethodNotFound,
                format!("Canister has no query method '{method}' (the emulator's CMC double answers get_default_subnets only)."),
            ));
        }
        let subnets: Vec<Principal> = self.subnets.iter().map(|s| s.id).collect();
        Ok(candid::encode_one(subnets).expect("subnets encode"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_double_lives_at_the_cmc_id() {
        assert_eq!(CMC_ID.to_text(), "rkp4c-7iaaa-aaaaa-aaaca-cai");
    }
}
