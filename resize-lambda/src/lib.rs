//! The origin-side flow shared by Lambda@Edge (wasm in Node.js), the regional Lambda (native)
//! and the local edge (`scalefront serve`):
//!
//! **decide** (pass S3's answer through · tell a missing original from a refused one · reject a
//! key the spec cannot produce · generate) → answer a variant already **stored** → **read** the
//! original's header in ranges → **limits** → read the rest → **transform** → **write** the variant
//! → **answer** (inline image, or a redirect to the stored variant when too big for the host's
//! response limit). Failures answer through one error table ([`response::Failure`]).
//!
//! The flow is pure: [`flow::Flow`] hands the host [`flow::Step`]s (read this key, write this
//! object) and takes their outcomes back, so each host brings its own I/O:
//! - synchronous hosts implement [`Origin`] and call [`run`];
//! - asynchronous hosts (the regional binary, an async local edge) drive the steps in a loop,
//!   see [`flow`]'s docs and `regional/src/lib.rs`;
//! - Lambda@Edge: the Node.js shim drives the wasm exports of this crate (`src/wasm.rs`) and
//!   turns the answer into a CloudFront result with [`edge::result`].

pub mod edge;
pub mod event;
pub mod flow;
pub mod log;
mod origin;
pub mod response;
#[cfg(feature = "s3")]
pub mod s3;
pub mod storage;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use flow::{Clock, Done, Flow, Input, Step};
pub use origin::{run, Origin};
pub use response::{Answer, Body, Failure, Response};
pub use storage::{Encryption, Meta, Read, ReadResult, SseAlgorithm, Write};

use serde::{Deserialize, Serialize};
use viewer_fn::Spec;

/// Lambda@Edge: a generated response may be 1 MB including headers (base64 body counted).
pub const EDGE_MAX_RESPONSE_BYTES: usize = 1_000_000;
/// Lambda function URL (regional mode): 6 MB response payload.
pub const REGIONAL_MAX_RESPONSE_BYTES: usize = 6_000_000;

/// What the flow needs from the site: the rule spec, the security limits, the host's response limit.
#[derive(Debug, Clone)]
pub struct Settings {
    pub spec: Spec,
    pub limits: image_core::Limits,
    /// Above this (as [`Response::wire_size`] counts), answer a redirect to the stored variant.
    pub max_response_bytes: usize,
    /// With `signed = true`: the origin's signing key (slot `o`), so the redirect it answers is
    /// a signed URI the viewer function lets through (the origin never sees the page's query).
    /// Checked when the settings are made, not on each redirect.
    pub signing: viewer_fn::sign::Keys,
    /// The encryption every variant's PUT asks for ([`Write::encryption`]); `None`: no header.
    pub encryption: Option<Encryption>,
}

impl Settings {
    pub fn new(spec: Spec, max_response_bytes: usize) -> Settings {
        Settings {
            spec,
            limits: image_core::Limits::default(),
            max_response_bytes,
            signing: viewer_fn::sign::Keys::new(),
            encryption: None,
        }
    }
}

/// The configuration baked into a package at build time (`config.json` next to `index.mjs` or
/// `bootstrap`): Lambda@Edge has no environment variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackageConfig {
    pub bucket: String,
    pub region: String,
    /// For tests against a local S3 server (path-style addressing); `None` in production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_endpoint: Option<String>,
    /// The rule spec as TOML (`scalefront.toml`); empty means the defaults.
    #[serde(default)]
    pub spec: String,
    /// Overrides of the image limits; absent fields keep image-core's documented defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsOverride>,
    /// The origin's signing key (KeyValueStore slot `scalefront-o`), with `signed = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// What the Lambda@Edge shim decides before it loads the wasm (`scalefront package` fills it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shim: Option<ShimConfig>,
    /// The encryption the origin asks for when it PUTs a variant (a bucket policy may refuse a
    /// PUT without it): `{"algorithm": "AES256"}` or `{"algorithm": "aws:kms", "kmsKeyId": ARN,
    /// "bucketKey": bool?}`. Absent: no header (the bucket's default encryption applies).
    /// Checked as it is read ([`Encryption`]).
    #[serde(
        default,
        deserialize_with = "put_encryption",
        skip_serializing_if = "Option::is_none"
    )]
    pub put_encryption: Option<Encryption>,
}

