//! The CloudFormation templates (`infra/templates/*.yaml`) and their rendering.
//!
//! The templates are plain YAML with `{{name}}` placeholders, so a reader sees the stack as AWS will.
//! Every value put into them is either checked against a narrow character set (names, ARNs, keys) or,
//! for the CloudFront Function's code, written as a YAML literal block: nothing a user typed can
//! change the template's structure.
use std::collections::BTreeMap;

use base64::Engine as _;
use sha2::{Digest, Sha256};

const EDGE: &str = include_str!("../templates/edge.yaml");
const REGIONAL: &str = include_str!("../templates/regional.yaml");
const REGION: &str = include_str!("../templates/region.yaml");

/// CertificateArn's default without an alias: never used (the alias condition is false), shaped
/// like an ARN so linters that resolve the parameter find one.
const UNUSED_CERTIFICATE: &str = "arn:aws:acm:us-east-1:000000000000:certificate/unused";

/// The stack next to the bucket: `<stack>-region`, in the bucket's region.
pub fn region_stack_name(stack: &str) -> String {
    format!("{stack}-region")
}

/// The purge function's name (in the bucket's region).
pub fn purge_function_name(stack: &str) -> String {
    format!("{stack}-purge")
}

/// Memory for the resize function: 1,769 MB is where Lambda gives one full vCPU, and resizing is
/// CPU-bound. Memory itself needs far less: Node with the wasm module loaded measured 55-57 MB RSS
/// here; image-core's default limits cap a decode at 50 MP (≤ 200 MB RGBA, all allocations ≤ 464 MB)
/// and the input at 40 MB, so the worst case stays under ~600 MB. `--memory` trades speed for cost.
pub const DEFAULT_MEMORY_MB: u32 = 1769;

/// The origin-response function's runtime (edge mode): the newest Node.js Lambda@Edge takes (one
/// table: [`crate::runtime`]).
pub use crate::runtime::EDGE_RUNTIME;
/// The regional function's runtime: the native bootstrap on Amazon Linux 2023.
pub const REGIONAL_RUNTIME: &str = "provided.al2023";
/// Both functions' architecture (Lambda@Edge supports x86_64 only) and timeout in seconds
/// (Lambda@Edge's origin-response maximum).
pub const ARCHITECTURE: &str = "x86_64";
pub const TIMEOUT_S: u32 = 30;

/// Which stack shape to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Origin-response Lambda@Edge (Node.js + wasm) makes missing variants.
    Edge,
    /// An origin group fails over from S3 to a regional Lambda function URL (native Rust).
    Regional,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Edge => "edge",
            Mode::Regional => "regional",
        }
    }
    /// The file name `scalefront package` writes the rendered template under.
    pub fn file_name(self) -> &'static str {
        match self {
            Mode::Edge => "template-edge.yaml",
            Mode::Regional => "template-regional.yaml",
        }
    }
    /// The file name of the rendered stack next to the bucket (in its region: the purge, and in
    /// regional mode the resize function).
    pub fn region_file_name(self) -> &'static str {
        match self {
            Mode::Edge => "template-edge-region.yaml",
            Mode::Regional => "template-regional-region.yaml",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "edge" => Ok(Mode::Edge),
            "regional" => Ok(Mode::Regional),
            _ => Err(format!("unknown mode {s:?}: expected edge or regional")),
        }
    }
}

/// A Lambda package as uploaded: its content-addressed S3 key and its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub key: String,
    pub sha256: [u8; 32],
}

impl Artifact {
    /// `name` is the package's file stem (`origin-response`, `regional`). The key carries the hash, so
    /// a changed package is a new object and CloudFormation sees a new `S3Key`.
    pub fn of(name: &str, bytes: &[u8]) -> Artifact {
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        Artifact {
            key: format!("scalefront/{name}-{}.zip", &hex(&sha256)[..16]),
            sha256,
        }
    }
    /// The form Lambda reports and `AWS::Lambda::Version.CodeSha256` expects: base64 of the digest.
    pub fn code_sha256(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.sha256)
    }
}

