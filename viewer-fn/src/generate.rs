//! The CloudFront Function generator: the spec's data spliced into one hand-written template
//! (`viewer-request.js`, the JavaScript twin of `rewrite.rs`).

use serde_json::{json, Map, Value};

use crate::key::not_an_image;
use crate::spec::{Role, Snap, Spec};

const TEMPLATE: &str = include_str!("viewer-request.js");

/// CloudFront's limit on a function's code.
pub const MAX_FUNCTION_BYTES: usize = 10 * 1024;

/// The `cloudfront-js-2.0` viewer-request handler for this spec. Deterministic: the same spec
/// gives the same bytes (the committed `viewer-fn/generated/viewer-request.js` is checked).
pub fn generate(spec: &Spec) -> String {
    let strs = |v: &[crate::Format]| v.iter().map(|f| f.as_str()).collect::<Vec<_>>();
    let mut aliases = Map::new();
    let mut primary = Map::new();
    for role in Role::ALL {
        for name in spec.params().names(role) {
            aliases.insert(name.clone(), Value::from(role.code()));
        }
        primary.insert(role.code().into(), Value::from(spec.params().primary(role)));
    }
    let extensions: Map<String, Value> = spec
        .extensions()
        .iter()
        .map(|(e, f)| (e.clone(), Value::from(f.as_str())))
        .collect();
    // name → [width, height, fit, quality, format or ""]
    let presets: Map<String, Value> = spec
        .presets()
        .iter()
        .map(|(n, p)| {
            let f = p.format.map_or("", |f| f.as_str());
            (
                n.clone(),
                json!([p.width, p.height, p.fit.as_str(), p.quality, f]),
            )
        })
        .collect();
    let c = json!({
        "p": spec.prefix(),
        "g": spec.generation(),
        "W": spec.widths(),
        "H": spec.heights(),
        "Q": spec.qualities(),
        "q": spec.default_quality(),
        "t": spec.default_fit().as_str(),
        "up": spec.snap() == Snap::Up,
        "r": spec.max_dpr(),
        "F": strs(spec.formats()),
        "A": strs(spec.auto_formats()),
        "X": extensions,
        "P": aliases,
        "N": primary,
        "img": not_an_image(spec),
        "R": spec.ratios().iter().map(|r| [r.w, r.h]).collect::<Vec<_>>(),
        "S": presets,
        "o": spec.presets_only(),
        "v": spec.avif_max_side(),
    });
    let body = TEMPLATE.replacen("/*SPEC*/", &c.to_string(), 1);
    // Lines marked for the other signing mode go; indentation and comment lines cost bytes
    // against the 10 KB limit (the one-line header stays).
    let (keep, drop) = if spec.signed() {
        ("/*S*/", "/*U*/")
    } else {
        ("/*U*/", "/*S*/")
    };
    let mut out = String::with_capacity(body.len());
    for (i, line) in body.lines().enumerate() {
        if line.starts_with(drop) {
            continue;
        }
        let line = line.strip_prefix(keep).unwrap_or(line).trim_start();
        if line.is_empty() || (i > 0 && line.starts_with("//")) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The generated function as a classic script, for engines run without a module loader (the
/// local edge's QuickJS, the tests' Node `vm`): each `import X from "M";` line becomes
/// `var X = __sf_import("M");`. The host defines `__sf_import` ([`LOCAL_MODULES`]).
pub fn as_script(js: &str) -> String {
    js.lines()
        .map(|line| {
            let import = line
                .strip_prefix("import ")
                .and_then(|r| r.strip_suffix(';'))
                .and_then(|r| r.split_once(" from "));
            match import {
                Some((name, module)) => format!("var {name} = __sf_import({module});\n"),
                None => format!("{line}\n"),
            }
        })
        .collect()
}

/// CloudFront's `crypto` and `cloudfront` modules, as far as the signed function uses them, for
/// a host that provides two native functions: `__sf_hmac(key, message)` (HMAC-SHA256, hex) and
/// `__sf_kvs_get(key)` (the value, or `null`: then `get` rejects, as CloudFront's does).
pub const LOCAL_MODULES: &str = r#"
function __sf_import(m) {
  if (m === "crypto") return {createHmac: function (alg, key) {
    if (alg !== "sha256") throw new Error("local crypto: sha256 only");
    var msg = "";
    var h = {update: function (s) { msg += s; return h; }, digest: function (enc) {
      if (enc !== "hex") throw new Error("local crypto: hex digests only");
      return __sf_hmac(key, msg);
    }};
    return h;
  }};
  if (m === "cloudfront") return {kvs: function () { return {get: function (k) {
    var v = __sf_kvs_get(k);
    return v == null ? Promise.reject(new Error("key not found: " + k)) : Promise.resolve(v);
  }}; }};
  throw new Error("no module " + m);
}
"#;
