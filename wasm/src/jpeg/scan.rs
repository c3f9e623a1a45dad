//! One scan's entropy-coded data: sequential (baseline) scans decode each block, dequantise it
//! and run the scaled IDCT straight into the component's plane; progressive scans add to the
//! kept coefficients (T.81 G.1.2), which are transformed once the last scan is in.
//!
//! MCU rows are decoded by separate, non-inlined functions: in wasm, V8 optimises a function
//! between calls, so a cold start's first image leaves baseline code after its first rows.
//! Errors (an invalid code, a run past coefficient 63) set a flag that is checked once per
//! block; reading past the end of the data is checked once per MCU row.
use super::huffman::{Bits, Huffman};
use super::idct::{self, Extent, COEF_MAX};
use super::markers::{Frame, Scan, ZIGZAG};
use crate::error::{Error, Result};

/// A component's samples at its IDCT scale, padded to whole MCUs.
pub struct Plane {
    pub data: Vec<u8>,
    pub stride: usize,
    /// IDCT size (samples a block side).
    pub n: usize,
    /// Samples that hold the image (the rest is padding).
    pub width: usize,
    pub height: usize,
}

/// What a scan reads besides its data.
pub struct Ctx<'t> {
    pub dc: [Option<&'t Huffman>; 4],
    pub ac: [Option<&'t Huffman>; 4],
    pub restart: usize,
}

/// Bytes fed past the data before the scan counts as cut short: the reader buffers up to 8
/// ahead, which a complete scan never consumes.
const MAX_PADDING: u32 = 16;

fn ended_early() -> Error {
    Error::corrupt("the JPEG's image data ends early (corrupt or cut short)")
}

fn bad_data() -> Error {
    Error::corrupt("the JPEG's image data is corrupt (invalid Huffman code or coefficient run)")
}

/// The blocks of one MCU of `scan`: (scan component, block column, block row) per block, for
/// MCU (mx, my). Non-interleaved scans have one block an MCU.
fn mcu_blocks(
    frame: &Frame,
    scan: &Scan,
    mx: usize,
    my: usize,
    out: &mut Vec<(usize, usize, usize)>,
) {
    out.clear();
    if scan.comps.len() == 1 {
        out.push((0, mx, my));
        return;
    }
    for (i, sc) in scan.comps.iter().enumerate() {
        let c = &frame.comps[sc.index];
        for by in 0..c.v {
            for bx in 0..c.h {
                out.push((i, mx * c.h + bx, my * c.v + by));
            }
        }
    }
}

fn mcu_grid(frame: &Frame, scan: &Scan) -> (usize, usize) {
    if scan.comps.len() == 1 {
        let c = &frame.comps[scan.comps[0].index];
        (c.real_bw, c.real_bh)
    } else {
        (frame.mcus_x, frame.mcus_y)
    }
}

fn table<'t>(t: &[Option<&'t Huffman>; 4], i: usize, what: &str) -> Result<&'t Huffman> {
    t[i].ok_or_else(|| {
        Error::corrupt(format!(
            "a JPEG scan uses an undefined {what} Huffman table"
        ))
    })
}

/// Restart bookkeeping shared by both kinds of scan.
struct Restart {
    interval: usize,
    left: usize,
}

impl Restart {
    /// Before each MCU: at an interval's end, the reader moves past the RSTn marker and the
    /// predictions reset. Returns true when they reset.
    fn before_mcu(&mut self, bits: &mut Bits) -> bool {
        if self.interval == 0 {
            return false;
        }
        if self.left == 0 {
            // A missing RSTn (the data was damaged) leaves the reader at the other marker,
            // feeding zeros: the padding check refuses the scan if it runs on.
            bits.restart();
            self.left = self.interval;
            self.left -= 1;
            return true;
        }
        self.left -= 1;
        false
    }
}

