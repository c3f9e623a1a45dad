//! `scalefront teardown` as one ordered list of named steps ([`steps`]): read → bucket policy →
//! key policy → lifecycle → stack → region stack → (variants) → (packages) → logs. `--dry-run` prints the
//! very list execution runs ([`describe`]), running only the steps that change nothing
//! ([`Step::inspects`]: reading the stack, finding the log groups); execution prints each step as
//! it starts, then its progress ([`run`]), and ends with what it removed and what it left, and
//! why ([`summary`]).
//!
//! What teardown never deletes: the photo bucket and anything in it outside the variant prefix.
//! What it leaves and says so: a Lambda@Edge function whose replicas CloudFront has not removed
//! yet (retained, with the command that deletes it later), the log groups, packages another
//! stack's template names, packages of earlier deploys (their keys are in no template any more),
//! the bucket's EventBridge notifications (other rules may use them).
//!
//! The pure parts (statement removal, the keys a template names, which failures are replicas, the
//! plan and the summary) are unit-tested; the AWS calls go through [`Aws`].
use crate::steps::NamedStep;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::aws::{Aws, ErrorKind};
use crate::deploy::stack::{event_id, event_line, hint, stack_events, Described, StackRef};
use crate::deploy::{
    artifacts, grants, lifecycle_rule_id, merge_lifecycle, policy_sid, survey, STACK_REGION,
};
use crate::doctor::EDGE_REGIONS;
use crate::logs;
use crate::template::region_stack_name;

/// How long to follow one delete-stack before giving up on it (a distribution is disabled, then
/// deleted: usually well under this).
const FOLLOW_LIMIT: Duration = Duration::from_secs(60 * 60);

/// How long a status from before the delete (a DELETE_FAILED being retried) may still show.
const NOT_YET: Duration = Duration::from_secs(60);

/// Keys a `delete-objects` call takes at most ("The request can contain a list of up to 1,000
/// keys", https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html), which is also
/// the most a `list-objects-v2` page holds
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html, `max-keys`).
const S3_BATCH: usize = 1000;

/// How often a delete blocked by Lambda@Edge replicas is tried again, within `--wait-replicas`.
pub const RETRY_EVERY: Duration = Duration::from_secs(5 * 60);

/// What the command line asked for.
#[derive(Clone, Debug)]
pub struct Options {
    pub stack: String,
    /// The spec's variant prefix (`_sf`): `--variants` deletes everything under `<prefix>/`.
    pub variant_prefix: String,
    /// `--variants`: delete the stored variants.
    pub variants: bool,
    /// `--packages`: delete the packages this stack's templates named (unless another stack's
    /// template names them too).
    pub packages: bool,
    /// `--wait-replicas`: how long to keep trying the delete while CloudFront removes the
    /// Lambda@Edge function's replicas, before retaining the function (zero: retain at once).
    pub wait_replicas: Duration,
    /// How often to try within `wait_replicas` ([`RETRY_EVERY`]).
    pub retry_every: Duration,
}

/// An object in an artifacts bucket that a stack's template (or its parameters) named.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    pub bucket: String,
    pub region: String,
    pub key: String,
}

impl Package {
    fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// One stack as the read step found it.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub name: String,
    pub region: String,
    /// The stack's id (its ARN): a deleted stack is still described by id, not by name.
    pub id: String,
    pub described: Described,
    /// The template's text (YAML as deployed, or JSON).
    pub template: String,
    pub packages: Vec<Package>,
    /// The stack's resources: logical id → physical id (what `describe-stack-resources` says;
    /// there even when the outputs are not, as after a failed create).
    pub resources: Vec<(String, String)>,
}

impl Found {
    fn output(&self, key: &str) -> Option<&str> {
        self.described.output(key).filter(|v| !v.is_empty())
    }
    /// An output, else the physical id of the resource it names.
    fn named(&self, output: &str, resource: &str) -> Option<&str> {
        self.output(output).or_else(|| {
            self.resources
                .iter()
                .find(|(l, p)| l == resource && !p.is_empty())
                .map(|(_, p)| p.as_str())
        })
    }
    fn parameter(&self, key: &str) -> Option<&str> {
        self.described.parameter(key).filter(|v| !v.is_empty())
    }
}

/// What the read step learnt.
#[derive(Clone, Debug, Default)]
pub struct Deployed {
    pub stack: Found,
    /// The stack next to the bucket ([`region_stack_name`], in the bucket's region: the purge
    /// function and its EventBridge rule; in regional mode also the resize function), when there
    /// is one.
    pub region_stack: Option<Found>,
    pub bucket: String,
    /// Where the stack next to the bucket is.
    pub bucket_region: String,
    /// An SSE-KMS bucket's customer managed key (ARN), whose policy may hold our statement.
    pub kms_key: Option<String>,
}

impl Deployed {
    fn stacks(&self) -> impl Iterator<Item = &Found> {
        std::iter::once(&self.stack).chain(self.region_stack.as_ref())
    }

    /// The Lambda@Edge function (edge mode).
    pub fn edge_function(&self) -> Option<&str> {
        self.stack
            .named("OriginResponseFunctionName", "OriginResponseFunction")
    }

    /// The other Lambda functions (the purge; regional mode's resize function), each with its
    /// region.
    pub fn functions(&self) -> Vec<(&str, &str)> {
        self.stacks()
            .flat_map(|s| {
                [
                    ("PurgeFunctionName", "PurgeFunction"),
                    ("ResizeFunctionName", "ResizeFunction"),
                ]
                .into_iter()
                .filter_map(move |(o, r)| s.named(o, r).map(|f| (f, s.region.as_str())))
            })
            .collect()
    }
}

/// Everything teardown knows: the options, what the read step found, what was removed and left.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub opts: Options,
    /// `None` until the read step ran.
    pub deployed: Option<Deployed>,
    /// What was removed, one line each, in order.
    pub removed: Vec<String>,
    /// What was left that teardown would otherwise have removed, with why and how to remove it.
    pub left: Vec<String>,
}

impl Ctx {
    pub fn new(opts: Options) -> Ctx {
        Ctx {
            opts,
            deployed: None,
            removed: Vec::new(),
            left: Vec::new(),
        }
    }

    fn deployed(&self) -> Result<&Deployed> {
        self.deployed
            .as_ref()
            .context("this step needs the stack read first")
    }
}

/// One named step of a teardown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Read,
    BucketPolicy,
    KeyPolicy,
    Lifecycle,
    Stack,
    RegionStack,
    Variants,
    Packages,
    Logs,
}

/// The steps of a teardown, in order: what `--dry-run` prints and execution runs. The policy
/// statements go first (CloudFront stops reading at once), the stack next, then what the stack's
/// functions could still have written or used.
pub fn steps(opts: &Options) -> Vec<Step> {
    use Step::*;
    let mut list = vec![Read, BucketPolicy, KeyPolicy, Lifecycle, Stack, RegionStack];
    if opts.variants {
        list.push(Variants);
    }
    if opts.packages {
        list.push(Packages);
    }
    list.push(Logs);
    list
}

