//! The viewer-request step: the *generated* CloudFront Function, run in embedded QuickJS.
//!
//! Running the generated JavaScript (not the native Rust rewrite) is the point: the local edge
//! exercises the exact code CloudFront will run. CloudFront's own limits are applied too — 2 MB of
//! memory and a compute budget — so a function that would fail there fails here.
//!
//! QuickJS runtimes are single-threaded, so each worker thread keeps its own engine, created on
//! first use from the same source.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rquickjs::{Context, Function, Persistent, Runtime};
use serde_json::{json, Map, Value};
use viewer_fn::sign::Keys;

/// CloudFront Functions get 2 MB; QuickJS's own bookkeeping needs some on top of that.
const MEMORY_LIMIT: usize = 4 << 20;
/// CloudFront's budget is well under a millisecond of compute; QuickJS is slower than CloudFront's
/// engine, so this only stops runaway loops — the viewer-fn tests hold the real budget.
const TIME_LIMIT: Duration = Duration::from_millis(50);

/// Glue evaluated after the generated source: JSON in, JSON out, so the Rust side never holds JS
/// values across calls. A handler may be `async` (cloudfront-js-2.0 allows it).
const GLUE: &str = r#"
var __sf_out, __sf_err;
function __sf_run(s) {
  __sf_out = undefined; __sf_err = undefined;
  var r = handler(JSON.parse(s));
  if (r && typeof r.then === 'function') {
    r.then(function (v) { __sf_out = JSON.stringify(v); }, function (e) { __sf_err = String(e && e.stack || e); });
    return null;
  }
  return JSON.stringify(r);
}
function __sf_settled() { if (__sf_err !== undefined) throw new Error(__sf_err); return __sf_out === undefined ? null : __sf_out; }
"#;

/// The request as the viewer sent it, before the function runs.
#[derive(Debug, Clone)]
pub struct ViewerRequest<'a> {
    pub method: &'a str,
    /// Path as received (still %-encoded), without the query string.
    pub uri: &'a str,
    /// Raw query string (after `?`), possibly empty.
    pub query: &'a str,
    /// Header names in any case; CloudFront lower-cases them.
    pub headers: Vec<(String, String)>,
    pub client_ip: String,
}

/// What the function decided.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewerOutcome {
    /// Forward to the cache with this URI (the cache key) and query string (empty after a rewrite).
    Forward { uri: String, query: String },
    /// Answer the viewer directly (e.g. 400 for a hostile query, a redirect).
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
}

#[derive(Debug)]
pub struct ViewerError(pub String);
impl std::fmt::Display for ViewerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "viewer function failed: {}", self.0)
    }
}
impl std::error::Error for ViewerError {}

/// The generated function; cheap to clone and share across threads. A signed function (an ES
/// module) runs as a script (`viewer_fn::as_script`) with CloudFront's `crypto` and `cloudfront`
/// modules shimmed (`viewer_fn::LOCAL_MODULES`): HMAC natively, the KeyValueStore from `keys`.
#[derive(Clone, Debug)]
pub struct ViewerFn {
    id: u64,
    source: Arc<str>,
    keys: Arc<Keys>,
}

// Field order is drop order: the saved functions must go before the context and runtime.
struct Engine {
    run: Persistent<Function<'static>>,
    settled: Persistent<Function<'static>>,
    ctx: Context,
    _rt: Runtime,
    id: u64,
    deadline: Rc<Cell<Option<Instant>>>,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl ViewerFn {
    /// Compiles the source once here so a broken function is reported at start-up, not per request.
    pub fn new(source: String) -> Result<ViewerFn, ViewerError> {
        ViewerFn::with_keys(source, Keys::new())
    }

    /// The function with a local KeyValueStore holding these signing keys.
    pub fn with_keys(source: String, keys: Keys) -> Result<ViewerFn, ViewerError> {
        let f = ViewerFn {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            source: source.into(),
            keys: Arc::new(keys),
        };
        Engine::new(f.id, &f.source, &f.keys)?;
        Ok(f)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Runs the function on one request.
    pub fn run(&self, req: &ViewerRequest<'_>) -> Result<ViewerOutcome, ViewerError> {
        let event = event_json(req).to_string();
        let out = ENGINE.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().map(|e| e.id) != Some(self.id) {
                *slot = Some(Engine::new(self.id, &self.source, &self.keys)?);
            }
            slot.as_ref().expect("engine just set").call(&event)
        })?;
        parse_result(req, &out)
    }
}

