//! CloudFront Functions viewer-request event and result, in the documented JSON shape.
//!
//! Fields this crate does not read (`method`, `cookies`, anything CloudFront adds) are kept
//! verbatim, so a request that passes untouched serialises exactly as it came in — as the
//! JavaScript function returns it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `{"version": "1.0", "context": {...}, "viewer": {...}, "request": {...}}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewerRequestEvent {
    pub request: Request,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// `event.request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The path as received, %-encoded, starting with `/`.
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub querystring: Option<BTreeMap<String, Field>>,
    /// Lower-case names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, Field>>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A query parameter or header: `{"value": "…"}` or, when repeated,
/// `{"value": first, "multiValue": [{"value": …}, …]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub value: String,
    #[serde(
        rename = "multiValue",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub multi_value: Option<Vec<Value1>>,
}

/// One entry of `multiValue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Value1 {
    pub value: String,
}

impl Field {
    pub fn single(value: impl Into<String>) -> Field {
        Field {
            value: value.into(),
            multi_value: None,
        }
    }

    /// Every value, in order (`multiValue` when present and non-empty, else `value`).
    pub fn values(&self) -> Vec<&str> {
        match &self.multi_value {
            Some(m) if !m.is_empty() => m.iter().map(|v| v.value.as_str()).collect(),
            _ => vec![self.value.as_str()],
        }
    }

    fn push(&mut self, value: String) {
        let m = self.multi_value.get_or_insert_with(|| {
            vec![Value1 {
                value: self.value.clone(),
            }]
        });
        m.push(Value1 { value });
    }
}

/// What the function returns: the (possibly rewritten) request, or a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ViewerResult {
    Response(Response),
    Request(Request),
}

/// A response generated at the edge (`statusCode`, `statusDescription`, `headers`, `body`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status_code: u16,
    pub status_description: String,
    pub headers: BTreeMap<String, Field>,
    pub body: Body,
}

/// `{"encoding": "text", "data": "…"}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    pub encoding: String,
    pub data: String,
}

impl Response {
    /// The plain-text error the function answers with (never cached: `no-store`).
    pub fn error(status: u16, message: &str) -> Response {
        let headers = [
            ("cache-control", "no-store"),
            ("content-type", "text/plain; charset=utf-8"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Field::single(v)))
        .collect();
        Response {
            status_code: status,
            status_description: match status {
                414 => "URI Too Long",
                403 => "Forbidden",
                _ => "Bad Request",
            }
            .into(),
            headers,
            body: Body {
                encoding: "text".into(),
                data: format!("scalefront: {message}\n"),
            },
        }
    }
}

impl ViewerRequestEvent {
    /// The event CloudFront would build for `GET path?query` with these headers: the path and the
    /// query values stay %-encoded as sent, names keep their case (header names are lower-cased),
    /// a repeated name becomes `multiValue`. A full URL (`https://host/path`) is cut to its path;
    /// a `#fragment` is dropped (browsers never send it).
    pub fn from_http(path_and_query: &str, headers: &[(String, String)]) -> ViewerRequestEvent {
        let mut s = path_and_query;
        if let Some(rest) = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
        {
            s = rest.find(['/', '?']).map_or("/", |i| &rest[i..]);
        }
        let s = s.split('#').next().unwrap_or("");
        let (path, query) = s.split_once('?').unwrap_or((s, ""));
        let uri = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };

        let mut querystring: BTreeMap<String, Field> = BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            add(&mut querystring, name.to_string(), value.to_string());
        }
        let mut hs: BTreeMap<String, Field> = BTreeMap::new();
        for (name, value) in headers {
            add(&mut hs, name.to_ascii_lowercase(), value.clone());
        }
        let request = Request {
            uri,
            querystring: Some(querystring),
            headers: Some(hs),
            rest: [
                ("method".to_string(), Value::from("GET")),
                ("cookies".to_string(), Value::Object(Map::new())),
            ]
            .into_iter()
            .collect(),
        };
        let rest = [
            ("version", serde_json::json!("1.0")),
            (
                "context",
                serde_json::json!({"eventType": "viewer-request"}),
            ),
            ("viewer", serde_json::json!({"ip": "127.0.0.1"})),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        ViewerRequestEvent { request, rest }
    }
}

fn add(map: &mut BTreeMap<String, Field>, name: String, value: String) {
    match map.get_mut(&name) {
        Some(f) => f.push(value),
        None => {
            map.insert(name, Field::single(value));
        }
    }
}