/// A sequential scan: every block decoded and transformed into `planes`.
pub fn baseline(
    input: &[u8],
    pos: usize,
    frame: &Frame,
    scan: &Scan,
    ctx: &Ctx,
    quant: &[[u16; 64]],
    planes: &mut [Plane],
) -> Result<usize> {
    let mut bits = Bits::new(input, pos);
    let dcs: Vec<&Huffman> = scan
        .comps
        .iter()
        .map(|c| table(&ctx.dc, c.td, "DC"))
        .collect::<Result<_>>()?;
    let acs: Vec<&Huffman> = scan
        .comps
        .iter()
        .map(|c| table(&ctx.ac, c.ta, "AC"))
        .collect::<Result<_>>()?;
    let mut preds = vec![0i32; scan.comps.len()];
    let mut restart = Restart {
        interval: ctx.restart,
        left: ctx.restart,
    };
    let (mx, my) = mcu_grid(frame, scan);
    let mut blocks = Vec::with_capacity(10);
    for row in 0..my {
        baseline_row(
            &mut bits,
            frame,
            scan,
            row,
            mx,
            &dcs,
            &acs,
            &mut preds,
            &mut restart,
            quant,
            planes,
            &mut blocks,
        )?;
        if bits.padding > MAX_PADDING {
            return Err(ended_early());
        }
    }
    Ok(bits.pos)
}

#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn baseline_row(
    bits: &mut Bits,
    frame: &Frame,
    scan: &Scan,
    row: usize,
    mx: usize,
    dcs: &[&Huffman],
    acs: &[&Huffman],
    preds: &mut [i32],
    restart: &mut Restart,
    quant: &[[u16; 64]],
    planes: &mut [Plane],
    blocks: &mut Vec<(usize, usize, usize)>,
) -> Result<()> {
    let mut blk = [0i32; 64];
    // The blocks of MCU (0, row); MCU `col` is the same shifted right by `col` MCUs.
    mcu_blocks(frame, scan, 0, row, blocks);
    let shift: Vec<usize> = scan
        .comps
        .iter()
        .map(|c| {
            if scan.comps.len() == 1 {
                1
            } else {
                frame.comps[c.index].h
            }
        })
        .collect();
    for col in 0..mx {
        if restart.before_mcu(bits) {
            preds.fill(0);
        }
        for &(i, bx, by) in blocks.iter() {
            let ci = scan.comps[i].index;
            let extent = baseline_block(bits, dcs[i], acs[i], &mut preds[i], &quant[ci], &mut blk);
            if bits.error {
                return Err(bad_data());
            }
            let p = &mut planes[ci];
            let n = p.n;
            let at = by * n * p.stride + (bx + col * shift[i]) * n;
            idct::idct(&blk, extent, n, &mut p.data[at..], p.stride);
            // Back to zeros for the next block: only the rows this one reached.
            blk[..usize::from(extent.rows) * 8].fill(0);
        }
    }
    Ok(())
}

#[inline(always)]
fn dequant(v: i32, q: u16) -> i32 {
    (v.clamp(-32768, 32767) * i32::from(q)).clamp(-COEF_MAX, COEF_MAX)
}

/// One block of a sequential scan (T.81 F.2.2), dequantised into natural order.
#[inline(always)]
fn baseline_block(
    bits: &mut Bits,
    dc: &Huffman,
    ac: &Huffman,
    pred: &mut i32,
    q: &[u16; 64],
    blk: &mut [i32; 64],
) -> Extent {
    bits.refill();
    let s = u32::from(bits.decode(dc));
    if s > 15 {
        bits.error = true;
        return Extent::default();
    }
    *pred = pred
        .wrapping_add(bits.receive_extend(s))
        .clamp(-(1 << 20), 1 << 20);
    blk[0] = dequant(*pred, q[0]);
    // The last zigzag position written bounds the block (see `EXTENT`): no per-coefficient
    // bookkeeping.
    let mut last = 0usize;
    let mut k = 1usize;
    while k < 64 {
        bits.refill();
        let fast = ac.fast_ac[bits.peek()];
        if fast != 0 {
            bits.consume((fast & 0xFF) as u32);
            k += ((fast >> 8) & 0xFF) as usize;
            if k > 63 {
                bits.error = true;
                break;
            }
            let z = usize::from(ZIGZAG[k & 63]);
            blk[z] = dequant(fast >> 16, q[z]);
            last = k;
            k += 1;
            continue;
        }
        let rs = bits.decode(ac);
        let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
        if s == 0 {
            if r != 15 {
                break;
            }
            k += 16;
            continue;
        }
        k += r;
        if k > 63 {
            bits.error = true;
            break;
        }
        let z = usize::from(ZIGZAG[k & 63]);
        blk[z] = dequant(bits.receive_extend(s), q[z]);
        last = k;
        k += 1;
    }
    EXTENT[last]
}

