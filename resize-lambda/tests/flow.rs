//! The flow's rules, driven through the synchronous `Origin` host over an in-memory bucket with
//! the real spec and the real image core. (S3 itself is exercised by the Node and regional tests.)
use resize_lambda::edge;
use resize_lambda::event::{self, OriginResponseEvent};
use resize_lambda::flow::{Clock, HEADER_READ_BYTES, STORED_GRACE_MS};
use resize_lambda::storage::answer_from_whole;
use resize_lambda::{
    run, Answer, Body, Flow, Input, Meta, Origin, Read, ReadResult, Response, Settings, Step,
    Write, EDGE_MAX_RESPONSE_BYTES, NATIVE_CLOCK,
};
use std::collections::BTreeMap;
use std::sync::LazyLock;
use viewer_fn::Spec;

/// An in-memory bucket that answers reads as S3 does (ranges, sizes, If-Match) and records them.
#[derive(Default)]
struct Bucket {
    objects: BTreeMap<String, (Vec<u8>, String)>,
    written: Vec<Write>,
    reads: Vec<Read>,
    /// Last-Modified of every object, Unix ms (0 = the epoch: very old).
    modified_ms: f64,
    fail_reads: Option<String>,
    fail_writes: Option<String>,
}

impl Origin for Bucket {
    fn read(&mut self, read: &Read) -> ReadResult {
        self.reads.push(read.clone());
        if let Some(cause) = &self.fail_reads {
            return ReadResult::Failed {
                cause: cause.clone(),
            };
        }
        match self.objects.get(&read.key) {
            None => ReadResult::Missing {
                status: 404,
                detail: "404 NoSuchKey".into(),
            },
            Some((body, etag)) => {
                let meta = Meta {
                    size: body.len() as u64,
                    etag: Some(etag.clone()),
                    content_type: Some("image/webp".into()),
                    cache_control: None,
                    last_modified_ms: Some(self.modified_ms),
                    metadata: Vec::new(),
                };
                answer_from_whole(read, meta, body)
            }
        }
    }
    fn put(&mut self, write: &Write) -> Result<Option<String>, String> {
        if let Some(cause) = &self.fail_writes {
            return Err(cause.clone());
        }
        self.written.push(write.clone());
        self.objects
            .insert(write.key.clone(), (write.body.clone(), "\"new\"".into()));
        Ok(Some("\"new\"".into()))
    }
}

/// The flow with the default settings after CloudFront was told 403 for `uri`.
fn miss<O: Origin>(origin: &mut O, method: &str, uri: &str) -> resize_lambda::Done {
    run(&settings(), method, uri, 403, origin, NATIVE_CLOCK)
}

fn settings() -> Settings {
    Settings::new(Spec::default(), EDGE_MAX_RESPONSE_BYTES)
}

