//! Component planes → interleaved output rows: chroma upsampling as libjpeg does it by default
//! ("fancy": jdsample.c's triangle filters for 2:1 horizontally, vertically or both, with its
//! rounding biases; plain replication for other integer ratios), then the colour layout the
//! pipeline reads (raw YCbCr, which the resize converts while reading; RGB; grey; CMYK as ink
//! amounts, YCCK converted to it).
//!
//! A component decoded at a larger IDCT size needs no upsampling at all: like libjpeg, 4:2:0
//! chroma at M/8 < 8/8 is transformed at 2M/8 (see `mod.rs`), so only full-size decodes and
//! the other subsamplings come here with a ratio of 2.
use super::markers::Colour;
use super::scan::Plane;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Copy,
    H2V1,
    H1V2,
    H2V2,
    /// Each sample repeated (h, v) times.
    Replicate(usize, usize),
}

/// libjpeg's choice (jdsample.c, jinit_upsampler): `h_in`/`v_in` are the component's samples
/// per `h_out`/`v_out` output samples. `fancy` is false at scale 1/8, where libjpeg-turbo
/// replicates (its main buffer has no context rows at that size).
pub fn method(
    h_in: usize,
    v_in: usize,
    h_out: usize,
    v_out: usize,
    width: usize,
    fancy: bool,
) -> Result<Method> {
    Ok(if h_in == h_out && v_in == v_out {
        Method::Copy
    } else if !fancy && h_in > 0 && v_in > 0 && h_out % h_in == 0 && v_out % v_in == 0 {
        Method::Replicate(h_out / h_in, v_out / v_in)
    } else if h_in * 2 == h_out && v_in == v_out {
        if width > 2 {
            Method::H2V1
        } else {
            Method::Replicate(2, 1)
        }
    } else if h_in == h_out && v_in * 2 == v_out {
        Method::H1V2
    } else if h_in * 2 == h_out && v_in * 2 == v_out {
        if width > 2 {
            Method::H2V2
        } else {
            Method::Replicate(2, 2)
        }
    } else if h_in > 0 && v_in > 0 && h_out % h_in == 0 && v_out % v_in == 0 {
        Method::Replicate(h_out / h_in, v_out / v_in)
    } else {
        return Err(Error::unsupported(
            "JPEG chroma subsampling with a fractional ratio",
        ));
    })
}

/// Output row `y` of one component, `out.len()` samples wide.
#[inline(never)]
pub fn row(p: &Plane, m: Method, y: usize, out: &mut [u8], colsum: &mut [i32]) {
    let line = |r: usize| &p.data[r * p.stride..r * p.stride + p.width];
    let w = out.len();
    match m {
        Method::Copy => out.copy_from_slice(&p.data[y * p.stride..y * p.stride + w]),
        Method::Replicate(h, v) => {
            let src = &p.data[(y / v) * p.stride..];
            for (x, o) in out.iter_mut().enumerate() {
                *o = src[x / h];
            }
        }
        Method::H2V1 => {
            let src = line(y);
            let n = src.len();
            let put = |i: usize, v: i32, out: &mut [u8]| {
                if i < w {
                    out[i] = v as u8;
                }
            };
            let s = |i: usize| i32::from(src[i]);
            put(0, s(0), out);
            put(1, (s(0) * 3 + s(1) + 2) >> 2, out);
            for i in 1..n - 1 {
                let c = s(i) * 3;
                put(2 * i, (c + s(i - 1) + 1) >> 2, out);
                put(2 * i + 1, (c + s(i + 1) + 2) >> 2, out);
            }
            put(2 * n - 2, (s(n - 1) * 3 + s(n - 2) + 1) >> 2, out);
            put(2 * n - 1, s(n - 1), out);
        }
        Method::H1V2 => {
            let (near, far, bias) = vertical(p, y);
            let (near, far) = (line(near), line(far));
            for (x, o) in out.iter_mut().enumerate() {
                *o = ((i32::from(near[x]) * 3 + i32::from(far[x]) + bias) >> 2) as u8;
            }
        }
        Method::H2V2 => {
            let (near, far, _) = vertical(p, y);
            let (near, far) = (line(near), line(far));
            let n = near.len();
            for (c, (&a, &b)) in colsum.iter_mut().zip(near.iter().zip(far)) {
                *c = i32::from(a) * 3 + i32::from(b);
            }
            let s = &colsum[..n];
            let put = |i: usize, v: i32, out: &mut [u8]| {
                if i < w {
                    out[i] = v as u8;
                }
            };
            put(0, (s[0] * 4 + 8) >> 4, out);
            put(1, (s[0] * 3 + s[1] + 7) >> 4, out);
            for i in 1..n - 1 {
                put(2 * i, (s[i] * 3 + s[i - 1] + 8) >> 4, out);
                put(2 * i + 1, (s[i] * 3 + s[i + 1] + 7) >> 4, out);
            }
            put(2 * n - 2, (s[n - 1] * 3 + s[n - 2] + 8) >> 4, out);
            put(2 * n - 1, (s[n - 1] * 4 + 7) >> 4, out);
        }
    }
}

/// The input row nearest output row `y` of a 2:1 vertical ratio, the one beyond it (edges
/// repeat), and h1v2's rounding bias (1 above, 2 below, as jdsample.c).
fn vertical(p: &Plane, y: usize) -> (usize, usize, i32) {
    let r = (y / 2).min(p.height - 1);
    if y % 2 == 0 {
        (r, r.saturating_sub(1), 1)
    } else {
        (r, (r + 1).min(p.height - 1), 2)
    }
}

/// Interleaves one output row of every component into `out` in the pipeline's layout.
#[inline(never)]
pub fn interleave(rows: &[&[u8]], colour: Colour, out: &mut [u8]) {
    match colour {
        Colour::Grey => out.copy_from_slice(&rows[0][..out.len()]),
        Colour::YCbCr | Colour::Rgb => {
            let n = out.len() / 3;
            let (a, b, c) = (&rows[0][..n], &rows[1][..n], &rows[2][..n]);
            for (((px, &a), &b), &c) in out.chunks_exact_mut(3).zip(a).zip(b).zip(c) {
                px[0] = a;
                px[1] = b;
                px[2] = c;
            }
        }
        // Adobe's CMYK is stored inverted; the pipeline wants ink amounts.
        Colour::Cmyk => {
            for (x, px) in out.chunks_exact_mut(4).enumerate() {
                for c in 0..4 {
                    px[c] = 255 - rows[c][x];
                }
            }
        }
        // YCC gives the inverted C, M, Y back as "RGB", i.e. the ink amounts; K is inverted.
        Colour::Ycck => {
            for (x, px) in out.chunks_exact_mut(4).enumerate() {
                let [r, g, b] =
                    crate::resize::ycbcr_to_rgb::<1>(&[rows[0][x], rows[1][x], rows[2][x]]);
                px[0] = r[0];
                px[1] = g[0];
                px[2] = b[0];
                px[3] = 255 - rows[3][x];
            }
        }
    }
}
