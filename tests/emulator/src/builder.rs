//! Building an emulator of several subnets, and the API about them, shaped
//! like PocketIC's (`PocketIcBuilder::with_application_subnet`,
//! `create_canister_on_subnet`, `get_subnet`, `topology`).

use crate::driver::Emulator;
use crate::error::RejectResponse;
use crate::ids;
use crate::subnet::topology::Subnet;
use crate::subnet::{SubnetConfig, SubnetId, SubnetState, XNetConfig};
use candid::{Nat, Principal};
use ic_management_canister_types::{
    CanisterIdRecord, CanisterSettings, ProvisionalCreateCanisterWithCyclesArgs,
};

/// Builds an [`Emulator`]: `Emulator::builder().with_application_subnet()
/// .with_application_subnet().build()` has two application subnets. With
/// none added it has one, as [`Emulator::new`].
#[derive(Clone, Debug, Default)]
pub struct EmulatorBuilder {
    subnets: Vec<SubnetConfig>,
    seed: u64,
    xnet: XNetConfig,
    cmc_double: bool,
    cycles_ledger_double: bool,
}

impl EmulatorBuilder {
    /// Adds an application subnet ([`SubnetConfig::application`]).
    pub fn with_application_subnet(self) -> Self {
        self.with_subnet(SubnetConfig::application())
    }

    /// Adds `n` application subnets.
    pub fn with_application_subnets(mut self, n: usize) -> Self {
        for _ in 0..n {
            self = self.with_application_subnet();
        }
        self
    }

    /// Adds a subnet with `config`'s capacity.
    pub fn with_subnet(mut self, config: SubnetConfig) -> Self {
        self.subnets.push(config);
        self
    }

    /// `seed` drives `raw_rand`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How much longer a cross-subnet message takes (default: one round a hop).
    pub fn with_xnet(mut self, xnet: XNetConfig) -> Self {
        self.xnet = xnet;
        self
    }

    /// Installs the cycles-minting-canister test double
    /// ([`crate::doubles::cmc`]) at `rkp4c-7iaaa-aaaaa-aaaca-cai`.
    pub fn with_cmc_double(mut self) -> Self {
        self.cmc_double = true;
        self
    }

    /// Installs the cycles-ledger test double
    /// ([`crate::doubles::cycles_ledger`]) at `um5iw-rqaaa-aaaaq-qaaba-cai`.
    pub fn with_cycles_ledger_double(mut self) -> Self {
        self.cycles_ledger_double = true;
        self
    }

    pub fn build(self) -> Emulator {
        let emu = Emulator::with_seed(self.seed);
        {
            let mut sm = emu.sm.borrow_mut();
            let configs = if self.subnets.is_empty() {
                vec![SubnetConfig::application()]
            } else {
                self.subnets
            };
            sm.subnets = configs
                .into_iter()
                .enumerate()
                .map(|(i, c)| Subnet::application(i as u64, SubnetState::new(c)))
                .collect();
            sm.xnet = self.xnet;
            sm.doubles.cmc = self.cmc_double;
            if self.cycles_ledger_double {
                sm.doubles.cycles_ledger = Some(Default::default());
            }
        }
        emu
    }
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// The subnets' ids, the default (first) subnet first.
    pub fn subnets(&self) -> Vec<SubnetId> {
        self.sm.borrow().subnets.iter().map(|s| s.id).collect()
    }

    /// The subnet hosting `canister_id`, if the canister exists (`None` also
    /// for a system-canister double, which lives on the NNS).
    pub fn get_subnet(&self, canister_id: Principal) -> Option<SubnetId> {
        let sm = self.sm.borrow();
        if !sm.canisters.contains_key(&canister_id) || crate::doubles::is_double(&sm, &canister_id)
        {
            return None;
        }
        Some(sm.subnets[sm.subnet_index(&canister_id)].id)
    }

    /// The first and last canister id of the subnet's range (the routing table's).
    pub fn subnet_canister_range(&self, subnet: SubnetId) -> Option<(Principal, Principal)> {
        let sm = self.sm.borrow();
        let s = &sm.subnets[sm.subnet_by_id(&subnet)?];
        Some((
            ids::canister_id_from_u64(s.range_start),
            ids::canister_id_from_u64(s.range_end),
        ))
    }

    /// Changes subnet `subnet`'s capacity from the next admission on.
    pub fn set_subnet_config_of(&self, subnet: SubnetId, config: SubnetConfig) -> bool {
        let mut sm = self.sm.borrow_mut();
        let Some(i) = sm.subnet_by_id(&subnet) else {
            return false;
        };
        sm.subnets[i].capacity.config = config;
        true
    }