/// A 320×200 gradient PNG.
fn photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 200, |x, y| {
        image::Rgb([x as u8, y as u8, (x + y) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn bucket_with_photo() -> Bucket {
    let mut b = Bucket::default();
    b.objects
        .insert("photos/a b.png".into(), (photo(), "\"etag-1\"".into()));
    b
}

/// `{g}` in a test key stands for the current generation.
fn g(key: &str) -> String {
    key.replace("{g}", viewer_fn::GENERATION)
}

static VARIANT: LazyLock<String> =
    LazyLock::new(|| g("/_sf/photos/a%20b.png/{g}/w128-h0-cover-q75.webp"));
static VARIANT_KEY: LazyLock<String> =
    LazyLock::new(|| g("_sf/photos/a b.png/{g}/w128-h0-cover-q75.webp"));

fn respond(answer: &Answer) -> &Response {
    match answer {
        Answer::Respond(r) => r,
        Answer::PassThrough => panic!("expected a response, got pass-through"),
    }
}

fn text(r: &Response) -> &str {
    match &r.body {
        Body::Text(t) => t,
        other => panic!("expected text, got {other:?}"),
    }
}

#[test]
fn s3_hits_other_statuses_and_other_methods_pass_through_without_reads() {
    for (method, uri, status) in [
        ("GET", VARIANT.as_str(), 200),
        ("GET", VARIANT.as_str(), 304),
        ("GET", VARIANT.as_str(), 500),
        ("GET", VARIANT.as_str(), 503),
        ("POST", VARIANT.as_str(), 403),
    ] {
        let mut b = bucket_with_photo();
        let done = run(&settings(), method, uri, status, &mut b, NATIVE_CLOCK);
        assert_eq!(done.answer, Answer::PassThrough, "{method} {uri} {status}");
        assert_eq!((b.reads.len(), b.written.len()), (0, 0));
        assert_eq!(done.log.outcome, "pass");
        assert_eq!(done.log.status, status);
    }
}

#[test]
fn a_refused_original_is_404_when_missing_502_when_only_cloudfront_is_refused() {
    // Missing: the role (which may list) is told 404 → the table's 404, short max-age.
    let mut b = bucket_with_photo();
    let done = miss(&mut b, "GET", "/photos/missing.jpg");
    let r = respond(&done.answer);
    assert_eq!(
        (r.status, r.header("cache-control")),
        (404, Some("public, max-age=30"))
    );
    assert_eq!(
        text(r),
        "404 Not Found: missing: the original image does not exist\n"
    );
    assert_eq!(b.reads.len(), 1);
    assert!(b.reads[0].is_head(), "metadata only");
    assert_eq!(done.log.kind, Some("missing"));
    // There, but CloudFront was refused it: its origin access is broken, say so.
    let done = miss(&mut b, "GET", "/photos/a%20b.png");
    let r = respond(&done.answer);
    assert_eq!(r.status, 502);
    assert!(text(r).contains("origin-access"), "{}", text(r));
    // Denied to the role too, or storage failing: S3's answer stands.
    b.fail_reads = Some("throttled".into());
    let done = miss(&mut b, "GET", "/photos/a%20b.png");
    assert_eq!(done.answer, Answer::PassThrough);
    assert!(b.written.is_empty());
}

#[test]
fn generates_stores_under_the_prefix_and_answers_inline() {
    for status in [403, 404] {
        let mut b = bucket_with_photo();
        let done = run(
            &settings(),
            "GET",
            VARIANT.as_str(),
            status,
            &mut b,
            NATIVE_CLOCK,
        );
        let r = respond(&done.answer);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("image/webp"));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=3600, s-maxage=31536000")
        );
        assert_eq!(r.header("vary"), Some("Accept"));
        let [w] = &b.written[..] else {
            panic!("one write, got {}", b.written.len())
        };
        assert_eq!(w.key, VARIANT_KEY.as_str());
        // The stored variant first, then the original (small: whole in its header read).
        assert_eq!(b.reads[0].key, VARIANT_KEY.as_str());
        assert_eq!(
            (b.reads[1].key.as_str(), b.reads[1].start, b.reads[1].len),
            ("photos/a b.png", 0, Some(HEADER_READ_BYTES))
        );
        assert_eq!(b.reads.len(), 2);
        assert_eq!(w.content_type, "image/webp");
        assert_eq!(w.cache_control, "public, max-age=3600, s-maxage=31536000");
        assert_eq!(r.header("cache-control"), Some(w.cache_control.as_str()));
        // The ETag storage gave the PUT: the one the stored object answers with later.
        assert_eq!(r.header("etag"), Some("\"new\""));
        let tag = viewer_fn::purge::cache_tag("photos/a b.png");
        assert_eq!(
            w.metadata,
            vec![
                ("source-etag", "\"etag-1\"".to_string()),
                ("cache-tag", tag.clone())
            ]
        );
        // CloudFront tags the generated response too: a purge reaches it before it is stored.
        assert_eq!(r.header("x-amz-meta-cache-tag"), Some(tag.as_str()));
        assert_eq!(r.body, Body::Image(w.body.clone()));
        assert_eq!(&w.body[8..12], b"WEBP");

        let log = &done.log;
        assert_eq!((log.outcome, log.status), ("generated", 200));
        assert_eq!(log.variant.as_deref(), Some(w.key.as_str()));
        assert_eq!(log.source.as_deref(), Some("photos/a b.png"));
        assert_eq!((log.width, log.height), (Some(128), Some(80)));
        assert_eq!(log.bytes_out, Some(w.body.len() as u64));
        let steps: Vec<_> = log.ms.iter().map(|(s, _)| *s).collect();
        assert_eq!(steps, ["decide", "stored", "header", "transform", "write"]);
        let line: serde_json::Value = serde_json::from_str(&log.to_json_line()).unwrap();
        assert!(line["ms"]["total"].as_f64().unwrap() >= line["ms"]["transform"].as_f64().unwrap());
    }
}

#[test]
fn a_spec_without_negotiation_sends_no_vary() {
    let spec = Spec::from_toml("auto = []\n").unwrap();
    assert!(!spec.negotiates_format());
    let mut b = bucket_with_photo();
    let done = run(
        &Settings::new(spec, EDGE_MAX_RESPONSE_BYTES),
        "GET",
        VARIANT.as_str(),
        403,
        &mut b,
        NATIVE_CLOCK,
    );
    assert_eq!(respond(&done.answer).header("vary"), None);
}

#[test]
fn too_big_to_answer_inline_is_stored_then_redirected() {
    let mut b = bucket_with_photo();
    let small = Settings {
        max_response_bytes: 300,
        ..settings()
    };
    let done = run(&small, "GET", VARIANT.as_str(), 403, &mut b, NATIVE_CLOCK);
    let r = respond(&done.answer);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some(VARIANT.as_str()));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body, Body::Empty);
    assert_eq!(b.written.len(), 1);
    assert_eq!(done.log.outcome, "redirect");
}

