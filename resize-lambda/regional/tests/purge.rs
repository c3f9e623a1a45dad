//! The purge handler end to end: EventBridge events (the fixtures in `tests/events/`) against a
//! real S3 server (s3s-fs: the one the test step started, `$S3_ENDPOINT`, or one this test
//! starts) and a local HTTP server standing in for CloudFront's API that records every request
//! and checks its SigV4 signature (service `cloudfront`, us-east-1) from the bytes it received;
//! and the `bootstrap` binary itself with `_HANDLER=purge` behind a stand-in Lambda Runtime API.
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_s3::primitives::ByteStream;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use regional::cloudfront::{batch_items, element, CloudFront};
use regional::purge::{Outcome, Purger};
use serde_json::Value;
use viewer_fn::purge::cache_tag;
use viewer_fn::Spec;

const KEY_ID: &str = "scalefront-test";
const SECRET: &str = "scalefront-test-secret";
const SESSION: &str = "scalefront-test-session-token";
const DISTRIBUTION: &str = "E2QWRUHAPOMQZL";
/// The generation segment of every current variant key.
const G: &str = viewer_fn::GENERATION;
/// Another generation: what a change of rules left behind.
const OLD: &str = "g0000000";

// ---------------------------------------------------------------------------------------------
// S3

struct S3 {
    client: aws_sdk_s3::Client,
    endpoint: String,
    bucket: String,
    _server: Option<Server>,
}

struct Server {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl S3 {
    async fn start(bucket: &str) -> S3 {
        let (endpoint, server) = match std::env::var("S3_ENDPOINT") {
            Ok(e) => (e, None),
            Err(_) => {
                let dir = std::env::temp_dir().join(format!(
                    "scalefront-purge-s3-{}-{bucket}",
                    std::process::id()
                ));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap();
                let port = free_port();
                let child = Command::new("s3s-fs")
                    .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--access-key", KEY_ID, "--secret-key", SECRET])
                    .arg(&dir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("s3s-fs on PATH (scripts/setup.sh installs it)");
                for _ in 0..200 {
                    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                (
                    format!("http://127.0.0.1:{port}"),
                    Some(Server { child, dir }),
                )
            }
        };
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(KEY_ID, SECRET, None, None, "test"))
            .endpoint_url(&endpoint)
            .force_path_style(true)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        client.create_bucket().bucket(bucket).send().await.unwrap();
        S3 {
            client,
            endpoint,
            bucket: bucket.into(),
            _server: server,
        }
    }

    async fn put(&self, key: &str, body: &[u8]) {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap();
    }

    async fn remove(&self, key: &str) {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    }

    async fn keys(&self) -> Vec<String> {
        let r = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = r
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        keys.sort();
        keys
    }

    /// The variants of `x.jpg` and of `x.jpg/y.jpg` (whose folder sits *inside* x.jpg's) and of
    /// a third original, of the current and of an old generation; the originals `x.jpg/y.jpg`
    /// and `photos/z.jpg`. (s3s-fs keeps objects as files, so `x.jpg` and `x.jpg/y.jpg` cannot
    /// both be there: `x.jpg` is the one deleted.)
    async fn photos(&self) {
        for key in [
            "x.jpg/y.jpg",
            "photos/z.jpg",
            &format!("_sf/x.jpg/{G}/w640-h0-cover-q75.webp"),
            &format!("_sf/x.jpg/{G}/w384-h0-cover-q75.avif"),
            &format!("_sf/x.jpg/{OLD}/w640-h0-cover-q75.webp"),
            &format!("_sf/x.jpg/y.jpg/{G}/w640-h0-cover-q75.webp"),
            &format!("_sf/x.jpg/y.jpg/{OLD}/w384-h0-cover-q75.jpeg"),
            &format!("_sf/photos/z.jpg/{G}/w640-h0-cover-q75.webp"),
        ] {
            self.put(key, key.as_bytes()).await;
        }
    }

    fn purger(&self, cdn: Option<CloudFront>) -> Purger {
        Purger {
            spec: Spec::default(),
            bucket: self.bucket.clone(),
            s3: self.client.clone(),
            cdn,
        }
    }
}

fn all_but(all: &[String], gone: &[String]) -> Vec<String> {
    all.iter().filter(|k| !gone.contains(k)).cloned().collect()
}

// ---------------------------------------------------------------------------------------------
// CloudFront's API, recorded

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    /// Names in lower case.
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// How the stand-in answers.
#[derive(Clone, Copy)]
struct Api {
    /// `GetDistributionConfig` has a `CacheTagConfig` naming `x-amz-meta-cache-tag`.
    tags: bool,
    /// The first this many `CreateInvalidation`s: 400 `TooManyInvalidationsInProgress`.
    busy: usize,
    /// Every `CreateInvalidation`: 403 `AccessDenied`.
    denied: bool,
}

struct CloudFrontApi {
    endpoint: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl CloudFrontApi {
    fn start(api: Api) -> CloudFrontApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::<Recorded>::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let seen = seen.clone();
                std::thread::spawn(move || serve(conn, api, &seen));
            }
        });
        CloudFrontApi { endpoint, requests }
    }

    fn client(&self) -> CloudFront {
        let creds = SharedCredentialsProvider::new(Credentials::new(
            KEY_ID,
            SECRET,
            Some(SESSION.into()),
            None,
            "test",
        ));
        let mut cdn = CloudFront::new(DISTRIBUTION, &self.endpoint, creds).unwrap();
        cdn.first_wait = Duration::from_millis(10);
        cdn
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    fn invalidations(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect()
    }
}

