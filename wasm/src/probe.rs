//! Reads format, dimensions and EXIF orientation from the header bytes alone: no decoder runs and
//! nothing proportional to the pixel count is allocated, so limits can refuse bombs first.
//! The format comes from the magic bytes, never from a file name.
use crate::error::{Error, Result};
use crate::exif;

/// What the input is, by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Png => "png",
            SourceFormat::Gif => "gif",
            SourceFormat::Webp => "webp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    pub format: SourceFormat,
    /// Size as displayed, i.e. after the EXIF orientation.
    pub width: u32,
    pub height: u32,
    /// Size as stored in the file (what the decoder produces).
    pub stored_width: u32,
    pub stored_height: u32,
    /// EXIF orientation 1..=8 (1 when absent or invalid).
    pub orientation: u8,
}

/// An ISO-BMFF file whose `ftyp` box names an AVIF brand (`avif` still image, `avis` sequence).
fn is_avif(input: &[u8]) -> bool {
    input.len() >= 12 && &input[4..8] == b"ftyp" && matches!(&input[8..12], b"avif" | b"avis")
}

pub fn probe(input: &[u8]) -> Result<Info> {
    let (format, w, h, orientation) = if input.starts_with(&[0xFF, 0xD8, 0xFF]) {
        let (w, h, o) = jpeg(input)?;
        (SourceFormat::Jpeg, w, h, o)
    } else if input.starts_with(b"\x89PNG\r\n\x1a\n") {
        let (w, h, o) = png(input)?;
        (SourceFormat::Png, w, h, o)
    } else if input.starts_with(b"GIF87a") || input.starts_with(b"GIF89a") {
        let (w, h) = gif(input)?;
        (SourceFormat::Gif, w, h, 1)
    } else if input.len() >= 12 && &input[0..4] == b"RIFF" && &input[8..12] == b"WEBP" {
        let (w, h, o) = webp(input)?;
        (SourceFormat::Webp, w, h, o)
    } else if is_avif(input) {
        // Not decoded: an AV1 decoder would double the edge module (issue 14's measurement,
        // viewer-fn's spec refuses `avif` source extensions for the same reason).
        return Err(Error::unsupported(
            "an AVIF image: AVIF originals are not decoded, store the photo as JPEG, PNG or WebP",
        ));
    } else {
        return Err(Error::unsupported(format!(
            "not a JPEG, PNG, GIF or WebP image (starts with {})",
            hex_prefix(input)
        )));
    };
    if w == 0 || h == 0 {
        return Err(Error::corrupt(format!(
            "the {} header declares a {w}×{h} image",
            format.as_str()
        )));
    }
    let (width, height) = if exif::swaps_axes(orientation) {
        (h, w)
    } else {
        (w, h)
    };
    Ok(Info {
        format,
        width,
        height,
        stored_width: w,
        stored_height: h,
        orientation,
    })
}

fn hex_prefix(b: &[u8]) -> String {
    b.iter()
        .take(8)
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How every "the header ends early" message starts: [`is_truncated`] tells a prefix that stops
/// inside the header (read on) from a header that is wrong.
const TRUNCATED: &str = "truncated ";

fn truncated(what: &str) -> Error {
    Error::corrupt(format!("{TRUNCATED}{what} header"))
}

/// Whether `e` says the header ended before it was complete.
pub(crate) fn is_truncated(e: &Error) -> bool {
    e.kind == crate::ErrorKind::Corrupt && e.message.starts_with(TRUNCATED)
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}
fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Walks the marker segments up to the frame header (SOFn), picking up EXIF on the way.
fn jpeg(b: &[u8]) -> Result<(u32, u32, u8)> {
    let mut at = 2;
    let mut orientation = 1;
    loop {
        // Markers may be padded with any number of 0xFF bytes.
        while b.get(at) == Some(&0xFF) && b.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (b.get(at), b.get(at + 1)) else {
            return Err(if at + 2 > b.len() {
                truncated("JPEG")
            } else {
                Error::corrupt("JPEG marker expected")
            });
        };
        at += 2;
        match marker {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => {
                return Err(Error::corrupt(
                    "JPEG has no frame header before its image data",
                ))
            }
            _ => {}
        }
        let len = be16(b, at).ok_or_else(|| truncated("JPEG"))? as usize;
        if len < 2 {
            return Err(Error::corrupt("JPEG segment length below 2"));
        }
        let seg = b.get(at + 2..at + len).ok_or_else(|| truncated("JPEG"))?;
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if !matches!(marker, 0xC0..=0xC2) {
                    return Err(Error::unsupported(
                        "lossless, hierarchical or arithmetic-coded JPEG",
                    ));
                }
                let h = be16(seg, 1).ok_or_else(|| truncated("JPEG frame"))?;
                let w = be16(seg, 3).ok_or_else(|| truncated("JPEG frame"))?;
                if h == 0 {
                    return Err(Error::unsupported(
                        "JPEG whose height is defined later (DNL marker)",
                    ));
                }
                return Ok((w, h, orientation));
            }
            0xE1 if seg.starts_with(b"Exif\0\0") => orientation = exif::orientation(&seg[6..]),
            _ => {}
        }
        at += len;
    }
}