#[test]
fn a_signed_spec_redirects_to_a_uri_signed_with_the_origin_key() {
    let mut b = bucket_with_photo();
    let signed = Settings {
        max_response_bytes: 300,
        signing: {
            let mut k = viewer_fn::sign::Keys::new();
            k.set('o', "origin-key-o-0123456789").unwrap();
            k
        },
        ..Settings::new(
            Spec::from_toml("signed = true\n").unwrap(),
            EDGE_MAX_RESPONSE_BYTES,
        )
    };
    let done = run(&signed, "GET", VARIANT.as_str(), 403, &mut b, NATIVE_CLOCK);
    let r = respond(&done.answer);
    assert_eq!(r.status, 302);
    let location = r.header("location").unwrap().to_string();
    let (uri, query) = location.split_once("?s=").expect("a signed redirect");
    assert_eq!(uri, VARIANT.as_str());
    // The viewer function lets it through with the store's origin key, and refuses it without.
    let mut keys = viewer_fn::sign::Keys::new();
    keys.set('o', "origin-key-o-0123456789").unwrap();
    let event = viewer_fn::ViewerRequestEvent::from_http(&location, &[]);
    let pass = viewer_fn::rewrite_with(&signed.spec, &keys, &event);
    assert!(
        matches!(pass, viewer_fn::ViewerResult::Request(_)),
        "{pass:?}"
    );
    let refused = viewer_fn::rewrite(&signed.spec, &event);
    assert!(matches!(refused, viewer_fn::ViewerResult::Response(ref r) if r.status_code == 403));
    assert!(query.starts_with('o') && query.len() == 32, "{query}");
}

#[test]
fn head_generates_and_answers_without_a_body_never_cached() {
    let mut b = bucket_with_photo();
    let done = miss(&mut b, "HEAD", VARIANT.as_str());
    let r = respond(&done.answer);
    assert_eq!((r.status, &r.body), (200, &Body::Empty));
    // CloudFront's GET shares HEAD's entry: this one must not be kept (MinTTL 0 honours it).
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(viewer_fn::cdn::MIN_TTL, 0);
    assert_eq!(b.written.len(), 1);
    // The same for a stored variant and for an error.
    let done = miss(&mut b, "HEAD", VARIANT.as_str());
    let r = respond(&done.answer);
    assert_eq!(
        (r.status, r.header("cache-control")),
        (200, Some("no-store"))
    );
    assert_eq!(done.log.outcome, "stored");
    let done = miss(&mut b, "HEAD", &g("/_sf/a.png/{g}/w9999-h0-cover-q75.webp"));
    let r = respond(&done.answer);
    assert_eq!(
        (r.status, r.header("cache-control")),
        (400, Some("no-store"))
    );
    assert!(matches!(r.body, Body::Text(_)), "an error keeps its words");
}

