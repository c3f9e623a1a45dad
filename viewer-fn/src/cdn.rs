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

/// Transient origin failures (S3 5xx or throttling, a Lambda timeout, a failed PUT): both templates
/// set `CustomErrorResponses` with this `ErrorCachingMinTTL` for these codes. Long enough that a
/// hot photo whose origin is failing reaches the origin once per edge every few seconds instead of
/// on every request; short enough that one blip is not pinned for CloudFront's default 10 s.
pub const TRANSIENT_ERROR_CODES: [u16; 4] = [500, 502, 503, 504];
pub const TRANSIENT_ERROR_CACHING_MIN_TTL: u64 = 5;

/// The Error Caching Minimum TTL the distribution has for `status`.
pub fn error_caching_min_ttl(status: u16) -> u64 {
    if TRANSIENT_ERROR_CODES.contains(&status) {
        TRANSIENT_ERROR_CACHING_MIN_TTL
    } else {
        DEFAULT_ERROR_CACHING_MIN_TTL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_kept_briefly_others_at_cloudfronts_default() {
        assert_eq!(error_caching_min_ttl(502), 5);
        assert_eq!(error_caching_min_ttl(404), 10);
        assert_eq!(
            MIN_TTL, 0,
            "no-store on a HEAD answer or a redirect must be honoured"
        );
    }
}
