//! Signing-key rotation on a deployed stack: a new secret written into the stack's CloudFront
//! KeyValueStore, which the viewer function reads at run time — no deploy, no new function.
//!
//! The store's data plane is `aws cloudfront-keyvaluestore` (it signs with SigV4A: AWS CLI v2, or
//! v1 with `awscrt`). A write must name the store's current ETag (`--if-match`), so it is two
//! calls: `describe-key-value-store`, then `put-key`.
//! ([PutKey](https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_PutKey.html))

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::aws::Aws;
use crate::deploy::STACK_REGION;

/// The stack output naming the store (templates: `SigningKeysArn`, present with signed URLs).
pub const OUTPUT: &str = "SigningKeysArn";

/// The store of a deployed stack; an error that says so when the stack signs no URLs.
pub fn store_of(aws: &Aws, stack: &str) -> Result<String> {
    let v = aws.call(
        STACK_REGION,
        &["cloudformation", "describe-stacks", "--stack-name", stack],
    )?;
    let outputs = v["Stacks"][0]["Outputs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match outputs.iter().find(|o| o["OutputKey"] == OUTPUT) {
        Some(o) => Ok(o["OutputValue"]
            .as_str()
            .context("SigningKeysArn has no value")?
            .to_string()),
        None => bail!(
            "stack {stack} has no KeyValueStore ({OUTPUT}): its rule spec does not set `signed = true`, or it was deployed before signed URLs"
        ),
    }
}

/// Writes `key` = `value` into the store, against its current ETag. Returns the new ETag. The
/// value (a secret) goes through a private file (`--cli-input-json`), never the command line,
/// where other users' `ps` would see it.
pub fn put(aws: &Aws, store: &str, key: &str, value: &str, scratch: &Path) -> Result<String> {
    let d = aws.call(
        STACK_REGION,
        &[
            "cloudfront-keyvaluestore",
            "describe-key-value-store",
            "--kvs-arn",
            store,
        ],
    )?;
    let etag = d["ETag"]
        .as_str()
        .context("describe-key-value-store gave no ETag")?;
    let input = serde_json::json!({"KvsARN": store, "Key": key, "Value": value, "IfMatch": etag});
    let file = scratch.join(format!("put-key-{}.json", std::process::id()));
    write_private(&file, input.to_string().as_bytes(), Replace::Yes)?;
    let arg = format!("file://{}", file.display());
    let r = aws.call(
        STACK_REGION,
        &[
            "cloudfront-keyvaluestore",
            "put-key",
            "--cli-input-json",
            &arg,
        ],
    );
    let _ = std::fs::remove_file(&file);
    Ok(r?["ETag"].as_str().unwrap_or_default().to_string())
}

/// What [`write_private`] does with a file already at the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Write a temporary file and rename it over the old one (never a half-written secret).
    Yes,
    /// Refuse: an existing key file is never overwritten.
    No,
}

/// Writes a file only its owner may read (0600): signing keys, and the inputs that carry them.
pub fn write_private(path: &Path, bytes: &[u8], replace: Replace) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let target = match replace {
        Replace::Yes => path.with_extension("new"),
        Replace::No => path.to_path_buf(),
    };
    if replace == Replace::Yes {
        let _ = std::fs::remove_file(&target);
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&target)
        .with_context(|| format!("creating {}", target.display()))?;
    f.write_all(bytes)?;
    if replace == Replace::Yes {
        std::fs::rename(&target, path).with_context(|| format!("replacing {}", path.display()))?;
    }
    Ok(())
}
