//! Image-quality tools for tests and benchmarks (not used by the pipeline itself):
//! - [`dssim`]: our own structural dissimilarity, `1/SSIM − 1` over CIE L*a*b* (Gaussian window
//!   σ = 1.5, five scales weighted as MS-SSIM, chroma from half size). The idea of the `dssim`
//!   tool (AGPL: only ever run as an outside program), not its numbers: calibrated on the pair
//!   measured with that tool on the build machine (LadyBird at 600 px, libwebp q85: tool 0.00095, ours 0.0090),
//!   ours reads about 9× higher, so the 0.002 is about 0.018 here.
//! - [`reference_resize`]: a slow, straightforward float Lanczos3 in linear light, the yardstick
//!   the fast path is measured against.
//! - [`decode_rgb`]: any input → full-size, oriented, sRGB, flattened-on-white RGB pixels.
//! - [`cpu_time`]: how long a step took on this thread, for the benchmark examples.
use crate::error::Result;
use crate::{colour, decode, limits::Limits, orient, pixels::Layout, probe};

/// RGB8 image for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

pub fn decode_rgb(input: &[u8], limits: &Limits) -> Result<Rgb> {
    limits.check_input(input)?;
    let info = probe::probe(input)?;
    limits.check_header(&info)?;
    let d = decode::decode(
        input,
        &info,
        (info.stored_width, info.stored_height),
        limits,
    )?;
    let p = orient::orient(crate::resize::to_rgb(d.pixels), info.orientation);
    let (w, h) = (p.width, p.height);
    let finish = colour::Finish {
        keep_alpha: false,
        background: [255; 3],
        canvas: (w, h),
        offset: (0, 0),
    };
    let p = colour::colour(p, d.icc.as_deref(), &finish)?;
    let data = match p.layout {
        Layout::Gray => p.data.iter().flat_map(|&v| [v, v, v]).collect(),
        _ => p.data,
    };
    Ok(Rgb {
        width: w,
        height: h,
        data,
    })
}

fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(v: f64) -> f64 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.0031308 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

fn lanczos3(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else if x.abs() < 3.0 {
        let px = std::f64::consts::PI * x;
        3.0 * px.sin() * (px / 3.0).sin() / (px * px)
    } else {
        0.0
    }
}

/// One axis of a separable resample: weights for every output position.
fn weights(src: usize, dst: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = src as f64 / dst as f64;
    let support = 3.0 * scale.max(1.0);
    let filter_scale = scale.max(1.0);
    (0..dst)
        .map(|i| {
            let centre = (i as f64 + 0.5) * scale;
            let lo = (centre - support).floor().max(0.0) as usize;
            let hi = ((centre + support).ceil() as usize).min(src);
            let mut w: Vec<f64> = (lo..hi)
                .map(|j| lanczos3((j as f64 + 0.5 - centre) / filter_scale))
                .collect();
            let sum: f64 = w.iter().sum();
            w.iter_mut().for_each(|v| *v /= sum);
            (lo, w)
        })
        .collect()
}

/// Float Lanczos3 in linear light, RGB8 in and out.
pub fn reference_resize(src: &Rgb, width: u32, height: u32) -> Rgb {
    let (sw, sh) = (src.width as usize, src.height as usize);
    let (dw, dh) = (width as usize, height as usize);
    let lin: Vec<f64> = src
        .data
        .iter()
        .map(|&v| srgb_to_linear(f64::from(v) / 255.0))
        .collect();
    let wx = weights(sw, dw);
    let mut horiz = vec![0.0f64; dw * sh * 3];
    for y in 0..sh {
        for (x, (lo, w)) in wx.iter().enumerate() {
            for c in 0..3 {
                horiz[(y * dw + x) * 3 + c] = w
                    .iter()
                    .enumerate()
                    .map(|(k, wk)| wk * lin[(y * sw + lo + k) * 3 + c])
                    .sum();
            }
        }
    }
    let wy = weights(sh, dh);
    let mut data = vec![0u8; dw * dh * 3];
    for (y, (lo, w)) in wy.iter().enumerate() {
        for x in 0..dw {
            for c in 0..3 {
                let v: f64 = w
                    .iter()
                    .enumerate()
                    .map(|(k, wk)| wk * horiz[((lo + k) * dw + x) * 3 + c])
                    .sum();
                data[(y * dw + x) * 3 + c] = (linear_to_srgb(v) * 255.0).round() as u8;
            }
        }
    }
    Rgb {
        width,
        height,
        data,
    }
}

