//! `/status`: a live page for the operator at the director, "what is wrong right now": the
//! virtual services with their backends (weight, connections, keepalived's checker verdict,
//! the kernel's rates), the VRRP instances with state and priority, the open incidents and
//! the last events. The page is an askama template with its script and styles inline; the
//! script refreshes it from this server's own `/api/v1/*` JSON, so it works with no
//! framework and no request anywhere else. Behind the same authentication as every path.

use askama::Template;

const SCRIPT: &str = include_str!("status/status.js");
const STYLE: &str = include_str!("status/status.css");

/// Seconds between two refreshes of the page.
pub const REFRESH_SECONDS: u64 = 5;
/// Events shown, newest first.
pub const EVENTS_SHOWN: usize = 30;

#[derive(Template)]
#[template(path = "status.html")]
struct Page<'a> {
    version: &'a str,
    telemetry_path: &'a str,
    refresh_seconds: u64,
    /// The script's settings, JSON escaped for a script element.
    config: String,
    script: &'static str,
    style: &'static str,
}

/// The page (its data comes later, from `/api/v1/*`).
pub fn page(telemetry_path: &str) -> Result<String, askama::Error> {
    let config = serde_json::json!({
        "refresh_seconds": REFRESH_SECONDS,
        "events": EVENTS_SHOWN,
    });
    Page {
        version: crate::metrics::VERSION,
        telemetry_path,
        refresh_seconds: REFRESH_SECONDS,
        config: crate::report::script_json(&config).map_err(|e| askama::Error::Custom(e.into()))?,
        script: SCRIPT,
        style: STYLE,
    }
    .render()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_escapes_its_path_and_fetches_only_its_own_api() {
        let page = super::page("/m\"><script>x</script>").unwrap();
        assert!(!page.contains("<script>x"), "{page}");
        assert_eq!(page.matches("<script").count(), 2);
        // The icon is empty and inline (data:), so the browser asks for no favicon.ico.
        assert!(page.contains("<link rel=\"icon\" href=\"data:,\">"));
        for external in ["src=", "http://", "https://", "href=\"//", "@import"] {
            assert!(!page.contains(external), "{external}");
        }
        assert!(page.contains("fetch(path"));
        assert!(page.contains("/api/v1/services") && page.contains("/api/v1/events"));
    }
}
