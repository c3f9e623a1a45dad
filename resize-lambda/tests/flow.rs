//! The flow's rules, driven through the synchronous `Origin` host over an in-memory bucket with
//! the real spec and the real image core. (S3 itself is exercised by the Node and regional tests.)
use resize_lambda::edge;
use resize_lambda::event::{self, OriginResponseEvent};
use resize_lambda::{
    native_clock, run, Answer, Body, Flow, Input, Origin, ReadResult, Response, Settings, Step,
    Write, EDGE_MAX_RESPONSE_BYTES,
};
use std::collections::BTreeMap;
use viewer_fn::Spec;

#[derive(Default)]
struct Bucket {
    objects: BTreeMap<String, (Vec<u8>, String)>,
    written: Vec<Write>,
    reads: usize,
    fail_reads: Option<String>,
    fail_writes: Option<String>,
}

impl Origin for Bucket {
    fn get(&mut self, key: &str, max_bytes: u64) -> ReadResult {
        self.reads += 1;
        if let Some(cause) = &self.fail_reads {
            return ReadResult::Failed {
                cause: cause.clone(),
            };
        }
        match self.objects.get(key) {
            None => ReadResult::Missing {
                detail: "404 NoSuchKey".into(),
            },
            Some((body, _)) if body.len() as u64 > max_bytes => ReadResult::TooLarge {
                size: body.len() as u64,
            },
            Some((body, etag)) => ReadResult::Found {
                body: body.clone(),
                etag: Some(etag.clone()),
            },
        }
    }
    fn put(&mut self, write: &Write) -> Result<(), String> {
        if let Some(cause) = &self.fail_writes {
            return Err(cause.clone());
        }
        self.written.push(write.clone());
        self.objects
            .insert(write.key.clone(), (write.body.clone(), "\"new\"".into()));
        Ok(())
    }
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

const VARIANT: &str = "/_sf/w128/h0/inside/q75/webp/photos/a%20b.png";

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
fn s3_hits_other_statuses_originals_and_other_methods_pass_through_without_reads() {
    for (method, uri, status) in [
        ("GET", VARIANT, 200),
        ("GET", VARIANT, 304),
        ("GET", VARIANT, 500),
        ("GET", VARIANT, 503),
        ("GET", "/photos/a%20b.png", 403),
        ("GET", "/photos/missing.jpg", 404),
        ("POST", VARIANT, 403),
    ] {
        let mut b = bucket_with_photo();
        let done = run(&settings(), method, uri, status, &mut b, native_clock);
        assert_eq!(done.answer, Answer::PassThrough, "{method} {uri} {status}");
        assert_eq!((b.reads, b.written.len()), (0, 0));
        assert_eq!(done.log.outcome, "pass");
        assert_eq!(done.log.status, status);
    }
}

#[test]
fn generates_stores_under_the_prefix_and_answers_inline() {
    for status in [403, 404] {
        let mut b = bucket_with_photo();
        let done = run(&settings(), "GET", VARIANT, status, &mut b, native_clock);
        let r = respond(&done.answer);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("image/webp"));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(r.header("vary"), Some("Accept"));
        let [w] = &b.written[..] else {
            panic!("one write, got {}", b.written.len())
        };
        assert_eq!(w.key, "_sf/w128/h0/inside/q75/webp/photos/a b.png");
        assert_eq!(w.content_type, "image/webp");
        assert_eq!(w.cache_control, "public, max-age=31536000, immutable");
        assert_eq!(w.metadata, vec![("source-etag", "\"etag-1\"".to_string())]);
        assert_eq!(r.body, Body::Image(w.body.clone()));
        assert_eq!(&w.body[8..12], b"WEBP");

        let log = &done.log;
        assert_eq!((log.outcome, log.status), ("generated", 200));
        assert_eq!(log.variant.as_deref(), Some(w.key.as_str()));
        assert_eq!(log.source.as_deref(), Some("photos/a b.png"));
        assert_eq!((log.width, log.height), (Some(128), Some(80)));
        assert_eq!(log.bytes_out, Some(w.body.len() as u64));
        let steps: Vec<_> = log.ms.iter().map(|(s, _)| *s).collect();
        assert_eq!(steps, ["decide", "read", "limits", "transform", "write"]);
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
        VARIANT,
        403,
        &mut b,
        native_clock,
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
    let done = run(&small, "GET", VARIANT, 403, &mut b, native_clock);
    let r = respond(&done.answer);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some(VARIANT));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body, Body::Empty);
    assert_eq!(b.written.len(), 1);
    assert_eq!(done.log.outcome, "redirect");
}

#[test]
fn head_generates_and_answers_without_a_body() {
    let mut b = bucket_with_photo();
    let done = run(&settings(), "HEAD", VARIANT, 403, &mut b, native_clock);
    let r = respond(&done.answer);
    assert_eq!((r.status, &r.body), (200, &Body::Empty));
    assert_eq!(b.written.len(), 1);
}

