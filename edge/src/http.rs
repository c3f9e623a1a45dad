//! HTTP/1.1 on top of the edge: methods, conditional requests, ranges, HEAD, response headers.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::cache::CacheStatus;
use crate::edge::{Edge, Served};
use crate::limits::WriteTimeout;
use crate::object::Object;
use crate::preview;
use crate::viewer::ViewerRequest;

pub type Reply = Response<Full<Bytes>>;

/// Serves until `shutdown` resolves, then lets requests in flight finish (up to 10 s).
/// Connections, header size and timeouts are held to `edge.limits` ([`crate::limits`]).
pub async fn serve(
    listener: TcpListener,
    edge: Arc<Edge>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let limits = edge.limits.clone();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The read buffer bounds the request head: a head that does not fit is answered 431.
    // (Bodies stream past it; responses are written from their own buffers.)
    http.max_buf_size(limits.max_header_bytes.max(8192))
        .header_read_timeout(Some(limits.read_timeout));
    http.timer(hyper_util::rt::TokioTimer::new());
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        // At the cap, stop accepting: the kernel's backlog holds the next until one closes.
        let permit = tokio::select! {
            p = open.clone().acquire_owned() => p.expect("never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    eprintln!("scalefront serve: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let counted = edge.connections.enter();
        let edge = edge.clone();
        let service = service_fn(move |req| {
            let edge = edge.clone();
            async move { Ok::<_, Infallible>(handle(&edge, req, peer).await) }
        });
        let io = TokioIo::new(WriteTimeout::new(stream, limits.write_timeout));
        let conn = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(counted);
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => eprintln!("scalefront serve: gave up waiting for open connections"),
    }
    Ok(())
}

pub async fn handle(edge: &Edge, req: Request<Incoming>, peer: SocketAddr) -> Reply {
    if let Some(refused) = refuse_host(edge, req.headers()) {
        return refused;
    }
    let method = req.method().clone();
    if req.uri().path() == preview::PURGE_PATH {
        return preview::purge(edge, req, peer).await;
    }
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD", "the edge serves GET and HEAD only");
    }
    let head = method == Method::HEAD;
    let path = req.uri().path().to_string();
    if path.len() + req.uri().query().map_or(0, str::len) > edge.limits.max_uri_bytes {
        return text(StatusCode::URI_TOO_LONG, "414 URI Too Long\n");
    }
    let reply = if path == "/" {
        redirect("/_scalefront/")
    } else if path == "/_scalefront" || path.starts_with("/_scalefront/") {
        preview::handle(edge, &path, req.uri().query().unwrap_or("")).await
    } else {
        let headers = req
            .headers()
            .iter()
            .filter_map(|(n, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (n.as_str().to_string(), v.to_string()))
            })
            .collect();
        let vreq = ViewerRequest {
            method: method.as_str(),
            uri: &path,
            query: req.uri().query().unwrap_or(""),
            headers,
            client_ip: peer.ip().to_string(),
        };
        let served = edge.handle(&vreq).await;
        respond(served, req.headers(), edge.spec.negotiates_format())
    };
    if head {
        let (parts, _) = reply.into_parts();
        return Response::from_parts(parts, Full::new(Bytes::new()));
    }
    reply
}

