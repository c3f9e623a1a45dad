//! `scalefront sign`: signed URLs for a spec with `signed = true`, and the keys that sign them.
use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use infra::keys::{write_private, Replace};
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
    /// Rotate a site key (a or b) of a deployed stack: a new secret into its KeyValueStore (live
    /// at once, no deploy), then into --keys. Pages signed with the other slot stay valid.
    #[arg(long, value_name = "SLOT", requires_all = ["stack", "keys"], conflicts_with = "urls")]
    rotate: Option<char>,
    /// The stack whose KeyValueStore --rotate writes
    #[arg(long, value_name = "NAME")]
    stack: Option<String>,
    /// With --rotate: print the steps, call nothing
    #[arg(long)]
    dry_run: bool,
    /// The rule spec [default: ./scalefront.toml if present, else the built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(path) = args.new_keys {
        return new_keys(&path);
    }
    if let Some(slot) = args.rotate {
        let stack = args.stack.expect("clap requires --stack");
        let path = args.keys.expect("clap requires --keys");
        return rotate(
            &infra::aws::Aws::default(),
            slot,
            &stack,
            &path,
            args.dry_run,
        );
    }
    let spec = Spec::load(args.config.as_deref())?;
    if !spec.signed() {
        anyhow::bail!("the rule spec does not set `signed = true`: its URLs need no signature");
    }
    if !matches!(args.slot, 'a' | 'b') {
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

/// Fresh secrets for `slots`, from the OS.
fn random_keys(slots: &[char]) -> anyhow::Result<Keys> {
    let mut urandom = std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?;
    Ok(Keys::random(slots, &mut urandom)?)
}

/// The rotation's steps: one list for --dry-run and for the run.
fn rotate_steps(slot: char, stack: &str, path: &std::path::Path) -> [String; 3] {
    let key = viewer_fn::sign::kvs_key(slot);
    [
        format!("read the KeyValueStore of stack {stack} (output {})", infra::keys::OUTPUT),
        format!("write a new secret as {key} into it, against its current ETag (live within seconds, no deploy)"),
        if slot == 'o' {
            format!("save the new secret as {key} in {}: then deploy --keys puts it into the package", path.display())
        } else {
            format!("save the new secret as {key} in {}: sign new pages with --slot {slot}", path.display())
        },
    ]
}

/// Rotates one site key: the store first (if that fails, the file is unchanged), then the file.
pub fn rotate(
    aws: &infra::aws::Aws,
    slot: char,
    stack: &str,
    path: &std::path::Path,
    dry_run: bool,
) -> anyhow::Result<()> {
    if !SLOTS.contains(&slot) {
        anyhow::bail!("--rotate takes a, b or o");
    }
    let src =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Keys::from_kvs_json(&src).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let steps = rotate_steps(slot, stack, path);
    for (i, s) in steps.iter().enumerate() {
        eprintln!("  {}. {s}", i + 1);
    }
    if dry_run {
        eprintln!("(dry run: nothing was called or changed)");
        return Ok(());
    }
    let store = infra::keys::store_of(aws, stack)?;
    eprintln!("scalefront sign: store {store}");
    let new = random_keys(&[slot])?
        .get(slot)
        .expect("just made")
        .to_string();
    let scratch = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let etag = infra::keys::put(aws, &store, &viewer_fn::sign::kvs_key(slot), &new, scratch)?;
    eprintln!(
        "scalefront sign: wrote {} (store ETag {etag})",
        viewer_fn::sign::kvs_key(slot)
    );
    // The file's other entries (the store may hold the site's other data) stay as they are.
    let mut doc: serde_json::Value = serde_json::from_str(&src)?;
    let data = doc["data"]
        .as_array_mut()
        .context("the keys file has no data list")?;
    let key = viewer_fn::sign::kvs_key(slot);
    match data.iter_mut().find(|e| e["key"] == key.as_str()) {
        Some(e) => e["value"] = new.clone().into(),
        None => data.push(serde_json::json!({"key": key, "value": new})),
    }
    write_private(
        path,
        serde_json::to_string_pretty(&doc)?.as_bytes(),
        Replace::Yes,
    )?;
    if slot == 'o' {
        eprintln!("scalefront sign: saved slot o in {}; now run deploy --keys {} to put it into the package (until then the origin's redirects, only for variants over 1 MB, are refused)", path.display(), path.display());
    } else {
        eprintln!("scalefront sign: saved slot {slot} in {}; pages signed with the other slot stay valid until you rotate it", path.display());
    }
    Ok(())
}

/// Fresh secrets for slots a (the site) and o (the origin).
fn new_keys(path: &std::path::Path) -> anyhow::Result<()> {
    let keys = random_keys(&['a', 'o'])?;
    write_private(path, keys.to_kvs_json().as_bytes(), Replace::No).with_context(|| {
        format!(
            "an existing key file is never overwritten: {}",
            path.display()
        )
    })?;
    eprintln!(
        "scalefront sign: wrote {} (slots a and o); keep it secret, out of the site's files",
        path.display()
    );
    Ok(())
}
