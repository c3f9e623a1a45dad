//! Step 3, **resize**: Lanczos3 convolution (fast_image_resize: SSE4.1/AVX2 natively, simd128 in
//! wasm) from the decoded pixels to the planned size, cropping with sub-pixel precision.
//!
//! Gamma-aware: RGB and grey are resampled in linear light (sRGB → 16-bit linear → resize → sRGB),
//! so fine detail keeps its brightness instead of averaging to a darker grey; alpha is
//! premultiplied. CMYK (ink amounts, no meaningful gamma) is resampled as stored.
use crate::error::{Error, Result};
use crate::geometry::Rect;
use crate::pixels::{Layout, Pixels};
use fast_image_resize as fr;
use std::cell::RefCell;
use std::sync::OnceLock;

/// sRGB ↔ 16-bit linear tables. Built from f64 and compared against thresholds rather than by
/// rounding `powf` per value: `powf` differs in the last bit between glibc and wasm's libm, which
/// would make the native and wasm builds round a few values differently.
struct Curves {
    to_linear: [u16; 256],
    to_srgb: Vec<u8>,
}

fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn curves() -> &'static Curves {
    static CURVES: OnceLock<Curves> = OnceLock::new();
    CURVES.get_or_init(|| {
        let to_linear =
            std::array::from_fn(|x| (srgb_to_linear(x as f64 / 255.0) * 65535.0).round() as u16);
        // to_srgb[v] = round(255 · srgb(v)): the number of half-way points at or below v.
        let mut to_srgb = vec![0u8; 65536];
        let mut x = 0usize;
        for (v, out) in to_srgb.iter_mut().enumerate() {
            while x < 255 && v as f64 >= srgb_to_linear((x as f64 + 0.5) / 255.0) * 65535.0 {
                x += 1;
            }
            *out = x as u8;
        }
        Curves { to_linear, to_srgb }
    })
}

/// Every `channels`-th sample from `alpha_at` on is alpha: scaled linearly, not by the curve.
fn linearise(src: &[u8], dst: &mut [u16], channels: usize, alpha: bool) {
    let lut = &curves().to_linear;
    for (s, d) in src.iter().zip(dst.iter_mut()) {
        *d = lut[usize::from(*s)];
    }
    if alpha {
        for (s, d) in src
            .chunks_exact(channels)
            .zip(dst.chunks_exact_mut(channels))
        {
            d[channels - 1] = u16::from(s[channels - 1]) * 257;
        }
    }
}

/// `linearise` fused with a k × k box average (edge blocks average what they have).
fn linearise_shrink(src: &Pixels, k: u32, dst: &mut [u16], alpha: bool) {
    match (src.layout.channels(), alpha) {
        (1, _) => box_shrink::<1, false>(src, k, dst),
        (3, _) => box_shrink::<3, false>(src, k, dst),
        (4, true) => box_shrink::<4, true>(src, k, dst),
        _ => box_shrink::<4, false>(src, k, dst),
    }
}

fn box_shrink<const CH: usize, const ALPHA: bool>(src: &Pixels, k: u32, dst: &mut [u16]) {
    let lut = &curves().to_linear;
    let (w, h, k) = (src.width as usize, src.height as usize, k as usize);
    let bw = w.div_ceil(k);
    let mut acc = vec![[0u32; CH]; bw];
    for (by, out_row) in dst.chunks_exact_mut(bw * CH).enumerate() {
        acc.iter_mut().for_each(|a| *a = [0; CH]);
        let rows = by * k..((by + 1) * k).min(h);
        let n_rows = rows.len();
        for y in rows {
            let row = &src.data[y * w * CH..(y + 1) * w * CH];
            for (a, block) in acc.iter_mut().zip(row.chunks(k * CH)) {
                for px in block.chunks_exact(CH) {
                    for i in 0..CH {
                        let v = if ALPHA && i == CH - 1 {
                            u32::from(px[i]) * 257
                        } else {
                            u32::from(lut[usize::from(px[i])])
                        };
                        a[i] += v;
                    }
                }
            }
        }
        for (bx, (out, a)) in out_row.chunks_exact_mut(CH).zip(&acc).enumerate() {
            let n = (n_rows * (((bx + 1) * k).min(w) - bx * k)) as u32;
            for i in 0..CH {
                out[i] = ((a[i] + n / 2) / n) as u16;
            }
        }
    }
}

fn delinearise(src: &[u16], dst: &mut [u8], channels: usize, alpha: bool) {
    let c = curves();
    for (i, (s, d)) in src.iter().zip(dst).enumerate() {
        *d = if alpha && i % channels == channels - 1 {
            ((u32::from(*s) + 128) / 257) as u8
        } else {
            c.to_srgb[usize::from(*s)]
        };
    }
}

