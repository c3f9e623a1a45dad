//! `scalefront package`: everything a deployment uploads, with the site's settings baked in
//! (Lambda@Edge allows no environment variables).
use anyhow::{bail, ensure, Context, Result};
use resize_lambda::PackageConfig;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use viewer_fn::Spec;

const ABOUT: &str =
    "Build the deployment packages: viewer-fn.js, origin-response.zip, regional.zip";
const LONG_ABOUT: &str = "Build the deployment packages into --out:\n  \
  viewer-fn.js          the viewer-request CloudFront Function generated from the rule spec\n  \
  origin-response.zip   the Lambda@Edge origin-response function (nodejs24.x, handler index.handler)\n  \
  regional.zip          the regional Lambda (provided.al2023, bootstrap) for origin-group failover\n  \
  template-edge.yaml    the CloudFormation stack for edge mode (deploy in us-east-1)\n  \
  template-regional.yaml  the same for regional mode\n\n\
Bucket, region, rule spec and the optional S3 endpoint are baked into each package's config.json.\n\
The functions' code (the wasm module, its Node.js shim, the bootstrap binary) comes from --artifacts DIR, \
else $SCALEFRONT_ARTIFACTS, else the copy embedded in this binary by `cargo xtask install`.\n\n\
Example:\n  scalefront package --bucket my-photos --region eu-west-1 --config scalefront.toml --out dist";

#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT)]
pub struct Args {
    /// The S3 bucket holding the originals (variants are written under the spec's prefix).
    #[arg(long)]
    pub bucket: String,
    /// The bucket's region, e.g. eu-west-1.
    #[arg(long)]
    pub region: String,
    /// The rule spec [default: ./scalefront.toml if present, else the built-in defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// S3 endpoint override (path-style), for tests against a local S3 server.
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A directory holding the functions' code, edge/ and regional/ (`cargo xtask artifacts`
    /// builds them into target/artifacts) [default: $SCALEFRONT_ARTIFACTS, else the ones
    /// `cargo xtask install` embedded in this binary].
    // Empty when neither this nor $SCALEFRONT_ARTIFACTS is given: the embedded code (FunctionCode::find).
    #[arg(
        long,
        value_name = "DIR",
        default_value_os_t = default_artifacts(),
        hide_default_value = true,
        value_parser = clap::builder::TypedValueParser::map(clap::builder::OsStringValueParser::new(), PathBuf::from)
    )]
    pub artifacts: PathBuf,
    /// Signing keys (KeyValueStore import format, `scalefront sign --new-keys`), required with
    /// `signed = true`: the origin's key (scalefront-o) goes into config.json, the file into --out
    /// as signing-keys.json (what the stack's KeyValueStore is created from).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// The encryption header every variant PUT carries (deploy's survey finds when the bucket's
    /// policy demands one).
    #[arg(skip)]
    pub put_encryption: Option<resize_lambda::Encryption>,
}

/// The files `run` wrote, for callers that add more (templates) or report sizes.
#[derive(Debug)]
pub struct Packaged {
    pub viewer_fn: PathBuf,
    pub origin_response: PathBuf,
    pub regional: PathBuf,
    pub spec: Spec,
    pub config: PackageConfig,
    /// With `signed = true`: the keys file for the KeyValueStore import (in --out).
    pub signing_keys: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let p = package(&args)?;
    // The stack templates for these packages, as `scalefront deploy` renders them (stack
    // scalefront-<bucket>; the ArtifactBucket parameter is left for the user to pass).
    let stack = infra::deploy::default_stack_name(&args.bucket);
    let memory = infra::template::DEFAULT_MEMORY_MB;
    // The templates as `deploy` would render them by default (Origin Shield near the bucket, if
    // AWS offers one there).
    let shield = crate::deploy::origin_shield("auto", &args.region)?;
    let params = crate::deploy::params_for(
        &p,
        &stack,
        &args.region,
        None,
        memory,
        String::new(),
        shield,
    )?;
    let templates = crate::deploy::write_templates(&params, &args.out)?;
    let written = [&p.viewer_fn, &p.origin_response, &p.regional];
    for path in written.into_iter().chain(&templates) {
        println!(
            "{}  {} bytes",
            path.display(),
            std::fs::metadata(path)?.len()
        );
    }
    Ok(())
}

