//! The fixture corpus, derived deterministically from `tests/fixtures/seed.png` (a 240×150 crop of
//! a real photo, made by `cargo xtask fixtures --reseed`). `cargo xtask fixtures` writes these files;
//! the `fixtures_are_fresh` test fails when the committed files differ from what this code makes.
#![allow(dead_code)]
use image_core::exif::tiff_with_orientation;

pub struct Seed {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

pub fn read_seed(png_bytes: &[u8]) -> Seed {
    let img = image::load_from_memory_with_format(png_bytes, image::ImageFormat::Png)
        .expect("seed.png")
        .to_rgb8();
    Seed {
        width: img.width(),
        height: img.height(),
        rgb: img.into_raw(),
    }
}

/// The stored pixel shown at displayed (x, y) for each EXIF orientation (as the orient step).
fn stored_xy(o: u8, x: usize, y: usize, dw: usize, dh: usize) -> (usize, usize) {
    match o {
        2 => (dw - 1 - x, y),
        3 => (dw - 1 - x, dh - 1 - y),
        4 => (x, dh - 1 - y),
        5 => (y, x),
        6 => (y, dw - 1 - x),
        7 => (dh - 1 - y, dw - 1 - x),
        8 => (dh - 1 - y, x),
        _ => (x, y),
    }
}

/// The pixels a camera would store so that orientation `o` displays `seed`.
pub fn stored_for(seed: &Seed, o: u8) -> (u32, u32, Vec<u8>) {
    let (dw, dh) = (seed.width as usize, seed.height as usize);
    let (sw, sh) = if o >= 5 { (dh, dw) } else { (dw, dh) };
    let mut out = vec![0u8; dw * dh * 3];
    for y in 0..dh {
        for x in 0..dw {
            let (sx, sy) = stored_xy(o, x, y, dw, dh);
            out[(sy * sw + sx) * 3..][..3].copy_from_slice(&seed.rgb[(y * dw + x) * 3..][..3]);
        }
    }
    (sw as u32, sh as u32, out)
}

fn jpeg(
    w: u32,
    h: u32,
    data: &[u8],
    color: jpeg_encoder::ColorType,
    f: impl FnOnce(&mut jpeg_encoder::Encoder<&mut Vec<u8>>),
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, 92);
    f(&mut e);
    e.encode(data, w as u16, h as u16, color).unwrap();
    out
}

fn png(
    w: u32,
    h: u32,
    data: &[u8],
    color: png::ColorType,
    depth: png::BitDepth,
    palette: Option<Vec<u8>>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    e.set_color(color);
    e.set_depth(depth);
    if let Some(p) = palette {
        e.set_palette(p);
    }
    let mut wr = e.write_header().unwrap();
    wr.write_image_data(data).unwrap();
    wr.finish().unwrap();
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut c = crc32fast::Hasher::new();
    c.update(kind);
    c.update(data);
    out.extend_from_slice(&c.finalize().to_be_bytes());
}

fn ihdr(w: u32, h: u32, color: u8, interlace: u8) -> Vec<u8> {
    let mut d = w.to_be_bytes().to_vec();
    d.extend_from_slice(&h.to_be_bytes());
    d.extend_from_slice(&[8, color, 0, 0, interlace]);
    d
}

