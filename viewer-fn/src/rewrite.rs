//! The native viewer-request rewrite: the same rules, step for step, as the generated JavaScript
//! (`src/viewer-request.js`). The differential test holds the two equal.

use std::collections::BTreeMap;

use crate::event::{Request, Response, ViewerRequestEvent, ViewerResult};
use crate::key::{check_source, decode_path, encode_key, path_refusal, Variant};
use crate::sign::{self, is_signature, Keys};
use crate::spec::{Fit, Format, Role, Snap, Spec};

/// Longest `uri` in UTF-16 code units (what JavaScript's `length` counts): three times S3's
/// 1024-byte key limit (every byte %-encoded) plus margin.
pub const MAX_URI_LEN: usize = 4096;
/// Most query values (a repeated name counts each time).
pub const MAX_QUERY_VALUES: usize = 64;
/// Longest value of a transform parameter, in UTF-16 code units, before decoding.
pub const MAX_VALUE_LEN: usize = 32;
/// Longest `Accept` header considered; a longer one counts as absent (no modern format).
pub const MAX_ACCEPT_LEN: usize = 4096;

/// What the viewer function decides for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No transform parameter: the request goes to the original, its URI spelled canonically
    /// (this one; `/%70hotos/a.jpg` is `/photos/a.jpg`), its query left alone: one cache entry and
    /// one origin trip per object, whatever the spelling.
    Original(String),
    /// A canonical variant URI requested directly: passes untouched.
    Canonical(Variant),
    /// Rewritten to this variant's URI, query cleared.
    Transform(Variant),
    /// Answered at the edge.
    Reject { status: u16, message: String },
}

fn reject(status: u16, message: impl Into<String>) -> Outcome {
    Outcome::Reject {
        status,
        message: message.into(),
    }
}

/// The function's result for an event: [`resolve`] applied to `event.request`, without signing
/// keys (with `signed = true`, every variant request is then refused).
pub fn rewrite(spec: &Spec, event: &ViewerRequestEvent) -> ViewerResult {
    rewrite_with(spec, &Keys::new(), event)
}

