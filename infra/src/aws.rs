//! The `aws` command line tool as our AWS client: one call = one process, JSON out, errors turned into
//! plain words (which permission is missing, which region is wrong, where the credentials went).
//!
//! The program is `aws` on PATH, or `$SCALEFRONT_AWS`. Credentials, profiles and endpoints follow the
//! CLI's own standard chain (`AWS_PROFILE`, `AWS_ENDPOINT_URL`, SSO, instance roles, …).
// One process per call already costs far more than moving a 128-byte error: keep the error flat.
#![allow(clippy::result_large_err)]

use std::ffi::OsString;
use std::fmt;
use std::process::Command;

use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Aws {
    program: OsString,
    /// Extra environment for every call (tests: `AWS_ENDPOINT_URL` of a local server).
    env: Vec<(String, String)>,
}

impl Default for Aws {
    fn default() -> Self {
        Aws {
            program: std::env::var_os("SCALEFRONT_AWS").unwrap_or_else(|| "aws".into()),
            env: Vec::new(),
        }
    }
}

/// What went wrong, in the terms a user acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    NotInstalled,
    NoCredentials,
    ExpiredCredentials,
    /// The caller lacks this IAM permission (e.g. `s3:GetBucketPolicy`).
    AccessDenied {
        permission: String,
    },
    /// The resource lives in another region (named when AWS says which).
    WrongRegion {
        expected: Option<String>,
    },
    NotFound,
    Other,
}

#[derive(Clone, Debug)]
pub struct AwsError {
    /// `s3api get-bucket-policy` and the like.
    pub command: String,
    pub region: String,
    /// AWS's error code (`AccessDenied`, `NoSuchBucketPolicy`, …) when it gave one.
    pub code: String,
    pub message: String,
    pub kind: ErrorKind,
}

impl std::error::Error for AwsError {}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.command;
        match &self.kind {
            ErrorKind::NotInstalled => write!(f, "the aws command line tool is not installed or not on PATH (install AWS CLI v2, or `pip install awscli`; or set SCALEFRONT_AWS to its path)"),
            ErrorKind::NoCredentials => write!(f, "no AWS credentials found for `aws {c}`: run `aws configure` (or `aws sso login`), or set AWS_PROFILE / AWS_ACCESS_KEY_ID"),
            ErrorKind::ExpiredCredentials => write!(f, "your AWS credentials have expired (`aws {c}`): log in again (`aws sso login`) or refresh them"),
            ErrorKind::AccessDenied { permission } => write!(f, "missing permission {permission}: `aws {c}` in {} was denied; grant {permission} to the user or role you deploy with ({})", self.region, self.message),
            ErrorKind::WrongRegion { expected: Some(r) } => write!(f, "wrong region: `aws {c}` used {} but the resource is in {r}; pass --region {r}", self.region),
            ErrorKind::WrongRegion { expected: None } => write!(f, "wrong region: `aws {c}` used {} but the resource is in another region; pass its --region ({})", self.region, self.message),
            ErrorKind::NotFound => write!(f, "not found: `aws {c}` in {}: {}", self.region, self.message),
            ErrorKind::Other => write!(f, "`aws {c}` in {} failed: {} {}", self.region, self.code, self.message),
        }
    }
}

/// The `aws` command groups scalefront calls, with their IAM service prefix (each service's
/// "service prefix" in the Service Authorization Reference,
/// https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
pub const SERVICES: &[(&str, &str)] = &[
    ("acm", "acm"),
    ("cloudformation", "cloudformation"),
    ("cloudfront", "cloudfront"),
    ("cloudfront-keyvaluestore", "cloudfront-keyvaluestore"),
    ("cloudwatch", "cloudwatch"),
    ("events", "events"),
    ("iam", "iam"),
    ("kms", "kms"),
    ("lambda", "lambda"),
    ("logs", "logs"),
    ("route53", "route53"),
    ("s3api", "s3"),
    ("sts", "sts"),
];

