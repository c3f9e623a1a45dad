//! Shared by the integration tests: the two real JavaScript engines that run the generated function.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rquickjs::{CatchResultExt, Context, Function, Runtime};
use serde_json::Value;
use viewer_fn::sign::Keys;
use viewer_fn::Spec;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn load_spec(name: &str) -> Spec {
    match name {
        "default" => Spec::default(),
        _ => {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/specs")
                .join(format!("{name}.toml"));
            Spec::from_toml(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        }
    }
}

/// A scratch directory under target/ for files handed to Node.
pub fn scratch(name: &str) -> PathBuf {
    let dir = repo_root().join("target/viewer-fn-tests").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the function over the events in Node (one process, `vm` context): one result per event.
pub fn run_node(js: &str, events: &[String], name: &str) -> Vec<String> {
    run_node_with(js, events, name, &Keys::new())
}

/// The same, with a local KeyValueStore holding these signing keys.
pub fn run_node_with(js: &str, events: &[String], name: &str, keys: &Keys) -> Vec<String> {
    let dir = scratch(name);
    let (fn_path, ev_path, kvs_path) = (
        dir.join("viewer-request.js"),
        dir.join("events.jsonl"),
        dir.join("kvs.json"),
    );
    std::fs::write(&fn_path, js).unwrap();
    std::fs::write(&ev_path, events.join("\n") + "\n").unwrap();
    std::fs::write(&kvs_path, keys.to_kvs_json()).unwrap();
    let runner = repo_root().join("tests/viewer-fn/run-events.mjs");
    let out = Command::new("node")
        .arg(&runner)
        .arg(&fn_path)
        .arg(&ev_path)
        .arg(&kvs_path)
        .output()
        .expect(
            "node must be installed (Node 20): the generated function is tested in a real engine",
        );
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    assert_eq!(
        lines.len(),
        events.len(),
        "node printed {} results for {} events",
        lines.len(),
        events.len()
    );
    lines
}

/// The generated function loaded once into an embedded QuickJS, called with JSON in, JSON out —
/// the way the local edge runs it (a signed function as a script, with the local modules).
pub struct QuickJs {
    _rt: Runtime,
    ctx: Context,
}

impl QuickJs {
    pub fn new(js: &str) -> QuickJs {
        QuickJs::with_keys(js, &Keys::new())
    }

    pub fn with_keys(js: &str, keys: &Keys) -> QuickJs {
        let rt = Runtime::new().unwrap();
        // CloudFront Functions get 2 MB; QuickJS's own bookkeeping needs some on top.
        rt.set_memory_limit(8 << 20);
        let ctx = Context::full(&rt).unwrap();
        let kvs: std::collections::BTreeMap<String, String> = viewer_fn::sign::SLOTS
            .iter()
            .filter_map(|&s| Some((viewer_fn::sign::kvs_key(s), keys.get(s)?.to_string())))
            .collect();
        ctx.with(|c| {
            let g = c.globals();
            g.set(
                "__sf_hmac",
                Function::new(c.clone(), |k: String, m: String| {
                    viewer_fn::sign::hmac_hex(&k, &m)
                })
                .unwrap(),
            )
            .unwrap();
            g.set(
                "__sf_kvs_get",
                Function::new(c.clone(), move |k: String| kvs.get(&k).cloned()).unwrap(),
            )
            .unwrap();
            c.eval::<(), _>("var console = {log: function () {}};")
                .unwrap();
            c.eval::<(), _>(viewer_fn::LOCAL_MODULES).unwrap();
            c.eval::<(), _>(viewer_fn::as_script(js))
                .catch(&c)
                .unwrap_or_else(|e| panic!("QuickJS refused the function: {e}"));
            c.eval::<(), _>(
                "var __sf_out; function __sf_run(s) { __sf_out = undefined; var r = handler(JSON.parse(s)); \
                 if (r && typeof r.then === 'function') { r.then(function (v) { __sf_out = JSON.stringify(v); }, function (e) { __sf_out = 'handler rejected: ' + (e && e.stack || e); }); return null; } \
                 return JSON.stringify(r); } function __sf_settled() { return __sf_out; }",
            )
            .unwrap();
        });
        QuickJs { _rt: rt, ctx }
    }

    pub fn call(&self, event_json: &str) -> String {
        self.ctx.with(|c| {
            let f: Function = c.globals().get("__sf_run").unwrap();
            let direct = f
                .call::<_, Option<String>>((event_json,))
                .catch(&c)
                .unwrap_or_else(|e| panic!("QuickJS threw on {event_json}: {e}"));
            if let Some(s) = direct {
                return s;
            }
            while c.execute_pending_job() {}
            let settled: Function = c.globals().get("__sf_settled").unwrap();
            settled
                .call::<_, Option<String>>(())
                .unwrap()
                .unwrap_or_else(|| panic!("the handler's promise did not settle on {event_json}"))
        })
    }
}

/// Compares a JS result with the Rust one as JSON values (key order aside); `Err` explains.
pub fn same_json(js: &str, rust: &Value) -> Result<(), String> {
    let v: Value =
        serde_json::from_str(js).map_err(|e| format!("JS printed non-JSON ({e}): {js}"))?;
    if &v == rust {
        Ok(())
    } else {
        Err(format!("  JS:   {js}\n  Rust: {rust}"))
    }
}
