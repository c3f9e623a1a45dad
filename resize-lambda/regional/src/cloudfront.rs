//! The two CloudFront calls the purge makes — `GetDistributionConfig` (does the distribution read
//! cache tags?) and `CreateInvalidation` — without aws-sdk-cloudfront: the REST-XML requests by
//! hand, signed with `aws-sigv4` (service `cloudfront`, region us-east-1: CloudFront's API is
//! global and signs there), sent over the HTTPS client the S3 SDK already uses
//! (`aws-smithy-http-client`: hyper + rustls/aws-lc).
//!
//! API: https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html
//! and API_GetDistributionConfig.html (version 2020-05-31); errors are
//! `<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error></ErrorResponse>`.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_s3::config::{Credentials, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use viewer_fn::purge::{Invalidation, CACHE_TAG_HEADER};

/// CloudFront's API endpoint (global).
pub const DEFAULT_ENDPOINT: &str = "https://cloudfront.amazonaws.com";
/// CloudFront signs in us-east-1 whatever region the caller runs in.
pub const SIGNING_REGION: &str = "us-east-1";
pub const SIGNING_SERVICE: &str = "cloudfront";
const API_VERSION: &str = "2020-05-31";
const XMLNS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

/// How long one HTTP exchange may take before it counts as failed (and is retried).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait between two tries.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// Stop retrying this long before the Lambda's deadline, so the error still reaches the runtime
/// (a timeout would too, but without the cause).
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);
/// How long a distribution's tag setting is trusted before it is read again (a warm container
/// serves many events; a `CacheTagConfig` added later is seen within this).
const MODE_TTL: Duration = Duration::from_secs(300);

/// A distribution's CloudFront API, as the purge uses it.
pub struct CloudFront {
    distribution_id: String,
    endpoint: String,
    credentials: SharedCredentialsProvider,
    http: SharedHttpConnector,
    /// First wait after a `TooManyInvalidationsInProgress` (then doubling, at most 30 s).
    pub first_wait: Duration,
    mode: Mutex<Option<(Instant, Invalidation)>>,
}

/// What `CreateInvalidation` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The invalidation's id (`<Id>`).
    pub id: String,
    /// How many tries it took (1: no retry).
    pub tries: u32,
}

impl CloudFront {
    /// `distribution_id` is CloudFront's id (letters and digits, e.g. `E2QWRUHAPOMQZL`);
    /// `endpoint` without a trailing `/` (tests point it at a local server).
    pub fn new(
        distribution_id: &str,
        endpoint: &str,
        credentials: SharedCredentialsProvider,
    ) -> Result<CloudFront, String> {
        if distribution_id.is_empty() || !distribution_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(format!(
                "{distribution_id:?} is not a CloudFront distribution id (letters and digits)"
            ));
        }
        let http =
            aws_smithy_http_client::default_connector(&HttpConnectorSettings::default(), None)
                .ok_or("no HTTPS client (aws-smithy-http-client's rustls-aws-lc feature is off)")?;
        Ok(CloudFront {
            distribution_id: distribution_id.to_string(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            credentials,
            http,
            first_wait: Duration::from_secs(2),
            mode: Mutex::new(None),
        })
    }

    pub fn distribution_id(&self) -> &str {
        &self.distribution_id
    }

    /// Tags when the distribution's `CacheTagConfig` reads the header stored variants carry,
    /// else wildcard paths — the CLI's rule (`infra::purge::invalidation_for`). When the config
    /// cannot be read (no `cloudfront:GetDistributionConfig`, an outage) the answer is paths,
    /// which invalidate the same objects whatever the distribution reads, with the cause.
    pub async fn invalidation(&self) -> (Invalidation, Option<String>) {
        if let Some((at, mode)) = *self.mode.lock().unwrap() {
            if at.elapsed() < MODE_TTL {
                return (mode, None);
            }
        }
        let path = format!(
            "/{API_VERSION}/distribution/{}/config",
            self.distribution_id
        );
        match self.call("GET", &path, Vec::new()).await {
            Ok((200, body)) => {
                let mode = invalidation_for(&body);
                *self.mode.lock().unwrap() = Some((Instant::now(), mode));
                (mode, None)
            }
            Ok((status, body)) => (
                Invalidation::Paths,
                Some(format!(
                    "GetDistributionConfig {}: {status} {}; invalidating by path",
                    self.distribution_id,
                    error_text(&body)
                )),
            ),
            Err(e) => (
                Invalidation::Paths,
                Some(format!(
                    "GetDistributionConfig {}: {e}; invalidating by path",
                    self.distribution_id
                )),
            ),
        }
    }

