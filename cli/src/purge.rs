//! `scalefront purge`: delete stored variants and make the CDN forget them — against a deployed
//! stack (aws CLI) or a running `scalefront serve` (folder or --s3). Both run the same steps
//! (`viewer_fn::purge`); `--dry-run` prints what they would delete and invalidate.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use viewer_fn::purge::{Report, Target};
use viewer_fn::Spec;

const AFTER_HELP: &str = "Examples:\n  \
scalefront purge photos/Further.jpg --stack scalefront-my-photos     # one photo, everywhere\n  \
scalefront purge --prefix holidays/2024/ --stack scalefront-my-photos --dry-run\n  \
scalefront purge --all-generations-but-current --stack scalefront-my-photos   # after a rule change\n  \
scalefront purge photos/Further.jpg --serve http://127.0.0.1:8080   # a running `scalefront serve`\n\n\
One original: its variants of every generation are deleted, and CloudFront invalidates its cache tag \
(every variant) and its own URI. A prefix: every original below it, with two wildcard paths. Old \
generations: deleted only (no page URL leads to them any more).";

#[derive(clap::Args, Debug)]
#[command(
    about = "Delete stored variants of originals (or of old generations) and invalidate them in the CDN",
    after_help = AFTER_HELP
)]
pub struct Args {
    /// Originals' keys (their paths on the site), e.g. photos/Further.jpg
    #[arg(conflicts_with_all = ["prefix", "all_generations_but_current"])]
    keys: Vec<String>,
    /// Every original whose key starts with P ("" for all)
    #[arg(long, value_name = "P", conflicts_with = "all_generations_but_current")]
    prefix: Option<String>,
    /// The variants of every generation but the current one (what a change of rules left)
    #[arg(long)]
    all_generations_but_current: bool,
    /// Print what would be deleted and invalidated; change nothing
    #[arg(long)]
    dry_run: bool,
    /// A deployed scalefront stack (in us-east-1), as `scalefront deploy` printed it
    #[arg(long, conflicts_with = "serve")]
    stack: Option<String>,
    /// A running `scalefront serve`, e.g. http://127.0.0.1:8080
    #[arg(long, value_name = "URL")]
    serve: Option<String>,
    /// The rule spec [default: ./scalefront.toml if present, else the built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let target = match (&args.prefix, args.all_generations_but_current) {
        (Some(p), _) => Target::Prefix(p.trim_start_matches('/').to_string()),
        (None, true) => Target::OldGenerations,
        (None, false) if !args.keys.is_empty() => Target::Originals(
            args.keys
                .iter()
                .map(|k| k.trim_start_matches('/').to_string())
                .collect(),
        ),
        _ => bail!("say what to purge: KEY…, --prefix P or --all-generations-but-current"),
    };
    let report = match (&args.stack, &args.serve) {
        (Some(stack), _) => {
            let spec = Spec::load(args.config.as_deref())?;
            let aws = infra::aws::Aws::default();
            let at = infra::purge::deployed(&aws, stack)?;
            eprintln!(
                "purge: bucket {} ({}), distribution {} (invalidating by {:?})",
                at.bucket, at.bucket_region, at.distribution_id, at.invalidation
            );
            infra::purge::run(&aws, &at, &spec, target, args.dry_run, &mut |l| {
                eprintln!("purge: {l}")
            })?
        }
        (None, Some(url)) => post(url, &target, args.dry_run)?,
        (None, None) => bail!("say where: --stack NAME (a deployed stack) or --serve URL (a running scalefront serve)"),
    };
    let (verb, inv) = if report.dry_run {
        ("would delete", "would invalidate")
    } else {
        ("deleted", "invalidated")
    };
    for k in &report.deleted {
        println!("{verb} {k}");
    }
    for i in &report.invalidated {
        println!("{inv} {i}");
    }
    for e in &report.errors {
        eprintln!("purge: error: {e}");
    }
    eprintln!("purge: {}", report.summary());
    if !report.errors.is_empty() {
        bail!("{} step(s) failed", report.errors.len());
    }
    Ok(())
}

/// POSTs the purge to a running `scalefront serve` (plain HTTP on loopback).
fn post(url: &str, target: &Target, dry_run: bool) -> Result<Report> {
    let addr = url
        .strip_prefix("http://")
        .context("--serve takes http://HOST:PORT, as `scalefront serve` prints it")?
        .trim_end_matches('/');
    let mut body = match target {
        Target::Originals(keys) => serde_json::json!({ "originals": keys }),
        Target::Prefix(p) => serde_json::json!({ "prefix": p }),
        Target::OldGenerations => serde_json::json!({ "old_generations": true }),
    };
    body["dry_run"] = dry_run.into();
    let body = body.to_string();
    let mut s = TcpStream::connect(addr).with_context(|| format!("connecting to {url}"))?;
    s.set_read_timeout(Some(Duration::from_secs(600)))?;
    write!(
        s,
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        local_edge::preview::PURGE_PATH,
        body.len()
    )?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    let (head, text) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    let status = head.split(' ').nth(1).unwrap_or("");
    if status != "200" {
        bail!("{url} answered {status}: {}", text.trim());
    }
    serde_json::from_str(text).with_context(|| format!("{url} answered no purge report"))
}
