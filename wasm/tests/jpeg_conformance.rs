//! Our JPEG decoder against libjpeg-turbo's `djpeg -dct int` on a corpus made here with `cjpeg`
//! (every subsampling, progressive, restart intervals, optimised and standard tables, grey,
//! qualities) and, when present, the benchmark photos, at every scale M/8.
//!
//! What is compared: the **YCbCr planes after upsampling**, before the colour transform. djpeg
//! is given the same file with its JFIF segment replaced by an Adobe segment whose transform flag
//! is 0, so libjpeg takes the planes for RGB and writes them out unconverted (its upsampling,
//! "fancy" by default, still runs); our decoder hands the pipeline YCbCr anyway (the resize
//! converts it with libjpeg's fixed-point tables, `resize.rs`). The IDCTs differ in their
//! integer rounding (ours rounds once per pass at higher precision), so samples may differ by
//! one: the bound is ±1. The RGB difference after conversion is reported too.
//!
//! Skipped, loudly, when djpeg or cjpeg are absent (scripts/setup.sh installs
//! libjpeg-turbo-progs).
#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::fixture;
use image_core::jpeg::decode_raw;
use image_core::{process, ErrorKind, Format, Limits, Transform};
use std::path::{Path, PathBuf};
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tools() -> bool {
    if have("djpeg") && have("cjpeg") {
        return true;
    }
    eprintln!(
        "\n\n*** SKIPPED: djpeg/cjpeg not found; the JPEG conformance test did not run. \
         Install libjpeg-turbo-progs (scripts/setup.sh does). ***\n\n"
    );
    false
}

fn tmp(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sf-jpeg-conf-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The seed photo as a PPM, cropped to odd sizes so partial MCUs and edge upsampling count.
fn source_ppm(dir: &Path, w: u32, h: u32) -> PathBuf {
    let img = image::load_from_memory(&fixture("seed.png"))
        .unwrap()
        .to_rgb8();
    let (sw, sh) = img.dimensions();
    let mut ppm = format!("P6\n{w} {h}\n255\n").into_bytes();
    for y in 0..h {
        for x in 0..w {
            ppm.extend_from_slice(&img.get_pixel(x % sw, y % sh).0);
        }
    }
    let p = dir.join(format!("src-{w}x{h}.ppm"));
    std::fs::write(&p, ppm).unwrap();
    p
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The file with APP0 JFIF dropped and an Adobe segment (transform 0) after SOI: libjpeg then
/// writes the YCbCr planes as they are.
fn as_untransformed(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[
        0xFF, 0xEE, 0, 14, b'A', b'd', b'o', b'b', b'e', 0, 100, 0, 0, 0, 0, 0,
    ]);
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let seg = &jpeg[at..at + 2 + len];
        let jfif = jpeg[at + 1] == 0xE0 && seg.get(4..9) == Some(b"JFIF\0");
        let adobe = jpeg[at + 1] == 0xEE;
        if !jfif && !adobe {
            out.extend_from_slice(seg);
        }
        at += 2 + len;
    }
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// PNM body after its header (P5 or P6, maxval 255).
fn pnm(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).to_string());
    }
    (
        fields[1].parse().unwrap(),
        fields[2].parse().unwrap(),
        bytes[at + 1..].to_vec(),
    )
}

fn djpeg(dir: &Path, jpeg: &[u8], m: u32) -> (u32, u32, Vec<u8>) {
    let p = dir.join("in.jpg");
    std::fs::write(&p, jpeg).unwrap();
    pnm(&run(Command::new("djpeg")
        .args(["-dct", "int", "-scale", &format!("{m}/8")])
        .arg(&p)))
}

/// libjpeg's YCbCr → RGB (jdcolor.c), for the reported RGB difference.
fn rgb(px: &[u8]) -> [u8; 3] {
    let fix = |x: f64| (x * 65536.0 + 0.5) as i32;
    let (y, cb, cr) = (
        i32::from(px[0]),
        i32::from(px[1]) - 128,
        i32::from(px[2]) - 128,
    );
    let half = 1 << 15;
    [
        (y + ((fix(1.402) * cr + half) >> 16)).clamp(0, 255) as u8,
        (y + ((half - fix(0.34414) * cb - fix(0.71414) * cr) >> 16)).clamp(0, 255) as u8,
        (y + ((fix(1.772) * cb + half) >> 16)).clamp(0, 255) as u8,
    ]
}

/// Max |ours − djpeg| over the planes, and over RGB after conversion, at scale m.
fn compare(dir: &Path, name: &str, jpeg: &[u8], m: u32) -> (u8, u8) {
    let ours =
        decode_raw(jpeg, m, &Limits::default()).unwrap_or_else(|e| panic!("{name} {m}/8: {e}"));
    let (w, h, planes) = djpeg(dir, &as_untransformed(jpeg), m);
    assert_eq!((ours.width, ours.height), (w, h), "{name} at {m}/8: size");
    assert_eq!(
        ours.data.len(),
        planes.len(),
        "{name} at {m}/8: {} samples",
        ours.layout
    );
    let diff = |a: &[u8], b: &[u8]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    };
    let plane_diff = diff(&ours.data, &planes);
    if plane_diff > 1 {
        let ch = ours.data.len() / (w * h) as usize;
        let i = ours
            .data
            .iter()
            .zip(&planes)
            .position(|(a, b)| a.abs_diff(*b) == plane_diff)
            .unwrap();
        let (px, c) = (i / ch, i % ch);
        eprintln!(
            "{name} {m}/8 {}: worst at x={} y={} c={c}: ours {} djpeg {}",
            ours.layout,
            px % w as usize,
            px / w as usize,
            ours.data[i],
            planes[i]
        );
    }
    let rgb_diff = if ours.layout == "ycbcr" {
        let (_, _, theirs) = djpeg(dir, jpeg, m);
        let mine: Vec<u8> = ours.data.chunks_exact(3).flat_map(rgb).collect();
        diff(&mine, &theirs)
    } else {
        plane_diff
    };
    (plane_diff, rgb_diff)
}