/// sRGB8 → L*a*b* planes (D65).
fn lab(img: &Rgb) -> [Vec<f32>; 3] {
    let n = img.width as usize * img.height as usize;
    let mut out = [vec![0f32; n], vec![0f32; n], vec![0f32; n]];
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    for (i, p) in img.data.chunks_exact(3).enumerate() {
        let [r, g, b] = [p[0], p[1], p[2]].map(|v| srgb_to_linear(f64::from(v) / 255.0));
        let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
        let (fx, fy, fz) = (f(x), f(y), f(z));
        out[0][i] = (116.0 * fy - 16.0) as f32;
        out[1][i] = (500.0 * (fx - fy)) as f32;
        out[2][i] = (200.0 * (fy - fz)) as f32;
    }
    out
}

fn blur(p: &[f32], w: usize, h: usize) -> Vec<f32> {
    const K: [f32; 7] = [0.0044, 0.0540, 0.2420, 0.3991, 0.2420, 0.0540, 0.0044];
    let at = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    let mut t = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            t[y * w + x] = K
                .iter()
                .enumerate()
                .map(|(k, kv)| kv * p[y * w + at(x as isize + k as isize - 3, w)])
                .sum();
        }
    }
    let mut o = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            o[y * w + x] = K
                .iter()
                .enumerate()
                .map(|(k, kv)| kv * t[at(y as isize + k as isize - 3, h) * w + x])
                .sum();
        }
    }
    o
}

/// Mean SSIM of one plane. Chroma planes (a*, b*) sit around 0 and change sign, where SSIM's
/// luminance term is meaningless: they use the contrast-structure term alone.
fn ssim_plane(a: &[f32], b: &[f32], w: usize, h: usize, range: f32, luminance: bool) -> f64 {
    let (c1, c2) = ((0.01 * range).powi(2), (0.03 * range).powi(2));
    let mul = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).collect::<Vec<f32>>();
    let (ma, mb) = (blur(a, w, h), blur(b, w, h));
    let (saa, sbb, sab) = (
        blur(&mul(a, a), w, h),
        blur(&mul(b, b), w, h),
        blur(&mul(a, b), w, h),
    );
    let mut sum = 0f64;
    for i in 0..w * h {
        let (va, vb) = (saa[i] - ma[i] * ma[i], sbb[i] - mb[i] * mb[i]);
        let cov = sab[i] - ma[i] * mb[i];
        let l = if luminance {
            (2.0 * ma[i] * mb[i] + c1) / (ma[i] * ma[i] + mb[i] * mb[i] + c1)
        } else {
            1.0
        };
        let s = l * (2.0 * cov + c2) / (va + vb + c2);
        sum += f64::from(s);
    }
    sum / (w * h) as f64
}

fn half(p: &[f32], w: usize, h: usize) -> (Vec<f32>, usize, usize) {
    let (hw, hh) = (w / 2, h / 2);
    let mut o = vec![0f32; hw * hh];
    for y in 0..hh {
        for x in 0..hw {
            let i = 2 * y * w + 2 * x;
            o[y * hw + x] = (p[i] + p[i + 1] + p[i + w] + p[i + w + 1]) / 4.0;
        }
    }
    (o, hw, hh)
}

