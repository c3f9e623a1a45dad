//! The Lambda@Edge event and result types against JSON shaped like AWS's documented examples:
//! every fixture parses, and serialises back to the same JSON (nothing dropped or renamed).
use resize_lambda::event::{BodyEncoding, OriginResponseEvent, Response};
use serde_json::Value;
use std::path::Path;

/// A fixture, `{g}` (the generation segment of a variant key) filled in with the current one.
fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("{g}", viewer_fn::GENERATION)
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str) -> T {
    let src = fixture(name);
    let parsed: T = serde_json::from_str(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
    let original: Value = serde_json::from_str(&src).unwrap();
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(back, original, "{name} does not round-trip");
    parsed
}

#[test]
fn documented_custom_origin_event() {
    let e: OriginResponseEvent = round_trip("origin-response-custom-200.json");
    let cf = e.cf().unwrap();
    assert_eq!(cf.config.event_type, "origin-response");
    assert_eq!(cf.request.uri, "/");
    assert_eq!(cf.response.status_code(), Some(200));
    assert_eq!(
        cf.response.headers["content-length"][0].key.as_deref(),
        Some("Content-Length")
    );
    assert!(cf.request.origin.as_ref().unwrap().get("custom").is_some());
}

#[test]
fn s3_origin_403_for_a_missing_variant() {
    let e: OriginResponseEvent = round_trip("origin-response-s3-403-variant.json");
    let cf = e.cf().unwrap();
    assert_eq!(cf.response.status_code(), Some(403));
    assert_eq!(
        cf.request.uri,
        format!(
            "/_sf/photos/Further.jpg/{}/w600-h0-cover-q75.webp",
            viewer_fn::GENERATION
        )
    );
    assert_eq!(
        cf.request.querystring, "",
        "origin-response never sees a query string we rely on"
    );
    assert_eq!(
        cf.request.origin.as_ref().unwrap()["s3"]["authMethod"],
        "none"
    );
}

#[test]
fn s3_origin_404_for_a_missing_original() {
    let e: OriginResponseEvent = round_trip("origin-response-s3-404-original.json");
    let cf = e.cf().unwrap();
    assert_eq!(cf.response.status_code(), Some(404));
    assert_eq!(cf.response.status_description.as_deref(), Some("Not Found"));
    assert_eq!(cf.request.client_ip, "2001:db8::1");
}

#[test]
fn documented_generated_results() {
    let text: Response = round_trip("result-generated-text.json");
    assert_eq!(text.body_encoding, Some(BodyEncoding::Text));
    let image: Response = round_trip("result-generated-image.json");
    assert_eq!(image.body_encoding, Some(BodyEncoding::Base64));
    let redirect: Response = round_trip("result-redirect.json");
    assert_eq!(redirect.status_code(), Some(302));
    assert!(redirect.body.is_none());
}

#[test]
fn unknown_fields_survive_and_junk_is_refused() {
    let src = fixture("origin-response-s3-403-variant.json").replace(
        "\"requestId\"",
        "\"futureField\": {\"a\": [1, 2]}, \"requestId\"",
    );
    let e: OriginResponseEvent = serde_json::from_str(&src).unwrap();
    assert_eq!(e.cf().unwrap().config.extra["futureField"]["a"][1], 2);
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        serde_json::from_str::<Value>(&src).unwrap()
    );
    assert!(serde_json::from_str::<OriginResponseEvent>("{\"Records\": [{\"cf\": {}}]}").is_err());
}
