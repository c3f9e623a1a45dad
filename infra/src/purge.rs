//! `scalefront purge` against a deployed stack: the purge's steps ([`viewer_fn::purge`]) as aws
//! CLI calls — `s3api list-objects-v2` and `delete-objects` in the bucket's region,
//! `cloudfront create-invalidation` (global, us-east-1).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use viewer_fn::purge::{
    Delete, Input, Invalidate, Invalidation, List, Listing, Purge, Report, Step, Target,
    CACHE_TAG_HEADER,
};
use viewer_fn::Spec;

use crate::aws::Aws;

/// Where a deployed stack keeps variants and caches them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    pub bucket: String,
    pub bucket_region: String,
    pub distribution_id: String,
    /// Tags when the distribution's `CacheTagConfig` reads the header variants carry, else paths.
    pub invalidation: Invalidation,
}

/// CloudFront's API lives in us-east-1.
const CLOUDFRONT_REGION: &str = "us-east-1";

/// How often an invalidation refused for "too many in progress" is tried again, and the first
/// wait (doubling): CloudFront allows 15 wildcard paths / 3,000 file paths in progress, and an
/// invalidation usually completes within minutes. Source:
/// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/InvalidationLimits.html
const INVALIDATION_TRIES: u32 = 6;
const FIRST_WAIT: Duration = Duration::from_secs(10);