/// Adam7-interlaced 8-bit RGB (the png crate writes no interlaced files).
fn png_interlaced(w: u32, h: u32, rgb: &[u8]) -> Vec<u8> {
    const PASSES: [(usize, usize, usize, usize); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let (w, h) = (w as usize, h as usize);
    let mut raw = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        if x0 >= w || y0 >= h {
            continue;
        }
        for y in (y0..h).step_by(dy) {
            raw.push(0);
            for x in (x0..w).step_by(dx) {
                raw.extend_from_slice(&rgb[(y * w + x) * 3..][..3]);
            }
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr(w as u32, h as u32, 2, 1));
    chunk(&mut out, b"IDAT", &fdeflate::compress_to_vec(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Declares `w × h` RGBA but holds one tiny compressed row: a decompression bomb's header.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr(w, h, 6, 0));
    chunk(
        &mut out,
        b"IDAT",
        &fdeflate::compress_to_vec(&vec![0u8; 4096]),
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn jpeg_bomb() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    // SOF0: 8-bit, 65000 × 65000, 3 components.
    j.extend_from_slice(&[
        0xFF, 0xC0, 0, 17, 8, 0xFD, 0xE8, 0xFD, 0xE8, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
    ]);
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

fn rgb_to_cmyk(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .flat_map(|p| {
            let max = u32::from(p[0].max(p[1]).max(p[2]));
            let k = 255 - max;
            let ink = |v: u8| {
                (u32::from(v) * 255)
                    .checked_div(max)
                    .map_or(0, |x| (255 - x) as u8)
            };
            [ink(p[0]), ink(p[1]), ink(p[2]), k as u8]
        })
        .collect()
}

fn luma(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| {
            ((u32::from(p[0]) * 2126 + u32::from(p[1]) * 7152 + u32::from(p[2]) * 722 + 5000)
                / 10000) as u8
        })
        .collect()
}

/// Alpha: opaque centre fading to transparent at the edges.
pub fn alpha_at(x: u32, y: u32, w: u32, h: u32) -> u8 {
    let dx = (f64::from(x) + 0.5) / f64::from(w) - 0.5;
    let dy = (f64::from(y) + 0.5) / f64::from(h) - 0.5;
    let r = (dx * dx + dy * dy).sqrt() * 2.0;
    ((1.0 - (r - 0.5) * 2.0).clamp(0.0, 1.0) * 255.0).round() as u8
}

pub fn rgba(seed: &Seed) -> Vec<u8> {
    let (w, h) = (seed.width, seed.height);
    seed.rgb
        .chunks_exact(3)
        .enumerate()
        .flat_map(|(i, p)| [p[0], p[1], p[2], alpha_at(i as u32 % w, i as u32 / w, w, h)])
        .collect()
}

/// Display P3 pixel values of the seed, and the P3 profile to embed.
pub fn display_p3(seed: &Seed) -> (Vec<u8>, Vec<u8>) {
    use moxcms::{ColorProfile, Layout, TransformOptions};
    let p3 = ColorProfile::new_display_p3();
    let x = ColorProfile::new_srgb()
        .create_transform_8bit(Layout::Rgb, &p3, Layout::Rgb, TransformOptions::default())
        .unwrap();
    let mut out = vec![0u8; seed.rgb.len()];
    x.transform(&seed.rgb, &mut out).unwrap();
    let mut icc = p3.encode().unwrap();
    // The header's creation date (bytes 24..36) would make every run differ.
    icc[24..36].fill(0);
    (out, icc)
}

fn quantise(rgb: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let palette: Vec<u8> = (0..216u32)
        .flat_map(|i| {
            [
                (i / 36 * 51) as u8,
                (i / 6 % 6 * 51) as u8,
                (i % 6 * 51) as u8,
            ]
        })
        .collect();
    let q = |v: u8| (u32::from(v) + 25) / 51;
    let idx = rgb
        .chunks_exact(3)
        .map(|p| (q(p[0]) * 36 + q(p[1]) * 6 + q(p[2])) as u8)
        .collect();
    (palette, idx)
}

fn gif(seed: &Seed) -> Vec<u8> {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame, RgbaImage};
    let (w, h) = (seed.width, seed.height);
    let first = RgbaImage::from_raw(
        w,
        h,
        seed.rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
    )
    .unwrap();
    let second = RgbaImage::from_raw(
        w,
        h,
        seed.rgb
            .chunks_exact(3)
            .flat_map(|p| [255 - p[0], 255 - p[1], 255 - p[2], 255])
            .collect(),
    )
    .unwrap();
    let mut out = Vec::new();
    {
        let mut e = GifEncoder::new_with_speed(&mut out, 10);
        for f in [first, second] {
            e.encode_frame(Frame::from_parts(
                f,
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            ))
            .unwrap();
        }
    }
    out
}

fn webp_lossless(w: u32, h: u32, rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .encode(rgba, w, h, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

fn via_core(input: &[u8], format: image_core::Format) -> Vec<u8> {
    let t = image_core::Transform {
        format,
        quality: 90,
        ..Default::default()
    };
    image_core::process(input, &t, &image_core::Limits::default())
        .unwrap()
        .data
}

/// Every fixture: (file name, bytes).
pub fn all(seed_png: &[u8]) -> Vec<(String, Vec<u8>)> {
    use jpeg_encoder::ColorType as J;
    use png::{BitDepth as D, ColorType as P};
    let seed = read_seed(seed_png);
    let (w, h) = (seed.width, seed.height);
    let mut f: Vec<(String, Vec<u8>)> = Vec::new();
    for o in 1..=8u8 {
        let (sw, sh, data) = stored_for(&seed, o);
        let exif = [b"Exif\0\0".as_slice(), &tiff_with_orientation(o)].concat();
        f.push((
            format!("landscape-{o}.jpg"),
            jpeg(sw, sh, &data, J::Rgb, |e| {
                e.add_app_segment(1, exif).unwrap()
            }),
        ));
    }
    f.push((
        "progressive.jpg".into(),
        jpeg(w, h, &seed.rgb, J::Rgb, |e| e.set_progressive(true)),
    ));
    f.push((
        "grey.jpg".into(),
        jpeg(w, h, &luma(&seed.rgb), J::Luma, |_| {}),
    ));
    f.push((
        "cmyk.jpg".into(),
        jpeg(w, h, &rgb_to_cmyk(&seed.rgb), J::Cmyk, |_| {}),
    ));
    f.push((
        "ycck.jpg".into(),
        jpeg(w, h, &rgb_to_cmyk(&seed.rgb), J::CmykAsYcck, |_| {}),
    ));
    let (p3, profile) = display_p3(&seed);
    f.push((
        "display-p3.jpg".into(),
        jpeg(w, h, &p3, J::Rgb, |e| e.add_icc_profile(&profile).unwrap()),
    ));
    let rgba = rgba(&seed);
    let rgb16: Vec<u8> = seed
        .rgb
        .iter()
        .flat_map(|&v| (u16::from(v) * 257).to_be_bytes())
        .collect();
    f.push((
        "rgb16.png".into(),
        png(w, h, &rgb16, P::Rgb, D::Sixteen, None),
    ));
    let (palette, idx) = quantise(&seed.rgb);
    f.push((
        "palette.png".into(),
        png(w, h, &idx, P::Indexed, D::Eight, Some(palette)),
    ));
    let ga: Vec<u8> = luma(&seed.rgb)
        .into_iter()
        .zip(rgba.chunks_exact(4))
        .flat_map(|(l, p)| [l, p[3]])
        .collect();
    f.push((
        "grey-alpha.png".into(),
        png(w, h, &ga, P::GrayscaleAlpha, D::Eight, None),
    ));
    let alpha = png(w, h, &rgba, P::Rgba, D::Eight, None);
    // Every other pixel: interlaced files compress poorly and this one only has to be correct.
    let half: Vec<u8> = (0..h / 2)
        .flat_map(|y| {
            (0..w / 2).flat_map(move |x| {
                ((y * 2 * w + x * 2) * 3) as usize..((y * 2 * w + x * 2) * 3 + 3) as usize
            })
        })
        .map(|i| seed.rgb[i])
        .collect();
    f.push(("interlaced.png".into(), png_interlaced(w / 2, h / 2, &half)));
    f.push((
        "webp-lossy.webp".into(),
        via_core(seed_png, image_core::Format::Webp),
    ));
    f.push((
        "webp-alpha.webp".into(),
        via_core(&alpha, image_core::Format::Webp),
    ));
    f.push(("webp-lossless.webp".into(), webp_lossless(w, h, &rgba)));
    f.push(("alpha.png".into(), alpha));
    f.push(("two-frames.gif".into(), gif(&seed)));
    // Bad inputs.
    let good_jpeg = f[0].1.clone();
    f.push((
        "truncated.jpg".into(),
        good_jpeg[..good_jpeg.len() / 2].to_vec(),
    ));
    f.push((
        "truncated.png".into(),
        seed_png[..seed_png.len() / 2].to_vec(),
    ));
    f.push(("empty.jpg".into(), Vec::new()));
    f.push((
        "html.jpg".into(),
        b"<!doctype html><title>404 Not Found</title>\n".to_vec(),
    ));
    let palette_png = f
        .iter()
        .find(|(n, _)| n == "palette.png")
        .unwrap()
        .1
        .clone();
    f.push(("png-named.jpg".into(), palette_png));
    f.push(("bomb-65536.png".into(), png_bomb(65536, 65536)));
    f.push(("bomb-10000.png".into(), png_bomb(10000, 10000)));
    f.push(("bomb.jpg".into(), jpeg_bomb()));
    let mut header_corrupt = seed_png[..256].to_vec();
    header_corrupt[12..16].copy_from_slice(b"IHDX");
    f.push(("corrupt-header.png".into(), header_corrupt));
    f
}