/// Everything a template needs. Names of the stack's resources derive from `stack_name`.
#[derive(Clone, Debug)]
pub struct Params {
    /// CloudFormation stack name; also the stem of every named resource (`{stack}-origin-response`, …).
    pub stack_name: String,
    pub bucket: String,
    pub bucket_region: String,
    /// The stack creates the bucket (only possible in us-east-1); else it exists and its policy is
    /// merged by `deploy` (an existing policy must not be overwritten).
    pub create_bucket: bool,
    /// The variant prefix (`Spec::prefix()`): the only place the function may write.
    pub prefix: String,
    /// The generated CloudFront Function (`viewer_fn::generate`); trailing newlines become one.
    pub viewer_function_code: String,
    /// Any text that changes when the rule spec changes (e.g. the spec as canonical JSON).
    pub spec_fingerprint: String,
    /// The us-east-1 bucket holding the packages; `None` leaves the parameter without a default.
    pub artifact_bucket: Option<String>,
    pub edge_package: Artifact,
    pub regional_package: Artifact,
    pub memory_mb: u32,
    /// A photo's key for the ready-to-curl test URL.
    pub test_key: String,
    /// `Spec::negotiates_format()`: the behaviour adds `Vary: Accept` to every response.
    pub negotiates_format: bool,
    /// Origin Shield's region (see [`origin_shield_region`]); `None`: off.
    pub origin_shield: Option<String>,
    /// With `signed = true`: the signing keys file's key in the artifacts bucket, from which the
    /// stack creates the viewer function's KeyValueStore.
    pub signing_keys_object: Option<String>,
    /// `deploy --prefix`: the folder CloudFront may read besides the variants ("" = the whole
    /// bucket; else ends with `/`).
    pub read_scope: String,
    /// An SSE-KMS bucket's customer managed key (ARN): the role may decrypt and encrypt with it.
    pub kms_key_arn: Option<String>,
    /// The site's own name and its certificate (`deploy --domain`).
    pub domain: Option<Domain>,
}

/// `deploy --domain`: the alias and an ACM certificate in us-east-1 that covers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    pub certificate_arn: String,
}

/// The Origin Shield region for a bucket's region: the same region where Origin Shield is offered,
/// else AWS's recommended neighbour; `None` for a region the table does not know (pass
/// `--origin-shield REGION`). CloudFront Developer Guide, "Use Amazon CloudFront Origin Shield"
/// (<https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/origin-shield.html>).
pub fn origin_shield_region(bucket_region: &str) -> Option<&'static str> {
    const OFFERED: [&str; 12] = [
        "us-east-2",
        "us-east-1",
        "us-west-2",
        "ap-south-1",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "sa-east-1",
    ];
    const NEIGHBOUR: [(&str, &str); 8] = [
        ("us-west-1", "us-west-2"),
        ("af-south-1", "eu-west-1"),
        ("ap-east-1", "ap-southeast-1"),
        ("ca-central-1", "us-east-1"),
        ("eu-south-1", "eu-central-1"),
        ("eu-west-3", "eu-west-2"),
        ("eu-north-1", "eu-west-2"),
        ("me-south-1", "ap-south-1"),
    ];
    OFFERED
        .into_iter()
        .find(|r| *r == bucket_region)
        .or_else(|| {
            NEIGHBOUR
                .into_iter()
                .find(|(b, _)| *b == bucket_region)
                .map(|(_, s)| s)
        })
}

/// A value that cannot go into the template.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{what} {value:?} is not valid: {why}")]
pub struct ParamError {
    pub what: &'static str,
    pub value: String,
    pub why: &'static str,
}

fn bad(what: &'static str, value: &str, why: &'static str) -> ParamError {
    ParamError {
        what,
        value: value.to_owned(),
        why,
    }
}

/// Stack names are the stem of function names (≤ 64 characters with the longest suffix).
pub const MAX_STACK_NAME: usize = 40;

pub fn check_stack_name(s: &str) -> Result<(), ParamError> {
    let ok = s.len() <= MAX_STACK_NAME
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(()).ok_or_else(|| {
        bad(
            "stack name",
            s,
            "use 1-40 letters, digits and hyphens, starting with a letter",
        )
    })
}

pub fn check_bucket(s: &str) -> Result<(), ParamError> {
    let b = s.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !s.contains("..");
    ok.then_some(()).ok_or_else(|| {
        bad(
            "bucket name",
            s,
            "S3 bucket names are 3-63 lowercase letters, digits, dots and hyphens",
        )
    })
}

pub fn check_region(s: &str) -> Result<(), ParamError> {
    // e.g. us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase()))
        && parts[0].len() == 2
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    ok.then_some(())
        .ok_or_else(|| bad("region", s, "expected a region name such as eu-west-1"))
}

fn check_prefix(s: &str) -> Result<(), ParamError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
    ok.then_some(()).ok_or_else(|| {
        bad(
            "variant prefix",
            s,
            "use letters, digits, _ - . and inner slashes (e.g. _sf)",
        )
    })
}

