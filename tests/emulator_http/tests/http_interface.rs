//! The server against ic-agent 0.45, a client nobody here wrote: a canister
//! deployed and called over HTTP with every check of the agent on (root key,
//! certificates, query signatures), with Ed25519, secp256k1, P-256 and
//! anonymous senders; and bad requests refused with the spec's statuses while
//! the state stays as it was.

use candid::{Encode, Principal};
use ic_agent::agent::RequestStatusResponse;
use ic_agent::identity::{AnonymousIdentity, BasicIdentity, Prime256v1Identity, Secp256k1Identity};
use ic_agent::{Agent, AgentError, Identity};
use ic_emulator::management_types::{
    CanisterIdRecord, CanisterInstallMode, InstallCodeArgs, ProvisionalCreateCanisterWithCyclesArgs,
};
use ic_emulator::Emulator;
use ic_emulator_http::{Server, ServerConfig};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::time::Duration;

/// A counter: `inc` adds one, certifies the count and replies with it
/// (4 bytes, little-endian); the query `read` replies with it.
const COUNTER: &str = r#"(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "certified_data_set" (func $certify (param i32 i32)))
  (memory 1)
  (func $reply_count (call $append (i32.const 0) (i32.const 4)) (call $reply))
  (func (export "canister_update inc")
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (call $certify (i32.const 0) (i32.const 4))
    (call $reply_count))
  (func (export "canister_query read") (call $reply_count)))"#;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn start() -> Server {
    let config = ServerConfig {
        round: Duration::from_millis(20),
        ..ServerConfig::default()
    };
    Server::start(config, Emulator::new).unwrap()
}

async fn agent(server: &Server, identity: impl Identity + 'static) -> Agent {
    let agent = Agent::builder()
        .with_url(server.url())
        .with_identity(identity)
        .with_verify_query_signatures(true)
        .build()
        .unwrap();
    agent.fetch_root_key().await.unwrap();
    agent
}

fn ed25519(seed: u8) -> BasicIdentity {
    BasicIdentity::from_raw_key(&[seed; 32])
}

/// Creates and installs the counter over HTTP, as dfx and icp-cli deploy.
async fn deploy_counter(agent: &Agent) -> (Principal, Vec<u8>) {
    deploy_module(agent, wat::parse_str(COUNTER).unwrap()).await
}

/// Creates a canister and installs `wasm` into it.
async fn deploy_module(agent: &Agent, wasm: Vec<u8>) -> (Principal, Vec<u8>) {
    let create = ProvisionalCreateCanisterWithCyclesArgs {
        amount: Some(candid::Nat::from(10_000_000_000_000u64)),
        settings: None,
        specified_id: None,
        sender_canister_version: None,
    };
    let reply = agent
        .update(
            &Principal::management_canister(),
            "provisional_create_canister_with_cycles",
        )
        .with_effective_canister_id(ic_emulator::ids::canister_id_from_u64(0))
        .with_arg(Encode!(&create).unwrap())
        .call_and_wait()
        .await
        .unwrap();
    let id = candid::decode_one::<CanisterIdRecord>(&reply)
        .unwrap()
        .canister_id;
    let install = InstallCodeArgs {
        mode: CanisterInstallMode::Install,
        canister_id: id,
        wasm_module: wasm.clone(),
        arg: vec![],
        sender_canister_version: None,
    };
    agent
        .update(&Principal::management_canister(), "install_code")
        .with_effective_canister_id(id)
        .with_arg(Encode!(&install).unwrap())
        .call_and_wait()
        .await
        .unwrap();
    (id, Sha256::digest(&wasm).to_vec())
}

fn count(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes.try_into().unwrap())
}

/// One HTTP/1.1 request on a fresh connection: (status, body).
fn post(server: &Server, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/cbor\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading all of a large body.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..text_end]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, out[text_end + 4..].to_vec())
}

