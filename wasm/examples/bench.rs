//! Native side of the image benchmark (`cargo xtask bench-image`, tests/bench/image.mjs).
//!
//! bench run INPUT W FORMAT QUALITY ITERS [OUT]   → one JSON line: median/min ms, bytes, size
//! bench dssim SOURCE CANDIDATE...               → one JSON line: DSSIM of each candidate against a
//!                                                 float Lanczos3 reference made from SOURCE
//! bench decode INPUT.jpg M ITERS                 → one JSON line: our JPEG decoder alone at M/8
//!
//! mimalloc is the allocator: glibc unmaps every buffer over its mmap threshold (a decoded 15 MP
//! photo is 44 MB) after each call and faults fresh pages in on the next, ~30 % of a PNG call.
use image_core::{process, quality, Format, Limits, Transform};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("run") if args.len() >= 6 => run(&args[1..]),
        Some("dssim") if args.len() >= 3 => dssim(&args[1], &args[2..]),
        Some("decode") if args.len() >= 4 => decode(&args[1..]),
        _ => Err(
            "usage: bench run INPUT W FORMAT QUALITY ITERS [OUT] | bench dssim SOURCE CANDIDATE..."
                .into(),
        ),
    };
    if let Err(e) = r {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn run(a: &[String]) -> Result<(), String> {
    let input = std::fs::read(&a[0]).map_err(|e| format!("{}: {e}", a[0]))?;
    let width: u32 = a[1].parse().map_err(|_| "W")?;
    let format: Format = a[2].parse().map_err(|e: image_core::Error| e.to_string())?;
    let quality: u8 = a[3].parse().map_err(|_| "QUALITY")?;
    let iters: usize = a[4].parse().map_err(|_| "ITERS")?;
    let t = Transform {
        width: Some(width),
        format,
        quality,
        ..Transform::default()
    };
    let limits = Limits::default();
    let mut times = Vec::with_capacity(iters);
    let mut out = None;
    for _ in 0..iters.max(1) + usize::from(iters > 1) {
        let start = Instant::now();
        let o = process(&input, &t, &limits).map_err(|e| e.to_string())?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        out = Some(o);
    }
    let out = out.expect("at least one iteration");
    if let Some(path) = a.get(5).filter(|p| !p.is_empty()) {
        std::fs::write(path, &out.data).map_err(|e| format!("{path}: {e}"))?;
    }
    let first = times[0];
    // The first call pays for page faults and lazy tables: report it apart, time the warm ones.
    if times.len() > 1 {
        times.remove(0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"median_ms\":{:.2},\"min_ms\":{:.2},\"first_ms\":{:.2},\"bytes\":{},\"width\":{},\"height\":{},\"peak_rss_kb\":{}}}",
        times[times.len() / 2],
        times[0],
        first,
        out.data.len(),
        out.width,
        out.height,
        peak_rss_kb()
    );
    Ok(())
}

fn decode(a: &[String]) -> Result<(), String> {
    let input = std::fs::read(&a[0]).map_err(|e| format!("{}: {e}", a[0]))?;
    let m: u32 = a[1].parse().map_err(|_| "M")?;
    let iters: usize = a[2].parse().map_err(|_| "ITERS")?;
    let mut times = Vec::new();
    for _ in 0..iters.max(1) + 1 {
        let start = Instant::now();
        let raw = image_core::jpeg::decode_raw(&input, m, &Limits::default())
            .map_err(|e| e.to_string())?;
        std::hint::black_box(raw);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let first = times.remove(0);
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"median_ms\":{:.2},\"first_ms\":{:.2}}}",
        times[times.len() / 2],
        first
    );
    Ok(())
}

fn dssim(source: &str, candidates: &[String]) -> Result<(), String> {
    let limits = Limits {
        max_input_bytes: usize::MAX,
        ..Limits::default()
    };
    let src = std::fs::read(source).map_err(|e| format!("{source}: {e}"))?;
    let src = quality::decode_rgb(&src, &limits).map_err(|e| e.to_string())?;
    let mut refs: Vec<quality::Rgb> = Vec::new();
    let mut scores = Vec::new();
    for c in candidates {
        let bytes = std::fs::read(c).map_err(|e| format!("{c}: {e}"))?;
        let score = match quality::decode_rgb(&bytes, &limits) {
            Ok(img) => {
                let r = match refs
                    .iter()
                    .find(|r| (r.width, r.height) == (img.width, img.height))
                {
                    Some(r) => r,
                    None => {
                        refs.push(quality::reference_resize(&src, img.width, img.height));
                        refs.last().unwrap()
                    }
                };
                quality::dssim(r, &img).map_or("null".to_string(), |d| format!("{d:.6}"))
            }
            Err(_) => "null".to_string(),
        };
        scores.push(format!(
            "\"{}\":{}",
            c.replace('\\', "\\\\").replace('"', "\\\""),
            score
        ));
    }
    println!("{{{}}}", scores.join(","));
    Ok(())
}

/// VmHWM: the process's peak resident set, as the kernel counts it (0 where /proc is absent).
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