fn check_code(s: &str) -> Result<(), ParamError> {
    // CloudFront Functions are limited to 10 KB; the template stays far under CloudFormation's body limit.
    if s.len() > 10 * 1024 {
        return Err(bad(
            "viewer function",
            &format!("{} bytes", s.len()),
            "CloudFront Functions hold at most 10 KB",
        ));
    }
    if s.trim().is_empty()
        || s.contains('\r')
        || s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(bad(
            "viewer function",
            "(code)",
            "expected non-empty source with \\n line ends",
        ));
    }
    Ok(())
}

impl Params {
    pub fn validate(&self) -> Result<(), ParamError> {
        check_stack_name(&self.stack_name)?;
        check_bucket(&self.bucket)?;
        check_region(&self.bucket_region)?;
        check_prefix(&self.prefix)?;
        check_code(&self.viewer_function_code)?;
        // A signed function imports the KeyValueStore: it cannot be published without one.
        let imports = self.viewer_function_code.contains("import cf from");
        if imports != self.signing_keys_object.is_some() {
            return Err(bad(
                "signing keys",
                if imports { "none" } else { "given" },
                "a signed viewer function (signed = true) needs its keys file, and only it",
            ));
        }
        if let Some(b) = &self.artifact_bucket {
            check_bucket(b)?;
        }
        let s = &self.read_scope;
        let folder = s.ends_with('/')
            && !s.starts_with('/')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./!()".contains(&b));
        if !s.is_empty() && !folder {
            return Err(bad(
                "prefix",
                s,
                "a folder such as photos/: letters, digits and - _ . / ! ( ), ending with /",
            ));
        }
        for arn in self
            .kms_key_arn
            .iter()
            .chain(self.domain.as_ref().map(|d| &d.certificate_arn))
        {
            if !(arn.starts_with("arn:aws")
                && arn
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b":/-_".contains(&b)))
            {
                return Err(bad(
                    "ARN",
                    arn,
                    "expected an ARN (arn:aws:kms:… or arn:aws:acm:…)",
                ));
            }
        }
        if let Some(d) = &self.domain {
            crate::domain::validate_alias(&d.name).map_err(|_| {
                bad(
                    "domain",
                    &d.name,
                    "not a name CloudFront takes as an alias (see deploy --domain)",
                )
            })?;
            if crate::domain::arn_region(&d.certificate_arn) != Some(crate::domain::ACM_REGION) {
                return Err(bad(
                    "certificate",
                    &d.certificate_arn,
                    "CloudFront takes certificates only from ACM in us-east-1",
                ));
            }
        }
        if let Some(r) = &self.origin_shield {
            check_region(r)?;
        }
        if self.create_bucket && self.bucket_region != "us-east-1" {
            return Err(bad(
                "bucket region",
                &self.bucket_region,
                "the stack can create a bucket only in us-east-1; create it first",
            ));
        }
        // Lambda: 128-10,240 MB.
        if !(128..=10_240).contains(&self.memory_mb) {
            return Err(bad(
                "memory",
                &self.memory_mb.to_string(),
                "Lambda takes 128-10240 MB",
            ));
        }
        Ok(())
    }

    pub fn edge_function_name(&self) -> String {
        edge_function_name(&self.stack_name)
    }
    pub fn regional_function_name(&self) -> String {
        format!("{}-resize", self.stack_name)
    }
    pub fn viewer_function_name(&self) -> String {
        format!("{}-viewer-request", self.stack_name)
    }
    /// The test URL's path and query (after the distribution domain).
    pub fn test_path(&self) -> String {
        let key = if self.test_key.is_empty() {
            "photo.jpg"
        } else {
            self.test_key.as_str()
        };
        format!("{}?w=600", percent_encode_path(key))
    }
}

/// The Lambda@Edge function's name for a stack (its log groups are `/aws/lambda/us-east-1.<name>`).
pub fn edge_function_name(stack: &str) -> String {
    format!("{stack}-origin-response")
}

/// The published Lambda version's identity (its Description): everything that shapes the
/// function — package, spec, memory, timeout, runtime, architecture. A published version freezes
/// its configuration, so any change here publishes a new version and switches the distribution.
pub fn version_description(mode: Mode, p: &Params) -> String {
    let spec_hash = hex(&Sha256::digest(p.spec_fingerprint.as_bytes()));
    let (code, runtime) = match mode {
        Mode::Edge => (&p.edge_package, EDGE_RUNTIME),
        Mode::Regional => (&p.regional_package, REGIONAL_RUNTIME),
    };
    format!(
        "scalefront package {} spec {} {} MB {TIMEOUT_S} s {runtime} {ARCHITECTURE}",
        &hex(&code.sha256)[..12],
        &spec_hash[..12],
        p.memory_mb,
    )
}

