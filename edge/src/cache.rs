//! The edge cache: what CloudFront keeps between the viewer function and the origin.
//!
//! Keyed on the rewritten URI alone (the cache policy forwards no query string and no header),
//! GET and HEAD sharing one entry, bounded in bytes with least-recently-used eviction; what is
//! stored and for how long is CloudFront's documented rule set ([`crate::cloudfront::ttl`]):
//! errors included, for the Error Caching Minimum TTL. Concurrent misses for one key share a
//! single origin fetch (CloudFront's request collapsing), which is what makes each distinct
//! variant be generated once.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::OnceCell;

use crate::object::Object;

/// How a response was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Served from the edge cache (or from a fetch another request had already started).
    Hit,
    /// Fetched from the origin as it was.
    Miss,
    /// Fetched, and the origin-side flow answered (its log's `outcome`: `generated`, `stored`,
    /// `redirect`, `client-error`, …).
    Flow(&'static str),
}

impl CacheStatus {
    /// CloudFront's `x-cache` for a response with `status` obtained this way.
    pub fn x_cache(self, status: u16) -> &'static str {
        crate::cloudfront::x_cache(self == CacheStatus::Hit, status)
    }
}

struct Entry {
    object: Arc<Object>,
    expires: Instant,
    tick: u64,
}

#[derive(Default)]
struct Lru {
    map: HashMap<String, Entry>,
    order: BTreeMap<u64, String>,
    bytes: usize,
    tick: u64,
}

