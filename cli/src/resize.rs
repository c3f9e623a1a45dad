//! `scalefront resize`: one image through the image core, exactly as the edge would make it.
use anyhow::{bail, Context};
use image_core::{Fit, Format, Limits, Transform};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(
    about = "Resize one image as the edge would (decode → orient → resize → sRGB → encode)",
    long_about = "Resize one image as the edge would: EXIF orientation applied, metadata stripped, \
colours converted to sRGB, never enlarged. Options mean what the URL API's do.\n\n\
On a bad input it exits non-zero with the error kind (unsupported, corrupt, too-large) and writes no file.\n\n\
Example:\n  scalefront resize photo.jpg -o photo-600.webp --w 600\n  scalefront resize photo.jpg -o thumb.jpg --w 200 --h 200 --fit cover --q 70"
)]
pub struct Args {
    /// Input image (JPEG, PNG, WebP or GIF; the format is read from the bytes, not the name).
    pub input: PathBuf,
    /// Output file; never the input.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Width in pixels.
    #[arg(long = "w", visible_alias = "width")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[arg(long = "h", visible_alias = "height")]
    pub height: Option<u32>,
    /// cover, contain, fill, inside or outside (as sharp).
    #[arg(long, default_value = "inside")]
    pub fit: Fit,
    /// Quality 1-100 (JPEG, WebP, AVIF).
    #[arg(long = "q", visible_alias = "quality", default_value_t = 80)]
    pub quality: u8,
    /// jpeg, png, webp or avif; default: from the output's extension, else jpeg.
    #[arg(long = "f", visible_alias = "format")]
    pub format: Option<Format>,
}

fn format_from_extension(path: &Path) -> Option<Format> {
    path.extension()?
        .to_str()?
        .to_ascii_lowercase()
        .parse()
        .ok()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let input =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    if args.output.exists() && same_file(&args.input, &args.output) {
        bail!(
            "the output {} is the input: refusing to overwrite an original",
            args.output.display()
        );
    }
    let format = args
        .format
        .or_else(|| format_from_extension(&args.output))
        .unwrap_or(Format::Jpeg);
    let t = Transform {
        width: args.width,
        height: args.height,
        fit: args.fit,
        quality: args.quality,
        format,
        ..Transform::default()
    };
    let out = image_core::process(&input, &t, &Limits::default())
        .map_err(|e| anyhow::anyhow!("{}: {e} (HTTP {})", args.input.display(), e.status()))?;
    // Write beside the target and rename, so a failure never leaves a partial file.
    let tmp = args
        .output
        .with_extension(format!("{}.partial", format.extension()));
    std::fs::write(&tmp, &out.data).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "{}: {}×{} {}, {} bytes",
        args.output.display(),
        out.width,
        out.height,
        format,
        out.data.len()
    );
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
