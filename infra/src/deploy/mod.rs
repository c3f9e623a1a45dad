//! `scalefront deploy` as one ordered list of named steps ([`steps`]): survey → bucket → package →
//! upload → change set → wait → bucket policy → key policy → verify (plus the function's own stack
//! in regional mode). `--dry-run` prints the very list execution runs ([`describe`]), running
//! only the steps that call no AWS API ([`crate::steps::NamedStep::runs_dry`]: packaging; one driver, [`crate::steps::drive`], for deploy and teardown); execution prints each step as
//! it starts, then its progress ([`run`]).
//!
//! What the steps learn goes into one [`Ctx`]; the pure parts (survey findings, policy merges,
//! stack event lines, the verify probe) are unit-tested, the AWS calls go through [`Aws`].
pub mod artifacts;
pub mod grants;
pub mod stack;
pub mod survey;
pub mod verify;

use crate::steps::NamedStep;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::aws::Aws;
use crate::template::{Artifact, Mode};
pub use grants::{merge_statement, policy_sid};
use stack::{Described, StackRef};
pub use survey::{Finding, Severity, Survey};

/// Stacks live here: Lambda@Edge must be created in us-east-1 and CloudFront is managed from it.
pub const STACK_REGION: &str = "us-east-1";

/// What the command line asked for.
#[derive(Clone, Debug)]
pub struct Options {
    pub stack: String,
    pub mode: Mode,
    pub bucket: String,
    /// `--region`: the bucket's region when the bucket is new (checked against S3 otherwise).
    pub region: Option<String>,
    /// `--prefix photos/`: CloudFront may read only this folder and the variants ("" = all).
    pub scope: String,
    /// The spec's variant prefix (`_sf`).
    pub variant_prefix: String,
    /// `--yes`: apply what deploy would otherwise only print (the KMS key policy statement).
    pub yes: bool,
    /// `--domain` (with `--certificate`, `--route53-zone`).
    pub domain: Option<DomainOptions>,
    /// Days the Lambda@Edge log groups keep their events (edge mode).
    pub log_retention_days: u32,
    /// The spec's `variant_expiry_days`: stored variants expire after so many days (`None`: never).
    pub variant_expiry_days: Option<u32>,
}

/// `deploy --domain images.example.com [--certificate ARN] [--route53-zone ZONE]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainOptions {
    pub name: String,
    pub certificate: Option<String>,
    pub zone: Option<String>,
}

/// What the package step made (the CLI builds it: packages, rendered templates).
#[derive(Clone, Debug)]
pub struct Built {
    pub package_file: PathBuf,
    pub package: Artifact,
    pub package_size: u64,
    pub template_file: PathBuf,
    pub template: String,
    /// With `signed = true`: the keys file and its key in the artifacts bucket (the stack's
    /// KeyValueStore is imported from it).
    pub signing_keys: Option<(PathBuf, String)>,
    /// The stack next to the bucket (the purge; in regional mode also the resize function), and
    /// the package its functions run: the regional package (the same as `package` in regional
    /// mode).
    pub region_template_file: PathBuf,
    /// The path and query the verify step requests (a variant of a photo in the bucket, as this
    /// spec wants it asked: a preset, a signature); `None`: no photo to try.
    pub verify_path: Option<String>,
    /// Edge mode: the Lambda@Edge version's identity ([`crate::template::version_description`]);
    /// when it differs from the deployed one, a new version is published and associated.
    pub edge_version: Option<String>,
    pub region_package_file: PathBuf,
    pub region_package: Artifact,
}

/// What deploy reports at the end.
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    pub domain: String,
    pub test_url: String,
    pub distribution_id: String,
    pub raw: Vec<(String, String)>,
}

impl Outputs {
    fn of(stack: &str, d: &Described) -> Result<Outputs> {
        let out = Outputs {
            domain: d.output("DistributionDomain").unwrap_or("").to_owned(),
            test_url: d.output("TestUrl").unwrap_or("").to_owned(),
            distribution_id: d.output("DistributionId").unwrap_or("").to_owned(),
            raw: d.outputs.clone(),
        };
        if out.domain.is_empty() || out.distribution_id.is_empty() {
            bail!("stack {stack} finished but has no DistributionDomain/DistributionId output: is it a scalefront stack? (outputs: {:?})", out.raw);
        }
        Ok(out)
    }

    pub fn distribution_arn(&self, account: &str) -> String {
        format!(
            "arn:aws:cloudfront::{account}:distribution/{}",
            self.distribution_id
        )
    }
}

/// Everything deploy knows: the options, then what each step found or made.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub opts: Options,
    /// `None` until the survey ran (always `None` on a dry run).
    pub survey: Option<Survey>,
    pub built: Option<Built>,
    pub change_set: Option<stack::ChangeSet>,
    pub outputs: Option<Outputs>,
    /// With `--domain`: the ISSUED certificate (us-east-1) for the alias.
    pub certificate_arn: Option<String>,
    /// Regional mode: the function URL's host, from the function's stack.
    pub function_url: Option<String>,
}

impl Ctx {
    pub fn new(opts: Options) -> Ctx {
        Ctx {
            opts,
            survey: None,
            built: None,
            change_set: None,
            outputs: None,
            certificate_arn: None,
            function_url: None,
        }
    }

    /// The bucket's region: surveyed, else `--region`, else us-east-1 (a new bucket's default).
    pub fn bucket_region(&self) -> String {
        match (&self.survey, &self.opts.region) {
            (Some(s), _) => s.bucket_region.clone(),
            (None, Some(r)) => r.clone(),
            (None, None) => STACK_REGION.to_owned(),
        }
    }

