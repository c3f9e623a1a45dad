//! `scalefront srcset`: the `<img srcset sizes>` snippet for one photo, from the spec's widths.
use std::path::PathBuf;

use viewer_fn::Spec;

#[derive(clap::Args)]
#[command(
    about = "Print an <img srcset sizes> tag for a photo: one candidate URL per width the rule spec allows",
    after_help = "Examples:\n  scalefront srcset photos/Further.jpg\n  scalefront srcset photos/Further.jpg --sizes '(max-width: 800px) 100vw, 800px' --alt 'The further shore'"
)]
pub struct Args {
    /// The original's key (its path on the site), e.g. photos/Further.jpg
    key: String,
    /// The <img sizes> attribute: how wide the image is laid out
    #[arg(long, default_value = local_edge::srcset::DEFAULT_SIZES)]
    sizes: String,
    /// The <img alt> text
    #[arg(long, default_value = "")]
    alt: String,
    /// The rule spec [default: ./scalefront.toml if present, else the built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Signing keys (KeyValueStore import format) for a spec with `signed = true`: every URL is
    /// signed with slot a
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let spec = Spec::load(args.config.as_deref())?;
    let key = args.key.trim_start_matches('/');
    if key.is_empty() {
        anyhow::bail!("give the photo's key, e.g. photos/Further.jpg");
    }
    if spec.source_format(key).is_none() {
        anyhow::bail!(
            "{key:?} does not end in an image extension the spec knows ({})",
            spec.extensions()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let keys = match &args.keys {
        Some(p) => Some(
            viewer_fn::sign::Keys::from_kvs_json(&std::fs::read_to_string(p)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
        ),
        None if spec.signed() => anyhow::bail!(
            "the rule spec sets `signed = true`: give --keys FILE (scalefront sign --new-keys FILE makes one)"
        ),
        None => None,
    };
    println!(
        "{}",
        local_edge::srcset::snippet(&spec, keys.as_ref(), key, Some(&args.sizes), &args.alt)
    );
    Ok(())
}
