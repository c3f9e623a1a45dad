//! The purge flow against a bucket double that lists as S3 does (prefix, `/` delimiter, pages).
use std::collections::BTreeSet;

use viewer_fn::purge::{
    cache_tag, invalidation_path, Input, Invalidation, Listing, Purge, Report, Step, Target,
};
use viewer_fn::{Spec, GENERATION};

struct Bucket {
    keys: BTreeSet<String>,
    page: usize,
    invalidated: Vec<Vec<String>>,
    calls: Vec<String>,
    by: Invalidation,
}

impl Bucket {
    fn new(keys: &[&str]) -> Bucket {
        Bucket {
            keys: keys.iter().map(|k| k.replace("{g}", GENERATION)).collect(),
            page: 1000,
            invalidated: Vec::new(),
            calls: Vec::new(),
            by: Invalidation::Tags,
        }
    }

    /// ListObjectsV2: keys after `token`, `page` entries a page, rolled up at the next `/`.
    fn list(&self, prefix: &str, delimiter: bool, token: Option<&str>) -> Listing {
        let mut out = Listing::default();
        let mut n = 0;
        for key in self.keys.iter().filter(|k| k.starts_with(prefix)) {
            if token.is_some_and(|t| key.as_str() <= t) {
                continue;
            }
            let rest = &key[prefix.len()..];
            match rest.find('/').filter(|_| delimiter) {
                Some(i) => {
                    let folder = format!("{prefix}{}", &rest[..=i]);
                    if out.folders.last() != Some(&folder) {
                        out.folders.push(folder);
                        n += 1;
                    }
                }
                None => {
                    out.keys.push(key.clone());
                    n += 1;
                }
            }
            if n == self.page {
                out.next = Some(key.clone());
                break;
            }
        }
        out
    }

    fn run(&mut self, spec: &Spec, target: Target, dry_run: bool) -> Report {
        let (mut purge, mut step) = Purge::start(spec, target, self.by, dry_run).unwrap();
        loop {
            step = match step {
                Step::List(l) => {
                    self.calls
                        .push(format!("list {} {}", l.prefix, l.delimiter));
                    let listing = self.list(&l.prefix, l.delimiter, l.token.as_deref());
                    purge.resume(Input::Listed(Ok(listing)))
                }
                Step::Delete(d) => {
                    assert!(d.keys.len() <= 1000);
                    self.calls.push(format!("delete {}", d.keys.len()));
                    for k in &d.keys {
                        assert!(k.starts_with("_sf/"), "{k}");
                        self.keys.remove(k);
                    }
                    purge.resume(Input::Deleted(Ok(vec![])))
                }
                Step::Invalidate(i) => {
                    self.invalidated.push(i.items.clone());
                    purge.resume(Input::Invalidated(Ok(())))
                }
                Step::Done(report) => return report,
            }
        }
    }
}

fn g(k: &str) -> String {
    k.replace("{g}", GENERATION)
}

const BUCKET: &[&str] = &[
    "x.jpg",
    "x.jpg/y.jpg",
    "x.jpgz.jpg",
    "photos/a b.jpg",
    "_sf/x.jpg/{g}/w640-h0-inside-q75.webp",
    "_sf/x.jpg/{g}/w384-h0-inside-q75.avif",
    "_sf/x.jpg/g0000000/w384-h0-inside-q75.avif",
    "_sf/x.jpg/y.jpg/{g}/w640-h0-inside-q75.webp",
    "_sf/x.jpgz.jpg/{g}/w640-h0-inside-q75.webp",
    "_sf/photos/a b.jpg/{g}/w640-h0-inside-q75.webp",
    "_sf/photos/a b.jpg/g0000000/w640-h0-inside-q75.webp",
];

#[test]
fn one_original_takes_its_variants_of_every_generation_and_no_neighbour() {
    let spec = Spec::default();
    let mut b = Bucket::new(BUCKET);
    let report = b.run(&spec, Target::Originals(vec!["x.jpg".into()]), false);
    let mut deleted = report.deleted.clone();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            g("_sf/x.jpg/g0000000/w384-h0-inside-q75.avif"),
            g("_sf/x.jpg/{g}/w384-h0-inside-q75.avif"),
            g("_sf/x.jpg/{g}/w640-h0-inside-q75.webp"),
        ]
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // The neighbours: x.jpg/y.jpg (below it) and x.jpgz.jpg (sharing its spelling) keep theirs.
    assert!(b
        .keys
        .contains(&g("_sf/x.jpg/y.jpg/{g}/w640-h0-inside-q75.webp")));
    assert!(b
        .keys
        .contains(&g("_sf/x.jpgz.jpg/{g}/w640-h0-inside-q75.webp")));
    assert!(b.keys.contains("x.jpg"), "an original is never deleted");
    // Exactly that original: its tag and its own URI, in one call.
    assert_eq!(
        b.invalidated,
        [vec![
            format!("#{}", cache_tag("x.jpg")),
            "/x.jpg".to_string()
        ]]
    );
    // Listed a level at a time: the original's folder, then its two generation folders.
    assert_eq!(b.calls.iter().filter(|c| c.starts_with("list")).count(), 3);
}