impl Lru {
    fn remove(&mut self, key: &str) {
        if let Some(e) = self.map.remove(key) {
            self.order.remove(&e.tick);
            self.bytes -= e.object.weight(key);
        }
    }
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct CacheStats {
    pub entries: usize,
    pub bytes: usize,
    pub max_bytes: usize,
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
}

type Flight = Arc<OnceCell<(Arc<Object>, CacheStatus)>>;

pub struct EdgeCache {
    lru: Mutex<Lru>,
    inflight: Mutex<HashMap<String, Flight>>,
    stats: Mutex<CacheStats>,
    max_bytes: usize,
    /// Invalidations so far: a fetch that an invalidation overtook may carry what was just
    /// invalidated (the old variant, made from the old original), so it is served but not kept.
    invalidations: std::sync::atomic::AtomicU64,
}

impl EdgeCache {
    pub fn new(max_bytes: usize) -> EdgeCache {
        EdgeCache {
            lru: Mutex::default(),
            inflight: Mutex::default(),
            stats: Mutex::new(CacheStats {
                max_bytes,
                ..CacheStats::default()
            }),
            max_bytes,
            invalidations: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn stats(&self) -> CacheStats {
        let lru = self.lru.lock().unwrap();
        CacheStats {
            entries: lru.map.len(),
            bytes: lru.bytes,
            ..*self.stats.lock().unwrap()
        }
    }

    /// A fresh cached response, marking it most recently used.
    pub fn get(&self, key: &str) -> Option<Arc<Object>> {
        let mut lru = self.lru.lock().unwrap();
        let now = Instant::now();
        let fresh = match lru.map.get(key) {
            None => return None,
            Some(e) => e.expires > now,
        };
        if !fresh {
            lru.remove(key);
            return None;
        }
        lru.tick += 1;
        let tick = lru.tick;
        let entry = lru.map.get_mut(key).expect("checked above");
        let old = std::mem::replace(&mut entry.tick, tick);
        let object = entry.object.clone();
        lru.order.remove(&old);
        lru.order.insert(tick, key.to_string());
        Some(object)
    }

    /// Stores a response if CloudFront would (its status and caching headers) and it fits.
    pub fn put(&self, key: &str, object: Arc<Object>) {
        let now = std::time::SystemTime::now();
        let Some(ttl) = crate::cloudfront::ttl(object.status, &object.headers, now) else {
            return;
        };
        let weight = object.weight(key);
        // One entry may take at most an eighth of the cache, so a huge original cannot flush it.
        if weight > self.max_bytes / 8 {
            return;
        }
        let mut lru = self.lru.lock().unwrap();
        lru.remove(key);
        let mut evicted = 0;
        while lru.bytes + weight > self.max_bytes {
            let Some((_, victim)) = lru.order.pop_first() else {
                break;
            };
            let e = lru.map.remove(&victim).expect("order and map agree");
            lru.bytes -= e.object.weight(&victim);
            evicted += 1;
        }
        lru.tick += 1;
        let tick = lru.tick;
        lru.order.insert(tick, key.to_string());
        lru.map.insert(
            key.to_string(),
            Entry {
                object,
                expires: Instant::now() + ttl,
                tick,
            },
        );
        lru.bytes += weight;
        drop(lru);
        self.stats.lock().unwrap().evictions += evicted;
    }

    /// CloudFront's invalidation, over the items of one `CreateInvalidation`: `#tag` drops the
    /// entries whose cache-tag header lists the tag (case-insensitive), `/path*` those whose
    /// key starts with `/path`, `/path` the one with that key. Returns how many went. Source:
    /// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-tags.html
    pub fn invalidate(&self, items: &[String]) -> usize {
        let tag_header = viewer_fn::purge::CACHE_TAG_HEADER;
        let matches = |key: &str, object: &Object| {
            items.iter().any(|item| {
                if let Some(tag) = item.strip_prefix('#') {
                    object.header(tag_header).is_some_and(|tags| {
                        tags.split(',').any(|t| t.trim().eq_ignore_ascii_case(tag))
                    })
                } else if let Some(start) = item.strip_suffix('*') {
                    key.starts_with(start)
                } else {
                    key == item
                }
            })
        };
        self.invalidations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut lru = self.lru.lock().unwrap();
        let gone: Vec<String> = lru
            .map
            .iter()
            .filter(|(k, e)| matches(k, &e.object))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &gone {
            lru.remove(key);
        }
        gone.len()
    }

    /// The cached response, or the result of `fetch` — run once for all concurrent callers of
    /// the same key and flight — which is then cached when cacheable. GET and HEAD share the
    /// entry but not a flight: a HEAD's answer has no body, so a GET must not wait for one.
    pub async fn get_or_fetch<F, Fut>(
        &self,
        key: &str,
        flight_key: &str,
        fetch: F,
    ) -> (Arc<Object>, CacheStatus)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = (Object, CacheStatus)>,
    {
        if let Some(hit) = self.get(key) {
            self.stats.lock().unwrap().hits += 1;
            return (hit, CacheStatus::Hit);
        }
        let flight: Flight = self
            .inflight
            .lock()
            .unwrap()
            .entry(flight_key.to_string())
            .or_default()
            .clone();
        let mut led = false;
        let (object, status) = flight
            .get_or_init(|| async {
                led = true;
                // A flight that finished just before we joined may already have filled the cache.
                if let Some(hit) = self.get(key) {
                    return (hit, CacheStatus::Hit);
                }
                let before = self.invalidations.load(std::sync::atomic::Ordering::SeqCst);
                let (object, status) = fetch().await;
                let object = Arc::new(object);
                if self.invalidations.load(std::sync::atomic::Ordering::SeqCst) == before {
                    self.put(key, object.clone());
                }
                (object, status)
            })
            .await
            .clone();
        if led {
            let mut inflight = self.inflight.lock().unwrap();
            if inflight
                .get(flight_key)
                .is_some_and(|f| Arc::ptr_eq(f, &flight))
            {
                inflight.remove(flight_key);
            }
        }
        let mut stats = self.stats.lock().unwrap();
        if led && status != CacheStatus::Hit {
            stats.misses += 1;
            (object, status)
        } else {
            // Joined another request's fetch: CloudFront counts that as served by the cache.
            stats.hits += 1;
            (object, CacheStatus::Hit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn obj(len: usize, cc: Option<&str>) -> Object {
        let mut o = Object::new(200, vec![0u8; len].into());
        if let Some(cc) = cc {
            o.set_header("cache-control", cc);
        }
        o
    }

    #[test]
    fn lru_is_bounded_in_bytes_and_evicts_least_recent() {
        // Entries of ~9 KB in an 80 KB cache (one entry may take at most 10 KB): eight fit.
        let c = EdgeCache::new(80_000);
        for k in ["a", "b", "c", "d", "e", "f", "g", "h", "i"] {
            c.put(k, Arc::new(obj(9000, None)));
            assert!(c.stats().bytes <= 80_000, "{:?}", c.stats());
        }
        assert_eq!(c.stats().entries, 8);
        assert_eq!(c.stats().evictions, 1);
        assert!(c.get("a").is_none(), "oldest evicted");
        assert!(c.get("b").is_some() && c.get("i").is_some());
        // Too big for one entry: not stored at all, nothing evicted for it.
        c.put("huge", Arc::new(obj(20_000, None)));
        assert!(c.get("huge").is_none());
        assert_eq!(c.stats().entries, 8);
        // Not cacheable by its headers or its status (CloudFront's rules: cloudfront.rs).
        c.put("nostore", Arc::new(obj(10, Some("no-store"))));
        assert!(c.get("nostore").is_none());
        let mut e = obj(10, Some("public, max-age=300"));
        e.status = 422;
        c.put("unprocessable", Arc::new(e));
        assert!(c.get("unprocessable").is_none());
        let mut e = obj(10, Some("no-store"));
        e.status = 502;
        c.put("bad-gateway", Arc::new(e));
        assert!(c.get("bad-gateway").is_some(), "5xx kept despite no-store");
    }

    #[test]
    fn lru_order_respects_reads() {
        let c = EdgeCache::new(24_000);
        for i in 0..8 {
            c.put(&format!("k{i}"), Arc::new(obj(2900, None)));
        }
        assert_eq!(c.stats().entries, 8);
        assert!(c.get("k0").is_some()); // k0 is now the most recent
        c.put("new", Arc::new(obj(2900, None)));
        assert!(c.get("k0").is_some(), "read entry kept");
        assert!(c.get("k1").is_none(), "least recent evicted");
        assert!(c.get("new").is_some());
    }

    #[test]
    fn expired_entries_are_not_served() {
        let c = EdgeCache::new(1 << 20);
        c.put("k", Arc::new(obj(10, Some("max-age=1"))));
        assert!(c.get("k").is_some());
        c.lru.lock().unwrap().map.get_mut("k").unwrap().expires =
            Instant::now() - Duration::from_millis(1);
        assert!(c.get("k").is_none());
        assert_eq!(c.stats().entries, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_fetch_once() {
        let c = Arc::new(EdgeCache::new(1 << 20));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (c, calls) = (c.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                c.get_or_fetch("/v", "/v", || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    (obj(100, None), CacheStatus::Flow("generated"))
                })
                .await
                .1
            }));
        }
        let mut generated = 0;
        for t in tasks {
            if t.await.unwrap() == CacheStatus::Flow("generated") {
                generated += 1;
            }
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(generated, 1);
        let (_, s) = c
            .get_or_fetch("/v", "/v", || async { unreachable!("cached") })
            .await;
        assert_eq!(s, CacheStatus::Hit);
        assert!(c.inflight.lock().unwrap().is_empty());
    }

    #[test]
    fn invalidation_by_path_wildcard_and_tag() {
        let c = EdgeCache::new(1 << 20);
        let tagged = |tag: &str| {
            let mut o = obj(10, Some("max-age=60"));
            o.set_header("x-amz-meta-cache-tag", tag);
            Arc::new(o)
        };
        c.put("/a.jpg", Arc::new(obj(10, Some("max-age=60"))));
        c.put("/_sf/a.jpg/g1/w1-h0-cover-q75.webp", tagged("sf-aaaa"));
        c.put("/_sf/b.jpg/g1/w1-h0-cover-q75.webp", tagged("sf-bbbb"));
        c.put("/_sf/bz.jpg/g1/w1-h0-cover-q75.webp", tagged("sf-cccc"));
        assert_eq!(c.invalidate(&["#SF-AAAA".into(), "/a.jpg".into()]), 2);
        assert!(c.get("/_sf/a.jpg/g1/w1-h0-cover-q75.webp").is_none());
        assert!(c.get("/a.jpg").is_none());
        assert_eq!(c.invalidate(&["/_sf/b.jpg/*".into()]), 1);
        assert!(c.get("/_sf/bz.jpg/g1/w1-h0-cover-q75.webp").is_some());
    }

    #[tokio::test]
    async fn a_fetch_overtaken_by_an_invalidation_is_served_not_kept() {
        let c = Arc::new(EdgeCache::new(1 << 20));
        let c2 = c.clone();
        let (_, s) = c
            .get_or_fetch("/v", "/v", || async move {
                // The old variant was read; a purge lands before the fetch ends.
                c2.invalidate(&["/v".into()]);
                (obj(10, Some("max-age=60")), CacheStatus::Miss)
            })
            .await;
        assert_eq!(s, CacheStatus::Miss);
        assert!(c.get("/v").is_none(), "not kept");
    }
}
