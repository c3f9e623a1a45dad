//! The measurements behind `Limits`' time and AVIF defaults (`src/cost.rs`), natively on one
//! core; the wasm factors come from the README's benchmark. The rates in `src/cost.rs` were
//! taken with the test build (image-core at opt-level 3, dependencies at 2):
//!
//! ```text
//! cargo run -p image-core --example throughput -- PHOTO [avif-widths…]
//! ```
//! First, for a few transforms, what `image_core::check` estimates (wasm ms, MB) next to the
//! native run's time.
//! Then, per step, CPU milliseconds (the thread's own, so a busy machine does not inflate them)
//! and milliseconds per megapixel: a full decode, a decode at 1/8 (JPEG: the entropy decode
//! alone), a resize to half the width, each encoder at the photo's full size, and AVIF at each
//! quality at the given widths (default 1366).
use image_core::{process, quality, Format, Limits, Transform};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use quality::cpu_time as time;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `--estimates`: only the first table (estimate vs a native run).
    let only_estimates = args.iter().any(|a| a == "--estimates");
    args.retain(|a| a != "--estimates");
    let path = args
        .first()
        .expect("usage: throughput PHOTO [avif-widths…]");
    let input = std::fs::read(path).unwrap();
    let limits = Limits {
        max_input_bytes: usize::MAX,
        max_avif_pixels: u64::MAX,
        max_work_ms: u64::MAX,
        max_memory_bytes: u64::MAX,
        ..Limits::default()
    };
    let info = image_core::probe(&input, &limits).unwrap();
    let mp = |w: u32, h: u32| f64::from(w) * f64::from(h) / 1e6;
    let full = mp(info.width, info.height);
    let row =
        |what: &str, ms: f64, mpx: f64| println!("{what:<44} {ms:>9.1} ms {:>8.1} ms/MP", ms / mpx);
    println!("{path}: {}×{} ({full:.2} MP)", info.width, info.height);
    // What `cost::estimate` says (wasm milliseconds) next to what this native run takes.
    for (w, format, q) in [
        (Some(256), Format::Jpeg, 80),
        (Some(info.width / 2), Format::Webp, 80),
        (None, Format::Jpeg, 80),
        (Some(1366), Format::Avif, 75),
        (None, Format::Avif, 75),
    ] {
        let t = Transform {
            width: w,
            format,
            quality: q,
            ..Transform::default()
        };
        let c = image_core::check(&input, &t, &Limits::default());
        // The default output caps, no budgets: the run the estimate is about.
        let capped = Limits {
            max_work_ms: u64::MAX,
            max_memory_bytes: u64::MAX,
            ..Limits::default()
        };
        let (ms, out) = time(|| process(&input, &t, &capped).unwrap());
        match c {
            Ok(c) => println!(
                "estimate {:>5}×{:<5} {format} q{q}: {:>6} ms wasm, {:>4} MB ({}); native run {ms:.0} ms",
                out.width, out.height, c.cost.work_ms, c.cost.memory_bytes / 1_000_000, c.cost.memory_phase
            ),
            Err(e) => println!("estimate {w:?} {format} q{q}: {e}"),
        }
    }
    if only_estimates {
        return;
    }
    // Warm the lazy tables (sRGB curves) once.
    let _ = quality::decode_rgb(&input, &limits).unwrap();
    let (decode, _) = time(|| quality::decode_rgb(&input, &limits).unwrap());
    row("decode, full size", decode, full);
    let run = |width: u32, format: Format, q: u8| {
        let t = Transform {
            width: Some(width),
            format,
            quality: q,
            ..Transform::default()
        };
        let (ms, out) = time(|| process(&input, &t, &limits).unwrap());
        (ms, mp(out.width, out.height))
    };
    let (small, _) = run(64, Format::Jpeg, 80);
    row("decode at 1/8 + 64 w JPEG (per source MP)", small, full);
    let mut encode = Vec::new();
    for format in [Format::Jpeg, Format::Png, Format::Webp] {
        let (ms, out) = run(info.width, format, 80);
        row(
            &format!("{format} q80 encode at full size (minus decode)"),
            ms - decode,
            out,
        );
        encode.push((ms - decode) / out);
    }
    let jpeg_per_mp = encode[0];
    let webp = Transform {
        width: Some(info.width),
        format: Format::Webp,
        ..Transform::default()
    };
    let webp = process(&input, &webp, &limits).unwrap().data;
    let (ms, _) = time(|| quality::decode_rgb(&webp, &limits).unwrap());
    row("decode of that full-size WebP", ms, full);
    // Both decode at full size (2× the output is more than half the width); the difference is
    // the resize's per-output work.
    let (half, half_mp) = run(info.width / 2, Format::Jpeg, 80);
    let (quarter, quarter_mp) = run(info.width / 4 + 1, Format::Jpeg, 80);
    let per_out = ((half - jpeg_per_mp * half_mp) - (quarter - jpeg_per_mp * quarter_mp))
        / (half_mp - quarter_mp);
    let resize_in = (quarter - jpeg_per_mp * quarter_mp - per_out * quarter_mp - decode) / full;
    println!("{:<44} {per_out:>9.1} ms/MP out", "resize, per output MP");
    println!("{:<44} {resize_in:>9.1} ms/MP in", "resize, per decoded MP");
    // The same photo with an alpha gradient, as a PNG: AVIF then encodes an alpha plane too.
    let rgb = quality::decode_rgb(&input, &limits).unwrap();
    let rgba: Vec<u8> = rgb
        .data
        .chunks_exact(3)
        .enumerate()
        .flat_map(|(i, p)| {
            [
                p[0],
                p[1],
                p[2],
                (i % rgb.width as usize * 255 / rgb.width as usize) as u8,
            ]
        })
        .collect();
    let mut alpha_png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut alpha_png, rgb.width, rgb.height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_compression(png::Compression::Fast);
        enc.write_header().unwrap().write_image_data(&rgba).unwrap();
    }
    for format in [Format::Jpeg, Format::Avif] {
        let t = Transform {
            width: Some(1366),
            format,
            quality: 75,
            ..Transform::default()
        };
        let (ms, out) = time(|| process(&alpha_png, &t, &limits).unwrap());
        row(
            &format!("{format} q75 1366 w from the RGBA PNG (with decode)"),
            ms,
            f64::from(out.width) * f64::from(out.height) / 1e6,
        );
    }
    let widths: Vec<u32> = if args.len() > 1 {
        args[1..].iter().map(|w| w.parse().unwrap()).collect()
    } else {
        vec![1366]
    };
    for w in widths {
        let (jpeg, out) = run(w, Format::Jpeg, 80);
        let base = jpeg - jpeg_per_mp * out;
        for q in [20, 50, 65, 75, 80, 90, 95, 100] {
            let (ms, out) = run(w, Format::Avif, q);
            row(
                &format!("avif q{q} {w} w ({out:.2} MP; encode only)"),
                ms - base,
                out,
            );
        }
    }
}
