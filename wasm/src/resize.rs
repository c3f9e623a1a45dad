//! Step 3, **resize**: Lanczos3 from the decoded pixels to the planned size, cropping with sub-pixel
//! precision, in linear light.
//!
//! Gamma-aware: samples become linear-light `f32` as rows are read (sRGB through a table; JPEG's
//! YCbCr converted on the way; alpha premultiplied), are filtered, and go back to 8-bit sRGB as
//! output rows are written, so fine detail keeps its brightness instead of averaging darker.
//! CMYK (ink amounts, no meaningful gamma) is filtered as stored.
//!
//! The filter streams: each source row is read once, filtered horizontally into a small ring of
//! rows, and every output row is the weighted sum of a window of that ring. No full-size linear
//! copy exists (a 15 MP photo would need 88 MB in 16 bits), and the work is a run of `f32`
//! multiply-adds that the compiler vectorises (SSE natively, simd128 in wasm). `f32` arithmetic
//! in a fixed order and weights computed with the `libm` crate on every target give the native
//! and wasm builds the same bytes.
//!
//! fast_image_resize was used before: its 16-bit path accumulates in 64-bit lanes, which wasm's
//! simd128 has no fast multiply for (a 5120×2880 → 1600 w resize took 240 ms in Node vs ~50 ms
//! natively). This one takes ~100 ms in Node for it (~80 ms natively), YCbCr conversion included.
//!
//! When the output is at most a quarter of the source, whole k×k blocks are first averaged
//! (in linear light, premultiplied) while at least two source pixels per output pixel remain for
//! Lanczos3: libvips' shrink + reduce, so large reductions cost one pass over the pixels.
use crate::error::Result;
use crate::geometry::Rect;
use crate::pixels::{Layout, Pixels};
use std::sync::OnceLock;

/// sRGB ↔ linear tables. Built from f64 and compared against thresholds rather than by rounding
/// `powf` per value: `powf` differs in the last bit between glibc and wasm's libm.
struct Curves {
    to_linear: [f32; 256],
    to_srgb: Vec<u8>,
}

fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear values are looked up back to sRGB at this many steps (16 bits, as libvips' `scRGB` →
/// 8-bit path quantises).
const STEPS: f32 = 65535.0;

fn curves() -> &'static Curves {
    static CURVES: OnceLock<Curves> = OnceLock::new();
    CURVES.get_or_init(|| {
        let to_linear = std::array::from_fn(|x| {
            ((srgb_to_linear(x as f64 / 255.0) * 65535.0).round() / 65535.0) as f32
        });
        // to_srgb[v] = round(255 · srgb(v / 65535)): the number of half-way points at or below v.
        let halfway: Vec<f64> = (0..255)
            .map(|x| srgb_to_linear((f64::from(x) + 0.5) / 255.0) * 65535.0)
            .collect();
        let mut to_srgb = vec![0u8; 65536];
        let mut x = 0usize;
        for (v, out) in to_srgb.iter_mut().enumerate() {
            while x < 255 && v as f64 >= halfway[x] {
                x += 1;
            }
            *out = x as u8;
        }
        Curves { to_linear, to_srgb }
    })
}

/// Lanczos3 weights for one axis: output sample `i` is `Σ weights[j] · source[start + j]` over
/// its own `start..start + len`.
struct Kernel {
    start: Vec<usize>,
    offset: Vec<usize>,
    weights: Vec<f32>,
}

impl Kernel {
    /// `from` (first source position) and `len` in source pixels, `size` the source extent.
    fn new(from: f64, len: f64, out: u32, size: usize) -> Kernel {
        fn lanczos3(x: f64) -> f64 {
            if x == 0.0 {
                return 1.0;
            }
            if x.abs() >= 3.0 {
                return 0.0;
            }
            let px = std::f64::consts::PI * x;
            3.0 * libm::sin(px) * libm::sin(px / 3.0) / (px * px)
        }
        let scale = len / f64::from(out);
        let stretch = scale.max(1.0);
        let support = 3.0 * stretch;
        let mut k = Kernel {
            start: Vec::with_capacity(out as usize),
            offset: Vec::with_capacity(out as usize + 1),
            weights: Vec::new(),
        };
        let mut w = Vec::new();
        for i in 0..out {
            let center = from + (f64::from(i) + 0.5) * scale;
            let lo = ((center - support - 0.5).floor().max(0.0) as usize).min(size - 1);
            let hi = ((center + support + 0.5).ceil() as usize).clamp(lo + 1, size);
            w.clear();
            w.extend((lo..hi).map(|j| lanczos3((j as f64 + 0.5 - center) / stretch)));
            // Zero weights at the ends (Lanczos' own zeros, or outside the support) cost work only.
            let first = w.iter().position(|&v| v != 0.0).unwrap_or(0);
            let last = w
                .iter()
                .rposition(|&v| v != 0.0)
                .map_or(first + 1, |l| l + 1);
            let sum: f64 = w[first..last].iter().sum();
            k.start.push(lo + first);
            k.offset.push(k.weights.len());
            k.weights
                .extend(w[first..last].iter().map(|&v| (v / sum) as f32));
        }
        k.offset.push(k.weights.len());
        k
    }

