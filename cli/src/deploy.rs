//! `scalefront deploy`: package, render the template, upload, create or update the stack, wait, print
//! the domain and a test URL. AWS through the `aws` CLI (see infra's docs for why).
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use infra::aws::Aws;
use infra::deploy::{self, Built, Ctx};
use infra::template::{self, Artifact, Mode, Params};

use crate::package;

const ABOUT: &str =
    "Deploy to AWS: S3 + CloudFront + the resize function, in one CloudFormation stack";
const LONG_ABOUT: &str = "Deploy to AWS: packages the functions, uploads them, creates or updates one CloudFormation \
stack in us-east-1 (CloudFront distribution, viewer-request CloudFront Function, Origin Access Control, cache policy, \
IAM role, and the origin-response Lambda@Edge or, in regional mode, a Lambda function URL behind an origin group), \
merges a read statement for this distribution into the bucket's policy, and prints the domain and a test URL.\n\n\
The bucket may be in any region and may already hold your photos; a missing bucket is created (private). Running it \
again after editing scalefront.toml updates the stack in place and associates a new function version.\n\n\
Needs the aws command line tool with credentials (the standard chain: AWS_PROFILE, SSO, …).\n\n\
Examples:\n  scalefront deploy --bucket my-photos --dry-run     # print the template and the plan, call nothing\n  \
scalefront deploy --bucket my-photos               # edge mode, stack scalefront-my-photos\n  \
scalefront deploy --bucket my-photos --mode regional --config scalefront.toml";

#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT)]
pub struct Args {
    /// The S3 bucket with the photos (created if missing).
    #[arg(long)]
    pub bucket: String,
    /// The bucket's region [default: asked from S3; us-east-1 for a new bucket].
    #[arg(long)]
    pub region: Option<String>,
    /// edge: Lambda@Edge on origin-response. regional: origin group failing over to a Lambda function URL.
    #[arg(long, default_value = "edge", value_parser = parse_mode)]
    pub mode: Mode,
    /// CloudFormation stack name (≤ 40 letters, digits, hyphens) [default: scalefront-<bucket>].
    #[arg(long)]
    pub stack: Option<String>,
    /// The rule spec [default: ./scalefront.toml if present, else the built-in defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the rendered template and the plan; call no AWS API.
    #[arg(long)]
    pub dry_run: bool,
    /// Lambda memory in MB (CPU grows with it; resizing is CPU-bound).
    #[arg(long, default_value_t = template::DEFAULT_MEMORY_MB)]
    pub memory: u32,
    /// Origin Shield, one cache layer in front of the bucket so each new variant is made once
    /// worldwide: auto (the bucket's region, or AWS's recommended neighbour), off, or a region.
    /// It is billed per request that reaches it (cache misses only).
    #[arg(long, default_value = "auto", value_name = "auto|off|REGION")]
    pub origin_shield: String,
    /// Where the packages and rendered templates go [default: <tmp>/scalefront-<stack>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A directory holding the functions' code, edge/ and regional/ (`cargo xtask artifacts`
    /// builds them into target/artifacts) [default: $SCALEFRONT_ARTIFACTS, else the ones
    /// `cargo xtask install` embedded in this binary].
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Signing keys for a spec with `signed = true` (KeyValueStore import format, `scalefront
    /// sign --new-keys FILE`): the stack's KeyValueStore is created from them, the origin's key
    /// goes into the package.
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Serve only this folder of the bucket (and the variants): CloudFront may read nothing else.
    /// Without it the whole bucket is readable through the distribution.
    #[arg(long, value_name = "FOLDER/")]
    pub prefix: Option<String>,
    /// Apply what deploy would otherwise stop and print: the KMS key policy statement CloudFront
    /// needs for an SSE-KMS bucket (there is no prompt; CI has no stdin).
    #[arg(long)]
    pub yes: bool,
    /// Serve the images under the site's own name (an alias such as images.example.com), with an
    /// ACM certificate in us-east-1: --certificate's, else one found or requested (DNS validation).
    #[arg(long, value_name = "NAME")]
    pub domain: Option<String>,
    /// With --domain: the ACM certificate (us-east-1) to use.
    #[arg(long, value_name = "ARN", requires = "domain")]
    pub certificate: Option<String>,
    /// With --domain: the Route 53 hosted zone (id or name) where deploy writes the certificate's
    /// validation records and the alias records; without it deploy prints them for you to add.
    #[arg(long, value_name = "ZONE", requires = "domain")]
    pub route53_zone: Option<String>,
    /// Days the Lambda@Edge log groups keep their events, in every region (edge mode).
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub log_retention: u32,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
}

fn default_artifacts() -> PathBuf {
    package::default_artifacts()
}

