//! Origin-side artifacts for `scalefront package`, written to `target/artifacts/`:
//! - `edge/`: the Lambda@Edge wasm module (`resize_lambda_bg.wasm` + wasm-bindgen's Node.js glue
//!   `resize_lambda.js`) and the shim `index.mjs`;
//! - `regional/bootstrap`: the native regional Lambda for provided.al2023.
use crate::tools::{cargo, root, run, wasm_bindgen, wasm_release};
use anyhow::{bail, Result};
/// provided.al2023 ships glibc 2.34: the bootstrap may need no symbol version newer than that.
const MAX_GLIBC_MINOR: u32 = 34;

/// `cargo xtask edge-wasm`: the wasm module and its Node.js glue.
/// simd128, like image-core's own wasm packages (see `tools::wasm_release`).
pub fn edge_wasm() -> Result<()> {
    let root = root();
    let built = wasm_release(
        &[
            "rustc",
            "-p",
            "resize-lambda",
            "--lib",
            "--crate-type",
            "cdylib",
        ],
        &root.join("target/edge-wasm"),
    )?;
    let out = root.join("target/artifacts/edge");
    std::fs::create_dir_all(&out)?;
    run(wasm_bindgen()?
        .args(["--target", "nodejs", "--out-dir"])
        .arg(&out)
        .arg(built.join("resize_lambda.wasm")))?;
    std::fs::copy(
        root.join("resize-lambda/node/index.mjs"),
        out.join("index.mjs"),
    )?;
    for f in ["resize_lambda_bg.wasm", "resize_lambda.js", "index.mjs"] {
        let len = std::fs::metadata(out.join(f))?.len();
        eprintln!("  {f}: {len} bytes");
    }
    Ok(())
}

/// `cargo xtask regional [--dev]`: the bootstrap binary (release unless `--dev`).
pub fn regional(dev: bool) -> Result<()> {
    let root = root();
    let mut cmd = cargo();
    cmd.current_dir(&root)
        .args(["rustc", "-p", "regional", "--bin", "bootstrap"]);
    if !dev {
        cmd.arg("--release");
    }
    // Symbols are most of the binary and Lambda never reads them; only the final link changes.
    cmd.args(["--", "-C", "strip=symbols"]);
    run(&mut cmd)?;
    let built = root.join(if dev {
        "target/debug/bootstrap"
    } else {
        "target/release/bootstrap"
    });
    let newest = newest_glibc(&std::fs::read(&built)?);
    if let Some(minor) = newest.filter(|&m| m > MAX_GLIBC_MINOR) {
        bail!(
            "{} needs GLIBC_2.{minor}; provided.al2023 has 2.{MAX_GLIBC_MINOR}",
            built.display()
        );
    }
    let out = root.join("target/artifacts/regional");
    std::fs::create_dir_all(&out)?;
    std::fs::copy(&built, out.join("bootstrap"))?;
    eprintln!(
        "  bootstrap: {} bytes, newest glibc symbol version 2.{}",
        std::fs::metadata(out.join("bootstrap"))?.len(),
        newest.unwrap_or(0)
    );
    Ok(())
}

/// The highest `GLIBC_2.N` version string the binary references (its `.gnu.version_r` needs).
fn newest_glibc(elf: &[u8]) -> Option<u32> {
    const TAG: &[u8] = b"GLIBC_2.";
    elf.windows(TAG.len())
        .enumerate()
        .filter(|(_, w)| *w == TAG)
        .filter_map(|(i, _)| {
            let digits: String = elf[i + TAG.len()..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .map(|&b| b as char)
                .collect();
            digits.parse().ok()
        })
        .max()
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_newest_glibc_version() {
        let elf = b"\0GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.17\0GLIBC_PRIVATE\0";
        assert_eq!(super::newest_glibc(elf), Some(34));
        assert_eq!(super::newest_glibc(b"no glibc here"), None);
    }
}