/// Renders the template for `mode` with every value filled in.
pub fn render(mode: Mode, p: &Params) -> Result<String, ParamError> {
    let template = match mode {
        Mode::Edge => EDGE,
        Mode::Regional => REGIONAL,
    };
    render_one(template, mode, p)
}

/// Renders the stack next to the bucket ([`Mode::region_file_name`], deployed in the bucket's region) for
/// `mode`: the purge, and in regional mode the resize function.
pub fn render_region(mode: Mode, p: &Params) -> Result<String, ParamError> {
    render_one(REGION, mode, p)
}

fn render_one(template: &str, mode: Mode, p: &Params) -> Result<String, ParamError> {
    p.validate()?;
    let mut v: BTreeMap<&str, String> = BTreeMap::new();
    v.insert(
        "description",
        format!(
            "scalefront {} mode for bucket {} (stack {})",
            mode.as_str(),
            p.bucket,
            p.stack_name
        ),
    );
    v.insert(
        "region_description",
        format!(
            "scalefront {} mode, next to bucket {}: the purge{} (distribution in stack {})",
            mode.as_str(),
            p.bucket,
            if mode == Mode::Regional {
                " and the resize function"
            } else {
                ""
            },
            p.stack_name
        ),
    );
    v.insert("region_resizes", (mode == Mode::Regional).to_string());
    v.insert("purge_function_name", purge_function_name(&p.stack_name));
    v.insert("regional_runtime", REGIONAL_RUNTIME.to_string());
    v.insert("prefix", p.prefix.clone());
    // The function's package sits in this account's artifacts bucket of the bucket's region.
    v.insert(
        "region_artifact_bucket_default",
        p.artifact_bucket
            .as_deref()
            .and_then(|b| crate::deploy::artifacts::owner(b).ok())
            .map(|account| {
                format!(
                    "    Default: \"{}\"",
                    crate::deploy::artifacts::bucket_name(account, &p.bucket_region)
                )
            })
            .unwrap_or_default(),
    );
    v.insert("bucket", p.bucket.clone());
    v.insert("bucket_region", p.bucket_region.clone());
    v.insert("create_bucket", p.create_bucket.to_string());
    v.insert(
        "artifact_bucket_default",
        p.artifact_bucket
            .as_ref()
            .map(|b| format!("    Default: \"{b}\""))
            .unwrap_or_default(),
    );
    v.insert("bucket_arn", format!("arn:aws:s3:::{}", p.bucket));
    v.insert("bucket_objects_arn", format!("arn:aws:s3:::{}/*", p.bucket));
    v.insert(
        "variant_objects_arn",
        format!("arn:aws:s3:::{}/{}/*", p.bucket, p.prefix),
    );
    v.insert(
        "bucket_domain",
        format!("{}.s3.{}.amazonaws.com", p.bucket, p.bucket_region),
    );
    v.insert("edge_function_name", p.edge_function_name());
    v.insert("regional_function_name", p.regional_function_name());
    v.insert("viewer_function_name", p.viewer_function_name());
    v.insert("oac_name", format!("{}-photos", p.stack_name));
    v.insert("lambda_oac_name", format!("{}-resize-url", p.stack_name));
    v.insert("cache_policy_name", format!("{}-uri-only", p.stack_name));
    v.insert(
        "distribution_comment",
        format!("scalefront {} ({})", p.stack_name, p.bucket),
    );
    v.insert("memory_mb", p.memory_mb.to_string());
    v.insert(
        "memory_note",
        format!(
            "{} MB: CPU scales with memory and resizing is CPU-bound (README: Deploy to AWS)",
            p.memory_mb
        ),
    );
    v.insert("min_ttl", viewer_fn::cdn::MIN_TTL.to_string());
    v.insert("default_ttl", viewer_fn::cdn::DEFAULT_TTL.to_string());
    v.insert("max_ttl", viewer_fn::cdn::MAX_TTL.to_string());
    v.insert(
        "transient_error_ttl",
        viewer_fn::cdn::TRANSIENT_ERROR_CACHING_MIN_TTL.to_string(),
    );
    v.insert("negotiates_format", p.negotiates_format.to_string());
    v.insert(
        "response_headers_policy_name",
        format!("{}-vary-accept", p.stack_name),
    );
    let shield = |region: Option<&str>| match region {
        Some(r) => format!("{{Enabled: true, OriginShieldRegion: {r}}}"),
        None => "{Enabled: false}".to_string(),
    };
    v.insert("origin_shield", shield(p.origin_shield.as_deref()));
    // The function lives in the bucket's region too: the same shield region serves both.
    v.insert("origin_shield_function", shield(p.origin_shield.as_deref()));
    v.insert("edge_code_key", p.edge_package.key.clone());
    v.insert("edge_code_sha256", p.edge_package.code_sha256());
    v.insert("regional_code_key", p.regional_package.key.clone());
    let runtime = match mode {
        Mode::Edge => EDGE_RUNTIME,
        Mode::Regional => REGIONAL_RUNTIME,
    };
    v.insert("runtime", runtime.to_string());
    v.insert("architecture", ARCHITECTURE.to_string());
    v.insert("timeout", TIMEOUT_S.to_string());
    // Everything that shapes the function is in the published version's identity: a published
    // version freezes its configuration, so a new memory size (or runtime, timeout,
    // architecture) must publish a new version, as a new package or spec does — and the
    // distribution then switches to it.
    v.insert("version_description", version_description(mode, p));
    v.insert("test_path", p.test_path());
    v.insert(
        "signing_keys_object",
        p.signing_keys_object.clone().unwrap_or_default(),
    );
    v.insert("kvs_name", format!("{}-keys", p.stack_name));
    v.insert(
        "cache_tag_header",
        viewer_fn::purge::CACHE_TAG_HEADER.to_string(),
    );
    let read = crate::deploy::grants::read_resources(&p.bucket, &p.read_scope, &p.prefix);
    let quoted: Vec<String> = read.iter().map(|r| format!("\"{r}\"")).collect();
    v.insert("cloudfront_read_yaml", format!("[{}]", quoted.join(", ")));
    v.insert("cloudfront_read_json", format!("[{}]", quoted.join(",")));
    v.insert("kms_key_arn", p.kms_key_arn.clone().unwrap_or_default());
    v.insert(
        "alias",
        p.domain
            .as_ref()
            .map(|d| d.name.clone())
            .unwrap_or_default(),
    );
    v.insert(
        "certificate_arn",
        p.domain
            .as_ref()
            .map(|d| d.certificate_arn.clone())
            .unwrap_or_else(|| UNUSED_CERTIFICATE.to_owned()),
    );
    for (name, value) in &v {
        // Every inline value sits in a quoted scalar or a comment: keep it to a safe alphabet.
        let safe = value.chars().all(|c| c.is_ascii_graphic() || c == ' ')
            && !value.contains(['"', '\\', '\''])
            && !value.contains("${");
        // Whole lines, or lists of quoted ARNs built from checked names.
        let is_line = matches!(
            *name,
            "artifact_bucket_default"
                | "region_artifact_bucket_default"
                | "cloudfront_read_yaml"
                | "cloudfront_read_json"
        );
        if !(safe || is_line && !value.contains('\n')) {
            return Err(bad(
                "template value",
                value,
                "contains a character a template cannot hold",
            ));
        }
    }
    Ok(fill(template, &v, &p.viewer_function_code))
}

