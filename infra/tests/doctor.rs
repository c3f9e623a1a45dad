//! The doctor's checks on recorded setups: `tests/doctor/*-good.json` are healthy setups as the AWS
//! APIs return them (every check passes, none warns); each `tests/doctor/broken/*.json` breaks one
//! thing, as a JSON merge patch (RFC 7386) over a good setup, and names the check that must fail
//! (`fails`) — or, for what still works but will not for long or under load, warn (`warns`) — and
//! only it, unless the breakage necessarily trips another (`also_fails`). Every check has at least
//! one broken setup.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use infra::doctor::{checks, report, Facts, CHECKS};
use serde_json::{Map, Value};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/doctor")
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn at<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Map<String, Value> {
    path.iter()
        .fold(v, |v, k| &mut v[k.as_str().unwrap()])
        .as_object_mut()
        .expect("path to an object")
}

fn facts_of(fixture: &Value) -> Facts {
    let mut base = read(&dir().join(fixture["base"].as_str().unwrap()));
    // Keys that follow an ARN the patch changes (the collector keys facts by the ARN it read).
    for r in fixture["rename"].as_array().into_iter().flatten() {
        let r = r.as_array().unwrap();
        let (map, old, new) = (
            r[0].as_str().unwrap(),
            r[1].as_str().unwrap(),
            r[2].as_str().unwrap(),
        );
        let m = base[map].as_object_mut().unwrap();
        let v = m.remove(old).unwrap_or_else(|| panic!("rename: no {old}"));
        m.insert(new.to_owned(), v);
    }
    merge(&mut base, &fixture["patch"]);
    // Merge patches cannot write null; `set_null` can (e.g. "this function has no LIVE stage").
    for p in fixture["set_null"].as_array().into_iter().flatten() {
        let p = p.as_array().unwrap();
        at(&mut base, &p[..p.len() - 1])
            .insert(p[p.len() - 1].as_str().unwrap().to_owned(), Value::Null);
    }
    serde_json::from_value(base).expect("patched facts still deserialise")
}

#[test]
fn healthy_setups_pass_every_check() {
    for name in ["edge-good.json", "regional-good.json"] {
        let facts: Facts = serde_json::from_value(read(&dir().join(name))).unwrap();
        let lines = checks::run(&facts);
        let text = report(&facts, &lines);
        assert!(lines.iter().all(|l| l.ok && !l.warn), "{name}:\n{text}");
        let ran: BTreeSet<&str> = lines.iter().map(|l| l.check).collect();
        let expected: &[&str] = if name.starts_with("edge") {
            &[
                "distribution",
                "resizer",
                "function-region",
                "association-version",
                "edge-runtime",
                "edge-arch",
                "edge-env",
                "event-type",
                "role-trust",
                "origin-access",
                "bucket-policy",
                "list-bucket",
                "write-scope",
                "viewer-function",
                "cache-key",
                "invocations",
                "logs",
                "log-retention",
                "concurrency",
                "signing-keys",
                "certificate",
                "certificate-names",
                "viewer-tls",
                "alias-dns",
                "purge-function",
                "purge-permissions",
                "purge-events",
            ]
        } else {
            &[
                "distribution",
                "resizer",
                "event-type",
                "origin-access",
                "bucket-policy",
                "list-bucket",
                "write-scope",
                "viewer-function",
                "cache-key",
                "failover",
                "url-permissions",
                "invocations",
                "logs",
                "log-retention",
                "concurrency",
                "purge-function",
                "purge-permissions",
                "purge-events",
            ]
        };
        for c in expected {
            assert!(ran.contains(c), "{name}: check {c} did not run:\n{text}");
        }
        // A distribution without aliases (regional-good) skips the checks of the site's own domain.
        let domain_checks = [
            "certificate",
            "certificate-names",
            "viewer-tls",
            "alias-dns",
        ];
        if facts
            .distribution
            .distribution
            .distribution_config
            .aliases
            .items
            .is_empty()
        {
            assert!(
                domain_checks.iter().all(|c| !ran.contains(c)),
                "{name}: domain checks ran without aliases:\n{text}"
            );
        }
        assert!(text.ends_with(&format!("doctor: all {} checks fine\n", lines.len())));
    }
}

#[test]
fn each_broken_setup_fails_its_check() {
    let mut proven = BTreeSet::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir().join("broken"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for path in paths {
        let fixture = read(&path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (want, warns) = match (fixture["fails"].as_str(), fixture["warns"].as_str()) {
            (Some(c), None) => (c, false),
            (None, Some(c)) => (c, true),
            _ => panic!("{name}: say either fails or warns"),
        };
        let also: BTreeSet<&str> = fixture["also_fails"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().unwrap())
            .collect();
        let facts = facts_of(&fixture);
        let lines = checks::run(&facts);
        let text = report(&facts, &lines);
        if std::env::var_os("SHOW_REPORTS").is_some() {
            eprintln!("== {name}\n{text}");
        }
        let failed: BTreeSet<&str> = lines.iter().filter(|l| !l.ok).map(|l| l.check).collect();
        let warned: BTreeSet<&str> = lines
            .iter()
            .filter(|l| l.ok && l.warn)
            .map(|l| l.check)
            .collect();
        let (hit, mark) = if warns {
            (&warned, "WARN")
        } else {
            (&failed, "FAIL")
        };
        assert!(
            hit.contains(want),
            "{name}: expected {want} to {}:\n{text}",
            if warns { "warn" } else { "fail" }
        );
        let unexpected: Vec<&&str> = failed
            .iter()
            .chain(warned.iter())
            .filter(|c| **c != want && !also.contains(**c))
            .collect();
        assert!(
            unexpected.is_empty(),
            "{name}: {unexpected:?} failed or warned too:\n{text}"
        );
        for l in lines.iter().filter(|l| !l.ok || l.warn) {
            assert!(
                !l.fix.is_empty(),
                "{name}: {} fails or warns without a fix",
                l.check
            );
        }
        // The report shows the failure or warning with its fix on the check's own line.
        assert!(
            text.lines()
                .any(|l| l.starts_with(mark) && l.contains(want) && l.contains("— fix: ")),
            "{name}:\n{text}"
        );
        if warns {
            assert!(failed.is_empty(), "{name}: a warning alone fails nothing");
            assert!(
                text.ends_with(&format!(
                    "doctor: no problems among {} checks, {} warning(s)\n",
                    lines.len(),
                    warned.len()
                )),
                "{name}:\n{text}"
            );
        }
        proven.insert(want.to_owned());
    }
    let mut all: Vec<&str> = CHECKS.iter().map(|(c, _)| *c).collect();
    all.push("collect");
    let unproven: Vec<&&str> = all.iter().filter(|c| !proven.contains(**c)).collect();
    assert!(
        unproven.is_empty(),
        "checks without a broken setup proving they can fail: {unproven:?}"
    );
}