/// The bounding extent of zigzag positions 0..=k: the columns and rows they touch.
const EXTENT: [Extent; 64] = {
    let mut t = [Extent { cols: 0, rows: 0 }; 64];
    let (mut cols, mut rows) = (0u8, 0u8);
    let mut k = 0;
    while k < 64 {
        let z = ZIGZAG[k] as usize;
        cols |= 1 << (z & 7);
        if (z >> 3) as u8 + 1 > rows {
            rows = (z >> 3) as u8 + 1;
        }
        t[k] = Extent { cols, rows };
        k += 1;
    }
    t
};

/// Progressive state kept across scans: the quantised coefficients of every block.
pub struct Coefficients {
    /// Per component, `bw × bh` blocks of 64 in natural order.
    pub blocks: Vec<Vec<i16>>,
}

/// A progressive scan: DC or AC band, first pass or refinement.
pub fn progressive(
    input: &[u8],
    pos: usize,
    frame: &Frame,
    scan: &Scan,
    ctx: &Ctx,
    coefs: &mut Coefficients,
) -> Result<usize> {
    let mut bits = Bits::new(input, pos);
    let dc_scan = scan.ss == 0;
    let mut dcs = Vec::new();
    let mut acs = Vec::new();
    for c in &scan.comps {
        if dc_scan {
            if scan.ah == 0 {
                dcs.push(table(&ctx.dc, c.td, "DC")?);
            }
        } else {
            acs.push(table(&ctx.ac, c.ta, "AC")?);
        }
    }
    let mut preds = vec![0i32; scan.comps.len()];
    let mut eobrun = 0u32;
    let mut restart = Restart {
        interval: ctx.restart,
        left: ctx.restart,
    };
    let (mx, my) = mcu_grid(frame, scan);
    let mut blocks = Vec::with_capacity(10);
    // One loop per kind of scan, each with its block decoder inlined.
    let row_fn = match (scan.ss == 0, scan.ah == 0) {
        (true, true) => progressive_row::<DC_FIRST>,
        (true, false) => progressive_row::<DC_REFINE>,
        (false, true) => progressive_row::<AC_FIRST>,
        (false, false) => progressive_row::<AC_REFINE>,
    };
    for row in 0..my {
        row_fn(
            &mut bits,
            frame,
            scan,
            row,
            mx,
            &dcs,
            &acs,
            &mut preds,
            &mut eobrun,
            &mut restart,
            coefs,
            &mut blocks,
        )?;
        if bits.padding > MAX_PADDING {
            return Err(ended_early());
        }
    }
    Ok(bits.pos)
}

const DC_FIRST: u8 = 0;
const DC_REFINE: u8 = 1;
const AC_FIRST: u8 = 2;
const AC_REFINE: u8 = 3;

