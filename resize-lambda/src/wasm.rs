//! The wasm-bindgen API the Lambda@Edge Node.js shim (`node/index.mjs`) drives — only for a 403/404
//! on a variant key; the shim decides everything else from `config.json`'s baked `shim` facts
//! without instantiating this module:
//!
//! ```text
//! const handler = new Handler(configJson);          // once per container, on the first variant miss
//! const inv = handler.start(JSON.stringify(event));  // once per invocation
//! for (;;) {
//!   const step = JSON.parse(inv.step());             // {kind: "read" | "write" | "done", …}
//!   read  → GetObject(step.key, Range from step.start/step.len, IfMatch step.ifMatch)
//!             (HeadObject when step.len === 0)
//!           → inv.found(bytes, metaJson) | inv.missing(status, why) | inv.tooLarge(metaJson) | inv.failed(why)
//!   write → PutObject(step.key, inv.writeBody(), step.contentType, step.cacheControl, step.metadata,
//!                     ...step.encryption)   (SDK input members: ServerSideEncryption, SSEKMSKeyId, BucketKeyEnabled)
//!           → inv.written(etag) | inv.writeFailed(why)
//!   done  → console.log(step.log); return step.result;
//! }
//! ```
//! `metaJson` = `{"size", "etag", "contentType", "cacheControl", "lastModified"}` (the object's
//! whole size; Unix ms). Strings cross the boundary as JSON, bytes as `Uint8Array`; image-core's
//! own `resize()` export comes along in the same module.

use crate::event::{self, OriginResponseEvent};
use crate::flow::{Clock, Flow, Input, Step};
use crate::storage::{Meta, ReadResult};
use crate::{edge, PackageConfig, Settings, EDGE_MAX_RESPONSE_BYTES};
use serde_json::json;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// A panic aborts the wasm instance with a bare `unreachable`: print its message first (I6), so
/// the log says why; the shim then answers 500 and loads a fresh instance.
fn log_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            console_error(&format!("scalefront: wasm panic: {info}"));
        }))
    });
}

const CLOCK: Clock = Clock {
    monotonic_ms: performance_now,
    unix_ms: date_now,
};

/// The shim's `metaJson`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsMeta {
    size: f64,
    etag: Option<String>,
    content_type: Option<String>,
    cache_control: Option<String>,
    last_modified: Option<f64>,
}

fn meta(json: &str) -> Result<Meta, JsError> {
    let m: JsMeta = serde_json::from_str(json)
        .map_err(|e| JsError::new(&format!("object metadata from the shim: {e}")))?;
    Ok(Meta {
        size: m.size as u64,
        etag: m.etag,
        content_type: m.content_type,
        cache_control: m.cache_control,
        last_modified_ms: m.last_modified,
        // The flow answers a stored variant with the headers it derives itself.
        metadata: Vec::new(),
    })
}

/// The flow's settings, built once from the package's baked `config.json`.
#[wasm_bindgen]
pub struct Handler {
    settings: Settings,
}

#[wasm_bindgen]
impl Handler {
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &str) -> Result<Handler, JsError> {
        log_panics();
        let config = PackageConfig::from_json(config_json).map_err(|e| JsError::new(&e))?;
        let settings = config
            .settings(EDGE_MAX_RESPONSE_BYTES)
            .map_err(|e| JsError::new(&e))?;
        Ok(Handler { settings })
    }

    /// Starts one invocation; throws only on an event that is not an origin-response event.
    pub fn start(&self, event_json: &str) -> Result<Invocation, JsError> {
        let event: OriginResponseEvent = serde_json::from_str(event_json)
            .map_err(|e| JsError::new(&format!("not a Lambda@Edge event: {e}")))?;
        let (flow, step) =
            edge::start(&self.settings, &event, CLOCK).map_err(|e| JsError::new(&e))?;
        let origin = event.records.into_iter().next().map(|r| r.cf.response);
        Ok(Invocation {
            flow,
            step,
            origin: origin.expect("edge::start checked Records[0]"),
        })
    }
}

/// One request's flow: the current step, and methods that feed each step's outcome back.
#[wasm_bindgen]
pub struct Invocation {
    flow: Flow,
    step: Step,
    origin: event::Response,
}

#[wasm_bindgen]
impl Invocation {
    /// The current step as JSON (without the write body: see [`Invocation::write_body`]).
    pub fn step(&self) -> String {
        match &self.step {
            Step::Read(r) => json!({
                "kind": "read", "key": r.key, "start": r.start, "len": r.len,
                "range": r.range_header(), "maxBytes": r.max_bytes, "ifMatch": r.if_match,
            }),
            Step::Write(w) => json!({
                "kind": "write",
                "key": w.key,
                "contentType": w.content_type,
                "cacheControl": w.cache_control,
                "metadata": w.metadata.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                // PutObjectCommand input members, so the SDK makes and signs the headers.
                "encryption": w.encryption.as_ref().map(|e| e.sdk_input()),
            }),
            Step::Done(d) => json!({
                "kind": "done",
                "result": edge::result(&self.origin, &d.answer),
                "log": d.log.to_json_line(),
            }),
        }
        .to_string()
    }

    /// The variant's bytes to PUT (empty unless the step is a write).
    #[wasm_bindgen(js_name = writeBody)]
    pub fn write_body(&self) -> Vec<u8> {
        match &self.step {
            Step::Write(w) => w.body.clone(),
            _ => Vec::new(),
        }
    }

    pub fn found(&mut self, body: Vec<u8>, meta_json: &str) -> Result<(), JsError> {
        let meta = meta(meta_json)?;
        self.feed(Input::Read(ReadResult::Found { meta, body }));
        Ok(())
    }

    pub fn missing(&mut self, status: u16, detail: String) {
        self.feed(Input::Read(ReadResult::Missing { status, detail }));
    }

    #[wasm_bindgen(js_name = tooLarge)]
    pub fn too_large(&mut self, meta_json: &str) -> Result<(), JsError> {
        let meta = meta(meta_json)?;
        self.feed(Input::Read(ReadResult::TooLarge { meta }));
        Ok(())
    }

    pub fn failed(&mut self, cause: String) {
        self.feed(Input::Read(ReadResult::Failed { cause }));
    }

    /// `etag`: the PutObject answer's ETag.
    pub fn written(&mut self, etag: Option<String>) {
        self.feed(Input::Written(Ok(etag)));
    }

    #[wasm_bindgen(js_name = writeFailed)]
    pub fn write_failed(&mut self, cause: String) {
        self.feed(Input::Written(Err(cause)));
    }

    fn feed(&mut self, input: Input) {
        self.step = self.flow.resume(input);
    }
}