    /// The artifacts bucket for the stack in us-east-1 (`None` before the survey).
    pub fn artifact_bucket(&self) -> Option<String> {
        self.survey
            .as_ref()
            .map(|s| artifacts::bucket_name(&s.account, STACK_REGION))
    }

    fn stack(&self) -> StackRef {
        StackRef::new(&self.opts.stack, STACK_REGION)
    }

    /// The stack next to the bucket.
    fn region_stack(&self) -> StackRef {
        StackRef::new(
            &crate::template::region_stack_name(&self.opts.stack),
            &self.bucket_region(),
        )
    }

    /// The artifacts bucket of the bucket's region (the regional package), `None` before the
    /// survey.
    fn region_bucket(&self) -> Option<String> {
        let s = self.survey.as_ref()?;
        Some(artifacts::bucket_name(&s.account, &s.bucket_region))
    }

    fn survey(&self) -> Result<&Survey> {
        self.survey
            .as_ref()
            .context("this step needs the survey first")
    }

    fn built(&self) -> Result<&Built> {
        self.built
            .as_ref()
            .context("this step needs the package first")
    }
}

/// One named step of a deploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Survey,
    Bucket,
    Certificate,
    Package,
    Upload,
    RegionStack,
    ChangeSet,
    Wait,
    Wire,
    Events,
    Lifecycle,
    BucketPolicy,
    KeyPolicy,
    Dns,
    Logs,
    Verify,
}

/// The steps of a deploy, in order: what `--dry-run` prints and execution runs.
pub fn steps(opts: &Options) -> Vec<Step> {
    use Step::*;
    let domain = opts.domain.is_some();
    let edge = opts.mode == Mode::Edge;
    [
        (Survey, true),
        (Bucket, true),
        (Certificate, domain),
        (Package, true),
        (Upload, true),
        (RegionStack, true),
        (ChangeSet, true),
        (Wait, true),
        (Wire, true),
        (Events, true),
        (Lifecycle, true),
        (BucketPolicy, true),
        (KeyPolicy, true),
        (Dns, domain),
        (Logs, edge),
        (Verify, true),
    ]
    .into_iter()
    .filter_map(|(step, wanted)| wanted.then_some(step))
    .collect()
}

