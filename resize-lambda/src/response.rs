//! The flow's answer, independent of any host: Lambda@Edge, a function URL and the local edge
//! each turn it into their own response shape.

/// Responses that must not be cached: transient failures, a redirect to a just-stored variant,
/// every answer to a HEAD (CloudFront's GET shares HEAD's cache entry, and a HEAD answer has no
/// body). CloudFront honours it on 2xx/3xx because the cache policy's MinTTL is 0
/// (`viewer_fn::cdn::MIN_TTL`); on 5xx it keeps the answer for the distribution's
/// `ErrorCachingMinTTL` whatever it says.
pub const NO_STORE: &str = "no-store";

/// How long caches may keep a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// The spec's `error_max_age`: the site owner fixes it by replacing the photo or the spec.
    Error,
    /// The spec's `missing_max_age` (≤ 60 s): a photo uploaded after the page linked it shows soon.
    Missing,
    /// `no-store` for browsers; CloudFront keeps it for `viewer_fn::cdn::TRANSIENT_ERROR_CACHING_MIN_TTL`.
    Transient,
}

/// The spec's error lifetimes, all the table needs from it: a flow carries these two numbers, not
/// a copy of the whole spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub error_max_age: u32,
    pub missing_max_age: u32,
}

impl Lifetimes {
    pub fn of(spec: &viewer_fn::Spec) -> Lifetimes {
        Lifetimes {
            error_max_age: spec.error_max_age(),
            missing_max_age: spec.missing_max_age(),
        }
    }
}

/// **The error table**: every way a request for an image can fail on the origin side, with its
/// status, how long caches keep it, its public message and the name the body and the log carry.
/// Every host answers through it (Lambda@Edge, the regional Lambda, `serve`), and the Lambda@Edge
/// shim's answer for a missing original is baked from it (`ShimConfig`).
///
/// Statuses are ones CloudFront caches (404 always; 400/415 for their max-age; 5xx for the
/// `ErrorCachingMinTTL`), so a broken original is not fetched again on every request; 413 and 422
/// would be (CloudFront Developer Guide, "How CloudFront processes HTTP 4xx and 5xx status codes
/// from your origin").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A key in the variant namespace the spec cannot produce (I2).
    Forged,
    /// The original does not exist (a role that may list the bucket was told 404).
    MissingOriginal,
    /// The original exists for the function's role but CloudFront was refused it: its origin
    /// access (bucket policy statement not merged, a KMS key policy without CloudFront, a deny).
    OriginalUnreadable,
    /// The image core refused the original: unsupported, corrupt, over a limit, or failed.
    Image(image_core::ErrorKind),
    /// The function's role was refused a read (403 to a role that may list the bucket): its policy,
    /// a KMS key policy, a deny. Never "missing", never a reason to make a stored variant again.
    RoleDenied,
    /// Reading the original or the stored variant failed (S3 5xx, throttling, network).
    ReadFailed,
    /// Storing the variant failed.
    WriteFailed,
    /// The variant is stored, too big to answer inline, and older than
    /// [`crate::flow::STORED_GRACE_MS`]: CloudFront evidently cannot read it, and a redirect to it
    /// would come straight back here.
    StoredUnreadable,
    /// A bug in a host (it fed the flow the wrong input).
    Internal,
}

impl Failure {
    /// Every row, for the table in the docs and its test.
    pub const ALL: [Failure; 12] = [
        Failure::Forged,
        Failure::MissingOriginal,
        Failure::OriginalUnreadable,
        Failure::RoleDenied,
        Failure::Image(image_core::ErrorKind::Unsupported),
        Failure::Image(image_core::ErrorKind::Corrupt),
        Failure::Image(image_core::ErrorKind::TooLarge),
        Failure::Image(image_core::ErrorKind::Internal),
        Failure::ReadFailed,
        Failure::WriteFailed,
        Failure::StoredUnreadable,
        Failure::Internal,
    ];

    pub fn status(self) -> u16 {
        match self {
            Failure::Forged => 400,
            Failure::MissingOriginal => 404,
            Failure::Image(kind) => kind.status(),
            Failure::OriginalUnreadable
            | Failure::RoleDenied
            | Failure::ReadFailed
            | Failure::WriteFailed
            | Failure::StoredUnreadable => 502,
            Failure::Internal => 500,
        }
    }

