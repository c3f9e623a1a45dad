//! `scalefront spec`: what the rule spec lets anyone make of one original — how many variant keys
//! the origin accepts, and the worst case in output pixels, compute and storage.
use std::path::PathBuf;

use viewer_fn::budget::{group, Budget, WORST_SOURCE_SIDE};
use viewer_fn::{Format, Spec};

#[derive(clap::Args)]
#[command(
    about = "Print what the rule spec lets anyone make of one original: variants, worst-case pixels, compute and storage",
    after_help = "Examples:\n  scalefront spec\n  scalefront spec --config scalefront.toml"
)]
pub struct Args {
    /// The rule spec [default: ./scalefront.toml if present, else the built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Encoding cost of one output pixel, natively on one core, and the bytes it takes at quality
/// 75: measured with `scalefront resize` (release build) re-encoding a detailed 1600×1000 photo
/// (edge/sample/photos/by-the-water.jpg) on this project's build machine. An estimate: AVIF and
/// WebP depend on content, wasm (Lambda@Edge) is 2–3× slower.
fn cost(f: Format) -> (f64, f64) {
    // (megapixels a second, bytes a pixel)
    match f {
        Format::Jpeg => (17.0, 0.16),
        Format::Webp => (7.0, 0.08),
        Format::Png => (26.0, 1.5),
        Format::Avif => (0.3, 0.06),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let spec = Spec::load(args.config.as_deref())?;
    let b = Budget::of(&spec);
    let source = match &args.config {
        Some(p) => p.display().to_string(),
        None if std::path::Path::new("scalefront.toml").exists() => "./scalefront.toml".into(),
        None => "the built-in defaults".into(),
    };
    println!("rule spec: {source}");
    let pairs = b.variants / b.geometries.max(1);
    let shape = if pairs * b.geometries == b.variants {
        format!(
            "{} sizes and fits × {pairs} format/quality pairs",
            group(b.geometries)
        )
    } else {
        // Presets fix their own quality or format: no one product.
        format!("{} sizes and fits, presets included", group(b.geometries))
    };
    println!(
        "variants per original: {} ({shape}) — every one a key the origin accepts",
        group(b.variants)
    );
    println!(
        "worst case for one original ({WORST_SOURCE_SIDE}×{WORST_SOURCE_SIDE}, 50 MP, every variant asked for once):"
    );
    let (mut secs, mut bytes) = (0.0, 0.0);
    for &(f, px) in &b.pixels_by_format {
        let (mps, bpp) = cost(f);
        let (s, by) = (px as f64 / 1e6 / mps, px as f64 * bpp);
        secs += s;
        bytes += by;
        println!(
            "  {:<5} {:>8.1} gigapixels  ~{:>8.1} core-hours  ~{:>7.1} GB",
            f.as_str(),
            px as f64 / 1e9,
            s / 3600.0,
            by / 1e9
        );
    }
    println!(
        "  total {:>8.1} gigapixels  ~{:>8.1} core-hours  ~{:>7.1} GB stored",
        b.pixels() as f64 / 1e9,
        secs / 3600.0,
        bytes / 1e9
    );
    println!(
        "(encoding estimates: native, one core, quality 75; wasm on Lambda@Edge is slower. Fewer widths, heights, fits, qualities or formats lower every figure.)"
    );
    Ok(())
}
