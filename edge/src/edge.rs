//! The request path, CloudFront's order:
//!
//! ```text
//! viewer function (generated JS) ─response─▶ answer (400, redirect…)
//!   ▼ rewritten URI = cache key
//! edge cache ─fresh─▶ Hit
//!   ▼ miss (concurrent misses share one fetch)
//! origin GET ─found─▶ Miss (cached as CloudFront would: cloudfront.rs)
//!   ▼ 403/404
//! origin-side flow (resize-lambda), as Lambda@Edge runs it on the origin's answer:
//!   validate key → stored variant? → read original → resize → store variant ─▶ Flow("generated")
//! ```

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use resize_lambda::{Answer, Body, Flow, Input, ReadResult, Settings, Step, NATIVE_CLOCK};
use tokio::sync::Semaphore;
use viewer_fn::purge::{self, Invalidation, Purge, Report, Target};
use viewer_fn::sign::Keys;
use viewer_fn::Spec;

use crate::cache::{CacheStatus, EdgeCache};
use crate::limits::{Gauge, Limits};
use crate::object::Object;
use crate::origin::Origin;
use crate::viewer::{ViewerFn, ViewerOutcome, ViewerRequest};

/// Timings for `Server-Timing`, in the order they happened.
pub type Timing = Vec<(&'static str, Duration)>;

/// What the edge answers, before HTTP details (conditional requests, ranges, HEAD).
pub struct Served {
    pub object: Arc<Object>,
    /// `None` when the viewer function answered itself.
    pub cache: Option<CacheStatus>,
    /// The cache key the viewer function produced.
    pub uri: String,
    pub timing: Timing,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct EdgeStats {
    pub requests: u64,
    /// Variants made by the origin-side flow (each distinct one once, thanks to single flight).
    pub generated: u64,
    pub flow_errors: u64,
    /// Connections open now, and the most at once ([`Limits::max_connections`]).
    pub connections: usize,
    pub connections_peak: usize,
    /// Origin reads in progress, and the most at once ([`Limits::max_origin_reads`]).
    pub origin_reads: usize,
    pub origin_reads_peak: usize,
    /// Resizes running on a blocking thread, and the most at once ([`Limits::resize_slots`]).
    /// Counted by the work itself, so one whose client hung up still counts until it ends.
    pub resizing: usize,
    pub resizing_peak: usize,
}

pub struct Edge {
    pub spec: Spec,
    settings: Settings,
    viewer: ViewerFn,
    pub cache: EdgeCache,
    pub origin: Origin,
    /// Every bound the edge holds (connections, headers, timeouts, reads, resizes).
    pub limits: Limits,
    /// [`Limits::resize_slots`]: a permit from the original's first read to the end of its
    /// resize.
    resize_slots: Arc<Semaphore>,
    /// [`Limits::max_origin_reads`].
    origin_reads: Semaphore,
    /// Open connections (counted by `http::serve`), origin reads and resizes in progress.
    pub(crate) connections: Arc<Gauge>,
    reading: Arc<Gauge>,
    resizing: Arc<Gauge>,
    requests: AtomicU64,
    generated: AtomicU64,
    flow_errors: AtomicU64,
    /// Print the origin-side flow's log line for each generation (stdout), as Lambda would.
    pub log_flows: bool,
    /// Host names served besides IP addresses and `localhost` (`serve --allow-host`).
    pub allowed_hosts: Vec<String>,
}

impl Edge {
    pub fn new(spec: Spec, origin: Origin, cache_bytes: usize) -> anyhow::Result<Edge> {
        Edge::with_limits(spec, origin, cache_bytes, Limits::default())
    }

    pub fn with_limits(
        spec: Spec,
        origin: Origin,
        cache_bytes: usize,
        limits: Limits,
    ) -> anyhow::Result<Edge> {
        let viewer = ViewerFn::new(viewer_fn::generate(&spec))?;
        Ok(Edge {
            settings: Settings::new(spec.clone(), resize_lambda::EDGE_MAX_RESPONSE_BYTES),
            spec,
            viewer,
            cache: EdgeCache::new(cache_bytes),
            origin,
            resize_slots: Arc::new(Semaphore::new(limits.resize_slots.max(1))),
            origin_reads: Semaphore::new(limits.max_origin_reads.max(1)),
            limits,
            connections: Arc::default(),
            reading: Arc::default(),
            resizing: Arc::default(),
            requests: AtomicU64::new(0),
            generated: AtomicU64::new(0),
            flow_errors: AtomicU64::new(0),
            log_flows: true,
            allowed_hosts: Vec::new(),
        })
    }

    /// The generated viewer function, as it runs in QuickJS.
    pub fn viewer(&self) -> &ViewerFn {
        &self.viewer
    }

    /// Signing keys for a spec with `signed = true`: the viewer function's local KeyValueStore,
    /// and slot `o` for the origin's redirects (as a deployed package has it in its config).
    pub fn set_keys(&mut self, keys: Keys) -> anyhow::Result<()> {
        self.viewer = ViewerFn::with_keys(viewer_fn::generate(&self.spec), keys.clone())?;
        // One set of keys: the origin side signs with its slot `o`, pages with `a` or `b`.
        self.settings.signing = keys;
        Ok(())
    }

    /// The encryption every variant's PUT asks for (`serve --s3 … --sse`), as a deployed
    /// package's `putEncryption` does: the origin side's settings carry it into each write.
    pub fn set_encryption(&mut self, encryption: Option<resize_lambda::Encryption>) {
        self.settings.encryption = encryption;
    }

    /// The signing keys (empty unless [`Edge::set_keys`]): pages served by `serve` (the preview,
    /// its srcset) are signed with slot `a` on the server; the keys never reach the page.
    pub fn keys(&self) -> &Keys {
        &self.settings.signing
    }

    pub fn stats(&self) -> EdgeStats {
        EdgeStats {
            requests: self.requests.load(Ordering::Relaxed),
            generated: self.generated.load(Ordering::Relaxed),
            flow_errors: self.flow_errors.load(Ordering::Relaxed),
            connections: self.connections.now(),
            connections_peak: self.connections.peak(),
            origin_reads: self.reading.now(),
            origin_reads_peak: self.reading.peak(),
            resizing: self.resizing.now(),
            resizing_peak: self.resizing.peak(),
        }
    }

    /// One origin read within the edge's bounds: at most [`Limits::max_origin_reads`] at once,
    /// each (its wait for a turn included) within [`Limits::origin_timeout`].
    pub async fn read(&self, read: &resize_lambda::Read) -> ReadResult {
        let limit = self.limits.origin_timeout;
        let bounded = async {
            let _turn = self.origin_reads.acquire().await.expect("never closed");
            let _counted = self.reading.enter();
            self.origin.read(read).await
        };
        match tokio::time::timeout(limit, bounded).await {
            Ok(result) => result,
            Err(_) => ReadResult::Failed {
                cause: format!(
                    "origin read of {:?} took over {limit:?} (serve's origin timeout)",
                    read.key
                ),
            },
        }
    }

    /// One viewer request through the whole path. `method` is GET or HEAD (the caller refuses
    /// others); HEAD shares GET's cache entry, as on CloudFront.
    pub async fn handle(&self, req: &ViewerRequest<'_>) -> Served {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let t0 = Instant::now();
        let outcome = self.viewer.run(req);
        let mut timing: Timing = vec![("viewer", t0.elapsed())];
        let uri = match outcome {
            Ok(ViewerOutcome::Forward { uri, .. }) => uri,
            Ok(ViewerOutcome::Respond {
                status,
                headers,
                body,
            }) => {
                let mut o = Object::new(status, Bytes::from(body));
                o.headers = headers
                    .into_iter()
                    .map(|(n, v)| (n.to_ascii_lowercase(), v))
                    .collect();
                return Served {
                    object: Arc::new(o),
                    cache: None,
                    uri: req.uri.to_string(),
                    timing,
                };
            }
            Err(e) => {
                // CloudFront answers 503 when a function throws; the cause goes to the log (I6).
                eprintln!("scalefront serve: {} {}: {e}", req.method, req.uri);
                let o = Object::error(
                    503,
                    format!("503 Service Unavailable: the viewer function failed: {e}"),
                );
                return Served {
                    object: Arc::new(o),
                    cache: None,
                    uri: req.uri.to_string(),
                    timing,
                };
            }
        };
        let t1 = Instant::now();
        let fetch_timing = std::sync::Mutex::new(Timing::new());
        // GET and HEAD share the cache entry; a HEAD gets its own flight (its answer has no body).
        // A HEAD and a GET missing one variant at once both run the flow: the second finds the
        // variant stored, or makes the same bytes under the same key.
        let flight = format!("{} {uri}", req.method);
        let (object, status) = self
            .cache
            .get_or_fetch(&uri, &flight, || async {
                let (o, s, t) = self.fetch(req.method, &uri).await;
                *fetch_timing.lock().unwrap() = t;
                (o, s)
            })
            .await;
        timing.push(("edge", t1.elapsed()));
        timing.extend(fetch_timing.into_inner().unwrap());
        Served {
            object,
            cache: Some(status),
            uri,
            timing,
        }
    }

    /// A purge against this edge's origin and cache: the steps `scalefront purge` runs against a
    /// deployed stack, with the edge cache standing in for CloudFront's invalidation.
    pub async fn purge(&self, target: Target, dry_run: bool) -> Result<Report, String> {
        let (mut purge, mut step) = Purge::start(&self.spec, target, Invalidation::Tags, dry_run)?;
        loop {
            step = match step {
                purge::Step::List(l) => {
                    purge.resume(purge::Input::Listed(self.origin.list_page(&l).await))
                }
                purge::Step::Delete(d) => {
                    purge.resume(purge::Input::Deleted(self.origin.delete(&d).await))
                }
                purge::Step::Invalidate(i) => {
                    self.cache.invalidate(&i.items);
                    purge.resume(purge::Input::Invalidated(Ok(())))
                }
                purge::Step::Done(report) => return Ok(report),
            };
        }
    }

    /// A cache miss: the origin, then the origin-side flow on its answer when it lacks the key
    /// (as Lambda@Edge runs on S3's 403/404).
    async fn fetch(&self, method: &str, uri: &str) -> (Object, CacheStatus, Timing) {
        let mut timing = Timing::new();
        let Some(key) = resize_lambda::key_of(uri) else {
            return (
                Object::error(400, "400 Bad Request: the path is not valid UTF-8"),
                CacheStatus::Miss,
                timing,
            );
        };
        let t = Instant::now();
        let max_bytes = self.limits.max_object_bytes;
        let fetched = self
            .read(&resize_lambda::Read {
                key: key.clone(),
                start: 0,
                len: None,
                max_bytes,
                if_match: None,
            })
            .await;
        timing.push(("origin", t.elapsed()));
        match fetched {
            ReadResult::Found { meta, .. } if self.outdated(&key, &meta).await => {
                self.flow(method, uri, 404, timing).await
            }
            ReadResult::Found { meta, body } => {
                let mut o = Object::new(200, Bytes::from(body));
                let content_type = meta.content_type.unwrap_or_else(|| {
                    crate::origin::sniff_content_type(&o.body[..o.body.len().min(16)], &key)
                        .to_string()
                });
                o.set_header("content-type", content_type);
                if let Some(cc) = meta.cache_control {
                    o.set_header("cache-control", cc);
                }
                if let Some(lm) = meta.last_modified_ms {
                    let t = std::time::UNIX_EPOCH + Duration::from_millis(lm as u64);
                    o.set_header("last-modified", httpdate::fmt_http_date(t));
                }
                o.set_header("etag", meta.etag.unwrap_or_else(|| etag_of(&o.body)));
                for (name, value) in meta.metadata {
                    o.set_header(&format!("x-amz-meta-{name}"), value);
                }
                (o, CacheStatus::Miss, timing)
            }
            ReadResult::Missing { status, .. } => self.flow(method, uri, status, timing).await,
            ReadResult::TooLarge { meta } => {
                let msg = format!("502 Bad Gateway: the object is {} bytes, over the local edge's {max_bytes} byte limit", meta.size);
                (Object::error(502, msg), CacheStatus::Miss, timing)
            }
            ReadResult::Failed { cause } => {
                eprintln!("scalefront serve: origin GET {key}: {cause}");
                (
                    Object::error(502, "502 Bad Gateway: the origin failed"),
                    CacheStatus::Miss,
                    timing,
                )
            }
        }
    }

    /// Whether a stored variant was made from another version of its original, or from one
    /// since deleted (its `source-etag` against a HEAD of the original). Then the original's
    /// variants are purged, so the caller makes the variant again or answers 404. This is how
    /// `serve --s3` keeps up without S3's events; over a folder (no metadata) the watcher does.
    async fn outdated(&self, key: &str, meta: &resize_lambda::Meta) -> bool {
        let Some(stored) = viewer_fn::StoredKey::split(&self.spec, key) else {
            return false;
        };
        let Some((_, made_from)) = meta.metadata.iter().find(|(n, _)| n == "source-etag") else {
            return false;
        };
        let head = resize_lambda::Read {
            key: stored.source_key.to_string(),
            start: 0,
            len: Some(0),
            max_bytes: u64::MAX,
            if_match: None,
        };
        let why = match self.read(&head).await {
            ReadResult::Found { meta, .. } if meta.etag.as_ref() == Some(made_from) => {
                return false
            }
            ReadResult::Found { .. } => "was replaced",
            ReadResult::Missing { status: 404, .. } => "was deleted",
            // Refused or failing: no way to tell; the stored variant stands.
            _ => return false,
        };
        let source = stored.source_key.to_string();
        match self
            .purge(Target::Originals(vec![source.clone()]), false)
            .await
        {
            Ok(r) => eprintln!(
                "scalefront serve: {source} {why} since its variants were made: {}",
                r.summary()
            ),
            Err(e) => eprintln!("scalefront serve: purging {source}: {e}"),
        }
        true
    }

    /// The origin-side flow, driven step by step; the resize runs on a blocking thread.
    async fn flow(
        &self,
        method: &str,
        uri: &str,
        origin_status: u16,
        mut timing: Timing,
    ) -> (Object, CacheStatus, Timing) {
        let (mut flow, mut step) =
            Flow::start(&self.settings, method, uri, origin_status, NATIVE_CLOCK);
        let mut reads = 0;
        // One slot from the original's first read to the end: an original in memory counts
        // against it. The stored-variant check (the first read) needs none.
        let mut slot = None;
        let done = loop {
            step = match step {
                Step::Read(read) => {
                    if reads > 0 && slot.is_none() {
                        let slots = self.resize_slots.clone();
                        slot = Some(slots.acquire_owned().await.expect("never closed"));
                    }
                    reads += 1;
                    let result = self.read(&read).await;
                    // The slot travels with the work: if the client hangs up (this future is
                    // dropped) while the resize runs, the slot is freed when the resize ends,
                    // not before, so concurrent resizes stay bounded.
                    let held = slot.take();
                    let resizing = self.resizing.clone();
                    let (f, s, held) = tokio::task::spawn_blocking(move || {
                        // Counted out before the slot is released (it goes when `held` does).
                        let counted = held.as_ref().map(|_| resizing.enter());
                        let s = flow.resume(Input::Read(result));
                        drop(counted);
                        (flow, s, held)
                    })
                    .await
                    .expect("the flow does not panic");
                    slot = held;
                    flow = f;
                    s
                }
                Step::Write(write) => flow.resume(Input::Written(self.origin.put(&write).await)),
                Step::Done(done) => break done,
            };
        };
        for (name, ms) in &done.log.ms {
            timing.push((name, Duration::from_secs_f64(ms.max(0.0) / 1000.0)));
        }
        // A pass-through with a cause (the original refused to this edge's credentials too, or
        // S3 failing) is logged like a failure: the cause is nowhere else (I6).
        if self.log_flows && (done.log.outcome != "pass" || done.log.error.is_some()) {
            println!("{}", done.log.to_json_line());
        }
        match done.answer {
            Answer::PassThrough => {
                // S3's own 403/404 stands, as CloudFront would hand it on (no max-age: uncached).
                // A 403 says refused, never "no object": with s3:ListBucket it is a denial.
                let said = if origin_status == 403 {
                    format!("403 Forbidden: the origin refused {uri}\n")
                } else {
                    format!("{origin_status} Not Found: no object {uri}\n")
                };
                let mut o = Object::new(origin_status, Bytes::from(said));
                o.set_header("content-type", "text/plain; charset=utf-8");
                (o, CacheStatus::Miss, timing)
            }
            Answer::Respond(r) => {
                if done.log.outcome == "generated" {
                    self.generated.fetch_add(1, Ordering::Relaxed);
                } else if r.status >= 400 {
                    self.flow_errors.fetch_add(1, Ordering::Relaxed);
                }
                let body = match r.body {
                    Body::Empty => Bytes::new(),
                    Body::Text(t) => Bytes::from(t),
                    Body::Image(b) => Bytes::from(b),
                };
                let mut o = Object::new(r.status, body);
                for (name, value) in r.headers {
                    o.set_header(name, value);
                }
                if r.status == 200 && !o.body.is_empty() && o.header("etag").is_none() {
                    o.set_header("etag", etag_of(&o.body));
                }
                (o, CacheStatus::Flow(done.log.outcome), timing)
            }
        }
    }
}

/// A strong ETag from the bytes (same bytes, same tag, across restarts).
pub fn etag_of(body: &[u8]) -> String {
    let mut h = DefaultHasher::new();
    h.write(body);
    format!("\"{:016x}-{:x}\"", h.finish(), body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An edge over a scratch copy of the sample photos.
    fn sample_edge(tag: &str, limits: Limits) -> (std::path::PathBuf, Edge) {
        let dir = std::env::temp_dir().join(format!("sf-edge-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        crate::sample::extract(&dir).unwrap();
        let spec = Spec::default();
        let cc = viewer_fn::cdn::variant_cache_control(&spec);
        let folder = crate::origin::Folder::new(&dir, spec.prefix(), &cc).unwrap();
        let mut edge = Edge::with_limits(spec, Origin::Folder(folder), 1 << 20, limits).unwrap();
        edge.log_flows = false;
        (dir, edge)
    }

    async fn get(edge: &Edge, uri: &str) -> Served {
        edge.handle(&ViewerRequest {
            method: "GET",
            uri,
            query: "",
            headers: Vec::new(),
            client_ip: "127.0.0.1".into(),
        })
        .await
    }

    #[tokio::test]
    async fn origin_reads_wait_for_a_turn() {
        let limits = Limits {
            max_origin_reads: 1,
            ..Limits::default()
        };
        let (dir, edge) = sample_edge("reads", limits);
        let edge = Arc::new(edge);
        let turn = edge.origin_reads.acquire().await.unwrap(); // the one read in progress
        let e = edge.clone();
        let waiting = tokio::spawn(async move { get(&e, "/cups.jpg").await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "read while the only turn was taken");
        assert_eq!(edge.stats().origin_reads, 0);
        drop(turn);
        let served = waiting.await.unwrap();
        assert_eq!(served.object.status, 200);
        assert_eq!(edge.stats().origin_reads_peak, 1);
        // Many at once never read more than the cap together.
        let all: Vec<_> = ["/storm.jpg", "/by-the-water.jpg", "/nature/ladybird.jpg"]
            .into_iter()
            .map(|u| {
                let e = edge.clone();
                tokio::spawn(async move { get(&e, u).await.object.status })
            })
            .collect();
        for t in all {
            assert_eq!(t.await.unwrap(), 200);
        }
        assert_eq!(edge.stats().origin_reads_peak, 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_origin_read_over_the_timeout_fails_with_its_cause() {
        let limits = Limits {
            origin_timeout: Duration::from_millis(150),
            ..Limits::default()
        };
        let (dir, edge) = sample_edge("timeout", limits);
        // Every turn taken: the read waits past its timeout (the wait counts, as on CloudFront).
        let _all = edge
            .origin_reads
            .acquire_many(edge.limits.max_origin_reads as u32)
            .await
            .unwrap();
        let t = Instant::now();
        let read = edge
            .read(&resize_lambda::Read {
                key: "cups.jpg".into(),
                start: 0,
                len: None,
                max_bytes: 1 << 20,
                if_match: None,
            })
            .await;
        assert!(t.elapsed() >= Duration::from_millis(150));
        let ReadResult::Failed { cause } = read else {
            panic!("not a failure")
        };
        assert!(cause.contains("origin timeout"), "{cause}");
        // Through the edge: an original whose read times out is a 502 (kept briefly, as
        // CloudFront keeps a 5xx: the error caching of cloudfront.rs).
        let served = get(&edge, "/storm.jpg").await;
        assert_eq!(served.object.status, 502);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn the_prefix_spelled_in_another_case_is_not_an_original() {
        let (dir, edge) = sample_edge("case", Limits::default());
        // What `/_SF/cups.jpg` reads on macOS: the variant folder. Here a folder of its own;
        // refused all the same, so the edge behaves alike on both.
        for spelled in ["_SF", "_Sf", "_sf."] {
            std::fs::create_dir_all(dir.join(spelled)).unwrap();
            std::fs::copy(dir.join("cups.jpg"), dir.join(spelled).join("cups.jpg")).unwrap();
            let served = get(&edge, &format!("/{spelled}/cups.jpg")).await;
            assert_eq!(served.object.status, 404, "{spelled}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn etags_follow_content() {
        assert_eq!(etag_of(b"abc"), etag_of(b"abc"));
        assert_ne!(etag_of(b"abc"), etag_of(b"abd"));
        assert!(etag_of(b"").starts_with('"'));
    }
}