    pub fn lifetime(self) -> Lifetime {
        match self {
            Failure::MissingOriginal => Lifetime::Missing,
            Failure::Forged
            | Failure::Image(
                image_core::ErrorKind::Unsupported
                | image_core::ErrorKind::Corrupt
                | image_core::ErrorKind::TooLarge,
            ) => Lifetime::Error,
            _ => Lifetime::Transient,
        }
    }

    /// The kind's name: first word of the body, `kind` in the log.
    pub fn kind(self) -> &'static str {
        match self {
            Failure::Forged => "forged-key",
            Failure::MissingOriginal => "missing",
            Failure::OriginalUnreadable => "origin-access",
            Failure::RoleDenied => "role-denied",
            Failure::Image(kind) => kind.as_str(),
            Failure::ReadFailed => "read-failed",
            Failure::WriteFailed => "write-failed",
            Failure::StoredUnreadable => "stored-unreadable",
            Failure::Internal => "host-protocol",
        }
    }

    /// What the response says. Failures caused by the original add the image core's own words
    /// (meant for whoever uploaded it); server-side causes go to the log only.
    pub fn public(self) -> &'static str {
        match self {
            Failure::Forged => "not a variant this site produces",
            Failure::MissingOriginal => "the original image does not exist",
            Failure::OriginalUnreadable => "the image exists but CloudFront may not read it: merge the bucket policy statement (scalefront deploy does) and allow CloudFront to decrypt with the bucket's KMS key",
            Failure::Image(image_core::ErrorKind::Unsupported) => "the original is not an image this site can read",
            Failure::Image(image_core::ErrorKind::Corrupt) => "the original is damaged",
            Failure::Image(image_core::ErrorKind::TooLarge) => "the original is over a size limit",
            Failure::Image(image_core::ErrorKind::Internal) => "could not process the image",
            Failure::RoleDenied => "the image function may not read from the bucket: check its role's policy, the KMS key policy and any deny",
            Failure::ReadFailed => "could not read from the bucket",
            Failure::WriteFailed => "could not store the variant",
            Failure::StoredUnreadable => "the variant is stored but CloudFront cannot read it: check the bucket policy statement, the KMS key policy and any deny on the variant prefix",
            Failure::Internal => "internal error",
        }
    }

    /// Whether the detail (the image core's message) is shown to the viewer.
    fn shows_detail(self) -> bool {
        matches!(
            self,
            Failure::Forged
                | Failure::Image(
                    image_core::ErrorKind::Unsupported
                        | image_core::ErrorKind::Corrupt
                        | image_core::ErrorKind::TooLarge
                )
        )
    }

    /// `Cache-Control` of this failure under the spec's lifetimes.
    pub fn cache_control(self, ages: Lifetimes) -> String {
        match self.lifetime() {
            Lifetime::Error => format!("public, max-age={}", ages.error_max_age),
            Lifetime::Missing => format!("public, max-age={}", ages.missing_max_age),
            Lifetime::Transient => NO_STORE.to_string(),
        }
    }

    /// The response: `{status} {reason}: {kind}: {public}[: {detail}]`, plain text.
    pub fn response(self, ages: Lifetimes, detail: Option<&str>) -> Response {
        let status = self.status();
        let mut body = format!(
            "{status} {}: {}: {}",
            reason(status),
            self.kind(),
            self.public()
        );
        if let Some(d) = detail.filter(|_| self.shows_detail()) {
            body.push_str(": ");
            body.push_str(d);
        }
        body.push('\n');
        Response {
            status,
            headers: vec![
                ("content-type", "text/plain; charset=utf-8".into()),
                ("cache-control", self.cache_control(ages)),
            ],
            body: Body::Text(body),
        }
    }
}

