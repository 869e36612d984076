//! The HTTP endpoints (interface spec, "HTTPS interface"): routing, bodies,
//! and the CBOR replies; requests for `<canister id>.localhost` go to the
//! HTTP gateway instead.

use crate::envelope::{authenticate, Authenticated};
use crate::gateway;
use crate::keys::Keys;
use crate::network::{Call, Command, NetworkHandle};
use crate::refusal::Refusal;
use crate::state_tree::ReadTarget;
use candid::Principal;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use ic_certification::hash_tree::{HashTree, Label};
use ic_certification::Certificate;
use ic_transport_types::{
    EnvelopeContent, NodeSignature, QueryResponse, RejectCode, RejectResponse, ReplyResponse,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

pub type Body = Full<Bytes>;

/// What the HTTP side shares.
pub struct Context {
    pub net: NetworkHandle,
    pub keys: Arc<Keys>,
    pub max_body_bytes: usize,
    /// How long a synchronous call (v3/v4) waits before answering 202.
    pub sync_call_timeout: Duration,
}

pub async fn serve(
    ctx: Arc<Context>,
    req: Request<Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    if let Some(canister) = gateway::target_canister(&req) {
        return Ok(gateway::handle(&ctx, canister, req).await);
    }
    Ok(match route(&ctx, req).await {
        Ok(resp) => resp,
        Err(r) => text(r.status, r.message),
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CallMode {
    /// v2: answer 202 at once; the caller polls read_state.
    Async,
    /// v3 and v4: wait for the outcome and answer with its certificate.
    Sync,
}

async fn route(ctx: &Context, req: Request<Incoming>) -> Result<Response<Body>, Refusal> {
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method(), parts.as_slice()) {
        (&Method::GET, ["api", "v2", "status"]) => Ok(status(ctx)),
        (&Method::POST, ["api", v, kind, id, endpoint]) => {
            let id = Principal::from_text(id)
                .map_err(|e| Refusal::bad_request(format!("'{id}' is not a principal: {e}")))?;
            let body = read_body(ctx, req).await?;
            match (*v, *kind, *endpoint) {
                ("v2", "canister", "call") => call(ctx, id, &body, CallMode::Async).await,
                ("v3" | "v4", "canister", "call") => call(ctx, id, &body, CallMode::Sync).await,
                ("v2" | "v3", "canister", "query") => query(ctx, id, &body).await,
                ("v2" | "v3", "canister", "read_state") => {
                    read_state(ctx, ReadTarget::Canister(id), &body).await
                }
                ("v2" | "v3", "subnet", "read_state") => {
                    if !ctx.net.topology().serves(id) {
                        return Err(Refusal::not_found(format!("no subnet {id} here")));
                    }
                    read_state(ctx, ReadTarget::Subnet(id), &body).await
                }
                _ => Err(Refusal::not_found(format!("no endpoint {path}"))),
            }
        }
        (_, ["api", ..]) => Err(Refusal::not_found(format!("no endpoint {} {path}", req.method()))),
        _ => Err(Refusal::not_found(
            "this is the IC HTTP interface (/api/...); a canister's pages are at http://<canister id>.localhost:<port>/",
        )),
    }
}

async fn read_body(ctx: &Context, req: Request<Incoming>) -> Result<Bytes, Refusal> {
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body exceeds {} bytes", ctx.max_body_bytes),
        )
    };
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > ctx.max_body_bytes) {
        return Err(too_large());
    }
    Limited::new(req.into_body(), ctx.max_body_bytes)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|_| too_large())
}

fn status(ctx: &Context) -> Response<Body> {
    let mut m = std::collections::BTreeMap::new();
    use serde_cbor::Value;
    m.insert(
        Value::Text("ic_api_version".into()),
        Value::Text("0.18.0".into()),
    );
    m.insert(
        Value::Text("impl_version".into()),
        Value::Text(format!("ic-emulator-http {}", env!("CARGO_PKG_VERSION"))),
    );
    m.insert(
        Value::Text("replica_health_status".into()),
        Value::Text("healthy".into()),
    );
    m.insert(
        Value::Text("root_key".into()),
        Value::Bytes(ctx.keys.root_key_der.clone()),
    );
    cbor_response(StatusCode::OK, &Value::Map(m))
}