#[test]
fn http_interface_agents_deploy_call_query_and_read_certified_state() {
    let server = start();
    let rt = runtime();
    rt.block_on(async {
        let admin = agent(&server, ed25519(1)).await;
        assert_eq!(admin.read_root_key(), server.root_key());
        let (id, module_hash) = deploy_counter(&admin).await;

        // Synchronous calls (v4) with each kind of sender; certified replies.
        let inc = |a: &Agent| {
            let a = a.clone();
            async move { count(&a.update(&id, "inc").call_and_wait().await.unwrap()) }
        };
        assert_eq!(inc(&admin).await, 1);
        let secp =
            Secp256k1Identity::from_private_key(k256::SecretKey::random(&mut rand::thread_rng()));
        assert_eq!(inc(&agent(&server, secp).await).await, 2);
        let p256 =
            Prime256v1Identity::from_private_key(p256::SecretKey::random(&mut rand::thread_rng()));
        assert_eq!(inc(&agent(&server, p256).await).await, 3);
        let anonymous = agent(&server, AnonymousIdentity).await;
        assert_eq!(inc(&anonymous).await, 4);

        // Queries, their node signature checked against the certified node key.
        let read = anonymous.query(&id, "read").call().await.unwrap();
        assert_eq!(count(&read), 4);

        // Certified canister state.
        assert_eq!(
            admin.read_state_canister_module_hash(id).await.unwrap(),
            module_hash
        );
        let controllers = admin.read_state_canister_controllers(id).await.unwrap();
        assert_eq!(controllers, vec![admin.get_principal().unwrap()]);

        // The asynchronous (v2) call, then polling its certified status.
        let signed = admin.update(&id, "inc").sign().unwrap();
        let (status, _) = post(
            &server,
            &format!("/api/v2/canister/{id}/call"),
            &signed.signed_update,
        );
        assert_eq!(status, 202);
        let (reply, _cert) = admin.wait(&signed.request_id, id).await.unwrap();
        assert_eq!(count(&reply), 5);

        // A canister's reject arrives certified, with its code.
        let err = admin
            .update(&id, "no_such_method")
            .call_and_wait()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                AgentError::CertifiedReject { .. } | AgentError::UncertifiedReject { .. }
            ),
            "{err}"
        );
    });
}

#[test]
fn http_interface_bad_requests_get_the_spec_status_and_change_nothing() {
    let server = start();
    let rt = runtime();
    rt.block_on(async {
        let admin = agent(&server, ed25519(2)).await;
        let (id, _) = deploy_counter(&admin).await;
        assert_eq!(
            count(&admin.update(&id, "inc").call_and_wait().await.unwrap()),
            1
        );
        let call_path = format!("/api/v4/canister/{id}/call");
        let mut refused = Vec::new();

        // Malformed CBOR.
        assert_eq!(post(&server, &call_path, b"\xd9\xd9\xf7 not cbor").0, 400);

        // The canister id in the content is not the one in the URL.
        let other = ic_emulator::ids::canister_id_from_u64(7);
        let signed = admin.update(&id, "inc").sign().unwrap();
        assert_eq!(
            post(
                &server,
                &format!("/api/v4/canister/{other}/call"),
                &signed.signed_update
            )
            .0,
            400
        );
        refused.push(signed.request_id);

        // Content changed after signing: its request id is no longer the signed one.
        let signed = admin.update(&id, "inc").sign().unwrap();
        let tampered = replace_content_field(
            &signed.signed_update,
            "method_name",
            serde_cbor::Value::Text("read".into()),
        );
        assert_eq!(post(&server, &call_path, &tampered).0, 400);
        refused.push(signed.request_id);

        // A signature that does not verify.
        let signed = admin.update(&id, "inc").sign().unwrap();
        let forged = flip_envelope_bytes(&signed.signed_update, "sender_sig");
        assert_eq!(post(&server, &call_path, &forged).0, 400);
        refused.push(signed.request_id);

        // Expired, and too far in the future.
        let past = std::time::SystemTime::now() - Duration::from_secs(60);
        let signed = admin.update(&id, "inc").expire_at(past).sign().unwrap();
        assert_eq!(post(&server, &call_path, &signed.signed_update).0, 400);
        refused.push(signed.request_id);
        let signed = admin
            .update(&id, "inc")
            .expire_after(Duration::from_secs(3600))
            .sign()
            .unwrap();
        assert_eq!(post(&server, &call_path, &signed.signed_update).0, 400);
        refused.push(signed.request_id);

        // A body above the limit.
        let huge = vec![0u8; ServerConfig::default().max_body_bytes + 1];
        assert_eq!(post(&server, &call_path, &huge).0, 413);

        // A query to the wrong effective canister; a read of another sender's call.
        let q = admin.query(&id, "read").sign().unwrap();
        assert_eq!(
            post(
                &server,
                &format!("/api/v3/canister/{other}/query"),
                &q.signed_query
            )
            .0,
            400
        );
        let mine = admin.update(&id, "inc").sign().unwrap();
        assert_eq!(
            post(
                &server,
                &format!("/api/v2/canister/{id}/call"),
                &mine.signed_update
            )
            .0,
            202
        );
        let stranger = agent(&server, ed25519(3)).await;
        let err = stranger
            .request_status_raw(&mine.request_id, id)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AgentError::HttpError(p) if p.status == 403),
            "{err}"
        );
        let (reply, _) = admin.wait(&mine.request_id, id).await.unwrap();
        assert_eq!(count(&reply), 2, "only the one valid call ran");

        // Nothing refused reached the state: no status for any, the count as it was.
        for request_id in refused {
            let (status, _) = admin.request_status_raw(&request_id, id).await.unwrap();
            assert!(
                matches!(status, RequestStatusResponse::Unknown),
                "{status:?}"
            );
        }
        assert_eq!(count(&admin.query(&id, "read").call().await.unwrap()), 2);
    });
}