    fn get(&self, i: usize) -> (usize, &[f32]) {
        (
            self.start[i],
            &self.weights[self.offset[i]..self.offset[i + 1]],
        )
    }

    /// The source range any output sample reads.
    fn span(&self) -> (usize, usize) {
        let end = (0..self.start.len())
            .map(|i| self.start[i] + self.offset[i + 1] - self.offset[i])
            .max()
            .unwrap_or(0);
        (self.start.first().copied().unwrap_or(0), end)
    }

    fn max_taps(&self) -> usize {
        self.offset
            .windows(2)
            .map(|o| o[1] - o[0])
            .max()
            .unwrap_or(0)
    }
}

#[inline(always)]
fn load<const K: u8, const C: usize>(px: &[u8], lut: &[f32; 256]) -> [f32; C] {
    let mut o = [0.0f32; C];
    match K {
        GRAY => o[0] = lut[usize::from(px[0])],
        RGB | OPAQUE => {
            for c in 0..3 {
                o[c] = lut[usize::from(px[c])];
            }
            if K == OPAQUE {
                o[3] = 1.0;
            }
        }
        YCC => {
            let rgb = ycbcr_to_rgb::<1>(px);
            for c in 0..3 {
                o[c] = lut[usize::from(rgb[c][0])];
            }
        }
        RGBA => {
            let a = f32::from(px[3]) / 255.0;
            for c in 0..3 {
                o[c] = lut[usize::from(px[c])] * a;
            }
            o[3] = a;
        }
        _ => {
            for c in 0..C {
                o[c] = f32::from(px[c]) / 255.0;
            }
        }
    }
    o
}

// How stored samples become linear `f32` lanes (`C` per pixel) and back: a const parameter, so
// each kind gets its own loops.
const GRAY: u8 = 0;
const RGB: u8 = 1;
const YCC: u8 = 2;
/// Premultiplied: only when some pixel is transparent.
const RGBA: u8 = 3;
/// Opaque RGBA: alpha is carried as 1.0 and written back as 255.
const OPAQUE: u8 = 4;
const CMYK: u8 = 5;

/// `crop` is in the decoded image's coordinates; `to` is the output size.
pub fn resize(src: Pixels, crop: Rect, to: (u32, u32)) -> Result<Pixels> {
    let full = crop.left == 0.0
        && crop.top == 0.0
        && crop.width == f64::from(src.width)
        && crop.height == f64::from(src.height);
    if full && to == (src.width, src.height) {
        return Ok(to_rgb(src));
    }
    Ok(match src.layout {
        Layout::Gray => run::<GRAY, 1>(&src, crop, to),
        Layout::Rgb => run::<RGB, 4>(&src, crop, to),
        Layout::YCbCr => run::<YCC, 4>(&src, crop, to),
        Layout::Rgba if src.has_transparency() => run::<RGBA, 4>(&src, crop, to),
        Layout::Rgba => run::<OPAQUE, 4>(&src, crop, to),
        Layout::Cmyk => run::<CMYK, 4>(&src, crop, to),
    })
}

