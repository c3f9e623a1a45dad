//! The artifacts bucket has a predictable name (`scalefront-artifacts-<account>`): every call on
//! it names the account that must own it, and a bucket someone else created first is refused.
//! A stand-in `aws` answers as S3 does for a bucket of another account (HeadBucket: 403).
mod common;

use std::path::Path;

use infra::aws::Aws;
use infra::deploy::{execute, Plan};
use infra::{Artifact, Mode};

/// S3 as it answers for the artifacts bucket (`head_bucket`: the HeadBucket arm), a package not
/// there yet; CloudFormation stops the run (the uploads before it are the point).
fn stand_in(dir: &Path, head_bucket: &str) -> std::path::PathBuf {
    let cases = format!(
        "  \"s3api head-bucket\") {head_bucket} ;;\n  \"s3api head-object\") echo 'An error occurred (404) when calling the HeadObject operation: Not Found' >&2; exit 254 ;;\n  \"s3api put-object\") echo '{{}}' ;;"
    );
    common::stand_in(dir, &cases)
}

fn plan(dir: &Path) -> Plan {
    let zip = dir.join("origin-response.zip");
    std::fs::write(&zip, b"zip").unwrap();
    Plan {
        stack: "sf".into(),
        mode: Mode::Edge,
        bucket: "example-photos".into(),
        bucket_region: "eu-west-1".into(),
        bucket_exists: Some(true),
        stack_status: Some(None),
        artifact_bucket: Some("scalefront-artifacts-123456789012".into()),
        package_file: zip,
        package: Artifact::of("origin-response", b"zip"),
        package_size: 3,
        template: String::new(),
        template_file: dir.join("template-edge.yaml"),
        signing_keys: None,
    }
}

#[test]
fn a_bucket_of_another_account_is_refused_before_any_upload() {
    let dir = common::scratch("artifacts");
    let forbidden = "echo 'An error occurred (403) when calling the HeadBucket operation: Forbidden' >&2; exit 254";
    let aws = Aws::with_program(stand_in(&dir, forbidden));
    let e = execute(&aws, &plan(&dir), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not this account's (123456789012)"), "{e}");
    let calls = std::fs::read_to_string(dir.join("calls.log")).unwrap();
    assert!(calls.lines().all(|l| !l.contains("put-object")), "{calls}");
    assert!(calls.contains("head-bucket --bucket scalefront-artifacts-123456789012 --expected-bucket-owner 123456789012"), "{calls}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_call_on_the_artifacts_bucket_names_its_owner() {
    let dir = common::scratch("artifacts-ok");
    let aws = Aws::with_program(stand_in(&dir, "echo '{}'"));
    let _ = execute(&aws, &plan(&dir), &mut |_| {});
    let calls = std::fs::read_to_string(dir.join("calls.log")).unwrap();
    let on_artifacts: Vec<&str> = calls
        .lines()
        .filter(|l| l.contains("scalefront-artifacts-123456789012") && l.starts_with("s3api"))
        .collect();
    assert!(
        on_artifacts
            .iter()
            .any(|l| l.starts_with("s3api put-object")),
        "{calls}"
    );
    for l in &on_artifacts {
        assert!(l.contains("--expected-bucket-owner 123456789012"), "{l}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