/// Requests on one connection (the client keeps it alive), each answered in turn.
fn serve(conn: std::net::TcpStream, api: Api, seen: &Mutex<Vec<Recorded>>) {
    let mut out = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (n, v) = h.split_once(':').unwrap();
            headers.insert(n.trim().to_ascii_lowercase(), v.trim().to_string());
        }
        let len = headers
            .get("content-length")
            .map_or(0, |v| v.parse().unwrap());
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let request = Recorded {
            method,
            path,
            headers,
            body,
        };
        let (status, answer) = answer(api, &request, seen);
        seen.lock().unwrap().push(request);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nx-amz-request-id: test\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn answer(api: Api, r: &Recorded, seen: &Mutex<Vec<Recorded>>) -> (&'static str, String) {
    let error = |code: &str, message: &str| {
        format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
             <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>test</RequestId></ErrorResponse>"
        )
    };
    let base = format!("/2020-05-31/distribution/{DISTRIBUTION}");
    if r.method == "GET" && r.path == format!("{base}/config") {
        let tags = if api.tags {
            "<CacheTagConfig><HeaderName>x-amz-meta-cache-tag</HeaderName></CacheTagConfig>"
        } else {
            ""
        };
        return (
            "200 OK",
            format!(
                "<?xml version=\"1.0\"?>\n<DistributionConfig xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
                 <CallerReference>scalefront</CallerReference><Enabled>true</Enabled>{tags}</DistributionConfig>"
            ),
        );
    }
    if r.method == "POST" && r.path == format!("{base}/invalidation") {
        if api.denied {
            return (
                "403 Forbidden",
                error(
                    "AccessDenied",
                    "User is not authorized to perform: cloudfront:CreateInvalidation",
                ),
            );
        }
        let earlier = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == "POST")
            .count();
        if earlier < api.busy {
            return (
                "400 Bad Request",
                error(
                    "TooManyInvalidationsInProgress",
                    "Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations.",
                ),
            );
        }
        let body = String::from_utf8_lossy(&r.body);
        let reference = element(&body, "CallerReference").unwrap_or_default();
        return (
            "201 Created",
            format!(
                "<?xml version=\"1.0\"?>\n<Invalidation xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
                 <Id>I2J0I21PCUYOIK</Id><Status>InProgress</Status><CreateTime>2026-01-01T00:00:00Z</CreateTime>\
                 <InvalidationBatch>{}<CallerReference>{reference}</CallerReference></InvalidationBatch></Invalidation>",
                body.split("<Paths>").nth(1).and_then(|p| p.split("</Paths>").next()).map(|p| format!("<Paths>{p}</Paths>")).unwrap_or_default()
            ),
        );
    }
    ("404 Not Found", error("NoSuchResource", &r.path))
}

