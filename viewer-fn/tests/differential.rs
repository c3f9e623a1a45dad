//! Differential test (invariant I5): on generated requests — random paths, parameters, aliases,
//! junk values, Accept headers — the generated JavaScript, run in Node and in QuickJS, returns
//! exactly what the native rewrite returns. A mismatch prints the request.
//!
//! Seeded, so a failure reproduces: `SCALEFRONT_DIFF_SEED=n`, `SCALEFRONT_DIFF_CASES=n` (per spec,
//! the second spec gets half).

mod common;

use serde_json::{json, Map, Value};
use viewer_fn::sign::Keys;
use viewer_fn::{rewrite_with, Fit, Format, Role, Spec, Variant, ViewerRequestEvent};

/// SplitMix64: tiny, seedable, good enough to spread requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const DIRS: &[&str] = &[
    "",
    "photos/",
    "photos/2024/",
    "a/b/c/",
    "My%20Photos/",
    "My Photos/",
    "caf%C3%A9/",
    "café/",
    "日本/",
    "%E2%9C%93/",
    "x%2Fy/",
    "%2e%2e/",
    "../",
    "./",
    "photos//",
    "//",
    "_sf/",
    "%5Fsf/",
    "%5fsf/",
    "img-v1/",
    "%00/",
    "%ZZ/",
    "%C3/",
    "%c3%a9/",
    "a+b/",
    "%F0%9F%98%80/",
    "%ED%A0%80/",
    "%C0%AF/",
    "sp ace/",
    "...//",
    "%2E/",
    "~user/",
    "(x)/",
    "tab%09/",
    "%7F/",
    "%25/",
    "%/",
];
const NAMES: &[&str] = &[
    "Further",
    "a",
    "IMG 0001",
    "IMG_0001",
    "x%20y",
    "über",
    "a.b",
    "",
    "%41",
    "~tilde",
    "(1)",
    "it's",
    "*",
    "100%25",
    "%2e",
    "..",
    "%F0%9F%98%80",
    "Ω",
    "a%2Fb",
    "q=1",
    "e%CC%81",
];
const EXTS: &[&str] = &[
    ".jpg",
    ".jpg",
    ".jpg",
    ".JPG",
    ".jpeg",
    ".png",
    ".webp",
    ".avif",
    ".gif",
    ".pdf",
    "",
    ".Jpg",
    ".jp%67",
    ".",
    ".tar.gz",
    "/",
    ".jpe",
    ".JPE",
    ".PnG",
    ".%6A%70%67",
];