fn run<const K: u8, const C: usize>(src: &Pixels, crop: Rect, to: (u32, u32)) -> Pixels {
    // Box pre-shrink factor: keeps ≥ 2 source pixels per output pixel for Lanczos3.
    let k = ((crop.width / f64::from(to.0)).min(crop.height / f64::from(to.1)) / 2.0).floor();
    let k = (k as usize).clamp(1, 16);
    let kf = k as f64;
    let (bw, bh) = (src.width.div_ceil(k as u32), src.height.div_ceil(k as u32));
    let hk = Kernel::new(crop.left / kf, crop.width / kf, to.0, bw as usize);
    let vk = Kernel::new(crop.top / kf, crop.height / kf, to.1, bh as usize);
    let (c0, c1) = hk.span();
    let (ow, oh, sc) = (to.0 as usize, to.1 as usize, src.layout.channels());

    let mut line = vec![[0.0f32; C]; c1 - c0];
    let mut ring = vec![vec![[0.0f32; C]; ow]; vk.max_taps().max(1)];
    let mut acc = vec![[0.0f32; C]; ow];
    let mut out = vec![0u8; ow * oh * sc];
    let mut next = 0usize;
    for (oy, out_row) in out.chunks_exact_mut(ow * sc).enumerate() {
        let (vs, weights) = vk.get(oy);
        next = next.max(vs);
        while next < vs + weights.len() {
            read_row::<K, C>(src, k, next, c0, &mut line);
            let slot = next % ring.len();
            filter_row(&line, c0, &hk, &mut ring[slot]);
            next += 1;
        }
        blend_rows(&ring, vs, weights, &mut acc);
        store::<K, C>(&acc, out_row, sc);
    }
    let layout = match src.layout {
        Layout::YCbCr => Layout::Rgb,
        l => l,
    };
    Pixels::new(to.0, to.1, layout, out)
}

// The per-row steps stay separate functions: in wasm, V8 moves a function to optimised code
// between calls, never during one, so one function looping over the whole image would run a
// cold start's first image entirely in baseline code.

/// Box row `by` (k×k blocks averaged, edge blocks over what they have), linear light, columns
/// `c0..c0 + line.len()` only.
#[inline(never)]
fn read_row<const K: u8, const C: usize>(
    src: &Pixels,
    k: usize,
    by: usize,
    c0: usize,
    line: &mut [[f32; C]],
) {
    let lut = &curves().to_linear;
    let (w, h, sc) = (
        src.width as usize,
        src.height as usize,
        src.layout.channels(),
    );
    let row = |y: usize| &src.data[y * w * sc..(y + 1) * w * sc];
    if k == 1 && K == YCC && C == 4 {
        // Blocks of 8: the colour transform's integer math vectorises; only the lookups stay scalar.
        let src = &row(by)[c0 * 3..];
        let mut out = line.chunks_exact_mut(8);
        let mut px = src.chunks_exact(24);
        for (o, p) in (&mut out).zip(&mut px) {
            let rgb = ycbcr_to_rgb::<8>(p);
            for i in 0..8 {
                for c in 0..3 {
                    o[i][c] = lut[usize::from(rgb[c][i])];
                }
            }
        }
        for (o, p) in out
            .into_remainder()
            .iter_mut()
            .zip(px.remainder().chunks_exact(3))
        {
            *o = load::<K, C>(p, lut);
        }
        return;
    }
    if k == 1 {
        for (o, px) in line.iter_mut().zip(row(by)[c0 * sc..].chunks_exact(sc)) {
            *o = load::<K, C>(px, lut);
        }
        return;
    }
    line.fill([0.0; C]);
    let rows = by * k..((by + 1) * k).min(h);
    let n_rows = rows.len();
    for y in rows {
        let row = row(y);
        for (bx, o) in (c0..).zip(line.iter_mut()) {
            for px in row[bx * k * sc..((bx + 1) * k).min(w) * sc].chunks_exact(sc) {
                let v = load::<K, C>(px, lut);
                for c in 0..C {
                    o[c] += v[c];
                }
            }
        }
    }
    for (bx, o) in (c0..).zip(line.iter_mut()) {
        let n = (n_rows * (((bx + 1) * k).min(w) - bx * k)) as f32;
        for v in o.iter_mut() {
            *v /= n;
        }
    }
}

/// One row through the horizontal kernel: one `[f32; C]` multiply-add per tap.
#[inline(never)]
fn filter_row<const C: usize>(line: &[[f32; C]], c0: usize, hk: &Kernel, dst: &mut [[f32; C]]) {
    for (x, d) in dst.iter_mut().enumerate() {
        let (s, weights) = hk.get(x);
        let mut a = [0.0f32; C];
        for (p, &wt) in line[s - c0..].iter().zip(weights) {
            for c in 0..C {
                a[c] += wt * p[c];
            }
        }
        *d = a;
    }
}