impl NamedStep<Ctx> for Step {
    fn name(self) -> &'static str {
        match self {
            Step::Read => "read",
            Step::BucketPolicy => "bucket-policy",
            Step::KeyPolicy => "key-policy",
            Step::Stack => "stack",
            Step::RegionStack => "region-stack",
            Step::Lifecycle => "lifecycle",
            Step::Variants => "variants",
            Step::Packages => "packages",
            Step::Logs => "logs",
        }
    }

    /// What the step does, with what is known so far.
    fn describe(self, ctx: &Ctx) -> String {
        let o = &ctx.opts;
        let d = ctx.deployed.as_ref();
        let bucket = d
            .map(|d| format!("bucket {} ({})", d.bucket, d.bucket_region))
            .unwrap_or_else(|| "the stack's bucket".to_owned());
        let region_stack = region_stack_name(&o.stack);
        match self {
            Step::Read => format!("ask AWS, changing nothing: stack {}'s status, parameters, outputs and template (in {STACK_REGION}); the bucket's KMS key; stack {region_stack} in the bucket's region", o.stack),
            Step::BucketPolicy => format!("remove statement {} (CloudFront's read, merged by deploy) from the policy of {bucket}; every other statement stays, and the policy is deleted if it held only this one", policy_sid(&o.stack)),
            Step::KeyPolicy => {
                let sid = grants::sid("Decrypt", &o.stack);
                match d.map(|d| &d.kms_key) {
                    Some(Some(k)) => format!("remove statement {sid} (CloudFront's decrypt) from the key policy of {k}; every other statement stays"),
                    Some(None) => "nothing to do: the bucket is not encrypted with a customer managed KMS key".to_owned(),
                    None => format!("if the bucket is SSE-KMS with a customer managed key: remove statement {sid} from its key policy"),
                }
            }
            Step::Lifecycle => format!("remove rule {} (the stored variants' expiry, when deploy set one) from the lifecycle configuration of {bucket}; every other rule stays, and the configuration is deleted if it held only this one", lifecycle_rule_id(&o.stack)),
            // Replicas keep a Lambda@Edge function for hours after its distribution is gone:
            // see `Failed::is_replica` and the page it cites.
            Step::Stack => {
                let what = d.map(stack_contents).unwrap_or_default();
                let wait = if o.wait_replicas.is_zero() {
                    "retain it at once".to_owned()
                } else {
                    format!("try again every {} min for up to {} min, then retain it", o.retry_every.as_secs().div_ceil(60), o.wait_replicas.as_secs().div_ceil(60))
                };
                format!("delete stack {} in {STACK_REGION}{what} and follow its events; if CloudFront's Lambda@Edge replicas keep the function from being deleted (DELETE_FAILED, for hours after the distribution is gone): {wait}, and print the command that deletes it later", o.stack)
            }
            Step::RegionStack => match d {
                Some(d) => match &d.region_stack {
                    Some(f) => format!("delete stack {} in {} ({}) and follow its events", f.name, f.region, region_contents(f)),
                    None => format!("nothing to do: there is no stack {region_stack} in {}", d.bucket_region),
                },
                None => format!("delete stack {region_stack} in the bucket's region, if there is one (the purge function and its EventBridge rule; in regional mode the resize function)"),
            },
            Step::Variants => match d {
                Some(d) => format!("delete every object under s3://{}/{}/ (the stored variants; {S3_BATCH} per delete-objects call); nothing outside it", d.bucket, o.variant_prefix),
                None => format!("delete every object under {}/ in the stack's bucket (the stored variants; {S3_BATCH} per delete-objects call); nothing outside it", o.variant_prefix),
            },
            Step::Packages => {
                let named = d
                    .map(|d| d.stacks().flat_map(|s| &s.packages).map(Package::url).collect::<Vec<_>>())
                    .filter(|p| !p.is_empty())
                    .map(|p| p.join(", "))
                    .unwrap_or_else(|| "the packages the stack's templates name".to_owned());
                format!("delete {named}, except what another stack's template names; packages of earlier deploys are named by no template and stay")
            }
            Step::Logs => {
                let edge = match d.map(Deployed::edge_function) {
                    Some(None) => String::new(),
                    Some(Some(f)) => format!("Lambda@Edge's /aws/lambda/us-east-1.{f} in each edge region, "),
                    None => "Lambda@Edge's /aws/lambda/us-east-1.<function> in each edge region, ".to_owned(),
                };
                format!("find the log groups the functions wrote ({edge}the other functions' in their region, the viewer function's in {STACK_REGION}) and their retention: they are left in place")
            }
        }
    }

    /// Steps that change nothing (reading the stack, finding log groups): a dry run runs them.
    fn runs_dry(self) -> bool {
        matches!(self, Step::Read | Step::Logs)
    }
}

impl Step {
    /// Does the step, saying what happens on the way.
    fn run(self, aws: &Aws, ctx: &mut Ctx, say: &mut dyn FnMut(&str)) -> Result<()> {
        match self {
            Step::Read => {
                let d = read(aws, &ctx.opts, say)?;
                ctx.deployed = Some(d);
            }
            Step::BucketPolicy => bucket_policy(aws, ctx, say)?,
            Step::KeyPolicy => key_policy(aws, ctx, say)?,
            Step::Lifecycle => lifecycle(aws, ctx, say)?,
            Step::Stack => {
                let s = ctx.deployed()?.stack.clone();
                delete_stack(aws, ctx, &s, say)?;
            }
            Step::RegionStack => {
                if let Some(s) = ctx.deployed()?.region_stack.clone() {
                    delete_stack(aws, ctx, &s, say)?;
                }
            }
            Step::Variants => variants(aws, ctx, say)?,
            Step::Packages => packages(aws, ctx, say)?,
            Step::Logs => log_groups(aws, ctx, say),
        }
        Ok(())
    }
}

/// ` (distribution E1, Lambda@Edge function F, …)`: what the stack's outputs name.
/// What the stack next to the bucket holds, as its outputs (or resources) name it.
fn region_contents(f: &Found) -> String {
    let mut parts = Vec::new();
    if let Some(p) = f.named("PurgeFunctionName", "PurgeFunction") {
        parts.push(format!("purge function {p} and its EventBridge rule"));
    }
    if let Some(r) = f.named("ResizeFunctionName", "ResizeFunction") {
        parts.push(format!("resize function {r} and its URL"));
    }
    if parts.is_empty() {
        "the functions next to the bucket".to_owned()
    } else {
        parts.push("their role".to_owned());
        parts.join(", ")
    }
}