impl NamedStep<Ctx> for Step {
    fn name(self) -> &'static str {
        match self {
            Step::Survey => "survey",
            Step::Bucket => "bucket",
            Step::Certificate => "certificate",
            Step::Package => "package",
            Step::Upload => "upload",
            Step::RegionStack => "region-stack",
            Step::Wire => "wire",
            Step::Events => "events",
            Step::Lifecycle => "lifecycle",
            Step::ChangeSet => "change-set",
            Step::Wait => "wait",
            Step::BucketPolicy => "bucket-policy",
            Step::KeyPolicy => "key-policy",
            Step::Dns => "dns",
            Step::Logs => "logs",
            Step::Verify => "verify",
        }
    }

    /// What the step does, with what is known so far.
    fn describe(self, ctx: &Ctx) -> String {
        let o = &ctx.opts;
        let region = ctx.bucket_region();
        let artifacts = ctx
            .artifact_bucket()
            .unwrap_or_else(|| artifacts::bucket_name("<account id>", STACK_REGION));
        match self {
            Step::Survey => format!("ask AWS, changing nothing: the account; bucket {}'s region (head-bucket), default encryption, policy, Requester Pays, Object Ownership and what it holds; stack {}'s status", o.bucket, o.stack),
            Step::Bucket => match &ctx.survey {
                Some(s) if s.bucket_exists => format!("use the existing bucket {} in {region}", o.bucket),
                Some(_) => format!("create bucket {} in {region} (object ownership enforced, public access blocked)", o.bucket),
                None => format!("use bucket {} in {region} (created if missing: private, ACLs off)", o.bucket),
            },
            Step::Package => match &ctx.built {
                Some(b) => format!("build the function package {} ({:.1} MB) and render {} for a bucket in {region}", b.package_file.display(), b.package_size as f64 / 1e6, b.template_file.display()),
                None => format!("build the function package and render the {} template for a bucket in {region}", o.mode.as_str()),
            },
            Step::Upload => {
                let region_bucket = ctx
                    .region_bucket()
                    .unwrap_or_else(|| artifacts::bucket_name("<account id>", &region));
                let mut s = match (&ctx.built, o.mode) {
                    (Some(b), Mode::Edge) => format!("upload the Lambda@Edge package to s3://{artifacts}/{} in {STACK_REGION} and the regional package (the purge) to s3://{region_bucket}/{} in {region}", b.package.key, b.region_package.key),
                    (Some(b), Mode::Regional) => format!("upload the regional package (resize and purge) to s3://{region_bucket}/{} in {region}", b.region_package.key),
                    (None, Mode::Edge) => format!("upload the packages to s3://{artifacts}/ ({STACK_REGION}) and s3://{region_bucket}/ ({region})"),
                    (None, Mode::Regional) => format!("upload the regional package to s3://{region_bucket}/ ({region})"),
                };
                s.push_str(" (buckets created if missing, checked to be this account's; skipped if already there)");
                if let Some((file, key)) = ctx.built.as_ref().and_then(|b| b.signing_keys.as_ref()) {
                    s.push_str(&format!("; upload the signing keys {} to s3://{artifacts}/{key} (the stack's KeyValueStore is created from it, once: later keys go in with scalefront sign --rotate)", file.display()));
                }
                s
            }
            Step::ChangeSet => {
                let verb = match &ctx.survey {
                    Some(s) if s.stack_status.is_some() => "update",
                    Some(_) => "create",
                    None => "create or update",
                };
                let what = match o.mode {
                    Mode::Edge => "OAC, cache policy, viewer-request CloudFront Function, IAM role, origin-response Lambda@Edge + numbered version, distribution",
                    Mode::Regional => "OAC ×2, cache policy, viewer-request CloudFront Function, distribution with an origin group failing over to the function URL",
                };
                let version = ctx.built.as_ref().and_then(|b| b.edge_version.as_ref()).map(|v| format!("; the distribution associates Lambda@Edge version «{v}», published anew whenever this differs from the deployed one's")).unwrap_or_default();
                format!("prepare a change set to {verb} stack {} in {STACK_REGION} ({what}) and print each resource it changes{version}", o.stack)
            }
            Step::RegionStack => format!(
                "create or update stack {} in {region} from {} (next to the bucket: the purge function and the EventBridge rule that runs it when an original is replaced or deleted{}) and wait for it",
                crate::template::region_stack_name(&o.stack),
                ctx.built.as_ref().map(|b| b.region_template_file.display().to_string()).unwrap_or_else(|| o.mode.region_file_name().to_owned()),
                if o.mode == Mode::Regional { "; the resize Lambda and its function URL, whose host the distribution's stack gets" } else { "" }
            ),
            Step::Wire => format!(
                "give stack {} in {region} the distribution's id (the purge invalidates it{}); skipped when it already has it",
                crate::template::region_stack_name(&o.stack),
                if o.mode == Mode::Regional { ", it may invoke the function URL: on a first deploy the URL answers 403 until then" } else { "" }
            ),
            // S3 → EventBridge delivery: see `with_eventbridge` and the page it cites.
            Step::Events => format!("turn on EventBridge notifications of bucket {} (S3 then tells EventBridge of every object created or deleted; the bucket's other notifications stay)", o.bucket),
            Step::Lifecycle => match o.variant_expiry_days {
                Some(days) => format!("merge lifecycle rule {} (stored variants under {}/ expire after {days} days; made again on request) into bucket {}'s lifecycle; other rules stay", lifecycle_rule_id(&o.stack), o.variant_prefix, o.bucket),
                None => format!("stored variants never expire (variant_expiry_days unset): remove lifecycle rule {} from bucket {} if an earlier deploy made it", lifecycle_rule_id(&o.stack), o.bucket),
            },
            Step::Wait => format!("execute the change set and follow stack {}'s events until it settles (a new distribution takes 5-15 minutes)", o.stack),
            Step::BucketPolicy => format!(
                "merge statement {} (CloudFront may read {}, for this distribution only) into the policy of bucket {}; other statements stay",
                policy_sid(&o.stack),
                if o.scope.is_empty() { "every object".to_owned() } else { format!("{}* and {}/*", o.scope, o.variant_prefix) },
                o.bucket
            ),
            Step::KeyPolicy => match ctx.survey.as_ref().map(|s| &s.kms_key_arn) {
                Some(None) => "nothing to do: the bucket is not encrypted with a customer managed KMS key".to_owned(),
                Some(Some(k)) if o.yes => format!("merge statement {} (CloudFront may decrypt, for this distribution only) into the key policy of {k}", grants::sid("Decrypt", &o.stack)),
                Some(Some(k)) => format!("check that the key policy of {k} lets this distribution decrypt (the survey stopped if it did not: deploy --yes merges the statement)"),
                None => "if the bucket is SSE-KMS with a customer managed key: let this distribution decrypt (with --yes; else print the statement)".to_owned(),
            },
            Step::Certificate => {
                let d = o.domain.as_ref().expect("the step exists with --domain");
                let text = crate::domain::describe_certificate(&d.name, d.certificate.as_deref(), d.zone.as_deref());
                text.strip_prefix("certificate: ").unwrap_or(&text).to_owned()
            }
            Step::Dns => {
                let d = o.domain.as_ref().expect("the step exists with --domain");
                let domain = ctx.outputs.as_ref().map(|out| out.domain.as_str());
                let text = crate::domain::describe_point_alias(&d.name, d.zone.as_deref(), domain);
                text.strip_prefix("dns: ").unwrap_or(&text).to_owned()
            }
            // Where Lambda@Edge logs and why they never expire: `crate::logs` and the pages it cites.
            Step::Logs => format!(
                "keep the Lambda@Edge log groups of {} for {} days in every region where they exist (they never expire otherwise)",
                crate::template::edge_function_name(&o.stack),
                o.log_retention_days
            ),
            Step::Verify => "request one variant of a photo in the bucket through the distribution and report its status, x-cache and time (skipped while the bucket holds no photo)".to_owned(),
        }
    }

    /// Steps that call no AWS API (packaging): a dry run runs them too.
    fn runs_dry(self) -> bool {
        self == Step::Package
    }
}

