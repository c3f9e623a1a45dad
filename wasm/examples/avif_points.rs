//! Native side of the AVIF calibration (`node tests/bench/avif-calibrate.mjs`, which reads the
//! numbers and writes the tables): measured points of bytes × DSSIM × time for the AVIF encoder
//! settings, next to libwebp's WebP on the same pixels.
//!
//! avif_points encode OUT_DIR WIDTHS PHOTO...  → OUT_DIR/<photo>-w<W>.png, the pipeline's own
//!     resized pixels (the reference every candidate is scored against), then every candidate
//!     encoding of them: ravif at each speed × bit depth × quality of the grid (`ravif`), and
//!     libwebp through the pipeline (`webp`), and the pipeline's own AVIF (`scalefront`: the
//!     calibrated quality and speed) at each PIPELINE_QUALITIES. One TSV line per candidate:
//!     file ref encoder speed depth quality bytes ms
//! avif_points score REF=CANDIDATE_PNG...     → one TSV line per pair: candidate dssim
//!
//! Environment: AVIF_SPEEDS (default 6,8,10), AVIF_DEPTHS (8,10), AVIF_QUALITIES (30…95 by 5),
//! WEBP_QUALITIES (40…95 by 5), PIPELINE_QUALITIES (40,50,60,75,80,90). One thread, as the hosts
//! run it; ms is the thread's CPU time, so other work on a shared machine does not count.
use image_core::{process, quality, Fit, Format, Limits, Transform};
use quality::cpu_time as cpu;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("encode") if args.len() >= 4 => encode(&args[1], &args[2], &args[3..]),
        Some("score") if args.len() >= 2 => score(&args[1..]),
        _ => Err("usage: avif_points encode OUT_DIR WIDTHS PHOTO... | avif_points score REF=CANDIDATE...".into()),
    };
    if let Err(e) = r {
        eprintln!("avif_points: {e}");
        std::process::exit(1);
    }
}

fn list(var: &str, default: &str) -> Vec<u32> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn limits() -> Limits {
    Limits {
        max_input_bytes: usize::MAX,
        max_avif_pixels: u64::MAX,
        max_work_ms: u64::MAX,
        ..Limits::default()
    }
}

fn encode(out: &str, widths: &str, photos: &[String]) -> Result<(), String> {
    let out = Path::new(out);
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let widths: Vec<u32> = widths.split(',').filter_map(|w| w.parse().ok()).collect();
    let speeds = list("AVIF_SPEEDS", "6,8,10");
    let depths = list("AVIF_DEPTHS", "8,10");
    let qualities = list(
        "AVIF_QUALITIES",
        "30,35,40,45,50,55,60,65,70,75,80,85,90,95",
    );
    let webp_q = list("WEBP_QUALITIES", "40,45,50,55,60,65,70,75,80,85,90,95");
    let ours = list("PIPELINE_QUALITIES", "40,50,60,75,80,90");
    for photo in photos {
        let input = std::fs::read(photo).map_err(|e| format!("{photo}: {e}"))?;
        let stem = Path::new(photo)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        for &w in &widths {
            let t = Transform {
                width: Some(w),
                fit: Fit::Inside,
                format: Format::Png,
                ..Transform::default()
            };
            let png = process(&input, &t, &limits()).map_err(|e| e.to_string())?;
            let name = format!("{stem}-w{w}.png");
            // Unchanged references keep their age: the driver reuses sharp's encodes of them.
            if std::fs::read(out.join(&name)).ok().as_deref() != Some(&png.data[..]) {
                std::fs::write(out.join(&name), &png.data).map_err(|e| e.to_string())?;
            }
            let rgb = quality::decode_rgb(&png.data, &limits()).map_err(|e| e.to_string())?;
            for &s in &speeds {
                for &d in &depths {
                    for &q in &qualities {
                        let (ms, bytes) = cpu(|| ravif(&rgb, q as f32, s as u8, d as u8));
                        let bytes = bytes?;
                        let file = format!("{stem}-w{w}.s{s}-d{d}-q{q}.avif");
                        std::fs::write(out.join(&file), &bytes).map_err(|e| e.to_string())?;
                        println!(
                            "{file}\t{name}\travif\t{s}\t{d}\t{q}\t{}\t{ms:.1}",
                            bytes.len()
                        );
                    }
                }
            }
            let pipeline = webp_q
                .iter()
                .map(|&q| (Format::Webp, q))
                .chain(ours.iter().map(|&q| (Format::Avif, q)));
            for (format, q) in pipeline {
                let t = Transform {
                    width: Some(w),
                    fit: Fit::Inside,
                    format,
                    quality: q as u8,
                    ..Transform::default()
                };
                let (ms, made) = cpu(|| process(&png.data, &t, &limits()));
                let made = made.map_err(|e| e.to_string())?;
                let (encoder, speed, depth) = match format {
                    Format::Webp => ("webp", 4, 8),
                    _ => (
                        "scalefront",
                        image_core::avif_speed(u64::from(made.width) * u64::from(made.height)),
                        10,
                    ),
                };
                let file = format!("{stem}-w{w}.{encoder}-q{q}.{}", format.extension());
                std::fs::write(out.join(&file), &made.data).map_err(|e| e.to_string())?;
                println!(
                    "{file}\t{name}\t{encoder}\t{speed}\t{depth}\t{q}\t{}\t{ms:.1}",
                    made.data.len()
                );
            }
        }
    }
    Ok(())
}

fn ravif(p: &quality::Rgb, q: f32, speed: u8, depth: u8) -> Result<Vec<u8>, String> {
    use ravif::{BitDepth, Encoder, RGB8};
    let px: Vec<RGB8> = p
        .data
        .chunks_exact(3)
        .map(|c| RGB8::new(c[0], c[1], c[2]))
        .collect();
    let enc = Encoder::new()
        .with_quality(q)
        .with_speed(speed)
        .with_bit_depth(if depth == 8 {
            BitDepth::Eight
        } else {
            BitDepth::Ten
        })
        .with_num_threads(Some(1));
    let img = imgref::Img::new(&px[..], p.width as usize, p.height as usize);
    Ok(enc.encode_rgb(img).map_err(|e| e.to_string())?.avif_file)
}

fn score(pairs: &[String]) -> Result<(), String> {
    let mut last: Option<(String, quality::Rgb)> = None;
    for pair in pairs {
        let (r, c) = pair.split_once('=').ok_or("REF=CANDIDATE")?;
        let read = |p: &str| -> Result<quality::Rgb, String> {
            let b = std::fs::read(p).map_err(|e| format!("{p}: {e}"))?;
            quality::decode_rgb(&b, &limits()).map_err(|e| format!("{p}: {e}"))
        };
        if last.as_ref().is_none_or(|(name, _)| name != r) {
            last = Some((r.to_string(), read(r)?));
        }
        let reference = &last.as_ref().unwrap().1;
        let d = quality::dssim(reference, &read(c)?).ok_or("size differs")?;
        println!("{c}\t{d:.6}");
    }
    Ok(())
}