#[test]
fn matches_djpeg_on_a_cjpeg_corpus_at_every_scale() {
    if !tools() {
        return;
    }
    let dir = tmp("corpus");
    let sources = [
        source_ppm(&dir, 237, 157),
        source_ppm(&dir, 64, 48),
        source_ppm(&dir, 9, 3),
    ];
    let cases: &[(&str, &[&str])] = &[
        ("444", &["-sample", "1x1"]),
        ("422", &["-sample", "2x1"]),
        ("420", &["-sample", "2x2"]),
        ("440", &["-sample", "1x2"]),
        ("411", &["-sample", "4x1"]),
        ("420-q30", &["-quality", "30"]),
        ("420-q98-optimised", &["-quality", "98", "-optimize"]),
        ("standard-tables", &["-quality", "85"]),
        ("progressive-420", &["-progressive"]),
        ("progressive-444", &["-progressive", "-sample", "1x1"]),
        ("progressive-422", &["-progressive", "-sample", "2x1"]),
        ("restart-rows", &["-restart", "1"]),
        ("restart-blocks", &["-restart", "3B"]),
        ("restart-progressive", &["-restart", "2B", "-progressive"]),
        ("grey", &["-grayscale"]),
        ("grey-progressive", &["-grayscale", "-progressive"]),
    ];
    let mut worst = (0, 0);
    let mut report = Vec::new();
    for src in &sources {
        for (name, args) in cases {
            let jpeg = run(Command::new("cjpeg").args(*args).arg(src));
            for m in 1..=8 {
                let label = format!("{name} {}", src.file_name().unwrap().to_string_lossy());
                let (p, r) = compare(&dir, &label, &jpeg, m);
                assert!(p <= 1, "{label} at {m}/8: planes differ by {p}");
                worst = (worst.0.max(p), worst.1.max(r));
                report.push(format!("{label} {m}/8: planes ±{p}, RGB ±{r}"));
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    eprintln!(
        "corpus: {} decodes, worst planes ±{}, RGB ±{}",
        report.len(),
        worst.0,
        worst.1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn matches_djpeg_on_the_benchmark_photos() {
    let photos = Path::new("/tmp/scalefront-photos");
    if !tools() || !photos.is_dir() {
        eprintln!("(no benchmark photos in {}: skipped)", photos.display());
        return;
    }
    let dir = tmp("photos");
    for entry in std::fs::read_dir(photos).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "jpg") {
            continue;
        }
        let jpeg = std::fs::read(&p).unwrap();
        for m in [1, 3, 5, 8] {
            let (pd, rd) = compare(&dir, &p.display().to_string(), &jpeg, m);
            eprintln!("{} {m}/8: planes ±{pd}, RGB ±{rd}", p.display());
            assert!(pd <= 1, "{} at {m}/8: planes differ by {pd}", p.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// CMYK and YCCK (the committed fixtures, cjpeg writes neither): djpeg writes them as RGB with
/// libjpeg-turbo's naive `R = C·K / 255` on the stored (Adobe-inverted) values, after its own
/// YCCK → CMYK; the same formula on our ink amounts (`255 − stored`) must agree. A ±1 in a
/// plane moves that product by up to 2, a YCC ±1 through the colour transform by up to 4.
#[test]
fn cmyk_and_ycck_match_djpeg() {
    if !tools() {
        return;
    }
    let dir = tmp("cmyk");
    for (name, bound) in [("cmyk.jpg", 2), ("ycck.jpg", 4)] {
        let jpeg = fixture(name);
        for m in [1, 3, 4, 8] {
            let ours = decode_raw(&jpeg, m, &Limits::default()).unwrap();
            assert_eq!(ours.layout, "cmyk");
            let (w, h, theirs) = djpeg(&dir, &jpeg, m);
            assert_eq!((ours.width, ours.height), (w, h));
            let mine: Vec<u8> = ours
                .data
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255.0 - f64::from(p[3]);
                    [0, 1, 2].map(|c| ((255.0 - f64::from(p[c])) * k / 255.0 + 0.5) as u8)
                })
                .collect();
            let d = mine
                .iter()
                .zip(&theirs)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            eprintln!("{name} {m}/8: RGB (naive from CMYK) ±{d}");
            assert!(d <= bound, "{name} at {m}/8: ±{d}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn arithmetic_coding_is_refused_as_unsupported() {
    if !tools() {
        return;
    }
    let dir = tmp("arithmetic");
    let src = source_ppm(&dir, 64, 48);
    let jpeg = run(Command::new("cjpeg").arg("-arithmetic").arg(&src));
    let t = Transform {
        width: Some(32),
        format: Format::Jpeg,
        ..Transform::default()
    };
    let e = process(&jpeg, &t, &Limits::default()).unwrap_err();
    assert_eq!((e.kind, e.status()), (ErrorKind::Unsupported, 415), "{e}");
    let e = decode_raw(&jpeg, 8, &Limits::default()).err().unwrap();
    assert!(e.message.contains("arithmetic"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