const SIZES: &[&str] = &[
    "600",
    "0600",
    "0",
    "1",
    "16",
    "99999",
    "100000",
    "-5",
    "6e2",
    "600px",
    " 600",
    "%36%30%30",
    "",
    "3840",
    "4000",
    "1.5",
    "640",
    "650",
    "3200",
    "300",
    "%",
    "%zz",
    "６００",
    "0x10",
    "00000000000000000000000000000000600",
];
const BOXES: &[&str] = &[
    "600x400",
    "600",
    "600X400",
    "x400",
    "600x",
    "0x5",
    "1x1",
    "100",
    "650x400",
    "3840x3840",
    "6x7x8",
    "",
];
const QUALITIES: &[&str] = &[
    "75", "80", "0", "100", "101", "50", "q", "%37%35", "40", "95", "90", "1", "",
];
const FORMATS: &[&str] = &[
    "auto",
    "webp",
    "WEBP",
    "jpg",
    "jpeg",
    "png",
    "avif",
    "gif",
    "",
    "au%74o",
    "Auto",
    "jpe",
    "image/webp",
];
const FITS: &[&str] = &[
    "cover", "contain", "fill", "inside", "outside", "COVER", "crop", "", "Inside", "\u{212A}",
];
const DPRS: &[&str] = &[
    "1", "2", "1.5", "1.25", "1.255", "0.5", "4", "4.01", "5", "2.", ".5", "3", "2.99", "3.00",
    "1.0", "8",
];
const PRESETS: &[&str] = &[
    "thumb",
    "THUMB",
    "hero",
    "icon",
    "nope",
    "__proto__",
    "constructor",
    "toString",
    "",
    "th%75mb",
    "thumb ",
];
const SIGNATURES: &[&str] = &[
    "a0123456789abcdef0123456789abcde",
    "A0123456789ABCDEF0123456789ABCDE",
    "x0123456789abcdef0123456789abcde",
    "a0123456789abcdef0123456789abcd",
    "a0123456789abcdef0123456789abcdef",
    "",
    "a",
    "%61",
];
const UNKNOWN: &[&str] = &[
    "utm_source",
    "x",
    "ww",
    "",
    "v",
    "blur",
    "__proto__",
    "constructor",
    "hasOwnProperty",
    "toString",
];
const ACCEPTS: &[&str] = &[
    "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "image/webp,*/*",
    "*/*",
    "image/*",
    "image/webp;q=0",
    "image/avif;q=0.5, image/webp;q=0.9",
    "IMAGE/WEBP",
    "image/webp;Q=0.5",
    "image/webp ; q=1.0",
    "image/webp;q=1.0001",
    "image/webp;q=abc",
    "image/avif;q=0.000,image/webp",
    "image/webp,image/webp;q=0",
    "text/html,application/xhtml+xml",
    "",
    "image/avif",
    "image/avif;q=0.9;level=1,image/webp;q=0.9",
    "image/webp;q=0.",
    "image/webp;q=.5",
    "image/avif\t;\tq=0.2 ,\timage/webp;q=0.1",
    "image/jpeg,image/png",
];
const ACCEPT_PARTS: &[&str] = &[
    "image/avif",
    "image/webp",
    "*/*",
    "image/*",
    "image/jpeg",
    "image/png",
    "text/html",
    "image/AVIF",
    " image/webp ",
];
const QS: &[&str] = &[
    "",
    ";q=0",
    ";q=1",
    ";q=0.5",
    ";q=0.9",
    ";q=0.001",
    ";q=1.000",
    ";q=2",
    ";q=",
    ";level=1;q=0.3",
    "; q=0.7",
];

fn values_for(rng: &mut Rng, spec: &Spec, role: Option<Role>, clean: bool) -> String {
    if clean && rng.chance(50) {
        // An allowed size exactly (what a srcset asks for), so snap = "reject" passes too.
        match role {
            Some(Role::Width) => return rng.pick(spec.widths()).to_string(),
            Some(Role::Height) if !spec.heights().is_empty() => {
                return rng.pick(spec.heights()).to_string()
            }
            _ => {}
        }
    }
    if clean && rng.chance(90) {
        // Valid values, spread over the snapping ranges.
        let n = |rng: &mut Rng, max: usize| (1 + rng.below(max)).to_string();
        return match role {
            Some(Role::Width) | Some(Role::Height) => n(rng, 4500),
            Some(Role::Box) if rng.chance(50) => n(rng, 3000),
            Some(Role::Box) => format!("{}x{}", n(rng, 3000), n(rng, 3000)),
            Some(Role::Quality) => n(rng, 100),
            Some(Role::Format) => rng
                .pick(&["auto", "auto", "webp", "jpeg", "jpg", "png", "avif"])
                .to_string(),
            Some(Role::Fit) => rng.pick(&Fit::ALL).as_str().to_string(),
            Some(Role::Dpr) => rng
                .pick(&["1", "2", "3", "1.5", "2.25", "1.33", "4"])
                .to_string(),
            Some(Role::Preset) => preset_name(rng, spec),
            Some(Role::Signature) => rng.pick(SIGNATURES).to_string(),
            None => "1".into(),
        };
    }
    let pool = match role {
        Some(Role::Width) | Some(Role::Height) => SIZES,
        Some(Role::Box) => BOXES,
        Some(Role::Quality) => QUALITIES,
        Some(Role::Format) => FORMATS,
        Some(Role::Fit) => FITS,
        Some(Role::Dpr) => DPRS,
        Some(Role::Preset) => PRESETS,
        Some(Role::Signature) => SIGNATURES,
        None => &["1", "x", "", "%", "a b"][..],
    };
    if rng.chance(8) {
        return (1 + rng.below(5000)).to_string();
    }
    rng.pick(pool).to_string()
}

