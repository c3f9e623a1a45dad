//! The flow's answer, independent of any host: Lambda@Edge, a function URL and the local edge
//! each turn it into their own response shape.

/// `Cache-Control` of a stored variant: its key names its content, so it never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Client errors (missing original, undecodable or oversized image, forged key) may be fixed by
/// the site owner (upload, replace, edit the spec), so caches keep them only briefly.
pub const CLIENT_ERROR_CACHE: &str = "public, max-age=60";
/// Server errors and redirects to a just-stored variant must not be cached at all.
pub const NO_STORE: &str = "no-store";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Hand the origin's own response on untouched (Lambda@Edge returns the event's response).
    PassThrough,
    Respond(Response),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Lowercase names.
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Empty,
    Text(String),
    /// The variant's bytes; hosts send it base64-encoded where the protocol is JSON.
    Image(Vec<u8>),
}

impl Response {
    /// A short plain-text error: `{status} {reason}: {message}`.
    pub fn error(status: u16, message: &str) -> Response {
        let cache = if status >= 500 {
            NO_STORE
        } else {
            CLIENT_ERROR_CACHE
        };
        Response {
            status,
            headers: vec![
                ("content-type", "text/plain; charset=utf-8".into()),
                ("cache-control", cache.into()),
            ],
            body: Body::Text(format!("{status} {}: {message}\n", reason(status))),
        }
    }

    /// The variant itself.
    pub fn image(data: Vec<u8>, content_type: &str, vary_accept: bool) -> Response {
        let mut headers = vec![
            ("content-type", content_type.to_string()),
            ("cache-control", IMMUTABLE.to_string()),
        ];
        if vary_accept {
            headers.push(("vary", "Accept".into()));
        }
        Response {
            status: 200,
            headers,
            body: Body::Image(data),
        }
    }

    /// Sends the client to the stored variant when it is too big to answer inline.
    pub fn redirect(location: &str) -> Response {
        Response {
            status: 302,
            headers: vec![
                ("location", location.to_string()),
                ("cache-control", NO_STORE.into()),
            ],
            body: Body::Empty,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Bytes this response takes in a JSON host protocol: base64 body (4/3) plus headers plus
    /// a margin for the JSON framing and the header names' capitalised copies.
    pub fn wire_size(&self) -> usize {
        let body = match &self.body {
            Body::Empty => 0,
            Body::Text(t) => t.len(),
            Body::Image(b) => b.len().div_ceil(3) * 4,
        };
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| 2 * n.len() + v.len() + 32)
            .sum();
        body + headers + 256
    }

    pub fn bytes_out(&self) -> usize {
        match &self.body {
            Body::Empty => 0,
            Body::Text(t) => t.len(),
            Body::Image(b) => b.len(),
        }
    }
}

/// The standard reason phrase (CloudFront's `statusDescription`).
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_size_counts_base64_at_four_thirds() {
        let r = Response::image(vec![0; 300_000], "image/jpeg", false);
        assert!(r.wire_size() >= 400_000);
        assert!(r.wire_size() < 401_000);
    }

    #[test]
    fn server_errors_are_not_cached_client_errors_briefly() {
        assert_eq!(
            Response::error(502, "x").header("cache-control"),
            Some(NO_STORE)
        );
        assert_eq!(
            Response::error(404, "x").header("Cache-Control"),
            Some(CLIENT_ERROR_CACHE)
        );
        assert_eq!(
            Response::redirect("/a").header("cache-control"),
            Some(NO_STORE)
        );
    }
}