impl Engine {
    fn new(id: u64, source: &str, keys: &Keys) -> Result<Engine, ViewerError> {
        let rt = Runtime::new().map_err(js_err)?;
        rt.set_memory_limit(MEMORY_LIMIT);
        rt.set_max_stack_size(256 << 10);
        let deadline: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let d = deadline.clone();
        rt.set_interrupt_handler(Some(Box::new(move || {
            d.get().is_some_and(|t| Instant::now() > t)
        })));
        let ctx = Context::full(&rt).map_err(js_err)?;
        let store: std::collections::BTreeMap<String, String> = viewer_fn::sign::SLOTS
            .iter()
            .filter_map(|&s| Some((viewer_fn::sign::kvs_key(s), keys.get(s)?.to_string())))
            .collect();
        let (run, settled) = ctx.with(|ctx| -> Result<_, ViewerError> {
            let g = ctx.globals();
            let hmac = Function::new(ctx.clone(), |k: String, m: String| {
                viewer_fn::sign::hmac_hex(&k, &m)
            })
            .map_err(js_err)?;
            g.set("__sf_hmac", hmac).map_err(js_err)?;
            let get = Function::new(ctx.clone(), move |k: String| store.get(&k).cloned())
                .map_err(js_err)?;
            g.set("__sf_kvs_get", get).map_err(js_err)?;
            ctx.eval::<(), _>(viewer_fn::LOCAL_MODULES)
                .map_err(|e| caught(&ctx, e, "loading the local modules"))?;
            ctx.eval::<(), _>(viewer_fn::as_script(source))
                .map_err(|e| caught(&ctx, e, "loading the function"))?;
            ctx.eval::<(), _>(GLUE)
                .map_err(|e| caught(&ctx, e, "loading the glue"))?;
            let handler: rquickjs::Value = g.get("handler").map_err(js_err)?;
            if !handler.is_function() {
                return Err(ViewerError(
                    "the source defines no `handler` function".into(),
                ));
            }
            let run: Function = g.get("__sf_run").map_err(js_err)?;
            let settled: Function = g.get("__sf_settled").map_err(js_err)?;
            Ok((Persistent::save(&ctx, run), Persistent::save(&ctx, settled)))
        })?;
        Ok(Engine {
            run,
            settled,
            ctx,
            _rt: rt,
            id,
            deadline,
        })
    }

    fn call(&self, event: &str) -> Result<String, ViewerError> {
        self.deadline.set(Some(Instant::now() + TIME_LIMIT));
        let out = self.ctx.with(|ctx| -> Result<String, ViewerError> {
            let run = self.run.clone().restore(&ctx).map_err(js_err)?;
            let direct: Option<String> =
                run.call((event,)).map_err(|e| caught(&ctx, e, "handler"))?;
            if let Some(s) = direct {
                return Ok(s);
            }
            // An async handler: drain the job queue, then read what the promise settled to.
            while ctx.execute_pending_job() {}
            let settled = self.settled.clone().restore(&ctx).map_err(js_err)?;
            let s: Option<String> = settled.call(()).map_err(|e| caught(&ctx, e, "handler"))?;
            s.ok_or_else(|| ViewerError("the handler's promise never settled".into()))
        });
        self.deadline.set(None);
        out
    }
}

fn js_err(e: rquickjs::Error) -> ViewerError {
    ViewerError(e.to_string())
}

fn caught(ctx: &rquickjs::Ctx<'_>, e: rquickjs::Error, what: &str) -> ViewerError {
    if matches!(e, rquickjs::Error::Exception) {
        let v = ctx.catch();
        let msg = v
            .as_exception()
            .map(|x| {
                format!(
                    "{}{}",
                    x.message().unwrap_or_default(),
                    x.stack().map(|s| format!("\n{s}")).unwrap_or_default()
                )
            })
            .or_else(|| v.as_string().and_then(|s| s.to_string().ok()))
            .unwrap_or_else(|| format!("{v:?}"));
        ViewerError(format!("{what}: {msg}"))
    } else {
        ViewerError(format!("{what}: {e}"))
    }
}