#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn progressive_row<const KIND: u8>(
    bits: &mut Bits,
    frame: &Frame,
    scan: &Scan,
    row: usize,
    mx: usize,
    dcs: &[&Huffman],
    acs: &[&Huffman],
    preds: &mut [i32],
    eobrun: &mut u32,
    restart: &mut Restart,
    coefs: &mut Coefficients,
    blocks: &mut Vec<(usize, usize, usize)>,
) -> Result<()> {
    for col in 0..mx {
        if restart.before_mcu(bits) {
            preds.fill(0);
            *eobrun = 0;
        }
        if scan.comps.len() == 1 {
            // One block an MCU: no list to build.
            blocks.clear();
            blocks.push((0, col, row));
        } else if col == 0 {
            mcu_blocks(frame, scan, col, row, blocks);
        } else {
            // The previous MCU's blocks, one MCU to the right.
            for (b, sc) in blocks.iter_mut().zip(scan.comps.iter().flat_map(|c| {
                std::iter::repeat_n(c, frame.comps[c.index].h * frame.comps[c.index].v)
            })) {
                b.1 += frame.comps[sc.index].h;
            }
        }
        for &(i, bx, by) in blocks.iter() {
            let ci = scan.comps[i].index;
            let bw = frame.comps[ci].bw;
            let at = (by * bw + bx) * 64;
            let blk: &mut [i16; 64] = (&mut coefs.blocks[ci][at..at + 64]).try_into().unwrap();
            match KIND {
                DC_FIRST => dc_first(bits, dcs[i], &mut preds[i], scan.al, blk),
                DC_REFINE => dc_refine(bits, scan.al, blk),
                AC_FIRST => ac_first(bits, acs[i], scan, eobrun, blk),
                _ => ac_refine(bits, acs[i], scan, eobrun, blk),
            }
            if bits.error {
                return Err(bad_data());
            }
        }
    }
    Ok(())
}

#[inline(always)]
fn dc_first(bits: &mut Bits, dc: &Huffman, pred: &mut i32, al: u32, blk: &mut [i16; 64]) {
    bits.refill();
    let s = u32::from(bits.decode(dc));
    if s > 15 {
        bits.error = true;
        return;
    }
    *pred = pred
        .wrapping_add(bits.receive_extend(s))
        .clamp(-(1 << 20), 1 << 20);
    blk[0] = (i64::from(*pred) << al).clamp(-32768, 32767) as i16;
}

#[inline(always)]
fn dc_refine(bits: &mut Bits, al: u32, blk: &mut [i16; 64]) {
    bits.refill();
    if bits.bits(1) != 0 {
        blk[0] |= (1i32 << al) as i16;
    }
}

#[inline(always)]
fn ac_first(bits: &mut Bits, ac: &Huffman, scan: &Scan, eobrun: &mut u32, blk: &mut [i16; 64]) {
    if *eobrun > 0 {
        *eobrun -= 1;
        return;
    }
    let mut k = scan.ss;
    while k <= scan.se {
        bits.refill();
        let fast = ac.fast_ac[bits.peek()];
        if fast != 0 {
            bits.consume((fast & 0xFF) as u32);
            k += ((fast >> 8) & 0xFF) as usize;
            if k > scan.se {
                bits.error = true;
                return;
            }
            blk[usize::from(ZIGZAG[k & 63])] =
                ((fast >> 16) << scan.al).clamp(-32768, 32767) as i16;
            k += 1;
            continue;
        }
        let rs = bits.decode(ac);
        let (r, s) = (u32::from(rs >> 4), u32::from(rs & 15));
        if s == 0 {
            if r < 15 {
                *eobrun = (1 << r) - 1 + bits.bits(r);
                break;
            }
            k += 16;
            continue;
        }
        k += r as usize;
        if k > scan.se {
            bits.error = true;
            return;
        }
        let v = bits.receive_extend(s) << scan.al;
        blk[usize::from(ZIGZAG[k & 63])] = v.clamp(-32768, 32767) as i16;
        k += 1;
    }
}

/// A correction bit for an already nonzero coefficient: moves it away from zero by `p1`.
#[inline(always)]
fn refine(bits: &mut Bits, c: &mut i16, p1: i16) {
    if bits.bits(1) != 0 && (*c & p1) == 0 {
        *c = if *c >= 0 {
            c.wrapping_add(p1)
        } else {
            c.wrapping_sub(p1)
        };
    }
}

