//! CloudFront's caching rules as AWS documents them, so the local edge caches what CloudFront
//! would and a test against `serve` says what a deployed distribution does. The distribution's own
//! numbers (the cache policy's TTLs, the `ErrorCachingMinTTL`s) come from [`viewer_fn::cdn`],
//! which the templates render too.
//!
//! Each rule names its page in the CloudFront Developer Guide:
//! - [E] "Manage how long content stays in the cache (expiration)"
//!   <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html>
//! - [S] "How CloudFront processes HTTP 4xx and 5xx status codes from your origin"
//!   <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/HTTPStatusCodes.html>
//! - [C] "Control how long CloudFront caches errors"
//!   <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/custom-error-pages-expiration.html>
//! - [K] "Understand the cache key": responses to GET and HEAD are cached together (only OPTIONS
//!   is kept apart) <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-the-cache-key.html>
//! - [L] "Standard log file fields" (`x-edge-result-type`: Hit, Miss, Error…) and the CloudFront
//!   Functions tutorial (`FunctionGeneratedResponse from cloudfront`) for `x-cache`
//!   <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/AccessLogs.html>

use std::time::{Duration, SystemTime};

use viewer_fn::cdn;

/// Error codes CloudFront caches whatever the origin's headers say [S].
pub const ALWAYS_CACHED_ERRORS: [u16; 7] = [404, 414, 500, 501, 502, 503, 504];
/// Error codes CloudFront caches only when the origin sends `max-age` or `s-maxage` [S].
pub const CACHED_WITH_MAX_AGE: [u16; 5] = [400, 403, 405, 412, 415];
/// Error codes for which `no-store`, `no-cache` and `private` are honoured; on every other code
/// CloudFront ignores them and keeps the error for the Error Caching Minimum TTL [C].
pub const NO_STORE_HONOURED: [u16; 4] = [404, 410, 414, 501];

/// What the origin's caching headers say.
#[derive(Debug, Default, PartialEq, Eq)]
struct Directives {
    /// `no-store`, `no-cache` or `private`.
    refuse: bool,
    max_age: Option<u64>,
    s_maxage: Option<u64>,
}

fn directives(cache_control: Option<&str>) -> Directives {
    let mut d = Directives::default();
    for directive in cache_control.unwrap_or("").split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (directive.as_str(), None),
        };
        let seconds = value.and_then(|v| v.parse::<u64>().ok());
        match name {
            "no-store" | "no-cache" | "private" => d.refuse = true,
            "max-age" => d.max_age = seconds,
            "s-maxage" => d.s_maxage = seconds,
            _ => {}
        }
    }
    d
}