/// `putEncryption` as [`Encryption`] reads it, its errors named after the field.
fn put_encryption<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Encryption>, D::Error> {
    Option::<Encryption>::deserialize(d)
        .map_err(|e| serde::de::Error::custom(format!("putEncryption: {e}")))
}

/// The decisions the Node shim makes without the wasm module, baked from the same rules the flow
/// uses, so a pass-through (an S3 200, most traffic) never pays for instantiating it:
/// the flow acts only on 403/404 to GET/HEAD ([`flow::acts_on`]); under `variantPrefix` it runs
/// the flow; elsewhere (an original CloudFront was refused) the shim asks S3 with the role's
/// `s3:ListBucket` right and answers from the error table — `missing` on 404, `unreadable` when
/// the role can read what CloudFront could not — or passes S3's answer on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShimConfig {
    /// `/_sf/`: URIs under it are variant keys.
    pub variant_prefix: String,
    /// Origin statuses the flow acts on.
    pub statuses: Vec<u16>,
    /// Methods the flow acts on.
    pub methods: Vec<String>,
    /// [`Failure::MissingOriginal`] as a CloudFront result (GET, then HEAD).
    pub missing: [event::Response; 2],
    /// [`Failure::OriginalUnreadable`] as a CloudFront result (GET, then HEAD).
    pub unreadable: [event::Response; 2],
}

impl ShimConfig {
    pub fn new(spec: &Spec) -> ShimConfig {
        let result = |f: Failure, head: bool| {
            let r = f.response(response::Lifetimes::of(spec), None);
            let r = if head { r.for_head() } else { r };
            edge::result(&event::Response::default(), &Answer::Respond(r))
        };
        ShimConfig {
            variant_prefix: format!("/{}/", spec.prefix()),
            statuses: flow::ACTS_ON_STATUSES.to_vec(),
            methods: flow::ACTS_ON_METHODS.map(String::from).to_vec(),
            missing: [
                result(Failure::MissingOriginal, false),
                result(Failure::MissingOriginal, true),
            ],
            unreadable: [
                result(Failure::OriginalUnreadable, false),
                result(Failure::OriginalUnreadable, true),
            ],
        }
    }
}

/// What a package may change of image-core's limits. The output caps (`max_output_pixels`,
/// `max_avif_pixels`) are not here: they shape a variant's bytes, so every host keeps the same.
/// The budgets are the host's: `maxWorkMs` for a host whose timeout is longer than Lambda@Edge's
/// 30 s (or whose native build runs faster), `maxMemoryBytes` for one with more memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsOverride {
    pub max_input_bytes: Option<usize>,
    pub max_pixels: Option<u64>,
    pub max_output_dim: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_work_ms: Option<u64>,
}

impl PackageConfig {
    pub fn from_json(src: &str) -> Result<PackageConfig, String> {
        serde_json::from_str(src).map_err(|e| format!("config.json: {e}"))
    }

    /// The flow's settings for a host whose responses may be `max_response_bytes` long.
    pub fn settings(&self, max_response_bytes: usize) -> Result<Settings, String> {
        let spec = Spec::from_toml(&self.spec).map_err(|e| format!("config.json spec: {e}"))?;
        let mut settings = Settings::new(spec, max_response_bytes);
        settings.encryption = self.put_encryption.clone();
        if let Some(k) = &self.signing_key {
            let origin = viewer_fn::sign::ORIGIN_SLOT;
            settings
                .signing
                .set(origin, k)
                .map_err(|e| format!("config.json signingKey: {e}"))?;
        }
        if let Some(o) = self.limits {
            let l = &mut settings.limits;
            l.max_input_bytes = o.max_input_bytes.unwrap_or(l.max_input_bytes);
            l.max_pixels = o.max_pixels.unwrap_or(l.max_pixels);
            l.max_output_dim = o.max_output_dim.unwrap_or(l.max_output_dim);
            l.max_memory_bytes = o.max_memory_bytes.unwrap_or(l.max_memory_bytes);
            l.max_work_ms = o.max_work_ms.unwrap_or(l.max_work_ms);
        }
        Ok(settings)
    }
}