/// An edge answer as HTTP: validators, conditional GET, ranges, timing and cache headers.
/// `vary_accept`: the behaviour's response headers policy adds `Vary: Accept` to every response
/// CloudFront serves for it, from its cache or not (both templates; "Add or remove HTTP headers
/// in CloudFront responses with a policy"), because a stored S3 object cannot carry it.
fn respond(served: Served, req_headers: &hyper::HeaderMap, vary_accept: bool) -> Reply {
    let Served {
        object,
        cache,
        uri,
        timing,
    } = served;
    let o: &Object = &object;
    let mut status = o.status;
    let mut body = o.body.clone();
    let mut extra: Vec<(&'static str, String)> = Vec::new();
    let etag = o.header("etag");

    if status == 200 {
        extra.push(("accept-ranges", "bytes".into()));
        if let (Some(tag), Some(inm)) = (
            etag,
            req_headers
                .get(hyper::header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok()),
        ) {
            if etag_matches(inm, tag) {
                status = 304;
                body = Bytes::new();
            }
        }
        let if_range_ok = match req_headers
            .get(hyper::header::IF_RANGE)
            .and_then(|v| v.to_str().ok())
        {
            None => true,
            Some(v) => etag.is_some_and(|t| t == v.trim()),
        };
        if status == 200 && if_range_ok {
            if let Some(range) = req_headers
                .get(hyper::header::RANGE)
                .and_then(|v| v.to_str().ok())
            {
                match parse_range(range, body.len() as u64) {
                    RangeReq::Ignore => {}
                    RangeReq::Satisfiable(start, end) => {
                        status = 206;
                        extra.push((
                            "content-range",
                            format!("bytes {start}-{end}/{}", body.len()),
                        ));
                        body = body.slice(start as usize..=end as usize);
                    }
                    RangeReq::Unsatisfiable => {
                        status = 416;
                        extra.push(("content-range", format!("bytes */{}", body.len())));
                        body = Bytes::new();
                    }
                }
            }
        }
    }

    let mut r = Response::new(Full::new(body.clone()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    for (name, value) in &o.headers {
        // A 304 carries the validators and caching headers only.
        if status == 304
            && !matches!(
                name.as_str(),
                "etag"
                    | "cache-control"
                    | "vary"
                    | "last-modified"
                    | "expires"
                    | "content-location"
            )
        {
            continue;
        }
        if status == 416 && name == "content-type" {
            continue;
        }
        if name == "content-length" || name == "transfer-encoding" || name == "connection" {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.append(n, v);
        }
    }
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    let x_cache = match cache {
        Some(c) => c.x_cache(o.status),
        None => crate::cloudfront::FUNCTION_GENERATED,
    };
    h.insert("x-cache", HeaderValue::from_static(x_cache));
    if cache.is_some() {
        if vary_accept {
            h.insert(hyper::header::VARY, HeaderValue::from_static("Accept"));
        }
        if let Ok(v) = HeaderValue::from_str(&uri) {
            h.insert("x-scalefront-uri", v);
        }
    }
    // What the origin side did on this miss (Lambda@Edge's log line has the same word).
    if let Some(CacheStatus::Flow(outcome)) = cache {
        h.insert("x-scalefront-origin", HeaderValue::from_static(outcome));
    }
    if let Ok(v) = HeaderValue::from_str(&server_timing(&timing, x_cache)) {
        h.insert("server-timing", v);
    }
    if status != 304 {
        h.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    r
}

/// `viewer;dur=0.041, edge;dur=312.5;desc="Generated", read;dur=1.2, transform;dur=290.1, …`
fn server_timing(timing: &[(&str, Duration)], cache: &str) -> String {
    let mut parts = Vec::new();
    for (i, (name, d)) in timing.iter().enumerate() {
        let ms = d.as_secs_f64() * 1000.0;
        let desc = if *name == "edge" {
            format!(";desc=\"{cache}\"")
        } else {
            String::new()
        };
        let name = if i > 0 && timing[..i].iter().any(|(n, _)| n == name) {
            format!("{name}{i}")
        } else {
            name.to_string()
        };
        parts.push(format!("{name};dur={ms:.3}{desc}"));
    }
    parts.join(", ")
}

/// Weak comparison (RFC 9110 §13.1.2): `W/` prefixes are ignored; `*` matches anything.
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let tag = strip(etag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || strip(t) == tag)
}

#[derive(Debug, PartialEq, Eq)]
pub enum RangeReq {
    /// No usable single byte range: answer the whole body (RFC 9110 allows ignoring Range).
    Ignore,
    /// Inclusive byte offsets.
    Satisfiable(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range against a body of `len` bytes. Multiple ranges are served whole.
pub fn parse_range(header: &str, len: u64) -> RangeReq {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeReq::Ignore;
    };
    if spec.contains(',') {
        return RangeReq::Ignore;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeReq::Ignore;
    };
    let (a, b) = (a.trim(), b.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        (true, true) => RangeReq::Ignore,
        (true, false) => match parse(b) {
            None => RangeReq::Ignore,
            Some(0) => RangeReq::Unsatisfiable,
            Some(_) if len == 0 => RangeReq::Unsatisfiable,
            Some(n) => RangeReq::Satisfiable(len.saturating_sub(n), len - 1),
        },
        (false, _) => {
            let Some(start) = parse(a) else {
                return RangeReq::Ignore;
            };
            let end = if b.is_empty() {
                Some(len.saturating_sub(1))
            } else {
                match parse(b) {
                    Some(e) if e >= start => Some(e.min(len.saturating_sub(1))),
                    _ => return RangeReq::Ignore,
                }
            };
            match end {
                Some(end) if start < len => RangeReq::Satisfiable(start, end),
                _ => RangeReq::Unsatisfiable,
            }
        }
    }
}

/// DNS rebinding guard: a web page can point a name of its own at 127.0.0.1 and then read the
/// served folder through the visitor's browser, which sends that name as `Host`. Served: an IP
/// address, `localhost` (and `*.localhost`, which resolve to loopback only), the `--allow-host`
/// names. A request without `Host` (HTTP/1.0 tools) passes: browsers always send one.
fn refuse_host(edge: &Edge, headers: &hyper::HeaderMap) -> Option<Reply> {
    let host = headers.get(hyper::header::HOST)?;
    let host = host.to_str().unwrap_or("").to_ascii_lowercase();
    // `name:port`, `[v6]:port`, `v4`, `name`
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host.as_str(), |(n, _)| n),
    };
    let allowed = name.parse::<std::net::IpAddr>().is_ok()
        || name == "localhost"
        || name.ends_with(".localhost")
        || edge
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name));
    if allowed {
        return None;
    }
    Some(text(
        StatusCode::FORBIDDEN,
        &format!(
            "403 Forbidden: Host {name:?} is not this edge's (a guard against DNS rebinding); serve it with --allow-host {name}\n"
        ),
    ))
}

