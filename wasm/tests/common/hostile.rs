//! Generators of hostile inputs, shared by tests/hostile.rs and benches/hostile.rs: every case is
//! made from a few lines of bytes or from a committed benign fixture, so the corpus explains itself.
#![allow(dead_code)]

use image_core::ErrorKind;
use std::path::Path;

pub struct Case {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub kind: ErrorKind,
    /// A phrase the error message must hold (it names the limit).
    pub says: &'static str,
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

pub fn progressive_jpeg() -> Vec<u8> {
    fixture("progressive.jpg")
}

/// A PNG chunk: length, type, data, CRC over type and data.
pub fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    c.extend_from_slice(&h.finalize().to_be_bytes());
    c
}

fn ihdr(w: u32, h: u32) -> Vec<u8> {
    let mut d = w.to_be_bytes().to_vec();
    d.extend_from_slice(&h.to_be_bytes());
    d.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(b"IHDR", &d)
}

/// A valid RGB PNG of a gradient, with `extra` chunks before its image data.
pub fn png(w: u32, h: u32, extra: &[Vec<u8>]) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            raw.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 128]);
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(ihdr(w, h));
    for c in extra {
        out.extend_from_slice(c);
    }
    out.extend(chunk(
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
    ));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// A PNG header that declares `w`×`h` and holds nothing else.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(ihdr(w, h));
    out.extend(chunk(b"IEND", &[]));
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 9)
}

/// iCCP data: profile name, NUL, method 0, the zlib stream.
pub fn iccp(profile: &[u8]) -> Vec<u8> {
    [b"icc\0\0".as_slice(), &zlib(profile)].concat()
}

/// zTXt data: keyword, NUL, method 0, the zlib stream.
pub fn ztxt(text: &[u8]) -> Vec<u8> {
    [b"Comment\0\0".as_slice(), &zlib(text)].concat()
}

/// Compressed iTXt data: keyword, NUL, flag 1, method 0, language, NUL, translation, NUL, zlib.
pub fn itxt(text: &[u8]) -> Vec<u8> {
    [b"Comment\0\x01\0en\0\0".as_slice(), &zlib(text)].concat()
}

/// A GIF of a `sw`×`sh` screen with one frame at (`l`,`t`) of `w`×`h`: an LZW stream of a
/// clear code and an end code (no pixels; the decoder would fill the frame).
pub fn gif(sw: u16, sh: u16, (l, t, w, h): (u16, u16, u16, u16)) -> Vec<u8> {
    let mut g = b"GIF89a".to_vec();
    for v in [sw, sh] {
        g.extend_from_slice(&v.to_le_bytes());
    }
    g.extend_from_slice(&[0x80, 0, 0]); // a global colour table of 2 entries
    g.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    g.push(0x2C);
    for v in [l, t, w, h] {
        g.extend_from_slice(&v.to_le_bytes());
    }
    g.push(0); // no local colour table
    g.extend_from_slice(&[2, 1, 0x2C, 0]); // min code size 2; codes 4 (clear), 5 (end)
    g.push(0x3B);
    g
}

/// A JPEG whose frame header declares `w`×`h` (baseline, three components) and nothing else.
fn jpeg_header(w: u16, h: u16) -> Vec<u8> {
    jpeg_frame(0xC0, w, h, &[0x22, 0x11, 0x11])
}