    /// `CreateInvalidation` of these items. CloudFront refuses a batch while too many are in
    /// progress (15 wildcard paths, 3,000 file paths or tags per distribution:
    /// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/InvalidationLimits.html),
    /// and may throttle the API or fail on its side: each of those is tried again after a wait
    /// (doubling from [`CloudFront::first_wait`], at most 30 s) until [`DEADLINE_MARGIN`] before
    /// `deadline`. The caller reference stays the same on every try, so a try whose answer was
    /// lost is not a second invalidation (CloudFront answers the first one).
    pub async fn invalidate(
        &self,
        items: &[String],
        caller_reference: &str,
        deadline: SystemTime,
    ) -> Result<Created, String> {
        let path = format!(
            "/{API_VERSION}/distribution/{}/invalidation",
            self.distribution_id
        );
        let body = invalidation_batch_xml(items, caller_reference);
        let mut wait = self.first_wait;
        let mut tries = 0;
        loop {
            tries += 1;
            let failure = match self.call("POST", &path, body.clone().into_bytes()).await {
                Ok((200 | 201, answer)) => {
                    return Ok(Created {
                        id: element(&answer, "Id").unwrap_or_default(),
                        tries,
                    })
                }
                Ok((status, answer)) => {
                    let code = element(&answer, "Code").unwrap_or_default();
                    let text = format!("CreateInvalidation: {status} {}", error_text(&answer));
                    if !retryable(status, &code) {
                        return Err(text);
                    }
                    text
                }
                Err(e) => format!("CreateInvalidation: {e}"),
            };
            let until_deadline = deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            if until_deadline < wait + DEADLINE_MARGIN {
                return Err(format!(
                    "{failure} (tried {tries} time(s); no time left before the function's deadline)"
                ));
            }
            eprintln!(
                "{failure}; trying again in {} ms (try {tries})",
                wait.as_millis()
            );
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_WAIT);
        }
    }

    /// One signed request; the status and body of the answer, or why there was none.
    async fn call(&self, method: &str, path: &str, body: Vec<u8>) -> Result<(u16, String), String> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| format!("no credentials to sign with: {e}"))?;
        let uri = format!("{}{path}", self.endpoint);
        let mut request = HttpRequest::new(SdkBody::from(body.clone()));
        request
            .set_method(method)
            .map_err(|e| format!("{method}: {e}"))?;
        request
            .set_uri(uri.as_str())
            .map_err(|e| format!("{uri}: {e}"))?;
        let content_type = (!body.is_empty()).then_some("application/xml");
        if let Some(ct) = content_type {
            request.headers_mut().insert("content-type", ct);
        }
        for (name, value) in signature_headers(&credentials, method, &uri, content_type, &body)? {
            request.headers_mut().insert(name, value);
        }
        let response = tokio::time::timeout(CALL_TIMEOUT, self.http.call(request))
            .await
            .map_err(|_| format!("{method} {uri}: no answer within {CALL_TIMEOUT:?}"))?
            .map_err(|e| format!("{method} {uri}: {e:?}"))?;
        let status = response.status().as_u16();
        let bytes = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| format!("{method} {uri}: reading the answer: {e}"))?
            .into_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token` with temporary
/// credentials) for one request to CloudFront, signed now.
pub fn signature_headers(
    credentials: &Credentials,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<(String, String)>, String> {
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(SIGNING_REGION)
        .name(SIGNING_SERVICE)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("signing: {e}"))?
        .into();
    let headers: Vec<(&str, &str)> = content_type
        .map(|ct| ("content-type", ct))
        .into_iter()
        .collect();
    let signable =
        SignableRequest::new(method, uri, headers.into_iter(), SignableBody::Bytes(body))
            .map_err(|e| format!("signing {uri}: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("signing {uri}: {e}"))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect())
}

/// Whether CloudFront may take the same request later: too many invalidations in progress,
/// API throttling, its own failures.
fn retryable(status: u16, code: &str) -> bool {
    matches!(code, "TooManyInvalidationsInProgress" | "Throttling") || status >= 500
}

/// The `CreateInvalidation` request body.
pub fn invalidation_batch_xml(items: &[String], caller_reference: &str) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InvalidationBatch xmlns=\"{XMLNS}\"><Paths><Quantity>{}</Quantity><Items>",
        items.len()
    );
    for item in items {
        xml.push_str("<Path>");
        xml.push_str(&escape(item));
        xml.push_str("</Path>");
    }
    xml.push_str("</Items></Paths><CallerReference>");
    xml.push_str(&escape(caller_reference));
    xml.push_str("</CallerReference></InvalidationBatch>");
    xml
}

/// The items of an `InvalidationBatch` (what a recording server saw), in order.
pub fn batch_items(xml: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<Path>") {
        rest = &rest[start + "<Path>".len()..];
        let Some(end) = rest.find("</Path>") else {
            break;
        };
        items.push(unescape(&rest[..end]));
        rest = &rest[end..];
    }
    items
}

/// Tags when `GetDistributionConfig`'s `CacheTagConfig` names the header variants carry.
pub fn invalidation_for(distribution_config_xml: &str) -> Invalidation {
    let header = element(distribution_config_xml, "CacheTagConfig")
        .and_then(|config| element(&config, "HeaderName"));
    if header.is_some_and(|h| h.trim().eq_ignore_ascii_case(CACHE_TAG_HEADER)) {
        Invalidation::Tags
    } else {
        Invalidation::Paths
    }
}

/// The text of the first `<name>…</name>` (unescaped), if any. Enough for CloudFront's
/// answers, whose elements carry no attributes but the root's namespace.
pub fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(&xml[start..end]))
}

/// `Code: Message` of an error answer, or its first 200 characters.
fn error_text(xml: &str) -> String {
    match (element(xml, "Code"), element(xml, "Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => xml.chars().take(200).collect(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_round_trips_and_escapes() {
        let items = vec![
            "#sf-0123456789abcdef".to_string(),
            "/a&b<c>.jpg".to_string(),
        ];
        let xml = invalidation_batch_xml(&items, "ref-1");
        assert!(xml.contains("<Quantity>2</Quantity>"));
        assert!(xml.contains("<Path>/a&amp;b&lt;c&gt;.jpg</Path>"));
        assert!(xml.contains("<CallerReference>ref-1</CallerReference>"));
        assert_eq!(batch_items(&xml), items);
    }

    #[test]
    fn tags_only_when_the_cache_tag_config_names_the_variants_header() {
        let with = |header: &str| {
            format!(
                "<DistributionConfig xmlns=\"{XMLNS}\"><Origins><Items><Origin><CustomHeaders><Items>\
                 <OriginCustomHeader><HeaderName>x-amz-meta-cache-tag</HeaderName><HeaderValue>v</HeaderValue>\
                 </OriginCustomHeader></Items></CustomHeaders></Origin></Items></Origins>{header}</DistributionConfig>"
            )
        };
        // An origin custom header of the same name is not a CacheTagConfig.
        assert_eq!(invalidation_for(&with("")), Invalidation::Paths);
        assert_eq!(
            invalidation_for(&with(
                "<CacheTagConfig><HeaderName>X-Amz-Meta-Cache-Tag</HeaderName></CacheTagConfig>"
            )),
            Invalidation::Tags
        );
        assert_eq!(
            invalidation_for(&with(
                "<CacheTagConfig><HeaderName>x-other</HeaderName></CacheTagConfig>"
            )),
            Invalidation::Paths
        );
    }

    #[test]
    fn errors_and_what_is_retried() {
        let xml = "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
                   <Error><Type>Sender</Type><Code>TooManyInvalidationsInProgress</Code>\
                   <Message>Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations.</Message>\
                   </Error><RequestId>r</RequestId></ErrorResponse>";
        assert_eq!(
            element(xml, "Code").as_deref(),
            Some("TooManyInvalidationsInProgress")
        );
        assert!(error_text(xml).starts_with("TooManyInvalidationsInProgress: Processing"));
        assert!(retryable(400, "TooManyInvalidationsInProgress"));
        assert!(retryable(400, "Throttling"));
        assert!(retryable(503, ""));
        assert!(!retryable(403, "AccessDenied"));
        assert!(!retryable(404, "NoSuchDistribution"));
        assert!(!retryable(400, "InvalidArgument"));
    }

    #[test]
    fn ids_are_checked() {
        let creds = SharedCredentialsProvider::new(Credentials::new("k", "s", None, None, "t"));
        assert!(CloudFront::new("E2QWRUHAPOMQZL", DEFAULT_ENDPOINT, creds.clone()).is_ok());
        for bad in ["", "E2/../x", "E2 Q", "E2?x"] {
            assert!(
                CloudFront::new(bad, DEFAULT_ENDPOINT, creds.clone()).is_err(),
                "{bad:?}"
            );
        }
    }
}
