//! Where packages go: one artifacts bucket per account and region (Lambda reads a function's code
//! only from a bucket in the function's region). The names are predictable, so every call on
//! them names the account that must own them: a bucket someone else created first is refused
//! (403), never used.
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::STACK_REGION;
use crate::aws::{Aws, ErrorKind};

/// `scalefront-artifacts-<account>` in us-east-1, `scalefront-artifacts-<account>-<region>`
/// elsewhere.
pub fn bucket_name(account: &str, region: &str) -> String {
    if region == STACK_REGION {
        format!("scalefront-artifacts-{account}")
    } else {
        format!("scalefront-artifacts-{account}-{region}")
    }
}

/// The account that must own an artifacts bucket: the one its name carries.
pub fn owner(bucket: &str) -> Result<&str> {
    bucket
        .strip_prefix("scalefront-artifacts-")
        .map(|rest| rest.split('-').next().unwrap_or(""))
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        .with_context(|| {
            format!("{bucket} is not scalefront-artifacts-<12-digit account id>[-<region>]")
        })
}

/// Makes sure the artifacts bucket exists and is this account's.
pub fn ensure_bucket(
    aws: &Aws,
    bucket: &str,
    region: &str,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    let owner = owner(bucket)?;
    let head = [
        "s3api",
        "head-bucket",
        "--bucket",
        bucket,
        "--expected-bucket-owner",
        owner,
    ];
    let exists = match aws.call_opt(region, &head) {
        Ok(v) => v.is_some(),
        Err(e) if matches!(e.kind, ErrorKind::AccessDenied { .. }) => bail!(
            "the artifacts bucket {bucket} exists but is not this account's ({owner}): someone else created it; deploy refuses to upload there ({e})"
        ),
        Err(e) => return Err(e.into()),
    };
    if !exists {
        say(&format!(
            "creating the artifacts bucket {bucket} in {region}"
        ));
        create_private_bucket(aws, bucket, region)?;
    }
    Ok(())
}

/// Puts `file` at `key` unless it is there (package keys are content-addressed; the signing keys'
/// object is the stack's), encrypted at rest (SSE-S3).
pub fn upload_once(
    aws: &Aws,
    bucket: &str,
    region: &str,
    key: &str,
    file: &Path,
    what: &str,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    let owner = owner(bucket)?;
    let head = [
        "s3api",
        "head-object",
        "--bucket",
        bucket,
        "--key",
        key,
        "--expected-bucket-owner",
        owner,
    ];
    if aws.call_opt(region, &head)?.is_some() {
        say(&format!("{what} already uploaded: s3://{bucket}/{key}"));
        return Ok(());
    }
    say(&format!(
        "uploading {} to s3://{bucket}/{key}",
        file.display()
    ));
    let body = file.to_string_lossy();
    let put = [
        "s3api",
        "put-object",
        "--bucket",
        bucket,
        "--key",
        key,
        "--body",
        &body,
        "--server-side-encryption",
        "AES256",
        "--expected-bucket-owner",
        owner,
    ];
    aws.call(region, &put)?;
    Ok(())
}

/// A bucket with public access blocked and ACLs off.
pub fn create_private_bucket(aws: &Aws, bucket: &str, region: &str) -> Result<()> {
    let constraint = format!("LocationConstraint={region}");
    let mut args = vec!["s3api", "create-bucket", "--bucket", bucket];
    if region != "us-east-1" {
        args.extend(["--create-bucket-configuration", &constraint]);
    }
    aws.call(region, &args)?;
    aws.call(region, &["s3api", "put-public-access-block", "--bucket", bucket, "--public-access-block-configuration", "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"])?;
    aws.call(
        region,
        &[
            "s3api",
            "put-bucket-ownership-controls",
            "--bucket",
            bucket,
            "--ownership-controls",
            "Rules=[{ObjectOwnership=BucketOwnerEnforced}]",
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_owners() {
        assert_eq!(
            bucket_name("123456789012", "us-east-1"),
            "scalefront-artifacts-123456789012"
        );
        assert_eq!(
            bucket_name("123456789012", "eu-west-1"),
            "scalefront-artifacts-123456789012-eu-west-1"
        );
        assert_eq!(
            owner("scalefront-artifacts-123456789012").unwrap(),
            "123456789012"
        );
        assert_eq!(
            owner("scalefront-artifacts-123456789012-eu-west-1").unwrap(),
            "123456789012"
        );
        assert!(owner("scalefront-artifacts-12").is_err());
        assert!(owner("my-bucket").is_err());
    }
}
