//! The paths `http_request` answers.

/// What a 404 lists.
pub const NOT_FOUND: &str =
    "not found: try /dashboard (HTML), /dashboard.json (JSON) or /metrics (Prometheus)\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Prometheus text format.
    Metrics,
    /// The dashboard page.
    Page,
    /// The page's live part alone, which its script fetches to refresh.
    Live,
    /// The same figures as JSON.
    Feed,
}

impl Route {
    /// The route of a request URL (its query string ignored), or None.
    pub fn parse(url: &str) -> Option<Route> {
        let path = url.split(['?', '#']).next().unwrap_or_default();
        match path.trim_end_matches('/') {
            "/metrics" => Some(Route::Metrics),
            "" | "/dashboard" => Some(Route::Page),
            "/dashboard/live" => Some(Route::Live),
            "/dashboard.json" => Some(Route::Feed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashboard_paths_map_to_their_routes_and_ignore_the_query() {
        for (url, route) in [
            ("/", Some(Route::Page)),
            ("/dashboard", Some(Route::Page)),
            ("/dashboard/?canisterId=aaaaa-aa", Some(Route::Page)),
            ("/dashboard/live?canisterId=aaaaa-aa", Some(Route::Live)),
            ("/dashboard.json", Some(Route::Feed)),
            ("/metrics?canisterId=aaaaa-aa", Some(Route::Metrics)),
            ("/metricsx", None),
            ("/dashboard/other", None),
        ] {
            assert_eq!(Route::parse(url), route, "{url}");
        }
    }
}
