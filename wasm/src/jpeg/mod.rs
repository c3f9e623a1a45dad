//! Our JPEG decoder: baseline and progressive Huffman-coded JPEGs, 8-bit, grey, YCbCr, RGB,
//! CMYK and YCCK, every integer chroma subsampling, restart markers; scaled by M/8 (1/8 … 8/8)
//! inside the IDCT, so shrink-on-load can stop at exactly twice the output size.
//!
//! - `markers`: segments (frame, tables, scan headers, colour markers);
//! - `huffman`: the bit reader and the Huffman tables;
//! - `scan`: one scan's data — sequential scans transform block by block into the component
//!   planes, progressive scans refine the kept coefficients;
//! - `idct`: the scaled inverse DCT (integer, any N in 1..=16);
//! - `upsample`: chroma upsampling (libjpeg's "fancy" filters) and the output layout.
//!
//! Component sizes follow libjpeg (jdmaster.c): at scale M/8 a subsampled component whose
//! factors allow it is transformed at 2M/8 (or 4M/8), up to 8/8, instead of being upsampled
//! afterwards — 4:2:0 chroma at 5/8 comes from a 10×10 IDCT — so the output matches `djpeg
//! -scale M/8` within the IDCT's rounding. Arithmetic coding, lossless, hierarchical and 12-bit
//! JPEGs are refused (`unsupported`). The limits hold before any buffer exists: pixels (the
//! frame header is checked again here, not only by the probe) and scans (counted as they come).
mod huffman;
mod idct;
mod markers;
mod scan;
mod upsample;

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::pixels::{Layout, Pixels};
use markers::{Colour, ColourMarkers, Frame};
use scan::{Coefficients, Ctx, Plane};

/// A decoded JPEG in the pipeline's layout, with its ICC profile.
pub(crate) struct Image {
    pub pixels: Pixels,
    pub icc: Option<Vec<u8>>,
}

/// The IDCT size of a component with factors (h, v) at scale `m`/8 (libjpeg's jdmaster.c rule):
/// doubled while below 8 and the component still needs at least that much upsampling.
pub fn component_size(m: usize, h: usize, v: usize, hmax: usize, vmax: usize) -> usize {
    let mut s = m;
    while s < 8 && (hmax * m) % (h * s * 2) == 0 && (vmax * m) % (v * s * 2) == 0 {
        s *= 2;
    }
    s
}

/// The bytes of every buffer a decode at `m`/8 allocates for this frame: the component planes,
/// a progressive image's coefficients and the output. From the frame header alone.
pub fn memory(
    width: usize,
    height: usize,
    sampling: &[(u8, u8)],
    progressive: bool,
    m: usize,
) -> u64 {
    let single = sampling.len() == 1;
    let fac = |(h, v): (u8, u8)| {
        if single {
            (1, 1)
        } else {
            (usize::from(h), usize::from(v))
        }
    };
    let hmax = sampling.iter().map(|&s| fac(s).0).max().unwrap_or(1);
    let vmax = sampling.iter().map(|&s| fac(s).1).max().unwrap_or(1);
    let (mx, my) = (
        width.div_ceil(8 * hmax) as u64,
        height.div_ceil(8 * vmax) as u64,
    );
    let mut bytes = 0u64;
    for &s in sampling {
        let (h, v) = fac(s);
        let blocks = mx * h as u64 * my * v as u64;
        let n = component_size(m, h, v, hmax, vmax) as u64;
        bytes += blocks * n * n;
        if progressive {
            bytes += blocks * 128;
        }
    }
    let out = (width * m).div_ceil(8) as u64 * (height * m).div_ceil(8) as u64;
    bytes + out * sampling.len() as u64
}

/// The samples as the decoder hands them to the pipeline, for the conformance tests and the
/// benchmark: `layout` is "grey", "ycbcr" (not converted: the resize does that), "rgb" or "cmyk"
/// (ink amounts).
pub struct Raw {
    pub width: u32,
    pub height: u32,
    pub layout: &'static str,
    pub data: Vec<u8>,
}

pub fn decode_raw(input: &[u8], m: u32, limits: &Limits) -> Result<Raw> {
    let p = decode(input, m, limits)?.pixels;
    let layout = match p.layout {
        Layout::Gray => "grey",
        Layout::YCbCr => "ycbcr",
        Layout::Rgb => "rgb",
        Layout::Cmyk => "cmyk",
        Layout::Rgba => "rgba",
    };
    Ok(Raw {
        width: p.width,
        height: p.height,
        layout,
        data: p.data,
    })
}

/// Everything the segments before and between scans define.
struct Headers<'a> {
    quant: [Option<[u16; 64]>; 4],
    dc: [Option<huffman::Huffman>; 4],
    ac: [Option<huffman::Huffman>; 4],
    restart: usize,
    colour: ColourMarkers,
    icc: Vec<(u8, &'a [u8])>,
    frame: Option<Frame>,
}

