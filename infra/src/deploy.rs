//! `scalefront deploy`: upload the package, create or update the stack (in us-east-1), wait with
//! progress, merge the bucket policy statement, print the domain and a test URL.
//!
//! The plan is computed first ([`Plan`], [`Plan::describe`]) so `--dry-run` shows exactly what would
//! happen; the pure parts (plan text, policy merge, event lines) are unit-tested, the AWS calls go
//! through [`Aws`].
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::aws::{Aws, ErrorKind};
use crate::template::{Artifact, Mode};

/// Stacks live here: Lambda@Edge must be created in us-east-1 and CloudFront is managed from it.
pub const STACK_REGION: &str = "us-east-1";

/// What deploy will do. Built from the command line and (unless a dry run) from what AWS says.
#[derive(Clone, Debug)]
pub struct Plan {
    pub stack: String,
    pub mode: Mode,
    pub bucket: String,
    pub bucket_region: String,
    /// `None`: not asked (dry run).
    pub bucket_exists: Option<bool>,
    /// `None`: not asked (dry run).
    pub stack_status: Option<Option<String>>,
    /// `scalefront-artifacts-<account>`; `None` on a dry run.
    pub artifact_bucket: Option<String>,
    pub package_file: PathBuf,
    pub package: Artifact,
    pub package_size: u64,
    /// The rendered template (with `artifact_bucket` as the parameter default when known).
    pub template: String,
    pub template_file: PathBuf,
    /// With `signed = true`: the keys file and its key in the artifacts bucket (the stack's
    /// KeyValueStore is imported from it).
    pub signing_keys: Option<(PathBuf, String)>,
}

/// The account that must own an artifacts bucket: the one its name ends with.
pub fn artifacts_owner(bucket: &str) -> Result<&str> {
    bucket
        .strip_prefix("scalefront-artifacts-")
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        .with_context(|| format!("{bucket} is not scalefront-artifacts-<12-digit account id>"))
}

/// The name of the per-account artifacts bucket (us-east-1).
pub fn artifact_bucket_name(account: &str) -> String {
    format!("scalefront-artifacts-{account}")
}

/// The default stack name for a bucket: `scalefront-<bucket>` with dots as hyphens, cut to the limit.
pub fn default_stack_name(bucket: &str) -> String {
    let mut s = format!("scalefront-{}", bucket.replace('.', "-"));
    s.truncate(crate::template::MAX_STACK_NAME);
    s.trim_end_matches('-').to_owned()
}

impl Plan {
    /// The plan in numbered steps, as `--dry-run` prints it and deploy prints before acting.
    pub fn describe(&self) -> String {
        let mut steps = Vec::new();
        let mb = self.package_size as f64 / 1e6;
        match self.bucket_exists {
            Some(false) => steps.push(format!(
                "create bucket {} in {} (object ownership enforced, public access blocked)",
                self.bucket, self.bucket_region
            )),
            Some(true) => steps.push(format!(
                "use the existing bucket {} in {}",
                self.bucket, self.bucket_region
            )),
            None => steps.push(format!(
                "use bucket {} in {} (created if missing)",
                self.bucket, self.bucket_region
            )),
        }
        let artifacts = self
            .artifact_bucket
            .clone()
            .unwrap_or_else(|| artifact_bucket_name("<account id>"));
        steps.push(format!("upload {} ({mb:.1} MB) to s3://{artifacts}/{} in {STACK_REGION} (bucket created if missing; skipped if already there)", self.package_file.display(), self.package.key));
        if let Some((file, key)) = &self.signing_keys {
            steps.push(format!("upload the signing keys {} to s3://{artifacts}/{key} (private; the stack's KeyValueStore is created from it, once: later keys go in with scalefront sign --rotate; skipped if already there)", file.display()));
        }
        let verb = match &self.stack_status {
            Some(None) => "create",
            Some(Some(_)) => "update",
            None => "create or update",
        };
        let what = match self.mode {
            Mode::Edge => "OAC, cache policy, viewer-request CloudFront Function, IAM role, origin-response Lambda@Edge + numbered version, distribution",
            Mode::Regional => "OAC ×2, cache policy, viewer-request CloudFront Function, IAM role, resize Lambda + function URL + 2 permissions, distribution with origin group",
        };
        steps.push(format!("{verb} stack {} in {STACK_REGION} from {} ({what}); wait for it (a new distribution takes 5-15 minutes)", self.stack, self.template_file.display()));
        steps.push(format!("merge statement {} (CloudFront may read, for this distribution only) into the policy of bucket {}; other statements stay", policy_sid(&self.stack), self.bucket));
        steps.push("print the distribution domain and a test URL".to_owned());
        let mut out = format!(
            "plan: scalefront {} mode, stack {} ({STACK_REGION}), bucket {} ({})\n",
            self.mode.as_str(),
            self.stack,
            self.bucket,
            self.bucket_region
        );
        for (i, s) in steps.iter().enumerate() {
            out.push_str(&format!("  {}. {s}\n", i + 1));
        }
        out
    }
}

