//! The survey: what the account, the bucket and the stack are before deploy changes anything.
//! Each finding is read from one AWS answer by a pure function (tested on recorded answers shaped
//! like AWS's documented ones); [`survey`] makes the calls.
use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::STACK_REGION;
use crate::aws::{Aws, ErrorKind};

/// How sure deploy is that a finding is fine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Fine; printed for the record.
    Ok,
    /// Deploy adapts or the owner should know; deploy goes on.
    Warn,
    /// Deploy would make a setup that cannot work: it stops before changing anything.
    Refuse,
}

/// One named finding, printed as `ok|WARN|STOP name: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
}

impl Finding {
    fn new(name: &'static str, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            name,
            severity,
            message: message.into(),
        }
    }

    pub fn line(&self) -> String {
        let mark = match self.severity {
            Severity::Ok => "ok  ",
            Severity::Warn => "WARN",
            Severity::Refuse => "STOP",
        };
        format!("{mark} {}: {}", self.name, self.message)
    }
}

/// The header the origin sends on each variant PUT (the bucket's policy demands it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutEncryption {
    /// `x-amz-server-side-encryption: AES256`.
    S3,
    /// `x-amz-server-side-encryption: aws:kms`, with the key when the policy names one.
    Kms { key: Option<String> },
}

/// The bucket's default encryption (`get-bucket-encryption`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3 (every bucket since January 2023 at least has this).
    S3,
    /// SSE-KMS or DSSE-KMS; `key` as the configuration names it (id, alias or ARN; `None`: the
    /// AWS managed key `aws/s3`).
    Kms { key: Option<String> },
}

/// What deploy knows after the survey.
#[derive(Clone, Debug)]
pub struct Survey {
    pub account: String,
    pub bucket_region: String,
    pub bucket_exists: bool,
    /// The stack's status; `None`: no such stack.
    pub stack_status: Option<String>,
    /// The distribution the stack made, when it exists (regional mode's function stack lets it
    /// invoke the function URL).
    pub distribution_id: Option<String>,
    pub encryption: Encryption,
    /// The customer managed KMS key (ARN) the role and CloudFront must be allowed to use.
    pub kms_key_arn: Option<String>,
    /// The header every variant PUT must carry, when the bucket policy demands one.
    pub put_encryption: Option<PutEncryption>,
    /// A photo for the test URL and the verify step (an image key outside the variant prefix).
    pub sample_key: Option<String>,
    pub findings: Vec<Finding>,
}

/// The region of a bucket from `head-bucket` (`BucketRegion`, the `x-amz-bucket-region` header:
/// S3 answers it whether or not the caller may read the bucket; AWS recommends it over
/// GetBucketLocation: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html).
pub fn region_from_head(head: &Value) -> Option<String> {
    head.get("BucketRegion")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
}

/// The region of a bucket from `get-bucket-location`'s `LocationConstraint`: `null` is us-east-1,
/// and buckets made long ago in Ireland say `EU` (the API reference: "Buckets with a
/// LocationConstraint of EU reside in eu-west-1",
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html).
pub fn region_from_location(location: &Value) -> String {
    match location.get("LocationConstraint").and_then(Value::as_str) {
        None | Some("") => "us-east-1".to_owned(),
        Some("EU") => "eu-west-1".to_owned(),
        Some(r) => r.to_owned(),
    }
}

/// The default encryption from `get-bucket-encryption` (`None`: the call said there is none).
pub fn encryption(answer: Option<&Value>) -> Encryption {
    let rule = answer
        .and_then(|v| v.pointer("/ServerSideEncryptionConfiguration/Rules/0"))
        .and_then(|r| r.get("ApplyServerSideEncryptionByDefault"));
    match rule
        .and_then(|r| r.get("SSEAlgorithm"))
        .and_then(Value::as_str)
    {
        Some(alg) if alg.starts_with("aws:kms") => Encryption::Kms {
            key: rule
                .and_then(|r| r.get("KMSMasterKeyID"))
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
                .map(str::to_owned),
        },
        _ => Encryption::S3,
    }
}

