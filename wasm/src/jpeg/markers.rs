//! The marker segments: frame header (SOF), tables (DQT, DHT, DRI), scan headers (SOS) and the
//! application segments the pipeline hands on (ICC profile in APP2; JFIF and Adobe decide the
//! colour transform). Every length is checked against the segment before it is read.
use super::huffman::Huffman;
use crate::error::{Error, Result};

/// Zigzag index → natural (row-major) index of an 8×8 block (ITU T.81 figure A.6).
pub const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

#[derive(Debug, Clone)]
pub struct Component {
    pub id: u8,
    /// Sampling factors, 1..=4.
    pub h: usize,
    pub v: usize,
    /// Quantisation table selector, 0..=3.
    pub tq: usize,
    /// Blocks per line and column, padded to whole MCUs (what is allocated).
    pub bw: usize,
    pub bh: usize,
    /// Blocks that hold image data (a non-interleaved scan codes only these).
    pub real_bw: usize,
    pub real_bh: usize,
}

#[derive(Debug, Clone)]
pub struct Frame {
    pub progressive: bool,
    pub width: usize,
    pub height: usize,
    pub comps: Vec<Component>,
    pub hmax: usize,
    pub vmax: usize,
    pub mcus_x: usize,
    pub mcus_y: usize,
}

pub struct ScanComp {
    /// Index into `Frame::comps`.
    pub index: usize,
    pub td: usize,
    pub ta: usize,
}