/// The request's SigV4 signature holds for what the server received: credential scope
/// `…/us-east-1/cloudfront/aws4_request`, the signed headers, and the signature recomputed from
/// the method, path, those headers' values, the body and `x-amz-date`.
fn assert_signed_for_cloudfront(r: &Recorded) {
    let auth = r.header("authorization");
    let fields: HashMap<&str, &str> = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .unwrap_or_else(|| panic!("not SigV4: {auth:?}"))
        .split(", ")
        .filter_map(|f| f.split_once('='))
        .collect();
    let date = r.header("x-amz-date");
    let scope = format!("{KEY_ID}/{}/us-east-1/cloudfront/aws4_request", &date[..8]);
    assert_eq!(fields["Credential"], scope, "{auth}");
    let signed: Vec<&str> = fields["SignedHeaders"].split(';').collect();
    for must in ["host", "x-amz-date", "x-amz-security-token"] {
        assert!(signed.contains(&must), "{must} signed: {signed:?}");
    }
    assert_eq!(r.header("x-amz-security-token"), SESSION);
    // Recompute: the signer adds x-amz-date and the token itself.
    let headers: Vec<(&str, &str)> = signed
        .iter()
        .filter(|h| !matches!(**h, "x-amz-date" | "x-amz-security-token"))
        .map(|h| (*h, r.header(h)))
        .collect();
    let identity: Identity =
        Credentials::new(KEY_ID, SECRET, Some(SESSION.into()), None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("cloudfront")
        .time(amz_date(date))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let uri = format!("http://{}{}", r.header("host"), r.path);
    let signable = SignableRequest::new(
        &r.method,
        uri,
        headers.into_iter(),
        SignableBody::Bytes(&r.body),
    )
    .unwrap();
    let (_, signature) = sign(signable, &params).unwrap().into_parts();
    assert_eq!(
        fields["Signature"], signature,
        "the signature of what arrived"
    );
}

/// `20260101T000000Z` as a time.
fn amz_date(s: &str) -> SystemTime {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(4, 6), n(6, 8));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(9, 11) * 3600 + n(11, 13) * 60 + n(13, 15);
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
}

// ---------------------------------------------------------------------------------------------
// Events

fn event(name: &str, bucket: &str, key: &str) -> Value {
    let src = match name {
        "object-created-put" => include_str!("events/object-created-put.json"),
        "object-created-multipart" => include_str!("events/object-created-multipart.json"),
        "object-deleted" => include_str!("events/object-deleted.json"),
        "object-deleted-lifecycle" => include_str!("events/object-deleted-lifecycle.json"),
        "variant-deleted" => include_str!("events/variant-deleted.json"),
        "other-bucket" => include_str!("events/other-bucket.json"),
        _ => panic!("no fixture {name}"),
    };
    let mut v: Value = serde_json::from_str(src).unwrap();
    if bucket != "-" {
        v["detail"]["bucket"]["name"] = bucket.into();
        v["resources"][0] = format!("arn:aws:s3:::{bucket}").into();
    }
    if key != "-" {
        v["detail"]["object"]["key"] = key.into();
    }
    v
}

fn deadline(secs: u64) -> SystemTime {
    SystemTime::now() + Duration::from_secs(secs)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_x_jpg_removes_its_variants_and_invalidates_exactly_its_paths() {
    let s3 = S3::start("purge-deleted").await;
    s3.photos().await;
    let api = CloudFrontApi::start(Api {
        tags: false,
        busy: 1,
        denied: false,
    });
    let purger = s3.purger(Some(api.client()));
    let before = s3.keys().await;

    // The owner deleted x.jpg; S3 tells EventBridge, which runs the purge.
    let out = purger
        .handle(&event("object-deleted", &s3.bucket, "x.jpg"), deadline(60))
        .await;
    println!("{}", out.to_json_line());
    assert_eq!(out.outcome, "purged", "{out:?}");

    // (The handler's HEAD of x.jpg finds it gone; s3s-fs, where x.jpg is the folder of
    // x.jpg/y.jpg, answers 500 where S3 says 404: the purge goes ahead either way.)
    let gone = sorted(strings(&[
        &format!("_sf/x.jpg/{G}/w384-h0-cover-q75.avif"),
        &format!("_sf/x.jpg/{G}/w640-h0-cover-q75.webp"),
        &format!("_sf/x.jpg/{OLD}/w640-h0-cover-q75.webp"),
    ]));
    // x.jpg's variants of every generation are gone; x.jpg/y.jpg's and z.jpg's stay, and so do
    // the originals.
    assert_eq!(s3.keys().await, all_but(&before, &gone));
    assert!(s3.keys().await.contains(&"x.jpg/y.jpg".to_string()));
    assert_eq!(sorted(out.deleted.clone()), gone);

    // No CacheTagConfig: a wildcard for its variants' folder, and its own URI.
    let want = strings(&["/_sf/x.jpg/*", "/x.jpg"]);
    assert_eq!(out.invalidation, Some("paths"));
    assert_eq!(out.invalidated, want);
    let requests = api.requests();
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].path,
        format!("/2020-05-31/distribution/{DISTRIBUTION}/config")
    );
    // Too many in progress once, then accepted: two tries of one batch, one caller reference.
    let posts = api.invalidations();
    assert_eq!(posts.len(), 2, "{posts:?}");
    for post in &posts {
        assert_eq!(
            post.path,
            format!("/2020-05-31/distribution/{DISTRIBUTION}/invalidation")
        );
        let body = String::from_utf8(post.body.clone()).unwrap();
        assert_eq!(batch_items(&body), want);
        assert!(body.contains("<Quantity>2</Quantity>"), "{body}");
        assert!(
            body.contains("xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\""),
            "{body}"
        );
        assert_eq!(post.header("content-type"), "application/xml");
    }
    assert_eq!(posts[0].body, posts[1].body, "the same caller reference");
    for r in &requests {
        assert_signed_for_cloudfront(r);
    }
}