/// The function's result for an event, with the signing keys of the KeyValueStore.
pub fn rewrite_with(spec: &Spec, keys: &Keys, event: &ViewerRequestEvent) -> ViewerResult {
    let req = &event.request;
    let mut signed = None;
    let mut outcome = resolve_into(spec, req, &mut signed);
    // The one rule that needs the keys (the JS reads them from the store): checked last.
    if let (true, Some(s)) = (spec.signed(), signed) {
        if !s.given.is_some_and(|g| keys.verify(&s.message, &g)) {
            outcome = reject(403, "missing or wrong signature");
        }
    }
    match outcome {
        Outcome::Canonical(_) => ViewerResult::Request(req.clone()),
        Outcome::Original(uri) => {
            let mut r = req.clone();
            r.uri = uri;
            ViewerResult::Request(r)
        }
        Outcome::Transform(v) => {
            let mut r = req.clone();
            r.uri = v.uri(spec);
            r.querystring = Some(BTreeMap::new());
            ViewerResult::Request(r)
        }
        Outcome::Reject { status, message } => {
            ViewerResult::Response(Response::error(status, &message))
        }
    }
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The decision for one request, in rule order (a signature is read, not checked against the
/// keys: [`rewrite_with`] does that).
pub fn resolve(spec: &Spec, req: &Request) -> Outcome {
    resolve_into(spec, req, &mut None)
}

/// The decision, and what a signed URL for this request signs ([`crate::sign`]): its canonical
/// transform without prefix and generation, a negotiated format written `auto`; `None` unless
/// the request is for a variant (an original, a refusal).
pub fn resolve_for_signing(spec: &Spec, req: &Request) -> (Outcome, Option<String>) {
    let mut signed = None;
    let outcome = resolve_into(spec, req, &mut signed);
    (outcome, signed.map(|s| s.message))
}

/// [`resolve_for_signing`]'s message alone.
pub fn signing_message(spec: &Spec, req: &Request) -> Option<String> {
    resolve_for_signing(spec, req).1
}

/// What a variant request's signature must sign, and the signature it carries (read only with
/// `signed = true`).
struct Signed {
    message: String,
    given: Option<String>,
}

/// A variant request's `s=` values (grouped by role with the others): malformed or
/// conflicting → 400, as any parameter; `Ok(None)`: none given, or the spec signs nothing.
fn signature_of(spec: &Spec, values: &[&str]) -> Result<Option<String>, Outcome> {
    if !spec.signed() {
        return Ok(None);
    }
    let name = spec.params().primary(Role::Signature);
    let parsed = parse_each(values, |v| is_signature(v).then(|| v.to_string()))
        .ok_or_else(|| reject(400, format!("invalid {name}: expected a signature")))?;
    same(parsed).map_err(|()| reject(400, format!("conflicting values for {name}")))
}

fn values_of<'a>(by_role: &'a BTreeMap<Role, Vec<&'a str>>, r: Role) -> &'a [&'a str] {
    by_role.get(&r).map(Vec::as_slice).unwrap_or(&[])
}

fn resolve_into(spec: &Spec, req: &Request, signed: &mut Option<Signed>) -> Outcome {
    let uri = req.uri.as_str();
    if utf16_len(uri) > MAX_URI_LEN {
        return reject(414, format!("URI longer than {MAX_URI_LEN} characters"));
    }
    let Some(raw) = uri.strip_prefix('/') else {
        return reject(400, "URI must start with /");
    };

    // Query: every value, grouped by role (names compared in ASCII lower case).
    let mut count = 0;
    let mut by_role: BTreeMap<Role, Vec<&str>> = BTreeMap::new();
    for (name, field) in req.querystring.iter().flatten() {
        let values = field.values();
        count += values.len();
        if let Some(role) = spec.params().role_of(&name.to_ascii_lowercase()) {
            by_role.entry(role).or_default().extend(values);
        }
    }
    if count > MAX_QUERY_VALUES {
        return reject(
            400,
            format!("more than {MAX_QUERY_VALUES} query parameters"),
        );
    }

    // Path: decoded once; the rules below see the key S3 will see.
    let Some(key) = decode_path(raw) else {
        return reject(400, "malformed %-escape in the path");
    };
    if let Some(why) = path_refusal(&key) {
        return reject(400, why);
    }
    if key.split('/').next() == Some(spec.prefix()) {
        // The variant namespace: only a canonical variant URI, canonically spelled, passes.
        return match Variant::parse(spec, &key) {
            Ok(v) if encode_key(&key) == raw => {
                let given = match signature_of(spec, values_of(&by_role, Role::Signature)) {
                    Ok(g) => g,
                    Err(o) => return o,
                };
                let message = sign::message(&v, v.format.as_str());
                *signed = Some(Signed { message, given });
                Outcome::Canonical(v)
            }
            _ => reject(400, "not a canonical variant key"),
        };
    }
    let transform = [
        Role::Width,
        Role::Height,
        Role::Box,
        Role::Quality,
        Role::Format,
        Role::Preset,
    ]
    .iter()
    .any(|r| by_role.contains_key(r));
    if !transform {
        if !spec.serves_originals() {
            return reject(403, "originals are not served (originals = \"deny\")");
        }
        return Outcome::Original(format!("/{}", encode_key(&key)));
    }
    let source = match check_source(spec, &key) {
        Ok(f) => f,
        Err((status, why)) => return reject(status, why),
    };

    let values = |r: Role| values_of(&by_role, r);
    let name = |r: Role| spec.params().primary(r);
    macro_rules! parse_all {
        ($role:expr, $parse:expr, $hint:expr) => {
            match parse_each(values($role), $parse) {
                Some(v) => v,
                None => return reject(400, format!("invalid {}: {}", name($role), $hint)),
            }
        };
    }
    let boxes = parse_all!(
        Role::Box,
        parse_box,
        "expected N or WxH, whole numbers 1-99999"
    );
    let mut ws = parse_all!(Role::Width, parse_int, "expected a whole number 1-99999");
    let mut hs = parse_all!(Role::Height, parse_int, "expected a whole number 1-99999");
    let qs = parse_all!(
        Role::Quality,
        parse_quality,
        "expected a whole number 1-100"
    );
    let fs = parse_all!(
        Role::Format,
        parse_format,
        "expected auto, jpeg, png, webp or avif"
    );
    let ts = parse_all!(
        Role::Fit,
        parse_fit,
        "expected cover, contain, fill, inside or outside"
    );
    let max_dpr = spec.max_dpr() as u32;
    let rs = parse_all!(
        Role::Dpr,
        |v| parse_dpr(v, max_dpr),
        format!("expected a number 1-{max_dpr} with at most 2 decimals")
    );
    let ps = parse_all!(
        Role::Preset,
        |v| spec
            .presets()
            .get_key_value(v)
            .map(|(n, p)| (n.as_str(), *p)),
        "expected the name of a preset"
    );
    for (w, h) in boxes {
        ws.push(w);
        hs.push(h);
    }
    macro_rules! one {
        ($role:expr, $vals:expr) => {
            match same($vals) {
                Ok(v) => v,
                Err(()) => return reject(400, format!("conflicting values for {}", name($role))),
            }
        };
    }
    let w = one!(Role::Width, ws);
    let h = one!(Role::Height, hs);
    let q = one!(Role::Quality, qs);
    let f = one!(Role::Format, fs);
    let t = one!(Role::Fit, ts);
    let dpr = one!(Role::Dpr, rs).unwrap_or(100);

    let p = one!(Role::Preset, ps);

    let (width, height, fit, mut quality, (format, negotiated)) = if let Some((pname, p)) = p {
        // A preset is a whole transform: only the format may come from the request.
        let modifiers = [
            Role::Box,
            Role::Width,
            Role::Height,
            Role::Quality,
            Role::Fit,
            Role::Dpr,
        ];
        if let Some(r) = modifiers.into_iter().find(|r| by_role.contains_key(r)) {
            return reject(400, format!("preset {pname} takes no {}", name(r)));
        }
        let format = match (p.format, f) {
            (Some(pf), None) => (pf, false),
            (Some(_), Some(_)) => {
                return reject(
                    400,
                    format!("preset {pname} takes no {}", name(Role::Format)),
                )
            }
            (None, _) => match pick_format(spec, req, source, f, (p.width, p.height)) {
                Ok(f) => f,
                Err(o) => return o,
            },
        };
        (p.width, p.height, p.fit, p.quality, format)
    } else {
        if spec.presets_only() {
            return reject(
                400,
                format!("only presets are enabled: use {}=NAME", name(Role::Preset)),
            );
        }
        // Integer ceil(v × dpr): the same number in every engine.
        let scale = |v: u32| (v * dpr).div_ceil(100);
        let (mut width, mut height) = (0, 0);
        if let Some(v) = w {
            let x = scale(v);
            match snap(x, spec.widths(), spec.snap()) {
                Some(s) => width = s,
                None => return reject(400, format!("width {x} is not allowed")),
            }
        }
        match (w, h) {
            (Some(w), Some(h)) => match spec.ratios().iter().find(|r| r.matches(w, h)) {
                Some(r) => height = r.height(width),
                None => {
                    return reject(
                        400,
                        format!("{w}x{h} is not an allowed shape; use a preset"),
                    )
                }
            },
            (None, Some(v)) => {
                let x = scale(v);
                match snap(x, spec.heights(), spec.snap()) {
                    Some(s) => height = s,
                    None => return reject(400, format!("height {x} is not allowed")),
                }
            }
            _ => {}
        }
        let fit = match t {
            Some(t) if width != 0 && height != 0 && t != spec.default_fit() => {
                return reject(400, format!("fit {t} needs a preset"));
            }
            _ => spec.default_fit(),
        };
        let quality = snap(
            q.unwrap_or(spec.default_quality() as u32),
            &spec
                .qualities()
                .iter()
                .map(|&q| q as u32)
                .collect::<Vec<_>>(),
            Snap::Up,
        )
        .unwrap_or(0) as u8;
        let format = match pick_format(spec, req, source, f, (width, height)) {
            Ok(f) => f,
            Err(o) => return o,
        };
        (width, height, fit, quality, format)
    };
    let requested_quality = quality;
    if format.ignores_quality() {
        quality = spec.default_quality();
    }
    let v = Variant {
        width,
        height,
        fit,
        quality,
        format,
        source_key: key,
    };
    let given = match signature_of(spec, values(Role::Signature)) {
        Ok(g) => g,
        Err(o) => return o,
    };
    // A negotiated format is signed as `auto`, at the quality asked (a PNG's key carries the
    // default one, and whether it is a PNG depends on `Accept`).
    let message = if negotiated {
        let asked = Variant {
            quality: requested_quality,
            ..v.clone()
        };
        sign::message(&asked, "auto")
    } else {
        sign::message(&v, v.format.as_str())
    };
    *signed = Some(Signed { message, given });
    Outcome::Transform(v)
}

/// An explicit format (which must be enabled), or the negotiated one (`true`).
fn pick_format(
    spec: &Spec,
    req: &Request,
    source: Format,
    f: Option<Option<Format>>,
    size: (u32, u32),
) -> Result<(Format, bool), Outcome> {
    match f {
        Some(Some(f)) if !spec.formats().contains(&f) => {
            Err(reject(400, format!("format {f} is not enabled")))
        }
        Some(Some(f)) => Ok((f, false)),
        _ => Ok((negotiate(spec, req, source, size), true)),
    }
}

/// Parses every value (length-checked, %-decoded, ASCII lower-cased); `None` if any is invalid.
fn parse_each<T>(values: &[&str], parse: impl Fn(&str) -> Option<T>) -> Option<Vec<T>> {
    values
        .iter()
        .map(|v| {
            if utf16_len(v) > MAX_VALUE_LEN {
                return None;
            }
            parse(&decode_path(v)?.to_ascii_lowercase())
        })
        .collect()
}

/// All values equal (in any order: JavaScript and Rust see query names in different orders).
fn same<T: PartialEq>(values: Vec<T>) -> Result<Option<T>, ()> {
    let mut it = values.into_iter();
    let Some(first) = it.next() else {
        return Ok(None);
    };
    for v in it {
        if v != first {
            return Err(());
        }
    }
    Ok(Some(first))
}

fn snap(x: u32, allowed: &[u32], mode: Snap) -> Option<u32> {
    match allowed.iter().find(|&&a| a >= x) {
        Some(&a) if mode == Snap::Up || a == x => Some(a),
        Some(_) => None,
        None if mode == Snap::Up => allowed.last().copied(),
        None => None,
    }
}

fn digits(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
}

/// 1-5 digits, value ≥ 1 (leading zeros allowed: `0600` is 600).
fn parse_int(s: &str) -> Option<u32> {
    digits(s, 5)
        .then(|| s.parse().ok())
        .flatten()
        .filter(|&v| v > 0)
}

fn parse_quality(s: &str) -> Option<u32> {
    parse_int(s).filter(|&q| q <= 100)
}

/// `N` (an N×N box) or `WxH`.
fn parse_box(s: &str) -> Option<(u32, u32)> {
    match s.split_once('x') {
        None => parse_int(s).map(|n| (n, n)),
        Some((w, h)) => Some((parse_int(w)?, parse_int(h)?)),
    }
}

/// `Some(None)` is `auto`; `jpg` is `jpeg`.
fn parse_format(s: &str) -> Option<Option<Format>> {
    match s {
        "auto" => Some(None),
        "jpg" => Some(Some(Format::Jpeg)),
        _ => s.parse().ok().map(Some),
    }
}

fn parse_fit(s: &str) -> Option<Fit> {
    s.parse().ok()
}

/// `D` or `D.d` or `D.dd`, in hundredths, 1..=max.
fn parse_dpr(s: &str, max: u32) -> Option<u32> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if !digits(int, 1) || (s.contains('.') && !digits(frac, 2)) {
        return None;
    }
    let frac = format!("{frac:0<2}");
    let v = int.parse::<u32>().ok()? * 100 + frac.parse::<u32>().ok()?;
    (100..=max * 100).contains(&v).then_some(v)
}

/// `f=auto`: the `auto` format with the highest q-value in `Accept` (ties: spec order), or the
/// source's own format. Only explicit types count (`image/*`, `*/*` do not); a type listed more
/// than once takes its lowest q; a malformed q-value counts as 0.
fn negotiate(spec: &Spec, req: &Request, source: Format, (w, h): (u32, u32)) -> Format {
    let accept = match req.headers.as_ref().and_then(|h| h.get("accept")) {
        Some(f) => f.values().join(","),
        None => String::new(),
    };
    if utf16_len(&accept) > MAX_ACCEPT_LEN {
        return source;
    }
    let mut seen: BTreeMap<Format, u32> = BTreeMap::new();
    for entry in accept.split(',') {
        let mut parts = entry.split(';');
        let ty = trim_ows(parts.next().unwrap_or("")).to_ascii_lowercase();
        let Some(format) = Format::ALL.into_iter().find(|f| f.content_type() == ty) else {
            continue;
        };
        let mut q = 1000;
        for p in parts {
            let p = trim_ows(p);
            if p.len() >= 2 && p.is_char_boundary(2) && p[..2].eq_ignore_ascii_case("q=") {
                q = qvalue(&p[2..]);
            }
        }
        let e = seen.entry(format).or_insert(q);
        *e = (*e).min(q);
    }
    let mut best = (source, 0);
    // AVIF only for outputs whose sides are known and within `avif_max_side` (slow to encode).
    let avif_ok = w.max(h) > 0 && w.max(h) <= spec.avif_max_side();
    for &f in spec.auto_formats() {
        if f == Format::Avif && !avif_ok {
            continue;
        }
        if let Some(&q) = seen.get(&f) {
            if q > best.1 {
                best = (f, q);
            }
        }
    }
    best.0
}

fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// RFC 9110 qvalue in thousandths: `0`, `0.5`, `1.000`; anything else is 0.
fn qvalue(s: &str) -> u32 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac_ok = frac.len() <= 3 && frac.bytes().all(|b| b.is_ascii_digit());
    match int {
        "0" if frac_ok => format!("{frac:0<3}").parse().unwrap_or(0),
        "1" if frac_ok && frac.bytes().all(|b| b == b'0') => 1000,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapping() {
        let l = [100, 200, 400];
        assert_eq!(snap(1, &l, Snap::Up), Some(100));
        assert_eq!(snap(200, &l, Snap::Up), Some(200));
        assert_eq!(snap(201, &l, Snap::Up), Some(400));
        assert_eq!(snap(9000, &l, Snap::Up), Some(400));
        assert_eq!(snap(200, &l, Snap::Reject), Some(200));
        assert_eq!(snap(201, &l, Snap::Reject), None);
        assert_eq!(snap(9000, &l, Snap::Reject), None);
    }

    #[test]
    fn qvalues() {
        for (s, q) in [
            ("1", 1000),
            ("1.", 1000),
            ("1.000", 1000),
            ("0", 0),
            ("0.5", 500),
            ("0.05", 50),
            ("0.123", 123),
        ] {
            assert_eq!(qvalue(s), q, "{s}");
        }
        for s in ["", "1.001", "2", "0.1234", ".5", "00.5", "-0", "0.5 "] {
            assert_eq!(qvalue(s), 0, "{s}");
        }
    }

    #[test]
    fn dpr_grammar() {
        assert_eq!(parse_dpr("1", 4), Some(100));
        assert_eq!(parse_dpr("1.5", 4), Some(150));
        assert_eq!(parse_dpr("1.25", 4), Some(125));
        assert_eq!(parse_dpr("4", 4), Some(400));
        for bad in ["0.5", "4.01", "5", "1.", ".5", "1.255", "10", "", "1e0"] {
            assert_eq!(parse_dpr(bad, 4), None, "{bad}");
        }
    }

    #[test]
    fn box_and_ints() {
        assert_eq!(parse_box("600x400"), Some((600, 400)));
        assert_eq!(parse_box("600"), Some((600, 600)));
        for bad in ["600x", "x400", "0x5", "6x7x8", "", "600X400"] {
            assert_eq!(parse_box(bad), None, "{bad}");
        }
        assert_eq!(parse_int("0600"), Some(600));
        assert_eq!(parse_int("100000"), None);
        assert_eq!(parse_int("0"), None);
    }

    #[test]
    fn resolve_outcomes() {
        let s = Spec::default();
        let req = |p: &str, accept: &str| {
            let h = if accept.is_empty() {
                vec![]
            } else {
                vec![("Accept".to_string(), accept.to_string())]
            };
            ViewerRequestEvent::from_http(p, &h).request
        };
        assert_eq!(
            resolve(&s, &req("/a.jpg", "")),
            Outcome::Original("/a.jpg".into())
        );
        assert_eq!(
            resolve(&s, &req("/%70hotos/caf%c3%a9.jpg", "utm=1")),
            Outcome::Original("/photos/caf%C3%A9.jpg".into())
        );
        let Outcome::Transform(v) = resolve(&s, &req("/a.jpg?w=500&dpr=2", "image/webp")) else {
            panic!()
        };
        assert_eq!(
            (v.width, v.height, v.format, v.source_key.as_str()),
            (1080, 0, Format::Webp, "a.jpg")
        );
        let uri = v.uri(&s);
        assert_eq!(resolve(&s, &req(&uri, "")), Outcome::Canonical(v));
        assert!(matches!(
            resolve(&s, &req("/a.jpg?w=x", "")),
            Outcome::Reject { status: 400, .. }
        ));
    }

    #[test]
    fn from_http_builds_cloudfront_shaped_events() {
        let e = ViewerRequestEvent::from_http(
            "https://example.com/a%20b.jpg?w=1&w=2&x#frag",
            &[("Accept".into(), "*/*".into())],
        );
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["request"]["uri"], "/a%20b.jpg");
        assert_eq!(j["request"]["querystring"]["w"]["value"], "1");
        assert_eq!(
            j["request"]["querystring"]["w"]["multiValue"][1]["value"],
            "2"
        );
        assert_eq!(j["request"]["querystring"]["x"]["value"], "");
        assert_eq!(j["request"]["headers"]["accept"]["value"], "*/*");
        assert_eq!(j["request"]["method"], "GET");
        let back: ViewerRequestEvent = serde_json::from_value(j).unwrap();
        assert_eq!(back, e);
    }
}