/// Weighted sum of ring rows `first..first + weights.len()`: flat slices, vectorised across pixels.
#[inline(never)]
fn blend_rows<const C: usize>(
    ring: &[Vec<[f32; C]>],
    first: usize,
    weights: &[f32],
    acc: &mut [[f32; C]],
) {
    let flat = acc.as_flattened_mut();
    flat.fill(0.0);
    for (j, &wt) in weights.iter().enumerate() {
        let row = ring[(first + j) % ring.len()].as_flattened();
        for (a, p) in flat.iter_mut().zip(row) {
            *a += wt * p;
        }
    }
}

#[inline(always)]
fn quantise(v: f32) -> usize {
    // Negative lobes overshoot both ends; NaN cannot occur (finite weights, finite samples).
    (v * STEPS + 0.5).clamp(0.0, STEPS) as usize
}

#[inline(always)]
fn unit_to_u8(v: f32) -> u8 {
    (v * 255.0 + 0.5).clamp(0.0, 255.0) as u8
}

/// Linear `f32` back to 8-bit samples (sRGB through the table; alpha unpremultiplied).
#[inline(never)]
fn store<const K: u8, const C: usize>(acc: &[[f32; C]], out: &mut [u8], sc: usize) {
    let srgb = &curves().to_srgb;
    for (a, o) in acc.iter().zip(out.chunks_exact_mut(sc)) {
        match K {
            GRAY => o[0] = srgb[quantise(a[0])],
            RGB | YCC => {
                for c in 0..3 {
                    o[c] = srgb[quantise(a[c])];
                }
            }
            OPAQUE => {
                for c in 0..3 {
                    o[c] = srgb[quantise(a[c])];
                }
                o[3] = 255;
            }
            RGBA => {
                let alpha = a[3].clamp(0.0, 1.0);
                for c in 0..3 {
                    o[c] = if alpha > 0.0 {
                        srgb[quantise(a[c] / alpha)]
                    } else {
                        0
                    };
                }
                o[3] = unit_to_u8(alpha);
            }
            _ => {
                for c in 0..C {
                    o[c] = unit_to_u8(a[c]);
                }
            }
        }
    }
}

/// A decoded image shown at its stored size still leaves this step as RGB.
pub(crate) fn to_rgb(mut p: Pixels) -> Pixels {
    if p.layout == Layout::YCbCr {
        for px in p.data.chunks_exact_mut(3) {
            let [r, g, b] = ycbcr_to_rgb::<1>(px);
            px.copy_from_slice(&[r[0], g[0], b[0]]);
        }
        p.layout = Layout::Rgb;
    }
    p
}

const fn fix(x: f64) -> i32 {
    (x * 65536.0 + 0.5) as i32
}
const CR_R: i32 = fix(1.40200);
const CB_B: i32 = fix(1.77200);
const CR_G: i32 = fix(0.71414);
const CB_G: i32 = fix(0.34414);
const HALF: i32 = 1 << 15;

