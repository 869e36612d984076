//! A release's app argument: kept with the release from `begin_upload` on,
//! bounded, Candid or refused, and fixed once committed (it is part of what
//! the approvers approved).

mod common;
use common::*;
use serde_bytes::ByteBuf;
use wasm_registry::*;

fn with_arg(version: &str, module: &[u8], arg: &[u8]) -> BeginUpload {
    BeginUpload {
        app_arg: Some(ByteBuf::from(arg.to_vec())),
        ..begin_args(version, module)
    }
}

#[test]
fn the_app_arg_is_kept_with_the_release() {
    let mut reg = registry();
    let module = wasm(500, 1);
    let arg = candid::encode_one(("greeting", 7u32)).unwrap();
    reg.begin_upload(with_arg("1.0.0", &module, &arg), alice(), 1)
        .unwrap();
    upload_all(&mut reg, "1.0.0", &module);
    let committed = reg.commit_upload(&v("1.0.0"), 2).unwrap();
    assert_eq!(committed.app_arg.as_deref(), Some(&arg));
    let reopened = reg.release(&v("1.0.0")).unwrap();
    assert_eq!(reopened.app_arg.as_deref(), Some(&arg));
    assert_eq!(publish(&mut reg, "2.0.0", &wasm(500, 2)).app_arg, None);
}

#[test]
fn an_app_arg_too_large_or_not_candid_is_refused() {
    let mut reg = registry();
    let module = wasm(500, 1);
    let mut big = b"DIDL".to_vec();
    big.resize(MAX_APP_ARG_LEN + 1, 0);
    assert_eq!(
        reg.begin_upload(with_arg("1.0.0", &module, &big), alice(), 1),
        Err(RegistryError::AppArgTooLarge {
            len: MAX_APP_ARG_LEN as u64 + 1,
            max: MAX_APP_ARG_LEN as u64,
        })
    );
    assert_eq!(
        reg.begin_upload(with_arg("1.0.0", &module, b"{\"json\":1}"), alice(), 1),
        Err(RegistryError::AppArgNotCandid)
    );
    big.truncate(MAX_APP_ARG_LEN);
    assert!(reg
        .begin_upload(with_arg("1.0.0", &module, &big), alice(), 1)
        .is_ok());
}

#[test]
fn a_committed_release_keeps_its_app_arg() {
    let mut reg = registry();
    let module = wasm(500, 1);
    let first = candid::encode_one(1u8).unwrap();
    let second = candid::encode_one(2u8).unwrap();
    // Before commit another argument replaces the upload ...
    reg.begin_upload(with_arg("1.0.0", &module, &first), alice(), 1)
        .unwrap();
    reg.begin_upload(with_arg("1.0.0", &module, &second), alice(), 2)
        .unwrap();
    upload_all(&mut reg, "1.0.0", &module);
    let r = reg.commit_upload(&v("1.0.0"), 3).unwrap();
    assert_eq!(r.app_arg.as_deref(), Some(&second));
    // ... after it, the version is taken with the one committed.
    assert_eq!(
        reg.begin_upload(with_arg("1.0.0", &module, &first), alice(), 4),
        Err(RegistryError::AppArgConflict {
            version: "1.0.0".into()
        })
    );
    assert!(reg
        .begin_upload(with_arg("1.0.0", &module, &second), alice(), 5)
        .is_ok());
}
