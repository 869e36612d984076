//! The HTTP gateway: `http://<canister id>.localhost:<port>/<path>` (or
//! `/<path>?canisterId=<id>`) is answered by the canister's `http_request`
//! query, or by `http_request_update` when the query's response asks for the
//! upgrade, as the IC's gateways do (the HTTP gateway protocol). Responses are
//! passed on without response verification: this gateway runs beside the
//! node it trusts.

use crate::http::{response, text, Body, Context};
use crate::network::Command;
use candid::{CandidType, Deserialize, Principal};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::sync::oneshot;

#[derive(CandidType)]
struct HttpRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: serde_bytes::ByteBuf,
    certificate_version: Option<u16>,
}

#[derive(CandidType, Deserialize)]
struct HttpResponse {
    status_code: u16,
    headers: Vec<(String, String)>,
    body: serde_bytes::ByteBuf,
    upgrade: Option<bool>,
}

/// The canister a request is for, if it is a gateway request.
pub fn target_canister<B>(req: &Request<B>) -> Option<Principal> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = host.split(':').next().unwrap_or("");
    if let Some(id) = name
        .strip_suffix(".localhost")
        .map(|s| s.trim_end_matches(".raw"))
    {
        return Principal::from_text(id).ok();
    }
    if req.uri().path().starts_with("/api/") {
        return None;
    }
    req.uri().query()?.split('&').find_map(|kv| {
        kv.strip_prefix("canisterId=")
            .and_then(|id| Principal::from_text(id).ok())
    })
}

pub async fn handle(ctx: &Context, canister: Principal, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().to_string();
    let url = req
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = match Limited::new(req.into_body(), ctx.max_body_bytes)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large".into(),
            )
        }
    };
    let request = HttpRequest {
        method,
        url,
        headers,
        body: serde_bytes::ByteBuf::from(body),
        certificate_version: Some(2),
    };
    let Ok(arg) = candid::encode_one(&request) else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding the request".into(),
        );
    };
    let (tx, rx) = oneshot::channel();
    let query = Command::Query {
        canister,
        sender: Principal::anonymous(),
        method: "http_request".into(),
        arg: arg.clone(),
        reply: tx,
    };
    if !ctx.net.send(query) {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the network is shutting down".into(),
        );
    }
    let mut reply = match rx.await {
        Ok(r) => r,
        Err(_) => {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the network is shutting down".into(),
            )
        }
    };
    if let Ok(Some(true)) = decode(&reply).map(|r| r.upgrade) {
        reply = ctx
            .net
            .with(move |emu| {
                emu.update_call(canister, Principal::anonymous(), "http_request_update", arg)
            })
            .await
            .unwrap_or_else(|| {
                Err(ic_emulator::RejectResponse::new(
                    ic_emulator::ErrorCode::CanisterNotFound,
                    "the network is shutting down",
                ))
            });
    }
    match decode(&reply) {
        Ok(r) => {
            let content_type = r
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .map_or("application/octet-stream".to_string(), |(_, v)| v.clone());
            let mut resp = response(
                StatusCode::from_u16(r.status_code).unwrap_or(StatusCode::BAD_GATEWAY),
                &content_type,
                r.body.into_vec(),
            );
            for (k, v) in &r.headers {
                let skip = [
                    "content-type",
                    "content-length",
                    "transfer-encoding",
                    "connection",
                ];
                if skip.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                    continue;
                }
                if let (Ok(k), Ok(v)) = (
                    hyper::header::HeaderName::from_bytes(k.as_bytes()),
                    hyper::header::HeaderValue::from_str(v),
                ) {
                    resp.headers_mut().append(k, v);
                }
            }
            resp
        }
        Err(message) => text(StatusCode::BAD_GATEWAY, message),
    }
}

fn decode(reply: &ic_emulator::CallResult) -> Result<HttpResponse, String> {
    match reply {
        Ok(bytes) => candid::decode_one(bytes)
            .map_err(|e| format!("the canister's http_request reply is not an HttpResponse: {e}")),
        Err(r) => Err(format!(
            "the canister rejected the request: {} ({})",
            r.reject_message, r.error_code
        )),
    }
}