/// The bucket key's finding from `kms describe-key`, and its ARN when deploy can grant on it: an
/// AWS managed key's policy cannot be edited, so CloudFront can never be let in.
pub fn kms_key(meta: &Value, id: &str) -> (Finding, Option<String>) {
    let arn = meta
        .pointer("/KeyMetadata/Arn")
        .and_then(Value::as_str)
        .unwrap_or(id)
        .to_owned();
    if meta
        .pointer("/KeyMetadata/KeyManager")
        .and_then(Value::as_str)
        == Some("AWS")
    {
        let f = Finding::new("encryption", Severity::Refuse, format!("SSE-KMS with the AWS managed key {arn}: its key policy cannot be changed, so CloudFront can never decrypt the photos; set the bucket's default encryption to SSE-S3 or to a customer managed key (and re-encrypt the objects)"));
        return (f, None);
    }
    let f = Finding::new("encryption", Severity::Ok, format!("SSE-KMS with {arn}: the function's role gets kms:Decrypt and kms:GenerateDataKey on it; CloudFront needs a statement in its key policy (the key-policy step)"));
    (f, Some(arn))
}

/// The encryption header a bucket policy demands on PUT: a `Deny` of `s3:PutObject` conditioned
/// on `s3:x-amz-server-side-encryption` (AWS's documented pattern,
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms).
/// A `Null` condition (any header) is met with the bucket's own default.
pub fn demanded_encryption(policy: Option<&str>, default: &Encryption) -> Option<PutEncryption> {
    // The doctor's reading of policies: statements normalised, actions matched with wildcards.
    let statements = crate::policy::statements(&Value::String(policy?.to_owned()));
    let mut demanded = None;
    for s in statements
        .iter()
        .filter(|s| !s.allow && s.covers_action("s3:PutObject"))
    {
        let Some(cond) = s.condition.as_object() else {
            continue;
        };
        for (op, keys) in cond {
            let Some(keys) = keys.as_object() else {
                continue;
            };
            for (k, v) in keys {
                let first = match v {
                    Value::Array(a) => a.first().and_then(Value::as_str),
                    other => other.as_str(),
                };
                match (k.to_ascii_lowercase().as_str(), op.as_str()) {
                    ("s3:x-amz-server-side-encryption", "StringNotEquals") => {
                        demanded = Some(match first {
                            Some(a) if a.starts_with("aws:kms") => PutEncryption::Kms { key: None },
                            _ => PutEncryption::S3,
                        });
                    }
                    ("s3:x-amz-server-side-encryption", "Null") if demanded.is_none() => {
                        demanded = Some(match default {
                            Encryption::S3 => PutEncryption::S3,
                            Encryption::Kms { key } => PutEncryption::Kms { key: key.clone() },
                        });
                    }
                    ("s3:x-amz-server-side-encryption-aws-kms-key-id", "StringNotEquals") => {
                        demanded = Some(PutEncryption::Kms {
                            key: first.map(str::to_owned),
                        });
                    }
                    _ => {}
                }
            }
        }
    }
    demanded
}

/// Requester Pays (`get-bucket-request-payment`): S3 refuses every request that does not say the
/// requester pays, and CloudFront's origin requests do not say it.
pub fn requester_pays(answer: &Value) -> bool {
    answer.get("Payer").and_then(Value::as_str) == Some("Requester")
}

/// Object Ownership (`get-bucket-ownership-controls`; `None`: no controls set — ObjectWriter).
/// OAC needs "bucket owner enforced"; "bucket owner preferred" works for objects the bucket
/// owner wrote (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html).
pub fn ownership(answer: Option<&Value>, bucket: &str) -> Finding {
    let rule = answer
        .and_then(|v| v.pointer("/OwnershipControls/Rules/0/ObjectOwnership"))
        .and_then(Value::as_str)
        .unwrap_or("ObjectWriter");
    match rule {
        "BucketOwnerEnforced" => Finding::new("object-ownership", Severity::Ok, "bucket owner enforced (ACLs off)"),
        "BucketOwnerPreferred" => Finding::new("object-ownership", Severity::Warn, "bucket owner preferred: objects other accounts upload with ACLs stay theirs and CloudFront cannot read them; AWS recommends bucket owner enforced for origin access control"),
        other => Finding::new("object-ownership", Severity::Refuse, format!("{other}: objects belong to whoever uploaded them, and CloudFront's origin access control needs bucket owner enforced; run `aws s3api put-bucket-ownership-controls --bucket {bucket} --ownership-controls 'Rules=[{{ObjectOwnership=BucketOwnerEnforced}}]'` (check first that nothing you run needs ACLs)")),
    }
}

