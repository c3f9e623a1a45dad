//! Image-core tasks:
//! - `cargo xtask wasm [--avif]`: the wasm-bindgen packages `wasm/pkg/node` (`--target nodejs`)
//!   and `wasm/pkg/web` (`--target web`), simd128, without AVIF; `--avif` also builds
//!   `wasm/pkg/node-avif` (the same API plus AVIF output, a separate, larger module).
//! - `cargo xtask fixtures [--reseed PHOTO]`: regenerate `wasm/tests/fixtures/`.
//! - `cargo xtask bench-image [PHOTO_DIR]`: native vs wasm-in-Node vs sharp (tests/bench/image.mjs),
//!   AVIF rows in the AVIF module (built with `--avif`).
//!
//! The wasm builds use their own target dir (`target/image-wasm`): their RUSTFLAGS (simd128)
//! differ from other wasm32 builds in the workspace, which would otherwise rebuild each other.
use crate::tools::{bindgen_into, cargo, root, run, wasm_bindgen, wasm_release};
use anyhow::{ensure, Result};
use std::process::Command;

pub fn wasm(args: &[String]) -> Result<()> {
    let root = root();
    wasm_bindgen()?;
    let mut builds: Vec<(&str, &[&str], &[&str])> =
        vec![("", &["--no-default-features"], &["node:nodejs", "web:web"])];
    if args.iter().any(|a| a == "--avif") {
        builds.push((
            "-avif",
            &["--no-default-features", "--features", "avif"],
            &["node-avif:nodejs"],
        ));
    }
    for (suffix, features, targets) in builds {
        let target_dir = root.join(format!("target/image-wasm{suffix}"));
        let args: Vec<&str> = [
            "rustc",
            "-p",
            "image-core",
            "--lib",
            "--crate-type",
            "cdylib",
        ]
        .into_iter()
        .chain(features.iter().copied())
        .collect();
        let wasm = wasm_release(&args, &target_dir)?.join("image_core.wasm");
        for t in targets {
            let (dir, target) = t.split_once(':').expect("dir:target");
            let out = root.join("wasm/pkg").join(dir);
            bindgen_into(target, &wasm, &target_dir.join("bindgen").join(dir), &out)?;
            let len = std::fs::metadata(out.join("image_core_bg.wasm"))?.len();
            eprintln!("  wasm/pkg/{dir}/image_core_bg.wasm: {len} bytes");
        }
    }
    Ok(())
}

pub fn fixtures(args: &[String]) -> Result<()> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "-p",
        "image-core",
        "--example",
        "fixtures",
        "--",
    ]);
    if let [flag, photo] = args {
        ensure!(
            flag == "--reseed",
            "usage: cargo xtask fixtures [--reseed PHOTO]"
        );
        cmd.args(["--reseed", photo.as_str()]);
    }
    run(cmd.arg(root().join("wasm/tests/fixtures")))
}

pub fn bench(args: &[String]) -> Result<()> {
    let root = root();
    let photos = args
        .first()
        .cloned()
        .unwrap_or_else(|| "/tmp/scalefront-photos".into());
    run(Command::new("bash")
        .arg(root.join("scripts/fetch-photos.sh"))
        .arg(&photos))?;
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "image-core",
        "--example",
        "bench",
    ]))?;
    // With the AVIF module: the benchmark's AVIF rows run in it.
    wasm(&["--avif".to_string()])?;
    run(Command::new("node")
        .arg(root.join("tests/bench/image.mjs"))
        .arg(&photos)
        .env(
            "SCALEFRONT_BENCH_NATIVE",
            root.join("target/release/examples/bench"),
        ))
}
