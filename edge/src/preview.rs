//! `/_scalefront/`: the in-browser resize preview (static files and the image core's wasm `web`
//! build, all inside the binary) and the small JSON API it reads. This namespace is the local
//! edge's own; it never reaches the viewer function or the origin.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};
use serde_json::json;

use crate::edge::Edge;
use crate::http::{text, Reply};
use crate::srcset;
use crate::viewer::{ViewerOutcome, ViewerRequest};
use viewer_fn::purge::Target;

const INDEX: &str = include_str!("../preview/index.html");
const APP_JS: &str = include_str!("../preview/app.js");
const STYLE: &str = include_str!("../preview/style.css");
const WORKER_JS: &str = include_str!("../preview/worker.js");
const CORE_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/image_core.js"));
const CORE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/image_core_bg.wasm"));

/// Whether this binary was built with the wasm `web` build (see build.rs).
pub fn has_wasm() -> bool {
    !CORE_WASM.is_empty()
}

/// `scalefront purge --serve URL` posts here: the local edge's stand-in for the purge a deployed
/// stack runs (S3 deletes + CloudFront invalidation).
pub const PURGE_PATH: &str = "/_scalefront/api/purge";

/// The purge request: exactly one of `originals`, `prefix`, `old_generations`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PurgeRequest {
    #[serde(default)]
    originals: Vec<String>,
    prefix: Option<String>,
    #[serde(default)]
    old_generations: bool,
    #[serde(default)]
    dry_run: bool,
}

/// `POST` a JSON [`PurgeRequest`]; the answer is the purge's report as JSON.
/// Only from this machine: `--bind 0.0.0.0` shares the edge, not the power to empty its store.
pub async fn purge(
    edge: &Edge,
    req: hyper::Request<hyper::body::Incoming>,
    peer: std::net::SocketAddr,
) -> Reply {
    use http_body_util::BodyExt;
    if !peer.ip().is_loopback() {
        return text(
            StatusCode::FORBIDDEN,
            "403 Forbidden: purge only from this machine (loopback)\n",
        );
    }
    if req.method() != hyper::Method::POST {
        return crate::http::method_not_allowed("POST", "POST a JSON purge request");
    }
    // A web page in the user's browser may POST here too (cross-site request forgery): a JSON
    // content type makes the browser ask first (a preflight this edge never grants), and a
    // request a browser marks as coming from another site is refused outright.
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let json = header("content-type").is_some_and(|t| {
        t.trim()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    let cross_site = header("sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none")
        || header("origin").is_some();
    if !json || cross_site {
        return text(
            StatusCode::FORBIDDEN,
            "403 Forbidden: purge takes Content-Type: application/json from a tool, not from a web page\n",
        );
    }
    let read =
        http_body_util::Limited::new(req.into_body(), edge.limits.max_purge_body_bytes).collect();
    let body = match tokio::time::timeout(edge.limits.read_timeout, read).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) => return text(StatusCode::BAD_REQUEST, &format!("400 Bad Request: {e}\n")),
        Err(_) => {
            return text(
                StatusCode::REQUEST_TIMEOUT,
                &format!(
                    "408 Request Timeout: the body took over {:?}\n",
                    edge.limits.read_timeout
                ),
            )
        }
    };
    let r: PurgeRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return text(StatusCode::BAD_REQUEST, &format!("400 Bad Request: {e}\n")),
    };
    let target = match (r.originals.is_empty(), r.prefix, r.old_generations) {
        (false, None, false) => Target::Originals(r.originals),
        (true, Some(p), false) => Target::Prefix(p),
        (true, None, true) => Target::OldGenerations,
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "400 Bad Request: give exactly one of originals, prefix, old_generations\n",
            )
        }
    };
    match edge.purge(target, r.dry_run).await {
        Ok(report) => {
            if !report.dry_run {
                println!("scalefront serve: purge: {}", report.summary());
            }
            json_reply(
                StatusCode::OK,
                &serde_json::to_value(&report).unwrap_or_default(),
            )
        }
        Err(e) => text(StatusCode::BAD_REQUEST, &format!("400 Bad Request: {e}\n")),
    }
}

/// Photos the page lists at most.
const MAX_LISTED: usize = 200;