#[test]
fn forged_keys_get_400_without_touching_the_origin() {
    for uri in [
        "/_sf/w9999/h0/inside/q75/webp/photos/a%20b.png",
        "/_sf/w128/h0/cover/q75/webp/photos/a%20b.png",
        "/_sf/w128/h0/inside/q75/webp/_sf/w128/h0/inside/q75/webp/photos/a%20b.png",
        "/_sf/w128/h0/inside/q75/webp/photos/..%2Fa.png",
        "/_sf/",
    ] {
        let mut b = bucket_with_photo();
        let done = run(&settings(), "GET", uri, 403, &mut b, native_clock);
        let r = respond(&done.answer);
        assert_eq!(r.status, 400, "{uri}");
        assert!(
            text(r).starts_with("400 Bad Request: not a variant this site produces"),
            "{}",
            text(r)
        );
        assert_eq!((b.reads, b.written.len()), (0, 0), "{uri}");
        assert_eq!(done.log.outcome, "rejected");
    }
}

#[test]
fn client_errors_write_nothing() {
    let mut corrupt = photo();
    corrupt.truncate(200);
    let cases: [(&str, Vec<u8>, u16); 3] = [
        ("photos/a b.png", corrupt, 422),
        ("photos/a b.png", b"GIF? no, text".to_vec(), 415),
        ("photos/a b.png", Vec::new(), 422),
    ];
    for (key, body, status) in cases {
        let mut b = Bucket::default();
        b.objects.insert(key.into(), (body, "\"e\"".into()));
        let done = run(&settings(), "GET", VARIANT, 403, &mut b, native_clock);
        let r = respond(&done.answer);
        assert_eq!(r.status, status, "{}", text(r));
        assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
        assert!(b.written.is_empty());
        assert_eq!(done.log.outcome, "client-error");
    }

    let mut missing = Bucket::default();
    let done = run(&settings(), "GET", VARIANT, 403, &mut missing, native_clock);
    let r = respond(&done.answer);
    assert_eq!(r.status, 404);
    assert_eq!(
        text(r),
        "404 Not Found: the original image does not exist\n"
    );
    assert_eq!(done.log.error.as_deref(), Some("404 NoSuchKey"));

    let mut big = bucket_with_photo();
    let tight = Settings {
        limits: image_core::Limits {
            max_input_bytes: 100,
            ..Default::default()
        },
        ..settings()
    };
    let done = run(&tight, "GET", VARIANT, 403, &mut big, native_clock);
    assert_eq!(respond(&done.answer).status, 413);
    assert!(big.written.is_empty());

    let mut b = bucket_with_photo();
    let few_pixels = Settings {
        limits: image_core::Limits {
            max_pixels: 1000,
            ..Default::default()
        },
        ..settings()
    };
    let done = run(&few_pixels, "GET", VARIANT, 403, &mut b, native_clock);
    assert_eq!(respond(&done.answer).status, 413);
    assert!(b.written.is_empty());
}

#[test]
fn origin_failures_are_502_with_the_cause_logged() {
    let mut b = bucket_with_photo();
    b.fail_reads = Some("dispatch failure: connection refused".into());
    let done = run(&settings(), "GET", VARIANT, 403, &mut b, native_clock);
    let r = respond(&done.answer);
    assert_eq!(
        (r.status, r.header("cache-control")),
        (502, Some("no-store"))
    );
    assert_eq!(text(r), "502 Bad Gateway: could not read the original\n");
    assert_eq!(
        done.log.error.as_deref(),
        Some("dispatch failure: connection refused")
    );
    assert_eq!(done.log.outcome, "failed");

    let mut b = bucket_with_photo();
    b.fail_writes = Some("AccessDenied".into());
    let done = run(&settings(), "GET", VARIANT, 403, &mut b, native_clock);
    assert_eq!(respond(&done.answer).status, 502);
    assert_eq!(done.log.error.as_deref(), Some("AccessDenied"));
    assert!(done
        .log
        .to_json_line()
        .contains("\"error\":\"AccessDenied\""));
}

#[test]
fn a_host_feeding_the_wrong_outcome_gets_500_not_a_panic() {
    let (mut flow, step) = Flow::start(&settings(), "GET", VARIANT, 403, native_clock);
    assert!(matches!(step, Step::Read(ref r) if r.key == "photos/a b.png"));
    let Step::Done(done) = flow.resume(Input::Written(Ok(()))) else {
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
        &Answer::Respond(Response::image(vec![1, 2, 3, 4], "image/webp", true)),
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
    let (_, step) = edge::start(&settings(), &event, native_clock).unwrap();
    let Step::Done(done) = step else {
        panic!("expected a rejection")
    };
    assert_eq!(respond(&done.answer).status, 400);
}