/// What a bucket listing (`list-objects-v2`, one page) says about exposure: a sample image for the
/// test URL, and the keys a visitor could fetch that are not photos (when `scope` is the whole
/// bucket) or that stay private (outside `scope`).
pub fn exposure(
    listing: &Value,
    variant_prefix: &str,
    scope: &str,
) -> (Option<String>, Vec<Finding>) {
    let keys: Vec<&str> = listing
        .get("Contents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("Key").and_then(Value::as_str))
        .filter(|k| !k.starts_with(&format!("{variant_prefix}/")))
        .collect();
    let is_image = |k: &str| {
        let lower = k.to_ascii_lowercase();
        [".jpg", ".jpeg", ".png", ".webp", ".avif", ".gif"]
            .iter()
            .any(|e| lower.ends_with(e))
    };
    let sample = keys
        .iter()
        .find(|k| k.starts_with(scope) && is_image(k))
        .map(|k| k.to_string());
    let mut findings = Vec::new();
    let examples = |list: &[&str]| {
        list.iter()
            .take(3)
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if scope.is_empty() {
        let other: Vec<&str> = keys.iter().copied().filter(|k| !is_image(k)).collect();
        if !other.is_empty() {
            findings.push(Finding::new("exposure", Severity::Warn, format!("{} object(s) that are not photos (e.g. {}) will be downloadable by anyone who guesses their keys: pass --prefix PHOTOS/ to serve only that folder, or set originals = \"deny\" in scalefront.toml", other.len(), examples(&other))));
        } else {
            findings.push(Finding::new(
                "exposure",
                Severity::Ok,
                "the whole bucket is served; it holds photos only (in the first page of its listing)",
            ));
        }
    } else {
        let outside: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| !k.starts_with(scope))
            .collect();
        if !outside.is_empty() {
            findings.push(Finding::new("exposure", Severity::Warn, format!("{} object(s) outside {scope} (e.g. {}) stay private: CloudFront may read only {scope} and the variants", outside.len(), examples(&outside))));
        } else {
            findings.push(Finding::new(
                "exposure",
                Severity::Ok,
                format!("only {scope} and the variants are served"),
            ));
        }
    }
    (sample, findings)
}

/// Asks AWS what deploy needs to know, changing nothing. `scope` is `--prefix` ("" = the whole
/// bucket), `variant_prefix` the spec's (`_sf`).
pub fn survey(
    aws: &Aws,
    bucket: &str,
    region: Option<&str>,
    stack: &str,
    variant_prefix: &str,
    scope: &str,
) -> Result<Survey> {
    let id = aws.call(STACK_REGION, &["sts", "get-caller-identity"])?;
    let account = id
        .get("Account")
        .and_then(Value::as_str)
        .context("sts get-caller-identity gave no account")?
        .to_owned();
    let actual = match aws.call(STACK_REGION, &["s3api", "head-bucket", "--bucket", bucket]) {
        Ok(head) => Some(match region_from_head(&head) {
            Some(r) => r,
            // An older CLI that does not print BucketRegion.
            None => region_from_location(&aws.call(
                STACK_REGION,
                &["s3api", "get-bucket-location", "--bucket", bucket],
            )?),
        }),
        Err(e) if e.kind == ErrorKind::NotFound => None,
        Err(e) if matches!(e.kind, ErrorKind::AccessDenied { .. }) => bail!("bucket {bucket} exists but this account cannot read it (it may belong to another account): {e}"),
        Err(e) => return Err(e.into()),
    };
    let bucket_exists = actual.is_some();
    let bucket_region = match (actual, region) {
        (Some(a), Some(r)) if a != r => bail!("wrong region: bucket {bucket} is in {a}, not {r}; pass --region {a} (or leave --region out)"),
        (Some(a), _) => a,
        (None, Some(r)) => r.to_owned(),
        (None, None) => STACK_REGION.to_owned(),
    };
    let described = super::stack::StackRef::new(stack, STACK_REGION).describe(aws)?;
    let stack_status = described.as_ref().map(|d| d.status.clone());
    let distribution_id = described
        .as_ref()
        .and_then(|d| d.output("DistributionId"))
        .map(str::to_owned);
    let mut s = Survey {
        account,
        bucket_region: bucket_region.clone(),
        bucket_exists,
        stack_status,
        distribution_id,
        encryption: Encryption::S3,
        kms_key_arn: None,
        put_encryption: None,
        sample_key: None,
        findings: vec![Finding::new(
            "bucket",
            Severity::Ok,
            if bucket_exists {
                format!("{bucket} is in {bucket_region}")
            } else {
                format!("{bucket} does not exist yet: it will be created in {bucket_region}")
            },
        )],
    };
    if !bucket_exists {
        return Ok(s);
    }
    let r = bucket_region.as_str();
    let b = ["--bucket", bucket];
    let call = |what: &str| -> Result<Option<Value>> {
        let args: Vec<&str> = ["s3api", what].iter().chain(b.iter()).copied().collect();
        Ok(aws.call_opt(r, &args)?)
    };
    s.encryption = encryption(call("get-bucket-encryption")?.as_ref());
    if let Encryption::Kms { key } = &s.encryption {
        // An id or alias in the configuration: KMS names the key and who manages it.
        let id = key.clone().unwrap_or_else(|| "alias/aws/s3".to_owned());
        let meta = aws.call(r, &["kms", "describe-key", "--key-id", &id])?;
        let (finding, arn) = kms_key(&meta, &id);
        s.findings.push(finding);
        s.kms_key_arn = arn;
    } else {
        s.findings
            .push(Finding::new("encryption", Severity::Ok, "SSE-S3"));
    }
    let policy = call("get-bucket-policy")?;
    let text = policy
        .as_ref()
        .and_then(|p| p.get("Policy"))
        .and_then(Value::as_str);
    s.put_encryption = match demanded_encryption(text, &s.encryption) {
        // The origin names the key by ARN (a PUT with aws:kms and no key would use aws/s3, which
        // CloudFront can never decrypt): the policy's own key, else the bucket's default one.
        Some(PutEncryption::Kms { key }) => {
            let arn = match key {
                Some(k) if k.starts_with("arn:") => Some(k),
                Some(k) => aws
                    .call(r, &["kms", "describe-key", "--key-id", &k])?
                    .pointer("/KeyMetadata/Arn")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                None => s.kms_key_arn.clone(),
            };
            match arn {
                Some(arn) => {
                    // The role encrypts variants with it and CloudFront decrypts them.
                    s.kms_key_arn.get_or_insert_with(|| arn.clone());
                    Some(PutEncryption::Kms { key: Some(arn) })
                }
                None => {
                    s.findings.push(Finding::new("put-encryption", Severity::Refuse, format!("the policy of bucket {bucket} demands SSE-KMS on PUT but names no key, and the bucket's default encryption is not a customer managed key: set the bucket's default encryption to the KMS key variants should use (aws s3api put-bucket-encryption)")));
                    None
                }
            }
        }
        other => other,
    };
    if let Some(p) = &s.put_encryption {
        let header = match p {
            PutEncryption::S3 => "AES256".to_owned(),
            PutEncryption::Kms { key } => format!("aws:kms with {}", key.as_deref().unwrap_or("?")),
        };
        s.findings.push(Finding::new("put-encryption", Severity::Ok, format!("the bucket policy demands an encryption header on PUT: the function sends {header} with every variant")));
    }
    if call("get-bucket-request-payment")?.is_some_and(|v| requester_pays(&v)) {
        s.findings.push(Finding::new("requester-pays", Severity::Refuse, format!("Requester Pays is on: S3 refuses CloudFront's requests, which do not say the requester pays; turn it off with `aws s3api put-bucket-request-payment --bucket {bucket} --request-payment-configuration Payer=BucketOwner`")));
    }
    s.findings.push(ownership(
        call("get-bucket-ownership-controls")?.as_ref(),
        bucket,
    ));
    let listing = aws.call(
        r,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            bucket,
            "--max-items",
            "1000",
        ],
    )?;
    let (sample, found) = exposure(&listing, variant_prefix, scope);
    s.sample_key = sample;
    s.findings.extend(found);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn regions_as_s3_spells_them() {
        assert_eq!(
            region_from_head(&json!({"BucketRegion": "eu-west-1", "AccessPointAlias": false}))
                .as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_from_head(&json!({})), None);
        assert_eq!(
            region_from_location(&json!({"LocationConstraint": "EU"})),
            "eu-west-1"
        );
        assert_eq!(
            region_from_location(&json!({"LocationConstraint": null})),
            "us-east-1"
        );
        assert_eq!(
            region_from_location(&json!({"LocationConstraint": "ap-south-1"})),
            "ap-south-1"
        );
    }

    #[test]
    fn encryption_and_the_header_a_policy_demands() {
        let kms = json!({"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:eu-west-1:123456789012:key/k1"}, "BucketKeyEnabled": true}]}});
        let key = Some("arn:aws:kms:eu-west-1:123456789012:key/k1".to_owned());
        assert_eq!(encryption(Some(&kms)), Encryption::Kms { key: key.clone() });
        assert_eq!(encryption(None), Encryption::S3);
        // AWS's documented "deny unencrypted uploads" statements.
        let not_kms = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyNotKms","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]}"#;
        assert_eq!(
            demanded_encryption(Some(not_kms), &Encryption::S3),
            Some(PutEncryption::Kms { key: None })
        );
        let any = r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::b/*","Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}}}"#;
        assert_eq!(
            demanded_encryption(Some(any), &Encryption::S3),
            Some(PutEncryption::S3)
        );
        assert_eq!(
            demanded_encryption(Some(any), &Encryption::Kms { key: key.clone() }),
            Some(PutEncryption::Kms { key: key.clone() })
        );
        let key_id = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"arn:aws:kms:eu-west-1:123456789012:key/k1"}}}]}"#;
        assert_eq!(
            demanded_encryption(Some(key_id), &Encryption::S3),
            Some(PutEncryption::Kms { key })
        );
        // An Allow, or a Deny of something else, demands nothing.
        let allow = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}}]}"#;
        assert_eq!(demanded_encryption(Some(allow), &Encryption::S3), None);
        let tls = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        assert_eq!(demanded_encryption(Some(tls), &Encryption::S3), None);
        assert_eq!(demanded_encryption(None, &Encryption::S3), None);
    }

    #[test]
    fn an_aws_managed_key_is_refused() {
        let managed = json!({"KeyMetadata": {"KeyId": "k0", "Arn": "arn:aws:kms:eu-west-1:123456789012:key/k0", "KeyManager": "AWS", "KeyState": "Enabled"}});
        let (f, arn) = kms_key(&managed, "alias/aws/s3");
        assert_eq!((f.severity, arn), (Severity::Refuse, None));
        assert!(
            f.message
                .contains("AWS managed key arn:aws:kms:eu-west-1:123456789012:key/k0"),
            "{}",
            f.message
        );
        let customer = json!({"KeyMetadata": {"KeyId": "k1", "Arn": "arn:aws:kms:eu-west-1:123456789012:key/k1", "KeyManager": "CUSTOMER"}});
        let (f, arn) = kms_key(&customer, "k1");
        assert_eq!(
            (f.severity, arn.as_deref()),
            (
                Severity::Ok,
                Some("arn:aws:kms:eu-west-1:123456789012:key/k1")
            )
        );
    }

    #[test]
    fn payer_ownership_and_exposure() {
        assert!(requester_pays(&json!({"Payer": "Requester"})));
        assert!(!requester_pays(&json!({"Payer": "BucketOwner"})));
        assert_eq!(ownership(Some(&json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}})), "b").severity, Severity::Ok);
        assert_eq!(ownership(Some(&json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}})), "b").severity, Severity::Warn);
        let writer = ownership(None, "b");
        assert_eq!(writer.severity, Severity::Refuse);
        assert!(
            writer.message.contains("put-bucket-ownership-controls"),
            "{}",
            writer.message
        );
        let listing = json!({"Contents": [{"Key": "_sf/a.jpg/g1/w1-h0-inside-q75.webp"}, {"Key": "backup/db.sql"}, {"Key": "photos/a.JPG"}, {"Key": "notes.pdf"}]});
        let (sample, f) = exposure(&listing, "_sf", "");
        assert_eq!(sample.as_deref(), Some("photos/a.JPG"));
        assert_eq!(f[0].severity, Severity::Warn);
        assert!(
            f[0].message.starts_with("2 object(s)") && f[0].message.contains("backup/db.sql"),
            "{}",
            f[0].message
        );
        let (sample, f) = exposure(&listing, "_sf", "photos/");
        assert_eq!(sample.as_deref(), Some("photos/a.JPG"));
        assert!(
            f[0].message.contains("outside photos/") && f[0].message.contains("stay private"),
            "{}",
            f[0].message
        );
        let (_, f) = exposure(&json!({"Contents": [{"Key": "a.jpg"}]}), "_sf", "");
        assert_eq!(f[0].severity, Severity::Ok);
    }
}
