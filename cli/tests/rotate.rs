//! `scalefront sign --rotate` through a stand-in `aws` answering from recorded responses
//! (infra/tests/kvs): the store is written first, then the keys file, whose other entries stay.
#[path = "../../infra/tests/common/mod.rs"]
mod common;

use std::process::Command;

#[test]
fn rotate_writes_the_store_then_the_file_keeping_its_other_entries() {
    let dir = common::scratch("rotate");
    let keys = dir.join("keys.json");
    let before = r#"{"data":[{"key":"scalefront-a","value":"aaaaaaaaaaaaaaaaaaaa"},{"key":"scalefront-o","value":"oooooooooooooooooooo"},{"key":"site-banner","value":"hello"}]}"#;
    std::fs::write(&keys, before).unwrap();
    let bin = env!("CARGO_BIN_EXE_scalefront");
    let run = |args: &[&str]| {
        Command::new(bin)
            .args(args)
            .env("SCALEFRONT_AWS", common::stand_in(&dir, common::KVS))
            .output()
            .unwrap()
    };
    let rotate_b = |extra: &[&str]| {
        let mut args = vec![
            "sign",
            "--rotate",
            "b",
            "--stack",
            "scalefront-example-photos",
        ];
        args.extend(["--keys", keys.to_str().unwrap()]);
        args.extend(extra);
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    rotate_b(&["--dry-run"]);
    assert!(!dir.join("calls.log").exists(), "a dry run calls nothing");
    assert_eq!(std::fs::read_to_string(&keys).unwrap(), before);

    rotate_b(&[]);
    let calls = std::fs::read_to_string(dir.join("calls.log")).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    for (line, call) in lines.iter().zip([
        "cloudformation describe-stacks",
        "cloudfront-keyvaluestore describe-key-value-store",
        "cloudfront-keyvaluestore put-key",
    ]) {
        assert!(line.starts_with(call), "{calls}");
    }
    // The store got the secret the file now holds (put-key's input, copied by the stand-in).
    let put: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
    assert_eq!(put["Key"], "scalefront-b");
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    let entries = after["data"].as_array().unwrap();
    let value = |k: &str| {
        entries
            .iter()
            .find(|e| e["key"] == k)
            .map(|e| e["value"].as_str().unwrap().to_string())
    };
    assert_eq!(
        value("scalefront-a").as_deref(),
        Some("aaaaaaaaaaaaaaaaaaaa")
    );
    assert_eq!(
        value("site-banner").as_deref(),
        Some("hello"),
        "other entries stay"
    );
    assert_eq!(
        value("scalefront-b").map(|v| v.len()),
        Some(64),
        "a new 32-byte secret"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // New keys are private too, and never overwrite.
    let fresh = dir.join("fresh.json");
    assert!(run(&["sign", "--new-keys", fresh.to_str().unwrap()])
        .status
        .success());
    assert_eq!(
        std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!run(&["sign", "--new-keys", fresh.to_str().unwrap()])
        .status
        .success());
    std::fs::remove_dir_all(&dir).unwrap();
}