/// Structural dissimilarity of two same-size images: 0 = identical; ≈0.001 invisible, ≈0.01
/// visible on close inspection, ≥0.05 obviously different. `None` when the sizes differ.
pub fn dssim(a: &Rgb, b: &Rgb) -> Option<f64> {
    if (a.width, a.height) != (b.width, b.height) || a.width < 8 || a.height < 8 {
        return None;
    }
    let (la, lb) = (lab(a), lab(b));
    // Lightness dominates; chroma counts at half weight. Five scales weighted towards the coarse
    // ones (MS-SSIM's weights), so invisible pixel-level noise weighs less than visible change.
    const SCALES: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
    let weights = [1.0, 0.5, 0.5];
    let (mut total, mut wsum) = (0f64, 0f64);
    for c in 0..3 {
        let (mut pa, mut pb) = (la[c].clone(), lb[c].clone());
        let (mut w, mut h) = (a.width as usize, a.height as usize);
        // The eye resolves colour more coarsely than lightness: chroma starts at half size.
        if c > 0 && w >= 32 && h >= 32 {
            let (na, nw, nh) = half(&pa, w, h);
            pb = half(&pb, w, h).0;
            pa = na;
            (w, h) = (nw, nh);
        }
        for scale_weight in SCALES {
            let s = ssim_plane(&pa, &pb, w, h, 100.0, c == 0);
            total += weights[c] * scale_weight * s;
            wsum += weights[c] * scale_weight;
            if w < 16 || h < 16 {
                break;
            }
            let (na, nw, nh) = half(&pa, w, h);
            pb = half(&pb, w, h).0;
            pa = na;
            (w, h) = (nw, nh);
        }
    }
    Some(1.0 / (total / wsum).max(1e-6) - 1.0)
}

/// Runs `f` and returns the milliseconds this thread spent on a CPU meanwhile
/// (`/proc/thread-self/schedstat`: nanoseconds running), so other work on a shared machine does
/// not count; wall time where that file is absent (other systems, wasm).
pub fn cpu_time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let cpu_ms = || -> Option<f64> {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        Some(s.split_whitespace().next()?.parse::<f64>().ok()? / 1e6)
    };
    let (start, before) = (std::time::Instant::now(), cpu_ms());
    let out = f();
    match (before, cpu_ms()) {
        (Some(a), Some(b)) => (b - a, out),
        _ => (start.elapsed().as_secs_f64() * 1000.0, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(w: u32, h: u32, seed: u32) -> Rgb {
        let mut s = seed;
        let data = (0..w * h * 3)
            .map(|_| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (s >> 16) as u8
            })
            .collect();
        Rgb {
            width: w,
            height: h,
            data,
        }
    }

    #[test]
    fn dssim_is_zero_for_identical_and_grows_with_damage() {
        let a = noise(64, 48, 1);
        assert_eq!(dssim(&a, &a), Some(0.0));
        let mut slight = a.clone();
        slight
            .data
            .iter_mut()
            .step_by(7)
            .for_each(|v| *v = v.saturating_add(6));
        let other = noise(64, 48, 2);
        let (d1, d2) = (dssim(&a, &slight).unwrap(), dssim(&a, &other).unwrap());
        assert!(0.0 < d1 && d1 < d2, "{d1} {d2}");
        assert!(d2 > 0.1, "{d2}");
        assert_eq!(dssim(&a, &noise(64, 47, 1)), None);
    }

    #[test]
    fn reference_resize_keeps_flat_colour_and_mean_light() {
        let flat = Rgb {
            width: 40,
            height: 30,
            data: [10u8, 200, 90].repeat(40 * 30),
        };
        assert_eq!(
            reference_resize(&flat, 7, 5).data,
            [10u8, 200, 90].repeat(35)
        );
        // A 1-px black/white checkerboard is 50 % light: sRGB 188, not 128.
        let data = (0..64 * 64)
            .flat_map(|i| {
                if (i % 64 + i / 64) % 2 == 0 {
                    [0u8; 3]
                } else {
                    [255; 3]
                }
            })
            .collect();
        let small = reference_resize(
            &Rgb {
                width: 64,
                height: 64,
                data,
            },
            8,
            8,
        );
        assert!(
            small.data.iter().all(|&v| v.abs_diff(188) <= 2),
            "{:?}",
            &small.data[..6]
        );
    }
}