fn preset_name(rng: &mut Rng, spec: &Spec) -> String {
    let names: Vec<&String> = spec.presets().keys().collect();
    if names.is_empty() || rng.chance(10) {
        rng.pick(PRESETS).to_string()
    } else {
        rng.pick(&names).to_string()
    }
}

fn gen_path(rng: &mut Rng, spec: &Spec, clean: bool) -> String {
    if clean {
        let ext = rng
            .pick(&spec.extensions().keys().collect::<Vec<_>>())
            .to_string();
        let ext = if rng.chance(20) {
            ext.to_uppercase()
        } else {
            ext
        };
        let dir = rng.pick::<&str>(&[
            "",
            "photos/",
            "photos/2024/",
            "My%20Photos/",
            "caf%C3%A9/",
            "日本/",
            "a+b/",
        ]);
        let name = rng.pick::<&str>(&[
            "Further", "IMG 0001", "IMG_0001", "x%20y", "über", "a.b", "(1)", "it's",
        ]);
        return format!("/{dir}{name}.{ext}");
    }
    let roll = rng.below(100);
    if roll < 25 {
        return variant_uri(rng, spec);
    }
    if roll < 30 {
        // Over the limits: a long key, or a long URI.
        let n = if rng.chance(50) {
            900 + rng.below(200)
        } else {
            4000 + rng.below(200)
        };
        return format!("/{}{}", "k".repeat(n), rng.pick::<&str>(EXTS));
    }
    let mut p = String::from(if rng.chance(1) { "" } else { "/" });
    for _ in 0..rng.below(3) {
        p.push_str(rng.pick::<&str>(DIRS));
    }
    p.push_str(rng.pick::<&str>(NAMES));
    p.push_str(rng.pick::<&str>(EXTS));
    p
}

/// A canonical variant URI of this spec, often mutated into a near miss.
fn variant_uri(rng: &mut Rng, spec: &Spec) -> String {
    let mut width = if rng.chance(25) {
        0
    } else {
        *rng.pick(spec.widths())
    };
    let mut height = match rng.below(4) {
        0 if !spec.ratios().is_empty() && width != 0 => rng.pick(spec.ratios()).height(width),
        1 if !spec.heights().is_empty() => *rng.pick(spec.heights()),
        _ => 0,
    };
    if height != 0 && rng.chance(30) && !spec.heights().contains(&height) {
        width = 0;
    }
    let mut format = *rng.pick(spec.formats());
    let mut fit = spec.default_fit();
    let mut quality = *rng.pick(spec.qualities());
    let presets: Vec<_> = spec.presets().values().collect();
    if !presets.is_empty() && rng.chance(40) {
        let p = rng.pick(&presets);
        (width, height, fit, quality) = (p.width, p.height, p.fit, p.quality);
        format = p.format.unwrap_or(format);
    } else if rng.chance(10) {
        fit = *rng.pick(&Fit::ALL);
    }
    if format == Format::Png {
        quality = spec.default_quality();
    }
    let ext = rng
        .pick(&spec.extensions().keys().collect::<Vec<_>>())
        .to_string();
    let source_key = format!(
        "{}{}.{ext}",
        rng.pick(&["photos/", "", "My Photos/", "日本/", "a/b/"]),
        rng.pick(&["Further", "IMG 0001", "café", "x"])
    );
    let v = Variant {
        width,
        height,
        fit,
        quality,
        format,
        source_key,
    };
    let uri = v.uri(spec);
    if rng.chance(40) {
        return uri;
    }
    let mutations: &[(&str, &str)] = &[
        ("/w", "/w0"),
        ("-h0-", "-h1-"),
        ("-q", "-q0"),
        ("-q", "-x-q"),
        ("inside", "cover"),
        ("cover", "inside"),
        (".webp", ".avif"),
        (".jpeg", ".jpg"),
        ("/g", "/g0"),
        ("/g", "/"),
        ("%20", " "),
        ("%C3%A9", "%c3%a9"),
        ("%E6", "%e6"),
        ("/x.", "/%78."),
        ("photos/", "photos//"),
        ("Further", "%2e%2e"),
    ];
    let (from, to) = rng.pick(mutations);
    let mut out = uri.replacen(from, to, 1);
    if rng.chance(10) {
        out.push('/');
    }
    if rng.chance(5) {
        out = out.replacen(spec.prefix(), &spec.prefix().to_uppercase(), 1);
    }
    out
}

