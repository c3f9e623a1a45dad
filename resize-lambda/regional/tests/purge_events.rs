//! The purge handler's reading of S3's EventBridge events (`tests/events/`, shaped like the
//! examples of https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) and the
//! purge each one asks for; which handler a function's `Handler` setting runs.
use regional::purge::{
    caller_reference, decide, event_keys, Change, Decision, S3Event, OBJECT_CREATED, OBJECT_DELETED,
};
use regional::Handler;
use viewer_fn::purge::Target;
use viewer_fn::Spec;

const BUCKET: &str = "example-photos";

fn event(name: &str) -> S3Event {
    let src = match name {
        "object-created-put" => include_str!("events/object-created-put.json"),
        "object-created-multipart" => include_str!("events/object-created-multipart.json"),
        "object-deleted" => include_str!("events/object-deleted.json"),
        "object-deleted-lifecycle" => include_str!("events/object-deleted-lifecycle.json"),
        "variant-deleted" => include_str!("events/variant-deleted.json"),
        "other-bucket" => include_str!("events/other-bucket.json"),
        _ => panic!("no fixture {name}"),
    };
    S3Event::from_value(&serde_json::from_str(src).unwrap()).unwrap()
}

fn purge(change: Change, keys: &[&str]) -> Decision {
    Decision::Purge {
        change,
        target: Target::Originals(keys.iter().map(|k| k.to_string()).collect()),
    }
}

#[test]
fn object_created_by_put_object() {
    let e = event("object-created-put");
    assert_eq!(e.source, "aws.s3");
    assert_eq!(e.detail_type, OBJECT_CREATED);
    assert_eq!(e.id, "17793124-05d4-b198-2fde-7ededc63b103");
    assert_eq!(e.region, "ca-central-1");
    assert_eq!(e.detail.bucket.name, BUCKET);
    assert_eq!(e.detail.object.key, "photos/x.jpg");
    assert_eq!(e.detail.object.size, Some(5));
    assert_eq!(
        e.detail.object.etag.as_deref(),
        Some("b1946ac92492d2347c6235b4d2611184")
    );
    assert_eq!(
        e.detail.object.version_id.as_deref(),
        Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e")
    );
    assert_eq!(e.detail.reason.as_deref(), Some("PutObject"));
    assert_eq!(e.detail.deletion_type, None);
    assert_eq!(
        decide(&Spec::default(), BUCKET, &e),
        purge(Change::Created, &["photos/x.jpg"])
    );
}

#[test]
fn object_created_by_a_multipart_upload_with_an_encoded_key() {
    let e = event("object-created-multipart");
    assert_eq!(e.detail.reason.as_deref(), Some("CompleteMultipartUpload"));
    assert_eq!(
        e.detail.object.etag.as_deref(),
        Some("4af981f98d22a0b9979da24b259e5e42-12")
    );
    assert_eq!(e.detail.object.size, Some(198_524_144));
    // Decoded first (S3 URL-encodes keys in its events), then as written.
    assert_eq!(
        decide(&Spec::default(), BUCKET, &e),
        purge(
            Change::Created,
            &[
                "photos/2026/Café del Mar.jpg",
                "photos/2026/Caf%C3%A9+del+Mar.jpg"
            ]
        )
    );
}

#[test]
fn object_deleted_by_delete_object() {
    let e = event("object-deleted");
    assert_eq!(e.detail_type, OBJECT_DELETED);
    assert_eq!(e.detail.reason.as_deref(), Some("DeleteObject"));
    assert_eq!(
        e.detail.deletion_type.as_deref(),
        Some("Permanently Deleted")
    );
    // Object Deleted carries no size (nor, unversioned, an ETag or version).
    assert_eq!(e.detail.object.size, None);
    assert_eq!(e.detail.object.etag, None);
    assert_eq!(
        decide(&Spec::default(), BUCKET, &e),
        purge(Change::Deleted, &["x.jpg"])
    );
}

#[test]
fn object_deleted_by_a_lifecycle_expiration() {
    let e = event("object-deleted-lifecycle");
    assert_eq!(e.detail.reason.as_deref(), Some("Lifecycle Expiration"));
    assert_eq!(
        e.detail.deletion_type.as_deref(),
        Some("Delete Marker Created")
    );
    assert_eq!(e.detail.requester.as_deref(), Some("s3.amazonaws.com"));
    assert_eq!(
        decide(&Spec::default(), BUCKET, &e),
        purge(Change::Deleted, &["photos/old.jpg"])
    );
}

