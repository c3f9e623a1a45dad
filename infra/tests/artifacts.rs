//! The artifacts bucket has a predictable name (`scalefront-artifacts-<account>`): every call on
//! it names the account that must own it, and a bucket someone else created first is refused.
//! A stand-in `aws` answers as S3 does for a bucket of another account (HeadBucket: 403).
//! Regional mode's buckets (`scalefront-artifacts-<account>-<region>`) are checked the same way.
mod common;

use std::path::Path;

use infra::aws::Aws;
use infra::deploy::artifacts;
use infra::Artifact;

/// S3 as it answers for the artifacts bucket (`head_bucket`: the HeadBucket arm), a package not
/// there yet.
fn stand_in(dir: &Path, head_bucket: &str) -> std::path::PathBuf {
    let cases = format!(
        "  \"s3api head-bucket\") {head_bucket} ;;\n  \"s3api head-object\") echo 'An error occurred (404) when calling the HeadObject operation: Not Found' >&2; exit 254 ;;\n  \"s3api put-object\") echo '{{}}' ;;"
    );
    common::stand_in(dir, &cases)
}

/// The upload step's calls: make sure of the bucket, then put the package once.
fn upload(aws: &Aws, dir: &Path) -> anyhow::Result<()> {
    let zip = dir.join("origin-response.zip");
    std::fs::write(&zip, b"zip").unwrap();
    let bucket = artifacts::bucket_name("123456789012", "us-east-1");
    artifacts::ensure_bucket(aws, &bucket, "us-east-1", &mut |_| {})?;
    let key = Artifact::of("origin-response", b"zip").key;
    artifacts::upload_once(
        aws,
        &bucket,
        "us-east-1",
        &key,
        &zip,
        "package",
        &mut |_| {},
    )
}

#[test]
fn a_bucket_of_another_account_is_refused_before_any_upload() {
    let dir = common::scratch("artifacts");
    let forbidden = "echo 'An error occurred (403) when calling the HeadBucket operation: Forbidden' >&2; exit 254";
    let aws = Aws::with_program(stand_in(&dir, forbidden));
    let e = upload(&aws, &dir).unwrap_err().to_string();
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
    upload(&aws, &dir).unwrap();
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
