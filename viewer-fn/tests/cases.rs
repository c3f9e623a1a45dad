//! The committed case table (tests/cases.toml): every rule of the viewer-request function, checked
//! natively against the expectation and then in Node and QuickJS against the native result.

mod common;

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;
use viewer_fn::{rewrite, ViewerRequestEvent, ViewerResult};

/// Every rule the issue names; the table must have at least one case for each.
const RULES: &[&str] = &[
    "passthrough",
    "original-canonical",
    "snap-up",
    "snap-reject",
    "dpr",
    "aliases",
    "quality-snap",
    "f-auto",
    "accept-q0",
    "accept-wildcard",
    "explicit-format",
    "repeated",
    "unknown-dropped",
    "query-cleared",
    "invalid-value",
    "canonical-fit",
    "canonical-quality",
    "canonical-encoding",
    "unicode",
    "malformed-escape",
    "encoded-slash",
    "double-slash",
    "dot-segments",
    "control-chars",
    "extension",
    "not-an-image",
    "namespace-canonical",
    "namespace-reject",
    "bounds",
    "ratio",
    "preset",
    "presets-only",
    "originals-deny",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    rule: String,
    name: String,
    request: String,
    accept: Option<String>,
    spec: Option<String>,
    uri: Option<String>,
    #[serde(default)]
    untouched: bool,
    /// For the original: this URI, query and headers as they came.
    original: Option<String>,
    status: Option<u16>,
    message: Option<String>,
}

impl Case {
    fn event(&self) -> ViewerRequestEvent {
        // Requests too long to write out.
        let request = self
            .request
            .replace("{g}", viewer_fn::GENERATION)
            .replace("LONG_URI", &format!("{}.jpg", "a".repeat(4100)))
            .replace("LONG_KEY", &format!("{}.jpg", "k".repeat(950)));
        let headers: Vec<(String, String)> = self
            .accept
            .iter()
            .map(|a| {
                (
                    "accept".to_string(),
                    a.replace("LONG_ACCEPT", &format!("image/webp,{}", "x".repeat(4100))),
                )
            })
            .collect();
        ViewerRequestEvent::from_http(&request, &headers)
    }

    fn spec_name(&self) -> &str {
        self.spec.as_deref().unwrap_or("default")
    }

    fn check(&self, event: &ViewerRequestEvent, result: &ViewerResult) -> Result<(), String> {
        let expectations = [
            self.uri.is_some(),
            self.untouched,
            self.original.is_some(),
            self.status.is_some(),
        ];
        if expectations.iter().filter(|&&e| e).count() != 1 {
            return Err("give exactly one of uri, untouched, original, status".into());
        }
        match result {
            ViewerResult::Request(r) if self.original.is_some() => {
                let want = self.original.as_deref().unwrap();
                let mut expected = event.request.clone();
                expected.uri = want.to_string();
                (r == &expected).then_some(()).ok_or_else(|| {
                    format!("expected the original at {want}, query kept; got {r:?}")
                })
            }
            ViewerResult::Request(r) if self.untouched => (r == &event.request)
                .then_some(())
                .ok_or_else(|| format!("expected untouched, got {r:?}")),
            ViewerResult::Request(r) if self.uri.is_some() => {
                let want = &self
                    .uri
                    .as_deref()
                    .unwrap()
                    .replace("{g}", viewer_fn::GENERATION);
                if &r.uri != want {
                    return Err(format!("expected uri {want}, got {}", r.uri));
                }
                if !r.querystring.as_ref().is_some_and(|q| q.is_empty()) {
                    return Err("the query string must be cleared".into());
                }
                if r.headers != event.request.headers || r.rest != event.request.rest {
                    return Err("only uri and querystring may change".into());
                }
                Ok(())
            }
            ViewerResult::Response(resp) if self.status.is_some() => {
                if Some(resp.status_code) != self.status {
                    return Err(format!(
                        "expected status {:?}, got {} ({})",
                        self.status, resp.status_code, resp.body.data
                    ));
                }
                let msg = self
                    .message
                    .as_deref()
                    .ok_or("a status case needs a message")?;
                if !resp.body.data.contains(msg) {
                    return Err(format!("body {:?} lacks {msg:?}", resp.body.data));
                }
                Ok(())
            }
            other => Err(format!(
                "unexpected result {}",
                serde_json::to_string(other).unwrap()
            )),
        }
    }
}

fn table() -> Table {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases.toml");
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_rule_has_a_case() {
    let t = table();
    let named: BTreeSet<&str> = t.case.iter().map(|c| c.rule.as_str()).collect();
    let missing: Vec<&&str> = RULES.iter().filter(|r| !named.contains(**r)).collect();
    assert!(missing.is_empty(), "rules without a case: {missing:?}");
    let unknown: Vec<&&str> = named.iter().filter(|r| !RULES.contains(r)).collect();
    assert!(unknown.is_empty(), "cases name unknown rules: {unknown:?}");
}

#[test]
fn native_rewrite_meets_every_case() {
    let mut failures = Vec::new();
    for c in table().case {
        let event = c.event();
        let result = rewrite(&common::load_spec(c.spec_name()), &event);
        if let Err(e) = c.check(&event, &result) {
            failures.push(format!("[{}] {} ({}): {e}", c.rule, c.name, c.request));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn node_and_quickjs_agree_on_every_case() {
    let t = table();
    let mut failures = Vec::new();
    let specs: BTreeSet<&str> = t.case.iter().map(|c| c.spec_name()).collect();
    for spec_name in specs {
        let spec = common::load_spec(spec_name);
        let js = viewer_fn::generate(&spec);
        let cases: Vec<&Case> = t
            .case
            .iter()
            .filter(|c| c.spec_name() == spec_name)
            .collect();
        let events: Vec<String> = cases
            .iter()
            .map(|c| serde_json::to_string(&c.event()).unwrap())
            .collect();
        let node = common::run_node(&js, &events, &format!("cases-{spec_name}"));
        let qjs = common::QuickJs::new(&js);
        for ((c, ev), node_out) in cases.iter().zip(&events).zip(&node) {
            let rust: Value = serde_json::to_value(rewrite(&spec, &c.event())).unwrap();
            for (engine, out) in [("node", node_out.clone()), ("quickjs", qjs.call(ev))] {
                if let Err(e) = common::same_json(&out, &rust) {
                    failures.push(format!(
                        "[{}] {} — {engine} differs on {ev}\n{e}",
                        c.rule, c.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatch(es):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