/// The effective canister id rules (spec, "Effective canister id").
fn check_effective(
    canister: Principal,
    method: &str,
    arg: &[u8],
    effective: Principal,
) -> Result<(), Refusal> {
    if canister != Principal::management_canister() {
        if canister != effective {
            return Err(Refusal::bad_request(format!(
                "the canister id {canister} in the request does not match the effective canister id {effective} in the URL"
            )));
        }
        return Ok(());
    }
    if matches!(
        method,
        "create_canister" | "provisional_create_canister_with_cycles"
    ) {
        return Ok(());
    }
    let field = if method == "install_chunked_code" {
        "target_canister"
    } else {
        "canister_id"
    };
    match crate::candid_field::principal_field(arg, field) {
        Some(p) if p == effective => Ok(()),
        Some(p) => Err(Refusal::bad_request(format!(
            "the management call names canister {p} but the effective canister id is {effective}"
        ))),
        None => Err(Refusal::bad_request(format!(
            "a call to aaaaa-aa.{method} needs a record argument with a `{field}` principal"
        ))),
    }
}

async fn call(
    ctx: &Context,
    effective: Principal,
    body: &[u8],
    mode: CallMode,
) -> Result<Response<Body>, Refusal> {
    let auth = authenticate(body, ctx.net.now())?;
    if let EnvelopeContent::Call { canister_id, .. } = &auth.content {
        auth.check_target(*canister_id, effective)?;
    }
    let Authenticated {
        content,
        request_id,
        ..
    } = auth;
    let EnvelopeContent::Call {
        ingress_expiry,
        sender,
        canister_id,
        method_name,
        arg,
        ..
    } = content
    else {
        return Err(Refusal::bad_request(
            "the call endpoint takes request_type \"call\"",
        ));
    };
    check_effective(canister_id, &method_name, &arg, effective)?;
    let (tx, rx) = oneshot::channel();
    let call = Call {
        request_id,
        sender,
        canister: canister_id,
        method: method_name,
        arg,
        effective_canister: effective,
        expiry: ingress_expiry,
    };
    send(ctx, Command::Call(call, tx))?;
    if let Err(reject) = receive(rx).await? {
        let reject = to_transport_reject(&reject);
        return Ok(match mode {
            CallMode::Async => cbor_response(StatusCode::OK, &reject),
            CallMode::Sync => cbor_response(
                StatusCode::OK,
                &ic_transport_types::TransportCallResponse::NonReplicatedRejection(reject),
            ),
        });
    }
    if mode == CallMode::Async {
        return Ok(empty(StatusCode::ACCEPTED));
    }
    let (tx, rx) = oneshot::channel();
    send(ctx, Command::AwaitDone(request_id, tx))?;
    if tokio::time::timeout(ctx.sync_call_timeout, rx)
        .await
        .is_err()
    {
        return Ok(empty(StatusCode::ACCEPTED));
    }
    let paths = vec![vec![
        Label::from(b"request_status".to_vec()),
        Label::from(request_id.as_slice().to_vec()),
    ]];
    let tree = witness(ctx, sender, ReadTarget::Canister(effective), paths).await?;
    Ok(cbor_response(
        StatusCode::OK,
        &ic_transport_types::TransportCallResponse::Replied {
            certificate: certify(&ctx.keys, tree),
        },
    ))
}

