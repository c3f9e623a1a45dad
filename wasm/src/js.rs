//! The JavaScript API (wasm-bindgen; the same for the `nodejs` and `web` builds):
//!
//! ```js
//! resize(input: Uint8Array, options: {w?, h?, fit?, q?, f?})
//!   → {data: Uint8Array, contentType: string, width: number, height: number}
//! probe(input: Uint8Array) → {format, width, height, orientation}
//! ```
//! Option names are the URL API's. Errors are thrown as `Error` whose message starts with the kind
//! (`"corrupt: the JPEG is truncated"`) and which carries `kind` and `status` (HTTP) properties.
use crate::{Error, Fit, Format, Limits, Transform};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

fn set(o: &Object, k: &str, v: impl Into<JsValue>) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(o, &JsValue::from_str(k), &v.into());
}

fn throw(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    set(&err, "kind", e.kind.as_str());
    set(&err, "status", e.status());
    err.into()
}

fn bad_option(what: String) -> JsValue {
    throw(Error::unsupported(what))
}

fn get(options: &JsValue, key: &str) -> Result<Option<JsValue>, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let v = Reflect::get(options, &JsValue::from_str(key))?;
    Ok((!v.is_undefined() && !v.is_null()).then_some(v))
}

fn int(options: &JsValue, key: &str, max: u32) -> Result<Option<u32>, JsValue> {
    let Some(v) = get(options, key)? else {
        return Ok(None);
    };
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && (1.0..=f64::from(max)).contains(&n) => Ok(Some(n as u32)),
        _ => Err(bad_option(format!(
            "option {key} must be an integer from 1 to {max}, got {v:?}"
        ))),
    }
}

fn string(options: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    let Some(v) = get(options, key)? else {
        return Ok(None);
    };
    v.as_string()
        .map(Some)
        .ok_or_else(|| bad_option(format!("option {key} must be a string, got {v:?}")))
}

fn transform(options: &JsValue) -> Result<Transform, JsValue> {
    let mut t = Transform {
        width: int(options, "w", u32::MAX)?,
        height: int(options, "h", u32::MAX)?,
        ..Transform::default()
    };
    if let Some(q) = int(options, "q", 100)? {
        t.quality = q as u8;
    }
    if let Some(fit) = string(options, "fit")? {
        t.fit = fit.parse::<Fit>().map_err(throw)?;
    }
    if let Some(f) = string(options, "f")? {
        t.format = f.parse::<Format>().map_err(throw)?;
    }
    Ok(t)
}

#[wasm_bindgen]
pub fn resize(input: &[u8], options: JsValue) -> Result<Object, JsValue> {
    let t = transform(&options)?;
    let out = crate::process(input, &t, &Limits::default()).map_err(throw)?;
    let o = Object::new();
    set(&o, "data", Uint8Array::from(&out.data[..]));
    set(&o, "contentType", out.format.content_type());
    set(&o, "width", out.width);
    set(&o, "height", out.height);
    Ok(o)
}

#[wasm_bindgen]
pub fn probe(input: &[u8]) -> Result<Object, JsValue> {
    let info = crate::probe(input, &Limits::default()).map_err(throw)?;
    let o = Object::new();
    set(&o, "format", info.format.as_str());
    set(&o, "width", info.width);
    set(&o, "height", info.height);
    set(&o, "orientation", info.orientation);
    Ok(o)
}

/// The JPEG decoder alone at `scale`/8, for the benchmark's decode rows: the decoded sample
/// count (the pixels stay in wasm memory and are dropped).
#[doc(hidden)]
#[wasm_bindgen(js_name = benchJpegDecode)]
pub fn bench_jpeg_decode(input: &[u8], scale: u32) -> Result<u32, JsValue> {
    let raw = crate::jpeg::decode_raw(input, scale, &crate::Limits::default()).map_err(throw)?;
    Ok(raw.data.len() as u32)
}