/// The Sid of the statement deploy owns in the bucket policy (letters and digits only).
pub fn policy_sid(stack: &str) -> String {
    format!(
        "ScalefrontRead{}",
        stack
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    )
}

/// `existing` policy (JSON text, if any) with our statement put in under `sid`, replacing an older one
/// of the same Sid and leaving every other statement as it was.
pub fn merge_bucket_policy(existing: Option<&str>, statement: &Value, sid: &str) -> Result<String> {
    let mut doc: Value = match existing {
        Some(text) => {
            serde_json::from_str(text).context("the bucket's current policy is not JSON")?
        }
        None => json!({"Version": "2012-10-17", "Statement": []}),
    };
    let mut stmt = statement.clone();
    stmt["Sid"] = Value::String(sid.to_owned());
    let list = match doc.get_mut("Statement") {
        Some(Value::Array(a)) => a,
        Some(one @ Value::Object(_)) => {
            *one = Value::Array(vec![one.clone()]);
            one.as_array_mut().unwrap()
        }
        _ => {
            doc["Statement"] = json!([]);
            doc["Statement"].as_array_mut().unwrap()
        }
    };
    list.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(sid));
    list.push(stmt);
    Ok(serde_json::to_string(&doc)?)
}

/// One progress line for a stack event.
pub fn event_line(ev: &Value) -> String {
    let s = |k: &str| ev.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let time = s("Timestamp");
    let time = time.get(11..19).unwrap_or(&time).to_owned();
    let reason = s("ResourceStatusReason");
    let mut line = format!(
        "  {time}  {:<32} {}",
        s("LogicalResourceId"),
        s("ResourceStatus")
    );
    if !reason.is_empty() && reason != "Resource creation Initiated" {
        line.push_str(&format!("  {reason}"));
    }
    line
}

/// One planned change: `  Add OriginResponseFunction (AWS::Lambda::Function)`, with "replaced" when
/// CloudFormation will make a new one (for the Lambda version: a new version number).
pub fn change_line(change: &Value) -> String {
    let rc = change.get("ResourceChange").unwrap_or(&Value::Null);
    let s = |k: &str| rc.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut line = format!(
        "  {} {} ({})",
        s("Action"),
        s("LogicalResourceId"),
        s("ResourceType")
    );
    if s("Replacement") == "True" {
        line.push_str(", replaced");
    }
    line
}

/// Plain-words hints for stack failure reasons AWS words obscurely.
pub fn hint(reason: &str) -> Option<String> {
    if let Some((_, rest)) = reason.split_once("not authorized to perform: ") {
        let perm = rest
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches([',', '.']);
        return Some(format!(
            "missing permission {perm}: grant it to the identity you deploy with"
        ));
    }
    let r = reason.to_lowercase();
    if r.contains("already exists") {
        return Some("a resource of that name already exists (another stack with the same --stack on another bucket?): pick another --stack, or delete the old one".into());
    }
    if r.contains("replicat") {
        return Some("Lambda@Edge replicas are still being removed; CloudFront frees them hours after the distribution stops using them. Retry later".into());
    }
    if r.contains("s3 error") || r.contains("nosuchkey") || r.contains("nosuchbucket") {
        return Some("Lambda could not read the uploaded package: the artifacts bucket must be in us-east-1 and hold the key".into());
    }
    if r.contains("cname") || r.contains("cnamealreadyexists") {
        return Some("the alias is used by another distribution".into());
    }
    None
}