async fn query(
    ctx: &Context,
    effective: Principal,
    body: &[u8],
) -> Result<Response<Body>, Refusal> {
    let auth = authenticate(body, ctx.net.now())?;
    if let EnvelopeContent::Query { canister_id, .. } = &auth.content {
        auth.check_target(*canister_id, effective)?;
    }
    let Authenticated {
        content,
        request_id,
        ..
    } = auth;
    let EnvelopeContent::Query {
        sender,
        canister_id,
        method_name,
        arg,
        ..
    } = content
    else {
        return Err(Refusal::bad_request(
            "the query endpoint takes request_type \"query\"",
        ));
    };
    check_effective(canister_id, &method_name, &arg, effective)?;
    let (tx, rx) = oneshot::channel();
    send(
        ctx,
        Command::Query {
            canister: canister_id,
            sender,
            method: method_name,
            arg,
            reply: tx,
        },
    )?;
    let response = match receive(rx).await? {
        Ok(arg) => QueryResponse::Replied {
            reply: ReplyResponse { arg },
            signatures: vec![],
        },
        Err(reject) => QueryResponse::Rejected {
            reject: to_transport_reject(&reject),
            signatures: vec![],
        },
    };
    // The node signs the response, so agents can check it against the node
    // key the certified tree publishes.
    let timestamp = crate::network::wall_clock_nanos();
    let signature = NodeSignature {
        timestamp,
        signature: ctx
            .keys
            .node_sign(&response.signable(request_id, timestamp)),
        identity: ctx.keys.node_id,
    };
    let signed = match response {
        QueryResponse::Replied { reply, .. } => QueryResponse::Replied {
            reply,
            signatures: vec![signature],
        },
        QueryResponse::Rejected { reject, .. } => QueryResponse::Rejected {
            reject,
            signatures: vec![signature],
        },
    };
    Ok(cbor_response(StatusCode::OK, &signed))
}

async fn read_state(
    ctx: &Context,
    target: ReadTarget,
    body: &[u8],
) -> Result<Response<Body>, Refusal> {
    if let ReadTarget::Canister(id) = target {
        if !ctx.net.topology().routes(id) {
            return Err(Refusal::bad_request(format!(
                "the effective canister id {id} is in no subnet's canister ranges"
            )));
        }
    }
    let auth = authenticate(body, ctx.net.now())?;
    if let ReadTarget::Canister(id) = target {
        auth.check_target(id, id)?;
    }
    let Authenticated { content, .. } = auth;
    let EnvelopeContent::ReadState { sender, paths, .. } = content else {
        return Err(Refusal::bad_request(
            "the read_state endpoint takes request_type \"read_state\"",
        ));
    };
    let tree = witness(ctx, sender, target, paths).await?;
    Ok(cbor_response(
        StatusCode::OK,
        &ic_transport_types::ReadStateResponse {
            certificate: certify(&ctx.keys, tree),
        },
    ))
}

async fn witness(
    ctx: &Context,
    sender: Principal,
    target: ReadTarget,
    paths: Vec<Vec<Label<Vec<u8>>>>,
) -> Result<HashTree<Vec<u8>>, Refusal> {
    let (tx, rx) = oneshot::channel();
    send(
        ctx,
        Command::ReadState {
            sender,
            target,
            paths,
            reply: tx,
        },
    )?;
    receive(rx).await?
}

/// A certificate of `tree`: its root hash signed with the subnet's key.
pub fn certify(keys: &Keys, tree: HashTree<Vec<u8>>) -> Vec<u8> {
    let signature = keys.sign_root_hash(&tree.digest());
    cbor(&Certificate {
        tree,
        signature,
        delegation: None,
    })
}

fn to_transport_reject(r: &ic_emulator::RejectResponse) -> RejectResponse {
    RejectResponse {
        reject_code: RejectCode::try_from(r.reject_code as u64).unwrap_or(RejectCode::SysFatal),
        reject_message: r.reject_message.clone(),
        error_code: Some(r.error_code.to_string()),
    }
}

fn send(ctx: &Context, cmd: Command) -> Result<(), Refusal> {
    if ctx.net.send(cmd) {
        Ok(())
    } else {
        Err(unavailable())
    }
}

async fn receive<T>(rx: oneshot::Receiver<T>) -> Result<T, Refusal> {
    rx.await.map_err(|_| unavailable())
}

fn unavailable() -> Refusal {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the network is shutting down",
    )
}

pub fn cbor<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut s = serde_cbor::Serializer::new(Vec::new());
    s.self_describe().expect("writing to a Vec");
    value.serialize(&mut s).expect("plain data encodes");
    s.into_inner()
}

fn cbor_response<T: serde::Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    response(status, "application/cbor", cbor(value))
}

pub fn text(status: StatusCode, message: String) -> Response<Body> {
    response(status, "text/plain; charset=utf-8", message.into_bytes())
}

fn empty(status: StatusCode) -> Response<Body> {
    response(status, "text/plain", Vec::new())
}

pub fn response(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}