#[test]
fn a_key_under_the_variant_prefix_is_never_purged() {
    // The purge's own deletes: the rule leaves them out, and so does the handler.
    let e = event("variant-deleted");
    let Decision::Ignore(why) = decide(&Spec::default(), BUCKET, &e) else {
        panic!("a variant's event must not purge")
    };
    assert!(why.contains("variant prefix _sf/"), "{why}");
    // Also with another prefix, and however the key is spelled in the event.
    let spec = Spec::from_toml("prefix = \"v\"").unwrap();
    let mut e = event("object-created-put");
    for key in [
        "v/photos/x.jpg/g1a2b3c4/w640-h0-cover-q75.webp",
        "v%2Fx.jpg",
        "v/",
    ] {
        e.detail.object.key = key.into();
        assert!(
            matches!(decide(&spec, BUCKET, &e), Decision::Ignore(_)),
            "{key}"
        );
    }
    // `_sf` is an original with another prefix.
    e.detail.object.key = "_sf/x.jpg".into();
    assert_eq!(
        decide(&spec, BUCKET, &e),
        purge(Change::Created, &["_sf/x.jpg"])
    );
}

#[test]
fn another_bucket_and_other_events_are_ignored() {
    let e = event("other-bucket");
    let Decision::Ignore(why) = decide(&Spec::default(), BUCKET, &e) else {
        panic!("another bucket's event must not purge")
    };
    assert!(why.contains("someone-elses-bucket"), "{why}");

    let mut e = event("object-created-put");
    e.detail_type = "Object Restore Completed".into();
    assert!(matches!(
        decide(&Spec::default(), BUCKET, &e),
        Decision::Ignore(_)
    ));
    let mut e = event("object-created-put");
    e.source = "aws.events".into();
    assert!(matches!(
        decide(&Spec::default(), BUCKET, &e),
        Decision::Ignore(_)
    ));
    // Keys CloudFront cannot serve as an original.
    let mut e = event("object-created-put");
    for key in ["", "/x.jpg"] {
        e.detail.object.key = key.into();
        assert!(
            matches!(decide(&Spec::default(), BUCKET, &e), Decision::Ignore(_)),
            "{key:?}"
        );
    }
}

#[test]
fn an_event_that_is_not_an_s3_object_event_is_an_error() {
    for v in [
        serde_json::json!({}),
        serde_json::json!({"source": "aws.s3", "detail-type": "Object Created"}),
        serde_json::json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "b"}}}),
    ] {
        assert!(S3Event::from_value(&v).is_err(), "{v}");
    }
}

#[test]
fn keys_as_events_spell_them() {
    assert_eq!(event_keys("photos/x.jpg"), ["photos/x.jpg"]);
    assert_eq!(event_keys("a+b.jpg"), ["a b.jpg", "a+b.jpg"]);
    assert_eq!(event_keys("a%2Bb.jpg"), ["a+b.jpg", "a%2Bb.jpg"]);
    assert_eq!(event_keys("x.jpg/y.jpg"), ["x.jpg/y.jpg"]);
    // Not %-encoding, or not UTF-8 once decoded: as written.
    assert_eq!(event_keys("100%.jpg"), ["100%.jpg"]);
    assert_eq!(event_keys("%ff.jpg"), ["%ff.jpg"]);
    assert_eq!(event_keys("%e2%8.jpg"), ["%e2%8.jpg"]);
}

#[test]
fn caller_references_repeat_for_one_event_only() {
    let items = vec!["#sf-0123456789abcdef".to_string(), "/x.jpg".to_string()];
    let a = caller_reference("2ee9cc15-d022-99ea-1fb8-1b1bac4850f9", &items);
    assert_eq!(
        a,
        caller_reference("2ee9cc15-d022-99ea-1fb8-1b1bac4850f9", &items)
    );
    assert!(a.starts_with("scalefront-purge-2ee9cc15-d022-99ea-1fb8-1b1bac4850f9-"));
    assert_ne!(
        a,
        caller_reference("ad1de317-e409-eba2-9552-30113f8d88e3", &items)
    );
    assert_ne!(
        a,
        caller_reference("2ee9cc15-d022-99ea-1fb8-1b1bac4850f9", &items[..1])
    );
}

#[test]
fn the_handler_setting_picks_the_handler() {
    for (setting, handler) in [
        (None, Handler::Resize),
        (Some(""), Handler::Resize),
        (Some("bootstrap"), Handler::Resize),
        (Some("resize"), Handler::Resize),
        (Some("purge"), Handler::Purge),
    ] {
        assert_eq!(Handler::from_setting(setting), Ok(handler), "{setting:?}");
    }
    let e = Handler::from_setting(Some("index.handler")).unwrap_err();
    assert!(
        e.contains("_HANDLER") && e.contains("resize or purge"),
        "{e}"
    );
}
