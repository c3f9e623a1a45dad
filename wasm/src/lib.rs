//! The image core: limits → decode → resize → orient → colour → encode, natively and in wasm.
//!
//! ```
//! use image_core::{process, Format, Limits, Transform};
//! # let photo = std::fs::read("tests/fixtures/landscape-1.jpg").unwrap();
//! let t = Transform { width: Some(64), format: Format::Webp, ..Transform::default() };
//! let out = process(&photo, &t, &Limits::default()).unwrap();
//! assert_eq!((out.width, out.format.content_type()), (64, "image/webp"));
//! ```
//!
//! Every step is its own module; [`process`] below is the whole pipeline. Orientation is planned
//! before the resize (the geometry pass works in displayed coordinates) but applied to the pixels
//! after it, on the small image.
#![deny(unsafe_op_in_unsafe_fn)]

mod colour;
pub mod cost;
mod decode;
mod encode;
mod error;
pub mod exif;
pub mod geometry;
#[doc(hidden)]
pub mod jpeg;
mod limits;
mod orient;
mod pixels;
mod probe;
pub mod quality;
mod resize;
mod transform;
mod webp;

#[cfg(target_arch = "wasm32")]
mod cshim;
#[cfg(target_arch = "wasm32")]
mod js;

pub use encode::{avif_quality, avif_speed, AVIF_QUALITY, AVIF_SPEED_6_MAX_PIXELS};
pub use error::{Error, ErrorKind, Result};
pub use geometry::Plan;
pub use limits::Limits;
pub use probe::{Info, SourceFormat};
pub use transform::{Fit, Format, Transform};

/// An encoded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub data: Vec<u8>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// Format, size and orientation from the header alone, with the input limits applied.
pub fn probe(input: &[u8], limits: &Limits) -> Result<Info> {
    limits.check_input(input)?;
    let info = probe::probe(input)?;
    limits.check_header(&info)?;
    Ok(info)
}

/// What the first bytes of a file say about it ([`probe_prefix`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// The header is complete and within the limits.
    Complete(Info),
    /// The prefix ends inside the header (a large ICC or APP segment before a JPEG's frame
    /// header, say): read on.
    NeedMore,
}

/// Checks the limits on the first bytes of a file of `total` bytes, so a host that reads
/// originals in ranges refuses an oversized file, a non-image or a pixel bomb after one small
/// read. Only the size is taken from a prefix: [`process`] probes the whole file again.
pub fn probe_prefix(prefix: &[u8], total: u64, limits: &Limits) -> Result<Header> {
    limits.check_size(total)?;
    match probe::probe(prefix) {
        Ok(info) => {
            limits.check_header(&info)?;
            Ok(Header::Complete(info))
        }
        Err(e) if probe::is_truncated(&e) && (prefix.len() as u64) < total => Ok(Header::NeedMore),
        Err(e) => Err(e),
    }
}

/// What step 1 found: the header, the geometry within the limits, the estimated cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub info: Info,
    pub plan: Plan,
    pub cost: cost::Estimate,
}

/// Step 1 alone: every limit of `t` on this file checked — the request, the file size, the
/// header's dimensions, the body's scans, chunks and frames, the output size for the format,
/// then the estimated memory and work — and nothing decoded.
pub fn check(input: &[u8], t: &Transform, limits: &Limits) -> Result<Checked> {
    t.validate()?;
    limits.check_transform(t)?;
    let info = probe(input, limits)?;
    let source = limits.check_body(input, &info)?;
    let plan = limits.plan(&info, t)?;
    let cost = limits.check_cost(&source, &plan, t)?;
    Ok(Checked { info, plan, cost })
}

/// Runs one transform. Errors carry a kind ([`Error::status`] gives the HTTP status).
pub fn process(input: &[u8], t: &Transform, limits: &Limits) -> Result<Output> {
    // 1. limits, before any pixel buffer exists.
    let Checked { info, plan, .. } = check(input, t, limits)?;

    // 2. decode, shrinking in the JPEG IDCT down to twice the output size at most.
    let decoded = decode::decode(input, &info, plan.min_decode(), limits)?;

    // 3. resize in stored orientation; the crop is scaled to whatever size the decoder produced.
    let (sw, sh) = plan.stored;
    let (kx, ky) = (
        f64::from(decoded.pixels.width) / f64::from(sw),
        f64::from(decoded.pixels.height) / f64::from(sh),
    );
    let c = plan.stored_crop();
    let crop = geometry::Rect {
        left: c.left * kx,
        top: c.top * ky,
        width: c.width * kx,
        height: c.height * ky,
    };
    let pixels = resize::resize(decoded.pixels, crop, plan.stored_resized())?;

    // 4. orient the small image.
    let pixels = orient::orient(pixels, plan.orientation);

    // 5. colour: ICC → sRGB, flatten alpha if the format has none, pad for `contain`.
    let finish = colour::Finish {
        keep_alpha: t.format != Format::Jpeg,
        background: t.background,
        canvas: plan.output,
        offset: plan.offset,
    };
    let pixels = colour::colour(pixels, decoded.icc.as_deref(), &finish)?;

    // 6. encode, without metadata.
    let data = encode::encode(&pixels, t.format, t.quality)?;
    Ok(Output {
        data,
        format: t.format,
        width: pixels.width,
        height: pixels.height,
    })
}
