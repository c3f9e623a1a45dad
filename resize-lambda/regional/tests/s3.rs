//! The regional handler in-process against a real S3 server (s3s-fs: the one the test step
//! started, `$S3_ENDPOINT`, or one this test starts), through every rule of the flow.
//! Assertions are on the bucket's contents, read back through S3.
use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use regional::App;
use resize_lambda::{Settings, REGIONAL_MAX_RESPONSE_BYTES};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The generation segment of every variant key.
const G: &str = viewer_fn::GENERATION;
use std::time::Duration;
use viewer_fn::{encode_key, Spec};

const KEY_ID: &str = "scalefront-test";
const SECRET: &str = "scalefront-test-secret";
/// The default spec's `viewer_fn::cdn::variant_cache_control`.
const VARIANT_CACHE_CONTROL: &str = "public, max-age=3600, s-maxage=31536000";

/// A bucket of its own on the shared server, or on a server this test started (killed on drop).
struct S3 {
    client: aws_sdk_s3::Client,
    endpoint: String,
    bucket: String,
    _server: Option<Server>,
}

/// The server process and its data directory, both gone on drop.
struct Server {
    child: Child,
    _dir: tempdir::Dir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "scalefront-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(KEY_ID, SECRET, None, None, "test"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

impl S3 {
    async fn start(bucket: &str) -> S3 {
        let (endpoint, server) = match std::env::var("S3_ENDPOINT") {
            Ok(e) => (e, None),
            Err(_) => {
                let dir = tempdir::Dir::new("s3");
                let port = free_port();
                let child = Command::new("s3s-fs")
                    .args([
                        "--host",
                        "127.0.0.1",
                        "--port",
                        &port.to_string(),
                        "--access-key",
                        KEY_ID,
                        "--secret-key",
                        SECRET,
                    ])
                    .arg(&dir.0)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("s3s-fs on PATH (scripts/setup.sh installs it)");
                let server = Server { child, _dir: dir };
                for _ in 0..200 {
                    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                (format!("http://127.0.0.1:{port}"), Some(server))
            }
        };
        let client = client(&endpoint);
        client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("create bucket");
        S3 {
            client,
            endpoint,
            bucket: bucket.into(),
            _server: server,
        }
    }

    fn app(&self) -> App {
        self.app_at(&self.endpoint)
    }

    fn app_at(&self, endpoint: &str) -> App {
        App {
            settings: Settings::new(Spec::default(), REGIONAL_MAX_RESPONSE_BYTES),
            bucket: self.bucket.clone(),
            s3: client(endpoint),
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> String {
        let r = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        r.e_tag().unwrap().to_string()
    }

    /// (bytes, content type, cache control, metadata) or None.
    async fn get(
        &self,
        key: &str,
    ) -> Option<(
        Vec<u8>,
        String,
        String,
        std::collections::HashMap<String, String>,
    )> {
        let r = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        let (ct, cc) = (
            r.content_type().unwrap_or("").to_string(),
            r.cache_control().unwrap_or("").to_string(),
        );
        let meta = r.metadata().cloned().unwrap_or_default();
        Some((r.body.collect().await.unwrap().to_vec(), ct, cc, meta))
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        let r = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
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
}

/// A function URL request as CloudFront's origin-group failover sends it.
fn request(method: &str, uri: &str) -> LambdaFunctionUrlRequest {
    let src = include_str!("fixtures/function-url-request.json");
    let mut v: serde_json::Value = serde_json::from_str(src).unwrap();
    v["rawPath"] = uri.into();
    v["requestContext"]["http"]["method"] = method.into();
    v["requestContext"]["http"]["path"] = uri.into();
    serde_json::from_value(v).unwrap()
}

fn uri(key: &str) -> String {
    format!("/{}", encode_key(key))
}

fn header<'a>(r: &'a LambdaFunctionUrlResponse, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

fn body(r: &LambdaFunctionUrlResponse) -> Vec<u8> {
    let b = r.body.as_deref().unwrap_or("");
    if r.is_base64_encoded {
        base64::engine::general_purpose::STANDARD.decode(b).unwrap()
    } else {
        b.as_bytes().to_vec()
    }
}

fn png(w: u32, h: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb(pixel(x, y)));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn photo() -> Vec<u8> {
    png(1600, 1000, |x, y| {
        [(x / 7) as u8, (y / 5) as u8, ((x + y) / 11) as u8]
    })
}

fn noise(w: u32, h: u32) -> Vec<u8> {
    png(w, h, |x, y| {
        let mut s =
            (x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663)).wrapping_add(0x9e37_79b9);
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        [s as u8, (s >> 8) as u8, (s >> 16) as u8]
    })
}

fn dims_webp(b: &[u8]) -> (u32, u32) {
    assert_eq!(&b[8..16], b"WEBPVP8 ", "lossy WebP");
    (
        u32::from(u16::from_le_bytes([b[26], b[27]]) & 0x3fff),
        u32::from(u16::from_le_bytes([b[28], b[29]]) & 0x3fff),
    )
}

#[tokio::test]
async fn generates_stores_answers_and_then_s3_serves_it() {
    let s3 = S3::start("regional-generate").await;
    let etag = s3.put("photos/city.png", photo()).await;
    let key = &format!("_sf/photos/city.png/{G}/w640-h0-cover-q75.webp");
    let app = s3.app();

    let r = app.handle(&request("GET", &uri(key))).await;
    assert_eq!(r.status_code, 200);
    assert!(r.is_base64_encoded);
    assert_eq!(header(&r, "content-type"), Some("image/webp"));
    assert_eq!(header(&r, "cache-control"), Some(VARIANT_CACHE_CONTROL));
    assert_eq!(header(&r, "vary"), Some("Accept"));
    let answered = body(&r);
    assert_eq!(dims_webp(&answered), (640, 400));

    let (stored, ct, cc, meta) = s3.get(key).await.expect("variant stored");
    assert_eq!(stored, answered);
    assert_eq!(
        (ct.as_str(), cc.as_str()),
        ("image/webp", VARIANT_CACHE_CONTROL)
    );
    assert_eq!(meta.get("source-etag"), Some(&etag));
    assert_eq!(
        s3.keys("").await,
        [
            &format!("_sf/photos/city.png/{G}/w640-h0-cover-q75.webp"),
            "photos/city.png"
        ]
    );

    // Next time CloudFront's primary origin (S3) answers 200 itself: no failover, no Lambda.
    let again = s3
        .client
        .get_object()
        .bucket(&s3.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(again.content_length(), Some(answered.len() as i64));

    // One request's log, per step.
    let done = app
        .run(
            "GET",
            &uri(&format!("_sf/photos/city.png/{G}/w256-h0-cover-q75.jpeg")),
        )
        .await;
    assert_eq!(done.log.outcome, "generated");
    let steps: Vec<_> = done.log.ms.iter().map(|(s, _)| *s).collect();
    // `read` (the rest after the header) only when the original is over one header read.
    let rest: &[&str] = if done.log.bytes_in > Some(resize_lambda::flow::HEADER_READ_BYTES) {
        &["read"]
    } else {
        &[]
    };
    let expected = [
        &["decide", "stored", "header"][..],
        rest,
        &["transform", "write"],
    ]
    .concat();
    assert_eq!(steps, expected);
    println!("{}", done.log.to_json_line());

    // No second resize: the function asked again for a stored variant answers it, writes nothing.
    let before = s3.keys("_sf/").await;
    let (stored_bytes, ..) = s3.get(key).await.unwrap();
    let again = app.run("GET", &uri(key)).await;
    assert_eq!(again.log.outcome, "stored");
    let resize_lambda::Answer::Respond(r) = &again.answer else {
        panic!("expected a response")
    };
    assert_eq!(r.body, resize_lambda::Body::Image(stored_bytes));
    assert_eq!(r.header("vary"), Some("Accept"));
    assert_eq!(s3.keys("_sf/").await, before, "nothing written");
    // A HEAD: no body, never cached.
    let head = app.handle(&request("HEAD", &uri(key))).await;
    assert_eq!(head.status_code, 200);
    assert_eq!(header(&head, "cache-control"), Some("no-store"));
    assert!(head.body.is_none());
}

#[tokio::test]
async fn a_missing_original_is_404_for_variants_and_originals_alike() {
    let s3 = S3::start("regional-missing").await;
    let app = s3.app();
    for path in [
        "/photos/nope.jpg",
        &uri(&format!("_sf/photos/nope.jpg/{G}/w640-h0-cover-q75.webp")),
    ] {
        let r = app.handle(&request("GET", path)).await;
        assert_eq!(r.status_code, 404, "{path}");
        assert_eq!(header(&r, "cache-control"), Some("public, max-age=30"));
        // The same body as edge mode's (tests/origin/edge.test.mjs): the error table's.
        assert_eq!(
            String::from_utf8(body(&r)).unwrap(),
            "404 Not Found: missing: the original image does not exist\n"
        );
    }
    assert!(s3.keys("").await.is_empty());
    // An original that exists but CloudFront failed over on: its origin access is broken.
    s3.put("photos/there.png", photo()).await;
    let r = app.handle(&request("GET", "/photos/there.png")).await;
    assert_eq!(r.status_code, 502);
    assert!(String::from_utf8(body(&r))
        .unwrap()
        .contains("origin-access"));
}

#[tokio::test]
async fn corrupt_unsupported_and_oversized_originals_write_nothing() {
    let s3 = S3::start("regional-bad").await;
    let mut truncated = photo();
    truncated.truncate(3000);
    s3.put("photos/truncated.png", truncated).await;
    s3.put("photos/text.jpg", b"just some text".to_vec()).await;
    // 8000 × 8000 = 64 MP, over the 50 MP default, in a small file.
    s3.put("photos/bomb.png", png(8000, 8000, |_, _| [9, 9, 9]))
        .await;
    let app = s3.app();
    for (name, status) in [("truncated.png", 415), ("text.jpg", 415), ("bomb.png", 400)] {
        let key = format!("_sf/photos/{name}/{G}/w640-h0-cover-q75.webp");
        let r = app.handle(&request("GET", &uri(&key))).await;
        assert_eq!(r.status_code, status, "{name}: {:?}", r.body);
        assert_eq!(
            header(&r, "content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
    assert!(s3.keys("_sf/").await.is_empty(), "nothing written");
    assert_eq!(s3.keys("photos/").await.len(), 3, "originals untouched");
}

#[tokio::test]
async fn forged_keys_get_400_without_any_s3_traffic() {
    let s3 = S3::start("regional-forged").await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let app = s3.app_at(&format!("http://127.0.0.1:{port}"));
    for key in [
        &format!("_sf/photos/city.png/{G}/w9999-h0-cover-q75.webp"),
        &format!("_sf/photos/city.png/{G}/w640-h0-cover-q80.webp"),
        &format!("_sf/photos/city.png/{G}/w640-h0-fill-q75.webp"),
        &format!("_sf/_sf/photos/city.png/{G}/w640-h0-cover-q75.webp/{G}/w640-h0-cover-q75.webp"),
        &format!("_sf/photos/city.png/{G}/w640-h0-cover-q75.tiff"),
    ] {
        let r = app.handle(&request("GET", &uri(key))).await;
        assert_eq!(r.status_code, 400, "{key}");
    }
    while listener.accept().is_ok() {
        connections.fetch_add(1, Ordering::SeqCst);
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the flow never contacted S3"
    );
}

#[tokio::test]
async fn output_over_6_mb_is_stored_then_redirected() {
    let s3 = S3::start("regional-large").await;
    s3.put("photos/noise.png", noise(1920, 1280)).await;
    let key = &format!("_sf/photos/noise.png/{G}/w1920-h0-cover-q75.png");
    let r = s3.app().handle(&request("GET", &uri(key))).await;
    assert_eq!(r.status_code, 302);
    assert_eq!(header(&r, "location"), Some(uri(key).as_str()));
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    assert!(r.body.is_none());
    let (stored, ct, _, _) = s3.get(key).await.unwrap();
    assert!(
        stored.len() * 4 / 3 > REGIONAL_MAX_RESPONSE_BYTES,
        "{} bytes",
        stored.len()
    );
    assert_eq!(&stored[1..4], b"PNG");
    assert_eq!(ct, "image/png");
}

#[tokio::test]
async fn s3_down_is_502_with_the_cause_in_the_log() {
    let s3 = S3::start("regional-down").await;
    let app = s3.app_at(&format!("http://127.0.0.1:{}", free_port()));
    let done = app
        .run(
            "GET",
            &uri(&format!("_sf/photos/city.png/{G}/w640-h0-cover-q75.webp")),
        )
        .await;
    let resize_lambda::Answer::Respond(r) = &done.answer else {
        panic!("expected a response")
    };
    assert_eq!(r.status, 502);
    assert_eq!(done.log.outcome, "failed");
    let error = done.log.error.as_deref().unwrap();
    assert!(
        error.starts_with(&format!(
            "S3 GetObject _sf/photos/city.png/{G}/w640-h0-cover-q75.webp: "
        )),
        "{error}"
    );
    assert_eq!(done.log.kind, Some("read-failed"));
    assert!(error.to_lowercase().contains("connect"), "{error}");
}

#[tokio::test]
async fn keys_with_spaces_and_unicode() {
    let s3 = S3::start("regional-unicode").await;
    let source = "photos/Café del Mar 2026 – ü.png";
    s3.put(source, photo()).await;
    let key = format!("_sf/{source}/{G}/w384-h0-cover-q75.jpeg");
    let r = s3.app().handle(&request("GET", &uri(&key))).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    assert_eq!(s3.get(&key).await.unwrap().0, body(&r));
    // Also when the path reaches the function decoded.
    let decoded = format!("/_sf/{source}/{G}/w256-h0-cover-q75.jpeg");
    let r = s3.app().handle(&request("GET", &decoded)).await;
    assert_eq!(r.status_code, 200);
    assert!(s3
        .get(&format!("_sf/{source}/{G}/w256-h0-cover-q75.jpeg"))
        .await
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_invocations_one_correct_object() {
    let s3 = S3::start("regional-concurrent").await;
    s3.put("photos/busy.png", photo()).await;
    let key = format!("_sf/photos/busy.png/{G}/w384-h0-cover-q75.webp");
    let app = Arc::new(s3.app());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, key) = (app.clone(), key.clone());
            tokio::spawn(async move { app.handle(&request("GET", &uri(&key))).await })
        })
        .collect();
    let mut bodies = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status_code, 200);
        bodies.push(body(&r));
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "identical bytes");
    assert_eq!(s3.keys("_sf/").await, std::slice::from_ref(&key));
    let (stored, ct, cc, _) = s3.get(&key).await.unwrap();
    assert_eq!(stored, bodies[0], "one whole, correct object");
    assert_eq!(
        (ct.as_str(), cc.as_str()),
        ("image/webp", VARIANT_CACHE_CONTROL)
    );
}