pub struct Scan {
    pub comps: Vec<ScanComp>,
    pub ss: usize,
    pub se: usize,
    pub ah: u32,
    pub al: u32,
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

/// The segment after a marker at `at` (which points at the length): its payload and where the
/// next marker may start.
pub fn segment(input: &[u8], at: usize) -> Result<(&[u8], usize)> {
    let len =
        be16(input, at).ok_or_else(|| Error::corrupt("the JPEG is truncated in a segment"))?;
    if len < 2 {
        return Err(Error::corrupt("JPEG segment length below 2"));
    }
    let seg = input
        .get(at + 2..at + len)
        .ok_or_else(|| Error::corrupt("the JPEG is truncated in a segment"))?;
    Ok((seg, at + len))
}

pub fn frame(seg: &[u8], marker: u8) -> Result<Frame> {
    let bad = || Error::corrupt("the JPEG frame header is malformed");
    if seg.len() < 6 {
        return Err(bad());
    }
    if seg[0] != 8 {
        return Err(Error::unsupported(format!(
            "{}-bit JPEG samples (only 8-bit is supported)",
            seg[0]
        )));
    }
    let height = be16(seg, 1).ok_or_else(bad)?;
    let width = be16(seg, 3).ok_or_else(bad)?;
    if height == 0 {
        return Err(Error::unsupported(
            "JPEG whose height is defined later (DNL marker)",
        ));
    }
    if width == 0 {
        return Err(bad());
    }
    let n = usize::from(seg[5]);
    if !matches!(n, 1 | 3 | 4) {
        return Err(Error::unsupported(format!("JPEG with {n} components")));
    }
    if seg.len() < 6 + 3 * n {
        return Err(bad());
    }
    let mut comps = Vec::with_capacity(n);
    for c in seg[6..6 + 3 * n].chunks_exact(3) {
        let (h, v, tq) = (
            usize::from(c[1] >> 4),
            usize::from(c[1] & 15),
            usize::from(c[2]),
        );
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || tq > 3 {
            return Err(bad());
        }
        if comps.iter().any(|k: &Component| k.id == c[0]) {
            return Err(Error::corrupt("two JPEG components share an id"));
        }
        comps.push(Component {
            id: c[0],
            h,
            v,
            tq,
            bw: 0,
            bh: 0,
            real_bw: 0,
            real_bh: 0,
        });
    }
    // A single component is coded block by block whatever its factors say (T.81 A.2.2).
    if n == 1 {
        comps[0].h = 1;
        comps[0].v = 1;
    }
    let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
    let mcus_x = width.div_ceil(8 * hmax);
    let mcus_y = height.div_ceil(8 * vmax);
    for c in &mut comps {
        c.bw = mcus_x * c.h;
        c.bh = mcus_y * c.v;
        c.real_bw = (width * c.h).div_ceil(hmax).div_ceil(8);
        c.real_bh = (height * c.v).div_ceil(vmax).div_ceil(8);
    }
    Ok(Frame {
        progressive: marker == 0xC2,
        width,
        height,
        comps,
        hmax,
        vmax,
        mcus_x,
        mcus_y,
    })
}

/// DQT: one or more tables, stored in natural order.
pub fn quant(mut seg: &[u8], tables: &mut [Option<[u16; 64]>; 4]) -> Result<()> {
    let bad = || Error::corrupt("the JPEG quantisation table is malformed");
    while let Some(&pq_tq) = seg.first() {
        let (pq, tq) = (pq_tq >> 4, usize::from(pq_tq & 15));
        if pq > 1 || tq > 3 {
            return Err(bad());
        }
        let size = if pq == 0 { 64 } else { 128 };
        let body = seg.get(1..1 + size).ok_or_else(bad)?;
        let mut t = [0u16; 64];
        for (k, &z) in ZIGZAG.iter().enumerate() {
            t[usize::from(z)] = if pq == 0 {
                u16::from(body[k])
            } else {
                u16::from_be_bytes([body[2 * k], body[2 * k + 1]])
            };
        }
        tables[tq] = Some(t);
        seg = &seg[1 + size..];
    }
    Ok(())
}

/// DHT: one or more tables.
pub fn huffman(
    mut seg: &[u8],
    dc: &mut [Option<Huffman>; 4],
    ac: &mut [Option<Huffman>; 4],
) -> Result<()> {
    let bad = || Error::corrupt("the JPEG Huffman table is malformed");
    while let Some(&tc_th) = seg.first() {
        let (tc, th) = (tc_th >> 4, usize::from(tc_th & 15));
        if tc > 1 || th > 3 {
            return Err(bad());
        }
        let counts: [u8; 16] = seg
            .get(1..17)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let values = seg.get(17..17 + total).ok_or_else(bad)?;
        let table = Huffman::new(&counts, values)?;
        if tc == 0 {
            dc[th] = Some(table);
        } else {
            ac[th] = Some(table);
        }
        seg = &seg[17 + total..];
    }
    Ok(())
}

pub fn scan(seg: &[u8], frame: &Frame) -> Result<Scan> {
    let bad = || Error::corrupt("the JPEG scan header is malformed");
    let n = usize::from(*seg.first().ok_or_else(bad)?);
    if !(1..=4).contains(&n) || seg.len() < 1 + 2 * n + 3 {
        return Err(bad());
    }
    let mut comps = Vec::with_capacity(n);
    for c in seg[1..1 + 2 * n].chunks_exact(2) {
        let index = frame
            .comps
            .iter()
            .position(|k| k.id == c[0])
            .ok_or_else(|| Error::corrupt("a JPEG scan names a component the frame lacks"))?;
        if comps.iter().any(|s: &ScanComp| s.index == index) {
            return Err(bad());
        }
        comps.push(ScanComp {
            index,
            td: usize::from(c[1] >> 4),
            ta: usize::from(c[1] & 15),
        });
    }
    let p = &seg[1 + 2 * n..];
    let (ss, se, ah, al) = (
        usize::from(p[0]),
        usize::from(p[1]),
        u32::from(p[2] >> 4),
        u32::from(p[2] & 15),
    );
    if comps.iter().any(|c| c.td > 3 || c.ta > 3) {
        return Err(bad());
    }
    // An interleaved scan's MCU holds at most 10 blocks (T.81 B.2.3).
    if n > 1 {
        let blocks: usize = comps
            .iter()
            .map(|c| frame.comps[c.index].h * frame.comps[c.index].v)
            .sum();
        if blocks > 10 {
            return Err(bad());
        }
    }
    if frame.progressive {
        let ok = ss <= se
            && se <= 63
            && (ss == 0) == (se == 0)
            && (ss == 0 || n == 1)
            && al <= 13
            && ah <= 13;
        if !ok {
            return Err(Error::corrupt(
                "the JPEG progressive scan parameters are invalid",
            ));
        }
    } else if ss != 0 || se != 63 || ah != 0 || al != 0 {
        // libjpeg ignores these in a sequential scan; so do we.
        return Ok(Scan {
            comps,
            ss: 0,
            se: 63,
            ah: 0,
            al: 0,
        });
    }
    Ok(Scan {
        comps,
        ss,
        se,
        ah,
        al,
    })
}

/// What the APPn segments say about colour: libjpeg's rules (jdapimin.c's
/// default_decompress_parms): JFIF means YCbCr; else Adobe's transform flag; else, for three
/// components, the ids ('R','G','B' is RGB, anything else YCbCr); four components without an
/// Adobe segment are plain CMYK.
#[derive(Debug, Default, Clone, Copy)]
pub struct ColourMarkers {
    pub jfif: bool,
    pub adobe: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Grey,
    YCbCr,
    Rgb,
    Cmyk,
    Ycck,
}

pub fn colour(frame: &Frame, m: ColourMarkers) -> Colour {
    match frame.comps.len() {
        1 => Colour::Grey,
        3 => {
            if m.jfif {
                Colour::YCbCr
            } else if let Some(t) = m.adobe {
                if t == 0 {
                    Colour::Rgb
                } else {
                    Colour::YCbCr
                }
            } else {
                let ids: Vec<u8> = frame.comps.iter().map(|c| c.id).collect();
                if ids == [82, 71, 66] {
                    Colour::Rgb
                } else {
                    Colour::YCbCr
                }
            }
        }
        _ => match m.adobe {
            Some(0) => Colour::Cmyk,
            Some(_) => Colour::Ycck,
            None => Colour::Cmyk,
        },
    }
}
