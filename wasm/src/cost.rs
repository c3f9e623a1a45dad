//! Step 1b, **cost**: the memory and the time one transform will take, estimated from the header
//! and the plan before any pixel is decoded. Pure: [`estimate`] takes what the header says
//! ([`Source`]), the geometry ([`Plan`]) and the output format; `Limits::check_cost` compares
//! the result with `max_memory_bytes` and `max_work_ms`.
//!
//! **Memory** counts every buffer of the pipeline, phase by phase, each with the input (the
//! caller holds it throughout); the estimate is the largest phase:
//! - decode: a progressive JPEG's coefficients (2 bytes each, every component at its own
//!   sampling, rounded up to whole MCUs, however small the output: they are all kept until the
//!   last scan), the component planes at their IDCT sizes, and the decoded image (16-bit PNGs twice: the
//!   decoder's buffer and our 8-bit copy; a GIF frame off its screen has its own buffer);
//! - resize: the decoded image, the resized one, the working rows (the box-filtered source row,
//!   the ring of filtered rows the vertical kernel spans, the accumulator; 4 `f32` a pixel) and
//!   both kernels' weights;
//! - finish (orient, colour, pad): two images of the larger of resized and canvas;
//! - encode: the final image, the encoder's working memory and its output (see [`ENCODERS`]).
//!
//! **Work** is milliseconds on one core of the wasm build (the slowest host) — pixels decoded,
//! resampled and encoded, each at a measured rate (see [`RATES`] and [`ENCODERS`]).
//!
//! Checked once against the wasm build in Node 20 (`wasm/pkg/node-avif`, wall time, a shared
//! 2-core machine at load ~2.5; the estimates from `examples/throughput.rs --estimates`):
//!
//! | 5120×2880 photo → | estimate ms | wasm ms (first call / warm) |
//! |---|---|---|
//! | safelanding (baseline JPEG) → unsized q75 AVIF (2364×1330) | 18,873 | 16,391 / 17,150 |
//! | safelanding → 1366 w q75 AVIF | 6,628 | 6,156 |
//! | safelanding → 2560 w q80 WebP | 1,602 | 1,506 |
//! | flow (progressive) → unsized q75 AVIF | 19,251 | 12,709 / 10,221 |
//! | flow → 256 w JPEG | 482 | 723 / 375–457 |
//! | kay (RGBA PNG) → 1366 w q75 AVIF | 6,439 | 5,055 |
//! | kay → 256 w JPEG | 311 | 357 / 111 |
//!
//! Only a fresh instance's first short call (V8 runs it in its baseline tier) comes out above
//! the estimate, by a few hundred milliseconds; long calls stay under it.
use crate::geometry::{self, Plan};
use crate::jpeg;
use crate::probe::SourceFormat;
use crate::transform::Format;

/// A JPEG's frame header: what its decoding allocates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegFrame {
    /// SOF2: every coefficient is kept until the last scan.
    pub progressive: bool,
    /// Each component's (horizontal, vertical) sampling factor, 1..=4.
    pub sampling: Vec<(u8, u8)>,
    /// Scans (SOS markers), at most `max_jpeg_scans` once the body check passed.
    pub scans: u32,
}

/// What the estimate needs to know about the original, all of it from its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub format: SourceFormat,
    /// Size as stored (what the decoder produces at full scale).
    pub width: u32,
    pub height: u32,
    pub input_bytes: u64,
    /// Bytes a pixel of the decoder's own output takes (a 16-bit RGBA PNG: 8).
    pub decoder_bpp: u32,
    /// Bytes a pixel takes once in 8 bits a channel (the image the resize reads).
    pub pixel_bpp: u32,
    /// JPEG only.
    pub jpeg: Option<JpegFrame>,
    /// GIF only: the first frame's size when it is not the screen's (decoded into its own buffer).
    pub gif_frame: Option<(u32, u32)>,
}

