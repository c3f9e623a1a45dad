//! Step 6, **encode**: pixels → bytes. No metadata is written (no EXIF, no GPS, no profile: the
//! pixels are already sRGB), so nothing from the original leaks.
use crate::error::{Error, Result};
use crate::pixels::{Layout, Pixels};
use crate::transform::Format;

pub fn encode(p: &Pixels, format: Format, quality: u8) -> Result<Vec<u8>> {
    match format {
        Format::Jpeg => jpeg(p, quality),
        Format::Png => png(p),
        Format::Webp => webp(p, quality),
        Format::Avif => avif(p, quality),
    }
}

/// Baseline JPEG, 4:2:0 with box-averaged chroma and optimised Huffman tables (libjpeg-turbo's
/// `-optimize`, sharp's default), same quantisation scaling as libjpeg.
fn jpeg(p: &Pixels, quality: u8) -> Result<Vec<u8>> {
    use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};
    let color = match p.layout {
        Layout::Gray => ColorType::Luma,
        Layout::Rgb => ColorType::Rgb,
        Layout::Rgba | Layout::Cmyk | Layout::YCbCr => {
            return Err(Error::internal(format!("JPEG encoder got {:?}", p.layout)))
        }
    };
    let (w, h) = (u16::try_from(p.width), u16::try_from(p.height));
    let (Ok(w), Ok(h)) = (w, h) else {
        return Err(Error::too_large("JPEG is limited to 65535 px a side"));
    };
    let mut out = Vec::with_capacity(p.data.len() / 8);
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_optimized_huffman_tables(true);
    enc.set_sampling_factor(SamplingFactor::R_4_2_0);
    enc.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    enc.encode(&p.data, w, h, color)
        .map_err(|e| Error::internal(format!("JPEG encoder: {e}")))?;
    Ok(out)
}

fn png(p: &Pixels) -> Result<Vec<u8>> {
    let color = match p.layout {
        Layout::Gray => png::ColorType::Grayscale,
        Layout::Rgb => png::ColorType::Rgb,
        Layout::Rgba => png::ColorType::Rgba,
        Layout::Cmyk | Layout::YCbCr => {
            return Err(Error::internal(format!("PNG encoder got {:?}", p.layout)))
        }
    };
    let mut out = Vec::with_capacity(p.data.len() / 2);
    let err = |e: png::EncodingError| Error::internal(format!("PNG encoder: {e}"));
    let mut enc = png::Encoder::new(&mut out, p.width, p.height);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    // fdeflate with per-row adaptive filters: on the 800 px benchmark photo 3 ms and 369 KB, where
    // zlib-level deflate took 96 ms for 353 KB (and sharp's level 6 without filters gives 564 KB).
    enc.set_compression(png::Compression::Fast);
    enc.set_filter(png::Filter::Adaptive);
    let mut w = enc.write_header().map_err(err)?;
    w.write_image_data(&p.data).map_err(err)?;
    w.finish().map_err(err)?;
    Ok(out)
}

fn rgb_or_rgba(p: &Pixels) -> std::borrow::Cow<'_, Pixels> {
    match p.layout {
        Layout::Gray => std::borrow::Cow::Owned(Pixels::new(
            p.width,
            p.height,
            Layout::Rgb,
            p.data.iter().flat_map(|&v| [v, v, v]).collect(),
        )),
        _ => std::borrow::Cow::Borrowed(p),
    }
}

/// Lossy WebP through libwebp (C, BSD): method 4 as cwebp and sharp default to.
fn webp(p: &Pixels, quality: u8) -> Result<Vec<u8>> {
    use libwebp_sys as s;
    let p = rgb_or_rgba(p);
    let stride = p.width as i32 * p.layout.channels() as i32;
    crate::webp::use_simd();
    // SAFETY: the picture and writer live on this stack frame; libwebp only reads `p.data`
    // (bounded by width × height × channels, which Pixels guarantees) and frees what it allocates.
    unsafe {
        let mut cfg = s::WebPConfig::new().map_err(|_| Error::internal("WebPConfig init"))?;
        cfg.quality = f32::from(quality);
        cfg.method = 4;
        let mut pic = s::WebPPicture::new().map_err(|_| Error::internal("WebPPicture init"))?;
        pic.width = p.width as i32;
        pic.height = p.height as i32;
        let imported = match p.layout {
            Layout::Rgba => s::WebPPictureImportRGBA(&mut pic, p.data.as_ptr(), stride),
            _ => s::WebPPictureImportRGB(&mut pic, p.data.as_ptr(), stride),
        };
        if imported == 0 {
            s::WebPPictureFree(&mut pic);
            return Err(Error::internal("WebP import failed (out of memory)"));
        }
        let mut wr: s::WebPMemoryWriter = core::mem::zeroed();
        s::WebPMemoryWriterInit(&mut wr);
        pic.writer = Some(s::WebPMemoryWrite);
        pic.custom_ptr = &mut wr as *mut _ as *mut core::ffi::c_void;
        let ok = s::WebPEncode(&cfg, &mut pic);
        let code = pic.error_code;
        s::WebPPictureFree(&mut pic);
        let out = if ok != 0 {
            Ok(core::slice::from_raw_parts(wr.mem, wr.size).to_vec())
        } else {
            Err(Error::internal(format!("WebP encoder: {code:?}")))
        };
        s::WebPMemoryWriterClear(&mut wr);
        out
    }
}