impl<'a> Headers<'a> {
    fn new() -> Headers<'a> {
        Headers {
            quant: [None; 4],
            dc: Default::default(),
            ac: Default::default(),
            restart: 0,
            colour: ColourMarkers::default(),
            icc: Vec::new(),
            frame: None,
        }
    }

    /// One segment other than SOS; the frame header is held to `max_pixels` here, before any
    /// buffer exists.
    fn segment(&mut self, marker: u8, seg: &'a [u8], limits: &Limits) -> Result<()> {
        match marker {
            0xC0..=0xC2 => {
                if self.frame.is_some() {
                    return Err(Error::corrupt("the JPEG has two frame headers"));
                }
                let f = markers::frame(seg, marker)?;
                let pixels = f.width as u64 * f.height as u64;
                if pixels > limits.max_pixels {
                    return Err(Error::too_large(format!(
                        "the image is {}×{}; the limit is {:.1} megapixels",
                        f.width,
                        f.height,
                        limits.max_pixels as f64 / 1e6
                    )));
                }
                self.frame = Some(f);
            }
            0xC3 | 0xC5..=0xC7 => {
                return Err(Error::unsupported("lossless or hierarchical JPEG"));
            }
            0xC9..=0xCF => {
                return Err(Error::unsupported("arithmetic-coded JPEG"));
            }
            0xC4 => markers::huffman(seg, &mut self.dc, &mut self.ac)?,
            0xDB => markers::quant(seg, &mut self.quant)?,
            0xDD => {
                self.restart = usize::from(u16::from_be_bytes(
                    seg.get(..2)
                        .ok_or_else(|| Error::corrupt("the JPEG restart interval is malformed"))?
                        .try_into()
                        .unwrap(),
                ));
            }
            0xDC => return Err(Error::unsupported("JPEG with a DNL marker")),
            0xE0 if seg.starts_with(b"JFIF\0") => self.colour.jfif = true,
            0xE2 if seg.starts_with(b"ICC_PROFILE\0") && seg.len() >= 14 => {
                self.icc.push((seg[12], &seg[14..]));
            }
            0xEE if seg.starts_with(b"Adobe") && seg.len() >= 12 => {
                self.colour.adobe = Some(seg[11]);
            }
            _ => {}
        }
        Ok(())
    }

    /// The quantisation table of frame component `index`.
    fn quant_of(&self, f: &Frame, index: usize) -> Result<[u16; 64]> {
        self.quant[f.comps[index].tq]
            .ok_or_else(|| Error::corrupt("a JPEG component uses an undefined quantisation table"))
    }
}

/// The next marker at or after `at` (bytes between segments are skipped, as libjpeg does after a
/// warning) and where its segment starts. None at the end of the data.
fn next_marker(input: &[u8], mut at: usize) -> Option<(u8, usize)> {
    while at < input.len() && input[at] != 0xFF {
        at += 1;
    }
    while input.get(at + 1) == Some(&0xFF) {
        at += 1;
    }
    let &marker = input.get(at + 1)?;
    Some((marker, at + 2))
}

fn truncated() -> Error {
    Error::corrupt("the JPEG is truncated (no end-of-image marker)")
}