#[tokio::test]
async fn replacing_x_jpg_y_jpg_invalidates_its_cache_tag_and_its_uri() {
    let s3 = S3::start("purge-replaced").await;
    s3.photos().await;
    let api = CloudFrontApi::start(Api {
        tags: true,
        busy: 0,
        denied: false,
    });
    let purger = s3.purger(Some(api.client()));
    let before = s3.keys().await;

    // A new upload of x.jpg/y.jpg (multipart, as a large photo comes).
    s3.put("x.jpg/y.jpg", b"a new photo").await;
    let out = purger
        .handle(
            &event("object-created-multipart", &s3.bucket, "x.jpg/y.jpg"),
            deadline(60),
        )
        .await;
    println!("{}", out.to_json_line());
    assert_eq!(out.outcome, "purged", "{out:?}");
    let gone = sorted(strings(&[
        &format!("_sf/x.jpg/y.jpg/{G}/w640-h0-cover-q75.webp"),
        &format!("_sf/x.jpg/y.jpg/{OLD}/w384-h0-cover-q75.jpeg"),
    ]));
    assert_eq!(sorted(out.deleted.clone()), gone);
    // x.jpg's variants (in the folder above) and every original stay.
    assert_eq!(s3.keys().await, all_but(&before, &gone));

    let want = vec![
        format!("#{}", cache_tag("x.jpg/y.jpg")),
        "/x.jpg/y.jpg".into(),
    ];
    assert_eq!(out.invalidation, Some("tags"));
    assert_eq!(out.invalidated, want);
    let posts = api.invalidations();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        batch_items(&String::from_utf8(posts[0].body.clone()).unwrap()),
        want
    );
    for r in api.requests() {
        assert_signed_for_cloudfront(&r);
    }
}

#[tokio::test]
async fn before_the_distribution_exists_variants_go_and_nothing_is_invalidated() {
    let s3 = S3::start("purge-no-distribution").await;
    s3.photos().await;
    let purger = s3.purger(None);
    s3.remove("photos/z.jpg").await;
    let out = purger
        .handle(
            &event("object-deleted-lifecycle", &s3.bucket, "photos/z.jpg"),
            deadline(60),
        )
        .await;
    println!("{}", out.to_json_line());
    assert_eq!(out.outcome, "purged");
    assert!(out.warnings.is_empty(), "HEAD said 404: {out:?}");
    assert_eq!(
        out.deleted,
        [format!("_sf/photos/z.jpg/{G}/w640-h0-cover-q75.webp")]
    );
    assert!(out.invalidated.is_empty());
    assert_eq!(
        out.not_invalidated,
        ["/_sf/photos/z.jpg/*", "/photos/z.jpg"]
    );
    assert!(
        out.reason
            .as_deref()
            .unwrap()
            .contains("SCALEFRONT_DISTRIBUTION_ID is empty"),
        "{out:?}"
    );
    assert!(!out.failed());
}