#[test]
fn http_interface_a_tampered_certificate_is_refused_by_the_agent() {
    let server = start();
    let rt = runtime();
    rt.block_on(async {
        let admin = agent(&server, ed25519(4)).await;
        let (id, _) = deploy_counter(&admin).await;
        let paths = vec![vec![
            "canister".into(),
            id.as_slice().into(),
            "module_hash".into(),
        ]];
        let cert = admin.read_state_raw(paths, id).await.unwrap();
        admin.verify(&cert, id).unwrap();

        let mut bytes = serde_cbor::to_vec(&cert_value(&cert)).unwrap();
        let wire: ic_certification::Certificate = serde_cbor::from_slice(&bytes).unwrap();
        admin.verify(&wire, id).unwrap();
        // Change one byte of the revealed module hash.
        let hash = admin.read_state_canister_module_hash(id).await.unwrap();
        let at = bytes
            .windows(32)
            .position(|w| w == hash.as_slice())
            .unwrap();
        bytes[at] ^= 1;
        let tampered: ic_certification::Certificate = serde_cbor::from_slice(&bytes).unwrap();
        let err = admin.verify(&tampered, id).unwrap_err();
        assert!(
            matches!(err, AgentError::CertificateVerificationFailed()),
            "{err}"
        );
    });
}

fn cert_value(cert: &ic_certification::Certificate) -> serde_cbor::Value {
    serde_cbor::value::to_value(cert).unwrap()
}

fn envelope_map(bytes: &[u8]) -> std::collections::BTreeMap<serde_cbor::Value, serde_cbor::Value> {
    match serde_cbor::from_slice(bytes).unwrap() {
        serde_cbor::Value::Tag(_, inner) => match *inner {
            serde_cbor::Value::Map(m) => m,
            _ => panic!("not a map"),
        },
        serde_cbor::Value::Map(m) => m,
        _ => panic!("not a map"),
    }
}

fn replace_content_field(bytes: &[u8], field: &str, value: serde_cbor::Value) -> Vec<u8> {
    let mut env = envelope_map(bytes);
    let key = serde_cbor::Value::Text("content".into());
    let Some(serde_cbor::Value::Map(content)) = env.get_mut(&key) else {
        panic!("no content")
    };
    content.insert(serde_cbor::Value::Text(field.into()), value);
    serde_cbor::to_vec(&serde_cbor::Value::Map(env)).unwrap()
}

fn flip_envelope_bytes(bytes: &[u8], field: &str) -> Vec<u8> {
    let mut env = envelope_map(bytes);
    let Some(serde_cbor::Value::Bytes(b)) = env.get_mut(&serde_cbor::Value::Text(field.into()))
    else {
        panic!("no {field}")
    };
    b[0] ^= 1;
    serde_cbor::to_vec(&serde_cbor::Value::Map(env)).unwrap()
}

