//! Small text helpers for the page: HTML escaping, durations, shares.

/// Text made safe for HTML element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A duration in nanoseconds, to the largest whole unit: "42 s", "3 min",
/// "5 h", "2 d".
pub fn duration(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7_199 => format!("{} min", s / 60),
        7_200..=172_799 => format!("{} h", s / 3_600),
        _ => format!("{} d", s / 86_400),
    }
}

/// How long before `now` `then` was ("just now" for the future).
pub fn ago(now_ns: u64, then_ns: u64) -> String {
    if then_ns >= now_ns {
        return "just now".into();
    }
    format!("{} ago", duration(now_ns - then_ns))
}

/// Basis points as a percentage with up to two decimals: 50 -> "0.5 %".
pub fn percent(bps: u64) -> String {
    let (whole, frac) = (bps / 100, bps % 100);
    match frac {
        0 => format!("{whole} %"),
        f if f % 10 == 0 => format!("{whole}.{} %", f / 10),
        f => format!("{whole}.{f:02} %"),
    }
}

/// `part` of `total` in basis points (0 when there is no total).
pub fn share_bps(part: u64, total: u64) -> u64 {
    (u128::from(part) * 10_000)
        .checked_div(u128::from(total))
        .map_or(0, |v| v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashboard_text_is_escaped_for_html() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("1.0.0-rc.1+ü"), "1.0.0-rc.1+ü");
    }

    #[test]
    fn dashboard_durations_and_shares_read_as_a_person_writes_them() {
        const S: u64 = 1_000_000_000;
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(119 * S), "119 s");
        assert_eq!(duration(120 * S), "2 min");
        assert_eq!(duration(3 * 3_600 * S), "3 h");
        assert_eq!(duration(3 * 86_400 * S), "3 d");
        assert_eq!(ago(10 * S, 4 * S), "6 s ago");
        assert_eq!(ago(4 * S, 10 * S), "just now");
        assert_eq!(percent(10_000), "100 %");
        assert_eq!(percent(50), "0.5 %");
        assert_eq!(percent(1_234), "12.34 %");
        assert_eq!(share_bps(1, 3), 3_333);
        assert_eq!(share_bps(5, 0), 0);
    }
}