pub fn package(args: &Args) -> Result<Packaged> {
    check_bucket(&args.bucket)?;
    check_region(&args.region)?;
    if let Some(endpoint) = &args.s3_endpoint {
        ensure!(
            endpoint.starts_with("http://") || endpoint.starts_with("https://"),
            "--s3-endpoint must be an http:// or https:// URL, got {endpoint:?}"
        );
    }
    let (spec, spec_toml) = load_spec(args.config.as_deref())?;
    let keys = signing_keys(&spec, args.keys.as_deref())?;
    let config = PackageConfig {
        bucket: args.bucket.clone(),
        region: args.region.clone(),
        s3_endpoint: args.s3_endpoint.clone(),
        spec: spec_toml,
        limits: None,
        signing_key: keys
            .as_ref()
            .and_then(|k| k.get(viewer_fn::sign::ORIGIN_SLOT).map(str::to_string)),
        shim: Some(resize_lambda::ShimConfig::new(&spec)),
        put_encryption: args.put_encryption.clone(),
    };
    let config_json = serde_json::to_string_pretty(&config)? + "\n";

    // Every input is checked before anything is written, so a failure leaves --out as it was.
    let code = FunctionCode::find(&args.artifacts)?;

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let viewer_fn = args.out.join("viewer-fn.js");
    std::fs::write(&viewer_fn, viewer_fn::generate(&spec))?;
    let signing_keys = match &keys {
        Some(k) => {
            let path = args.out.join("signing-keys.json");
            infra::keys::write_private(
                &path,
                k.to_kvs_json().as_bytes(),
                infra::keys::Replace::Yes,
            )?;
            Some(path)
        }
        None => None,
    };

    let origin_response = args.out.join("origin-response.zip");
    let mut entries = vec![Entry::new(
        "config.json",
        config_json.as_bytes().to_vec(),
        0o644,
    )];
    for (name, bytes) in code.edge {
        entries.push(Entry::new(name, bytes.into_owned(), 0o644));
    }
    write_zip(&origin_response, &entries)?;

    let regional = args.out.join("regional.zip");
    write_zip(
        &regional,
        &[
            Entry::new("bootstrap", code.bootstrap.into_owned(), 0o755),
            Entry::new("config.json", config_json.into_bytes(), 0o644),
        ],
    )?;
    Ok(Packaged {
        viewer_fn,
        origin_response,
        regional,
        spec,
        config,
        signing_keys,
    })
}

/// The spec and the TOML text baked into the packages (empty text = the defaults).
pub fn load_spec(path: Option<&Path>) -> Result<(Spec, String)> {
    let path = match path {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from("scalefront.toml")).filter(|p| p.exists()),
    };
    let Some(path) = path else {
        return Ok((Spec::default(), String::new()));
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the rule spec {}", path.display()))?;
    let spec = Spec::from_toml(&text).with_context(|| format!("in {}", path.display()))?;
    Ok((spec, text))
}

/// The function packages `cargo xtask install` embedded (cli/build.rs; none in a plain build).
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/packages.rs"));
}

const EDGE_FILES: [&str; 3] = ["index.mjs", "resize_lambda.js", "resize_lambda_bg.wasm"];

/// The functions' code that goes into the packages: the Lambda@Edge files (name, bytes) and the
/// regional bootstrap.
struct FunctionCode {
    edge: Vec<(&'static str, Cow<'static, [u8]>)>,
    bootstrap: Cow<'static, [u8]>,
}

impl FunctionCode {
    /// From `dir` (--artifacts or $SCALEFRONT_ARTIFACTS), or, when that is empty (neither
    /// given: see `default_artifacts`), from the copy embedded in this binary.
    fn find(dir: &Path) -> Result<FunctionCode> {
        if dir.as_os_str().is_empty() {
            return FunctionCode::embedded();
        }
        let edge = EDGE_FILES.map(|f| artifact(&dir.join("edge").join(f), "cargo xtask edge-wasm"));
        let bootstrap = artifact(&dir.join("regional/bootstrap"), "cargo xtask regional");
        let edge: Vec<_> = edge.into_iter().collect::<Result<_>>()?;
        let bootstrap = bootstrap?;
        let mut code = FunctionCode {
            edge: Vec::new(),
            bootstrap: Cow::Owned(std::fs::read(bootstrap)?),
        };
        for (name, path) in EDGE_FILES.into_iter().zip(edge) {
            code.edge.push((name, Cow::Owned(std::fs::read(path)?)));
        }
        eprintln!("function code: {}", dir.display());
        Ok(code)
    }

