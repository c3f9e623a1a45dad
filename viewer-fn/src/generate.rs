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
        "x": !spec.serves_originals(),
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
        let squeezed;
        // Import lines stay as written: hosts without a module loader rewrite them by shape.
        let line = if i > 0 && !line.starts_with("import ") {
            squeezed = squeeze(line);
            &squeezed
        } else {
            line
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// One line of the template without the spaces JavaScript does not need: those next to a
/// punctuator, outside string and regex literals (the template's strings use `"`; a regex starts
/// where a value cannot end). `a + +b` and `a - -b` keep theirs. The tests run the squeezed
/// function in Node and QuickJS against the native rules, so a wrong cut shows.
fn squeeze(line: &str) -> String {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii();
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    // The last significant character written, and the last word (for `return /re/`).
    let mut word = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            // A string: copied whole, escapes included.
            out.push(c);
            i += 1;
            while i < chars.len() {
                out.push(chars[i]);
                if chars[i] == '\\' && i + 1 < chars.len() {
                    out.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                i += 1;
                if chars[i - 1] == '"' {
                    break;
                }
            }
            word.clear();
            continue;
        }
        let prev = out.chars().last();
        if c == '/' {
            let regex = match prev {
                None => true,
                Some(p) => {
                    "(,=:[!&|?{};+-*%<>~^".contains(p)
                        || matches!(word.as_str(), "return" | "typeof")
                }
            };
            if regex && chars.get(i + 1) != Some(&'/') {
                // A regex literal: copied whole, classes and escapes included.
                let mut class = false;
                out.push(c);
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    out.push(d);
                    i += 1;
                    match d {
                        '\\' if i < chars.len() => {
                            out.push(chars[i]);
                            i += 1;
                        }
                        '[' => class = true,
                        ']' => class = false,
                        '/' if !class => break,
                        _ => {}
                    }
                }
                word.clear();
                continue;
            }
        }
        if c == ' ' {
            let next = chars.get(i + 1).copied();
            let keep = match (prev, next) {
                (Some(p), Some(n)) => (ident(p) && ident(n)) || (p == n && (p == '+' || p == '-')),
                _ => false,
            };
            if keep {
                out.push(' ');
            }
            i += 1;
            continue;
        }
        if ident(c) {
            if !prev.is_some_and(ident) {
                word.clear();
            }
            word.push(c);
        } else {
            word.clear();
        }
        out.push(c);
        i += 1;
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

#[cfg(test)]
mod tests {
    use super::squeeze;

    #[test]
    fn squeeze_keeps_what_javascript_needs() {
        for (line, want) in [
            ("var a = b + 1, c = [1, 2];", "var a=b+1,c=[1,2];"),
            (
                "if (x === \"a b , c\") return y;",
                "if(x===\"a b , c\")return y;",
            ),
            (
                "var t = /^[ \\t]|[ \\t]$/.test(s) ? s : \"\\\" x\";",
                "var t=/^[ \\t]|[ \\t]$/.test(s)?s:\"\\\" x\";",
            ),
            (
                "return / a/.test(s) && n / 2 > 1;",
                "return/ a/.test(s)&&n/2>1;",
            ),
            ("x = a + +b - -c;", "x=a+ +b- -c;"),
            (
                "for (k in qs) typeof k !== \"x\";",
                "for(k in qs)typeof k!==\"x\";",
            ),
            (
                "var r = (w * d + 99) / 100, q = x.split(\"/\");",
                "var r=(w*d+99)/100,q=x.split(\"/\");",
            ),
        ] {
            assert_eq!(squeeze(line), want, "{line}");
        }
    }
}
