//! The endpoints a canister declares in its committed `.did`, so hardening
//! tests cover exactly the interface the canister ships.

use candid::types::{FuncMode, TypeInner};
use candid_parser::utils::CandidSource;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DidMethod {
    pub name: String,
    pub query: bool,
    /// The argument types, roughly.
    pub args: Vec<ArgKind>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    Opt,
    Text,
    /// `blob` (`vec nat8`).
    Blob,
    Other,
}

/// `factory/factory.did`.
pub fn factory_did() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../factory/factory.did")
}

/// `user_canister/user_canister.did`.
pub fn user_canister_did() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../user_canister/user_canister.did")
}

/// Every method of the service in `path`, in the file's order.
pub fn methods(path: &Path) -> Vec<DidMethod> {
    let (env, actor) = CandidSource::File(path)
        .load()
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
    let actor = actor.unwrap_or_else(|| panic!("{} declares no service", path.display()));
    let service = env
        .as_service(&actor)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    service
        .iter()
        .map(|(name, ty)| {
            let ty = env.trace_type(ty).unwrap_or_else(|e| panic!("{name}: {e}"));
            let TypeInner::Func(f) = ty.as_ref() else {
                panic!("{name} is not a method: {ty:?}");
            };
            let query = f
                .modes
                .iter()
                .any(|m| matches!(m, FuncMode::Query | FuncMode::CompositeQuery));
            let args = f
                .args
                .iter()
                .map(|a| match env.trace_type(a).map(|t| t.as_ref().clone()) {
                    Ok(TypeInner::Opt(_)) => ArgKind::Opt,
                    Ok(TypeInner::Text) => ArgKind::Text,
                    Ok(TypeInner::Vec(t)) if matches!(t.as_ref(), TypeInner::Nat8) => ArgKind::Blob,
                    _ => ArgKind::Other,
                })
                .collect();
            DidMethod {
                name: name.clone(),
                query,
                args,
            }
        })
        .collect()
}

/// The update (non-query) methods of the service in `path`.
pub fn update_methods(path: &Path) -> Vec<DidMethod> {
    methods(path).into_iter().filter(|m| !m.query).collect()
}