fn stack_contents(d: &Deployed) -> String {
    let mut parts = Vec::new();
    if let Some(id) = d.stack.named("DistributionId", "Distribution") {
        parts.push(format!("distribution {id}"));
    }
    if let Some(f) = d.stack.output("ViewerRequestFunctionName") {
        parts.push(format!("viewer function {f}"));
    }
    if let Some(f) = d.edge_function() {
        parts.push(format!("Lambda@Edge function {f} and its role"));
    }
    if let Some(f) = d.stack.named("ResizeFunctionName", "ResizeFunction") {
        parts.push(format!("function {f} and its role"));
    }
    if d.stack.output("SigningKeysArn").is_some() {
        parts.push("the signing keys' KeyValueStore".to_owned());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// The plan as `--dry-run` prints it (and execution before it starts): one numbered line per
/// step, then what stays whatever happens.
pub fn describe(ctx: &Ctx) -> String {
    let o = &ctx.opts;
    let mut out = match &ctx.deployed {
        Some(d) => format!(
            "plan: tear down stack {} ({STACK_REGION}, {}), bucket {} ({})\n",
            o.stack, d.stack.described.status, d.bucket, d.bucket_region
        ),
        None => format!("plan: tear down stack {} ({STACK_REGION})\n", o.stack),
    };
    out.push_str(&crate::steps::plan(&steps(o), ctx));
    out.push_str("stays:\n");
    for line in stays(ctx).iter().chain(&ctx.left) {
        out.push_str(&format!("  - {line}\n"));
    }
    out
}

/// What teardown leaves whatever happens, and why.
fn stays(ctx: &Ctx) -> Vec<String> {
    let o = &ctx.opts;
    let d = ctx.deployed.as_ref();
    let bucket = d.map(|d| d.bucket.as_str()).unwrap_or("<bucket>");
    let mut lines = vec![format!(
        "bucket {bucket} and your originals: teardown never deletes the photo bucket, nor anything in it outside {}/",
        o.variant_prefix
    )];
    if d.is_none_or(|d| d.region_stack.is_some()) {
        lines.push(format!("bucket {bucket}'s EventBridge notifications: deploy turned them on for the purge; they stay on, since other rules may use them"));
    }
    if !o.variants {
        lines.push(format!("the variants under s3://{bucket}/{}/: not asked for (--variants deletes them; or aws s3 rm s3://{bucket}/{}/ --recursive)", o.variant_prefix, o.variant_prefix));
    }
    if !o.packages {
        let buckets: BTreeSet<&str> = d
            .into_iter()
            .flat_map(|d| d.stacks().flat_map(|s| &s.packages))
            .map(|p| p.bucket.as_str())
            .collect();
        let where_ = if buckets.is_empty() {
            "the artifacts bucket".to_owned()
        } else {
            buckets
                .iter()
                .map(|b| format!("s3://{b}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(format!(
            "the uploaded packages in {where_}: not asked for (--packages deletes the ones this stack's templates name)"
        ));
    }
    lines
}

/// What was removed and what was left, and why: printed at the end (or after a failed step).
pub fn summary(ctx: &Ctx) -> String {
    let mut out = String::from("removed:\n");
    if ctx.removed.is_empty() {
        out.push_str("  (nothing)\n");
    }
    for r in &ctx.removed {
        out.push_str(&format!("  - {r}\n"));
    }
    out.push_str("left:\n");
    for l in stays(ctx).iter().chain(&ctx.left) {
        out.push_str(&format!("  - {l}\n"));
    }
    out
}

/// Runs the steps: all of them, or on a dry run only those that change nothing. Each step is
/// announced as `[i/n] name: what` before it runs.
pub fn run(aws: &Aws, ctx: &mut Ctx, dry_run: bool, say: &mut dyn FnMut(&str)) -> Result<()> {
    let list = steps(&ctx.opts);
    crate::steps::drive(
        "teardown",
        &list,
        ctx,
        dry_run,
        |step, ctx, say| step.run(aws, ctx, say),
        say,
    )
}

// ---------------------------------------------------------------------------------------------
// read

/// Reads the stack (and the stack next to the bucket, and the bucket's KMS key), changing nothing.
fn read(aws: &Aws, opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Deployed> {
    let Some(stack) = read_stack(aws, &opts.stack, STACK_REGION)? else {
        bail!("there is no stack {} in {STACK_REGION}: nothing to tear down (`aws cloudformation list-stacks --region {STACK_REGION}` lists what there is)", opts.stack);
    };
    let status = stack.described.status.clone();
    // A create change set never executed (REVIEW_IN_PROGRESS) is an empty stack: deletable.
    if status.ends_with("_IN_PROGRESS")
        && !["DELETE_IN_PROGRESS", "REVIEW_IN_PROGRESS"].contains(&status.as_str())
    {
        bail!(
            "stack {} is busy ({status}); wait for it to finish and run teardown again",
            stack.name
        );
    }
    let Some(bucket) = stack.parameter("BucketName").map(str::to_owned) else {
        bail!(
            "stack {} has no BucketName parameter: it is not a scalefront stack, teardown leaves it alone",
            stack.name
        );
    };
    if !stack.template.to_lowercase().contains("scalefront") {
        bail!(
            "stack {}'s template does not say scalefront: it is not a scalefront stack, teardown leaves it alone",
            stack.name
        );
    }
    let bucket_region = match stack.parameter("BucketRegion") {
        Some(r) => r.to_owned(),
        None => survey::region_from_location(&aws.call(
            STACK_REGION,
            &["s3api", "get-bucket-location", "--bucket", &bucket],
        )?),
    };
    say(&format!(
        "  stack {}: {status}{}; bucket {bucket} in {bucket_region}",
        stack.name,
        stack
            .named("DistributionId", "Distribution")
            .map(|d| format!(", distribution {d}"))
            .unwrap_or_default()
    ));
    let region_stack = read_stack(aws, &region_stack_name(&opts.stack), &bucket_region)?;
    match &region_stack {
        Some(f) => say(&format!(
            "  stack {} in {}: {}",
            f.name, f.region, f.described.status
        )),
        None => say(&format!(
            "  no stack {} in {bucket_region}",
            region_stack_name(&opts.stack)
        )),
    }
    let mut d = Deployed {
        stack,
        region_stack,
        bucket,
        bucket_region,
        kms_key: None,
    };
    d.kms_key = kms_key(aws, &d)?;
    if let Some(k) = &d.kms_key {
        say(&format!("  the bucket is encrypted with {k}"));
    }
    if opts.variants {
        check_variant_prefix(&d, &opts.variant_prefix)?;
    }
    Ok(d)
}

/// `--variants` deletes under the spec's prefix: the deployed templates must grant the functions
/// writes there, or the spec is not the one the stack was deployed with (and the prefix could
/// hold originals). Checked before anything is deleted.
fn check_variant_prefix(d: &Deployed, prefix: &str) -> Result<()> {
    if d.stacks()
        .any(|s| grants_writes_under(&s.template, &d.bucket, prefix))
    {
        return Ok(());
    }
    bail!("the spec's variant prefix is {prefix}/, but stack {}'s functions write variants elsewhere (its template grants no s3:PutObject on arn:aws:s3:::{}/{prefix}/*): pass the --config the stack was deployed with; teardown deletes nothing on a guess", d.stack.name, d.bucket)
}

/// Whether a rendered template lets the functions write under `prefix/` of `bucket` (deploy
/// renders the grant as this exact ARN).
pub fn grants_writes_under(template: &str, bucket: &str, prefix: &str) -> bool {
    !prefix.is_empty()
        && !prefix.contains(['*', '?'])
        && template.contains(&format!("arn:aws:s3:::{bucket}/{prefix}/*"))
}

/// A stack's description and template; `None`: no such stack.
fn read_stack(aws: &Aws, name: &str, region: &str) -> Result<Option<Found>> {
    let Some(v) = aws.call_opt(
        region,
        &["cloudformation", "describe-stacks", "--stack-name", name],
    )?
    else {
        return Ok(None);
    };
    let described = Described::from(&v);
    let id = v
        .pointer("/Stacks/0/StackId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let t = aws.call(
        region,
        &["cloudformation", "get-template", "--stack-name", name],
    )?;
    let template = template_text(t.get("TemplateBody").unwrap_or(&Value::Null));
    let mut found = Found {
        name: name.to_owned(),
        region: region.to_owned(),
        id,
        described,
        template,
        packages: Vec::new(),
        resources: Vec::new(),
    };
    found.packages = packages_of(&found);
    let r = aws.call(
        region,
        &[
            "cloudformation",
            "describe-stack-resources",
            "--stack-name",
            name,
        ],
    )?;
    found.resources = r
        .get("StackResources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            (s("LogicalResourceId"), s("PhysicalResourceId"))
        })
        .collect();
    Ok(Some(found))
}

/// `get-template`'s TemplateBody as text: the CLI gives YAML as a string and JSON as an object.
pub fn template_text(body: &Value) -> String {
    match body {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The literal `S3Key` values of a template (YAML as deploy renders it, or JSON), in order, once
/// each. Keys given through `Ref`/`Fn::Sub` are not literal and not listed.
pub fn template_keys(template: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut push = |k: &str| {
        if !k.is_empty() && !keys.iter().any(|x| x == k) {
            keys.push(k.to_owned());
        }
    };
    if let Ok(v) = serde_json::from_str::<Value>(template) {
        fn walk(v: &Value, push: &mut dyn FnMut(&str)) {
            match v {
                Value::Object(m) => {
                    for (k, v) in m {
                        match (k.as_str(), v) {
                            ("S3Key", Value::String(s)) => push(s),
                            _ => walk(v, push),
                        }
                    }
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, push)),
                _ => {}
            }
        }
        walk(&v, &mut push);
    } else {
        for (_, rest) in template.match_indices("S3Key:").map(|(i, _)| {
            let rest = &template[i + "S3Key:".len()..];
            (i, rest.lines().next().unwrap_or(""))
        }) {
            let value = rest.trim();
            if value.starts_with(['{', '!', '[']) || value.is_empty() {
                continue;
            }
            let value = value
                .split(['}', ','])
                .next()
                .unwrap_or("")
                .split(" #")
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\'']);
            push(value);
        }
    }
    keys
}

/// The objects of a stack's artifacts bucket that its template and parameters name: the
/// packages (`S3Key`), and the signing keys' object (`SigningKeysObject`).
fn packages_of(s: &Found) -> Vec<Package> {
    let Some(bucket) = s.parameter("ArtifactBucket") else {
        return Vec::new();
    };
    let mut keys = template_keys(&s.template);
    if let Some(k) = s.parameter("SigningKeysObject") {
        if !keys.iter().any(|x| x == k) {
            keys.push(k.to_owned());
        }
    }
    keys.into_iter()
        .map(|key| Package {
            bucket: bucket.to_owned(),
            region: s.region.clone(),
            key,
        })
        .collect()
}

/// The bucket's customer managed KMS key: the stack's BucketKeyArn parameter, else the bucket's
/// default encryption (an AWS managed key has no statement of ours).
fn kms_key(aws: &Aws, d: &Deployed) -> Result<Option<String>> {
    if let Some(k) = d.stack.parameter("BucketKeyArn") {
        return Ok(Some(k.to_owned()));
    }
    let enc = aws.call_opt(
        &d.bucket_region,
        &["s3api", "get-bucket-encryption", "--bucket", &d.bucket],
    )?;
    let survey::Encryption::Kms { key: Some(id) } = survey::encryption(enc.as_ref()) else {
        return Ok(None);
    };
    let meta = aws.call(&d.bucket_region, &["kms", "describe-key", "--key-id", &id])?;
    let (_, arn) = survey::kms_key(&meta, &id);
    Ok(arn)
}

// ---------------------------------------------------------------------------------------------
// policies

/// What removing one statement does to a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// No statement has the Sid: nothing to change.
    Absent,
    /// The policy without it.
    Put(String),
    /// It was the only statement: the policy goes.
    Delete,
}

/// `existing` policy (JSON text, if any) without the statement `sid`, every other statement (and
/// the policy's Version and Id) as it was.
pub fn remove_statement(existing: Option<&str>, sid: &str) -> Result<Removal> {
    let Some(text) = existing else {
        return Ok(Removal::Absent);
    };
    let mut doc: Value = serde_json::from_str(text).context("the current policy is not JSON")?;
    let ours = |s: &Value| s.get("Sid").and_then(Value::as_str) == Some(sid);
    let list = match doc.get_mut("Statement") {
        Some(Value::Array(a)) => a,
        Some(one @ Value::Object(_)) => {
            return Ok(if ours(one) {
                Removal::Delete
            } else {
                Removal::Absent
            })
        }
        _ => return Ok(Removal::Absent),
    };
    let before = list.len();
    list.retain(|s| !ours(s));
    Ok(match list.len() {
        n if n == before => Removal::Absent,
        0 => Removal::Delete,
        _ => Removal::Put(serde_json::to_string(&doc)?),
    })
}

/// The read statement deploy merged, out of the bucket's policy.
fn bucket_policy(aws: &Aws, ctx: &mut Ctx, say: &mut dyn FnMut(&str)) -> Result<()> {
    let d = ctx.deployed()?;
    let (bucket, region) = (d.bucket.clone(), d.bucket_region.clone());
    let sid = policy_sid(&ctx.opts.stack);
    let current = match aws.call(
        &region,
        &["s3api", "get-bucket-policy", "--bucket", &bucket],
    ) {
        Ok(v) => Some(v),
        Err(e) if e.code == "NoSuchBucket" => {
            say(&format!("  bucket {bucket} does not exist any more"));
            return Ok(());
        }
        Err(e) if e.kind == ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let text = current
        .as_ref()
        .and_then(|c| c.get("Policy"))
        .and_then(Value::as_str);
    match remove_statement(text, &sid)? {
        Removal::Absent => say(&format!(
            "  the policy of bucket {bucket} has no statement {sid}: nothing to remove"
        )),
        Removal::Put(policy) => {
            say(&format!(
                "  removing statement {sid} from the policy of bucket {bucket}"
            ));
            aws.call(
                &region,
                &[
                    "s3api",
                    "put-bucket-policy",
                    "--bucket",
                    &bucket,
                    "--policy",
                    &policy,
                ],
            )?;
            ctx.removed.push(format!(
                "statement {sid} from the policy of bucket {bucket} (the other statements stay)"
            ));
        }
        Removal::Delete => {
            say(&format!("  statement {sid} is the only one in the policy of bucket {bucket}: deleting the policy"));
            aws.call(
                &region,
                &["s3api", "delete-bucket-policy", "--bucket", &bucket],
            )?;
            ctx.removed.push(format!(
                "the policy of bucket {bucket} (it held only statement {sid})"
            ));
        }
    }
    Ok(())
}

/// The decrypt statement deploy merged (`--yes`), out of the key's policy.
fn key_policy(aws: &Aws, ctx: &mut Ctx, say: &mut dyn FnMut(&str)) -> Result<()> {
    let d = ctx.deployed()?;
    let Some(key) = d.kms_key.clone() else {
        return Ok(());
    };
    // A key's region is in its ARN; the bucket's otherwise.
    let region = key
        .strip_prefix("arn:aws:kms:")
        .and_then(|r| r.split(':').next())
        .filter(|r| !r.is_empty())
        .unwrap_or(&d.bucket_region)
        .to_owned();
    let sid = grants::sid("Decrypt", &ctx.opts.stack);
    let current = aws.call(
        &region,
        &[
            "kms",
            "get-key-policy",
            "--key-id",
            &key,
            "--policy-name",
            "default",
        ],
    )?;
    let text = current.get("Policy").and_then(Value::as_str);
    match remove_statement(text, &sid)? {
        Removal::Absent => say(&format!(
            "  the key policy of {key} has no statement {sid}: nothing to remove"
        )),
        Removal::Delete => ctx.left.push(format!("statement {sid} in the key policy of {key}: it is the policy's only statement, and a key policy cannot be empty (removing it would leave nobody able to use or manage the key); replace the policy yourself")),
        Removal::Put(policy) => {
            say(&format!("  removing statement {sid} from the key policy of {key}"));
            aws.call(
                &region,
                &[
                    "kms",
                    "put-key-policy",
                    "--key-id",
                    &key,
                    "--policy-name",
                    "default",
                    "--policy",
                    &policy,
                ],
            )?;
            ctx.removed.push(format!("statement {sid} from the key policy of {key}"));
        }
    }
    Ok(())
}

/// The lifecycle rule deploy merged (`variant_expiry_days`), out of the bucket's configuration.
fn lifecycle(aws: &Aws, ctx: &mut Ctx, say: &mut dyn FnMut(&str)) -> Result<()> {
    let d = ctx.deployed()?;
    let (bucket, region) = (d.bucket.clone(), d.bucket_region.clone());
    let id = lifecycle_rule_id(&ctx.opts.stack);
    let current = match aws.call(
        &region,
        &[
            "s3api",
            "get-bucket-lifecycle-configuration",
            "--bucket",
            &bucket,
        ],
    ) {
        Ok(v) => Some(v),
        Err(e) if e.code == "NoSuchBucket" => {
            say(&format!("  bucket {bucket} does not exist any more"));
            return Ok(());
        }
        Err(e) if e.kind == ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    match merge_lifecycle(current.as_ref(), &id, &ctx.opts.variant_prefix, None) {
        None => say(&format!(
            "  the lifecycle of bucket {bucket} has no rule {id}: nothing to remove"
        )),
        Some(rules) if rules.is_empty() => {
            say(&format!("  rule {id} is the only one in the lifecycle of bucket {bucket}: deleting the configuration"));
            aws.call(
                &region,
                &["s3api", "delete-bucket-lifecycle", "--bucket", &bucket],
            )?;
            ctx.removed.push(format!(
                "the lifecycle configuration of bucket {bucket} (it held only rule {id})"
            ));
        }
        Some(rules) => {
            say(&format!(
                "  removing rule {id} from the lifecycle of bucket {bucket}"
            ));
            let text = serde_json::to_string(&json!({ "Rules": rules }))?;
            aws.call(
                &region,
                &[
                    "s3api",
                    "put-bucket-lifecycle-configuration",
                    "--bucket",
                    &bucket,
                    "--lifecycle-configuration",
                    &text,
                ],
            )?;
            ctx.removed.push(format!(
                "rule {id} from the lifecycle of bucket {bucket} (the other rules stay)"
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// stacks

/// A resource CloudFormation could not delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
    pub reason: String,
}

impl Failed {
    /// Lambda refuses to delete a function CloudFront still has replicas of: "Lambda was unable
    /// to delete arn:…:function:F:1 because it is a replicated function. Please see our
    /// documentation for Deleting Lambda@Edge Functions and Replicas." Replicas go only after the
    /// last distribution using the function is gone, typically within a few hours, and cannot be
    /// deleted by hand
    /// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-edge-delete-replicas.html).
    pub fn is_replica(&self) -> bool {
        self.resource_type == "AWS::Lambda::Function"
            && self.reason.to_lowercase().contains("replicated function")
    }
}

/// The resources of a `describe-stack-resources` answer that are DELETE_FAILED.
pub fn failed_resources(v: &Value) -> Vec<Failed> {
    v.get("StackResources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("ResourceStatus").and_then(Value::as_str) == Some("DELETE_FAILED"))
        .map(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            Failed {
                logical_id: s("LogicalResourceId"),
                physical_id: s("PhysicalResourceId"),
                resource_type: s("ResourceType"),
                reason: s("ResourceStatusReason"),
            }
        })
        .collect()
}

/// How one delete-stack ended.
enum Ended {
    Gone,
    Failed(Vec<Failed>),
}

/// Deletes a stack and follows it until it is gone; a Lambda@Edge function blocked by its
/// replicas is tried again within `--wait-replicas`, then retained (and said so in `ctx.left`).
fn delete_stack(aws: &Aws, ctx: &mut Ctx, s: &Found, say: &mut dyn FnMut(&str)) -> Result<()> {
    let o = &ctx.opts;
    let target = if s.id.is_empty() { &s.name } else { &s.id };
    let mut seen: BTreeSet<String> = stack_events(aws, &StackRef::new(target, &s.region))?
        .iter()
        .map(event_id)
        .collect();
    let started = Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        say(&format!("  deleting stack {} in {}", s.name, s.region));
        stack_call(aws, s, "delete-stack", &[])?;
        let failed = match follow(aws, s, target, &mut seen, say)? {
            Ended::Gone => {
                ctx.removed.push(format!(
                    "stack {} ({}){}",
                    s.name,
                    s.region,
                    if tries > 1 {
                        format!(" on try {tries}, once CloudFront had removed the replicas")
                    } else {
                        String::new()
                    }
                ));
                return Ok(());
            }
            Ended::Failed(f) => f,
        };
        let (replicas, other): (Vec<Failed>, Vec<Failed>) =
            failed.into_iter().partition(Failed::is_replica);
        if !other.is_empty() || replicas.is_empty() {
            bail!(
                "stack {} could not be deleted (DELETE_FAILED): {}; fix that and run teardown again",
                s.name,
                failure_list(&other)
            );
        }
        let names = replicas
            .iter()
            .map(|f| f.physical_id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let elapsed = started.elapsed();
        if elapsed + o.retry_every <= o.wait_replicas {
            say(&format!("  CloudFront has not removed the Lambda@Edge replicas of {names} yet (it does within a few hours of the distribution's deletion); trying again in {} ({} of --wait-replicas left)", minutes(o.retry_every), minutes(o.wait_replicas - elapsed)));
            std::thread::sleep(o.retry_every);
            continue;
        }
        let ids: Vec<&str> = replicas.iter().map(|f| f.logical_id.as_str()).collect();
        say(&format!("  retaining {} ({names}): its replicas are still there; deleting the rest of the stack (delete-stack --retain-resources {})", ids.join(" "), ids.join(" ")));
        let mut extra = vec!["--retain-resources"];
        extra.extend(ids.iter().copied());
        stack_call(aws, s, "delete-stack", &extra)?;
        match follow(aws, s, target, &mut seen, say)? {
            Ended::Gone => {}
            Ended::Failed(f) => bail!(
                "stack {} could not be deleted even with {} retained: {}",
                s.name,
                ids.join(", "),
                failure_list(&f)
            ),
        }
        ctx.removed.push(format!(
            "stack {} ({}), all but the Lambda@Edge function{} {names}",
            s.name,
            s.region,
            if replicas.len() > 1 { "s" } else { "" }
        ));
        for f in &replicas {
            ctx.left.push(retained_line(f, &s.region));
        }
        return Ok(());
    }
}

/// The line for a function teardown had to retain: what, why, and the command.
pub fn retained_line(f: &Failed, region: &str) -> String {
    format!("Lambda@Edge function {} ({region}), retained by the stack's deletion: CloudFront removes a function's replicas only after the last distribution using it is gone, typically within a few hours, and Lambda cannot delete it before (a retained function costs nothing). Delete it then with: aws lambda delete-function --function-name {} --region {region}", f.physical_id, f.physical_id)
}

fn failure_list(failed: &[Failed]) -> String {
    if failed.is_empty() {
        return "no resource says why (describe-stack-events has the stack's reason)".to_owned();
    }
    failed
        .iter()
        .map(|f| {
            format!(
                "{} ({}): {}{}",
                f.logical_id,
                f.resource_type,
                f.reason,
                hint(&f.reason)
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{} min", s.div_ceil(60))
    } else {
        format!("{s} s")
    }
}

fn stack_call(aws: &Aws, s: &Found, op: &str, extra: &[&str]) -> Result<Value> {
    let mut args = vec!["cloudformation", op, "--stack-name", &s.name];
    args.extend_from_slice(extra);
    Ok(aws.call(&s.region, &args)?)
}

/// Polls a deleting stack (by id: a deleted stack is still described by it) until it is gone or
/// DELETE_FAILED, printing each new event as deploy does; a heartbeat every 30 s.
fn follow(
    aws: &Aws,
    s: &Found,
    target: &str,
    seen: &mut BTreeSet<String>,
    say: &mut dyn FnMut(&str),
) -> Result<Ended> {
    let started = Instant::now();
    let mut last_note = Instant::now();
    // Until the stack (or one of its events) shows this delete, a status is the previous one's.
    let mut deleting = false;
    loop {
        let status = aws
            .call_opt(
                &s.region,
                &["cloudformation", "describe-stacks", "--stack-name", target],
            )?
            .map(|v| Described::from(&v).status);
        let mut fresh: Vec<Value> = stack_events(aws, &StackRef::new(target, &s.region))?
            .into_iter()
            .filter(|e| seen.insert(event_id(e)))
            .collect();
        fresh.reverse(); // oldest first
        for e in &fresh {
            say(&event_line(e));
            deleting |= e.get("ResourceType").and_then(Value::as_str)
                == Some("AWS::CloudFormation::Stack")
                && e.get("ResourceStatus").and_then(Value::as_str) == Some("DELETE_IN_PROGRESS");
        }
        deleting |= status.as_deref() == Some("DELETE_IN_PROGRESS");
        let settled = deleting || started.elapsed() > NOT_YET;
        match status.as_deref() {
            None | Some("DELETE_COMPLETE") => {
                say(&format!(
                    "  stack {}: deleted after {}s",
                    s.name,
                    started.elapsed().as_secs()
                ));
                return Ok(Ended::Gone);
            }
            Some("DELETE_FAILED") if settled => {
                let v = aws.call(
                    &s.region,
                    &[
                        "cloudformation",
                        "describe-stack-resources",
                        "--stack-name",
                        target,
                    ],
                )?;
                return Ok(Ended::Failed(failed_resources(&v)));
            }
            Some(st) if settled && !st.starts_with("DELETE") => {
                bail!("stack {} is {st}, not being deleted: another operation took it over; run teardown again once it settles", s.name)
            }
            Some(st) => {
                if started.elapsed() > FOLLOW_LIMIT {
                    bail!("stack {} is still {st} after {} min; run teardown again to follow it (it picks up where the stack is)", s.name, FOLLOW_LIMIT.as_secs() / 60);
                }
                if last_note.elapsed() > Duration::from_secs(30) {
                    say(&format!(
                        "  … {st}, {} min {} s so far (CloudFront disables, then deletes the distribution: several minutes)",
                        started.elapsed().as_secs() / 60,
                        started.elapsed().as_secs() % 60
                    ));
                    last_note = Instant::now();
                }
            }
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

// ---------------------------------------------------------------------------------------------
// variants, packages, logs

/// Deletes every object under the variant prefix, a listing (≤ [`S3_BATCH`] keys) at a time.
fn variants(aws: &Aws, ctx: &mut Ctx, say: &mut dyn FnMut(&str)) -> Result<()> {
    let d = ctx.deployed()?;
    let (bucket, region) = (d.bucket.clone(), d.bucket_region.clone());
    let prefix = format!("{}/", ctx.opts.variant_prefix);
    let mut total = 0usize;
    loop {
        // From the start each time: what was listed is deleted, so the next listing is the rest.
        let listed = match aws.call(
            &region,
            &[
                "s3api",
                "list-objects-v2",
                "--bucket",
                &bucket,
                "--prefix",
                &prefix,
                "--max-keys",
                &S3_BATCH.to_string(),
                "--no-paginate",
            ],
        ) {
            Ok(v) => v,
            Err(e) if e.kind == ErrorKind::NotFound => {
                say(&format!("  bucket {bucket} does not exist any more"));
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let keys: Vec<&str> = listed
            .get("Contents")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("Key").and_then(Value::as_str))
            .filter(|k| k.starts_with(&prefix))
            .collect();
        if keys.is_empty() {
            break;
        }
        let objects: Vec<Value> = keys.iter().map(|k| json!({ "Key": k })).collect();
        let request = crate::purge::ArgFile::new(&json!({ "Objects": objects, "Quiet": true }))
            .map_err(anyhow::Error::msg)?;
        let answer = aws.call(
            &region,
            &[
                "s3api",
                "delete-objects",
                "--bucket",
                &bucket,
                "--delete",
                &request.arg,
            ],
        )?;
        let errors: Vec<String> = answer
            .get("Errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let s = |f: &str| e.get(f).and_then(Value::as_str).unwrap_or("");
                format!("{}: {} {}", s("Key"), s("Code"), s("Message"))
            })
            .collect();
        total += keys.len() - errors.len();
        say(&format!(
            "  deleted {} variant(s) under s3://{bucket}/{prefix} ({total} so far)",
            keys.len() - errors.len()
        ));
        if !errors.is_empty() {
            ctx.removed
                .push(format!("{total} variant(s) under s3://{bucket}/{prefix}"));
            bail!(
                "S3 did not delete {} variant(s), e.g. {}",
                errors.len(),
                errors
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
    ctx.removed.push(if total == 0 {
        format!("no variants: s3://{bucket}/{prefix} was already empty")
    } else {
        format!("{total} variant(s) under s3://{bucket}/{prefix} (originals untouched)")
    });
    Ok(())
}

/// The keys of `candidates` that other stacks (in `stacks`, a `describe-stacks` answer: every
/// stack in the region; `ours` are the ones being torn down) may use: those whose ArtifactBucket
/// is the same bucket, with `template_of` giving their templates. Returns (key, stack) pairs.
pub fn used_elsewhere(
    candidates: &[Package],
    stacks: &Value,
    ours: &[&str],
    template_of: &mut dyn FnMut(&str) -> Result<String>,
) -> Result<Vec<(String, String)>> {
    let mut used = Vec::new();
    for st in stacks
        .get("Stacks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let d = Described::from(&json!({ "Stacks": [st] }));
        let name = st.get("StackName").and_then(Value::as_str).unwrap_or("");
        let Some(bucket) = d.parameter("ArtifactBucket") else {
            continue;
        };
        if d.status == "DELETE_COMPLETE" || ours.contains(&name) {
            continue;
        }
        if !candidates.iter().any(|p| p.bucket == bucket) {
            continue;
        }
        let other = Found {
            name: name.to_owned(),
            region: candidates[0].region.clone(),
            template: template_of(name)?,
            described: d.clone(),
            ..Found::default()
        };
        for p in packages_of(&other) {
            if candidates.contains(&p) {
                used.push((p.key, name.to_owned()));
            }
        }
    }
    Ok(used)
}

/// Deletes the packages this teardown's stacks named, unless a stack left in their region names
/// them too.
fn packages(aws: &Aws, ctx: &mut Ctx, say: &mut dyn FnMut(&str)) -> Result<()> {
    let d = ctx.deployed()?;
    let mut by_region: Vec<(String, Vec<Package>)> = Vec::new();
    for p in d.stacks().flat_map(|s| s.packages.iter()) {
        match by_region.iter_mut().find(|(r, _)| *r == p.region) {
            Some((_, list)) if !list.contains(p) => list.push(p.clone()),
            Some(_) => {}
            None => by_region.push((p.region.clone(), vec![p.clone()])),
        }
    }
    if by_region.is_empty() {
        say("  the stack's templates name no package (no ArtifactBucket parameter)");
    }
    let ours: Vec<String> = d.stacks().map(|s| s.name.clone()).collect();
    let ours: Vec<&str> = ours.iter().map(String::as_str).collect();
    let mut buckets = BTreeSet::new();
    for (region, list) in by_region {
        let stacks = aws.call(&region, &["cloudformation", "describe-stacks"])?;
        let used = used_elsewhere(&list, &stacks, &ours, &mut |name| {
            let t = aws.call(
                &region,
                &["cloudformation", "get-template", "--stack-name", name],
            )?;
            Ok(template_text(t.get("TemplateBody").unwrap_or(&Value::Null)))
        })?;
        for p in list {
            buckets.insert(p.bucket.clone());
            if let Some((_, other)) = used.iter().find(|(k, _)| *k == p.key) {
                say(&format!("  keeping {}: stack {other} uses it", p.url()));
                ctx.left.push(format!(
                    "{}: stack {other}'s template names it too",
                    p.url()
                ));
                continue;
            }
            let Ok(owner) = artifacts::owner(&p.bucket) else {
                ctx.left.push(format!("{}: {} is not a scalefront-artifacts-<account> bucket, so teardown cannot check whose it is; delete it yourself if it is yours", p.url(), p.bucket));
                continue;
            };
            let head = [
                "s3api",
                "head-object",
                "--bucket",
                &p.bucket,
                "--key",
                &p.key,
                "--expected-bucket-owner",
                owner,
            ];
            if aws.call_opt(&p.region, &head)?.is_none() {
                say(&format!("  {} is already gone", p.url()));
                continue;
            }
            say(&format!("  deleting {}", p.url()));
            aws.call(
                &p.region,
                &[
                    "s3api",
                    "delete-object",
                    "--bucket",
                    &p.bucket,
                    "--key",
                    &p.key,
                    "--expected-bucket-owner",
                    owner,
                ],
            )?;
            ctx.removed.push(p.url());
        }
    }
    for b in buckets {
        ctx.left.push(format!("the artifacts bucket s3://{b} and any package of an earlier deploy in it: teardown deletes only the keys the stack's current templates name (another stack may share the bucket); list the rest with aws s3 ls s3://{b}/ --recursive"));
    }
    Ok(())
}

/// Lists the log groups the functions wrote, with their retention: left in place.
fn log_groups(aws: &Aws, ctx: &mut Ctx, say: &mut dyn FnMut(&str)) {
    let Some(d) = ctx.deployed.as_ref() else {
        return;
    };
    let mut wanted: Vec<(String, Vec<&str>)> = Vec::new();
    if let Some(f) = d.edge_function() {
        wanted.push((logs::edge_group(f), EDGE_REGIONS.to_vec()));
    }
    for (f, region) in d.functions() {
        wanted.push((format!("/aws/lambda/{f}"), vec![region]));
    }
    if let Some(f) = d.stack.output("ViewerRequestFunctionName") {
        wanted.push((format!("/aws/cloudfront/function/{f}"), vec![STACK_REGION]));
    }
    let mut found = Vec::new();
    for (name, regions) in &wanted {
        let (groups, errors) = logs::find(aws, name, regions);
        for e in errors {
            say(&format!("  skipped a region: {e}"));
        }
        found.extend(groups);
    }
    if found.is_empty() {
        say("  no log groups found");
    }
    for g in found {
        let keeps = match g.retention_days {
            Some(n) => format!("keeps events {n} days"),
            None => "never expires".to_owned(),
        };
        say(&format!("  {} in {}: {keeps}", g.name, g.region));
        ctx.left.push(format!("log group {} in {} ({keeps}): Lambda and CloudFront write these outside the stack, and they are yours to read after the site is gone; delete it with: aws logs delete-log-group --log-group-name {} --region {}", g.name, g.region, g.name, g.region));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            stack: "scalefront-photos".into(),
            variant_prefix: "_sf".into(),
            variants: false,
            packages: false,
            wait_replicas: Duration::ZERO,
            retry_every: RETRY_EVERY,
        }
    }

    fn deployed() -> Deployed {
        let described = Described::from(&json!({"Stacks": [{
            "StackStatus": "CREATE_COMPLETE",
            "Outputs": [
                {"OutputKey": "DistributionId", "OutputValue": "E1EXAMPLE"},
                {"OutputKey": "OriginResponseFunctionName", "OutputValue": "scalefront-photos-origin-response"},
                {"OutputKey": "ViewerRequestFunctionName", "OutputValue": "scalefront-photos-viewer"}
            ],
            "Parameters": [
                {"ParameterKey": "BucketName", "ParameterValue": "photos"},
                {"ParameterKey": "ArtifactBucket", "ParameterValue": "scalefront-artifacts-123456789012"},
                {"ParameterKey": "SigningKeysObject", "ParameterValue": ""}
            ]
        }]}));
        let mut stack = Found {
            name: "scalefront-photos".into(),
            region: STACK_REGION.into(),
            id: "arn:aws:cloudformation:us-east-1:123456789012:stack/scalefront-photos/1".into(),
            described,
            template: "Code:\n  S3Bucket: {Ref: ArtifactBucket}\n  S3Key: \"scalefront/origin-response-ab12.zip\"\n".into(),
            packages: Vec::new(),
            resources: Vec::new(),
        };
        stack.packages = packages_of(&stack);
        Deployed {
            stack,
            region_stack: None,
            bucket: "photos".into(),
            bucket_region: "eu-west-1".into(),
            kms_key: None,
        }
    }

    #[test]
    fn removes_our_statement_and_keeps_the_others() {
        let ours = "ScalefrontReadscalefrontphotos";
        let policy = json!({"Version": "2012-10-17", "Id": "p", "Statement": [
            {"Sid": "Theirs", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::photos/*"},
            {"Sid": ours, "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::photos"}
        ]})
        .to_string();
        let Removal::Put(left) = remove_statement(Some(&policy), ours).unwrap() else {
            panic!("expected a put")
        };
        let v: Value = serde_json::from_str(&left).unwrap();
        assert_eq!(
            (v["Version"].as_str(), v["Id"].as_str()),
            (Some("2012-10-17"), Some("p"))
        );
        let list = v["Statement"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["Sid"], "Theirs");
        assert!(
            list[1].get("Sid").is_none(),
            "a statement without a Sid stays"
        );
        // Removing again changes nothing; another stack's statement is not ours.
        assert_eq!(
            remove_statement(Some(&left), ours).unwrap(),
            Removal::Absent
        );
        assert_eq!(
            remove_statement(Some(&policy), "ScalefrontReadscalefrontother").unwrap(),
            Removal::Absent
        );
        assert_eq!(remove_statement(None, ours).unwrap(), Removal::Absent);
        // Only ours: the policy goes (an array of one, or a lone statement object).
        let alone = merge_only(ours);
        assert_eq!(
            remove_statement(Some(&alone), ours).unwrap(),
            Removal::Delete
        );
        let lone = json!({"Version": "2012-10-17", "Statement": {"Sid": ours, "Effect": "Allow"}})
            .to_string();
        assert_eq!(
            remove_statement(Some(&lone), ours).unwrap(),
            Removal::Delete
        );
        assert!(remove_statement(Some("not json"), ours).is_err());
    }

    /// A policy as deploy leaves a bucket that had none.
    fn merge_only(sid: &str) -> String {
        crate::deploy::merge_statement(
            None,
            &json!({"Effect": "Allow", "Action": "s3:GetObject"}),
            sid,
        )
        .unwrap()
    }

    #[test]
    fn the_keys_a_template_names() {
        let yaml = "Resources:\n  F:\n    Properties:\n      Code:\n        S3Bucket: {Ref: ArtifactBucket}\n        S3Key: \"scalefront/origin-response-ab12.zip\"\n  G:\n    Properties:\n      Code: {S3Bucket: b, S3Key: 'scalefront/regional-cd34.zip'}\n  H:\n    Properties:\n      Code:\n        S3Key: {Ref: Key}\n        S3Key: scalefront/origin-response-ab12.zip\n";
        assert_eq!(
            template_keys(yaml),
            [
                "scalefront/origin-response-ab12.zip",
                "scalefront/regional-cd34.zip"
            ]
        );
        let json_body = json!({"Resources": {"F": {"Properties": {"Code": {"S3Bucket": "b", "S3Key": "scalefront/x.zip"}}}, "G": {"Properties": {"Code": {"S3Key": {"Ref": "K"}}}}}});
        assert_eq!(
            template_keys(&template_text(&json_body)),
            ["scalefront/x.zip"]
        );
        assert!(template_keys("").is_empty());
        // The signing keys' object is named by a parameter.
        let mut d = deployed();
        d.stack
            .described
            .parameters
            .retain(|(k, _)| k != "SigningKeysObject");
        d.stack.described.parameters.push((
            "SigningKeysObject".into(),
            "keys/scalefront-photos.json".into(),
        ));
        let keys: Vec<String> = packages_of(&d.stack).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "scalefront/origin-response-ab12.zip",
                "keys/scalefront-photos.json"
            ]
        );
    }

    #[test]
    fn another_stacks_template_keeps_a_package() {
        let d = deployed();
        let stacks = json!({"Stacks": [
            {"StackName": "scalefront-other", "Parameters": [{"ParameterKey": "ArtifactBucket", "ParameterValue": "scalefront-artifacts-123456789012"}]},
            {"StackName": "unrelated", "Parameters": [{"ParameterKey": "Foo", "ParameterValue": "x"}]},
            {"StackName": "scalefront-photos", "StackStatus": "DELETE_FAILED", "Parameters": [{"ParameterKey": "ArtifactBucket", "ParameterValue": "scalefront-artifacts-123456789012"}]},
            {"StackName": "scalefront-gone", "StackStatus": "DELETE_COMPLETE", "Parameters": [{"ParameterKey": "ArtifactBucket", "ParameterValue": "scalefront-artifacts-123456789012"}]},
            {"StackName": "scalefront-elsewhere", "Parameters": [{"ParameterKey": "ArtifactBucket", "ParameterValue": "someone-else"}]}
        ]});
        let mut asked = Vec::new();
        let used = used_elsewhere(
            &d.stack.packages,
            &stacks,
            &["scalefront-photos"],
            &mut |name| {
                asked.push(name.to_owned());
                Ok("S3Key: scalefront/origin-response-ab12.zip\n".into())
            },
        )
        .unwrap();
        assert_eq!(
            asked,
            ["scalefront-other"],
            "only stacks on the same artifacts bucket are read"
        );
        assert_eq!(
            used,
            [(
                "scalefront/origin-response-ab12.zip".to_owned(),
                "scalefront-other".to_owned()
            )]
        );
        let none = used_elsewhere(&d.stack.packages, &stacks, &[], &mut |_| {
            Ok("S3Key: scalefront/origin-response-ff00.zip".into())
        })
        .unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn replica_failures_are_told_from_the_others() {
        let v = json!({"StackResources": [
            {"LogicalResourceId": "OriginResponseFunction", "PhysicalResourceId": "scalefront-photos-origin-response", "ResourceType": "AWS::Lambda::Function", "ResourceStatus": "DELETE_FAILED",
             "ResourceStatusReason": "Lambda was unable to delete arn:aws:lambda:us-east-1:123456789012:function:scalefront-photos-origin-response:1 because it is a replicated function. Please see our documentation for Deleting Lambda@Edge Functions and Replicas. (Service: Lambda, Status Code: 400)"},
            {"LogicalResourceId": "OriginResponseVersion", "ResourceType": "AWS::Lambda::Version", "ResourceStatus": "DELETE_SKIPPED"},
            {"LogicalResourceId": "OriginResponseRole", "ResourceType": "AWS::IAM::Role", "ResourceStatus": "DELETE_FAILED", "ResourceStatusReason": "User: x is not authorized to perform: iam:DeleteRole on resource"}
        ]});
        let failed = failed_resources(&v);
        assert_eq!(failed.len(), 2);
        assert!(failed[0].is_replica());
        assert!(!failed[1].is_replica());
        let line = retained_line(&failed[0], "us-east-1");
        assert!(line.contains("aws lambda delete-function --function-name scalefront-photos-origin-response --region us-east-1"), "{line}");
        assert!(failure_list(&failed[1..]).contains("missing permission iam:DeleteRole"));
    }

    #[test]
    fn the_plan_names_every_step_in_order() {
        let ctx = Ctx::new(opts());
        let text = describe(&ctx);
        let names: Vec<&str> = text
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("stays:"))
            .map(|l| l.split_once(". ").unwrap().1.split_once(':').unwrap().0)
            .collect();
        assert_eq!(
            names,
            [
                "read",
                "bucket-policy",
                "key-policy",
                "lifecycle",
                "stack",
                "region-stack",
                "logs"
            ]
        );
        assert!(
            text.starts_with("plan: tear down stack scalefront-photos (us-east-1)\n"),
            "{text}"
        );
        assert!(
            text.contains("remove statement ScalefrontReadscalefrontphotos"),
            "{text}"
        );
        assert!(
            text.contains("stack scalefront-photos-region in the bucket's region"),
            "{text}"
        );
        assert!(text.contains("retain it at once"), "{text}");
        assert!(
            text.contains("teardown never deletes the photo bucket"),
            "{text}"
        );
        assert!(
            text.contains("not asked for (--variants deletes them"),
            "{text}"
        );

        let mut ctx = Ctx::new(Options {
            variants: true,
            packages: true,
            wait_replicas: Duration::from_secs(3 * 3600),
            ..opts()
        });
        ctx.deployed = Some(deployed());
        let text = describe(&ctx);
        assert!(text.starts_with("plan: tear down stack scalefront-photos (us-east-1, CREATE_COMPLETE), bucket photos (eu-west-1)"), "{text}");
        assert!(
            text.contains("  7. variants: delete every object under s3://photos/_sf/"),
            "{text}"
        );
        assert!(text.contains("  8. packages: delete s3://scalefront-artifacts-123456789012/scalefront/origin-response-ab12.zip, except"), "{text}");
        assert!(text.contains("distribution E1EXAMPLE, viewer function scalefront-photos-viewer, Lambda@Edge function scalefront-photos-origin-response"), "{text}");
        assert!(
            text.contains("try again every 5 min for up to 180 min, then retain it"),
            "{text}"
        );
        assert!(
            text.contains("nothing to do: there is no stack scalefront-photos-region in eu-west-1"),
            "{text}"
        );
        assert!(
            text.contains("/aws/lambda/us-east-1.scalefront-photos-origin-response"),
            "{text}"
        );
        assert!(!text.contains("not asked for"), "{text}");
        // Execution announces the same lines.
        assert_eq!(
            Step::Variants.describe(&ctx),
            text.lines()
                .nth(7)
                .unwrap()
                .split_once("variants: ")
                .unwrap()
                .1
        );
    }

    #[test]
    fn the_summary_says_what_stays_and_why() {
        let mut ctx = Ctx::new(opts());
        ctx.deployed = Some(deployed());
        ctx.removed
            .push("stack scalefront-photos (us-east-1)".into());
        ctx.left
            .push("log group x in eu-west-1 (never expires): …".into());
        let s = summary(&ctx);
        assert!(s.starts_with("removed:\n  - stack scalefront-photos (us-east-1)\nleft:\n  - bucket photos and your originals"), "{s}");
        assert!(s.contains("aws s3 rm s3://photos/_sf/ --recursive"), "{s}");
        assert!(
            s.contains("s3://scalefront-artifacts-123456789012: not asked for (--packages"),
            "{s}"
        );
        assert!(
            s.ends_with("  - log group x in eu-west-1 (never expires): …\n"),
            "{s}"
        );
    }

    #[test]
    fn variants_only_where_the_stack_writes_them() {
        let t = "Resource: \"arn:aws:s3:::photos/_sf/*\"";
        assert!(grants_writes_under(t, "photos", "_sf"));
        assert!(!grants_writes_under(t, "photos", "photos"));
        assert!(!grants_writes_under(t, "other", "_sf"));
        assert!(!grants_writes_under("arn:aws:s3:::photos//*", "photos", ""));
        let mut d = deployed();
        d.stack.template = t.into();
        assert!(check_variant_prefix(&d, "_sf").is_ok());
        let e = check_variant_prefix(&d, "img").unwrap_err().to_string();
        assert!(
            e.contains("pass the --config the stack was deployed with"),
            "{e}"
        );
    }

    #[test]
    fn a_dry_run_changes_nothing_and_execution_says_which_step_failed() {
        let mut ctx = Ctx::new(opts());
        let aws = Aws::with_program("/nonexistent/aws");
        let mut lines = Vec::new();
        let err = run(&aws, &mut ctx, true, &mut |l| lines.push(l.to_owned())).unwrap_err();
        assert!(
            format!("{err:#}").contains("teardown step read failed"),
            "{err:#}"
        );
        assert!(lines.is_empty(), "{lines:?}");
        let err = run(&aws, &mut ctx, false, &mut |l| lines.push(l.to_owned())).unwrap_err();
        assert!(
            format!("{err:#}").contains("teardown step read failed"),
            "{err:#}"
        );
        assert!(lines[0].starts_with("[1/7] read: ask AWS"), "{lines:?}");
    }
}
