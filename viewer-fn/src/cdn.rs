//! How the distribution caches, as both CloudFormation templates configure it and as the local
//! edge (`scalefront serve`) models it: one owner for each number, so `serve` cannot drift from
//! what is deployed.
//!
//! Sources (AWS CloudFront Developer Guide):
//! - "Manage how long content stays in the cache (expiration)" — MinTTL/DefaultTTL/MaxTTL against
//!   `Cache-Control` and `Expires`;
//! - "How CloudFront processes HTTP 4xx and 5xx status codes from your origin" and "Control how
//!   long CloudFront caches errors" — error caching, `ErrorCachingMinTTL`.

/// The cache policy's MinTTL. Zero, so CloudFront honours `no-store`/`no-cache`/`private` on
/// 2xx/3xx: the origin's redirect to a just-stored variant and its answer to a HEAD (which has no
/// body, and GET shares HEAD's cache entry) must never be cached.
pub const MIN_TTL: u64 = 0;
/// The cache policy's DefaultTTL: for an origin response without `Cache-Control`/`Expires`
/// (originals uploaded without one). A day: a replaced original shows within it.
pub const DEFAULT_TTL: u64 = 86_400;
/// The cache policy's MaxTTL: a variant's one-year `max-age` is kept in full.
pub const MAX_TTL: u64 = 31_536_000;

/// CloudFront's Error Caching Minimum TTL for a code no custom error response configures.
pub const DEFAULT_ERROR_CACHING_MIN_TTL: u64 = 10;

/// Transient origin failures (S3 5xx or throttling, a Lambda timeout, a failed PUT) are kept this
/// long: long enough that a hot photo whose origin is failing reaches the origin once per edge every
/// few seconds instead of on every request; short enough that one blip is not pinned for
/// CloudFront's default 10 s.
pub const TRANSIENT_ERROR_CACHING_MIN_TTL: u64 = 5;
pub const TRANSIENT_ERROR_CODES: [u16; 4] = [500, 502, 503, 504];

/// Both templates' `CustomErrorResponses`: `(ErrorCode, ErrorCachingMinTTL)`, no error page (the
/// origin's own body stays). 404 gets 0, so the spec's `missing_max_age` holds exactly (every 404
/// scalefront sends carries it) instead of CloudFront's 10 s floor.
pub const ERROR_CACHING: [(u16, u64); 5] = [
    (404, 0),
    (500, TRANSIENT_ERROR_CACHING_MIN_TTL),
    (502, TRANSIENT_ERROR_CACHING_MIN_TTL),
    (503, TRANSIENT_ERROR_CACHING_MIN_TTL),
    (504, TRANSIENT_ERROR_CACHING_MIN_TTL),
];

/// The Error Caching Minimum TTL the distribution has for `status`.
pub fn error_caching_min_ttl(status: u16) -> u64 {
    ERROR_CACHING
        .iter()
        .find(|(code, _)| *code == status)
        .map_or(DEFAULT_ERROR_CACHING_MIN_TTL, |(_, ttl)| *ttl)
}

/// `Cache-Control` of every variant, stored and generated: browsers keep it `browser_max_age`
/// and then revalidate by ETag (a 304); CloudFront keeps it `cdn_max_age` — `s-maxage` wins over
/// `max-age` for CloudFront, and browsers ignore it ("Manage how long content stays in the cache").
/// Not `immutable`: a variant's key stays when its original is replaced.
pub fn variant_cache_control(spec: &crate::Spec) -> String {
    format!(
        "public, max-age={}, s-maxage={}",
        spec.browser_max_age(),
        spec.cdn_max_age()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_kept_briefly_others_at_cloudfronts_default() {
        assert_eq!(error_caching_min_ttl(502), 5);
        assert_eq!(error_caching_min_ttl(404), 0);
        assert_eq!(error_caching_min_ttl(415), 10);
        for code in TRANSIENT_ERROR_CODES {
            assert_eq!(error_caching_min_ttl(code), TRANSIENT_ERROR_CACHING_MIN_TTL);
        }
        assert_eq!(
            MIN_TTL, 0,
            "no-store on a HEAD answer or a redirect must be honoured"
        );
    }
}