/// Estimated bytes and milliseconds of one transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// The largest phase's buffers, input included.
    pub memory_bytes: u64,
    /// Which phase that is ("decode", "resize", "finish", "encode").
    pub memory_phase: &'static str,
    /// Milliseconds on one core, wasm build.
    pub work_ms: u64,
}

/// Work rates in milliseconds per megapixel **natively** (one core, this repo's test build:
/// image-core at opt-level 3, its dependencies at 2), measured once, 2026-12-06, with
/// `cargo run -p image-core --example throughput` on the 5120×2880 Debian wallpapers of
/// `scripts/fetch-photos.sh` (thread CPU time, so the shared machine's other work does not
/// count); where the three photos differ, the slowest is taken:
///
/// | step | safelanding (baseline JPEG) | flow (progressive, 10 scans) | kay (RGBA PNG) |
/// |---|---|---|---|
/// | decode, full size | 14.7 | 23.1 | 7.9 |
/// | decode at 1/8 (JPEG: the entropy decode) | 3.6 | 16.7 | — |
/// | JPEG / PNG / WebP q80 encode | 29.2 / 31.6 / 104.5 | 15.3 / 22.7 / 49.5 | 20.8 / 13.7 / 51.2 |
/// | decoding our full-size WebP | 48.0 | 13.6 | 17.9 |
/// | the resize, per output megapixel | 19.8 | 29.2 | 14.0 |
///
/// A progressive JPEG's extra scans (20 copies of one scan appended to flow): a DC scan of all
/// three components 3.3 ms/MP each, a DC refinement 1.1. The resize's share per decoded
/// megapixel (box filter and horizontal pass, ~4 ms/MP) is from the README's benchmark breakdown.
///
/// The JPEG rows above were jpeg-decoder's. Our decoder (`src/jpeg/`, 2026-12-06, `bench decode`,
/// pinned to one core of a loaded machine, wall time) measured at or below them, so the rates
/// stay as they are: safelanding's entropy decode 3.4 ms/MP (49 ms at 1/8), transform and
/// upsampling ≈ 6 ms per decoded MP (82 ms at 5/8, 138 ms full size), flow 1.5 ms/MP a scan
/// (223 ms at 1/8); in wasm 1.4–1.6× native (117 ms at 5/8, 78 ms at 1/8).
pub struct Rates {
    /// Baseline JPEG entropy decoding, per stored megapixel (at any IDCT scale).
    pub jpeg_entropy: f64,
    /// Progressive JPEG entropy decoding, per stored megapixel and scan (64 scans at most).
    pub jpeg_scan: f64,
    /// IDCT, upsampling and colour planes, per decoded megapixel.
    pub jpeg_idct: f64,
    /// PNG inflate + unfilter, per megabyte of raw pixels (kay: 7.9 ms/MP at 4 B/px).
    pub png_per_raw_mb: f64,
    /// GIF, per screen megapixel: not measured (no GIF photo at hand); LZW costs about what
    /// inflate does, taken at twice PNG's rate for 4 bytes a pixel.
    pub gif: f64,
    /// WebP, per megapixel: image-webp's rate ("decoding our full-size WebP" above). Still
    /// files decode through libwebp now (a 4096² lossy photo ~14 ms/MP, lossless ~26, natively
    /// on a busy machine); animations still go through image-webp, so the rate stays.
    pub webp: f64,
    /// The resize, per decoded megapixel read (box filter, horizontal pass) …
    pub resize_in: f64,
    /// … and per output megapixel (vertical pass, store, orient, colour).
    pub resize_out: f64,
    /// wasm ÷ native for decoding and the resize: the README's benchmark gives 1.3–1.4
    /// (baseline JPEG → 1600 w JPEG 255.3 / 186.7 ms, RGBA PNG → 800 w PNG 124.4 / 95.7 ms).
    pub wasm: f64,
}