    /// How much longer a cross-subnet message takes, from now on.
    pub fn set_xnet_config(&self, xnet: XNetConfig) {
        self.sm.borrow_mut().xnet = xnet;
    }

    pub fn xnet_config(&self) -> XNetConfig {
        self.sm.borrow().xnet
    }

    /// Canister requests sent to another subnet since the emulator was
    /// built (each answered by one response back): what a fleet's
    /// cross-subnet traffic costs, for benchmarks.
    pub fn xnet_requests(&self) -> u64 {
        self.sm.borrow().xnet_requests
    }

    /// Installs the CMC test double (see [`EmulatorBuilder::with_cmc_double`]);
    /// fails if a canister already has its id.
    pub fn install_cmc_double(&self) -> Result<Principal, String> {
        let mut sm = self.sm.borrow_mut();
        let id = *crate::doubles::cmc::CMC_ID;
        if sm.canisters.contains_key(&id) {
            return Err(format!("a canister already has the CMC's id {id}"));
        }
        sm.doubles.cmc = true;
        Ok(id)
    }

    /// Installs the cycles-ledger test double (see
    /// [`EmulatorBuilder::with_cycles_ledger_double`]) with empty books; fails
    /// if a canister already has its id. Installing it again keeps its books.
    pub fn install_cycles_ledger_double(&self) -> Result<Principal, String> {
        let mut sm = self.sm.borrow_mut();
        let id = *crate::doubles::cycles_ledger::CYCLES_LEDGER_ID;
        if sm.canisters.contains_key(&id) {
            return Err(format!(
                "a canister already has the cycles ledger's id {id}"
            ));
        }
        if sm.doubles.cycles_ledger.is_none() {
            sm.doubles.cycles_ledger = Some(Default::default());
        }
        Ok(id)
    }

    /// **Test only**: credits `owner`'s default account on the cycles-ledger
    /// double with `cycles` out of nothing, as a local network's launcher
    /// funds the developer's identity (on the IC only `deposit` does).
    /// Fails if the double is not installed.
    pub fn mint_ledger_cycles(&self, owner: Principal, cycles: u128) -> Result<u128, String> {
        let mut sm = self.sm.borrow_mut();
        let book = sm
            .doubles
            .cycles_ledger
            .as_mut()
            .ok_or("the cycles-ledger double is not installed")?;
        let account = crate::doubles::cycles_ledger::Account::of(owner);
        book.credit(account, cycles);
        Ok(book.balance(&account))
    }

    /// `owner`'s default account's balance on the cycles-ledger double (0
    /// if the double is not installed).
    pub fn ledger_balance(&self, owner: Principal) -> u128 {
        let sm = self.sm.borrow();
        let account = crate::doubles::cycles_ledger::Account::of(owner);
        sm.doubles
            .cycles_ledger
            .as_ref()
            .map_or(0, |b| b.balance(&account))
    }

    /// A canister on `subnet` controlled by `sender` (anonymous by default),
    /// with 100 T cycles; panics on failure, like PocketIC's.
    pub fn create_canister_on_subnet(
        &self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        subnet: SubnetId,
    ) -> Principal {
        self.try_create_canister_on_subnet(sender, settings, None, subnet)
            .unwrap_or_else(|e| panic!("create_canister_on_subnet failed: {e}"))
    }

    /// `provisional_create_canister_with_cycles` on `subnet`'s management canister.
    pub fn try_create_canister_on_subnet(
        &self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        cycles: Option<u128>,
        subnet: SubnetId,
    ) -> Result<Principal, RejectResponse> {
        if self.sm.borrow().subnet_by_id(&subnet).is_none() {
            return Err(RejectResponse::new(
                ic_error_types::ErrorCode::SubnetNotFound,
                format!("Subnet {subnet} not found"),
            ));
        }
        let args = ProvisionalCreateCanisterWithCyclesArgs {
            amount: cycles.map(Nat::from),
            settings,
            specified_id: None,
            sender_canister_version: None,
        };
        let bytes = self.management_on(
            Some(subnet),
            sender.unwrap_or_else(Principal::anonymous),
            "provisional_create_canister_with_cycles",
            candid::encode_one(args).expect("encodes"),
        )?;
        let r: CanisterIdRecord = candid::decode_one(&bytes).map_err(|e| {
            RejectResponse::new(
                ic_error_types::ErrorCode::InvalidManagementPayload,
                e.to_string(),
            )
        })?;
        Ok(r.canister_id)
    }
}