impl Step {
    /// Does the step, saying what happens on the way.
    fn run(
        self,
        aws: &Aws,
        ctx: &mut Ctx,
        build: &mut Builder,
        say: &mut dyn FnMut(&str),
    ) -> Result<()> {
        match self {
            Step::Survey => {
                let o = &ctx.opts;
                let s = survey::survey(
                    aws,
                    &o.bucket,
                    o.region.as_deref(),
                    &o.stack,
                    &o.variant_prefix,
                    &o.scope,
                )?;
                for f in &s.findings {
                    say(&format!("  {}", f.line()));
                }
                let refused: Vec<&Finding> = s
                    .findings
                    .iter()
                    .filter(|f| f.severity == Severity::Refuse)
                    .collect();
                if !refused.is_empty() {
                    bail!(
                        "deploy stops before changing anything: {}",
                        refused
                            .iter()
                            .map(|f| format!("{}: {}", f.name, f.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    );
                }
                // Without --yes, an SSE-KMS bucket goes on only when its key policy already
                // lets this (existing) distribution decrypt.
                if let (Some(k), false) = (&s.kms_key_arn, o.yes) {
                    let sid = grants::sid("Decrypt", &o.stack);
                    let Some(id) = &s.distribution_id else {
                        let example = grants::kms_statement(&distribution_arn(
                            &s.account,
                            "<distribution id>",
                        ));
                        bail!("bucket {} is encrypted with the KMS key {k}: CloudFront can read it only if the key policy lets the distribution decrypt, and the distribution does not exist yet. Run deploy with --yes to have it add this statement (Sid {sid}) once the distribution exists:\n{}", o.bucket, serde_json::to_string_pretty(&example)?);
                    };
                    let statement = grants::kms_statement(&distribution_arn(&s.account, id));
                    let (current, merged) =
                        key_policy_merge(aws, &s.bucket_region, k, &statement, &sid)?;
                    if !grants::same_policy(current.as_deref(), &merged) {
                        bail!("bucket {} is encrypted with the KMS key {k}, whose policy does not let distribution {id} decrypt: run deploy with --yes to merge this statement (Sid {sid}), or add it yourself:\n{}", o.bucket, serde_json::to_string_pretty(&statement)?);
                    }
                    say(&format!(
                        "  ok   key-policy: the policy of {k} lets distribution {id} decrypt"
                    ));
                }
                stack::creates(&ctx.stack(), s.stack_status.as_deref())?;
                ctx.survey = Some(s);
            }
            Step::Bucket => {
                let s = ctx.survey()?;
                if !s.bucket_exists {
                    say(&format!(
                        "creating bucket {} in {}",
                        ctx.opts.bucket, s.bucket_region
                    ));
                    artifacts::create_private_bucket(aws, &ctx.opts.bucket, &s.bucket_region)?;
                }
            }
            Step::Package => ctx.built = Some(build(ctx)?),
            Step::Upload => {
                let b = ctx.built()?;
                let s = ctx.survey()?;
                let main = ctx
                    .artifact_bucket()
                    .context("the upload needs the survey first")?;
                let near = ctx
                    .region_bucket()
                    .context("the upload needs the survey first")?;
                if ctx.opts.mode == Mode::Edge {
                    artifacts::ensure_bucket(aws, &main, STACK_REGION, say)?;
                    artifacts::upload_once(
                        aws,
                        &main,
                        STACK_REGION,
                        &b.package.key,
                        &b.package_file,
                        "Lambda@Edge package",
                        say,
                    )?;
                }
                artifacts::ensure_bucket(aws, &near, &s.bucket_region, say)?;
                artifacts::upload_once(
                    aws,
                    &near,
                    &s.bucket_region,
                    &b.region_package.key,
                    &b.region_package_file,
                    "regional package",
                    say,
                )?;
                if let Some((file, key)) = &b.signing_keys {
                    // The KeyValueStore imports from us-east-1, with the stack.
                    artifacts::ensure_bucket(aws, &main, STACK_REGION, say)?;
                    artifacts::upload_once(
                        aws,
                        &main,
                        STACK_REGION,
                        key,
                        file,
                        "signing keys",
                        say,
                    )?;
                }
            }
            Step::RegionStack => {
                let s = ctx.survey()?;
                let distribution = s.distribution_id.clone().unwrap_or_default();
                ctx.function_url = region_stack(aws, ctx, distribution, say)?;
            }
            Step::Wire => {
                let out = ctx
                    .outputs
                    .as_ref()
                    .context("wiring needs the stack's outputs")?;
                let id = out.distribution_id.clone();
                let current = ctx
                    .region_stack()
                    .describe(aws)?
                    .context("the stack next to the bucket is gone")?;
                if current.parameter("DistributionId") == Some(id.as_str()) {
                    say(&format!(
                        "stack {} already names distribution {id}",
                        ctx.region_stack().name
                    ));
                } else {
                    region_stack(aws, ctx, id, say)?;
                }
            }
            Step::Events => events(aws, ctx, say)?,
            Step::Lifecycle => lifecycle(aws, ctx, say)?,
            Step::ChangeSet => {
                let s = ctx.survey()?;
                let mut params = vec![
                    ("BucketName", ctx.opts.bucket.clone()),
                    ("BucketRegion", s.bucket_region.clone()),
                    ("CreateBucket", "false".to_owned()),
                    ("ArtifactBucket", ctx.artifact_bucket().unwrap_or_default()),
                ];
                if ctx.opts.mode == Mode::Regional {
                    let url = ctx
                        .function_url
                        .clone()
                        .context("the distribution needs the function URL first")?;
                    params.push(("FunctionUrlDomain", url));
                }
                let b = ctx.built()?;
                ctx.change_set = stack::prepare(
                    aws,
                    &ctx.stack(),
                    s.stack_status.as_deref(),
                    &b.template_file,
                    &params,
                    say,
                )?;
            }
            Step::Wait => {
                if let Some(set) = &ctx.change_set {
                    stack::execute(aws, &ctx.stack(), set, say)?;
                }
                let d = ctx.stack().describe(aws)?.context("the stack is gone")?;
                ctx.outputs = Some(Outputs::of(&ctx.opts.stack, &d)?);
            }
            Step::Certificate => {
                let d = ctx
                    .opts
                    .domain
                    .clone()
                    .expect("the step exists with --domain");
                ctx.certificate_arn = Some(match &d.certificate {
                    Some(arn) => crate::domain::check_certificate(aws, arn, &d.name, say)?,
                    None => {
                        crate::domain::ensure_certificate(aws, &d.name, d.zone.as_deref(), say)?
                    }
                });
            }
            Step::Dns => {
                let d = ctx
                    .opts
                    .domain
                    .as_ref()
                    .expect("the step exists with --domain");
                let out = ctx
                    .outputs
                    .as_ref()
                    .context("the alias needs the stack's outputs")?;
                crate::domain::point_alias(aws, d.zone.as_deref(), &d.name, &out.domain, say)?;
            }
            Step::Logs => {
                let function = crate::template::edge_function_name(&ctx.opts.stack);
                crate::logs::set_retention(aws, &function, ctx.opts.log_retention_days, say)?;
            }
            Step::BucketPolicy => bucket_policy(aws, ctx, say)?,
            Step::KeyPolicy => key_policy(aws, ctx, say)?,
            Step::Verify => {
                let out = ctx
                    .outputs
                    .as_ref()
                    .context("verify needs the stack's outputs")?;
                // A new or empty bucket has no photo to try: nothing to verify yet.
                let Some(path) = ctx.built()?.verify_path.clone() else {
                    say(&format!(
                        "  no photo in bucket {} to try yet: upload one, then curl {}",
                        ctx.opts.bucket, out.test_url
                    ));
                    return Ok(());
                };
                let url = at_origin_of(&out.test_url, &path);
                let probe = verify::probe_with_retries(&url, say)?;
                say(&format!("  {}", probe.line()));
                if probe.status != 200 {
                    bail!("the test request answered {} ({url}): `scalefront doctor --stack {}` checks every part", probe.status, ctx.opts.stack);
                }
            }
        }
        Ok(())
    }
}

/// The package step's builder: packages and templates for what is known so far (the CLI's).
pub type Builder<'a> = dyn FnMut(&Ctx) -> Result<Built> + 'a;

/// The plan as `--dry-run` prints it (and execution before it starts): one numbered line per step.
pub fn describe(ctx: &Ctx) -> String {
    let o = &ctx.opts;
    let mut out = format!(
        "plan: scalefront {} mode, stack {} ({STACK_REGION}), bucket {} ({})\n",
        o.mode.as_str(),
        o.stack,
        o.bucket,
        ctx.bucket_region()
    );
    out.push_str(&crate::steps::plan(&steps(o), ctx));
    out
}

/// Runs the steps: all of them, or on a dry run only the local ones. Each step is announced as
/// `[i/n] name: what` before it runs.
pub fn run(
    aws: &Aws,
    ctx: &mut Ctx,
    dry_run: bool,
    build: &mut Builder,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    let list = steps(&ctx.opts);
    crate::steps::drive(
        "deploy",
        &list,
        ctx,
        dry_run,
        |step, ctx, say| step.run(aws, ctx, build, say),
        say,
    )
}

/// `path` at the origin (scheme and host) of the stack's `TestUrl` output: the distribution's
/// own URL.
fn at_origin_of(test_url: &str, path: &str) -> String {
    let origin: Vec<&str> = test_url.splitn(4, '/').take(3).collect();
    format!("{}{path}", origin.join("/"))
}

/// A distribution's ARN (CloudFront is global: no region in it).
pub fn distribution_arn(account: &str, id: &str) -> String {
    format!("arn:aws:cloudfront::{account}:distribution/{id}")
}

/// Creates or updates the stack next to the bucket, naming `distribution` ("" = none yet);
/// returns the function URL's host in regional mode.
fn region_stack(
    aws: &Aws,
    ctx: &Ctx,
    distribution: String,
    say: &mut dyn FnMut(&str),
) -> Result<Option<String>> {
    let b = ctx.built()?;
    let s = ctx.survey()?;
    let stack = ctx.region_stack();
    let bucket = ctx
        .region_bucket()
        .context("the stack next to the bucket needs the survey first")?;
    let params = vec![
        ("ArtifactBucket", bucket),
        ("DistributionId", distribution),
        ("BucketKeyArn", s.kms_key_arn.clone().unwrap_or_default()),
        ("Resizer", (ctx.opts.mode == Mode::Regional).to_string()),
    ];
    let status = stack.describe(aws)?.map(|d| d.status);
    if let Some(set) = stack::prepare(
        aws,
        &stack,
        status.as_deref(),
        &b.region_template_file,
        &params,
        say,
    )? {
        stack::execute(aws, &stack, &set, say)?;
    }
    if ctx.opts.mode == Mode::Edge {
        return Ok(None);
    }
    let d = stack
        .describe(aws)?
        .context("the stack next to the bucket is gone")?;
    d.output("FunctionUrlDomain")
        .map(|u| Some(u.to_owned()))
        .with_context(|| {
            format!(
                "stack {} has no FunctionUrlDomain output (outputs: {:?})",
                stack.name, d.outputs
            )
        })
}

/// The bucket's notification configuration with EventBridge on (`None`: already on). Every
/// other notification stays: S3 keeps one configuration per bucket and
/// PutBucketNotificationConfiguration replaces all of it
/// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-event-notifications-eventbridge.html).
pub fn with_eventbridge(current: Option<&Value>) -> Option<Value> {
    let mut conf = current
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    if conf.get("EventBridgeConfiguration").is_some() {
        return None;
    }
    conf["EventBridgeConfiguration"] = serde_json::json!({});
    Some(conf)
}

fn events(aws: &Aws, ctx: &Ctx, say: &mut dyn FnMut(&str)) -> Result<()> {
    let s = ctx.survey()?;
    let b = &ctx.opts.bucket;
    let current = aws.call_opt(
        &s.bucket_region,
        &[
            "s3api",
            "get-bucket-notification-configuration",
            "--bucket",
            b,
        ],
    )?;
    let Some(conf) = with_eventbridge(current.as_ref()) else {
        say(&format!(
            "bucket {b} already tells EventBridge of its objects"
        ));
        return Ok(());
    };
    say(&format!(
        "turning on EventBridge notifications of bucket {b}"
    ));
    let text = serde_json::to_string(&conf)?;
    aws.call(
        &s.bucket_region,
        &[
            "s3api",
            "put-bucket-notification-configuration",
            "--bucket",
            b,
            "--notification-configuration",
            &text,
        ],
    )?;
    Ok(())
}

/// The ID of the lifecycle rule deploy owns in the bucket's lifecycle configuration.
pub fn lifecycle_rule_id(stack: &str) -> String {
    format!("{stack}-variants")
}

/// The bucket's lifecycle rules with ours set to `days` (or removed: `None`), every other rule as
/// it was; `None` when nothing changes. S3 replaces the whole configuration on each put
/// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lifecycle-mgmt.html).
pub fn merge_lifecycle(
    current: Option<&Value>,
    id: &str,
    prefix: &str,
    days: Option<u32>,
) -> Option<Vec<Value>> {
    let rules: Vec<Value> = current
        .and_then(|c| c.get("Rules"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ours = |r: &Value| r.get("ID").and_then(Value::as_str) == Some(id);
    let mut merged: Vec<Value> = rules.iter().filter(|r| !ours(r)).cloned().collect();
    if let Some(days) = days {
        merged.push(serde_json::json!({
            "ID": id,
            "Status": "Enabled",
            "Filter": {"Prefix": format!("{prefix}/")},
            "Expiration": {"Days": days}
        }));
    }
    (merged != rules).then_some(merged)
}

fn lifecycle(aws: &Aws, ctx: &Ctx, say: &mut dyn FnMut(&str)) -> Result<()> {
    let s = ctx.survey()?;
    let o = &ctx.opts;
    let id = lifecycle_rule_id(&o.stack);
    let current = aws.call_opt(
        &s.bucket_region,
        &[
            "s3api",
            "get-bucket-lifecycle-configuration",
            "--bucket",
            &o.bucket,
        ],
    )?;
    let Some(rules) = merge_lifecycle(
        current.as_ref(),
        &id,
        &o.variant_prefix,
        o.variant_expiry_days,
    ) else {
        say(&format!(
            "bucket {}'s lifecycle is already as the spec says",
            o.bucket
        ));
        return Ok(());
    };
    if rules.is_empty() {
        say(&format!(
            "removing lifecycle rule {id} (the bucket had no other rule)"
        ));
        aws.call(
            &s.bucket_region,
            &["s3api", "delete-bucket-lifecycle", "--bucket", &o.bucket],
        )?;
        return Ok(());
    }
    say(&format!(
        "merging lifecycle rule {id} into bucket {}",
        o.bucket
    ));
    let text = serde_json::to_string(&serde_json::json!({"Rules": rules}))?;
    let mut args = vec![
        "s3api",
        "put-bucket-lifecycle-configuration",
        "--bucket",
        &o.bucket,
        "--lifecycle-configuration",
        &text,
    ];
    // A bucket-wide setting that lives beside the rules: put back as it was, or S3 resets it to
    // its default for the owner's other transition rules.
    let size = transition_default_size(current.as_ref());
    if let Some(size) = &size {
        args.extend(["--transition-default-minimum-object-size", size]);
    }
    aws.call(&s.bucket_region, &args)?;
    Ok(())
}

/// The lifecycle configuration's `TransitionDefaultMinimumObjectSize`, when the bucket has one
/// (PutBucketLifecycleConfiguration resets it when it is not sent:
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html).
pub fn transition_default_size(current: Option<&Value>) -> Option<String> {
    current?
        .get("TransitionDefaultMinimumObjectSize")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The read statement for this distribution, merged into the bucket's policy.
fn bucket_policy(aws: &Aws, ctx: &Ctx, say: &mut dyn FnMut(&str)) -> Result<()> {
    let s = ctx.survey()?;
    let out = ctx
        .outputs
        .as_ref()
        .context("the bucket policy needs the stack's outputs")?;
    let o = &ctx.opts;
    let statement = serde_json::json!({
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": grants::read_resources(&o.bucket, &o.scope, &o.variant_prefix),
        "Condition": {"StringEquals": {"AWS:SourceArn": out.distribution_arn(&s.account)}}
    });
    let current = aws.call_opt(
        &s.bucket_region,
        &["s3api", "get-bucket-policy", "--bucket", &o.bucket],
    )?;
    let text = current
        .as_ref()
        .and_then(|c| c.get("Policy"))
        .and_then(Value::as_str);
    let sid = policy_sid(&o.stack);
    let merged = merge_statement(text, &statement, &sid)?;
    if grants::same_policy(text, &merged) {
        say(&format!(
            "bucket policy of {} already lets this distribution read",
            o.bucket
        ));
        return Ok(());
    }
    say(&format!(
        "merging statement {sid} into the policy of bucket {}",
        o.bucket
    ));
    aws.call(&s.bucket_region, &["s3api", "put-bucket-policy", "--bucket", &o.bucket, "--policy", &merged])
        .map_err(|e| anyhow::anyhow!("{e}\nThe stack is up, but CloudFront cannot read the bucket until this statement is in its policy:\n{merged}"))?;
    Ok(())
}

/// The key's policy now, and with `statement` merged under `sid`.
fn key_policy_merge(
    aws: &Aws,
    region: &str,
    key: &str,
    statement: &Value,
    sid: &str,
) -> Result<(Option<String>, String)> {
    let current = aws.call(
        region,
        &[
            "kms",
            "get-key-policy",
            "--key-id",
            key,
            "--policy-name",
            "default",
        ],
    )?;
    let text = current
        .get("Policy")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let merged = merge_statement(text.as_deref(), statement, sid)?;
    Ok((text, merged))
}

/// SSE-KMS: the decrypt statement for this distribution, merged into the key's policy (`--yes`).
fn key_policy(aws: &Aws, ctx: &Ctx, say: &mut dyn FnMut(&str)) -> Result<()> {
    let s = ctx.survey()?;
    let Some(key) = &s.kms_key_arn else {
        return Ok(());
    };
    let out = ctx
        .outputs
        .as_ref()
        .context("the key policy needs the stack's outputs")?;
    let statement = grants::kms_statement(&out.distribution_arn(&s.account));
    let sid = grants::sid("Decrypt", &ctx.opts.stack);
    let (current, merged) = key_policy_merge(aws, &s.bucket_region, key, &statement, &sid)?;
    let text = current.as_deref();
    if grants::same_policy(text, &merged) {
        say(&format!(
            "the key policy of {key} already lets this distribution decrypt"
        ));
        return Ok(());
    }
    if !ctx.opts.yes {
        bail!("the key policy of {key} does not let this distribution decrypt: run deploy with --yes to merge this statement (Sid {sid}), or add it yourself:\n{}", serde_json::to_string_pretty(&statement)?);
    }
    say(&format!(
        "merging statement {sid} into the key policy of {key}"
    ));
    aws.call(
        &s.bucket_region,
        &[
            "kms",
            "put-key-policy",
            "--key-id",
            key,
            "--policy-name",
            "default",
            "--policy",
            &merged,
        ],
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}\nCloudFront cannot decrypt the photos until the key policy of {key} holds:\n{}",
            serde_json::to_string_pretty(&statement).unwrap_or_default()
        )
    })?;
    Ok(())
}

/// The default stack name for a bucket: `scalefront-<bucket>` with dots as hyphens, cut to the limit.
pub fn default_stack_name(bucket: &str) -> String {
    let mut s = format!("scalefront-{}", bucket.replace('.', "-"));
    s.truncate(crate::template::MAX_STACK_NAME);
    s.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            stack: "scalefront-photos".into(),
            mode: Mode::Edge,
            bucket: "photos".into(),
            region: Some("eu-west-1".into()),
            scope: String::new(),
            variant_prefix: "_sf".into(),
            yes: false,
            domain: None,
            log_retention_days: 30,
            variant_expiry_days: None,
        }
    }

    #[test]
    fn the_plan_names_every_step_in_order() {
        assert_eq!(default_stack_name("my.photos"), "scalefront-my-photos");
        assert!(default_stack_name(&"a".repeat(63)).len() <= crate::template::MAX_STACK_NAME);
        let ctx = Ctx::new(opts());
        let text = describe(&ctx);
        let names: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split_once(". ").unwrap().1.split_once(':').unwrap().0)
            .collect();
        assert_eq!(
            names,
            steps(&ctx.opts)
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
        );
        assert!(text.starts_with("plan: scalefront edge mode, stack scalefront-photos (us-east-1), bucket photos (eu-west-1)"), "{text}");
        assert!(
            text.contains("create or update stack scalefront-photos"),
            "{text}"
        );
        assert!(text.contains("scalefront-artifacts-<account id>"), "{text}");
        assert!(text.contains("CloudFront may read every object"), "{text}");
        let scoped = Ctx::new(Options {
            scope: "photos/".into(),
            ..opts()
        });
        assert!(describe(&scoped).contains("CloudFront may read photos/* and _sf/*"));
    }

    #[test]
    fn a_dry_run_runs_only_the_local_steps() {
        let mut ctx = Ctx::new(opts());
        let built = std::cell::Cell::new(0);
        let mut build = |_: &Ctx| -> Result<Built> {
            built.set(built.get() + 1);
            Ok(Built {
                package_file: "/tmp/p/origin-response.zip".into(),
                package: Artifact::of("origin-response", b"x"),
                package_size: 1_800_000,
                template_file: "/tmp/p/template-edge.yaml".into(),
                template: String::new(),
                signing_keys: None,
                region_template_file: "/tmp/p/template-region.yaml".into(),
                verify_path: None,
                edge_version: Some("scalefront package 0123 spec 4567 3008 MB".into()),
                region_package_file: "/tmp/p/regional.zip".into(),
                region_package: Artifact::of("regional", b"r"),
            })
        };
        let aws = Aws::with_program("/nonexistent/aws");
        let mut lines = Vec::new();
        run(&aws, &mut ctx, true, &mut build, &mut |l| {
            lines.push(l.to_owned())
        })
        .unwrap();
        assert_eq!(built.get(), 1);
        assert!(lines.is_empty(), "{lines:?}");
        let text = describe(&ctx);
        assert!(
            text.contains("1.8 MB")
                && text
                    .contains("s3://scalefront-artifacts-<account id>/scalefront/origin-response-")
                && text.contains(
                    "associates Lambda@Edge version «scalefront package 0123 spec 4567 3008 MB»"
                ),
            "{text}"
        );
        // Execution starts with the survey, which needs AWS: here it fails and says which step.
        let err = run(&aws, &mut ctx, false, &mut build, &mut |l| {
            lines.push(l.to_owned())
        })
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("deploy step survey failed"),
            "{err:#}"
        );
        assert!(lines[0].starts_with("[1/14] survey: ask AWS"), "{lines:?}");
        // A domain adds its two steps; regional mode has no Lambda@Edge logs.
        let with_domain = Options {
            domain: Some(DomainOptions {
                name: "images.example.com".into(),
                certificate: None,
                zone: Some("example.com".into()),
            }),
            mode: Mode::Regional,
            ..opts()
        };
        let names: Vec<&str> = steps(&with_domain).iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "survey",
                "bucket",
                "certificate",
                "package",
                "upload",
                "region-stack",
                "change-set",
                "wait",
                "wire",
                "events",
                "lifecycle",
                "bucket-policy",
                "key-policy",
                "dns",
                "verify"
            ]
        );
        let text = describe(&Ctx::new(with_domain));
        assert!(
            text.contains("3. certificate: reuse an ISSUED")
                && text.contains("14. dns: UPSERT alias A and AAAA records images.example.com"),
            "{text}"
        );
        assert!(
            text.contains(
                "6. region-stack: create or update stack scalefront-photos-region in eu-west-1"
            ) && text.contains("s3://scalefront-artifacts-<account id>-eu-west-1/")
                && text.contains("11. lifecycle: stored variants never expire"),
            "{text}"
        );
    }

    #[test]
    fn notifications_and_lifecycle_keep_what_the_bucket_has() {
        use serde_json::json;
        let theirs = json!({"QueueConfigurations": [{"Id": "q", "QueueArn": "arn:aws:sqs:eu-west-1:1:q", "Events": ["s3:ObjectCreated:*"]}]});
        let on = with_eventbridge(Some(&theirs)).unwrap();
        assert_eq!(on["QueueConfigurations"], theirs["QueueConfigurations"]);
        assert_eq!(on["EventBridgeConfiguration"], json!({}));
        assert_eq!(with_eventbridge(Some(&on)), None, "already on: no call");
        assert_eq!(
            with_eventbridge(None).unwrap(),
            json!({"EventBridgeConfiguration": {}})
        );
        let other = json!({"Rules": [{"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 7}}]});
        let id = lifecycle_rule_id("sf");
        let with = merge_lifecycle(Some(&other), &id, "_sf", Some(90)).unwrap();
        assert_eq!(with.len(), 2);
        assert_eq!(with[0], other["Rules"][0]);
        assert_eq!(with[1]["Filter"]["Prefix"], "_sf/");
        assert_eq!(with[1]["Expiration"]["Days"], 90);
        let current = json!({"Rules": with});
        assert_eq!(
            merge_lifecycle(Some(&current), &id, "_sf", Some(90)),
            None,
            "unchanged"
        );
        assert_eq!(
            merge_lifecycle(Some(&current), &id, "_sf", None).unwrap(),
            vec![other["Rules"][0].clone()]
        );
        assert_eq!(
            merge_lifecycle(None, &id, "_sf", None),
            None,
            "off and absent: no call"
        );
        // The bucket-wide transition size goes back with the rules.
        let sized =
            json!({"TransitionDefaultMinimumObjectSize": "varies_by_storage_class", "Rules": []});
        assert_eq!(
            transition_default_size(Some(&sized)).as_deref(),
            Some("varies_by_storage_class")
        );
        assert_eq!(transition_default_size(Some(&other)), None);
    }

    /// A one-shot HTTP server answering `status` with CloudFront's headers; returns its URL.
    fn one_answer(status: &'static str) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 2048];
            let _ = conn.read(&mut buf).unwrap();
            let answer = format!("HTTP/1.1 {status}\r\ncontent-type: image/webp\r\nx-cache: Miss from cloudfront\r\ncontent-length: 4\r\nconnection: close\r\n\r\nRIFF");
            conn.write_all(answer.as_bytes()).unwrap();
        });
        format!("http://127.0.0.1:{port}/photos/a.jpg?w=600")
    }

    #[test]
    fn verify_reports_the_answer_and_fails_on_an_error() {
        let survey = Survey {
            account: "123456789012".into(),
            bucket_region: "eu-west-1".into(),
            bucket_exists: true,
            stack_status: None,
            distribution_id: None,
            encryption: survey::Encryption::S3,
            kms_key_arn: None,
            put_encryption: None,
            sample_key: Some("photos/a.jpg".into()),
            findings: Vec::new(),
        };
        let aws = Aws::with_program("/nonexistent/aws");
        let mut build = |_: &Ctx| -> Result<Built> { unreachable!() };
        let mut ctx = Ctx::new(opts());
        ctx.survey = Some(survey);
        ctx.built = Some(Built {
            package_file: "/tmp/p/origin-response.zip".into(),
            package: Artifact::of("origin-response", b"x"),
            package_size: 1,
            template_file: "/tmp/p/template-edge.yaml".into(),
            template: String::new(),
            signing_keys: None,
            region_template_file: "/tmp/p/template-edge-region.yaml".into(),
            verify_path: Some("/photos/a.jpg?w=600".into()),
            region_package_file: "/tmp/p/regional.zip".into(),
            region_package: Artifact::of("regional", b"r"),
            edge_version: None,
        });
        let mut verify = |ctx: &mut Ctx, url: String| {
            ctx.outputs = Some(Outputs {
                domain: "d1.cloudfront.net".into(),
                test_url: url,
                distribution_id: "E1".into(),
                raw: Vec::new(),
            });
            let mut lines = Vec::new();
            let r = Step::Verify.run(&aws, ctx, &mut build, &mut |l| lines.push(l.to_owned()));
            (r, lines.join("\n"))
        };
        let (r, text) = verify(&mut ctx, one_answer("200 OK"));
        r.unwrap();
        assert!(
            text.contains("200 image/webp, 4 bytes")
                && text.contains("x-cache: Miss from cloudfront"),
            "{text}"
        );
        let (r, _) = verify(&mut ctx, one_answer("404 Not Found"));
        let err = r.unwrap_err().to_string();
        assert!(
            err.contains("answered 404")
                && err.contains("scalefront doctor --stack scalefront-photos"),
            "{err}"
        );
        // An empty bucket: nothing to try, nothing fetched.
        ctx.built.as_mut().unwrap().verify_path = None;
        let (r, text) = verify(&mut ctx, "http://127.0.0.1:9/never".into());
        r.unwrap();
        assert!(
            text.contains("no photo in bucket photos to try yet"),
            "{text}"
        );
    }
}