#[inline(always)]
fn ac_refine(bits: &mut Bits, ac: &Huffman, scan: &Scan, eobrun: &mut u32, blk: &mut [i16; 64]) {
    let p1 = (1i32 << scan.al) as i16;
    let mut k = scan.ss;
    if *eobrun == 0 {
        while k <= scan.se {
            bits.refill();
            let rs = bits.decode(ac);
            let (mut r, s) = (i32::from(rs >> 4), u32::from(rs & 15));
            let mut value = 0i16;
            if s != 0 {
                if s != 1 {
                    bits.error = true;
                    return;
                }
                value = if bits.bits(1) != 0 {
                    p1
                } else {
                    p1.wrapping_neg()
                };
            } else if r != 15 {
                *eobrun = (1u32 << r) + bits.bits(r as u32);
                break;
            }
            // Skip r zero coefficients (refining the nonzero ones on the way), then place the
            // new one on the next zero.
            while k <= scan.se {
                let z = usize::from(ZIGZAG[k & 63]);
                if blk[z] != 0 {
                    bits.refill();
                    refine(bits, &mut blk[z], p1);
                } else {
                    if r == 0 {
                        if value != 0 {
                            blk[z] = value;
                        }
                        break;
                    }
                    r -= 1;
                }
                k += 1;
            }
            if k > scan.se && value != 0 {
                bits.error = true;
                return;
            }
            k += 1;
        }
    }
    if *eobrun > 0 {
        // The rest of the band only refines what is already nonzero.
        while k <= scan.se {
            let z = usize::from(ZIGZAG[k & 63]);
            if blk[z] != 0 {
                bits.refill();
                refine(bits, &mut blk[z], p1);
            }
            k += 1;
        }
        *eobrun -= 1;
    }
}

/// After the last scan: every block of a progressive image dequantised and transformed.
pub fn transform_all(
    frame: &Frame,
    coefs: &Coefficients,
    quant: &[[u16; 64]],
    planes: &mut [Plane],
) {
    for (ci, c) in frame.comps.iter().enumerate() {
        for by in 0..c.bh {
            transform_row(&coefs.blocks[ci], c.bw, by, &quant[ci], &mut planes[ci]);
        }
    }
}

#[inline(never)]
fn transform_row(coefs: &[i16], bw: usize, by: usize, q: &[u16; 64], p: &mut Plane) {
    let mut blk = [0i32; 64];
    let n = p.n;
    if n == 1 {
        // 1/8: the DC alone makes the sample.
        for bx in 0..bw {
            blk[0] = dequant(i32::from(coefs[(by * bw + bx) * 64]), q[0]);
            let at = by * p.stride + bx;
            idct::idct(
                &blk,
                Extent { cols: 1, rows: 1 },
                1,
                &mut p.data[at..],
                p.stride,
            );
        }
        return;
    }
    for bx in 0..bw {
        let src = &coefs[(by * bw + bx) * 64..][..64];
        let mut extent = Extent::default();
        // Row by row: most rows of a photo's blocks are all zero, and a zero row of 8
        // coefficients is one 16-byte comparison.
        for r in 0..8 {
            let row: &[i16; 8] = src[r * 8..r * 8 + 8].try_into().unwrap();
            let dst = &mut blk[r * 8..r * 8 + 8];
            if *row == [0; 8] {
                dst.fill(0);
                continue;
            }
            // Branch-free, so the eight lanes vectorise.
            let mut nonzero = 0u8;
            for c in 0..8 {
                dst[c] = dequant(i32::from(row[c]), q[r * 8 + c]);
                nonzero |= u8::from(row[c] != 0) << c;
            }
            extent.cols |= nonzero;
            extent.rows = r as u8 + 1;
        }
        let at = by * n * p.stride + bx * n;
        idct::idct(&blk, extent, n, &mut p.data[at..], p.stride);
    }
}
