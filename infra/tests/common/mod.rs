//! A stand-in `aws` for calls moto lacks, answering from recorded responses shaped like AWS's
//! documented ones. Shared by infra's tests and, by path, the CLI's.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

/// The recorded KeyValueStore responses (`describe-stacks`, `describe-key-value-store`,
/// `put-key`).
pub fn kvs_fixtures() -> PathBuf {
    // `../infra` from either crate that uses this file.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/tests/kvs")
}

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An executable `dir/aws` that appends its arguments to `dir/calls.log`, then answers with
/// `cases`: the arms of a `case "$1 $2" in … esac` (`$log` names the log, `$f` the fixtures).
/// Anything else is an error, as AWS answers an unknown call.
pub fn stand_in(dir: &Path, cases: &str) -> PathBuf {
    let script = dir.join("aws");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nlog={log}\nf={f}\necho \"$*\" >> \"$log\"\ncase \"$1 $2\" in\n{cases}\n  *) echo \"An error occurred (InvalidAction) when calling the $1 operation: unexpected\" >&2; exit 254 ;;\nesac\n",
            log = dir.join("calls.log").display(),
            f = kvs_fixtures().display(),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// The stand-in's arms for a stack with signed URLs and its KeyValueStore; `put-key`'s input
/// file is copied into the log (it is deleted after the call).
pub const KVS: &str = r#"  "cloudformation describe-stacks") cat "$f/describe-stacks.json" ;;
  "cloudfront-keyvaluestore describe-key-value-store") cat "$f/describe-key-value-store.json" ;;
  "cloudfront-keyvaluestore put-key")
    input=$(echo "$4" | sed 's|^file://||'); cat "$input" >> "$log"; echo >> "$log"
    cat "$f/put-key.json" ;;"#;