/// sharp's (libheif → aom) AVIF quality scale → ravif's: at each of these qualities sharp's AVIF
/// and ours give the same DSSIM (median over 6 photos × 320, 640 and 1200 px wide, 10-bit,
/// speeds 6 and 10; `node tests/bench/avif-calibrate.mjs`, table in wasm/README.md), q50 and q60
/// then moved by the check on ten photos (four not tuned on): ours was 11 % finer at q50, 7 %
/// coarser at q60, ~2.3 % of DSSIM per step of rav1e's quantizer. Between two points, linear.
pub const AVIF_QUALITY: [(u8, f64); 8] = [
    (1, 1.0),
    (40, 62.0),
    (50, 74.5),
    (60, 83.5),
    (75, 87.5),
    (80, 89.0),
    (90, 92.6),
    (100, 100.0),
];

/// The ravif quality that gives sharp's DSSIM at `quality` (1-100).
pub fn avif_quality(quality: u8) -> f32 {
    piecewise_linear(&AVIF_QUALITY, quality) as f32
}

/// The value at `q` (clamped to 1-100) of a table of measured points sorted by quality, linear
/// between two points; the AVIF calibration and the cost model's quality curve read theirs so.
pub(crate) fn piecewise_linear(points: &[(u8, f64)], q: u8) -> f64 {
    let q = q.clamp(1, 100);
    points
        .windows(2)
        .find(|w| q <= w[1].0)
        .map_or(points[points.len() - 1].1, |w| {
            let ((q0, r0), (q1, r1)) = ((f64::from(w[0].0), w[0].1), (f64::from(w[1].0), w[1].1));
            r0 + (r1 - r0) * (f64::from(q) - q0) / (q1 - q0)
        })
}

/// rav1e's speed for an output of `pixels`. 10-bit, in the edge's wasm (CPU time, calibrated q75):
/// speed 6 takes 4.3-6.7 s per output megapixel, speed 10 0.9-1.45 s, for ~40 % more bytes at the
/// same DSSIM (still 0.5-0.75× the WebP at that DSSIM). Speed 6 only where it stays well under a
/// second (316×316); speed 8 was no faster than 6 at 10 bits (wasm/README.md, AVIF).
pub const AVIF_SPEED_6_MAX_PIXELS: u64 = 100_000;

pub fn avif_speed(pixels: u64) -> u8 {
    if pixels <= AVIF_SPEED_6_MAX_PIXELS {
        6
    } else {
        10
    }
}

#[cfg(feature = "avif")]
fn avif(p: &Pixels, quality: u8) -> Result<Vec<u8>> {
    use ravif::{BitDepth, Encoder, RGB8, RGBA8};
    let p = rgb_or_rgba(p);
    let (w, h) = (p.width as usize, p.height as usize);
    // 10-bit: 8-bit AV1 needed 1.3-1.5× the bytes for the same DSSIM (and was barely faster).
    let enc = Encoder::new()
        .with_quality(avif_quality(quality))
        .with_speed(avif_speed(w as u64 * h as u64))
        .with_bit_depth(BitDepth::Ten)
        .with_num_threads(Some(1));
    let err = |e: ravif::Error| Error::internal(format!("AVIF encoder: {e}"));
    let out = match p.layout {
        Layout::Rgba => {
            let px: Vec<RGBA8> = p
                .data
                .chunks_exact(4)
                .map(|c| RGBA8::new(c[0], c[1], c[2], c[3]))
                .collect();
            enc.encode_rgba(imgref::Img::new(&px[..], w, h))
                .map_err(err)?
        }
        _ => {
            let px: Vec<RGB8> = p
                .data
                .chunks_exact(3)
                .map(|c| RGB8::new(c[0], c[1], c[2]))
                .collect();
            enc.encode_rgb(imgref::Img::new(&px[..], w, h))
                .map_err(err)?
        }
    };
    Ok(out.avif_file)
}

#[cfg(not(feature = "avif"))]
fn avif(_: &Pixels, _: u8) -> Result<Vec<u8>> {
    Err(Error::unsupported(
        "AVIF output is not in this build (cargo feature `avif`)",
    ))
}