/// JFIF's YCbCr → RGB in libjpeg's 16-bit fixed point (jdcolor.c's tables, computed instead of
/// looked up): integer only, so every platform gives the same bytes. `N` interleaved pixels in,
/// planar out: with N = 8 the arithmetic vectorises.
#[inline(always)]
pub(crate) fn ycbcr_to_rgb<const N: usize>(px: &[u8]) -> [[u8; N]; 3] {
    let (mut y, mut cb, mut cr) = ([0i32; N], [0i32; N], [0i32; N]);
    for i in 0..N {
        y[i] = i32::from(px[3 * i]);
        cb[i] = i32::from(px[3 * i + 1]) - 128;
        cr[i] = i32::from(px[3 * i + 2]) - 128;
    }
    let mut o = [[0u8; N]; 3];
    for i in 0..N {
        o[0][i] = (y[i] + ((CR_R * cr[i] + HALF) >> 16)).clamp(0, 255) as u8;
        o[1][i] = (y[i] + ((HALF - CB_G * cb[i] - CR_G * cr[i]) >> 16)).clamp(0, 255) as u8;
        o[2][i] = (y[i] + ((CB_B * cb[i] + HALF) >> 16)).clamp(0, 255) as u8;
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_weights_sum_to_one_and_stay_in_the_source() {
        for (from, len, out, size) in [
            (0.0, 5120.0, 1600, 5120),
            (0.0, 100.0, 7, 100),
            (10.5, 50.25, 13, 80),
            (0.0, 10.0, 30, 10),
        ] {
            let k = Kernel::new(from, len, out, size);
            for i in 0..out as usize {
                let (s, w) = k.get(i);
                assert!(s + w.len() <= size, "{i}: {s}+{} > {size}", w.len());
                let sum: f32 = w.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "{i}: sum {sum}");
            }
        }
    }

    #[test]
    fn ycbcr_matches_libjpeg_tables() {
        // jdcolor.c's build_ycc_rgb_table + ycc_rgb_convert, as written there.
        let fix = |x: f64| (x * 65536.0 + 0.5) as i32;
        let half = 1 << 15;
        let cr_r = |i: i32| (fix(1.40200) * (i - 128) + half) >> 16;
        let cb_b = |i: i32| (fix(1.77200) * (i - 128) + half) >> 16;
        let cr_g = |i: i32| -fix(0.71414) * (i - 128);
        let cb_g = |i: i32| -fix(0.34414) * (i - 128) + half;
        for y in (0..=255).step_by(5) {
            for cb in 0..=255 {
                for cr in (0..=255).step_by(3) {
                    let want = [
                        (y + cr_r(cr)).clamp(0, 255) as u8,
                        (y + ((cb_g(cb) + cr_g(cr)) >> 16)).clamp(0, 255) as u8,
                        (y + cb_b(cb)).clamp(0, 255) as u8,
                    ];
                    assert_eq!(
                        ycbcr_to_rgb::<1>(&[y as u8, cb as u8, cr as u8]).map(|c| c[0]),
                        want
                    );
                }
            }
        }
        assert_eq!(ycbcr_to_rgb::<1>(&[128, 128, 128]).map(|c| c[0]), [128; 3]);
        // The 8-pixel block gives what each pixel gives alone.
        let block: Vec<u8> = (0..24u8).map(|i| i.wrapping_mul(97)).collect();
        let eight = ycbcr_to_rgb::<8>(&block);
        for (i, px) in block.chunks_exact(3).enumerate() {
            assert_eq!(ycbcr_to_rgb::<1>(px).map(|c| c[0]), eight.map(|c| c[i]));
        }
    }

    proptest::proptest! {
        /// Any image, crop and output size the geometry pass can hand over: no panic, the planned
        /// size, and opaque RGBA filtered exactly like the same pixels as RGB.
        #[test]
        fn any_crop_and_size(
            (w, h) in (1u32..160, 1u32..160),
            (fx, fy, fw, fh) in (0.0f64..1.0, 0.0f64..1.0, 0.0f64..1.0, 0.0f64..1.0),
            (ow, oh) in (0.0f64..1.0, 0.0f64..1.0),
            layout in 0usize..5,
            seed in proptest::prelude::any::<u64>(),
        ) {
            let layout = [Layout::Gray, Layout::Rgb, Layout::YCbCr, Layout::Rgba, Layout::Cmyk][layout];
            let (wf, hf) = (f64::from(w), f64::from(h));
            // A crop of at least one pixel inside the image; the output never larger than the crop.
            let width = 1.0 + fw * (wf - 1.0);
            let height = 1.0 + fh * (hf - 1.0);
            let crop = Rect { left: fx * (wf - width), top: fy * (hf - height), width, height };
            let to = (1 + (ow * (width.floor() - 1.0)) as u32, 1 + (oh * (height.floor() - 1.0)) as u32);
            let mut x = seed | 1;
            let data: Vec<u8> = (0..w as usize * h as usize * layout.channels())
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let out = resize(Pixels::new(w, h, layout, data.clone()), crop, to).unwrap();
            proptest::prop_assert_eq!((out.width, out.height), to);
            proptest::prop_assert_eq!(out.data.len(), to.0 as usize * to.1 as usize * out.layout.channels());
            if layout == Layout::Rgb {
                let rgba: Vec<u8> = data.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
                let opaque = resize(Pixels::new(w, h, Layout::Rgba, rgba), crop, to).unwrap();
                let rgb: Vec<u8> = opaque.data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
                proptest::prop_assert_eq!(rgb, out.data);
            }
        }
    }

    #[test]
    fn flat_colour_survives_any_resize() {
        for layout in [Layout::Gray, Layout::Rgb, Layout::Rgba, Layout::Cmyk] {
            let c = layout.channels();
            let px: Vec<u8> = [200u8, 17, 90, 255][..c].to_vec();
            let data = px.repeat(97 * 61);
            let p = Pixels::new(97, 61, layout, data);
            let crop = Rect {
                left: 3.25,
                top: 1.5,
                width: 90.0,
                height: 55.0,
            };
            let out = resize(p, crop, (13, 9)).unwrap();
            assert!(out.data.chunks_exact(c).all(|p| p == &px[..]), "{layout:?}");
        }
    }
}
