//! A bounded, deterministic fuzz run of the JPEG decoder: a few thousand mutations of the
//! fixtures (baseline, progressive, grey, CMYK, YCCK, with an ICC profile; and, from the test
//! itself, restart intervals) — bytes flipped, set to 0xFF or 0x00, runs duplicated or cut,
//! the file truncated — each decoded at a random scale, and through the whole pipeline. None may
//! panic or take long, every error is one of the input's kinds (never `internal`), and the
//! limits hold: a mutated header over `max_pixels` or a file over `max_jpeg_scans` is refused,
//! and nothing larger than the limits is ever produced.
#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::fixture;
use image_core::jpeg::decode_raw;
use image_core::{process, ErrorKind, Format, Limits, Transform};
use std::time::{Duration, Instant};

/// xorshift64*: the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A restart interval of one MCU in front of the first scan (DRI), so RSTn handling is fuzzed
/// without cjpeg: the data has no RST markers, so the decoder must refuse or cope, not panic.
fn with_dri(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xDD, 0, 4, 0, 1]);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len());
        match rng.below(7) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => b[at] = 0xFF,
            2 => b[at] = 0x00,
            3 => b[at] = rng.next() as u8,
            4 => {
                // Duplicate a run (a repeated segment or scan).
                let len = rng.below(64).min(b.len() - at);
                let run = b[at..at + len].to_vec();
                let to = rng.below(b.len());
                b.splice(to..to, run);
            }
            5 => {
                let len = rng.below(64).min(b.len() - at);
                b.drain(at..at + len);
            }
            _ => {
                // Headers matter most: hit the first 600 bytes (frame, tables, scan header).
                let at = rng.below(b.len().min(600));
                b[at] = rng.next() as u8;
            }
        }
        if b.is_empty() {
            b.push(0xFF);
        }
    }
    if rng.below(10) == 0 {
        let keep = rng.below(b.len());
        b.truncate(keep.max(1));
    }
    b
}

#[test]
fn mutated_jpegs_never_panic_hang_or_break_a_limit() {
    let seeds: Vec<Vec<u8>> = [
        "landscape-1.jpg",
        "progressive.jpg",
        "grey.jpg",
        "cmyk.jpg",
        "ycck.jpg",
        "display-p3.jpg",
    ]
    .iter()
    .map(|n| fixture(n))
    .chain([with_dri(&fixture("landscape-2.jpg"))])
    .collect();
    let limits = Limits {
        max_pixels: 200_000,
        max_jpeg_scans: 12,
        ..Limits::default()
    };
    let t = Transform {
        width: Some(64),
        format: Format::Png,
        ..Transform::default()
    };
    let mut rng = Rng(0x5CA1_EF00_0000_0015);
    let (mut ok, mut refused) = (0, 0);
    let mut slowest = Duration::ZERO;
    for i in 0..3000 {
        let seed = &seeds[i % seeds.len()];
        let bytes = mutate(seed, &mut rng);
        let m = 1 + rng.below(8) as u32;
        let start = Instant::now();
        match decode_raw(&bytes, m, &limits) {
            Ok(raw) => {
                ok += 1;
                // Never more than the limit's pixels, at any scale.
                let full = u64::from(raw.width) * 8 / u64::from(m) * u64::from(raw.height) * 8
                    / u64::from(m);
                assert!(
                    full <= limits.max_pixels * 2,
                    "case {i}: {}×{} at {m}/8",
                    raw.width,
                    raw.height
                );
            }
            Err(e) => {
                refused += 1;
                assert_ne!(e.kind, ErrorKind::Internal, "case {i}: {e}");
            }
        }
        match process(&bytes, &t, &limits) {
            Ok(out) => assert!(out.width <= 64 && out.height <= 64 * 64, "case {i}"),
            Err(e) => assert_ne!(e.kind, ErrorKind::Internal, "case {i}: {e}"),
        }
        let took = start.elapsed();
        slowest = slowest.max(took);
        assert!(took < Duration::from_secs(2), "case {i} took {took:?}");
    }
    eprintln!("3000 mutations: {ok} decoded, {refused} refused, slowest {slowest:?}");
    // The run means something only if both outcomes are common.
    assert!(ok > 300 && refused > 300, "{ok} decoded, {refused} refused");
}

#[test]
fn a_header_over_the_pixel_limit_is_refused_before_decoding() {
    let mut jpeg = fixture("landscape-1.jpg");
    // Find SOF0/2 and declare 60000 × 60000.
    let at = jpeg
        .windows(2)
        .position(|w| w[0] == 0xFF && matches!(w[1], 0xC0 | 0xC2))
        .unwrap();
    jpeg[at + 5..at + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    let start = Instant::now();
    let e = decode_raw(&jpeg, 8, &Limits::default()).err().unwrap();
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
    assert!(start.elapsed() < Duration::from_millis(100));
}

#[test]
fn scans_past_the_limit_are_refused_as_they_come() {
    // The progressive fixture's scans, with the limit one below their number.
    let jpeg = fixture("progressive.jpg");
    let scans = jpeg.windows(2).filter(|w| w == &[0xFF, 0xDA]).count() as u32;
    let limits = Limits {
        max_jpeg_scans: scans - 1,
        ..Limits::default()
    };
    let e = decode_raw(&jpeg, 8, &limits).err().unwrap();
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
    assert!(decode_raw(
        &jpeg,
        8,
        &Limits {
            max_jpeg_scans: scans,
            ..Limits::default()
        }
    )
    .is_ok());
}

/// Hostile shapes the mutations are unlikely to hit: work the cost estimate would not see.
#[test]
fn repeated_or_empty_scans_are_refused() {
    let limits = Limits::default();
    let t = Transform {
        width: Some(64),
        ..Transform::default()
    };
    // grey.jpg has one scan of its one component: the same scan again before EOI.
    let grey = fixture("grey.jpg");
    let sos = grey.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let eoi = grey.len() - 2;
    let mut twice = grey[..eoi].to_vec();
    twice.extend_from_slice(&grey[sos..]);
    let e = process(&twice, &t, &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Corrupt, "{e}");
    assert!(e.message.contains("more than one scan"), "{e}");
    // An interval of one MCU and a scan with no entropy-coded data at all: refused, not grey.
    let dri = with_dri(&grey);
    let sos = dri.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let len = usize::from(u16::from_be_bytes([dri[sos + 2], dri[sos + 3]]));
    let mut empty = dri[..sos + 2 + len].to_vec();
    empty.extend_from_slice(&[0xFF, 0xD9]);
    let e = process(&empty, &t, &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Corrupt, "{e}");
}
