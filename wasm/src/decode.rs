//! Step 2, **decode**: bytes → 8-bit pixels in stored orientation, plus the ICC profile.
//! JPEGs decode with our own decoder (`src/jpeg/`), which scales by any M/8 in the IDCT:
//! shrink-on-load picks the smallest M/8 that still leaves at least two decoded pixels per output
//! pixel (geometry's `min_decode` and `jpeg_scale`). JPEG's YCbCr is handed on as is: the resize
//! converts it to RGB while reading rows.
use crate::error::{Error, Result};
use crate::geometry;
use crate::jpeg;
use crate::limits::Limits;
use crate::pixels::{Layout, Pixels};
use crate::probe::{Info, SourceFormat};
use std::io::Cursor;

pub struct Decoded {
    pub pixels: Pixels,
    pub icc: Option<Vec<u8>>,
}

pub fn decode(input: &[u8], info: &Info, min_size: (u32, u32), limits: &Limits) -> Result<Decoded> {
    match info.format {
        SourceFormat::Jpeg => jpeg(input, min_size, limits, info),
        SourceFormat::Png => with_image(input, image::ImageFormat::Png, limits),
        SourceFormat::Gif => with_image(input, image::ImageFormat::Gif, limits),
        SourceFormat::Webp => match crate::webp::decode(input, info)? {
            Some(decoded) => Ok(decoded),
            // An animation: its first frame, through image's decoder.
            None => with_image(input, image::ImageFormat::WebP, limits),
        },
    }
}

fn jpeg(input: &[u8], min_size: (u32, u32), limits: &Limits, info: &Info) -> Result<Decoded> {
    // A JPEG whose entropy-coded data stops early still "decodes" (as grey) in lenient decoders;
    // an upload cut short must be refused, not served half grey. Trailing bytes after EOI are fine.
    if !has_eoi(input) {
        return Err(Error::corrupt(
            "the JPEG is truncated (no end-of-image marker)",
        ));
    }
    let m = geometry::jpeg_scale((info.stored_width, info.stored_height), min_size);
    let image = jpeg::decode(input, m, limits)?;
    Ok(Decoded {
        pixels: image.pixels,
        icc: image.icc,
    })
}

/// EOI (FF D9) within the last few bytes; some encoders pad after it.
fn has_eoi(b: &[u8]) -> bool {
    let tail = &b[b.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

fn from_16(data: &[u8], read: fn([u8; 2]) -> u16) -> Vec<u8> {
    data.chunks_exact(2)
        .map(|c| ((u32::from(read([c[0], c[1]])) * 255 + 32767) / 65535) as u8)
        .collect()
}

fn image_error(e: image::ImageError) -> Error {
    use image::ImageError as E;
    match e {
        E::Limits(l) => Error::too_large(format!("the image is over a decoding limit: {l}")),
        E::Unsupported(u) => Error::unsupported(u.to_string()),
        E::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::corrupt("the image is truncated")
        }
        E::Decoding(d) => Error::corrupt(format!("the image cannot be decoded: {d}")),
        e => Error::corrupt(format!("the image cannot be decoded: {e}")),
    }
}

/// PNG, GIF (first frame) and animated WebP (first frame) through the `image` crate's decoders,
/// bounded by our limits. Still WebPs go through libwebp (webp.rs).
fn with_image(input: &[u8], format: image::ImageFormat, limits: &Limits) -> Result<Decoded> {
    use image::{ColorType as C, ImageDecoder};
    let mut reader = image::ImageReader::with_format(Cursor::new(input), format);
    let mut l = image::Limits::default();
    // 16-bit RGBA is 8 bytes a pixel; the decoders' own buffers come on top.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(l);
    let mut dec = reader.into_decoder().map_err(image_error)?;
    let icc = dec.icc_profile().map_err(image_error)?;
    let (w, h) = dec.dimensions();
    let color = dec.color_type();
    let mut buf = vec![
        0u8;
        usize::try_from(dec.total_bytes())
            .map_err(|_| Error::too_large("image too large"))?
    ];
    dec.read_image(&mut buf).map_err(image_error)?;
    let ne = u16::from_ne_bytes;
    let pixels = match color {
        C::L8 => Pixels::new(w, h, Layout::Gray, buf),
        C::Rgb8 => Pixels::new(w, h, Layout::Rgb, buf),
        C::Rgba8 => Pixels::new(w, h, Layout::Rgba, buf),
        C::L16 => Pixels::new(w, h, Layout::Gray, from_16(&buf, ne)),
        C::Rgb16 => Pixels::new(w, h, Layout::Rgb, from_16(&buf, ne)),
        C::Rgba16 => Pixels::new(w, h, Layout::Rgba, from_16(&buf, ne)),
        C::La8 => Pixels::new(w, h, Layout::Rgba, gray_alpha_to_rgba(&buf)),
        C::La16 => Pixels::new(w, h, Layout::Rgba, gray_alpha_to_rgba(&from_16(&buf, ne))),
        other => return Err(Error::unsupported(format!("pixel format {other:?}"))),
    };
    Ok(Decoded { pixels, icc })
}

fn gray_alpha_to_rgba(la: &[u8]) -> Vec<u8> {
    la.chunks_exact(2)
        .flat_map(|p| [p[0], p[0], p[0], p[1]])
        .collect()
}