    /// The embedded files, each checked against its manifest's sha256.
    fn embedded() -> Result<FunctionCode> {
        ensure!(
            !embedded::MANIFESTS.is_empty(),
            "this scalefront has no function code embedded, and neither --artifacts DIR nor \
             SCALEFRONT_ARTIFACTS names a directory holding it. Install a scalefront that has it with \
             `cargo xtask install` in a scalefront checkout (it builds the code and embeds it), or build \
             it there with `cargo xtask artifacts` and pass --artifacts <checkout>/target/artifacts"
        );
        let stale = "reinstall with `cargo xtask install`";
        let mut built = Vec::new();
        for manifest in embedded::MANIFESTS {
            let field = |key: &str| {
                manifest
                    .lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
                    .unwrap_or("?")
            };
            for line in manifest.lines() {
                let Some((sha, name)) = line.strip_prefix("out ").and_then(|l| l.split_once(' '))
                else {
                    continue;
                };
                let bytes = embedded_file(name)?;
                ensure!(
                    viewer_fn::sign::hex(&Sha256::digest(bytes)) == sha,
                    "the embedded {name} is not the file its manifest names: {stale}"
                );
            }
            let sources = field("sources");
            built.push(format!(
                "{} sources {} ({})",
                field("component"),
                sources.get(..12).unwrap_or(sources),
                field("build")
            ));
        }
        let mut edge = Vec::new();
        for name in EDGE_FILES {
            edge.push((name, Cow::Borrowed(embedded_file(&format!("edge/{name}"))?)));
        }
        let bootstrap = Cow::Borrowed(embedded_file("regional/bootstrap")?);
        eprintln!(
            "function code: embedded in this binary: {}",
            built.join("; ")
        );
        Ok(FunctionCode { edge, bootstrap })
    }
}

fn embedded_file(name: &str) -> Result<&'static [u8]> {
    embedded::FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
        .with_context(|| {
            format!("{name} is not embedded in this binary: reinstall with `cargo xtask install`")
        })
}

fn artifact(path: &Path, build: &str) -> Result<PathBuf> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    bail!(
        "missing {}: build it first with `{build}` (or `cargo xtask artifacts` for everything) in the scalefront \
         workspace, or point --artifacts at a directory holding edge/ and regional/ (or use a scalefront \
         installed with `cargo xtask install`, which has them embedded)",
        path.display()
    )
}

/// $SCALEFRONT_ARTIFACTS, else empty: the code embedded in this binary (`FunctionCode::find`).
/// Never a path into the build tree, which an installed binary cannot count on.
pub fn default_artifacts() -> PathBuf {
    std::env::var_os("SCALEFRONT_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// S3's naming rules for general purpose buckets.
fn check_bucket(name: &str) -> Result<()> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    ensure!(
        (3..=63).contains(&name.len())
            && ok_chars
            && ends_ok(name.as_bytes().first())
            && ends_ok(name.as_bytes().last())
            && !name.contains(".."),
        "--bucket {name:?} is not a valid S3 bucket name (3-63 characters: lowercase letters, digits, '.', '-')"
    );
    Ok(())
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-7`.
fn check_region(region: &str) -> Result<()> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    ensure!(
        ok,
        "--region {region:?} is not an AWS region name like eu-west-1"
    );
    Ok(())
}

struct Entry {
    name: String,
    data: Vec<u8>,
    mode: u32,
}

impl Entry {
    fn new(name: &str, data: Vec<u8>, mode: u32) -> Entry {
        Entry {
            name: name.to_string(),
            data,
            mode,
        }
    }
}

/// A reproducible zip: fixed timestamps, explicit Unix modes (Lambda needs `bootstrap` executable).
fn write_zip(path: &Path, entries: &[Entry]) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    for e in entries {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9))
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(e.mode);
        zip.start_file(e.name.as_str(), options)?;
        zip.write_all(&e.data)?;
    }
    zip.finish()?.flush()?;
    Ok(())
}

/// The keys a signed spec needs (`None` for an unsigned one): the origin's, and one of the site's.
pub fn signing_keys(spec: &Spec, path: Option<&Path>) -> Result<Option<viewer_fn::sign::Keys>> {
    match (spec.signed(), path) {
        (false, None) => Ok(None),
        (false, Some(_)) => bail!("--keys is for a rule spec with `signed = true`"),
        (true, None) => bail!(
            "the rule spec sets `signed = true`: give --keys FILE (scalefront sign --new-keys FILE makes one)"
        ),
        (true, Some(p)) => {
            let src = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let keys = viewer_fn::sign::Keys::from_kvs_json(&src)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            ensure!(
                keys.get('o').is_some() && (keys.get('a').is_some() || keys.get('b').is_some()),
                "{}: needs scalefront-o (the origin's key) and scalefront-a or scalefront-b (the site's)",
                p.display()
            );
            Ok(Some(keys))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["my-photos", "a.b.c", "abc", "photos2026"] {
            assert!(check_bucket(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "My-Photos",
            "-photos",
            "photos-",
            "a..b",
            "photos_1",
            &"a".repeat(64),
        ] {
            assert!(check_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn region_names_are_checked() {
        for ok in ["us-east-1", "eu-central-2", "us-gov-west-1"] {
            assert!(check_region(ok).is_ok(), "{ok}");
        }
        for bad in ["useast1", "us-east", "US-EAST-1", "us-east-x", ""] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }
}
