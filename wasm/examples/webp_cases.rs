//! Writes the native build's WebP outputs for a spread of qualities, sizes and inputs to a folder,
//! as `manifest.tsv` (input, width or `-`, quality, byte count, FNV-1a 64 of the bytes), for the
//! wasm build's test (tests/image/webp.test.mjs). The wasm build runs libwebp's SSE2 code
//! through SIMDe (wasm/simd) where the native build runs x86 SSE2: this is where a difference
//! between the two would show, over more encoder paths (quantiser settings, alpha, odd sizes,
//! a larger image) than the core corpus's three WebP cases.
//!
//! ```text
//! cargo run -p image-core --example webp_cases -- /tmp/webp-cases
//! ```
use image_core::{process, Format, Limits, Transform};
use std::path::Path;

/// A deterministic 803×601 RGBA image: gradients, texture and noise, alpha falling off to the
/// right (odd sizes: partial macroblocks on both edges).
fn synthetic() -> Vec<u8> {
    let (w, h) = (803u32, 601u32);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 56) as i32 - 128
    };
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
            let wave = ((fx * 40.0).sin() * (fy * 25.0).cos() * 60.0) as i32;
            let px = [
                (fx * 200.0) as i32 + wave + noise() / 8,
                (fy * 220.0) as i32 - wave / 2 + noise() / 8,
                ((fx + fy) * 100.0) as i32 + noise() / 4,
                255 - (fx * fx * 255.0) as i32,
            ];
            rgba.extend(px.map(|v| v.clamp(0, 255) as u8));
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut wr = enc.write_header().unwrap();
    wr.write_image_data(&rgba).unwrap();
    wr.finish().unwrap();
    out
}

fn fnv64(b: &[u8]) -> String {
    let h = b.iter().fold(0xcbf29ce484222325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100000001b3)
    });
    format!("{h:016x}")
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: webp_cases DIR (the folder to write the inputs and manifest to)");
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut inputs: Vec<(String, Vec<u8>)> = [
        "landscape-1.jpg",
        "grey.jpg",
        "alpha.png",
        "palette.png",
        "webp-lossy.webp",
        "webp-alpha.webp",
        "webp-lossless.webp",
    ]
    .iter()
    .map(|name| {
        (
            name.to_string(),
            std::fs::read(fixtures.join(name)).unwrap(),
        )
    })
    .collect();
    inputs.push(("synthetic.png".into(), synthetic()));
    let mut manifest = String::new();
    for (name, bytes) in &inputs {
        std::fs::write(dir.join(name), bytes).unwrap();
        for width in [None, Some(97)] {
            for quality in [1, 5, 40, 75, 90, 100] {
                let t = Transform {
                    width,
                    quality,
                    format: Format::Webp,
                    ..Transform::default()
                };
                let out = process(bytes, &t, &Limits::default()).unwrap();
                let w = width.map_or("-".to_string(), |w| w.to_string());
                manifest += &format!(
                    "{name}\t{w}\t{quality}\t{}\t{}\n",
                    out.data.len(),
                    fnv64(&out.data)
                );
            }
        }
    }
    std::fs::write(dir.join("manifest.tsv"), manifest).unwrap();
}