pub const RATES: Rates = Rates {
    jpeg_entropy: 4.0,
    // flow's ten scans average 1.7; a DC scan 3.3.
    jpeg_scan: 2.0,
    jpeg_idct: 12.0,
    png_per_raw_mb: 2.0,
    gif: 16.0,
    webp: 50.0,
    resize_in: 5.0,
    resize_out: 30.0,
    wasm: 1.6,
};

/// One encoder: native milliseconds per output megapixel, wasm ÷ native, and its memory per
/// pixel beyond the image it reads (working buffers and the output it grows).
#[derive(Debug, Clone, Copy)]
pub struct Encoder {
    pub ms_per_mp: f64,
    pub wasm: f64,
    pub bytes_per_pixel: f64,
}

/// JPEG, PNG, WebP, AVIF (in [`Format::ALL`]'s order). AVIF's time depends on the speed and the
/// quality: [`avif_wasm_ms_per_mp`] replaces `ms_per_mp` × `wasm`. Peak RSS (bench binary, 2048 w from kay, 2.36 MP
/// out): JPEG/PNG/WebP 91–96 MiB, AVIF 135 MiB, i.e. ~45 B/px for rav1e.
pub const ENCODERS: [Encoder; 4] = [
    // jpeg-encoder with optimised Huffman tables keeps the whole image twice over: the YCbCr
    // planes (3 B/px, padded to MCUs) and the quantised blocks (3 components × 2 B/px reserved,
    // even for subsampled chroma), plus an output of up to a byte a pixel.
    Encoder {
        ms_per_mp: 30.0,
        wasm: 1.6,
        bytes_per_pixel: 10.0,
    },
    // fdeflate: rows only; the output grows by doubling, up to twice the raw size (4 B/px).
    Encoder {
        ms_per_mp: 32.0,
        wasm: 1.6,
        bytes_per_pixel: 8.0,
    },
    // libwebp: the YUVA picture (2.5 B/px), its per-macroblock state and tokens, the output.
    // Scalar C in wasm was 2.35× native (README: ~40 vs 17 ms for a 600 w WebP); with the SSE2
    // paths as simd128 a 600 px encode measured ~1.4× (31 vs 22 ms on a busy machine). The
    // factor stays at 2.4 until the estimates table above is re-checked against wasm.
    Encoder {
        ms_per_mp: 105.0,
        wasm: 2.4,
        bytes_per_pixel: 8.0,
    },
    // ravif/rav1e: the RGB(A) copy, 10-bit YUV planes, rav1e's frame state. Its time is wasm's
    // own, by speed and quality: [`avif_wasm_ms_per_mp`].
    Encoder {
        ms_per_mp: 0.0,
        wasm: 0.0,
        bytes_per_pixel: 48.0,
    },
];

/// rav1e's milliseconds per output megapixel in the edge's wasm at q75, one core (CPU time), for
/// each speed [`crate::avif_speed`] picks: the slowest of ten photos (safelanding, fine texture;
/// the others took 60-75 % of it). Measured 2026-12-06 with the calibrated quality, 10-bit:
/// speed 6 at 320×180 387 ms (native 242: wasm 1.6×), speed 10 at 1200×675 1,168 ms (native
/// 384: 3.0×, no asm in wasm).
pub const AVIF_WASM_MS_PER_MP: [(u8, f64); 2] = [(6, 6700.0), (10, 1450.0)];

/// How rav1e's work grows with quality (sharp's scale), relative to q75: the shape of rav1e's
/// rates over its own quality scale (speed 6 on safelanding at 1366 × 768: 62 → 2,800 ms/MP,
/// 87.5 → 4,170, 92.6 → 4,660) read at [`crate::avif_quality`]'s points. Measured again: speed 6
/// q50 → q80 1.2× (the curve says 1.23×); speed 10 flat from q50 to q80 (the curve over-counts
/// its low qualities, which only errs towards refusing), q90 1.17× and q100 2.2× q75 (2048 w).
pub const AVIF_QUALITY_WORK: [(u8, f64); 8] = [
    (1, 0.5),
    (40, 0.67),
    (50, 0.84),
    (60, 0.91),
    (75, 1.0),
    (80, 1.03),
    (90, 1.12),
    (100, 2.2),
];