#[tokio::test]
async fn variant_keys_other_buckets_and_surviving_originals_change_nothing() {
    let s3 = S3::start("purge-nothing").await;
    s3.photos().await;
    let api = CloudFrontApi::start(Api {
        tags: true,
        busy: 0,
        denied: false,
    });
    let purger = s3.purger(Some(api.client()));
    let before = s3.keys().await;

    // The purge's own delete of a variant, and another bucket's upload.
    let variant = format!("_sf/x.jpg/{G}/w640-h0-cover-q75.webp");
    for (name, bucket, key) in [
        ("variant-deleted", s3.bucket.as_str(), variant.as_str()),
        ("other-bucket", "-", "x.jpg"),
    ] {
        let out = purger.handle(&event(name, bucket, key), deadline(60)).await;
        println!("{}", out.to_json_line());
        assert_eq!(out.outcome, "ignored", "{name}: {out:?}");
    }
    // An old version of x.jpg/y.jpg expired (a versioned bucket): the photo is still there.
    let out = purger
        .handle(
            &event("object-deleted-lifecycle", &s3.bucket, "x.jpg/y.jpg"),
            deadline(60),
        )
        .await;
    println!("{}", out.to_json_line());
    assert_eq!(out.outcome, "kept", "{out:?}");

    assert_eq!(s3.keys().await, before, "nothing deleted");
    assert!(api.requests().is_empty(), "no CloudFront call");
    // Not an S3 event at all: an error, so Lambda's retries and Errors metric show it.
    let out = purger
        .handle(&serde_json::json!({"hello": "world"}), deadline(60))
        .await;
    assert!(out.failed(), "{out:?}");
}

#[tokio::test]
async fn an_invalidation_cloudfront_refuses_is_an_error_after_the_deletes() {
    let s3 = S3::start("purge-refused").await;
    s3.photos().await;
    // Denied: no retry.
    let api = CloudFrontApi::start(Api {
        tags: false,
        busy: 0,
        denied: true,
    });
    s3.remove("x.jpg/y.jpg").await;
    let out: Outcome = s3
        .purger(Some(api.client()))
        .handle(
            &event("object-deleted", &s3.bucket, "x.jpg/y.jpg"),
            deadline(60),
        )
        .await;
    println!("{}", out.to_json_line());
    assert!(out.failed());
    assert_eq!(out.deleted.len(), 2, "the stored variants went first");
    assert!(out.errors[0].contains("AccessDenied"), "{:?}", out.errors);
    assert_eq!(api.invalidations().len(), 1);

    // Too many in progress until the function's time runs out: tried, then an error.
    let api = CloudFrontApi::start(Api {
        tags: false,
        busy: usize::MAX,
        denied: false,
    });
    s3.remove("photos/z.jpg").await;
    let out = s3
        .purger(Some(api.client()))
        .handle(
            &event("object-deleted", &s3.bucket, "photos/z.jpg"),
            deadline(6),
        )
        .await;
    println!("{}", out.to_json_line());
    assert!(out.failed());
    assert!(
        out.errors[0].contains("TooManyInvalidationsInProgress")
            && out.errors[0].contains("no time left"),
        "{:?}",
        out.errors
    );
    let tries = api.invalidations().len();
    assert!(tries >= 3, "{tries} tries");
    assert!(
        api.invalidations()
            .iter()
            .all(|p| p.body == api.invalidations()[0].body),
        "one batch, one caller reference"
    );
}

// ---------------------------------------------------------------------------------------------
// The binary: `_HANDLER` picks the handler; events come from the Runtime API.

/// What the function posted back for one invocation: (request id, `response` or `error`, body).
type Posted = Arc<Mutex<Vec<(String, String, String)>>>;

/// A Lambda Runtime API (2018-06-01) that hands out `events` in turn (then keeps the next
/// request waiting) and records what the function posts back.
fn runtime_api(events: Vec<Value>) -> (String, Posted) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let queue = Arc::new(Mutex::new(
        events.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let posted: Posted = Arc::new(Mutex::new(Vec::new()));
    let seen = posted.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let (queue, seen) = (queue.clone(), seen.clone());
            std::thread::spawn(move || {
                let mut out = conn.try_clone().unwrap();
                let mut reader = BufReader::new(conn);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut len = 0;
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((n, v)) = h.split_once(':') {
                            if n.eq_ignore_ascii_case("content-length") {
                                len = v.trim().parse().unwrap();
                            }
                        }
                    }
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).unwrap();
                    let answer = if path.ends_with("/runtime/invocation/next") {
                        let next = {
                            let mut q = queue.lock().unwrap();
                            (!q.is_empty()).then(|| q.remove(0))
                        };
                        let Some((i, event)) = next else {
                            // No more events: wait, as Lambda freezes an idle function.
                            std::thread::sleep(Duration::from_secs(3600));
                            return;
                        };
                        let body = event.to_string();
                        let deadline = SystemTime::now()
                            .duration_since(SystemTime::UNIX_EPOCH)
                            .unwrap()
                            .as_millis()
                            + 60_000;
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                             Lambda-Runtime-Aws-Request-Id: request-{i}\r\n\
                             Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:111122223333:function:scalefront-purge\r\n\
                             Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                             Content-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    } else {
                        // /runtime/invocation/{id}/response or /error
                        let parts: Vec<&str> = path.rsplitn(3, '/').collect();
                        seen.lock().unwrap().push((
                            parts[1].to_string(),
                            parts[0].to_string(),
                            String::from_utf8_lossy(&body).into_owned(),
                        ));
                        "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}".to_string()
                    };
                    if out.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, posted)
}