#[test]
fn a_stored_variant_is_answered_not_made_again() {
    let mut b = bucket_with_photo();
    let first = miss(&mut b, "GET", VARIANT.as_str());
    assert_eq!(first.log.outcome, "generated");
    b.reads.clear();
    // Another regional edge cache was told 403 before the PUT landed: it asks again.
    let again = miss(&mut b, "GET", VARIANT.as_str());
    let r = respond(&again.answer);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, respond(&first.answer).body, "the stored bytes");
    assert_eq!(r.header("vary"), Some("Accept"));
    assert_eq!(again.log.outcome, "stored");
    assert_eq!(b.written.len(), 1, "no second write");
    assert_eq!(b.reads.len(), 1, "the original is not read");
}

#[test]
fn a_stored_variant_too_big_to_answer_redirects_while_fresh_then_502() {
    fn at_ms(ms: f64) -> Clock {
        static NOW: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        NOW.store(ms as u64, std::sync::atomic::Ordering::SeqCst);
        Clock {
            monotonic_ms: || 0.0,
            unix_ms: || NOW.load(std::sync::atomic::Ordering::SeqCst) as f64,
        }
    }
    let small = Settings {
        max_response_bytes: 300,
        ..settings()
    };
    let mut b = bucket_with_photo();
    b.objects
        .insert(VARIANT_KEY.as_str().into(), (vec![7; 5000], "\"v\"".into()));
    b.modified_ms = 1_000_000.0;
    // Just written by another request: CloudFront will find it.
    let done = run(
        &small,
        "GET",
        VARIANT.as_str(),
        403,
        &mut b,
        at_ms(1_000_000.0 + 1000.0),
    );
    assert_eq!(respond(&done.answer).status, 302);
    // Old, and CloudFront was still refused it: a redirect would loop. Name the likely causes.
    let done = run(
        &small,
        "GET",
        VARIANT.as_str(),
        403,
        &mut b,
        at_ms(1_000_000.0 + STORED_GRACE_MS + 1.0),
    );
    let r = respond(&done.answer);
    assert_eq!(r.status, 502);
    assert!(
        text(r).contains("stored-unreadable") && text(r).contains("KMS"),
        "{}",
        text(r)
    );
    assert!(b.written.is_empty(), "never made again");
    assert!(
        b.reads.iter().all(|r| r.key == VARIANT_KEY.as_str()),
        "the original is never read"
    );
}

#[test]
fn a_large_original_is_read_in_ranges_and_refused_after_the_first() {
    // A 3 MB "photo" whose header says 8000×8000 (64 MP): refused after one 64 KB read.
    let mut bomb = photo();
    bomb[16..20].copy_from_slice(&8000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&8000u32.to_be_bytes());
    bomb.resize(3_000_000, 0);
    let mut b = Bucket::default();
    b.objects
        .insert("photos/a b.png".into(), (bomb, "\"e\"".into()));
    let done = miss(&mut b, "GET", VARIANT.as_str());
    let r = respond(&done.answer);
    assert_eq!(r.status, 400, "{}", text(r));
    assert!(
        text(r).contains("too-large") && text(r).contains("megapixels"),
        "{}",
        text(r)
    );
    let original: Vec<_> = b
        .reads
        .iter()
        .filter(|r| r.key == "photos/a b.png")
        .collect();
    assert_eq!(original.len(), 1, "one small read");
    assert_eq!(original[0].len, Some(HEADER_READ_BYTES));

    // A good photo behind a long header: read on (doubling), then the rest, with If-Match.
    let good = photo();
    let mut padded = good[..8].to_vec();
    padded.extend_from_slice(&good[8..33]); // IHDR
    for _ in 0..2 {
        // Ancillary chunks PNG decoders skip: 70 KB of "tEXt" each.
        let data = vec![b'a'; 70_000];
        padded.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut chunk = b"tEXt".to_vec();
        chunk.extend_from_slice(&data);
        let crc = crc32(&chunk);
        padded.extend_from_slice(&chunk);
        padded.extend_from_slice(&crc.to_be_bytes());
    }
    padded.extend_from_slice(&good[33..]);
    let mut b = Bucket::default();
    b.objects
        .insert("photos/a b.png".into(), (padded.clone(), "\"e\"".into()));
    let done = miss(&mut b, "GET", VARIANT.as_str());
    assert_eq!(respond(&done.answer).status, 200, "{:?}", done.log);
    let original: Vec<_> = b
        .reads
        .iter()
        .filter(|r| r.key == "photos/a b.png")
        .collect();
    assert_eq!(original[0].start, 0);
    let last = original.last().unwrap();
    assert_eq!(
        (last.start > 0, last.len),
        (true, None),
        "the rest, from where it stopped"
    );
    assert!(original[1..]
        .iter()
        .all(|r| r.if_match.as_deref() == Some("\"e\"")));
    assert_eq!(done.log.bytes_in, Some(padded.len() as u64));
}