#[test]
fn a_dry_run_lists_what_would_go_and_changes_nothing() {
    let spec = Spec::default();
    let mut b = Bucket::new(BUCKET);
    let before = b.keys.clone();
    let report = b.run(
        &spec,
        Target::Originals(vec!["photos/a b.jpg".into()]),
        true,
    );
    assert!(report.dry_run);
    assert_eq!(report.deleted.len(), 2);
    assert_eq!(
        report.invalidated,
        [
            format!("#{}", cache_tag("photos/a b.jpg")),
            "/photos/a%20b.jpg".into()
        ]
    );
    assert_eq!(b.keys, before);
    assert!(b.invalidated.is_empty());
    assert!(b.calls.iter().all(|c| c.starts_with("list")));
    assert!(report
        .summary()
        .starts_with("would delete 2 stored variant(s)"));
}

#[test]
fn a_prefix_takes_every_original_below_it_with_two_wildcards() {
    let spec = Spec::default();
    let mut b = Bucket::new(BUCKET);
    let report = b.run(&spec, Target::Prefix("photos/".into()), false);
    assert_eq!(report.deleted.len(), 2);
    assert_eq!(
        b.invalidated,
        [vec!["/_sf/photos/*".to_string(), "/photos/*".into()]]
    );
    assert_eq!(b.keys.iter().filter(|k| k.starts_with("_sf/")).count(), 5);
}

#[test]
fn old_generations_go_and_the_current_one_stays() {
    let spec = Spec::default();
    let mut b = Bucket::new(BUCKET);
    let report = b.run(&spec, Target::OldGenerations, false);
    let mut deleted = report.deleted.clone();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            "_sf/photos/a b.jpg/g0000000/w640-h0-inside-q75.webp",
            "_sf/x.jpg/g0000000/w384-h0-inside-q75.avif"
        ]
    );
    assert!(
        b.invalidated.is_empty(),
        "no page URL names an old generation"
    );
    assert_eq!(b.keys.iter().filter(|k| k.starts_with("_sf/")).count(), 5);
}

#[test]
fn pages_and_batches() {
    let spec = Spec::default();
    let mut keys: Vec<String> = (0..2500)
        .map(|i| format!("_sf/big.jpg/g0000000/w{i}-h0-inside-q75.webp"))
        .collect();
    keys.push("_sf/big.jpg/{g}/w640-h0-inside-q75.webp".into());
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut b = Bucket::new(&refs);
    b.page = 700;
    let report = b.run(&spec, Target::OldGenerations, false);
    assert_eq!(report.deleted.len(), 2500);
    let deletes: Vec<&String> = b.calls.iter().filter(|c| c.starts_with("delete")).collect();
    assert_eq!(deletes, ["delete 1000", "delete 1000", "delete 500"]);
    assert_eq!(b.keys.len(), 1);
}

#[test]
fn refusals_and_escapes() {
    let spec = Spec::default();
    for bad in ["_sf/x.jpg", "/x.jpg", ""] {
        assert!(Purge::start(
            &spec,
            Target::Originals(vec![bad.into()]),
            Invalidation::Tags,
            true
        )
        .is_err());
    }
    assert!(Purge::start(
        &spec,
        Target::Prefix("_sf/".into()),
        Invalidation::Tags,
        true
    )
    .is_err());
    // A literal * cannot be escaped: the path becomes a wildcard that still covers the object.
    assert_eq!(invalidation_path("/a*b.jpg"), "/a*");
    assert_eq!(invalidation_path("/a.jpg"), "/a.jpg");
    let tag = cache_tag("photos/日本.jpg");
    assert!(tag.len() <= 256 && tag.bytes().all(|b| (33..=126).contains(&b) && b != b','));
    assert_ne!(cache_tag("a.jpg"), cache_tag("b.jpg"));
}

#[test]
fn failures_are_reported_and_the_rest_goes_on() {
    let spec = Spec::default();
    let (mut purge, step) = Purge::start(
        &spec,
        Target::Originals(vec!["x.jpg".into()]),
        Invalidation::Tags,
        false,
    )
    .unwrap();
    assert!(matches!(step, Step::List(_)));
    // The listing fails: nothing to delete, but the CDN still forgets the photo.
    let step = purge.resume(Input::Listed(Err("S3 ListObjectsV2: throttled".into())));
    let Step::Invalidate(i) = step else {
        panic!("{step:?}")
    };
    assert_eq!(i.items.len(), 2);
    let Step::Done(report) = purge.resume(Input::Invalidated(Err(
        "TooManyInvalidationsInProgress".into(),
    ))) else {
        panic!()
    };
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    assert!(report.invalidated.is_empty());
}

#[test]
fn without_cache_tags_a_wildcard_per_original_at_most_15_a_batch() {
    let spec = Spec::default();
    let mut b = Bucket::new(BUCKET);
    b.by = Invalidation::Paths;
    let originals: Vec<String> = (0..20).map(|i| format!("p/{i}.jpg")).collect();
    b.run(&spec, Target::Originals(originals), false);
    assert_eq!(b.invalidated.len(), 2);
    assert_eq!(b.invalidated[0][..2], ["/_sf/p/0.jpg/*", "/p/0.jpg"]);
    assert_eq!(b.invalidated[0].len(), 30);
    for batch in &b.invalidated {
        assert!(batch.iter().filter(|i| i.ends_with('*')).count() <= 15);
    }
    let mut b = Bucket::new(BUCKET);
    b.by = Invalidation::Paths;
    b.run(&spec, Target::Originals(vec!["x.jpg".into()]), false);
    assert_eq!(
        b.invalidated,
        [vec!["/_sf/x.jpg/*".to_string(), "/x.jpg".into()]]
    );
}