const TERMINAL_OK: &[&str] = &["CREATE_COMPLETE", "UPDATE_COMPLETE"];

fn is_terminal(status: &str) -> bool {
    status.ends_with("_COMPLETE") || status.ends_with("_FAILED")
}

/// Asks AWS what the plan needs: account, bucket region and existence, stack status.
pub fn survey(
    aws: &Aws,
    bucket: &str,
    region: Option<&str>,
    stack: &str,
) -> Result<(String, String, bool, Option<String>)> {
    let id = aws.call(STACK_REGION, &["sts", "get-caller-identity"])?;
    let account = id
        .get("Account")
        .and_then(Value::as_str)
        .context("sts get-caller-identity gave no account")?
        .to_owned();
    let (exists, actual) = match aws.call(STACK_REGION, &["s3api", "get-bucket-location", "--bucket", bucket]) {
        Ok(v) => (true, Some(v.get("LocationConstraint").and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or("us-east-1").to_owned())),
        Err(e) if e.kind == ErrorKind::NotFound => (false, None),
        Err(e) if matches!(e.kind, ErrorKind::AccessDenied { .. }) => bail!("bucket {bucket} exists but this account cannot read it (it may belong to another account): {e}"),
        Err(e) => return Err(e.into()),
    };
    let bucket_region = match (actual, region) {
        (Some(a), Some(r)) if a != r => bail!("wrong region: bucket {bucket} is in {a}, not {r}; pass --region {a} (or leave --region out)"),
        (Some(a), _) => a,
        (None, Some(r)) => r.to_owned(),
        (None, None) => STACK_REGION.to_owned(),
    };
    let stack_status = match aws.call(
        STACK_REGION,
        &["cloudformation", "describe-stacks", "--stack-name", stack],
    ) {
        Ok(v) => v
            .pointer("/Stacks/0/StackStatus")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Err(e) if e.kind == ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    Ok((account, bucket_region, exists, stack_status))
}

/// What a finished deploy reports.
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    pub domain: String,
    pub test_url: String,
    pub distribution_id: String,
    pub raw: Vec<(String, String)>,
}