/// Finds the bucket and distribution of a scalefront stack (its parameters and outputs).
pub fn deployed(aws: &Aws, stack: &str) -> Result<Deployed> {
    let v = aws
        .call(
            CLOUDFRONT_REGION,
            &["cloudformation", "describe-stacks", "--stack-name", stack],
        )
        .with_context(|| format!("reading stack {stack}"))?;
    let find = |list: &str, key: &str, value: &str, want: &str| {
        v.pointer(&format!("/Stacks/0/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|o| o.get(key).and_then(Value::as_str) == Some(want))
            .and_then(|o| o.get(value).and_then(Value::as_str))
            .map(str::to_string)
    };
    let Some(bucket) = find("Parameters", "ParameterKey", "ParameterValue", "BucketName") else {
        bail!("stack {stack} has no BucketName parameter: is it a scalefront stack?");
    };
    let Some(distribution_id) = find("Outputs", "OutputKey", "OutputValue", "DistributionId")
    else {
        bail!("stack {stack} has no DistributionId output: is it a scalefront stack?");
    };
    let location = aws.call(
        CLOUDFRONT_REGION,
        &["s3api", "get-bucket-location", "--bucket", &bucket],
    )?;
    // S3 says null (or "") for us-east-1, "EU" for the oldest eu-west-1 buckets.
    let bucket_region = match location.get("LocationConstraint").and_then(Value::as_str) {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    };
    let config = aws.call(
        CLOUDFRONT_REGION,
        &[
            "cloudfront",
            "get-distribution-config",
            "--id",
            &distribution_id,
        ],
    )?;
    Ok(Deployed {
        bucket,
        bucket_region,
        invalidation: invalidation_for(&config),
        distribution_id,
    })
}

/// Cache tags when the distribution reads them from the header stored variants carry: one item
/// per original, however many variants, and no wildcard limit. A distribution without a
/// `CacheTagConfig` (deployed before it, or made by hand) gets wildcard paths.
pub fn invalidation_for(get_distribution_config: &Value) -> Invalidation {
    let header = get_distribution_config
        .pointer("/DistributionConfig/CacheTagConfig/HeaderName")
        .and_then(Value::as_str);
    if header.is_some_and(|h| h.eq_ignore_ascii_case(CACHE_TAG_HEADER)) {
        Invalidation::Tags
    } else {
        Invalidation::Paths
    }
}

/// Runs a purge against the deployed bucket and distribution; `say` gets one line per call.
pub fn run(
    aws: &Aws,
    at: &Deployed,
    spec: &Spec,
    target: Target,
    dry_run: bool,
    say: &mut dyn FnMut(&str),
) -> Result<Report> {
    let (mut purge, mut step) =
        Purge::start(spec, target, at.invalidation, dry_run).map_err(anyhow::Error::msg)?;
    loop {
        step = match step {
            Step::List(l) => purge.resume(Input::Listed(list(aws, at, &l))),
            Step::Delete(d) => {
                say(&format!("deleting {} stored variant(s)", d.keys.len()));
                purge.resume(Input::Deleted(delete(aws, at, &d)))
            }
            Step::Invalidate(i) => {
                say(&format!(
                    "invalidating {} item(s) in {}",
                    i.items.len(),
                    at.distribution_id
                ));
                purge.resume(Input::Invalidated(invalidate(aws, at, &i, say)))
            }
            Step::Done(report) => return Ok(report),
        };
    }
}

fn list(aws: &Aws, at: &Deployed, l: &List) -> Result<Listing, String> {
    let mut args = vec![
        "s3api",
        "list-objects-v2",
        "--bucket",
        &at.bucket,
        "--prefix",
        &l.prefix,
        "--no-paginate",
    ];
    if l.delimiter {
        args.extend(["--delimiter", "/"]);
    }
    if let Some(t) = &l.token {
        args.extend(["--continuation-token", t]);
    }
    let v = aws
        .call(&at.bucket_region, &args)
        .map_err(|e| e.to_string())?;
    let strings = |list: &str, field: &str| -> Vec<String> {
        v.get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| o.get(field).and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    };
    Ok(Listing {
        keys: strings("Contents", "Key"),
        folders: strings("CommonPrefixes", "Prefix"),
        next: v
            .get("NextContinuationToken")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

fn delete(aws: &Aws, at: &Deployed, d: &Delete) -> Result<Vec<(String, String)>, String> {
    let objects: Vec<Value> = d.keys.iter().map(|k| json!({ "Key": k })).collect();
    let request = ArgFile::new(&json!({ "Objects": objects, "Quiet": true }))?;
    let v = aws
        .call(
            &at.bucket_region,
            &[
                "s3api",
                "delete-objects",
                "--bucket",
                &at.bucket,
                "--delete",
                &request.arg,
            ],
        )
        .map_err(|e| e.to_string())?;
    Ok(v.get("Errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let s = |f: &str| e.get(f).and_then(Value::as_str).unwrap_or("").to_string();
            (s("Key"), format!("{} {}", s("Code"), s("Message")))
        })
        .collect())
}

fn invalidate(
    aws: &Aws,
    at: &Deployed,
    i: &Invalidate,
    say: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let batch: Value =
        serde_json::from_str(&invalidation_batch(&i.items, &caller_reference(&i.items)))
            .map_err(|e| e.to_string())?;
    let batch = ArgFile::new(&batch)?;
    let mut wait = FIRST_WAIT;
    for attempt in 1..=INVALIDATION_TRIES {
        match aws.call(
            CLOUDFRONT_REGION,
            &[
                "cloudfront",
                "create-invalidation",
                "--distribution-id",
                &at.distribution_id,
                "--invalidation-batch",
                &batch.arg,
            ],
        ) {
            Ok(_) => return Ok(()),
            Err(e)
                if e.code == "TooManyInvalidationsInProgress" && attempt < INVALIDATION_TRIES =>
            {
                say(&format!(
                    "CloudFront has too many invalidations in progress; trying again in {} s",
                    wait.as_secs()
                ));
                std::thread::sleep(wait);
                wait *= 2;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    unreachable!("the last try returns")
}

/// A JSON argument passed as `file://…`: a thousand 900-byte keys would pass Linux's 128 KiB limit
/// on one command-line argument. Removed when dropped. (Teardown's variant deletes use it too.)
pub(crate) struct ArgFile {
    path: std::path::PathBuf,
    pub(crate) arg: String,
}

impl ArgFile {
    pub(crate) fn new(v: &Value) -> Result<ArgFile, String> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("scalefront-purge-{}-{n}.json", std::process::id()));
        std::fs::write(&path, v.to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
        let arg = format!("file://{}", path.display());
        Ok(ArgFile { path, arg })
    }
}

impl Drop for ArgFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The `--invalidation-batch` JSON. The caller reference is derived from the items and the
/// time, so a retry of the same call is the same invalidation (CloudFront answers the existing
/// one) and a later purge of the same photo is a new one.
pub fn invalidation_batch(items: &[String], caller_reference: &str) -> String {
    json!({
        "Paths": { "Quantity": items.len(), "Items": items },
        "CallerReference": caller_reference,
    })
    .to_string()
}

fn caller_reference(items: &[String]) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let h = viewer_fn::fnv1a64(items.join("\n").as_bytes());
    format!("scalefront-purge-{secs}-{h:016x}")
}