/// The CloudFront Functions viewer-request event (version 1.0), as CloudFront builds it: header
/// names lower-cased, repeated names as `multiValue`, query values as received (not decoded).
pub fn event_json(req: &ViewerRequest<'_>) -> Value {
    let mut headers = Map::new();
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            continue;
        }
        push_multi(&mut headers, name, value.clone());
    }
    let mut querystring = Map::new();
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        push_multi(&mut querystring, k.to_string(), v.to_string());
    }
    json!({
        "version": "1.0",
        "context": { "eventType": "viewer-request", "distributionDomainName": "localhost", "distributionId": "LOCALEDGE", "requestId": "local" },
        "viewer": { "ip": req.client_ip },
        "request": { "method": req.method, "uri": req.uri, "querystring": querystring, "headers": headers, "cookies": {} }
    })
}

fn push_multi(map: &mut Map<String, Value>, name: String, value: String) {
    match map.get_mut(&name) {
        None => {
            map.insert(name, json!({ "value": value }));
        }
        Some(entry) => {
            let obj = entry.as_object_mut().expect("built as object");
            let first = obj["value"].clone();
            let multi = obj
                .entry("multiValue")
                .or_insert_with(|| json!([{ "value": first }]));
            multi
                .as_array_mut()
                .expect("built as array")
                .push(json!({ "value": value }));
        }
    }
}

