//! `scalefront viewer-fn`: write the generated CloudFront Function for the rule spec.
use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args)]
#[command(
    about = "Write the CloudFront Function (viewer-request, cloudfront-js-2.0) generated from the rule spec",
    after_help = "Examples:\n  scalefront viewer-fn                       # ./scalefront.toml (or the defaults) to stdout\n  scalefront viewer-fn --config site.toml -o dist/viewer-request.js"
)]
pub struct Args {
    /// The rule spec [default: ./scalefront.toml if present, else the built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Write here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let spec = viewer_fn::Spec::load(args.config.as_deref())?;
    let js = viewer_fn::generate(&spec);
    if js.len() > viewer_fn::MAX_FUNCTION_BYTES {
        anyhow::bail!(
            "the generated function is {} bytes; CloudFront allows {} (fewer widths, heights or aliases)",
            js.len(),
            viewer_fn::MAX_FUNCTION_BYTES
        );
    }
    match args.output {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&path, &js).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} ({} bytes of {} allowed)",
                path.display(),
                js.len(),
                viewer_fn::MAX_FUNCTION_BYTES
            );
        }
        None => print!("{js}"),
    }
    Ok(())
}