/// Wasm milliseconds per output megapixel for an AVIF of `pixels` at `quality`.
pub fn avif_wasm_ms_per_mp(quality: u8, pixels: u64) -> f64 {
    let speed = crate::avif_speed(pixels);
    let rate = AVIF_WASM_MS_PER_MP
        .iter()
        .find(|(s, _)| *s == speed)
        .map_or(AVIF_WASM_MS_PER_MP[0].1, |(_, r)| *r);
    rate * crate::encode::piecewise_linear(&AVIF_QUALITY_WORK, quality)
}

fn encoder(format: Format) -> Encoder {
    ENCODERS[Format::ALL.iter().position(|&f| f == format).unwrap_or(0)]
}

const MP: f64 = 1e6;

fn area((w, h): (u32, u32)) -> u64 {
    u64::from(w) * u64::from(h)
}

/// The decoded size and the decode phase's bytes (input excluded).
fn decode(src: &Source, min: (u32, u32)) -> ((u32, u32), u64) {
    let (w, h) = (src.width, src.height);
    let full = area((w, h));
    match &src.jpeg {
        Some(f) => {
            // Our decoder at M/8: the component planes at their IDCT sizes, a progressive
            // image's coefficients (all of them, at two bytes, however small M: the scaled
            // IDCT runs after the last scan) and the output, as `jpeg::memory` counts them.
            let m = geometry::jpeg_scale((w, h), min);
            let out = (
                (u64::from(w) * u64::from(m)).div_ceil(8) as u32,
                (u64::from(h) * u64::from(m)).div_ceil(8) as u32,
            );
            let bytes = jpeg::memory(
                w as usize,
                h as usize,
                &f.sampling,
                f.progressive,
                m as usize,
            );
            (out, bytes)
        }
        None => {
            let mut bytes = full * u64::from(src.decoder_bpp);
            if src.decoder_bpp != src.pixel_bpp {
                // Converted (16 → 8 bits, grey+alpha → RGBA) while the decoder's buffer lives.
                bytes += full * u64::from(src.pixel_bpp);
            }
            if let Some(frame) = src.gif_frame {
                bytes += area(frame) * 4;
            }
            if src.format == SourceFormat::Webp {
                // The decoder's own image: libwebp's lossless ARGB words (its lossy decoder only
                // keeps rows), or image-webp's canvas for an animation's first frame.
                bytes += full * 4;
            }
            ((w, h), bytes)
        }
    }
}

/// The resize's working memory (rows, ring, accumulator, kernels), as `resize::run` sizes it.
fn resize_working(decoded: (u32, u32), crop: (f64, f64), out: (u32, u32), channels: u64) -> u64 {
    let (cw, ch) = crop;
    let (ow, oh) = (f64::from(out.0), f64::from(out.1));
    let k = ((cw / ow).min(ch / oh) / 2.0).floor().clamp(1.0, 16.0);
    let taps = |len: f64, out: f64| (6.0 * (len / k / out).max(1.0)).ceil() as u64 + 2;
    let (th, tv) = (taps(cw, ow), taps(ch, oh));
    let lanes = if channels == 1 { 1 } else { 4 } * 4; // f32 lanes
    let line = (f64::from(decoded.0) / k).ceil() as u64 + th;
    let (ow, oh) = (u64::from(out.0), u64::from(out.1));
    (line + (tv + 1) * ow) * lanes + (ow * th + oh * tv) * 4 + (ow + oh) * 16
}

