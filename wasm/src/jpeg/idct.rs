//! The inverse DCT, scaled: an 8×8 block of coefficients becomes an N×N block of samples for
//! N in 1..=8, 10, 12 and 14, with the maths libjpeg-turbo's `djpeg -scale` uses for each size (see
//! [`weights`]): box means of the 8-point transform for N = 1, 2, 4, the N-point transform of the
//! low frequencies for N = 3, 5, 6, 7 (jidctint.c's `jpeg_idct_NxN`), and of all eight spread over
//! N samples for N > 8. Every one keeps a flat block's level.
//!
//! Written as two passes of an N×8 matrix product in integers (weights in 12-bit fixed point,
//! computed with `libm` so every target builds the same table), skipping the columns and rows
//! whose coefficients are all zero: in a photo most of a block's 64 coefficients are, so the
//! work follows what is coded. Integer-only and in a fixed order: native and wasm give the same
//! bytes. Every intermediate is clamped so no input, however hostile, overflows.
use std::sync::OnceLock;

/// Fractional bits of the weights.
const W: u32 = 12;
/// Fractional bits kept between the passes.
const P: u32 = 3;
/// Dequantised coefficients are clamped to this (legal 8-bit data stays within ±2^12).
pub const COEF_MAX: i32 = 1 << 15;
/// Pass-one results are clamped to this (±2^13 in sample units: four times the legal range).
const MID_MAX: i32 = 1 << 16;

/// How many coefficients per axis an N-sample transform reads: all 8, except for the sizes libjpeg
/// computes as N-point transforms of the low frequencies (3, 5, 6, 7).
fn taps(n: usize) -> usize {
    if matches!(n, 3 | 5 | 6 | 7) {
        n
    } else {
        8
    }
}

/// The frequencies whose weights are not all zero at size n: a box mean over 8/n samples
/// cancels the even frequencies it spans whole (2, 4, 6 at n = 2; 4 at n = 4), which need no
/// work at all.
const fn active(n: usize) -> u8 {
    match n {
        1 => 0b0000_0001,
        2 => 0b1010_1011,
        4 => 0b1110_1111,
        3 | 5 | 6 | 7 => ((1u16 << n) - 1) as u8,
        _ => 0xFF,
    }
}

/// Samples a row of weights holds: n rounded up to whole 4-lane vectors (zeros past n), so the
/// inner loops run on full vectors in wasm's simd128 and SSE alike.
const fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// `weights(n)[u * padded(n) + x]`: the weight of frequency u in sample x of n, in W-bit fixed
/// point (frequency-major, so the inner loops run along the samples and vectorise).
/// - n = 1, 2, 4: the mean of 8/n neighbouring samples of the 8-point transform (libjpeg-turbo
///   takes these three sizes from libjpeg 6b's jidctred.c, which computes exactly that: box
///   averages, where the frequencies that cancel over a box drop out);
/// - any other n: ½·c(u)·cos((2x+1)uπ / 2n) for u < taps(n) (jidctint.c's N-point transforms;
///   n = 8 is the plain inverse DCT, n > 8 spreads the 8 frequencies over more samples).
fn weights(n: usize) -> &'static [i32] {
    static TABLES: OnceLock<Vec<Vec<i32>>> = OnceLock::new();
    &TABLES.get_or_init(|| {
        let basis = |x: f64, u: usize, n: usize| {
            let c = if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            };
            0.5 * c * libm::cos((2.0 * x + 1.0) * u as f64 * std::f64::consts::PI / (2 * n) as f64)
        };
        (0..=14usize)
            .map(|n| {
                let mut t = vec![0i32; padded(n) * 8];
                for x in 0..n {
                    for u in 0..taps(n) {
                        let v = if matches!(n, 1 | 2 | 4) {
                            let k = 8 / n;
                            (0..k).map(|j| basis((x * k + j) as f64, u, 8)).sum::<f64>() / k as f64
                        } else {
                            basis(x as f64, u, n)
                        };
                        t[u * padded(n) + x] = libm::round(v * f64::from(1u32 << W)) as i32;
                    }
                }
                t
            })
            .collect()
    })[n]
}

/// Which coefficients a block holds: a bit per column with any nonzero value, and the number of
/// rows up to the last nonzero one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extent {
    pub cols: u8,
    pub rows: u8,
}

impl Extent {
    #[cfg(test)]
    pub fn add(&mut self, natural: usize) {
        self.cols |= 1 << (natural & 7);
        self.rows = self.rows.max((natural >> 3) as u8 + 1);
    }

    #[cfg(test)]
    pub fn of(block: &[i32; 64]) -> Extent {
        let mut e = Extent::default();
        for (i, &v) in block.iter().enumerate() {
            if v != 0 {
                e.add(i);
            }
        }
        e
    }
}

const ROUND1: i32 = 1 << (W - P - 1);
const BIAS: i32 = (128 << (W + P)) + (1 << (W + P - 1));

/// The N×N samples of one dequantised block (natural order) into `out` (rows `stride` apart).
pub fn idct(block: &[i32; 64], extent: Extent, n: usize, out: &mut [u8], stride: usize) {
    match n {
        1 => flat::<1>(block, out, stride),
        2 => sized::<2, 4>(block, extent, out, stride),
        3 => sized::<3, 4>(block, extent, out, stride),
        4 => sized::<4, 4>(block, extent, out, stride),
        5 => sized::<5, 8>(block, extent, out, stride),
        6 => sized::<6, 8>(block, extent, out, stride),
        7 => sized::<7, 8>(block, extent, out, stride),
        8 => sized::<8, 8>(block, extent, out, stride),
        10 => sized::<10, 12>(block, extent, out, stride),
        12 => sized::<12, 12>(block, extent, out, stride),
        14 => sized::<14, 16>(block, extent, out, stride),
        _ => unreachable!("IDCT size {n}"),
    }
}