pub async fn handle(edge: &Edge, path: &str, query: &str) -> Reply {
    let rest = path
        .trim_start_matches("/_scalefront")
        .trim_start_matches('/');
    match rest {
        "" | "index.html" => asset(INDEX.as_bytes(), "text/html; charset=utf-8"),
        "app.js" => asset(APP_JS.as_bytes(), "text/javascript; charset=utf-8"),
        "style.css" => asset(STYLE.as_bytes(), "text/css; charset=utf-8"),
        "worker.js" => asset(WORKER_JS.as_bytes(), "text/javascript; charset=utf-8"),
        "pkg/image_core.js" if has_wasm() => asset(CORE_JS, "text/javascript; charset=utf-8"),
        "pkg/image_core_bg.wasm" if has_wasm() => asset(CORE_WASM, "application/wasm"),
        "api/site" => site(edge).await,
        "api/stats" => json_reply(
            StatusCode::OK,
            &json!({ "edge": edge.stats(), "cache": edge.cache.stats() }),
        ),
        "api/srcset" => {
            let key = param(query, "key").unwrap_or_default();
            if key.is_empty() {
                return text(
                    StatusCode::BAD_REQUEST,
                    "400 Bad Request: give ?key=photos/a.jpg\n",
                );
            }
            let sizes = param(query, "sizes");
            let mut r = text(
                StatusCode::OK,
                &srcset::snippet(&edge.spec, Some(edge.keys()), &key, sizes.as_deref(), ""),
            );
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        "api/variant" => variant(edge, query),
        _ => text(
            StatusCode::NOT_FOUND,
            "404 Not Found: no such page under /_scalefront/\n",
        ),
    }
}

/// The spec's vocabulary and the folder's photos, with each photo's URLs.
async fn site(edge: &Edge) -> Reply {
    let photos = match edge.origin.list(MAX_LISTED).await {
        Ok(p) => p,
        Err(e) => {
            return text(
                StatusCode::BAD_GATEWAY,
                &format!("502 Bad Gateway: listing the origin: {e}\n"),
            )
        }
    };
    let photos: Vec<_> = photos
        .into_iter()
        .map(|p| {
            json!({
                "key": p.key,
                "bytes": p.bytes,
                "path": srcset::path_of(&p.key),
                "srcset": srcset::snippet(&edge.spec, Some(edge.keys()), &p.key, None, ""),
            })
        })
        .collect();
    json_reply(
        StatusCode::OK,
        &json!({
            "origin": edge.origin.describe(),
            "prefix": edge.spec.prefix(),
            "widths": edge.spec.widths(),
            "heights": edge.spec.heights(),
            "fits": viewer_fn::Fit::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "defaultFit": edge.spec.default_fit().as_str(),
            "formats": edge.spec.formats().iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "qualities": edge.spec.qualities(),
            "defaultQuality": edge.spec.default_quality(),
            "negotiatesFormat": edge.spec.negotiates_format(),
            "wasm": has_wasm(),
            "photos": photos,
        }),
    )
}

/// What the viewer function makes of a URL (`?url=/a.jpg%3Fw%3D600&accept=image/webp`): the
/// rewritten URI and the variant it names, so the page resizes with exactly the edge's settings.
fn variant(edge: &Edge, query: &str) -> Reply {
    let url = param(query, "url").unwrap_or_default();
    let accept =
        param(query, "accept").unwrap_or_else(|| "image/avif,image/webp,image/*,*/*;q=0.8".into());
    // A signed spec's URL is signed here, on the server: the page never holds a key.
    let url = srcset::signed(&edge.spec, Some(edge.keys()), url);
    let (path, q) = url.split_once('?').unwrap_or((&url, ""));
    if !path.starts_with('/') {
        return text(
            StatusCode::BAD_REQUEST,
            "400 Bad Request: give ?url=/photo.jpg%3Fw%3D600\n",
        );
    }
    let req = ViewerRequest {
        method: "GET",
        uri: path,
        query: q,
        headers: vec![("accept".into(), accept)],
        client_ip: "127.0.0.1".into(),
    };
    match edge.viewer().run(&req) {
        Ok(ViewerOutcome::Forward { uri, .. }) => {
            let variant = viewer_fn::Variant::parse(&edge.spec, &uri).ok().map(|v| {
                json!({
                    "width": v.width, "height": v.height, "fit": v.fit.as_str(), "quality": v.quality,
                    "format": v.format.as_str(), "sourceKey": v.source_key, "key": v.key(&edge.spec),
                })
            });
            json_reply(
                StatusCode::OK,
                &json!({ "uri": uri, "variant": variant, "url": url }),
            )
        }
        Ok(ViewerOutcome::Respond { status, body, .. }) => json_reply(
            StatusCode::OK,
            &json!({ "response": { "status": status, "body": body } }),
        ),
        Err(e) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("503 Service Unavailable: {e}\n"),
        ),
    }
}

/// One query parameter, %-decoded (`+` as space).
pub fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            let v = v.replace('+', " ");
            percent_encoding::percent_decode_str(&v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn asset(body: &'static [u8], content_type: &'static str) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from_static(body)));
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    h.insert("cache-control", HeaderValue::from_static("no-cache"));
    h.insert("content-length", HeaderValue::from(body.len()));
    r
}

fn json_reply(status: StatusCode, v: &serde_json::Value) -> Reply {
    let body = v.to_string();
    let mut r = Response::new(Full::new(Bytes::from(body.clone())));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    h.insert("content-length", HeaderValue::from(body.len()));
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn params_decode() {
        assert_eq!(
            super::param("key=a%20b.jpg&sizes=50vw", "key").as_deref(),
            Some("a b.jpg")
        );
        assert_eq!(
            super::param("url=%2Fa.jpg%3Fw%3D600", "url").as_deref(),
            Some("/a.jpg?w=600")
        );
        assert_eq!(super::param("x=1", "key"), None);
    }
}