/// Decodes at `m`/8 (1..=8) of the stored size.
pub(crate) fn decode(input: &[u8], m: u32, limits: &Limits) -> Result<Image> {
    let m = m.clamp(1, 8) as usize;
    if !input.starts_with(&[0xFF, 0xD8]) {
        return Err(Error::corrupt("not a JPEG (no start-of-image marker)"));
    }
    let mut hd = Headers::new();
    let mut state: Option<State> = None;
    let mut scans = 0u32;
    let mut at = 2usize;
    loop {
        let (marker, after) = next_marker(input, at).ok_or_else(truncated)?;
        at = after;
        match marker {
            0xD9 => break,
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        let (seg, next) = markers::segment(input, at)?;
        at = next;
        if marker != 0xDA {
            hd.segment(marker, seg, limits)?;
            continue;
        }
        scans += 1;
        if scans > limits.max_jpeg_scans {
            return Err(Error::too_large(format!(
                "the JPEG has more than {} scans (the limit)",
                limits.max_jpeg_scans
            )));
        }
        let f = hd
            .frame
            .as_ref()
            .ok_or_else(|| Error::corrupt("a JPEG scan comes before the frame header"))?;
        let s = markers::scan(seg, f)?;
        let st = match &mut state {
            Some(st) => st,
            None => state.insert(State::new(f, m)?),
        };
        // Quantisation tables are taken when a component first appears in a scan (libjpeg
        // latches them then): a file may redefine a table between scans.
        for c in &s.comps {
            if st.quant[c.index].is_none() {
                st.quant[c.index] = Some(hd.quant_of(f, c.index)?);
            } else if st.coefs.is_none() {
                // A sequential JPEG codes each component in exactly one scan (T.81 B.2.3).
                // Another would decode and transform the whole image again: work the cost
                // estimate does not count (it counts scans only for progressive files).
                return Err(Error::corrupt(
                    "a baseline JPEG codes a component in more than one scan",
                ));
            }
        }
        let q: Vec<[u16; 64]> = st.quant.iter().map(|q| q.unwrap_or([0; 64])).collect();
        let ctx = Ctx {
            dc: [0, 1, 2, 3].map(|i| hd.dc[i].as_ref()),
            ac: [0, 1, 2, 3].map(|i| hd.ac[i].as_ref()),
            restart: hd.restart,
        };
        at = match &mut st.coefs {
            Some(coefs) => scan::progressive(input, at, f, &s, &ctx, coefs)?,
            None => scan::baseline(input, at, f, &s, &ctx, &q, &mut st.planes)?,
        };
    }
    let (frame, colour_markers, icc) = (hd.frame, hd.colour, hd.icc);
    let (Some(f), Some(mut st)) = (frame, state) else {
        return Err(Error::corrupt("the JPEG has no image data"));
    };
    if let Some(coefs) = &st.coefs {
        let q: Vec<[u16; 64]> = st.quant.iter().map(|q| q.unwrap_or([0; 64])).collect();
        scan::transform_all(&f, coefs, &q, &mut st.planes);
    }
    let colour = markers::colour(&f, colour_markers);
    let pixels = assemble(&f, &st.planes, m, colour)?;
    Ok(Image {
        pixels,
        icc: join_icc(icc),
    })
}

/// What lives from the first scan on.
struct State {
    planes: Vec<Plane>,
    coefs: Option<Coefficients>,
    quant: Vec<Option<[u16; 64]>>,
}

impl State {
    fn new(f: &Frame, m: usize) -> Result<State> {
        let planes = f
            .comps
            .iter()
            .map(|c| {
                let n = component_size(m, c.h, c.v, f.hmax, f.vmax);
                let (stride, rows) = (c.bw * n, c.bh * n);
                Plane {
                    data: vec![0u8; stride * rows],
                    stride,
                    n,
                    width: (f.width * c.h * n).div_ceil(f.hmax * 8),
                    height: (f.height * c.v * n).div_ceil(f.vmax * 8),
                }
            })
            .collect();
        let coefs = f.progressive.then(|| Coefficients {
            blocks: f
                .comps
                .iter()
                .map(|c| vec![0i16; c.bw * c.bh * 64])
                .collect(),
        });
        Ok(State {
            planes,
            coefs,
            quant: vec![None; f.comps.len()],
        })
    }
}

/// Upsampled, interleaved, in the pipeline's layout.
fn assemble(f: &Frame, planes: &[Plane], m: usize, colour: Colour) -> Result<Pixels> {
    let (w, h) = ((f.width * m).div_ceil(8), (f.height * m).div_ceil(8));
    let methods: Vec<upsample::Method> = f
        .comps
        .iter()
        .zip(planes)
        .map(|(c, p)| {
            upsample::method(c.h * p.n / m, c.v * p.n / m, f.hmax, f.vmax, p.width, m > 1)
        })
        .collect::<Result<_>>()?;
    let channels = f.comps.len();
    let mut out = vec![0u8; w * h * channels];
    let mut rows = vec![vec![0u8; w]; channels];
    let widest = planes.iter().map(|p| p.width).max().unwrap_or(0);
    let mut colsum = vec![0i32; widest];
    for (y, dst) in out.chunks_exact_mut(w * channels).enumerate() {
        for ((p, &method), row) in planes.iter().zip(&methods).zip(rows.iter_mut()) {
            if method != upsample::Method::Copy {
                upsample::row(p, method, y, row, &mut colsum);
            }
        }
        // Components at full size are read from their planes in place.
        let src: Vec<&[u8]> = planes
            .iter()
            .zip(&methods)
            .zip(&rows)
            .map(|((p, &method), row)| match method {
                upsample::Method::Copy => &p.data[y * p.stride..y * p.stride + w],
                _ => &row[..],
            })
            .collect();
        upsample::interleave(&src, colour, dst);
    }
    let layout = match colour {
        Colour::Grey => Layout::Gray,
        Colour::YCbCr => Layout::YCbCr,
        Colour::Rgb => Layout::Rgb,
        Colour::Cmyk | Colour::Ycck => Layout::Cmyk,
    };
    Ok(Pixels::new(w as u32, h as u32, layout, out))
}

/// APP2 ICC chunks in their sequence order (ICC.1 B.4), joined.
fn join_icc(mut chunks: Vec<(u8, &[u8])>) -> Option<Vec<u8>> {
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|c| c.0);
    Some(chunks.iter().flat_map(|c| c.1.iter().copied()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_sizes_follow_libjpeg() {
        // 4:2:0 chroma: doubled below full size (5/8 → a 10×10 IDCT), the luma as asked.
        assert_eq!(component_size(5, 1, 1, 2, 2), 10);
        assert_eq!(component_size(5, 2, 2, 2, 2), 5);
        assert_eq!(component_size(1, 1, 1, 2, 2), 2);
        assert_eq!(component_size(8, 1, 1, 2, 2), 8);
        // 4:2:2 and 4:1:1 need both axes to allow it: not doubled.
        assert_eq!(component_size(4, 1, 1, 2, 1), 4);
        assert_eq!(component_size(2, 1, 1, 4, 1), 2);
        // 4:4:4
        assert_eq!(component_size(3, 1, 1, 1, 1), 3);
    }
}