/// The `bootstrap` this package builds, as Lambda starts it for a function whose `Handler` is
/// `handler`.
fn bootstrap(
    handler: &str,
    runtime: &str,
    config: &std::path::Path,
    env: &[(&str, &str)],
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("_HANDLER", handler)
        .env("AWS_LAMBDA_RUNTIME_API", runtime)
        .env("AWS_LAMBDA_FUNCTION_NAME", "scalefront-purge")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", SESSION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SCALEFRONT_CONFIG", config)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn the_bootstrap_runs_the_purge_when_its_handler_is_purge() {
    let s3 = S3::start("purge-bootstrap").await;
    s3.photos().await;
    let before = s3.keys().await;
    let api = CloudFrontApi::start(Api {
        tags: false,
        busy: 0,
        denied: false,
    });
    let dir =
        std::env::temp_dir().join(format!("scalefront-purge-bootstrap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        serde_json::json!({"bucket": s3.bucket, "region": "us-east-1", "s3Endpoint": s3.endpoint, "spec": ""})
            .to_string(),
    )
    .unwrap();
    s3.remove("photos/z.jpg").await;
    let (runtime, posted) = runtime_api(vec![
        event("object-deleted", &s3.bucket, "photos/z.jpg"),
        event("variant-deleted", &s3.bucket, "-"),
        serde_json::json!({"not": "an S3 event"}),
    ]);
    let mut child = bootstrap(
        "purge",
        &runtime,
        &config,
        &[
            ("SCALEFRONT_DISTRIBUTION_ID", DISTRIBUTION),
            ("SCALEFRONT_CLOUDFRONT_ENDPOINT", &api.endpoint),
        ],
    );
    for _ in 0..600 {
        if posted.lock().unwrap().len() == 3 || child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let posted = posted.lock().unwrap().clone();
    assert_eq!(posted.len(), 3, "{posted:?}");

    // The deletion: purged, answered as a response.
    assert_eq!(
        (posted[0].0.as_str(), posted[0].1.as_str()),
        ("request-0", "response")
    );
    let answer: Value = serde_json::from_str(&posted[0].2).unwrap();
    assert_eq!(answer["outcome"], "purged");
    assert_eq!(
        answer["invalidated"],
        serde_json::json!(["/_sf/photos/z.jpg/*", "/photos/z.jpg"])
    );
    let gone = format!("_sf/photos/z.jpg/{G}/w640-h0-cover-q75.webp");
    assert_eq!(
        s3.keys().await,
        all_but(&before, &strings(&["photos/z.jpg", &gone]))
    );
    let posts = api.invalidations();
    assert_eq!(posts.len(), 1);
    assert_signed_for_cloudfront(&posts[0]);
    // A variant's event: ignored, not an error.
    assert_eq!(posted[1].1, "response");
    assert_eq!(
        serde_json::from_str::<Value>(&posted[1].2).unwrap()["outcome"],
        "ignored"
    );
    // Not an S3 event: an error to the runtime (Lambda retries it, Errors counts it).
    assert_eq!(
        (posted[2].0.as_str(), posted[2].1.as_str()),
        ("request-2", "error")
    );
    assert!(
        posted[2].2.contains("not an S3 object event"),
        "{}",
        posted[2].2
    );
    // One JSON log line per event.
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &Value| v.get("outcome").is_some())
        .collect();
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|v| v["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["purged", "ignored", "failed"]);

    // An unknown handler stops the function at init, naming the setting.
    let (runtime, posted) = runtime_api(vec![]);
    let output = bootstrap("index.handler", &runtime, &config, &[])
        .wait_with_output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("_HANDLER") && stderr.contains("resize or purge"),
        "{stderr}"
    );
    assert!(posted.lock().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