#[test]
fn a_header_past_the_first_read_is_read_on_doubling_then_the_rest() {
    // A real JPEG with three 64 KB APP2 segments (an ICC profile's place) before its frame header.
    let jpeg = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wasm/tests/fixtures/landscape-1.jpg"
    ))
    .unwrap();
    let app2: Vec<u8> = [0xFF, 0xE2, 0xFF, 0xFF]
        .into_iter()
        .chain(std::iter::repeat_n(0x41, 0xFFFF - 2))
        .collect();
    let mut big = jpeg[..2].to_vec();
    for _ in 0..3 {
        big.extend_from_slice(&app2);
    }
    big.extend_from_slice(&jpeg[2..]);
    // After the frame header, 120 KB of comments (allowed before the scan), so the header is
    // complete before the file is, and there is a rest to read.
    let mut at = 2;
    while !matches!(big[at + 1], 0xC0..=0xC2) {
        at += 2 + usize::from(u16::from_be_bytes([big[at + 2], big[at + 3]]));
    }
    at += 2 + usize::from(u16::from_be_bytes([big[at + 2], big[at + 3]]));
    let com: Vec<u8> = [0xFF, 0xFE, 0xEA, 0x60]
        .into_iter()
        .chain(std::iter::repeat_n(b'c', 0xEA60 - 2))
        .collect();
    for _ in 0..2 {
        big.splice(at..at, com.iter().copied());
    }
    let mut b = Bucket::default();
    b.objects.insert(
        "photos/big header.jpg".into(),
        (big.clone(), "\"e\"".into()),
    );
    let uri = g("/_sf/photos/big%20header.jpg/{g}/w128-h0-cover-q75.webp");
    let done = miss(&mut b, "GET", &uri);
    assert_eq!(respond(&done.answer).status, 200, "{:?}", done.log);
    let reads: Vec<(u64, Option<u64>, Option<&str>)> = b
        .reads
        .iter()
        .filter(|r| r.key == "photos/big header.jpg")
        .map(|r| (r.start, r.len, r.if_match.as_deref()))
        .collect();
    let h = HEADER_READ_BYTES;
    assert_eq!(
        reads,
        [
            (0, Some(h), None),
            (h, Some(h), Some("\"e\"")),
            (2 * h, Some(2 * h), Some("\"e\"")),
            (4 * h, None, Some("\"e\"")),
        ],
        "64 KB, then doubling until the frame header is in, then the rest of the same upload"
    );
    let steps: Vec<_> = done.log.ms.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        steps,
        ["decide", "stored", "header", "read", "transform", "write"]
    );
    assert_eq!(done.log.bytes_in, Some(big.len() as u64));
}

#[test]
fn a_role_refused_is_never_missing_and_never_makes_the_variant_again() {
    /// A bucket that refuses the role (403 with ListBucket granted: KMS, a deny).
    struct Refusing(Bucket);
    impl Origin for Refusing {
        fn read(&mut self, read: &Read) -> ReadResult {
            self.0.reads.push(read.clone());
            ReadResult::Missing {
                status: 403,
                detail: "S3 403 AccessDenied: the role was refused".into(),
            }
        }
        fn put(&mut self, write: &Write) -> Result<Option<String>, String> {
            self.0.put(write)
        }
    }
    let mut b = Refusing(bucket_with_photo());
    let done = miss(&mut b, "GET", VARIANT.as_str());
    let r = respond(&done.answer);
    assert_eq!(r.status, 502);
    assert_eq!(done.log.kind, Some("role-denied"));
    assert!(b.0.written.is_empty());
    assert_eq!(
        b.0.reads.len(),
        1,
        "refused on the stored variant: nothing else is tried"
    );
}

