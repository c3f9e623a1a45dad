//! `scalefront sign`: signed URLs for a spec with `signed = true`, and the keys that sign them.
use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use viewer_fn::sign::{sign_url, Keys, SLOTS};
use viewer_fn::Spec;

#[derive(clap::Args)]
#[command(
    about = "Sign URLs for a spec with signed = true (or make a new key file)",
    after_help = "The keys file is in CloudFront's KeyValueStore import format ({\"data\":[{\"key\":\"scalefront-a\",\"value\":\"…\"}]}): \
the viewer function reads the same keys from the store. Slots a and b are the site's (rotate one while the other still signs \
cached pages), o is the origin's (it signs the redirects the origin answers).\n\n\
Examples:\n  scalefront sign --new-keys scalefront-keys.json\n  scalefront sign --keys scalefront-keys.json '/photos/Further.jpg?w=640' '/photos/Further.jpg?p=thumb'"
)]
pub struct Args {
    /// URLs to sign (path and query, or full URLs); `-` reads one per line from stdin
    urls: Vec<String>,
    /// The keys file (KeyValueStore import format)
    #[arg(long, value_name = "FILE", required_unless_present = "new_keys")]
    keys: Option<PathBuf>,
    /// The slot whose key signs: a or b
    #[arg(long, default_value = "a")]
    slot: char,
    /// Write a new keys file with fresh random secrets for slots a and o (refuses to overwrite)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["keys", "urls"])]
    new_keys: Option<PathBuf>,
    /// The rule spec [default: ./scalefront.toml if present, else the built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(path) = args.new_keys {
        return new_keys(&path);
    }
    let spec = Spec::load(args.config.as_deref())?;
    if !spec.signed() {
        anyhow::bail!("the rule spec does not set `signed = true`: its URLs need no signature");
    }
    if !SLOTS.contains(&args.slot) {
        anyhow::bail!("--slot must be a or b (o is the origin's)");
    }
    let path = args.keys.expect("clap requires --keys");
    let src =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let keys = Keys::from_kvs_json(&src).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut urls = args.urls;
    if urls == ["-"] {
        let mut all = String::new();
        std::io::stdin().read_to_string(&mut all)?;
        urls = all
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
    }
    if urls.is_empty() {
        anyhow::bail!("give URLs to sign, e.g. scalefront sign --keys FILE '/photos/a.jpg?w=640'");
    }
    let mut failed = 0;
    for url in &urls {
        match sign_url(&spec, &keys, args.slot, url) {
            Ok(signed) => println!("{signed}"),
            Err(e) => {
                eprintln!("scalefront sign: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} URLs not signed", urls.len());
    }
    Ok(())
}

/// 32 random bytes per slot (from the OS), as 64 hex digits.
fn new_keys(path: &std::path::Path) -> anyhow::Result<()> {
    let mut keys = Keys::new();
    let mut urandom = std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?;
    for slot in ['a', 'o'] {
        let mut b = [0u8; 32];
        urandom.read_exact(&mut b)?;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        keys.set(slot, &hex).map_err(anyhow::Error::msg)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| {
            format!(
                "creating {} (an existing key file is never overwritten)",
                path.display()
            )
        })?;
    std::io::Write::write_all(&mut f, keys.to_kvs_json().as_bytes())?;
    eprintln!(
        "scalefront sign: wrote {} (slots a and o); keep it secret, out of the site's files",
        path.display()
    );
    Ok(())
}