fn as_u16(bytes: &mut [u8]) -> &mut [u16] {
    // SAFETY: any bit pattern is a valid u16; the prefix/suffix check rejects misalignment.
    let (pre, mid, post) = unsafe { bytes.align_to_mut::<u16>() };
    assert!(
        pre.is_empty() && post.is_empty(),
        "fast_image_resize buffers are u16-aligned"
    );
    mid
}

thread_local! {
    // Keeps the convolution's scratch buffers between calls.
    static RESIZER: RefCell<fr::Resizer> = RefCell::new(fr::Resizer::new());
    // The 16-bit linear copy of the source (88 MB for a 15 MP photo), reused: allocating it afresh
    // costs zeroing plus a page fault per 4 KB on every call.
    static LINEAR: RefCell<Vec<u16>> = const { RefCell::new(Vec::new()) };
}

/// Larger linear buffers are freed after use rather than kept for the next call.
const KEEP_LINEAR_BYTES: usize = 128 << 20;

fn internal<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::internal(format!("{what}: {e}"))
}

/// `crop` is in the decoded image's coordinates; `to` is the output size.
pub fn resize(src: Pixels, crop: Rect, to: (u32, u32)) -> Result<Pixels> {
    let full = crop.left == 0.0
        && crop.top == 0.0
        && crop.width == f64::from(src.width)
        && crop.height == f64::from(src.height);
    if full && to == (src.width, src.height) {
        return Ok(src);
    }
    let (t8, t16) = match src.layout {
        Layout::Gray => (fr::PixelType::U8, fr::PixelType::U16),
        Layout::Rgb => (fr::PixelType::U8x3, fr::PixelType::U16x3),
        Layout::Rgba | Layout::Cmyk => (fr::PixelType::U8x4, fr::PixelType::U16x4),
    };
    // Premultiplying is exact but costs a pass; an opaque alpha channel needs none.
    let use_alpha = src.has_transparency();
    let opts = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3))
        .crop(crop.left, crop.top, crop.width, crop.height)
        .use_alpha(use_alpha);
    let src_img = fr::images::ImageRef::new(src.width, src.height, &src.data, t8)
        .map_err(internal("source"))?;
    let mut out = fr::images::Image::new(to.0, to.1, t8);
    RESIZER.with_borrow_mut(|resizer| -> Result<()> {
        if src.layout == Layout::Cmyk {
            return resizer
                .resize(&src_img, &mut out, &opts)
                .map_err(internal("resize"));
        }
        let (channels, alpha) = (src.layout.channels(), src.layout == Layout::Rgba);
        let mut small = fr::images::Image::new(to.0, to.1, t16);
        // Box pre-shrink by a whole factor while at least 2 source pixels per output pixel remain
        // for Lanczos3 (libvips' shrink + reduce): the 16-bit convolution then runs on 1/k² of the
        // pixels. Only without transparency (a box average of unpremultiplied colour would bleed).
        let k = ((crop.width / f64::from(to.0)).min(crop.height / f64::from(to.1)) / 2.0).floor();
        let k = if use_alpha {
            1
        } else {
            (k as u32).clamp(1, 16)
        };
        let (lw, lh) = (src.width.div_ceil(k), src.height.div_ceil(k));
        let opts = if k > 1 {
            let kf = f64::from(k);
            opts.crop(
                crop.left / kf,
                crop.top / kf,
                crop.width / kf,
                crop.height / kf,
            )
        } else {
            opts
        };
        LINEAR.with_borrow_mut(|buf| -> Result<()> {
            let need = lw as usize * lh as usize * channels;
            if buf.len() < need {
                buf.resize(need, 0);
            }
            if k > 1 {
                linearise_shrink(&src, k, &mut buf[..need], alpha);
            } else {
                linearise(&src.data, &mut buf[..need], channels, alpha);
            }
            // SAFETY: viewing u16s as bytes is always aligned and valid.
            let bytes = unsafe { buf[..need].align_to_mut::<u8>() }.1;
            let linear = fr::images::Image::from_slice_u8(lw, lh, bytes, t16)
                .map_err(internal("linear image"))?;
            let r = resizer
                .resize(&linear, &mut small, &opts)
                .map_err(internal("resize"));
            if need * 2 > KEEP_LINEAR_BYTES {
                *buf = Vec::new();
            }
            r
        })?;
        delinearise(
            as_u16(small.buffer_mut()),
            out.buffer_mut(),
            channels,
            alpha,
        );
        Ok(())
    })?;
    Ok(Pixels::new(to.0, to.1, src.layout, out.into_vec()))
}