pub fn run(args: Args) -> Result<()> {
    template::check_bucket(&args.bucket)?;
    let stack = args
        .stack
        .clone()
        .unwrap_or_else(|| deploy::default_stack_name(&args.bucket));
    template::check_stack_name(&stack)?;
    if let Some(r) = &args.region {
        template::check_region(r)?;
    }
    let scope = scope(args.prefix.as_deref())?;
    let (spec, _) = package::load_spec(args.config.as_deref())?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("scalefront-{stack}")));
    let mut ctx = Ctx::new(deploy::Options {
        stack: stack.clone(),
        mode: args.mode,
        bucket: args.bucket.clone(),
        region: args.region.clone(),
        scope,
        variant_prefix: spec.prefix().to_owned(),
        yes: args.yes,
        domain: match &args.domain {
            Some(name) => Some(deploy::DomainOptions {
                name: infra::domain::validate_alias(name)?,
                certificate: args.certificate.clone(),
                zone: args.route53_zone.clone(),
            }),
            None => None,
        },
        log_retention_days: infra::logs::check_days(args.log_retention)?,
        variant_expiry_days: spec.variant_expiry_days(),
    });
    if args.dry_run && args.region.is_none() {
        eprintln!("dry run: bucket region assumed us-east-1 (deploy asks S3; pass --region to render for another)");
    }
    let mut build = |ctx: &Ctx| build(&args, ctx, &out);
    let aws = Aws::default();
    if args.dry_run {
        deploy::run(&aws, &mut ctx, true, &mut build, &mut |l| eprintln!("{l}"))?;
        let built = ctx
            .built
            .as_ref()
            .expect("the dry run ran the package step");
        print!("{}", built.template);
        println!("---");
        print!("{}", deploy::describe(&ctx));
        println!(
            "rule spec: {}",
            viewer_fn::budget::Budget::of(&spec).summary()
        );
        println!(
            "(dry run: nothing was called or changed; packages and templates are in {})",
            out.display()
        );
        return Ok(());
    }
    eprint!("{}", deploy::describe(&ctx));
    deploy::run(&aws, &mut ctx, false, &mut build, &mut |l| eprintln!("{l}"))?;
    let outputs = ctx.outputs.as_ref().expect("a finished deploy has outputs");
    println!("deployed: https://{}", outputs.domain);
    if let Some(d) = &ctx.opts.domain {
        println!(
            "alias:    https://{} (once its DNS record is in place)",
            d.name
        );
    }
    // A GET: it makes the variant and shows the headers (a HEAD would answer no-store).
    println!("test:     curl -s -o /dev/null -D - '{}'", outputs.test_url);
    println!("check:    scalefront doctor --stack {stack}");
    Ok(())
}

/// `--prefix`: a folder (`photos/`), or nothing for the whole bucket.
fn scope(prefix: Option<&str>) -> Result<String> {
    let Some(p) = prefix
        .map(|p| p.trim_start_matches('/'))
        .filter(|p| !p.is_empty())
    else {
        return Ok(String::new());
    };
    anyhow::ensure!(
        !p.contains(['*', '?']) && p.chars().all(|c| c.is_ascii_graphic()),
        "--prefix is a folder of the bucket such as photos/, without wildcards: got {p:?}"
    );
    Ok(if p.ends_with('/') {
        p.to_owned()
    } else {
        format!("{p}/")
    })
}

/// What the verify step requests: a variant of the survey's sample photo as a page would ask for
/// it under this spec (a preset when only presets are allowed; signed with slot a when URLs are
/// signed). `None` before the survey, or with no photo in the bucket.
fn verify_path(spec: &viewer_fn::Spec, keys: Option<&Path>, ctx: &Ctx) -> Result<Option<String>> {
    let Some(key) = ctx.survey.as_ref().and_then(|s| s.sample_key.as_deref()) else {
        return Ok(None);
    };
    let query = match spec.presets().keys().next() {
        Some(name) if spec.presets_only() => format!("p={name}"),
        _ => "w=600".to_owned(),
    };
    let path = format!("/{}?{query}", template::percent_encode_path(key));
    match package::signing_keys(spec, keys)? {
        Some(keys) => {
            let slot = if keys.get('a').is_some() { 'a' } else { 'b' };
            viewer_fn::sign::sign_url(spec, &keys, slot, &path)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("the verify request: {e}"))
        }
        None => Ok(Some(path)),
    }
}

/// The header the survey found the bucket's policy demands, as the origin's config spells it.
fn put_encryption(ctx: &Ctx) -> Result<Option<resize_lambda::Encryption>> {
    use infra::deploy::survey::PutEncryption;
    use resize_lambda::{Encryption, SseAlgorithm};
    let Some(found) = ctx.survey.as_ref().and_then(|s| s.put_encryption.as_ref()) else {
        return Ok(None);
    };
    let e = match found {
        PutEncryption::S3 => Encryption::new(SseAlgorithm::Aes256, None, None),
        PutEncryption::Kms { key } => Encryption::new(SseAlgorithm::AwsKms, key.clone(), None),
    };
    Ok(Some(e.map_err(|e| {
        anyhow::anyhow!("the bucket policy's encryption header: {e}")
    })?))
}