fn gen_event(rng: &mut Rng, spec: &Spec) -> Value {
    // Half the requests are well-formed (deep paths through snapping and negotiation), half junk.
    let clean = rng.chance(50);
    let uri = gen_path(rng, spec, clean);
    let mut names: Vec<String> = Vec::new();
    for role in Role::ALL {
        names.extend(spec.params().names(role).iter().cloned());
    }
    // Aliases of the other spec, so each spec also sees names it does not know.
    names.extend(
        [
            "w", "width", "wid", "d", "box", "fmt", "mode", "x", "q", "quality", "f", "format",
            "h", "hei", "fit", "dpr", "p", "preset", "look",
        ]
        .map(String::from),
    );
    let mut qs = Map::new();
    let n = if rng.chance(2) {
        60 + rng.below(10)
    } else if clean {
        1 + rng.below(4)
    } else {
        rng.below(6)
    };
    for _ in 0..n {
        let mut name = if rng.chance(if clean { 95 } else { 85 }) {
            rng.pick(&names).clone()
        } else {
            rng.pick(UNKNOWN).to_string()
        };
        if rng.chance(if clean { 2 } else { 7 }) {
            name = name.to_uppercase();
        }
        let value = values_for(
            rng,
            spec,
            spec.params().role_of(&name.to_ascii_lowercase()),
            clean,
        );
        match qs.get_mut(&name) {
            // A repeated name: CloudFront's multiValue shape.
            Some(Value::Object(f)) => {
                if !f.contains_key("multiValue") {
                    let first = f["value"].clone();
                    f.insert("multiValue".into(), json!([{ "value": first }]));
                }
                f["multiValue"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "value": value }));
            }
            _ => {
                qs.insert(name, json!({ "value": value }));
            }
        }
    }
    if clean && !spec.presets().is_empty() && rng.chance(if spec.presets_only() { 80 } else { 15 })
    {
        // What a page of a presets spec asks for: a preset, sometimes a format.
        qs.clear();
        let p = spec.params().primary(Role::Preset);
        qs.insert(p.into(), json!({ "value": preset_name(rng, spec) }));
        if rng.chance(20) {
            let f = values_for(rng, spec, Some(Role::Format), true);
            qs.insert(
                spec.params().primary(Role::Format).into(),
                json!({ "value": f }),
            );
        }
    } else if clean && !spec.ratios().is_empty() && rng.chance(25) {
        // A box of an allowed shape, as pages write it (rounded, sometimes off by one).
        let r = *rng.pick(spec.ratios());
        let w = 1 + rng.below(3000) as u32;
        let h = (r.height(w) as i64 + [-1, 0, 0, 0, 1][rng.below(5)]).max(1);
        qs.insert(
            spec.params().primary(Role::Width).into(),
            json!({ "value": w.to_string() }),
        );
        qs.insert(
            spec.params().primary(Role::Height).into(),
            json!({ "value": h.to_string() }),
        );
    }
    let mut headers = Map::new();
    headers.insert(
        "host".into(),
        json!({"value": "d111111abcdef8.cloudfront.net"}),
    );
    let roll = rng.below(100);
    if roll < 75 {
        let accept = if rng.chance(60) {
            rng.pick(ACCEPTS).to_string()
        } else if rng.chance(3) {
            format!("image/webp,{}", "x".repeat(4100))
        } else {
            (0..1 + rng.below(4))
                .map(|_| format!("{}{}", rng.pick(ACCEPT_PARTS), rng.pick(QS)))
                .collect::<Vec<_>>()
                .join(",")
        };
        if rng.chance(5) {
            let second = rng.pick(ACCEPTS).to_string();
            headers.insert(
                "accept".into(),
                json!({"value": accept, "multiValue": [{"value": accept}, {"value": second}]}),
            );
        } else {
            headers.insert("accept".into(), json!({ "value": accept }));
        }
    }
    json!({
        "version": "1.0",
        "context": {"eventType": "viewer-request", "distributionId": "EDFDVBD6EXAMPLE"},
        "viewer": {"ip": "198.51.100.7"},
        "request": {"method": "GET", "uri": uri, "querystring": qs, "headers": headers, "cookies": {}}
    })
}

