//! `scalefront teardown --stack NAME`: removes what deploy made, as one list of named steps
//! (`infra::teardown`); `--dry-run` reads the stack and prints the same list, changing nothing.
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use infra::aws::Aws;
use infra::teardown::{self, Ctx, Options};
use viewer_fn::Spec;

const ABOUT: &str = "Remove a deployment: the bucket-policy statement, the stack, optionally the variants and the packages";
const LONG_ABOUT: &str = "Remove what `scalefront deploy` made: the statement deploy merged into the bucket's policy \
(and into an SSE-KMS key's policy), its lifecycle rule for the variants, the stack in us-east-1 (distribution, \
functions, role) and the stack next to the bucket (<stack>-region: the purge, in regional mode the resize function); \
with --variants the stored variants, with --packages the uploaded packages no other stack uses. Ends with what it \
removed and what it left, and why.\n\n\
The photo bucket and your originals are never deleted. A Lambda@Edge function cannot be deleted until CloudFront has \
removed its replicas, hours after the distribution is gone: teardown retries for --wait-replicas minutes, then deletes \
the rest of the stack and prints the command that deletes the function later. Log groups are left in place (listed, \
with their retention).\n\n\
Examples:\n  scalefront teardown --stack scalefront-my-photos --dry-run   # print the plan; change nothing\n  \
scalefront teardown --stack scalefront-my-photos\n  \
scalefront teardown --stack scalefront-my-photos --variants --packages --wait-replicas 180";

#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT)]
pub struct Args {
    /// The stack `scalefront deploy` made (in us-east-1), as it printed it.
    #[arg(long)]
    pub stack: String,
    /// Also delete every stored variant (everything under the spec's variant prefix, `_sf/`).
    #[arg(long)]
    pub variants: bool,
    /// Also delete the uploaded packages this stack's templates name (unless another stack's
    /// template names them too).
    #[arg(long)]
    pub packages: bool,
    /// Minutes to keep trying while CloudFront removes the Lambda@Edge function's replicas
    /// (typically a few hours); then the function is retained and the command to delete it
    /// later printed. 0: retain it at once.
    #[arg(long, value_name = "MINUTES", default_value_t = 0)]
    pub wait_replicas: u64,
    /// The rule spec the stack was deployed with (its variant prefix) [default: ./scalefront.toml
    /// if present, else the built-in defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read the stack and print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: Args) -> Result<()> {
    infra::template::check_stack_name(&args.stack)?;
    let spec = Spec::load(args.config.as_deref())?;
    let mut ctx = Ctx::new(Options {
        stack: args.stack.clone(),
        variant_prefix: spec.prefix().to_owned(),
        variants: args.variants,
        packages: args.packages,
        wait_replicas: Duration::from_secs(args.wait_replicas.saturating_mul(60)),
        retry_every: teardown::RETRY_EVERY,
    });
    let aws = Aws::default();
    if args.dry_run {
        teardown::run(&aws, &mut ctx, true, &mut |l| eprintln!("{l}"))?;
        print!("{}", teardown::describe(&ctx));
        println!("(dry run: the stack was read, nothing was changed)");
        return Ok(());
    }
    eprint!("{}", teardown::describe(&ctx));
    let result = teardown::run(&aws, &mut ctx, false, &mut |l| eprintln!("{l}"));
    // What was done and what is left, whether or not every step ran.
    print!("{}", teardown::summary(&ctx));
    result
}