/// 405 with the `Allow` header naming what is.
pub fn method_not_allowed(allow: &'static str, why: &str) -> Reply {
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("405 Method Not Allowed: {why}\n"),
    );
    r.headers_mut()
        .insert(hyper::header::ALLOW, HeaderValue::from_static(allow));
    r
}

pub fn text(status: StatusCode, body: &str) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    r.headers_mut()
        .insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    r
}

pub fn redirect(location: &'static str) -> Reply {
    let mut r = text(StatusCode::FOUND, "");
    r.headers_mut()
        .insert(hyper::header::LOCATION, HeaderValue::from_static(location));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeReq::*;
        assert_eq!(parse_range("bytes=0-99", 1000), Satisfiable(0, 99));
        assert_eq!(parse_range("bytes=900-", 1000), Satisfiable(900, 999));
        assert_eq!(parse_range("bytes=-100", 1000), Satisfiable(900, 999));
        assert_eq!(parse_range("bytes=-5000", 1000), Satisfiable(0, 999));
        assert_eq!(parse_range("bytes=990-5000", 1000), Satisfiable(990, 999));
        assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 1000), Ignore);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ignore);
        assert_eq!(parse_range("items=0-1", 1000), Ignore);
        assert_eq!(parse_range("bytes=x-1", 1000), Ignore);
        assert_eq!(parse_range("bytes=-", 1000), Ignore);
    }

    #[test]
    fn etags() {
        assert!(etag_matches("\"a\"", "\"a\""));
        assert!(etag_matches("W/\"a\", \"b\"", "\"a\""));
        assert!(etag_matches("*", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }

    #[test]
    fn timing_header() {
        let t = vec![
            ("viewer", Duration::from_micros(41)),
            ("edge", Duration::from_millis(2)),
        ];
        assert_eq!(
            server_timing(&t, "Hit from cloudfront"),
            "viewer;dur=0.041, edge;dur=2.000;desc=\"Hit from cloudfront\""
        );
    }
}