#[test]
fn a_403_on_any_read_is_a_refusal_never_a_missing_original() {
    type Refuse = fn(&Read) -> bool;
    /// Refuses (403, as S3 tells a role that may list the bucket) the reads `refuse` picks.
    struct Picky {
        bucket: Bucket,
        refuse: Refuse,
    }
    impl Origin for Picky {
        fn read(&mut self, read: &Read) -> ReadResult {
            if (self.refuse)(read) {
                self.bucket.reads.push(read.clone());
                return ReadResult::Missing {
                    status: 403,
                    detail: format!(
                        "S3 GetObject {}: 403 AccessDenied: the role was refused",
                        read.key
                    ),
                };
            }
            self.bucket.read(read)
        }
        fn put(&mut self, write: &Write) -> Result<Option<String>, String> {
            self.bucket.put(write)
        }
    }
    // A photo longer than the first read, so there is a rest to read.
    let good = photo();
    let mut long = good[..33].to_vec();
    let data = vec![b'a'; 2 * HEADER_READ_BYTES as usize];
    long.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut chunk = b"tEXt".to_vec();
    chunk.extend_from_slice(&data);
    let crc = crc32(&chunk);
    long.extend_from_slice(&chunk);
    long.extend_from_slice(&crc.to_be_bytes());
    long.extend_from_slice(&good[33..]);
    let source = "photos/a b.png";
    let cases: [(&str, Refuse); 4] = [
        ("the stored variant", |r| r.key.starts_with("_sf/")),
        ("the stored variant's metadata (HEAD)", |r| {
            r.key.starts_with("_sf/") && r.is_head()
        }),
        ("the original's header", |r| {
            r.key == "photos/a b.png" && r.start == 0
        }),
        ("the rest of the original", |r| {
            r.key == "photos/a b.png" && r.start > 0
        }),
    ];
    for (what, refuse) in cases {
        let mut b = Picky {
            bucket: Bucket::default(),
            refuse,
        };
        b.bucket
            .objects
            .insert(source.into(), (long.clone(), "\"e\"".into()));
        let method = if what.contains("HEAD") { "HEAD" } else { "GET" };
        let done = miss(&mut b, method, VARIANT.as_str());
        let r = respond(&done.answer);
        assert_eq!(r.status, 502, "{what}: {:?}", done.log);
        assert_eq!(done.log.kind, Some("role-denied"), "{what}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
        if method == "GET" {
            assert!(
                text(r).contains("role-denied: the image function may not read"),
                "{what}: {}",
                text(r)
            );
            assert!(!text(r).contains("does not exist"), "{what}");
        }
        assert!(
            done.log
                .error
                .as_deref()
                .unwrap()
                .contains("403 AccessDenied"),
            "{what}: the cause in the log"
        );
        assert!(b.bucket.written.is_empty(), "{what}: nothing written");
        assert!(
            b.bucket.reads.iter().any(refuse),
            "{what}: the refused read happened"
        );
    }
    // An original CloudFront was refused (no transform): refused to the role too, S3's own 403
    // stands (it may be meant: a deny on a private prefix), with the cause in the log. Never
    // the table's "does not exist".
    let mut b = Picky {
        bucket: bucket_with_photo(),
        refuse: |_| true,
    };
    let done = miss(&mut b, "GET", "/photos/a%20b.png");
    assert_eq!(done.answer, Answer::PassThrough);
    assert_ne!(done.log.kind, Some("missing"));
    assert!(done.log.error.as_deref().unwrap().contains("403"));
}

#[test]
fn the_write_asks_for_the_encryption_the_settings_name() {
    let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    for encryption in [
        None,
        Some(resize_lambda::Encryption::aes256()),
        Some(
            resize_lambda::Encryption::new(
                resize_lambda::SseAlgorithm::AwsKms,
                Some(key.into()),
                Some(true),
            )
            .unwrap(),
        ),
    ] {
        let mut settings = settings();
        settings.encryption = encryption.clone();
        let mut b = bucket_with_photo();
        let done = run(
            &settings,
            "GET",
            VARIANT.as_str(),
            403,
            &mut b,
            NATIVE_CLOCK,
        );
        assert_eq!(respond(&done.answer).status, 200);
        assert_eq!(b.written[0].encryption, encryption);
    }
}

/// CRC-32 (PNG's chunk checksum).
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn forged_keys_get_400_without_touching_the_origin() {
    for uri in [
        "/_sf/photos/a%20b.png/{g}/w9999-h0-cover-q75.webp",
        "/_sf/photos/a%20b.png/{g}/w128-h0-inside-q75.webp",
        "/_sf/_sf/photos/a%20b.png/{g}/w128-h0-cover-q75.webp/{g}/w128-h0-cover-q75.webp",
        "/_sf/photos/..%2Fa.png/{g}/w128-h0-cover-q75.webp",
        "/_sf/",
    ] {
        let mut b = bucket_with_photo();
        let uri = &g(uri);
        let done = miss(&mut b, "GET", uri);
        let r = respond(&done.answer);
        assert_eq!(r.status, 400, "{uri}");
        assert!(
            text(r).starts_with("400 Bad Request: forged-key: not a variant this site produces"),
            "{}",
            text(r)
        );
        // 400 is cached by CloudFront only with a max-age: the spec's error lifetime.
        assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
        assert_eq!((b.reads.len(), b.written.len()), (0, 0), "{uri}");
        assert_eq!(done.log.outcome, "rejected");
    }
}

#[test]
fn client_errors_write_nothing() {
    let mut corrupt = photo();
    corrupt.truncate(200);
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("photos/a b.png", corrupt, "corrupt"),
        ("photos/a b.png", b"GIF? no, text".to_vec(), "unsupported"),
        ("photos/a b.png", Vec::new(), "corrupt"),
    ];
    for (key, body, kind) in cases {
        let mut b = Bucket::default();
        b.objects.insert(key.into(), (body, "\"e\"".into()));
        let done = miss(&mut b, "GET", VARIANT.as_str());
        let r = respond(&done.answer);
        // One status CloudFront caches; the kind stays distinct in the body and the log.
        assert_eq!(r.status, 415, "{}", text(r));
        assert!(
            text(r).starts_with(&format!("415 Unsupported Media Type: {kind}: ")),
            "{}",
            text(r)
        );
        assert_eq!(done.log.kind, Some(kind));
        assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
        // Tagged like the image would be: purging the replaced photo drops the cached error.
        let tag = viewer_fn::purge::cache_tag(key);
        assert_eq!(r.header("x-amz-meta-cache-tag"), Some(tag.as_str()));
        assert!(b.written.is_empty());
        assert_eq!(done.log.outcome, "client-error");
    }

    let mut missing = Bucket::default();
    let done = miss(&mut missing, "GET", VARIANT.as_str());
    let r = respond(&done.answer);
    assert_eq!(r.status, 404);
    assert_eq!(
        text(r),
        "404 Not Found: missing: the original image does not exist\n"
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=30"));
    assert_eq!(done.log.error.as_deref(), Some("404 NoSuchKey"));

    let mut big = bucket_with_photo();
    let tight = Settings {
        limits: image_core::Limits {
            max_input_bytes: 100,
            ..Default::default()
        },
        ..settings()
    };
    let done = run(&tight, "GET", VARIANT.as_str(), 403, &mut big, NATIVE_CLOCK);
    assert_eq!(respond(&done.answer).status, 400);
    assert_eq!(done.log.kind, Some("too-large"));
    assert!(big.written.is_empty());
    assert!(
        big.reads.iter().all(
            |r| r.key != "photos/a b.png" || matches!(r.len, Some(n) if n <= HEADER_READ_BYTES)
        ),
        "refused from its size, its body never read"
    );

    let mut b = bucket_with_photo();
    let few_pixels = Settings {
        limits: image_core::Limits {
            max_pixels: 1000,
            ..Default::default()
        },
        ..settings()
    };
    let done = run(
        &few_pixels,
        "GET",
        VARIANT.as_str(),
        403,
        &mut b,
        NATIVE_CLOCK,
    );
    assert_eq!(respond(&done.answer).status, 400);
    assert!(b.written.is_empty());
}

#[test]
fn origin_failures_are_502_with_the_cause_logged() {
    let mut b = bucket_with_photo();
    b.fail_reads = Some("dispatch failure: connection refused".into());
    let done = miss(&mut b, "GET", VARIANT.as_str());
    let r = respond(&done.answer);
    assert_eq!(
        (r.status, r.header("cache-control")),
        (502, Some("no-store"))
    );
    assert_eq!(
        text(r),
        "502 Bad Gateway: read-failed: could not read from the bucket\n"
    );
    assert_eq!(
        done.log.error.as_deref(),
        Some("dispatch failure: connection refused")
    );
    assert_eq!(done.log.outcome, "failed");

    let mut b = bucket_with_photo();
    b.fail_writes = Some("AccessDenied".into());
    let done = miss(&mut b, "GET", VARIANT.as_str());
    assert_eq!(respond(&done.answer).status, 502);
    assert_eq!(done.log.error.as_deref(), Some("AccessDenied"));
    assert!(done
        .log
        .to_json_line()
        .contains("\"error\":\"AccessDenied\""));
}

#[test]
fn a_host_feeding_the_wrong_outcome_gets_500_not_a_panic() {
    let (mut flow, step) = Flow::start(&settings(), "GET", VARIANT.as_str(), 403, NATIVE_CLOCK);
    assert!(matches!(step, Step::Read(ref r) if r.key == VARIANT_KEY.as_str()));
    let Step::Done(done) = flow.resume(Input::Written(Ok(None))) else {
        panic!("expected done")
    };
    assert_eq!(respond(&done.answer).status, 500);
    assert!(done.log.error.unwrap().contains("host protocol error"));
}

#[test]
fn edge_results_keep_read_only_headers_and_pass_through_verbatim() {
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/origin-response-s3-403-variant.json"
    ))
    .unwrap();
    let event: OriginResponseEvent = serde_json::from_str(&src).unwrap();
    let origin = &event.cf().unwrap().response;

    assert_eq!(&edge::result(origin, &Answer::PassThrough), origin);

    let r = edge::result(
        origin,
        &Answer::Respond(Response::stored(
            vec![1, 2, 3, 4],
            "image/webp",
            "public, max-age=60",
            true,
        )),
    );
    assert_eq!(r.status, "200");
    assert_eq!(r.status_description.as_deref(), Some("OK"));
    assert_eq!(r.body.as_deref(), Some("AQIDBA=="));
    assert_eq!(r.body_encoding, Some(event::BodyEncoding::Base64));
    assert_eq!(
        r.headers["transfer-encoding"],
        origin.headers["transfer-encoding"]
    );
    assert_eq!(r.headers["vary"][0].key.as_deref(), Some("Vary"));
    assert!(
        !r.headers.contains_key("x-amz-request-id"),
        "S3's error headers are not carried over"
    );
    assert!(!r.headers.contains_key("content-length"));

    // The fixture's variant (w600) is not in the default spec's widths: rejected before any read.
    let (_, step) = edge::start(&settings(), &event, NATIVE_CLOCK).unwrap();
    let Step::Done(done) = step else {
        panic!("expected a rejection")
    };
    assert_eq!(respond(&done.answer).status, 400);
}

#[test]
fn the_error_table_in_the_docs_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/platform.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- error-table -->\n", "<!-- /error-table -->");
    let (before, rest) = doc
        .split_once(start)
        .expect("the error table's start marker");
    let (_, after) = rest.split_once(end).expect("the error table's end marker");
    let table = resize_lambda::response::error_table_markdown();
    let current = format!("{before}{start}{table}{end}{after}");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    assert!(
        doc == current,
        "docs/platform.md's error table is stale: run UPDATE_EXPECT=1 cargo test -p resize-lambda --test flow"
    );
}
