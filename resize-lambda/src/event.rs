//! Lambda@Edge origin-response event and result, as AWS documents them
//! ("Lambda@Edge event structure"). `aws_lambda_events` has no CloudFront types.
//!
//! Only the fields the flow reads are typed; every other field is kept in `extra` so an
//! event serialises back to what CloudFront sent (the fixtures test this round trip).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `{lowercase-name: [{key, value}, …]}`; CloudFront keeps repeated headers as separate entries.
pub type Headers = BTreeMap<String, Vec<Header>>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The header's name as sent on the wire; optional in a result (CloudFront derives it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginResponseEvent {
    #[serde(rename = "Records")]
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub cf: Cf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cf {
    pub config: Config,
    pub request: Request,
    pub response: Response,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub distribution_domain_name: String,
    pub distribution_id: String,
    /// `origin-response` for the events this crate handles.
    pub event_type: String,
    pub request_id: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub client_ip: String,
    pub headers: Headers,
    pub method: String,
    /// `{"s3": {…}}` or `{"custom": {…}}`: passed through untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Value>,
    /// Empty unless the cache policy forwards it; scalefront never relies on it (everything is in the path).
    #[serde(default)]
    pub querystring: String,
    /// Percent-encoded as CloudFront has it, leading slash.
    pub uri: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The origin's response in the event, and also the function's result (a modified or new response).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// A string in both directions ("200"); CloudFront also accepts a number in results.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_encoding: Option<BodyEncoding>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyEncoding {
    Text,
    Base64,
}

/// Headers CloudFront forbids an origin-response function to change or remove: a result without
/// them (when the origin's response had them) is answered with a 502.
pub const READ_ONLY_HEADERS: [&str; 2] = ["transfer-encoding", "via"];

impl OriginResponseEvent {
    /// The one record CloudFront sends.
    pub fn cf(&self) -> Option<&Cf> {
        self.records.first().map(|r| &r.cf)
    }
}

impl Response {
    /// The numeric status, if the string is one.
    pub fn status_code(&self) -> Option<u16> {
        self.status.trim().parse().ok()
    }
}

/// Builds a header map entry with the canonical capitalisation CloudFront would use.
pub fn header(name: &str, value: impl Into<String>) -> (String, Vec<Header>) {
    (
        name.to_ascii_lowercase(),
        vec![Header {
            key: Some(capitalise(name)),
            value: value.into(),
        }],
    )
}

/// `cache-control` → `Cache-Control`.
fn capitalise(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capitalises_header_names() {
        assert_eq!(capitalise("cache-control"), "Cache-Control");
        assert_eq!(
            capitalise("x-amz-meta-source-etag"),
            "X-Amz-Meta-Source-Etag"
        );
        assert_eq!(header("Vary", "Accept").0, "vary");
    }
}