/// IHDR, then chunk headers up to the first IDAT for an eXIf chunk.
fn png(b: &[u8]) -> Result<(u32, u32, u8)> {
    if b.get(12..16) != Some(b"IHDR") {
        return Err(if b.len() < 16 {
            truncated("PNG")
        } else {
            Error::corrupt("PNG does not start with IHDR")
        });
    }
    let w = be32(b, 16).ok_or_else(|| truncated("PNG"))?;
    let h = be32(b, 20).ok_or_else(|| truncated("PNG"))?;
    if b.len() < 33 {
        return Err(truncated("PNG"));
    }
    let mut at = 33;
    let mut orientation = 1;
    while let (Some(len), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) {
        if kind == b"IDAT" {
            break;
        }
        let data = b.get(at + 8..(at + 8).saturating_add(len as usize));
        if kind == b"eXIf" {
            if let Some(d) = data {
                orientation = exif::orientation(d);
            }
        }
        at = at.saturating_add(12).saturating_add(len as usize);
    }
    Ok((w, h, orientation))
}

fn gif(b: &[u8]) -> Result<(u32, u32)> {
    let w = le16(b, 6).ok_or_else(|| truncated("GIF"))?;
    let h = le16(b, 8).ok_or_else(|| truncated("GIF"))?;
    Ok((w, h))
}

/// RIFF chunks: VP8X (canvas size) or VP8 / VP8L (bitstream size); EXIF may follow the image.
fn webp(b: &[u8]) -> Result<(u32, u32, u8)> {
    let mut at = 12;
    let mut size = None;
    let mut orientation = 1;
    while let (Some(kind), Some(len)) = (b.get(at..at + 4), le32(b, at + 4)) {
        let data = b.get(at + 8..(at + 8).saturating_add(len as usize));
        match (kind, data) {
            (b"VP8X", Some(d)) if size.is_none() => {
                let w = le24(d, 4).ok_or_else(|| truncated("WebP"))? + 1;
                let h = le24(d, 7).ok_or_else(|| truncated("WebP"))? + 1;
                size = Some((w, h));
            }
            (b"VP8 ", _) if size.is_none() => {
                let d = b.get(at + 8..at + 18).ok_or_else(|| truncated("WebP"))?;
                if d[3..6] != [0x9d, 0x01, 0x2a] {
                    return Err(Error::corrupt("WebP VP8 frame has no start code"));
                }
                size = Some((le16(d, 6).unwrap() & 0x3fff, le16(d, 8).unwrap() & 0x3fff));
            }
            (b"VP8L", _) if size.is_none() => {
                let d = b.get(at + 8..at + 13).ok_or_else(|| truncated("WebP"))?;
                if d[0] != 0x2f {
                    return Err(Error::corrupt("WebP VP8L has no signature"));
                }
                let bits = le32(d, 1).unwrap();
                size = Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1));
            }
            (b"EXIF", Some(d)) => {
                orientation = exif::orientation(d.strip_prefix(b"Exif\0\0").unwrap_or(d))
            }
            _ => {}
        }
        at = at
            .saturating_add(8)
            .saturating_add(len as usize + (len as usize & 1));
    }
    let (w, h) = size.ok_or_else(|| truncated("WebP"))?;
    Ok((w, h, orientation))
}

/// The number of scans (SOS markers) in a JPEG, walking its segments and skipping each scan's
/// entropy-coded data (where 0xFF is always followed by a stuffed 0x00 or a restart marker), so an
/// embedded thumbnail's markers are not counted. Stops counting past `max`.
pub(crate) fn jpeg_scans(b: &[u8], max: u32) -> u32 {
    let mut at = 2;
    let mut scans = 0;
    while at + 1 < b.len() {
        if b[at] != 0xFF {
            // Stray bytes before a marker: libjpeg warns and skips them, so do we.
            at += 1;
            continue;
        }
        let marker = b[at + 1];
        at += 2;
        match marker {
            0xFF => at -= 1, // fill byte
            // No length follows these; `FF 00` outside scan data is no marker at all, and the
            // decoder walks on byte by byte looking for the next one: so do we.
            0xD8 | 0x01 | 0xD0..=0xD7 | 0x00 => {}
            0xD9 => break,
            _ => {
                let Some(len) = be16(b, at) else { break };
                at += len as usize;
                if marker == 0xDA {
                    scans += 1;
                    if scans > max {
                        break;
                    }
                    // Entropy-coded data runs to the next marker that is not a stuffed byte or RSTn.
                    let is_marker =
                        |at: usize| b[at] == 0xFF && !matches!(b[at + 1], 0x00 | 0xD0..=0xD7);
                    while at + 1 < b.len() && !is_marker(at) {
                        at += 1;
                    }
                }
            }
        }
    }
    scans
}