/// S3's operations whose IAM action is not the operation's own name, and the ones scalefront calls
/// (only these are mapped: S3 names its actions after the resource as often as after the call).
/// "Required permissions for Amazon S3 API operations":
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
const S3_ACTIONS: &[(&str, &str)] = &[
    ("create-bucket", "s3:CreateBucket"),
    ("delete-bucket", "s3:DeleteBucket"),
    // DeleteBucketLifecycle is authorized by s3:PutLifecycleConfiguration.
    ("delete-bucket-lifecycle", "s3:PutLifecycleConfiguration"),
    ("delete-bucket-policy", "s3:DeleteBucketPolicy"),
    ("delete-object", "s3:DeleteObject"),
    // DeleteObjects checks s3:DeleteObject for every key.
    ("delete-objects", "s3:DeleteObject"),
    ("get-bucket-encryption", "s3:GetEncryptionConfiguration"),
    (
        "get-bucket-lifecycle-configuration",
        "s3:GetLifecycleConfiguration",
    ),
    ("get-bucket-location", "s3:GetBucketLocation"),
    (
        "get-bucket-notification-configuration",
        "s3:GetBucketNotification",
    ),
    (
        "get-bucket-ownership-controls",
        "s3:GetBucketOwnershipControls",
    ),
    ("get-bucket-policy", "s3:GetBucketPolicy"),
    ("get-bucket-request-payment", "s3:GetBucketRequestPayment"),
    ("get-bucket-versioning", "s3:GetBucketVersioning"),
    ("get-object", "s3:GetObject"),
    ("get-public-access-block", "s3:GetBucketPublicAccessBlock"),
    // HeadBucket is authorized by s3:ListBucket, HeadObject by s3:GetObject.
    ("head-bucket", "s3:ListBucket"),
    ("head-object", "s3:GetObject"),
    ("list-object-versions", "s3:ListBucketVersions"),
    ("list-objects", "s3:ListBucket"),
    ("list-objects-v2", "s3:ListBucket"),
    ("put-bucket-encryption", "s3:PutEncryptionConfiguration"),
    (
        "put-bucket-lifecycle-configuration",
        "s3:PutLifecycleConfiguration",
    ),
    (
        "put-bucket-notification-configuration",
        "s3:PutBucketNotification",
    ),
    (
        "put-bucket-ownership-controls",
        "s3:PutBucketOwnershipControls",
    ),
    ("put-bucket-policy", "s3:PutBucketPolicy"),
    ("put-object", "s3:PutObject"),
    ("put-public-access-block", "s3:PutBucketPublicAccessBlock"),
];

/// The IAM service prefix of a CLI command group (the group itself when unknown).
fn iam_prefix(group: &str) -> &str {
    SERVICES
        .iter()
        .find(|(g, _)| *g == group)
        .map_or(group, |(_, p)| p)
}

/// `list-objects-v2` → `ListObjectsV2`: a CLI operation's API name.
pub fn pascal_case(op: &str) -> String {
    op.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `ListObjectsV2` → `list-objects-v2`: an API operation's CLI name.
pub fn kebab_case(operation: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for ch in operation.chars() {
        if ch.is_ascii_uppercase()
            && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            out.push('-');
        }
        out.push(ch.to_ascii_lowercase());
        prev = Some(ch);
    }
    out
}

/// The IAM actions one call `aws <group> <op>` needs (`s3api put-bucket-policy` →
/// `s3:PutBucketPolicy`; `s3api head-object` → `s3:GetObject`; `sts get-caller-identity` → none).
/// `None`: a call this table cannot vouch for — a group not in [`SERVICES`], an S3 operation not in
/// its table, or a CLI-side command that is no API operation (`cloudformation deploy`).
/// Everywhere else the action is the operation's API name under the service's prefix, which is
/// how the Service Authorization Reference names them for these services.
pub fn iam_actions(group: &str, op: &str) -> Option<Vec<String>> {
    let prefix = SERVICES.iter().find(|(g, _)| *g == group)?.1;
    match (group, op) {
        ("s3api", _) => S3_ACTIONS
            .iter()
            .find(|(o, _)| *o == op)
            .map(|(_, a)| vec![(*a).to_owned()]),
        // "No permissions are required to perform this operation."
        // https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
        ("sts", "get-caller-identity") => Some(Vec::new()),
        // The CLI's own commands (several API calls each, or none).
        ("cloudformation", "deploy" | "package" | "wait")
        | ("logs", "tail" | "start-live-tail")
        | ("cloudfront", "sign") => None,
        _ => Some(vec![format!("{prefix}:{}", pascal_case(op))]),
    }
}