/// The estimate for `plan` of `src` written as `format` at `quality`.
pub fn estimate(src: &Source, plan: &Plan, format: Format, quality: u8) -> Estimate {
    let input = src.input_bytes;
    let (decoded, decode_bytes) = decode(src, plan.min_decode());
    let px = u64::from(src.pixel_bpp);
    let decoded_bytes = area(decoded) * px;
    let resized = plan.stored_resized();
    let identity = {
        let c = plan.stored_crop();
        decoded == resized
            && c.width == f64::from(plan.stored.0)
            && c.height == f64::from(plan.stored.1)
    };
    let resized_bytes = area(resized) * px;
    let resize_bytes = if identity {
        decoded_bytes
    } else {
        let (kx, ky) = (
            f64::from(decoded.0) / f64::from(plan.stored.0),
            f64::from(decoded.1) / f64::from(plan.stored.1),
        );
        let c = plan.stored_crop();
        decoded_bytes
            + resized_bytes
            + resize_working(decoded, (c.width * kx, c.height * ky), resized, px)
    };
    let canvas = area(plan.output);
    let finish_bytes = resized_bytes + resized_bytes.max(canvas * 4);
    let enc = encoder(format);
    let channels = if format == Format::Jpeg { 3 } else { 4 };
    let encode_bytes = canvas * channels + (canvas as f64 * enc.bytes_per_pixel).ceil() as u64;
    let (memory_phase, phase) = [
        ("decode", decode_bytes),
        ("resize", resize_bytes),
        ("finish", finish_bytes),
        ("encode", encode_bytes),
    ]
    .into_iter()
    .max_by_key(|&(_, b)| b)
    .expect("four phases");

    let r = &RATES;
    let full_mp = area((src.width, src.height)) as f64 / MP;
    let decoded_mp = area(decoded) as f64 / MP;
    let decode_ms = match (&src.jpeg, src.format) {
        (Some(f), _) if f.progressive => {
            full_mp * r.jpeg_scan * f64::from(f.scans.max(1)) + decoded_mp * r.jpeg_idct
        }
        (Some(_), _) => full_mp * r.jpeg_entropy + decoded_mp * r.jpeg_idct,
        (None, SourceFormat::Png) => full_mp * f64::from(src.decoder_bpp) * r.png_per_raw_mb,
        (None, SourceFormat::Gif) => full_mp * r.gif,
        (None, _) => full_mp * r.webp,
    };
    let out_mp = canvas.max(area(resized)) as f64 / MP;
    let resize_ms = if identity {
        0.0
    } else {
        decoded_mp * r.resize_in
    } + out_mp * r.resize_out;
    let encode_ms = match format {
        Format::Avif => out_mp * avif_wasm_ms_per_mp(quality, canvas.max(area(resized))),
        _ => out_mp * enc.ms_per_mp * enc.wasm,
    };
    let ms = (decode_ms + resize_ms) * r.wasm + encode_ms;
    Estimate {
        memory_bytes: input + phase,
        memory_phase,
        work_ms: ms.ceil() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::Transform;

    fn jpeg(w: u32, h: u32, progressive: bool, sampling: &[(u8, u8)], scans: u32) -> Source {
        let bpp = sampling.len() as u32;
        Source {
            format: SourceFormat::Jpeg,
            width: w,
            height: h,
            input_bytes: 1000,
            decoder_bpp: bpp,
            pixel_bpp: bpp,
            jpeg: Some(JpegFrame {
                progressive,
                sampling: sampling.to_vec(),
                scans,
            }),
            gif_frame: None,
        }
    }

    fn png(w: u32, h: u32, decoder_bpp: u32, pixel_bpp: u32) -> Source {
        Source {
            format: SourceFormat::Png,
            width: w,
            height: h,
            input_bytes: 1000,
            decoder_bpp,
            pixel_bpp,
            jpeg: None,
            gif_frame: None,
        }
    }

    fn plan(src: &Source, width: Option<u32>) -> Plan {
        let t = Transform {
            width,
            ..Transform::default()
        };
        Plan::new(src.width, src.height, 1, &t)
    }

    const S444: [(u8, u8); 3] = [(1, 1); 3];
    const S420: [(u8, u8); 3] = [(2, 2), (1, 1), (1, 1)];

    #[test]
    fn the_idct_scale_is_the_smallest_m_over_eighths_reaching_the_minimum() {
        let photo = (5120, 2880);
        // 1600 w keeps 2 decoded pixels per output pixel: 3200 × 1800, exactly 5/8.
        assert_eq!(geometry::jpeg_scale(photo, (3200, 1800)), 5);
        assert_eq!(geometry::jpeg_scale(photo, (3201, 1800)), 6);
        assert_eq!(geometry::jpeg_scale(photo, (640, 360)), 1);
        assert_eq!(geometry::jpeg_scale(photo, (641, 10)), 2);
        // Both axes must reach it (a crop may need more on one).
        assert_eq!(geometry::jpeg_scale(photo, (10, 2000)), 6);
        assert_eq!(geometry::jpeg_scale((1920, 1200), (640, 400)), 3);
        assert_eq!(geometry::jpeg_scale(photo, (99_999, 99_999)), 8);
    }

    #[test]
    fn a_jpeg_decode_counts_planes_coefficients_and_output_at_its_scale() {
        // 5120 × 2880 4:2:0 at 5/8: luma 640 × 360 blocks at 5×5, chroma 320 × 180 blocks at
        // 10×10 (libjpeg's doubled chroma), the 3200 × 1800 × 3 output.
        let s = jpeg(5120, 2880, false, &S420, 1);
        let bytes = jpeg::memory(5120, 2880, &S420, false, 5);
        assert_eq!(
            bytes,
            640 * 360 * 25 + 2 * 320 * 180 * 100 + 3200 * 1800 * 3
        );
        let p = plan(&s, Some(1600));
        assert_eq!(decode(&s, p.min_decode()), ((3200, 1800), bytes));
        // Progressive: every block's 64 coefficients at 2 bytes on top, even at 1/8.
        let prog = jpeg::memory(5120, 2880, &S420, true, 1);
        let base = jpeg::memory(5120, 2880, &S420, false, 1);
        assert_eq!(prog - base, (640 * 360 + 2 * 320 * 180) * 128);
    }

    #[test]
    fn a_progressive_jpeg_counts_every_coefficient_at_two_bytes_rounded_to_mcus() {
        let t = |s: &Source| estimate(s, &plan(s, Some(256)), Format::Jpeg, 80);
        // 7000 × 7000, 4:4:4: 875 × 875 blocks a component, 64 coefficients of 2 bytes.
        let base = t(&jpeg(7000, 7000, false, &S444, 1));
        let prog = t(&jpeg(7000, 7000, true, &S444, 10));
        assert_eq!(prog.memory_phase, "decode");
        assert_eq!(prog.memory_bytes - base.memory_bytes, 3 * 875 * 875 * 128);
        // 4:2:0: MCUs of 16 × 16 (438 × 438 of them), luma 2 × 2 blocks each, chroma 1.
        let base = t(&jpeg(7000, 7000, false, &S420, 1));
        let prog = t(&jpeg(7000, 7000, true, &S420, 10));
        assert_eq!(
            prog.memory_bytes - base.memory_bytes,
            (876 * 876 + 2 * 438 * 438) * 128
        );
        // Padding counts: one pixel wide with 4 × 4 sampling is a 32-pixel-wide MCU column.
        let thin = t(&jpeg(1, 65_535, true, &[(4, 4), (1, 1), (1, 1)], 1));
        let mcus = 65_535u64.div_ceil(32);
        assert!(thin.memory_bytes > (16 + 2) * mcus * 128, "{thin:?}");
    }

    #[test]
    fn memory_is_the_largest_step_with_the_input() {
        // An 8K re-encode of a 50 MP baseline photo: the encoder's step is the largest.
        let big = jpeg(8660, 5773, false, &S420, 1);
        let t = Transform::default();
        let p = Plan::new(
            8660,
            5773,
            1,
            &Transform {
                width: Some(7680),
                ..t.clone()
            },
        );
        let e = estimate(&big, &p, Format::Jpeg, 80);
        assert_eq!(e.memory_phase, "encode");
        let out = area(p.output);
        assert_eq!(e.memory_bytes, 1000 + out * 3 + out * 10);
        // A thumbnail of the same photo decodes at 1/8: a few MB.
        let e = estimate(&big, &plan(&big, Some(256)), Format::Jpeg, 80);
        assert!(e.memory_bytes < 8_000_000, "{e:?}");
        // A 16-bit RGBA PNG is decoded whole, then converted to 8 bits beside it.
        let deep = png(7000, 7000, 8, 4);
        let e = estimate(&deep, &plan(&deep, Some(256)), Format::Jpeg, 80);
        assert_eq!(
            (e.memory_phase, e.memory_bytes),
            ("decode", 1000 + 49_000_000 * 12)
        );
        // The resize holds the decoded image, the output and its rows.
        let flat = png(4000, 3000, 3, 3);
        let e = estimate(&flat, &plan(&flat, Some(2000)), Format::Png, 80);
        assert_eq!(e.memory_phase, "resize");
        assert!(e.memory_bytes > 1000 + 36_000_000 + 9_000_000, "{e:?}");
        assert!(
            e.memory_bytes < 1000 + 36_000_000 + 9_000_000 + 1_000_000,
            "{e:?}"
        );
    }

    #[test]
    fn work_follows_pixels_scans_format_and_quality() {
        let src = jpeg(6000, 4000, false, &S420, 1);
        let p = plan(&src, Some(1920));
        let at = |f, q| estimate(&src, &p, f, q).work_ms;
        assert!(at(Format::Jpeg, 80) < at(Format::Webp, 80));
        assert!(at(Format::Webp, 80) < at(Format::Avif, 50));
        assert!(at(Format::Avif, 50) < at(Format::Avif, 75));
        assert!(at(Format::Avif, 75) < at(Format::Avif, 100));
        // By hand: entropy-decode 24 MP, transform at 6/8 (13.5 MP: 5/8 would be 3750 px, below
        // twice 1920), resize (per MP in and out), q75 AVIF (2.5 MP: speed 10).
        let out = 1920.0 * 1280.0 / MP;
        let r = &RATES;
        let decoded = 4500.0 * 3000.0 / MP;
        let by_hand =
            (24.0 * r.jpeg_entropy + decoded * (r.jpeg_idct + r.resize_in) + out * r.resize_out)
                * r.wasm
                + out * 1450.0;
        assert_eq!(at(Format::Avif, 75), by_hand.ceil() as u64);
        // Every scan of a progressive JPEG is another pass over the whole image.
        let scans = |n| {
            let s = jpeg(6000, 4000, true, &S420, n);
            estimate(&s, &plan(&s, Some(256)), Format::Jpeg, 80).work_ms
        };
        assert!(scans(64) > 5 * scans(10), "{} vs {}", scans(64), scans(10));
    }

    #[test]
    fn avif_rates_follow_speed_and_quality() {
        let (small, large) = (300 * 300, 1200 * 800);
        assert_eq!(avif_wasm_ms_per_mp(75, small), 6700.0);
        assert_eq!(avif_wasm_ms_per_mp(75, large), 1450.0);
        assert_eq!(avif_wasm_ms_per_mp(100, large), 1450.0 * 2.2);
        assert_eq!(avif_wasm_ms_per_mp(55, large), 1450.0 * (0.84 + 0.91) / 2.0);
        let all: Vec<f64> = (1..=100).map(|q| avif_wasm_ms_per_mp(q, small)).collect();
        assert!(all.windows(2).all(|w| w[0] <= w[1]));
    }
}