/// A PNG's zlib-compressed metadata: `(chunk type, compressed bytes)` of every iCCP, zTXt and
/// compressed iTXt chunk, wherever it stands.
pub(crate) fn png_compressed_chunks(b: &[u8]) -> Vec<(&'static str, &[u8])> {
    let mut out = Vec::new();
    let mut at = 8;
    while let (Some(len), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) {
        let Some(data) = b.get(at + 8..(at + 8).saturating_add(len as usize)) else {
            break;
        };
        // After the keyword's NUL: the compression method byte, then the zlib stream.
        let after_name = |d: &'static str| {
            let nul = data.iter().position(|&c| c == 0)?;
            Some((d, data.get(nul + 1..)?))
        };
        match kind {
            b"iCCP" => out.extend(after_name("iCCP").map(|(k, d)| (k, d.get(1..).unwrap_or(&[])))),
            b"zTXt" => out.extend(after_name("zTXt").map(|(k, d)| (k, d.get(1..).unwrap_or(&[])))),
            b"iTXt" => {
                // flag, method, language\0, translated keyword\0, text
                if let Some((k, d)) = after_name("iTXt") {
                    if d.first() == Some(&1) {
                        let rest = d.get(2..).unwrap_or(&[]);
                        let mut parts = rest.splitn(3, |&c| c == 0);
                        let (_, _, text) = (parts.next(), parts.next(), parts.next());
                        out.extend(text.map(|t| (k, t)));
                    }
                }
            }
            b"IEND" => break,
            _ => {}
        }
        at = at.saturating_add(12).saturating_add(len as usize);
    }
    out
}

/// One GIF frame's rectangle on the logical screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GifFrame {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

/// Every frame's image descriptor, skipping colour tables, extensions and image data by their
/// sizes. A file that ends early, or holds stray bytes, yields the frames before it.
pub(crate) fn gif_frames(b: &[u8]) -> Vec<GifFrame> {
    let table = |flags: u8| {
        if flags & 0x80 != 0 {
            3 << ((flags & 7) + 1)
        } else {
            0
        }
    };
    let mut at = 13 + b.get(10).map_or(0, |&f| table(f));
    let mut frames = Vec::new();
    // Data sub-blocks: a length byte, that many bytes, until a zero length.
    let skip_blocks = |mut at: usize| {
        while let Some(&n) = b.get(at) {
            at += 1 + n as usize;
            if n == 0 {
                break;
            }
        }
        at
    };
    while let Some(&block) = b.get(at) {
        match block {
            0x21 => at = skip_blocks(at + 2),
            0x2C => {
                let (Some(left), Some(top), Some(width), Some(height), Some(&flags)) = (
                    le16(b, at + 1),
                    le16(b, at + 3),
                    le16(b, at + 5),
                    le16(b, at + 7),
                    b.get(at + 9),
                ) else {
                    break;
                };
                frames.push(GifFrame {
                    left,
                    top,
                    width,
                    height,
                });
                // Descriptor, local colour table, LZW minimum code size, then the data blocks.
                at = skip_blocks(at + 10 + table(flags) + 1);
            }
            // The trailer, or stray bytes after the frames (which decoders ignore).
            _ => break,
        }
    }
    frames
}

/// A JPEG's frame header (SOF0–2): whether it is progressive, and each component's sampling
/// factors. `None` when the walk finds no frame header (the probe has refused such a file).
pub(crate) fn jpeg_frame(b: &[u8]) -> Option<(bool, Vec<(u8, u8)>)> {
    let mut at = 2;
    loop {
        while b.get(at) == Some(&0xFF) && b.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (&0xFF, &marker) = (b.get(at)?, b.get(at + 1)?) else {
            return None;
        };
        at += 2;
        match marker {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = be16(b, at)? as usize;
        let seg = b.get(at + 2..at + len)?;
        if let 0xC0..=0xC2 = marker {
            let n = usize::from(*seg.get(5)?);
            let sampling = seg
                .get(6..6 + 3 * n)?
                .chunks_exact(3)
                // A factor of 0 is invalid (the decoder refuses it); 1..=4 as the standard says.
                .map(|c| ((c[1] >> 4).clamp(1, 4), (c[1] & 15).clamp(1, 4)))
                .collect();
            return Some((marker == 0xC2, sampling));
        }
        at += len.max(2);
    }
}

/// A PNG's decoded layout as the `image` crate produces it (low bit depths and palettes expanded
/// to 8 bits, `tRNS` to an alpha channel): (bytes a pixel from the decoder, bytes a pixel once
/// in 8-bit Gray, RGB or RGBA).
pub(crate) fn png_layout(b: &[u8]) -> (u32, u32) {
    let depth = b.get(24).copied().unwrap_or(8);
    let colour = b.get(25).copied().unwrap_or(6);
    let mut trns = false;
    let mut at = 8;
    while let (Some(len), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) {
        match kind {
            b"tRNS" => trns = true,
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        at = at.saturating_add(12).saturating_add(len as usize);
    }
    let channels: u32 = match colour {
        0 => 1,
        2 | 3 => 3,
        4 => 2,
        _ => 4,
    } + u32::from(trns && matches!(colour, 0 | 2 | 3));
    let bytes = if depth == 16 && colour != 3 { 2 } else { 1 };
    let pixel = match channels {
        1 => 1,
        3 => 3,
        _ => 4, // grey + alpha becomes RGBA
    };
    (channels * bytes, pixel)
}