/// Reads the CLI's error text: `An error occurred (Code) when calling the Operation operation: message`.
pub fn classify(group: &str, stderr: &str) -> (String, String, ErrorKind) {
    let text = stderr.trim();
    let lower = text.to_lowercase();
    if lower.contains("unable to locate credentials")
        || lower.contains("no credentials")
        || lower.contains("could not be found") && lower.contains("profile")
    {
        return (String::new(), text.to_owned(), ErrorKind::NoCredentials);
    }
    let code = text
        .split_once("An error occurred (")
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(c, _)| c.to_owned())
        .unwrap_or_default();
    let operation = text
        .split_once("when calling the ")
        .and_then(|(_, r)| r.split_once(" operation"))
        .map(|(o, _)| o.to_owned())
        .unwrap_or_default();
    let message = text
        .split_once(" operation: ")
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| text.to_owned());
    let kind = match code.as_str() {
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" | "TokenRefreshRequired" => {
            ErrorKind::ExpiredCredentials
        }
        "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" => {
            ErrorKind::NoCredentials
        }
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "403"
        | "Forbidden" => {
            // AWS usually names the action: "… is not authorized to perform: s3:GetBucketPolicy on …".
            let named = message
                .split_once("perform: ")
                .and_then(|(_, r)| r.split_whitespace().next())
                .map(|p| p.trim_end_matches([',', '.', ';']).to_owned());
            // S3 often names no action (HEAD answers carry no message): its table does.
            let s3_implicit =
                iam_actions("s3api", &kebab_case(&operation)).and_then(|a| a.into_iter().next());
            let permission = named
                .or(if group == "s3api" { s3_implicit } else { None })
                .unwrap_or_else(|| {
                    format!(
                        "{}:{}",
                        iam_prefix(group),
                        if operation.is_empty() {
                            "?"
                        } else {
                            &operation
                        }
                    )
                });
            ErrorKind::AccessDenied { permission }
        }
        "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "IllegalLocationConstraintException"
        | "InvalidLocationConstraint"
        | "301" => {
            // "… the region 'us-east-1' is wrong; expecting 'eu-west-1'"
            let expected = message
                .split_once("expecting '")
                .and_then(|(_, r)| r.split_once('\''))
                .map(|(r, _)| r.to_owned());
            ErrorKind::WrongRegion { expected }
        }
        c if c.starts_with("NoSuch")
            || c.ends_with("NotFound")
            || c.ends_with("NotFoundException")
            // S3's "this bucket has no such configuration" (encryption, ownership controls, …).
            || c.ends_with("NotFoundError")
            || c == "404"
            || c == "ValidationError" && message.contains("does not exist") =>
        {
            ErrorKind::NotFound
        }
        _ => ErrorKind::Other,
    };
    (code, message, kind)
}

impl Aws {
    pub fn with_program(program: impl Into<OsString>) -> Self {
        Aws {
            program: program.into(),
            env: Vec::new(),
        }
    }