/// A JPEG of a frame header alone: `sof` (0xC0 baseline, 0xC2 progressive), `w`×`h`, one
/// component per sampling byte (horizontal << 4 | vertical).
pub fn jpeg_frame(sof: u8, w: u16, h: u16, sampling: &[u8]) -> Vec<u8> {
    let len = 8 + 3 * sampling.len() as u16;
    let mut j = vec![0xFF, 0xD8, 0xFF, sof];
    j.extend_from_slice(&len.to_be_bytes());
    j.push(8);
    j.extend_from_slice(&h.to_be_bytes());
    j.extend_from_slice(&w.to_be_bytes());
    j.push(sampling.len() as u8);
    for (id, s) in sampling.iter().enumerate() {
        j.extend_from_slice(&[id as u8 + 1, *s, u8::from(id > 0)]);
    }
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

/// A valid 16-bit RGBA PNG of `w`×`h` black pixels: a few hundred KB that decode to 8 bytes a
/// pixel, then to 4 more when converted to 8 bits. The rows are deflated as they are made.
pub fn png16_rgba(w: u32, h: u32) -> Vec<u8> {
    let mut d = w.to_be_bytes().to_vec();
    d.extend_from_slice(&h.to_be_bytes());
    d.extend_from_slice(&[16, 6, 0, 0, 0]); // 16-bit RGBA
    let row = vec![0u8; 1 + w as usize * 8]; // filter byte, then the pixels
    let mut z = fdeflate::Compressor::new(Vec::new()).unwrap();
    for _ in 0..h {
        z.write_data(&row).unwrap();
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &d));
    out.extend(chunk(b"IDAT", &z.finish().unwrap()));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// An extended WebP header (VP8X) declaring a `w`×`h` canvas.
fn webp_header(w: u32, h: u32) -> Vec<u8> {
    let mut d = vec![0u8; 4];
    d.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    d.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBPVP8X".to_vec();
    body.extend_from_slice(&10u32.to_le_bytes());
    body.extend_from_slice(&d);
    let mut riff = b"RIFF".to_vec();
    riff.extend_from_slice(&(body.len() as u32).to_le_bytes());
    riff.extend(body);
    riff
}

/// The benign progressive fixture with its last scan repeated `n` times: as many passes over
/// every coefficient.
pub fn scan_bomb(n: usize) -> Vec<u8> {
    let b = progressive_jpeg();
    let eoi = b.len() - 2;
    assert_eq!(&b[eoi..], [0xFF, 0xD9]);
    let last_sos = b.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
    let scan = &b[last_sos..eoi];
    let mut out = b[..eoi].to_vec();
    for _ in 0..n {
        out.extend_from_slice(scan);
    }
    out.extend_from_slice(&b[eoi..]);
    out
}

/// The same, each repeated scan behind `FF 00` and a two-byte span that covers it: a walker that
/// reads `FF 00` as a marker with a length jumps over the scans the decoder still finds.
pub fn hidden_scan_bomb(n: usize) -> Vec<u8> {
    let b = progressive_jpeg();
    let eoi = b.len() - 2;
    let last_sos = b.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
    let scan = &b[last_sos..eoi];
    let span = u16::try_from(scan.len() + 2).expect("the fixture's last scan fits a span");
    assert!(!span.to_be_bytes().contains(&0xFF));
    let mut out = b[..eoi].to_vec();
    for _ in 0..n {
        out.extend_from_slice(&[0xFF, 0x00]);
        out.extend_from_slice(&span.to_be_bytes());
        out.extend_from_slice(scan);
    }
    out.extend_from_slice(&b[eoi..]);
    out
}

pub fn corpus() -> Vec<Case> {
    use ErrorKind::*;
    let zeros = vec![0u8; 64 << 20]; // 64 MiB inflated, ~64 KB compressed
    let case = |name, bytes, kind, says| Case {
        name,
        bytes,
        kind,
        says,
    };
    vec![
        case("scan-bomb.jpg", scan_bomb(20_000), TooLarge, "scans"),
        case(
            "scan-bomb-hidden.jpg",
            hidden_scan_bomb(2_000),
            TooLarge,
            "scans",
        ),
        case(
            "iccp-bomb.png",
            png(16, 16, &[chunk(b"iCCP", &iccp(&zeros))]),
            TooLarge,
            "iCCP chunk inflates",
        ),
        case(
            "ztxt-bomb.png",
            png(16, 16, &[chunk(b"zTXt", &ztxt(&zeros))]),
            TooLarge,
            "zTXt chunk inflates",
        ),
        case(
            "itxt-bomb.png",
            png(16, 16, &[chunk(b"iTXt", &itxt(&zeros))]),
            TooLarge,
            "iTXt chunk inflates",
        ),
        case(
            "gif-frame-bomb.jpg",
            gif(1, 1, (0, 0, 10_000, 10_000)),
            TooLarge,
            "GIF frame is 10000×10000",
        ),
        case(
            "ztxt-many.png",
            png(
                16,
                16,
                &(0..200)
                    .map(|_| chunk(b"zTXt", &ztxt(&zeros[..64 << 10])))
                    .collect::<Vec<_>>(),
            ),
            TooLarge,
            "its metadata may take",
        ),
        // Under max_pixels (49 MP), but 392 MB from the decoder and 196 MB more in 8 bits.
        case(
            "png16-rgba-7000.png",
            png16_rgba(7000, 7000),
            TooLarge,
            "memory limit",
        ),
        case(
            "65535.jpg",
            jpeg_header(65535, 65535),
            TooLarge,
            "megapixels",
        ),
        case(
            "65535.png",
            png_header(65535, 65535),
            TooLarge,
            "megapixels",
        ),
        case(
            "65535.gif",
            gif(65535, 65535, (0, 0, 1, 1)),
            TooLarge,
            "megapixels",
        ),
        case(
            "16384.webp",
            webp_header(16384, 16384),
            TooLarge,
            "megapixels",
        ),
        case(
            "truncated.jpg",
            progressive_jpeg()[..4000].to_vec(),
            Corrupt,
            "truncated",
        ),
        case("empty.png", Vec::new(), Corrupt, "empty"),
    ]
}