/// Turns the handler's return value (request or response object) into an outcome.
fn parse_result(req: &ViewerRequest<'_>, out: &str) -> Result<ViewerOutcome, ViewerError> {
    let v: Value = serde_json::from_str(out)
        .map_err(|e| ViewerError(format!("handler returned non-JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| ViewerError(format!("handler returned {v}, not an object")))?;
    if let Some(status) = obj.get("statusCode") {
        let status = status
            .as_u64()
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| {
                ViewerError(format!(
                    "response statusCode {status} is not an HTTP status"
                ))
            })?;
        let mut headers = Vec::new();
        if let Some(h) = obj.get("headers").and_then(Value::as_object) {
            for (name, val) in h {
                for value in header_values(val) {
                    headers.push((name.clone(), value));
                }
            }
        }
        let body = match obj.get("body") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(b)) => b
                .get("data")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        };
        return Ok(ViewerOutcome::Respond {
            status: status as u16,
            headers,
            body,
        });
    }
    let uri = obj.get("uri").and_then(Value::as_str).ok_or_else(|| {
        ViewerError("handler returned neither a request (uri) nor a response (statusCode)".into())
    })?;
    if !uri.starts_with('/') {
        return Err(ViewerError(format!(
            "rewritten uri {uri:?} does not start with '/'"
        )));
    }
    let query = match obj.get("querystring") {
        Some(Value::Object(q)) => {
            let mut parts = Vec::new();
            for (k, val) in q {
                for value in header_values(val) {
                    parts.push(if value.is_empty() {
                        k.clone()
                    } else {
                        format!("{k}={value}")
                    });
                }
            }
            parts.join("&")
        }
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let _ = req;
    Ok(ViewerOutcome::Forward {
        uri: uri.to_string(),
        query,
    })
}

/// `{value}` or `{value, multiValue: [{value}…]}` → the values.
fn header_values(v: &Value) -> Vec<String> {
    if let Some(multi) = v.get("multiValue").and_then(Value::as_array) {
        return multi
            .iter()
            .filter_map(|m| m.get("value").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
    }
    v.get("value")
        .and_then(Value::as_str)
        .map(|s| vec![s.to_string()])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(uri: &'a str, query: &'a str) -> ViewerRequest<'a> {
        ViewerRequest {
            method: "GET",
            uri,
            query,
            headers: vec![
                ("Accept".into(), "image/webp".into()),
                ("X-A".into(), "1".into()),
                ("x-a".into(), "2".into()),
            ],
            client_ip: "127.0.0.1".into(),
        }
    }

    #[test]
    fn event_has_cloudfront_shape() {
        let e = event_json(&req("/a%20b.jpg", "w=600&x&w=700"));
        assert_eq!(e["request"]["uri"], "/a%20b.jpg");
        assert_eq!(e["request"]["headers"]["accept"]["value"], "image/webp");
        assert_eq!(
            e["request"]["headers"]["x-a"]["multiValue"][1]["value"],
            "2"
        );
        assert_eq!(
            e["request"]["querystring"]["w"]["multiValue"][1]["value"],
            "700"
        );
        assert_eq!(e["request"]["querystring"]["x"]["value"], "");
        assert_eq!(e["context"]["eventType"], "viewer-request");
    }

    #[test]
    fn the_signed_function_runs_as_a_module_against_the_local_store() {
        let spec = viewer_fn::Spec::from_toml("signed = true\n").unwrap();
        let mut keys = Keys::new();
        keys.set('a', "0123456789abcdef0123").unwrap();
        let f = ViewerFn::with_keys(viewer_fn::generate(&spec), keys.clone()).unwrap();
        let signed = viewer_fn::sign::sign_url(&spec, &keys, 'a', "/a.jpg?w=600").unwrap();
        let (path, query) = signed.split_once('?').unwrap();
        match f.run(&req(path, query)).unwrap() {
            ViewerOutcome::Forward { uri, .. } => {
                assert!(uri.contains("/w640-h0-cover-q75."), "{uri}")
            }
            other => panic!("{other:?}"),
        }
        for (path, query) in [
            ("/a.jpg", "w=600"),
            (path, &query.replace("s=a", "s=b")[..]),
        ] {
            match f.run(&req(path, query)).unwrap() {
                ViewerOutcome::Respond { status, .. } => assert_eq!(status, 403, "{path}?{query}"),
                other => panic!("{other:?}"),
            }
        }
        // Without keys (an empty store), nothing signed passes.
        let empty = ViewerFn::new(viewer_fn::generate(&spec)).unwrap();
        assert!(matches!(
            empty.run(&req(path, query)).unwrap(),
            ViewerOutcome::Respond { status: 403, .. }
        ));
    }

    #[test]
    fn rewrite_and_response_and_async() {
        let f = ViewerFn::new(
            "function handler(event) { var r = event.request;
               if (r.querystring.bad) return { statusCode: 400, statusDescription: 'Bad', headers: { 'x-why': { value: 'bad' } } };
               r.uri = '/_sf/w' + r.querystring.w.value + r.uri; r.querystring = {}; return r; }"
                .into(),
        )
        .unwrap();
        assert_eq!(
            f.run(&req("/a.jpg", "w=600")).unwrap(),
            ViewerOutcome::Forward {
                uri: "/_sf/w600/a.jpg".into(),
                query: String::new()
            }
        );
        match f.run(&req("/a.jpg", "bad=1")).unwrap() {
            ViewerOutcome::Respond {
                status, headers, ..
            } => {
                assert_eq!(status, 400);
                assert_eq!(headers, vec![("x-why".to_string(), "bad".to_string())]);
            }
            other => panic!("{other:?}"),
        }
        let a = ViewerFn::new(
            "async function handler(event) { event.request.uri = '/x'; return event.request; }"
                .into(),
        )
        .unwrap();
        assert!(
            matches!(a.run(&req("/a.jpg", "")).unwrap(), ViewerOutcome::Forward { uri, .. } if uri == "/x")
        );
    }

    #[test]
    fn errors_surface() {
        assert!(ViewerFn::new("function nothandler() {}".into())
            .unwrap_err()
            .0
            .contains("handler"));
        assert!(ViewerFn::new("function handler( {".into()).is_err());
        let thrower =
            ViewerFn::new("function handler(e) { return undefinedName; }".into()).unwrap();
        let err = thrower.run(&req("/a.jpg", "")).unwrap_err();
        assert!(err.0.contains("undefinedName"), "{err}");
        let spin = ViewerFn::new("function handler(e) { for (;;) {} }".into()).unwrap();
        let t = Instant::now();
        assert!(spin.run(&req("/a.jpg", "")).is_err());
        assert!(t.elapsed() < Duration::from_secs(2));
        let hog = ViewerFn::new(
            "function handler(e) { var a = []; for (;;) a.push('x'.repeat(1000)); }".into(),
        )
        .unwrap();
        assert!(hog.run(&req("/a.jpg", "")).is_err());
        // The engine survives a failed call.
        assert!(spin.run(&req("/a.jpg", "")).is_err());
    }
}