/// The keys of the signed spec's store: slots a and o; b is absent (a signature naming it fails).
fn test_keys() -> Keys {
    let mut k = Keys::new();
    k.set('a', "site-key-a-0123456789").unwrap();
    k.set('o', "origin-key-o-0123456789").unwrap();
    k
}

/// A signature for a variant request, as a page would carry one: mostly valid, else made with a
/// key the store lacks, tampered with, upper-cased, doubled, or missing.
fn add_signature(rng: &mut Rng, spec: &Spec, keys: &Keys, event: &mut Value) {
    let req: ViewerRequestEvent = serde_json::from_value(event.clone()).unwrap();
    let Some(m) = viewer_fn::signing_message(spec, &req.request) else {
        return;
    };
    let mut other = Keys::new();
    other.set('b', "not-in-the-store-0123").unwrap();
    let good = keys.sign(*rng.pick(&['a', 'o']), &m).unwrap();
    let values: Vec<String> = match rng.below(12) {
        0..=5 => vec![good],
        6 => vec![other.sign('b', &m).unwrap()],
        7 => vec![format!(
            "{}{}",
            &good[..31],
            if good.ends_with('0') { '1' } else { '0' }
        )],
        8 => vec![good.to_uppercase()],
        9 => vec![good.clone(), good],
        10 => vec![good, keys.sign('a', "another message").unwrap()],
        _ => vec![],
    };
    let name = spec.params().primary(Role::Signature).to_string();
    let qs = event["request"]["querystring"].as_object_mut().unwrap();
    match values.as_slice() {
        [] => {}
        [one] => {
            qs.insert(name, json!({ "value": one }));
        }
        [first, ..] => {
            let multi: Vec<Value> = values.iter().map(|v| json!({ "value": v })).collect();
            qs.insert(name, json!({ "value": first, "multiValue": multi }));
        }
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn differential(spec_name: &str, count: usize, seed: u64) {
    let spec = common::load_spec(spec_name);
    let js = viewer_fn::generate(&spec);
    let keys = test_keys();
    let mut rng = Rng(seed);
    let events: Vec<String> = (0..count)
        .map(|_| {
            let mut e = gen_event(&mut rng, &spec);
            if spec.signed() {
                add_signature(&mut rng, &spec, &keys, &mut e);
            }
            e.to_string()
        })
        .collect();
    let rust: Vec<Value> = events
        .iter()
        .map(|e| {
            let event: ViewerRequestEvent = serde_json::from_str(e).unwrap();
            serde_json::to_value(rewrite_with(&spec, &keys, &event)).unwrap()
        })
        .collect();

    // I1/I2 link: whatever the function writes, the origin side accepts, and the function passes
    // unchanged when it comes back (a redirect to the canonical URL, a cache miss replayed).
    for (event, out) in events.iter().zip(&rust) {
        let Ok(viewer_fn::ViewerResult::Request(r)) =
            serde_json::from_value::<viewer_fn::ViewerResult>(out.clone())
        else {
            continue;
        };
        let before: ViewerRequestEvent = serde_json::from_str(event).unwrap();
        if r.uri == before.request.uri {
            continue;
        }
        // An original's URI respelled canonically is a fixed point too.
        if let viewer_fn::Outcome::Original(again) = viewer_fn::resolve(&spec, &r) {
            assert_eq!(again, r.uri, "canonical original {} is not stable", r.uri);
            assert_eq!(
                r.querystring, before.request.querystring,
                "an original keeps its query"
            );
            continue;
        }
        let v = Variant::parse(&spec, &r.uri)
            .unwrap_or_else(|e| panic!("origin refuses {} ({e}) for {event}", r.uri));
        assert_eq!(v.uri(&spec), r.uri);
        assert_eq!(
            viewer_fn::resolve(&spec, &r),
            viewer_fn::Outcome::Canonical(v),
            "rewritten {} is not stable",
            r.uri
        );
    }

    let node = common::run_node_with(&js, &events, &format!("differential-{spec_name}"), &keys);
    let qjs = common::QuickJs::with_keys(&js, &keys);
    let mut mismatches = Vec::new();
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for (i, (event, want)) in events.iter().zip(&rust).enumerate() {
        let kind = match want.get("statusCode") {
            Some(s) => format!("status {s}"),
            None if want["uri"]
                != serde_json::from_str::<Value>(event).unwrap()["request"]["uri"] =>
            {
                "rewritten".into()
            }
            None => "untouched".into(),
        };
        *kinds.entry(kind).or_default() += 1;
        for (engine, out) in [("node", node[i].clone()), ("quickjs", qjs.call(event))] {
            if let Err(e) = common::same_json(&out, want) {
                mismatches.push(format!("#{i} {engine} differs on request {event}\n{e}"));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatch(es) on spec {spec_name} (seed {seed}); first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The mix must exercise every branch kind, or the generator has gone blind.
    assert!(
        kinds.get("rewritten").copied().unwrap_or(0) > count / 10,
        "too few rewrites: {kinds:?}"
    );
    assert!(
        kinds.get("untouched").copied().unwrap_or(0) > count / 20,
        "too few pass-throughs: {kinds:?}"
    );
    assert!(
        kinds.get("status 400").copied().unwrap_or(0) > count / 10,
        "too few rejections: {kinds:?}"
    );
    assert!(kinds.contains_key("status 414"), "no 414: {kinds:?}");
    if spec.signed() {
        assert!(
            kinds.get("status 403").copied().unwrap_or(0) > count / 20,
            "too few refused signatures: {kinds:?}"
        );
    }
    println!("differential ({spec_name}): {count} generated requests, Node and QuickJS agree with the native rewrite {kinds:?}");
}

#[test]
fn generated_js_matches_native_rewrite_default_spec() {
    let n = env_num("SCALEFRONT_DIFF_CASES", 12_000) as usize;
    differential("default", n, env_num("SCALEFRONT_DIFF_SEED", 20_261_125));
}

#[test]
fn generated_js_matches_native_rewrite_wide_spec() {
    let n = env_num("SCALEFRONT_DIFF_CASES", 12_000) as usize / 2;
    differential(
        "wide",
        n,
        env_num("SCALEFRONT_DIFF_SEED", 20_261_125) ^ 0xA5A5,
    );
}

#[test]
fn generated_js_matches_native_rewrite_presets_only_spec() {
    let n = env_num("SCALEFRONT_DIFF_CASES", 12_000) as usize / 4;
    differential(
        "presets-only",
        n,
        env_num("SCALEFRONT_DIFF_SEED", 20_261_125) ^ 0x5A5A,
    );
}

#[test]
fn generated_js_matches_native_rewrite_signed_spec() {
    let n = env_num("SCALEFRONT_DIFF_CASES", 12_000) as usize / 2;
    differential(
        "signed",
        n,
        env_num("SCALEFRONT_DIFF_SEED", 20_261_125) ^ 0x3C3C,
    );
}

#[test]
fn variant_keys_round_trip() {
    for spec_name in ["default", "wide", "presets-only"] {
        let spec = common::load_spec(spec_name);
        let mut rng = Rng(7);
        for _ in 0..5_000 {
            let uri = variant_uri(&mut rng, &spec);
            if let Ok(v) = Variant::parse(&spec, &uri) {
                assert_eq!(Variant::parse(&spec, &v.key(&spec)), Ok(v.clone()), "{uri}");
                assert_eq!(Variant::parse(&spec, &v.uri(&spec)), Ok(v), "{uri}");
            }
        }
    }
}