/// The image operation a variant names (viewer-fn's URL vocabulary → image-core's).
pub fn transform_for(v: &viewer_fn::Variant) -> image_core::Transform {
    use image_core::{Fit, Format};
    let dim = |d: u32| (d > 0).then_some(d);
    image_core::Transform {
        width: dim(v.width),
        height: dim(v.height),
        fit: match v.fit {
            viewer_fn::Fit::Cover => Fit::Cover,
            viewer_fn::Fit::Contain => Fit::Contain,
            viewer_fn::Fit::Fill => Fit::Fill,
            viewer_fn::Fit::Inside => Fit::Inside,
            viewer_fn::Fit::Outside => Fit::Outside,
        },
        quality: v.quality,
        format: match v.format {
            viewer_fn::Format::Jpeg => Format::Jpeg,
            viewer_fn::Format::Png => Format::Png,
            viewer_fn::Format::Webp => Format::Webp,
            viewer_fn::Format::Avif => Format::Avif,
        },
        ..image_core::Transform::default()
    }
}

/// The S3 key a CloudFront URI names: the path without its leading slash, %-decoded once
/// (`None` when that is not valid UTF-8).
pub fn key_of(uri: &str) -> Option<String> {
    viewer_fn::decode_path(uri.strip_prefix('/').unwrap_or(uri))
}

/// The clocks of native hosts.
#[cfg(not(target_arch = "wasm32"))]
pub const NATIVE_CLOCK: Clock = Clock {
    monotonic_ms: native_monotonic_ms,
    unix_ms: native_unix_ms,
};

#[cfg(not(target_arch = "wasm32"))]
fn native_monotonic_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