/// A chain of one delegation from `root` to `session`, as Internet Identity
/// hands a browser session key.
fn delegated(
    root: &BasicIdentity,
    session: BasicIdentity,
    expiration: u64,
    targets: Option<Vec<Principal>>,
) -> ic_agent::identity::DelegatedIdentity {
    let delegation = ic_transport_types::Delegation {
        pubkey: session.public_key().unwrap(),
        expiration,
        targets,
    };
    let signature = root
        .sign_arbitrary(&delegation.signable())
        .unwrap()
        .signature
        .unwrap();
    ic_agent::identity::DelegatedIdentity::new(
        root.public_key().unwrap(),
        Box::new(session),
        vec![ic_transport_types::SignedDelegation {
            delegation,
            signature,
        }],
    )
    .unwrap()
}

fn in_five_minutes() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (now + Duration::from_secs(300)).as_nanos() as u64
}

#[test]
fn http_interface_delegated_senders_act_as_the_root_key_within_their_targets() {
    let server = start();
    let rt = runtime();
    rt.block_on(async {
        // A canister deployed through a delegation is controlled by the root key's principal.
        let root = ed25519(8);
        let as_root = agent(&server, ed25519(8)).await;
        let session = agent(
            &server,
            delegated(&root, ed25519(9), in_five_minutes(), None),
        )
        .await;
        assert_eq!(session.get_principal().unwrap(), root.sender().unwrap());
        let (id, _) = deploy_counter(&session).await;
        let status = as_root
            .update(&Principal::management_canister(), "canister_status")
            .with_effective_canister_id(id)
            .with_arg(Encode!(&CanisterIdRecord { canister_id: id }).unwrap())
            .call_and_wait()
            .await;
        assert!(
            status.is_ok(),
            "the root key's principal controls it: {status:?}"
        );
        assert_eq!(
            count(&session.update(&id, "inc").call_and_wait().await.unwrap()),
            1
        );
        assert_eq!(count(&session.query(&id, "read").call().await.unwrap()), 1);

        // Targets restrict the canisters; an expired delegation is refused.
        let other = ic_emulator::ids::canister_id_from_u64(999);
        let elsewhere = agent(
            &server,
            delegated(&root, ed25519(10), in_five_minutes(), Some(vec![other])),
        )
        .await;
        let err = elsewhere
            .update(&id, "inc")
            .call_and_wait()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not among the targets"), "{err}");
        let err = elsewhere.query(&id, "read").call().await.unwrap_err();
        assert!(err.to_string().contains("not among the targets"), "{err}");
        let scoped = agent(
            &server,
            delegated(&root, ed25519(11), in_five_minutes(), Some(vec![id])),
        )
        .await;
        assert_eq!(
            count(&scoped.update(&id, "inc").call_and_wait().await.unwrap()),
            2
        );
        let stale = agent(&server, delegated(&root, ed25519(12), 1, None)).await;
        let err = stale.update(&id, "inc").call_and_wait().await.unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        // Nothing the refused calls asked for happened.
        assert_eq!(count(&as_root.query(&id, "read").call().await.unwrap()), 2);
    });
}

/// `wasm` with a custom section `name` holding `data` appended.
fn with_custom_section(mut wasm: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    leb128::write::unsigned(&mut body, name.len() as u64).unwrap();
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    wasm.push(0);
    leb128::write::unsigned(&mut wasm, body.len() as u64).unwrap();
    wasm.extend_from_slice(&body);
    wasm
}

#[test]
fn http_interface_metadata_sections_are_public_to_all_and_private_to_controllers() {
    let server = start();
    let rt = runtime();
    rt.block_on(async {
        let controller = agent(&server, ed25519(7)).await;
        let wasm = wat::parse_str(COUNTER).unwrap();
        let wasm = with_custom_section(wasm, "icp:public candid:service", b"service : {}");
        let wasm = with_custom_section(wasm, "icp:private secret", b"for controllers");
        let (id, _) = deploy_module(&controller, wasm).await;

        let stranger = agent(&server, ed25519(8)).await;
        let public = stranger
            .read_state_canister_metadata(id, "candid:service")
            .await
            .unwrap();
        assert_eq!(public, b"service : {}", "a public section, to anyone");
        let private = controller
            .read_state_canister_metadata(id, "secret")
            .await
            .unwrap();
        assert_eq!(
            private, b"for controllers",
            "a private section, to a controller"
        );
        let refused = stranger
            .read_state_canister_metadata(id, "secret")
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, AgentError::HttpError(p) if p.status == 403),
            "a private section, refused to a stranger: {refused}"
        );
        let missing = stranger
            .read_state_canister_metadata(id, "no such section")
            .await
            .unwrap_err();
        assert!(
            matches!(missing, AgentError::LookupPathAbsent(_)),
            "a missing section is proven absent: {missing}"
        );
    });
}

