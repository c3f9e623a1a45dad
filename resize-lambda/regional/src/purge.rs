//! The automatic purge: the `purge` handler of the same `bootstrap` (the function's `Handler`
//! setting, see [`crate::Handler`]). S3 sends the bucket's events to EventBridge; a rule sends
//! "Object Created" and "Object Deleted" of originals here; for that one original the handler
//! runs the purge's pure flow ([`viewer_fn::purge`]) — list its variants' folder, delete them,
//! invalidate its cache tag (or `/_sf/<key>/*`) and its own URI — with S3 through aws-sdk-s3
//! and CloudFront through [`crate::cloudfront`].
//!
//! ```text
//! EventBridge event ─ parse ─ decide ─┬─ another bucket, a variant key, not an object event ─▶ ignored
//!                                     └─ Originals([key]) ─ Object Deleted and the key is there
//!                                        again (HEAD 200: a noncurrent version went) ─▶ kept
//!                                        └─ list → delete → invalidate ─▶ purged | failed (an error)
//! ```
//!
//! Event shapes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html.
//!
//! EventBridge invokes Lambda asynchronously: a handler error makes Lambda run the event twice
//! more (a minute, then two minutes later), which is why a failure here is returned to the
//! runtime, never swallowed, and why every step is safe to repeat (S3 deletes of a key already
//! gone succeed; the invalidation's caller reference comes from the event's id, so a repeated
//! batch is the same invalidation).
//! https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html,
//! https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html

use std::time::{Instant, SystemTime};

use aws_sdk_s3::config::SharedCredentialsProvider;
use resize_lambda::{s3, PackageConfig, Read, ReadResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use viewer_fn::purge::{Delete, Input, Invalidation, Purge, Step, Target};
use viewer_fn::Spec;

use crate::cloudfront::{self, CloudFront};

/// The distribution the purge invalidates; empty (or unset) before it exists: the purge then
/// deletes stored variants and skips the invalidation, saying why.
pub const DISTRIBUTION_ENV: &str = "SCALEFRONT_DISTRIBUTION_ID";
/// CloudFront's API endpoint, for tests (default [`cloudfront::DEFAULT_ENDPOINT`]).
pub const CLOUDFRONT_ENDPOINT_ENV: &str = "SCALEFRONT_CLOUDFRONT_ENDPOINT";

pub const OBJECT_CREATED: &str = "Object Created";
pub const OBJECT_DELETED: &str = "Object Deleted";

/// An S3 event as EventBridge delivers it: the fields the purge reads (others are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct S3Event {
    #[serde(default)]
    pub id: String,
    pub source: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    #[serde(default)]
    pub region: String,
    pub detail: Detail,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Detail {
    pub bucket: Bucket,
    pub object: Object,
    /// Object Created: `PutObject`, `POST Object`, `CopyObject`, `CompleteMultipartUpload`;
    /// Object Deleted: `DeleteObject` or `Lifecycle Expiration`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Object Deleted: `Permanently Deleted` or `Delete Marker Created`.
    #[serde(default, rename = "deletion-type")]
    pub deletion_type: Option<String>,
    #[serde(default)]
    pub requester: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Bucket {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Object {
    /// As the event carries it (see [`event_keys`]).
    pub key: String,
    /// Absent from Object Deleted.
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default, rename = "version-id")]
    pub version_id: Option<String>,
    #[serde(default)]
    pub sequencer: Option<String>,
}

impl S3Event {
    pub fn from_value(v: &Value) -> Result<S3Event, String> {
        S3Event::deserialize(v).map_err(|e| format!("not an S3 object event from EventBridge: {e}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Created or replaced (S3 does not tell the two apart).
    Created,
    Deleted,
}

/// What one event asks of the purge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Purge {
        change: Change,
        target: Target,
    },
    /// Nothing to do, and why (logged).
    Ignore(String),
}

/// The purge an event asks for, checked against the bucket this package serves and the spec's
/// variant prefix. The rule already leaves out keys under the prefix; they are left out here
/// again, so a purge's own deletes (and the resize function's writes) can never start another.
pub fn decide(spec: &Spec, bucket: &str, event: &S3Event) -> Decision {
    if event.source != "aws.s3" {
        return Decision::Ignore(format!("source {:?}, not aws.s3", event.source));
    }
    let change = match event.detail_type.as_str() {
        OBJECT_CREATED => Change::Created,
        OBJECT_DELETED => Change::Deleted,
        other => {
            return Decision::Ignore(format!(
                "{other:?} is neither {OBJECT_CREATED:?} nor {OBJECT_DELETED:?}"
            ))
        }
    };
    if event.detail.bucket.name != bucket {
        return Decision::Ignore(format!(
            "bucket {:?}, not this site's {bucket:?}",
            event.detail.bucket.name
        ));
    }
    let root = format!("{}/", spec.prefix());
    let keys = event_keys(&event.detail.object.key);
    if keys.iter().any(|k| k.starts_with(&root)) {
        return Decision::Ignore(format!(
            "{:?} is under the variant prefix {root}",
            event.detail.object.key
        ));
    }
    let keys: Vec<String> = keys
        .into_iter()
        .filter(|k| !k.is_empty() && !k.starts_with('/'))
        .collect();
    if keys.is_empty() {
        return Decision::Ignore(format!(
            "{:?} is not a key CloudFront can serve (empty, or a leading /)",
            event.detail.object.key
        ));
    }
    Decision::Purge {
        change,
        target: Target::Originals(keys),
    }
}

/// The original(s) an event's key may name. S3 URL-encodes the key in its event notifications
/// ("red flower.jpg" arrives as "red+flower.jpg": Amazon S3 User Guide, "Event message
/// structure"), and AWS's own Powertools decodes EventBridge's `detail.object.key` the same
/// way (`unquote_plus`); the EventBridge page does not say. So the key as decoded comes first,
/// and when that differs, the key as written too: purging a photo that does not exist costs
/// an empty listing and an invalidation item, missing the one that does would leave it stale.
/// A key that is not valid %-encoding (or not UTF-8 once decoded) is taken as written.
pub fn event_keys(raw: &str) -> Vec<String> {
    match form_decode(raw) {
        Some(decoded) if decoded != raw => vec![decoded, raw.to_string()],
        _ => vec![raw.to_string()],
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; strict.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// What one invocation did: its log line (JSON) and the handler's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// `purged`, `ignored`, `kept` (Object Deleted of a key that is there: a noncurrent
    /// version went) or `failed`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub event: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<String>,
    /// Invalidation items CloudFront accepted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalidated: Vec<String>,
    /// `tags` or `paths`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalidation: Option<&'static str>,
    /// Items not sent, and why (no distribution yet).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_invalidated: Vec<String>,
    /// Worth knowing, not a failure (the distribution's config unreadable, a HEAD refused).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    pub ms: u64,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        self.outcome == "failed"
    }

    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!("{{\"outcome\":\"{}\",\"log\":\"{e}\"}}", self.outcome))
    }
}

