//! The factory's own rollout dashboard, served by its `http_request` query
//! through any HTTP gateway: an HTML page (no external assets, refreshed live
//! by a small inline script) and a JSON feed of the same figures.
//!
//! - [`routes`]: which path is which;
//! - [`snapshot`]: the figures, gathered from counters and bounded
//!   structures only, so a request costs the same at any fleet size;
//! - [`html`] and [`format`]: pure rendering, tested natively.
//!
//! The gateway calls as the anonymous principal, so the page shows only
//! aggregates (no principals, no per-canister error messages): the same
//! kind of figures `/metrics` already publishes.

pub mod format;
pub mod html;
pub mod routes;
pub mod snapshot;

#[cfg(test)]
mod tests;

use crate::metrics::{self, HttpRequest, HttpResponse};
use crate::state::FactoryState;
use ic_stable_structures::Memory;
use routes::Route;

/// The one `http_request` handler: the dashboard's routes and `/metrics`.
pub fn http_request<M: Memory>(
    s: &FactoryState<M>,
    req: &HttpRequest,
    cycles_balance: u128,
    now_ns: u64,
) -> HttpResponse {
    let route = match Route::parse(&req.url) {
        Some(r) => r,
        None => return response(404, "text/plain", routes::NOT_FOUND.into()),
    };
    if req.method != "GET" && req.method != "HEAD" {
        return response(405, "text/plain", "only GET\n".into());
    }
    match route {
        Route::Metrics => metrics::http_request(s, req, cycles_balance, now_ns),
        Route::Page => response(
            200,
            "text/html; charset=utf-8",
            html::page(&snapshot::gather(s, now_ns)),
        ),
        Route::Live => response(
            200,
            "text/html; charset=utf-8",
            html::live(&snapshot::gather(s, now_ns)),
        ),
        Route::Feed => response(
            200,
            "application/json",
            serde_json::to_string(&snapshot::gather(s, now_ns))
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
        ),
    }
}

fn response(status_code: u16, content_type: &str, body: String) -> HttpResponse {
    HttpResponse {
        status_code,
        headers: vec![
            ("Content-Type".into(), content_type.into()),
            ("Content-Length".into(), body.len().to_string()),
            ("Cache-Control".into(), "no-store".into()),
            // Nothing but this canister: the page loads no external asset.
            (
                "Content-Security-Policy".into(),
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'".into(),
            ),
        ],
        body: serde_bytes::ByteBuf::from(body.into_bytes()),
    }
}