/// A network of two subnets, as icp-cli sees it when it deploys: the CMC
/// double's `get_default_subnets` names every emulated subnet, each one's
/// state is read at `/api/v3/subnet/<id>/read_state` (ic-agent verifies the
/// certificate with `verify_for_subnet`), its canister ranges are the range
/// canisters are created in, and a canister on the second subnet answers a
/// query whose node signature the agent checks against the tree.
#[test]
fn http_interface_every_subnet_reads_its_state_at_its_own_id() {
    let second_first_id = ic_emulator::ids::canister_id_from_u64(1 << 20);
    let server = Server::start(
        ServerConfig {
            round: Duration::from_millis(20),
            ..ServerConfig::default()
        },
        move || {
            let emu = Emulator::builder()
                .with_application_subnets(2)
                .with_cmc_double()
                .build();
            emu.create_canister_with_id(None, None, second_first_id)
                .unwrap();
            emu.add_cycles(second_first_id, 10_000_000_000_000);
            emu.install_canister(
                second_first_id,
                wat::parse_str(COUNTER).unwrap(),
                vec![],
                None,
            );
            emu
        },
    )
    .unwrap();
    let (subnets, ranges, host) = server
        .with_emulator(move |emu| {
            let subnets = emu.subnets();
            let ranges: Vec<_> = subnets
                .iter()
                .map(|s| emu.subnet_canister_range(*s).unwrap())
                .collect();
            (subnets, ranges, emu.get_subnet(second_first_id))
        })
        .unwrap();
    assert_eq!(subnets.len(), 2);
    assert_eq!(
        host,
        Some(subnets[1]),
        "the canister lives on the second subnet"
    );
    let rt = runtime();
    rt.block_on(async {
        let agent = agent(&server, ed25519(9)).await;
        let cmc = *ic_emulator::doubles::cmc::CMC_ID;
        let reply = agent
            .query(&cmc, "get_default_subnets")
            .with_arg(Encode!().unwrap())
            .call()
            .await
            .unwrap();
        let defaults: Vec<Principal> = candid::decode_one(&reply).unwrap();
        assert_eq!(defaults, subnets, "the CMC offers every emulated subnet");

        for (id, range) in defaults.iter().zip(&ranges) {
            // Verified by ic-agent against the root key (no delegation).
            let subnet = agent.fetch_subnet_by_id(id).await.unwrap();
            assert_eq!(subnet.id(), *id);
            assert_eq!(subnet.self_reported_key(), server.root_key());
            let served: Vec<_> = subnet.iter_canister_ranges().collect();
            assert_eq!(served, vec![range.0..=range.1], "subnet {id}'s ranges");
            assert!(subnet.iter_nodes().count() == 1, "one node, with its key");
            // The reads icp-cli makes: the subnet's canister ranges and key.
            let ranges_read = agent.read_state_subnet_canister_ranges(*id).await.unwrap();
            assert_eq!(ranges_read, vec![*range]);
        }
        assert!(
            second_first_id > ranges[0].1,
            "the second subnet's canister is outside the first's range"
        );

        // A query to the second subnet's canister, its signature checked by
        // the agent against the node key the certified tree publishes.
        let read = agent.query(&second_first_id, "read").call().await.unwrap();
        assert_eq!(count(&read), 0);
        let inc = agent
            .update(&second_first_id, "inc")
            .call_and_wait()
            .await
            .unwrap();
        assert_eq!(count(&inc), 1);

        // An id that is no subnet here: 404, as the replica answers.
        let stranger = Principal::self_authenticating(b"no such subnet");
        let Err(refused) = agent.fetch_subnet_by_id(&stranger).await else {
            panic!("subnet {stranger} was served");
        };
        assert!(
            matches!(&refused, AgentError::HttpError(p) if p.status == 404),
            "an unknown subnet: {refused}"
        );
    });
}