/// How long CloudFront keeps a response to GET/HEAD with this status and these (lower-case)
/// headers; `None`: not cached at all.
pub fn ttl(status: u16, headers: &[(String, String)], now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let d = directives(header("cache-control"));
    // `Expires` counts only when there is no max-age [E]; an unparseable date is in the past.
    let expires = || {
        header("expires").map(|v| {
            httpdate::parse_http_date(v)
                .ok()
                .and_then(|t| t.duration_since(now).ok())
                .map_or(0, |d| d.as_secs())
        })
    };
    let from_headers = d.s_maxage.or(d.max_age).or_else(expires);
    let secs = if status < 400 {
        // [E]: with MinTTL 0 CloudFront honours no-store/no-cache/private; s-maxage wins over
        // max-age; either is capped at MaxTTL and raised to MinTTL; without one, DefaultTTL.
        if d.refuse && cdn::MIN_TTL == 0 {
            return None;
        }
        match from_headers {
            Some(s) => s.clamp(cdn::MIN_TTL, cdn::MAX_TTL),
            None => cdn::DEFAULT_TTL,
        }
    } else {
        if d.refuse && NO_STORE_HONOURED.contains(&status) {
            return None;
        }
        let with_max_age = d.s_maxage.or(d.max_age).is_some();
        let cached = ALWAYS_CACHED_ERRORS.contains(&status)
            || (CACHED_WITH_MAX_AGE.contains(&status) && with_max_age);
        if !cached {
            return None;
        }
        // [C]: the greater of the header's lifetime (at most MaxTTL) and the Error Caching
        // Minimum TTL.
        let header_secs = from_headers.unwrap_or(0).min(cdn::MAX_TTL);
        header_secs.max(cdn::error_caching_min_ttl(status))
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// CloudFront's `x-cache` for a response: from the cache or not, error or not [L].
pub fn x_cache(from_cache: bool, status: u16) -> &'static str {
    match (status >= 400, from_cache) {
        (true, _) => "Error from cloudfront",
        (false, true) => "Hit from cloudfront",
        (false, false) => "Miss from cloudfront",
    }
}

/// `x-cache` of a response the viewer function made itself [L].
pub const FUNCTION_GENERATED: &str = "FunctionGeneratedResponse from cloudfront";

#[cfg(test)]
mod tests {
    use super::*;

    fn h(cc: Option<&str>) -> Vec<(String, String)> {
        cc.map(|v| vec![("cache-control".to_string(), v.to_string())])
            .unwrap_or_default()
    }

    fn secs(status: u16, cc: Option<&str>) -> Option<u64> {
        ttl(status, &h(cc), SystemTime::now()).map(|d| d.as_secs())
    }

    #[test]
    fn successes_follow_cache_control_within_the_policy() {
        assert_eq!(secs(200, None), Some(cdn::DEFAULT_TTL));
        assert_eq!(secs(200, Some("public, max-age=60")), Some(60));
        assert_eq!(secs(200, Some("max-age=60, s-maxage=5")), Some(5));
        assert_eq!(
            secs(200, Some("public, max-age=31536000, immutable")),
            Some(cdn::MAX_TTL)
        );
        assert_eq!(secs(200, Some("max-age=99999999999")), Some(cdn::MAX_TTL));
        assert_eq!(secs(200, Some("max-age=0")), None);
        assert_eq!(secs(200, Some("no-store")), None, "MinTTL 0 honours it");
        assert_eq!(secs(200, Some("private, max-age=600")), None);
        assert_eq!(secs(302, Some("no-store")), None);
        assert_eq!(secs(200, Some("immutable")), Some(cdn::DEFAULT_TTL));
    }

    #[test]
    fn expires_counts_only_without_max_age() {
        let now = SystemTime::now();
        let in_an_hour = httpdate::fmt_http_date(now + Duration::from_secs(3600));
        let mut headers = vec![("expires".to_string(), in_an_hour)];
        let got = ttl(200, &headers, now).unwrap().as_secs();
        assert!((3598..=3600).contains(&got), "{got}");
        headers.push(("cache-control".into(), "max-age=5".into()));
        assert_eq!(ttl(200, &headers, now), Some(Duration::from_secs(5)));
        let past = vec![("expires".to_string(), "0".to_string())];
        assert_eq!(ttl(200, &past, now), None);
    }

    #[test]
    fn errors_as_cloudfront_caches_them() {
        // Always cached, at least for the Error Caching Minimum TTL; a longer max-age wins. The
        // templates set 404's minimum to 0, so its max-age holds exactly (none: not kept).
        assert_eq!(secs(404, None), None);
        assert_eq!(secs(404, Some("public, max-age=30")), Some(30));
        assert_eq!(secs(404, Some("max-age=1")), Some(1));
        assert_eq!(secs(414, None), Some(cdn::DEFAULT_ERROR_CACHING_MIN_TTL));
        assert_eq!(secs(502, None), Some(cdn::TRANSIENT_ERROR_CACHING_MIN_TTL));
        assert_eq!(secs(500, Some("max-age=300")), Some(300));
        // no-store is honoured on 404 (and 410, 414, 501), ignored on the others.
        assert_eq!(secs(404, Some("no-store")), None);
        assert_eq!(
            secs(502, Some("no-store")),
            Some(cdn::TRANSIENT_ERROR_CACHING_MIN_TTL)
        );
        assert_eq!(secs(503, Some("private")), Some(5));
        // 400, 403, 415… only with a max-age.
        assert_eq!(secs(415, None), None);
        assert_eq!(secs(415, Some("public, max-age=300")), Some(300));
        assert_eq!(secs(403, None), None, "S3's own 403 carries no max-age");
        assert_eq!(secs(400, Some("max-age=3")), Some(10));
        // Never: 413, 416, 422.
        for status in [413, 416, 422] {
            assert_eq!(secs(status, Some("public, max-age=300")), None, "{status}");
        }
    }

    #[test]
    fn x_cache_uses_cloudfronts_words() {
        assert_eq!(x_cache(true, 200), "Hit from cloudfront");
        assert_eq!(x_cache(false, 200), "Miss from cloudfront");
        assert_eq!(x_cache(false, 404), "Error from cloudfront");
        assert_eq!(x_cache(true, 415), "Error from cloudfront");
    }
}