#[cfg(not(target_arch = "wasm32"))]
fn native_unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Unix milliseconds of a [`std::time::SystemTime`] (storage's `Last-Modified`).
pub fn unix_ms(t: std::time::SystemTime) -> Option<f64> {
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signing_key_is_checked_when_the_settings_are_made() {
        let with = |key: &str| {
            PackageConfig::from_json(&format!(
                r#"{{"bucket": "b", "region": "eu-west-1", "spec": "signed = true", "signingKey": "{key}"}}"#
            ))
            .unwrap()
            .settings(EDGE_MAX_RESPONSE_BYTES)
        };
        let ok = with("origin-key-o-0123456789").unwrap();
        assert!(ok.signing.sign('o', "m").is_some());
        assert!(
            ok.signing.sign('a', "m").is_none(),
            "the package holds the origin's key only"
        );
        let e = with("short").unwrap_err();
        assert!(e.contains("signingKey"), "{e}");
    }

    #[test]
    fn package_config_bakes_spec_and_limits() {
        let json = r#"{"bucket": "b", "region": "eu-west-1", "spec": "qualities = [90]\nquality = 90",
                       "limits": {"maxInputBytes": 1000}}"#;
        let config = PackageConfig::from_json(json).unwrap();
        let settings = config.settings(EDGE_MAX_RESPONSE_BYTES).unwrap();
        assert_eq!(settings.spec.default_quality(), 90);
        assert_eq!(settings.limits.max_input_bytes, 1000);
        assert_eq!(
            settings.limits.max_pixels,
            image_core::Limits::default().max_pixels
        );

        let defaults = PackageConfig::from_json(r#"{"bucket": "b", "region": "r"}"#).unwrap();
        assert_eq!(defaults.settings(1).unwrap().spec, Spec::default());
        assert_eq!(
            defaults.settings(1).unwrap().limits,
            image_core::Limits::default()
        );
    }

    #[test]
    fn a_host_passes_its_own_time_and_memory_budget() {
        let json = r#"{"bucket": "b", "region": "r",
                       "limits": {"maxWorkMs": 60000, "maxMemoryBytes": 2000000000}}"#;
        let config = PackageConfig::from_json(json).unwrap();
        let limits = config.settings(REGIONAL_MAX_RESPONSE_BYTES).unwrap().limits;
        assert_eq!(
            (limits.max_work_ms, limits.max_memory_bytes),
            (60_000, 2_000_000_000)
        );
        assert_eq!(
            limits.max_avif_pixels,
            image_core::Limits::default().max_avif_pixels
        );
        // Written back as it was read; absent budgets stay absent.
        let round = serde_json::to_string(&config.limits).unwrap();
        assert_eq!(
            round,
            r#"{"maxInputBytes":null,"maxPixels":null,"maxOutputDim":null,"maxMemoryBytes":2000000000,"maxWorkMs":60000}"#
        );
        let bad = PackageConfig::from_json(
            r#"{"bucket": "b", "region": "r", "limits": {"maxAvifPixels": 1}}"#,
        );
        assert!(bad.unwrap_err().contains("unknown field `maxAvifPixels`"));
    }

    #[test]
    fn put_encryption_is_read_checked_and_reaches_the_settings() {
        let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let json = format!(
            r#"{{"bucket": "b", "region": "r", "putEncryption": {{"algorithm": "aws:kms", "kmsKeyId": "{key}", "bucketKey": true}}}}"#
        );
        let config = PackageConfig::from_json(&json).unwrap();
        let want = Encryption::new(SseAlgorithm::AwsKms, Some(key.into()), Some(true)).unwrap();
        assert_eq!(config.put_encryption.as_ref(), Some(&want));
        assert_eq!(config.settings(1).unwrap().encryption, Some(want));
        // Written back as it was read.
        let round = PackageConfig::from_json(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(round, config);

        // An old config (no field) and an explicit null: no header, and nothing written back.
        for old in [
            r#"{"bucket": "b", "region": "r"}"#,
            r#"{"bucket": "b", "region": "r", "putEncryption": null}"#,
        ] {
            let config = PackageConfig::from_json(old).unwrap();
            assert_eq!(config.settings(1).unwrap().encryption, None);
            assert!(!serde_json::to_string(&config)
                .unwrap()
                .contains("putEncryption"));
        }
        let sse_s3 = r#"{"bucket": "b", "region": "r", "putEncryption": {"algorithm": "AES256"}}"#;
        assert_eq!(
            PackageConfig::from_json(sse_s3).unwrap().put_encryption,
            Some(Encryption::aes256())
        );
        let no_key = r#"{"bucket": "b", "region": "r", "putEncryption": {"algorithm": "aws:kms"}}"#;
        let e = PackageConfig::from_json(no_key).unwrap_err();
        assert!(
            e.starts_with("config.json: putEncryption: ") && e.contains("kmsKeyId"),
            "{e}"
        );
    }

    #[test]
    fn keys_are_decoded_paths() {
        assert_eq!(
            key_of("/photos/Further%20caf%C3%A9.jpg").unwrap(),
            "photos/Further café.jpg"
        );
        assert_eq!(key_of("/a.jpg").unwrap(), "a.jpg");
        assert!(key_of("/%FF.jpg").is_none());
    }

    #[test]
    fn the_shim_answers_a_missing_original_as_the_flow_does() {
        let spec = Spec::default();
        let shim = ShimConfig::new(&spec);
        let table = Failure::MissingOriginal.response(response::Lifetimes::of(&spec), None);
        assert_eq!(shim.missing[0].status, "404");
        assert_eq!(
            shim.missing[0].body.as_deref(),
            Some(match &table.body {
                Body::Text(t) => t.as_str(),
                _ => unreachable!(),
            })
        );
        let cc = |r: &event::Response| r.headers["cache-control"][0].value.clone();
        assert_eq!(cc(&shim.missing[0]), "public, max-age=30");
        assert_eq!(
            cc(&shim.missing[1]),
            "no-store",
            "a HEAD answer is never cached"
        );
        assert_eq!(shim.missing[1].status, "404");
        assert_eq!(shim.unreadable[0].status, "502");
        assert!(flow::acts_on("HEAD", 403) && !flow::acts_on("GET", 200));
        assert_eq!(shim.statuses, vec![403, 404]);
        let round: ShimConfig =
            serde_json::from_str(&serde_json::to_string(&shim).unwrap()).unwrap();
        assert_eq!(round, shim);
    }

    #[test]
    fn package_config_errors_name_the_problem() {
        let typo = PackageConfig::from_json(r#"{"bucket": "b", "region": "r", "s3endpoint": "x"}"#);
        assert!(typo.unwrap_err().contains("unknown field `s3endpoint`"));
        let bad_spec =
            PackageConfig::from_json(r#"{"bucket": "b", "region": "r", "spec": "widths = []"}"#)
                .unwrap();
        assert!(bad_spec.settings(1).unwrap_err().contains("widths"));
    }
}