/// The package step: packages and templates for the bucket as the survey found it (or, on a dry
/// run, as the command line says).
fn build(args: &Args, ctx: &Ctx, out: &Path) -> Result<Built> {
    let bucket_region = ctx.bucket_region();
    let packaged = package::package(&package::Args {
        bucket: args.bucket.clone(),
        region: bucket_region.clone(),
        config: args.config.clone(),
        s3_endpoint: None,
        out: out.to_owned(),
        artifacts: args.artifacts.clone().unwrap_or_else(default_artifacts),
        keys: args.keys.clone(),
        put_encryption: put_encryption(ctx)?,
    })?;
    let test_key = ctx
        .survey
        .as_ref()
        .and_then(|s| s.sample_key.clone())
        .unwrap_or_default();
    let mut params = params_for(
        &packaged,
        &ctx.opts.stack,
        &bucket_region,
        ctx.artifact_bucket(),
        args.memory,
        test_key,
        origin_shield(&args.origin_shield, &bucket_region)?,
    )?;
    params.read_scope = ctx.opts.scope.clone();
    params.kms_key_arn = ctx.survey.as_ref().and_then(|s| s.kms_key_arn.clone());
    // On a dry run the certificate is not known yet: --certificate's, or a placeholder the
    // certificate step replaces.
    params.domain = ctx.opts.domain.as_ref().map(|d| template::Domain {
        name: d.name.clone(),
        certificate_arn: ctx
            .certificate_arn
            .clone()
            .or_else(|| d.certificate.clone())
            .unwrap_or_else(|| {
                "arn:aws:acm:us-east-1:000000000000:certificate/to-be-requested".into()
            }),
    });
    write_templates(&params, out)?;
    let package_file = match args.mode {
        Mode::Edge => packaged.origin_response.clone(),
        Mode::Regional => packaged.regional.clone(),
    };
    let template_file = out.join(args.mode.file_name());
    Ok(Built {
        package: match args.mode {
            Mode::Edge => params.edge_package.clone(),
            Mode::Regional => params.regional_package.clone(),
        },
        package_size: std::fs::metadata(&package_file)?.len(),
        package_file,
        template: std::fs::read_to_string(&template_file)?,
        template_file,
        signing_keys: match (&packaged.signing_keys, &params.signing_keys_object) {
            (Some(file), Some(key)) => Some((file.clone(), key.clone())),
            _ => None,
        },
        verify_path: verify_path(&packaged.spec, args.keys.as_deref(), ctx)?,
        region_template_file: out.join(args.mode.region_file_name()),
        edge_version: (args.mode == Mode::Edge)
            .then(|| template::version_description(Mode::Edge, &params)),
        region_package_file: packaged.regional.clone(),
        region_package: params.regional_package.clone(),
    })
}

/// The template parameters for a package (shared with `scalefront package`).
pub fn params_for(
    p: &package::Packaged,
    stack: &str,
    bucket_region: &str,
    artifact_bucket: Option<String>,
    memory_mb: u32,
    test_key: String,
    origin_shield: Option<String>,
) -> Result<Params> {
    let code = std::fs::read_to_string(&p.viewer_fn)?;
    let edge = std::fs::read(&p.origin_response)?;
    let regional = std::fs::read(&p.regional)?;
    // One object per stack, uploaded once: the store is imported from it at creation only
    // (CloudFormation cannot update an ImportSource); later keys go in with `sign --rotate`.
    let signing_keys_object = p
        .signing_keys
        .as_ref()
        .map(|_| format!("keys/{stack}.json"));
    Ok(Params {
        stack_name: stack.to_owned(),
        bucket: p.config.bucket.clone(),
        bucket_region: bucket_region.to_owned(),
        create_bucket: false,
        prefix: p.spec.prefix().to_owned(),
        spec_fingerprint: format!("{}\n{}", serde_json::to_string(&p.config)?, code),
        viewer_function_code: code,
        artifact_bucket,
        edge_package: Artifact::of("origin-response", &edge),
        regional_package: Artifact::of("regional", &regional),
        memory_mb,
        test_key,
        negotiates_format: p.spec.negotiates_format(),
        origin_shield,
        signing_keys_object,
        read_scope: String::new(),
        kms_key_arn: None,
        domain: None,
    })
}

/// `--origin-shield`: `auto` → the bucket region's shield region, `off` → none, else that region.
pub fn origin_shield(choice: &str, bucket_region: &str) -> Result<Option<String>> {
    match choice {
        "off" => Ok(None),
        "auto" => match template::origin_shield_region(bucket_region) {
            Some(r) => Ok(Some(r.to_string())),
            None => {
                eprintln!(
                    "note: no Origin Shield region is known for a bucket in {bucket_region}; deploying without it (pass --origin-shield REGION, one near the bucket, to use it)"
                );
                Ok(None)
            }
        },
        region => {
            template::check_region(region)?;
            Ok(Some(region.to_string()))
        }
    }
}

/// Writes each mode's two templates into `dir`: the stack in us-east-1 (`template-edge.yaml`,
/// `template-regional.yaml`) and the one next to the bucket (`template-*-region.yaml`).
pub fn write_templates(params: &Params, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for mode in [Mode::Edge, Mode::Regional] {
        for (name, text) in [
            (mode.file_name(), template::render(mode, params)?),
            (
                mode.region_file_name(),
                template::render_region(mode, params)?,
            ),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}