/// The error table as Markdown, for `docs/platform.md` (a test keeps the committed copy current).
pub fn error_table_markdown() -> String {
    let spec = viewer_fn::Spec::default();
    let mut out = String::from(
        "| failure | status | cached by CloudFront for | body (public) |\n|---|---|---|---|\n",
    );
    for f in Failure::ALL {
        let cache = match f.lifetime() {
            Lifetime::Error => format!("`error_max_age` (default {} s)", spec.error_max_age()),
            Lifetime::Missing => {
                format!(
                    "`missing_max_age` (default {} s, ≤ 60)",
                    spec.missing_max_age()
                )
            }
            Lifetime::Transient => format!(
                "{} s (`ErrorCachingMinTTL`); browsers: `no-store`",
                viewer_fn::cdn::error_caching_min_ttl(f.status())
            ),
        };
        let detail = if f.shows_detail() {
            " + the image core's words"
        } else {
            ""
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {}: {}{} |\n",
            f.kind(),
            f.status(),
            cache,
            f.kind(),
            f.public(),
            detail
        ));
    }
    out
}

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
    /// A variant (stored, or made now), with its `Cache-Control`
    /// ([`viewer_fn::cdn::variant_cache_control`], or what storage kept with it).
    pub fn stored(
        data: Vec<u8>,
        content_type: &str,
        cache_control: &str,
        vary_accept: bool,
    ) -> Response {
        let mut headers = vec![
            ("content-type", content_type.to_string()),
            ("cache-control", cache_control.to_string()),
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

    /// The answer to a HEAD: the same status and headers, `no-store` (see [`NO_STORE`]), and no
    /// image. An error keeps its short text: CloudFront keeps 5xx whatever `no-store` says, and a
    /// GET that receives that entry must still read why (CloudFront sends a HEAD viewer no body).
    pub fn for_head(mut self) -> Response {
        if matches!(self.body, Body::Image(_)) {
            self.body = Body::Empty;
        }
        self.set_header("cache-control", NO_STORE);
        self
    }

    pub fn set_header(&mut self, name: &'static str, value: &str) {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_string()));
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
        let r = Response::stored(vec![0; 300_000], "image/jpeg", "public, max-age=60", false);
        assert!(r.wire_size() >= 400_000);
        assert!(r.wire_size() < 401_000);
    }

    #[test]
    fn the_error_table_uses_statuses_cloudfront_caches_and_the_specs_lifetimes() {
        let spec = viewer_fn::Spec::from_toml("error_max_age = 120\nmissing_max_age = 20").unwrap();
        for f in Failure::ALL {
            let r = f.response(Lifetimes::of(&spec), Some("detail"));
            // CloudFront caches these for a max-age (400, 415) or always (404, 5xx); never 413/422.
            assert!(
                [400, 404, 415, 500, 502].contains(&r.status),
                "{f:?} answers {}",
                r.status
            );
            let cc = r.header("cache-control").unwrap();
            match f.lifetime() {
                Lifetime::Error => assert_eq!(cc, "public, max-age=120", "{f:?}"),
                Lifetime::Missing => assert_eq!(cc, "public, max-age=20", "{f:?}"),
                Lifetime::Transient => assert!(r.status >= 500 && cc == NO_STORE, "{f:?}"),
            }
            let Body::Text(body) = &r.body else { panic!() };
            assert!(body.starts_with(&format!("{} ", r.status)), "{body}");
            assert!(body.contains(&format!(": {}: ", f.kind())), "{body}");
            assert_eq!(body.contains("detail"), f.shows_detail(), "{f:?}: {body}");
            assert!(
                !f.shows_detail() || r.status < 500,
                "server-side causes stay in the log"
            );
        }
        // Kinds stay distinct where statuses merge.
        let corrupt = Failure::Image(image_core::ErrorKind::Corrupt);
        let unsupported = Failure::Image(image_core::ErrorKind::Unsupported);
        assert_eq!(corrupt.status(), unsupported.status());
        assert_ne!(corrupt.kind(), unsupported.kind());
    }

    #[test]
    fn head_answers_are_never_cached_and_have_no_body() {
        let r =
            Response::stored(vec![1, 2, 3], "image/webp", "public, max-age=60", true).for_head();
        assert_eq!(r.header("cache-control"), Some(NO_STORE));
        assert_eq!(r.header("vary"), Some("Accept"));
        assert_eq!(r.body, Body::Empty);
        let spec = viewer_fn::Spec::default();
        let e = Failure::ReadFailed
            .response(Lifetimes::of(&spec), None)
            .for_head();
        assert!(
            matches!(e.body, Body::Text(_)),
            "a cached 5xx keeps its words"
        );
        assert_eq!(
            Response::redirect("/a").header("cache-control"),
            Some(NO_STORE)
        );
    }
}
