//! Our JPEG decoder alone, timed at every scale against `djpeg -dct int -scale M/8` (one core,
//! CPU time of this thread; djpeg's wall time includes its process start and writing to
//! /dev/null):
//!
//! ```text
//! cargo run --release -p image-core --example jpeg_decode -- PHOTO.jpg [runs]
//! ```
use image_core::jpeg::decode_raw;
use image_core::Limits;
use std::process::{Command, Stdio};
use std::time::Instant;

fn cpu_ms() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(s.split_whitespace().next()?.parse::<f64>().ok()? / 1e6)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: jpeg_decode PHOTO.jpg [runs]");
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    let bytes = std::fs::read(path).unwrap();
    let limits = Limits::default();
    // SCALES=1,5 limits the scales (for profiling one of them).
    let scales: Vec<u32> = std::env::var("SCALES")
        .map(|s| s.split(',').filter_map(|m| m.parse().ok()).collect())
        .unwrap_or_else(|_| vec![8, 5, 4, 2, 1]);
    println!("scale\tours ms\tdjpeg ms");
    for m in scales {
        let ours = median(
            (0..runs)
                .map(|_| {
                    let (t, c) = (Instant::now(), cpu_ms());
                    let raw = decode_raw(&bytes, m, &limits).unwrap();
                    std::hint::black_box(raw);
                    match (c, cpu_ms()) {
                        (Some(a), Some(b)) => b - a,
                        _ => t.elapsed().as_secs_f64() * 1e3,
                    }
                })
                .collect(),
        );
        // NODJPEG=1: ours alone (for `perf stat` of this process).
        let theirs = if std::env::var_os("NODJPEG").is_some() {
            f64::NAN
        } else {
            median(
                (0..runs)
                    .map(|_| {
                        let t = Instant::now();
                        let ok = Command::new("djpeg")
                            .args(["-dct", "int", "-scale", &format!("{m}/8"), path])
                            .stdout(Stdio::null())
                            .status()
                            .is_ok_and(|s| s.success());
                        if ok {
                            t.elapsed().as_secs_f64() * 1e3
                        } else {
                            f64::NAN
                        }
                    })
                    .collect(),
            )
        };
        println!("{m}/8\t{ours:.1}\t{theirs:.1}");
    }
}