/// Carries out the plan. `say` gets one progress line at a time.
/// Puts `file` at `key` in the artifacts bucket unless it is there (package keys are
/// content-addressed; the signing keys' object is the stack's), encrypted at rest (SSE-S3).
fn upload_once(
    aws: &Aws,
    bucket: &str,
    owner: &str,
    key: &str,
    file: &std::path::Path,
    what: &str,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
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
    if aws.call_opt(STACK_REGION, &head)?.is_some() {
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
    aws.call(STACK_REGION, &put)?;
    Ok(())
}

pub fn execute(aws: &Aws, plan: &Plan, say: &mut dyn FnMut(&str)) -> Result<Outputs> {
    let artifacts = plan
        .artifact_bucket
        .as_deref()
        .context("execute needs the artifacts bucket (survey first)")?;
    match plan.stack_status.as_ref().and_then(|s| s.as_deref()) {
        Some("ROLLBACK_COMPLETE") => bail!("stack {} failed to create earlier and is in ROLLBACK_COMPLETE: delete it (aws cloudformation delete-stack --stack-name {} --region us-east-1) and deploy again", plan.stack, plan.stack),
        // A create change set that was never executed leaves an empty stack in review: create again.
        Some("REVIEW_IN_PROGRESS") => {}
        Some(s) if s.ends_with("_IN_PROGRESS") => bail!("stack {} is busy ({s}); wait for it to finish (or run doctor) and deploy again", plan.stack),
        _ => {}
    }
    // 1. The photo bucket.
    if plan.bucket_exists == Some(false) {
        say(&format!(
            "creating bucket {} in {}",
            plan.bucket, plan.bucket_region
        ));
        create_private_bucket(aws, &plan.bucket, &plan.bucket_region)?;
    }
    // 2. The package. The artifacts bucket's name is predictable, so every call on it names the
    // account that must own it: a bucket someone else created first is refused (403), never used.
    let owner = artifacts_owner(artifacts)?;
    let head = [
        "s3api",
        "head-bucket",
        "--bucket",
        artifacts,
        "--expected-bucket-owner",
        owner,
    ];
    let exists = match aws.call_opt(STACK_REGION, &head) {
        Ok(v) => v.is_some(),
        Err(e) if matches!(e.kind, ErrorKind::AccessDenied { .. }) => bail!(
            "the artifacts bucket {artifacts} exists but is not this account's ({owner}): someone else created it; deploy refuses to upload there ({e})"
        ),
        Err(e) => return Err(e.into()),
    };
    if !exists {
        say(&format!(
            "creating the artifacts bucket {artifacts} in {STACK_REGION}"
        ));
        create_private_bucket(aws, artifacts, STACK_REGION)?;
    }
    upload_once(
        aws,
        artifacts,
        owner,
        &plan.package.key,
        &plan.package_file,
        "package",
        say,
    )?;
    // 2b. The signing keys, for the KeyValueStore's import at creation (once per stack).
    if let Some((file, key)) = &plan.signing_keys {
        upload_once(aws, artifacts, owner, key, file, "signing keys", say)?;
    }
    // 3. The stack, through a change set (create and update alike; "no changes" is fine).
    let create = matches!(
        plan.stack_status.as_ref().map(|s| s.as_deref()),
        None | Some(None) | Some(Some("REVIEW_IN_PROGRESS"))
    );
    let set_name = format!(
        "scalefront-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    );
    let template_arg = format!("file://{}", plan.template_file.display());
    let params = [
        format!("ParameterKey=BucketName,ParameterValue={}", plan.bucket),
        format!(
            "ParameterKey=BucketRegion,ParameterValue={}",
            plan.bucket_region
        ),
        "ParameterKey=CreateBucket,ParameterValue=false".to_owned(),
        format!("ParameterKey=ArtifactBucket,ParameterValue={artifacts}"),
    ];
    let mut args: Vec<&str> = vec![
        "cloudformation",
        "create-change-set",
        "--stack-name",
        &plan.stack,
        "--change-set-name",
        &set_name,
        "--change-set-type",
        if create { "CREATE" } else { "UPDATE" },
        "--template-body",
        &template_arg,
        "--capabilities",
        "CAPABILITY_IAM",
        "--parameters",
    ];
    args.extend(params.iter().map(String::as_str));
    say(&format!(
        "{} stack {} in {STACK_REGION}",
        if create { "creating" } else { "updating" },
        plan.stack
    ));
    aws.call(STACK_REGION, &args)?;
    let started = Instant::now();
    loop {
        let cs = aws.call(
            STACK_REGION,
            &[
                "cloudformation",
                "describe-change-set",
                "--stack-name",
                &plan.stack,
                "--change-set-name",
                &set_name,
            ],
        )?;
        let status = cs.get("Status").and_then(Value::as_str).unwrap_or("");
        if status == "CREATE_COMPLETE" {
            let changes = cs
                .get("Changes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            say(&format!(
                "change set ready: {} resource change(s)",
                changes.len()
            ));
            for c in &changes {
                say(&change_line(c));
            }
            break;
        }
        if status == "FAILED" {
            let reason = cs.get("StatusReason").and_then(Value::as_str).unwrap_or("");
            if reason.contains("didn't contain changes") || reason.contains("No updates") {
                say("the stack is already up to date");
                let _ = aws.call(
                    STACK_REGION,
                    &[
                        "cloudformation",
                        "delete-change-set",
                        "--stack-name",
                        &plan.stack,
                        "--change-set-name",
                        &set_name,
                    ],
                );
                return finish(aws, plan, say);
            }
            bail!(
                "CloudFormation refused the change: {reason}{}",
                hint(reason).map(|h| format!(" ({h})")).unwrap_or_default()
            );
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the change set did not become ready in 5 minutes (status {status})");
        }
        std::thread::sleep(Duration::from_secs(3));
    }
    // Events already there (an update's history) are not news.
    let seen = if create {
        BTreeSet::new()
    } else {
        event_ids(aws, &plan.stack)?
    };
    aws.call(
        STACK_REGION,
        &[
            "cloudformation",
            "execute-change-set",
            "--stack-name",
            &plan.stack,
            "--change-set-name",
            &set_name,
        ],
    )?;
    wait_for_stack(aws, &plan.stack, seen, say)?;
    finish(aws, plan, say)
}

fn stack_events(aws: &Aws, stack: &str) -> Result<Vec<Value>> {
    let v = aws.call(
        STACK_REGION,
        &[
            "cloudformation",
            "describe-stack-events",
            "--stack-name",
            stack,
            "--max-items",
            "100",
        ],
    )?;
    Ok(v.get("StackEvents")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

fn event_id(e: &Value) -> String {
    e.get("EventId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

fn event_ids(aws: &Aws, stack: &str) -> Result<BTreeSet<String>> {
    Ok(stack_events(aws, stack)?.iter().map(event_id).collect())
}

fn create_private_bucket(aws: &Aws, bucket: &str, region: &str) -> Result<()> {
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

/// Polls the stack's events until it settles, printing each new event; a heartbeat every 30 s.
fn wait_for_stack(
    aws: &Aws,
    stack: &str,
    mut seen: BTreeSet<String>,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    let started = Instant::now();
    let mut last_note = Instant::now();
    loop {
        // Status first, events second: the events that led to a final status are all printed.
        let v = aws.call(
            STACK_REGION,
            &["cloudformation", "describe-stacks", "--stack-name", stack],
        )?;
        let mut fresh: Vec<Value> = stack_events(aws, stack)?
            .into_iter()
            .filter(|e| seen.insert(event_id(e)))
            .collect();
        fresh.reverse(); // oldest first
        for e in &fresh {
            say(&event_line(e));
            let reason = e
                .get("ResourceStatusReason")
                .and_then(Value::as_str)
                .unwrap_or("");
            if e.get("ResourceStatus")
                .and_then(Value::as_str)
                .is_some_and(|s| s.ends_with("_FAILED"))
            {
                if let Some(h) = hint(reason) {
                    say(&format!("    → {h}"));
                }
            }
        }

        let status = v
            .pointer("/Stacks/0/StackStatus")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if is_terminal(&status) {
            if TERMINAL_OK.contains(&status.as_str()) {
                say(&format!(
                    "stack {stack}: {status} after {}s",
                    started.elapsed().as_secs()
                ));
                return Ok(());
            }
            let reason = v
                .pointer("/Stacks/0/StackStatusReason")
                .and_then(Value::as_str)
                .unwrap_or("");
            bail!("stack {stack} ended in {status} {reason}: the events above say which resource failed and why; `scalefront doctor --stack {stack}` checks the parts that exist");
        }
        if last_note.elapsed() > Duration::from_secs(30) {
            say(&format!(
                "  … {status}, {} min {} s so far (CloudFront distributions take 5-15 minutes)",
                started.elapsed().as_secs() / 60,
                started.elapsed().as_secs() % 60
            ));
            last_note = Instant::now();
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// Reads the outputs and merges the bucket policy statement.
fn finish(aws: &Aws, plan: &Plan, say: &mut dyn FnMut(&str)) -> Result<Outputs> {
    let v = aws.call(
        STACK_REGION,
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            &plan.stack,
        ],
    )?;
    let mut out = Outputs::default();
    for o in v
        .pointer("/Stacks/0/Outputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let k = o
            .get("OutputKey")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let val = o
            .get("OutputValue")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match k.as_str() {
            "DistributionDomain" => out.domain = val.clone(),
            "TestUrl" => out.test_url = val.clone(),
            "DistributionId" => out.distribution_id = val.clone(),
            _ => {}
        }
        out.raw.push((k, val));
    }
    if out.domain.is_empty() || out.distribution_id.is_empty() {
        bail!(
            "stack {} finished but has no DistributionDomain/DistributionId output: is it a scalefront stack? (outputs: {:?})",
            plan.stack,
            out.raw
        );
    }
    if let Some((_, stmt)) = out.raw.iter().find(|(k, _)| k == "BucketPolicyStatement") {
        let stmt: Value = serde_json::from_str(stmt)
            .context("the stack's BucketPolicyStatement output is not JSON")?;
        let current = aws.call_opt(
            &plan.bucket_region,
            &["s3api", "get-bucket-policy", "--bucket", &plan.bucket],
        )?;
        let text = current
            .as_ref()
            .and_then(|c| c.get("Policy"))
            .and_then(Value::as_str);
        let merged = merge_bucket_policy(text, &stmt, &policy_sid(&plan.stack))?;
        if text.is_some_and(|t| {
            serde_json::from_str::<Value>(t).ok() == serde_json::from_str::<Value>(&merged).ok()
        }) {
            say(&format!(
                "bucket policy of {} already lets this distribution read",
                plan.bucket
            ));
        } else {
            say(&format!(
                "merging statement {} into the policy of bucket {}",
                policy_sid(&plan.stack),
                plan.bucket
            ));
            aws.call(&plan.bucket_region, &["s3api", "put-bucket-policy", "--bucket", &plan.bucket, "--policy", &merged]).map_err(|e| {
                anyhow::anyhow!("{e}\nThe stack is up, but CloudFront cannot read the bucket until this statement is in its policy:\n{merged}")
            })?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_other_statements_and_replaces_ours() {
        let stmt = json!({"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"});
        let fresh = merge_bucket_policy(None, &stmt, "ScalefrontReadx").unwrap();
        let v: Value = serde_json::from_str(&fresh).unwrap();
        assert_eq!(v["Statement"].as_array().unwrap().len(), 1);
        let theirs = r#"{"Version":"2012-10-17","Statement":{"Sid":"Theirs","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}"#;
        let once = merge_bucket_policy(Some(theirs), &stmt, "ScalefrontReadx").unwrap();
        let twice = merge_bucket_policy(Some(&once), &stmt, "ScalefrontReadx").unwrap();
        assert_eq!(once, twice, "re-deploying does not pile up statements");
        let v: Value = serde_json::from_str(&twice).unwrap();
        let sids: Vec<&str> = v["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(sids, ["Theirs", "ScalefrontReadx"]);
        assert!(merge_bucket_policy(Some("not json"), &stmt, "x").is_err());
    }

    #[test]
    fn names_and_lines() {
        assert_eq!(default_stack_name("my.photos"), "scalefront-my-photos");
        assert!(default_stack_name(&"a".repeat(63)).len() <= crate::template::MAX_STACK_NAME);
        assert_eq!(
            policy_sid("scalefront-my-photos"),
            "ScalefrontReadscalefrontmyphotos"
        );
        let ev = json!({"Timestamp": "2026-11-25T05:01:02.123Z", "LogicalResourceId": "Distribution", "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "User: arn:aws:iam::1:user/me is not authorized to perform: cloudfront:CreateDistribution on resource"});
        let line = event_line(&ev);
        assert!(
            line.contains("05:01:02")
                && line.contains("Distribution")
                && line.contains("CREATE_FAILED"),
            "{line}"
        );
        assert_eq!(hint(ev["ResourceStatusReason"].as_str().unwrap()).unwrap(), "missing permission cloudfront:CreateDistribution: grant it to the identity you deploy with");
    }

    #[test]
    fn plan_says_what_will_happen() {
        let plan = Plan {
            stack: "scalefront-photos".into(),
            mode: Mode::Edge,
            bucket: "photos".into(),
            bucket_region: "eu-west-1".into(),
            bucket_exists: Some(false),
            stack_status: Some(Some("UPDATE_COMPLETE".into())),
            artifact_bucket: Some("scalefront-artifacts-123".into()),
            package_file: "/tmp/p/origin-response.zip".into(),
            package: Artifact::of("origin-response", b"x"),
            package_size: 1_800_000,
            template: String::new(),
            template_file: "/tmp/p/template-edge.yaml".into(),
            signing_keys: None,
        };
        let text = plan.describe();
        assert!(text.contains("create bucket photos in eu-west-1"), "{text}");
        assert!(
            text.contains("1.8 MB")
                && text.contains("s3://scalefront-artifacts-123/scalefront/origin-response-"),
            "{text}"
        );
        assert!(
            text.contains("update stack scalefront-photos in us-east-1"),
            "{text}"
        );
        assert!(
            text.contains("origin-response Lambda@Edge + numbered version"),
            "{text}"
        );
        let dry = Plan {
            bucket_exists: None,
            stack_status: None,
            artifact_bucket: None,
            ..plan
        };
        assert!(dry.describe().contains("create or update stack"));
        assert!(dry.describe().contains("scalefront-artifacts-<account id>"));
    }
}