/// Only the DC term counts (a flat block, or the 1×1 box mean where every other frequency
/// cancels): computed exactly as the general path computes it.
#[inline(always)]
fn flat<const N: usize>(block: &[i32; 64], out: &mut [u8], stride: usize) {
    let w0 = weights(N)[0];
    let mid = ((w0 * block[0] + ROUND1) >> (W - P)).clamp(-MID_MAX, MID_MAX);
    let v = ((w0 * mid + BIAS) >> (W + P)).clamp(0, 255) as u8;
    for y in 0..N {
        out[y * stride..y * stride + N].fill(v);
    }
}

/// `PN` is `padded(N)`: every vector loop runs over PN lanes, the padding's weights are zero.
#[inline(never)]
fn sized<const N: usize, const PN: usize>(
    block: &[i32; 64],
    extent: Extent,
    out: &mut [u8],
    stride: usize,
) {
    debug_assert_eq!(PN, padded(N));
    let t = weights(N);
    let k = taps(N);
    let rows = usize::from(extent.rows).min(k);
    let mask = active(N);
    let cols = extent.cols & mask;
    if cols <= 1 && rows <= 1 {
        return flat::<N>(block, out, stride);
    }
    let ncols = 8 - cols.leading_zeros() as usize;
    // Pass one, down the columns: mid[u][y] = Σ_v w(y, v)·F(v, u).
    let mut mid = [[0i32; PN]; 8];
    for (u, m) in mid.iter_mut().enumerate().take(ncols) {
        if cols >> u & 1 == 0 {
            continue;
        }
        let mut acc = [ROUND1; PN];
        for v in 0..rows {
            if mask >> v & 1 == 0 {
                continue;
            }
            let f = block[v * 8 + u];
            let w: &[i32; PN] = t[v * PN..v * PN + PN].try_into().unwrap();
            for y in 0..PN {
                acc[y] += w[y] * f;
            }
        }
        for y in 0..PN {
            m[y] = (acc[y] >> (W - P)).clamp(-MID_MAX, MID_MAX);
        }
    }
    // Pass two, along the rows: out[y][x] = Σ_u w(x, u)·mid[u][y].
    for y in 0..N {
        let mut acc = [BIAS; PN];
        for u in 0..ncols {
            let m = mid[u][y];
            let w: &[i32; PN] = t[u * PN..u * PN + PN].try_into().unwrap();
            for x in 0..PN {
                acc[x] += w[x] * m;
            }
        }
        let row: &mut [u8; N] = (&mut out[y * stride..y * stride + N]).try_into().unwrap();
        for x in 0..N {
            row[x] = (acc[x] >> (W + P)).clamp(0, 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size a decode asks for: M in 1..=8, and a subsampled component's 2M or 4M below 16.
    const SIZES: [usize; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14];

    /// The 2-D transform in f64: the 8×8 inverse DCT box-averaged for n = 1, 2, 4, else the
    /// n-point transform of the low `taps(n)` frequencies.
    fn reference(block: &[i32; 64], n: usize) -> Vec<f64> {
        let c = |u: usize| {
            if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            }
        };
        let basis = |p: f64, f: usize, n: usize| {
            0.5 * c(f) * ((2.0 * p + 1.0) * f as f64 * std::f64::consts::PI / (2 * n) as f64).cos()
        };
        let one = |x: usize, u: usize| -> f64 {
            if matches!(n, 1 | 2 | 4) {
                let k = 8 / n;
                (0..k).map(|j| basis((x * k + j) as f64, u, 8)).sum::<f64>() / k as f64
            } else {
                basis(x as f64, u, n)
            }
        };
        let k = taps(n);
        let mut out = vec![0.0; n * n];
        for y in 0..n {
            for x in 0..n {
                let mut s = 0.0;
                for v in 0..k {
                    for u in 0..k {
                        s += f64::from(block[v * 8 + u]) * one(x, u) * one(y, v);
                    }
                }
                out[y * n + x] = (s + 128.0).clamp(0.0, 255.0);
            }
        }
        out
    }

    #[test]
    fn matches_the_exact_transform_at_every_size() {
        let mut seed = 12345u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as i32
        };
        for n in SIZES {
            for _ in 0..200 {
                let mut b = [0i32; 64];
                for (i, v) in b.iter_mut().enumerate() {
                    // Larger low frequencies, as in photos.
                    let range = 1024 >> (i / 8 + i % 8).min(8);
                    *v = rnd() % (range + 1) - range / 2;
                }
                let mut out = vec![0u8; n * n];
                idct(&b, Extent::of(&b), n, &mut out, n);
                for (o, r) in out.iter().zip(reference(&b, n)) {
                    assert!((f64::from(*o) - r).abs() <= 1.0, "n={n}: {o} vs {r}");
                }
            }
        }
    }

    #[test]
    fn hostile_coefficients_do_not_overflow() {
        let b = [COEF_MAX; 64];
        let mut out = vec![0u8; 256];
        for n in SIZES {
            idct(&b, Extent::of(&b), n, &mut out, 16);
            idct(&b.map(|v| -v), Extent::of(&b), n, &mut out, 16);
        }
    }
}