/// The purge handler's state: made once per container, used for every event.
pub struct Purger {
    pub spec: Spec,
    pub bucket: String,
    pub s3: aws_sdk_s3::Client,
    /// `None` before the distribution exists ([`DISTRIBUTION_ENV`] empty).
    pub cdn: Option<CloudFront>,
}

impl Purger {
    /// From the package's `config.json` (bucket, region, spec) and the environment
    /// ([`DISTRIBUTION_ENV`], [`CLOUDFRONT_ENDPOINT_ENV`]); credentials from the standard chain.
    pub async fn from_config(config: &PackageConfig) -> anyhow::Result<Purger> {
        let spec =
            Spec::from_toml(&config.spec).map_err(|e| anyhow::anyhow!("config.json spec: {e}"))?;
        let shared = crate::sdk_config(config).await;
        let credentials = shared
            .credentials_provider()
            .ok_or_else(|| anyhow::anyhow!("no AWS credentials provider"))?;
        let distribution = std::env::var(DISTRIBUTION_ENV).unwrap_or_default();
        let endpoint = std::env::var(CLOUDFRONT_ENDPOINT_ENV)
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| cloudfront::DEFAULT_ENDPOINT.to_string());
        Ok(Purger {
            spec,
            bucket: config.bucket.clone(),
            s3: crate::s3_client(&shared, config),
            cdn: cloudfront_for(distribution.trim(), &endpoint, credentials)
                .map_err(anyhow::Error::msg)?,
        })
    }

    /// One EventBridge event. `deadline`: the invocation's (retries of an invalidation stop
    /// before it).
    pub async fn handle(&self, payload: &Value, deadline: SystemTime) -> Outcome {
        let started = Instant::now();
        let mut outcome = match S3Event::from_value(payload) {
            Ok(event) => self.handle_event(&event, deadline).await,
            Err(e) => Outcome {
                outcome: "failed",
                errors: vec![e],
                ..Outcome::default()
            },
        };
        outcome.ms = started.elapsed().as_millis() as u64;
        outcome
    }

    async fn handle_event(&self, event: &S3Event, deadline: SystemTime) -> Outcome {
        let mut out = Outcome {
            event: event.detail_type.clone(),
            key: event.detail.object.key.clone(),
            ..Outcome::default()
        };
        let (change, keys) = match decide(&self.spec, &self.bucket, event) {
            Decision::Ignore(reason) => {
                out.outcome = "ignored";
                out.reason = Some(reason);
                return out;
            }
            Decision::Purge {
                change,
                target: Target::Originals(keys),
            } => (change, keys),
            Decision::Purge { target, .. } => {
                out.outcome = "failed";
                out.errors
                    .push(format!("an event names originals, not {target:?}"));
                return out;
            }
        };
        let keys = match change {
            Change::Created => keys,
            Change::Deleted => self.gone(keys, &mut out.warnings).await,
        };
        if keys.is_empty() {
            out.outcome = "kept";
            out.reason = Some(
                "the original is still there: an older version was deleted (versioning), or it \
                 was uploaded again (that upload's own event purges)"
                    .into(),
            );
            return out;
        }
        let by = match &self.cdn {
            Some(cdn) => {
                let (by, warning) = cdn.invalidation().await;
                out.warnings.extend(warning);
                by
            }
            None => Invalidation::Paths,
        };
        out.invalidation = Some(match by {
            Invalidation::Tags => "tags",
            Invalidation::Paths => "paths",
        });
        let (mut purge, mut step) =
            match Purge::start(&self.spec, Target::Originals(keys), by, false) {
                Ok(started) => started,
                Err(e) => {
                    out.outcome = "failed";
                    out.errors.push(e);
                    return out;
                }
            };
        let report = loop {
            step = match step {
                Step::List(list) => purge.resume(Input::Listed(
                    s3::list_page(&self.s3, &self.bucket, &list).await,
                )),
                Step::Delete(delete) => purge.resume(Input::Deleted(self.delete(&delete).await)),
                Step::Invalidate(batch) => match &self.cdn {
                    Some(cdn) => {
                        let reference = caller_reference(&event.id, &batch.items);
                        let result = cdn
                            .invalidate(&batch.items, &reference, deadline)
                            .await
                            .map(|created| {
                                if created.tries > 1 {
                                    out.warnings.push(format!(
                                        "invalidation {} accepted after {} tries",
                                        created.id, created.tries
                                    ));
                                }
                                out.invalidated.extend(batch.items.iter().cloned());
                            });
                        purge.resume(Input::Invalidated(result))
                    }
                    None => {
                        out.not_invalidated.extend(batch.items.iter().cloned());
                        purge.resume(Input::Invalidated(Ok(())))
                    }
                },
                Step::Done(report) => break report,
            };
        };
        if self.cdn.is_none() {
            out.reason = Some(format!(
                "{DISTRIBUTION_ENV} is empty (the distribution does not exist yet): stored \
                 variants deleted, nothing invalidated"
            ));
        }
        out.deleted = report.deleted;
        out.errors = report.errors;
        out.outcome = if out.errors.is_empty() {
            "purged"
        } else {
            "failed"
        };
        out
    }

    /// The keys of an Object Deleted event whose original is gone. One still there (HEAD 200)
    /// lost an older version (a versioned bucket's noncurrent expiration) or was uploaded again
    /// (whose own Object Created event purges): its variants stay. When S3 does not say (403
    /// without `s3:GetObject`, an outage) the purge goes ahead: deleting variants is always safe.
    async fn gone(&self, keys: Vec<String>, warnings: &mut Vec<String>) -> Vec<String> {
        let mut gone = Vec::new();
        for key in keys {
            let head = Read {
                key: key.clone(),
                start: 0,
                len: Some(0),
                max_bytes: u64::MAX,
                if_match: None,
            };
            match s3::read(&self.s3, &self.bucket, &head).await {
                ReadResult::Found { .. } | ReadResult::TooLarge { .. } => {}
                ReadResult::Missing { status: 404, .. } => gone.push(key),
                ReadResult::Missing { detail, .. } => {
                    warnings.push(format!("HEAD {key}: {detail}; purging anyway"));
                    gone.push(key);
                }
                ReadResult::Failed { cause } => {
                    warnings.push(format!("HEAD {key}: {cause}; purging anyway"));
                    gone.push(key);
                }
            }
        }
        gone
    }

    /// Deletes under the variant prefix only (I3: originals are read-only), whatever a listing
    /// returned; the role may delete nothing else either.
    async fn delete(&self, delete: &Delete) -> Result<Vec<(String, String)>, String> {
        let root = format!("{}/", self.spec.prefix());
        if let Some(k) = delete.keys.iter().find(|k| !k.starts_with(&root)) {
            return Err(format!(
                "refusing to delete {k:?}: not under the variant prefix {root}"
            ));
        }
        s3::delete(&self.s3, &self.bucket, delete).await
    }
}

/// The CloudFront client for a distribution id from the environment; `None` when it is empty.
pub fn cloudfront_for(
    distribution_id: &str,
    endpoint: &str,
    credentials: SharedCredentialsProvider,
) -> Result<Option<CloudFront>, String> {
    if distribution_id.is_empty() {
        return Ok(None);
    }
    CloudFront::new(distribution_id, endpoint, credentials)
        .map(Some)
        .map_err(|e| format!("{DISTRIBUTION_ENV}: {e}"))
}

/// The same for every try of one event (Lambda's own retries included), different for another
/// event: CloudFront answers a repeated reference with the invalidation it already made.
pub fn caller_reference(event_id: &str, items: &[String]) -> String {
    let h = viewer_fn::fnv1a64(items.join("\n").as_bytes());
    let id: String = event_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    let id = if id.is_empty() {
        // Not from EventBridge (a test invocation): unique by time.
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos().to_string())
            .unwrap_or_default()
    } else {
        id
    };
    format!("scalefront-purge-{id}-{h:016x}")
}