    /// Sets an environment variable for every call this client makes (an empty value removes it).
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs `aws <args…> --region <region> --output json` and parses its output (empty → `Null`).
    pub fn call(&self, region: &str, args: &[&str]) -> Result<Value, AwsError> {
        let command = args.iter().take(2).copied().collect::<Vec<_>>().join(" ");
        let err = |code: String, message: String, kind| AwsError {
            command: command.clone(),
            region: region.to_owned(),
            code,
            message,
            kind,
        };
        let mut cmd = Command::new(&self.program);
        for (k, v) in &self.env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let out = cmd
            .args(args)
            .args(["--region", region, "--output", "json"])
            .env("AWS_PAGER", "")
            .output()
            .map_err(|e| err(String::new(), e.to_string(), ErrorKind::NotInstalled))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let (code, message, kind) = classify(args.first().copied().unwrap_or(""), &stderr);
            return Err(err(code, message, kind));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&stdout).map_err(|e| {
            err(
                String::new(),
                format!(
                    "unreadable output ({e}): {}",
                    stdout.chars().take(200).collect::<String>()
                ),
                ErrorKind::Other,
            )
        })
    }

    /// Like [`Aws::call`], but "not found" is `Ok(None)`.
    pub fn call_opt(&self, region: &str, args: &[&str]) -> Result<Option<Value>, AwsError> {
        match self.call(region, args) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_missing_permission() {
        let (_, _, k) = classify("s3api", "\nAn error occurred (AccessDenied) when calling the GetBucketPolicy operation: User: arn:aws:iam::1:user/me is not authorized to perform: s3:GetBucketPolicy on resource: \"arn:aws:s3:::photos\" because no identity-based policy allows the s3:GetBucketPolicy action\n");
        assert_eq!(
            k,
            ErrorKind::AccessDenied {
                permission: "s3:GetBucketPolicy".into()
            }
        );
        // No action named: derive it from the operation.
        let (_, _, k) = classify("cloudfront", "An error occurred (AccessDenied) when calling the GetDistribution operation: Access denied");
        assert_eq!(
            k,
            ErrorKind::AccessDenied {
                permission: "cloudfront:GetDistribution".into()
            }
        );
        let (_, _, k) = classify(
            "s3api",
            "An error occurred (403) when calling the HeadObject operation: Forbidden",
        );
        assert_eq!(
            k,
            ErrorKind::AccessDenied {
                permission: "s3:GetObject".into()
            }
        );
    }

    #[test]
    fn cli_calls_as_iam_actions() {
        let one = |g: &str, o: &str| iam_actions(g, o).map(|a| a.join(" "));
        assert_eq!(
            one("s3api", "put-bucket-policy").as_deref(),
            Some("s3:PutBucketPolicy")
        );
        assert_eq!(one("s3api", "head-object").as_deref(), Some("s3:GetObject"));
        assert_eq!(
            one("s3api", "head-bucket").as_deref(),
            Some("s3:ListBucket")
        );
        assert_eq!(
            one("s3api", "list-objects-v2").as_deref(),
            Some("s3:ListBucket")
        );
        assert_eq!(
            one("s3api", "get-bucket-encryption").as_deref(),
            Some("s3:GetEncryptionConfiguration")
        );
        assert_eq!(
            one("s3api", "put-public-access-block").as_deref(),
            Some("s3:PutBucketPublicAccessBlock")
        );
        assert_eq!(
            one("s3api", "select-object-content"),
            None,
            "S3: only the table"
        );
        assert_eq!(
            one("cloudfront-keyvaluestore", "put-key").as_deref(),
            Some("cloudfront-keyvaluestore:PutKey")
        );
        assert_eq!(
            one("kms", "get-key-policy").as_deref(),
            Some("kms:GetKeyPolicy")
        );
        assert_eq!(
            one("cloudformation", "create-change-set").as_deref(),
            Some("cloudformation:CreateChangeSet")
        );
        assert_eq!(
            one("route53", "list-hosted-zones-by-name").as_deref(),
            Some("route53:ListHostedZonesByName")
        );
        assert_eq!(one("sts", "get-caller-identity").as_deref(), Some(""));
        assert_eq!(one("cloudformation", "deploy"), None);
        assert_eq!(one("ec2", "describe-vpcs"), None);
        assert_eq!(kebab_case("ListObjectsV2"), "list-objects-v2");
        assert_eq!(
            kebab_case("GetBucketOwnershipControls"),
            "get-bucket-ownership-controls"
        );
        assert_eq!(pascal_case("list-objects-v2"), "ListObjectsV2");
        // The table is what a denied HEAD reports.
        let (_, _, k) = classify(
            "s3api",
            "An error occurred (403) when calling the HeadBucket operation: Forbidden",
        );
        assert_eq!(
            k,
            ErrorKind::AccessDenied {
                permission: "s3:ListBucket".into()
            }
        );
    }

    #[test]
    fn names_the_right_region() {
        let (_, _, k) = classify("s3api", "An error occurred (AuthorizationHeaderMalformed) when calling the GetBucketPolicy operation: The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'");
        assert_eq!(
            k,
            ErrorKind::WrongRegion {
                expected: Some("eu-west-1".into())
            }
        );
        let e = AwsError {
            command: "s3api get-bucket-policy".into(),
            region: "us-east-1".into(),
            code: String::new(),
            message: String::new(),
            kind: k,
        };
        assert!(e.to_string().contains("pass --region eu-west-1"), "{e}");
    }

    #[test]
    fn credentials_and_not_found() {
        assert_eq!(classify("sts", "Unable to locate credentials. You can configure credentials by running \"aws configure\".").2, ErrorKind::NoCredentials);
        assert_eq!(classify("sts", "An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included in the request is expired").2, ErrorKind::ExpiredCredentials);
        assert_eq!(classify("s3api", "An error occurred (NoSuchBucketPolicy) when calling the GetBucketPolicy operation: The bucket policy does not exist").2, ErrorKind::NotFound);
        assert_eq!(classify("cloudformation", "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id x does not exist").2, ErrorKind::NotFound);
        assert_eq!(classify("lambda", "An error occurred (ResourceNotFoundException) when calling the GetFunction operation: Function not found").2, ErrorKind::NotFound);
    }

    #[test]
    fn missing_program_is_a_clear_error() {
        let e = Aws::with_program("/nonexistent/aws")
            .call("us-east-1", &["sts", "get-caller-identity"])
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotInstalled);
        assert!(e.to_string().contains("not installed"));
    }
}
