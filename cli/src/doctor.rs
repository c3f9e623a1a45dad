//! `scalefront doctor`: collect facts about a live setup, run the checks, print one line per check.
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use infra::aws::Aws;
use infra::doctor::{self, Facts, Target};

const ABOUT: &str =
    "Diagnose a deployed setup: one line per check, ok, WARN or FAIL, the last two with the fix";
const LONG_ABOUT: &str = "Diagnose a deployed setup (scalefront's or a hand-made one): reads the distribution, its \
functions, role, cache policy, bucket policy, invocation metrics and log groups, and the automatic purge next to the \
bucket (the stack <stack>-region: its function, role and EventBridge rule, and the bucket's notifications) (read-only \
calls), then prints one line per check: `ok`, `WARN` (works now, but not for long, not under load or not fully, or with \
more power than it needs: a runtime Lambda deprecates within 180 days, log groups that never expire, a concurrency quota \
below what a page of new photos needs, no automatic purge, a purge that may invalidate every distribution) or `FAIL`, \
the last two with the fix. It looks for Lambda@Edge logs and invocations in every region with edge caches, because that is where they are \
(/aws/lambda/us-east-1.<name> in the region that ran it).\n\n\
Exit status 1 when a check fails; warnings alone leave it 0.\n\n\
Examples:\n  scalefront doctor --stack scalefront-my-photos\n  scalefront doctor --distribution E2ABCDEF123456\n  \
scalefront doctor --stack scalefront-my-photos --save-facts facts.json   # keep what was read\n  \
scalefront doctor --facts facts.json                                     # check it again offline\n  \
scalefront doctor --stack scalefront-my-photos --set-log-retention 30    # and let every log group found expire";

#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT)]
pub struct Args {
    /// The CloudFront distribution id.
    #[arg(long, conflicts_with_all = ["stack", "facts"])]
    pub distribution: Option<String>,
    /// A scalefront stack (in us-east-1), as `scalefront deploy` printed it.
    #[arg(long, conflicts_with = "facts")]
    pub stack: Option<String>,
    /// Regions to look for Lambda@Edge invocations and logs in [default: the edge-cache regions].
    #[arg(long, value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Write the collected facts (the API responses read) to FILE.
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,
    /// Check facts saved earlier instead of calling AWS.
    #[arg(long, value_name = "FILE")]
    pub facts: Option<PathBuf>,
    /// Put a retention of DAYS on every log group found (Lambda@Edge's in each region it ran in,
    /// and the function's own), printing each change; CloudWatch takes 1, 3, 5, 7, 14, 30, 60,
    /// 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653.
    #[arg(long, value_name = "DAYS", conflicts_with = "facts", value_parser = log_days)]
    pub set_log_retention: Option<u32>,
}

fn log_days(s: &str) -> Result<u32, String> {
    let days: u32 = s
        .parse()
        .map_err(|_| format!("{s} is not a number of days"))?;
    infra::logs::check_days(days).map_err(|e| e.to_string())
}

pub fn run(args: Args) -> Result<()> {
    let facts: Facts = if let Some(path) = &args.facts {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not saved doctor facts", path.display()))?
    } else {
        let target = match (&args.distribution, &args.stack) {
            (Some(d), _) => Target::Distribution(d.clone()),
            (None, Some(s)) => Target::Stack(s.clone()),
            (None, None) => bail!("say what to check: --stack NAME (as `scalefront deploy` printed it, e.g. scalefront-<bucket>) or --distribution ID"),
        };
        let regions: Vec<String> = if args.regions.is_empty() {
            doctor::EDGE_REGIONS.iter().map(|r| r.to_string()).collect()
        } else {
            args.regions.clone()
        };
        for r in &regions {
            infra::template::check_region(r)?;
        }
        let aws = Aws::default();
        let mut facts = doctor::collect(&aws, &target, &regions, &mut |line| {
            eprintln!("doctor: {line}")
        })?;
        if let Some(days) = args.set_log_retention {
            doctor::set_log_retention(&aws, &mut facts, days, &mut |line| {
                eprintln!("doctor: {line}")
            })?;
        }
        facts
    };
    if let Some(path) = &args.save_facts {
        std::fs::write(path, serde_json::to_string_pretty(&facts)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let lines = doctor::checks::run(&facts);
    print!("{}", doctor::report(&facts, &lines));
    let bad = lines.iter().filter(|l| !l.ok).count();
    if bad > 0 {
        bail!("{bad} check(s) failed; each FAIL line says how to fix it");
    }
    Ok(())
}