/// Replaces `{{name}}` placeholders; `{{viewer_function_code}}` becomes a YAML literal block indented
/// under its key. Panics on an unknown placeholder (a template bug, caught by the tests).
fn fill(template: &str, values: &BTreeMap<&str, String>, code: &str) -> String {
    let mut out = String::with_capacity(template.len() + code.len() * 2);
    for line in template.split_inclusive('\n') {
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start + 2..].find("}}") else {
                break;
            };
            let name = &rest[start + 2..start + 2 + len];
            if !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
                continue;
            }
            out.push_str(&rest[..start]);
            if name == "viewer_function_code" {
                let indent = line.len() - line.trim_start().len();
                out.push_str(&literal_block(code, indent));
            } else {
                let value = values
                    .get(name)
                    .unwrap_or_else(|| panic!("template placeholder {{{{{name}}}}} has no value"));
                out.push_str(value);
            }
            rest = &rest[start + 2 + len + 2..];
        }
        out.push_str(rest);
    }
    out
}

/// A YAML literal block scalar holding `code`, ending in exactly one newline (extra trailing newlines
/// would need "keep" chomping, which also swallows the template's blank lines after the block). The
/// indentation is explicit because the code may start with spaces.
fn literal_block(code: &str, key_indent: usize) -> String {
    let pad = " ".repeat(key_indent + 2);
    let mut out = String::from("|2");
    for l in code.trim_end_matches('\n').split('\n') {
        out.push('\n');
        if !l.is_empty() {
            out.push_str(&pad);
            out.push_str(l);
        }
    }
    out
}

/// Percent-encodes a key for a URL path: unreserved characters and `/` stay.
pub fn percent_encode_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub use viewer_fn::sign::hex;
