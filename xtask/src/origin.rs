//! Origin-side artifacts for `scalefront package`, written to `target/artifacts/`:
//! - `edge/`: the Lambda@Edge wasm module (`resize_lambda_bg.wasm` + wasm-bindgen's Node.js glue
//!   `resize_lambda.js`) and the shim `index.mjs`;
//! - `regional/bootstrap`: the native regional Lambda for provided.al2023;
//!
//! and next to them `edge.manifest` / `regional.manifest`: what each was built from (see
//! `manifest`). Files are rewritten only when their bytes change, so rebuilding unchanged
//! artifacts does not make cargo rebuild a `scalefront` that embeds them.
use crate::manifest::{self, write_if_changed, Manifest};
use crate::tools::{
    bindgen_into, cargo, root, run, rustc_version, wasm_release, WASM_BINDGEN_VERSION,
};
use anyhow::{bail, Context, Result};
use std::path::Path;
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
    // wasm-bindgen writes into a staging directory; the artifacts take only changed files.
    let staging = root.join("target/edge-wasm/bindgen");
    let artifacts = root.join("target/artifacts");
    let out = artifacts.join("edge");
    bindgen_into("nodejs", &built.join("resize_lambda.wasm"), &staging, &out)?;
    let shim = "resize-lambda/node/index.mjs";
    write_if_changed(&out.join("index.mjs"), &std::fs::read(root.join(shim))?)?;
    let files = ["resize_lambda_bg.wasm", "resize_lambda.js", "index.mjs"];
    for f in files {
        let len = std::fs::metadata(out.join(f))?.len();
        eprintln!("  {f}: {len} bytes");
    }
    let (rustc, _) = rustc_version()?;
    write_manifest(
        &root,
        &artifacts,
        &Manifest {
            component: "edge",
            build: format!(
                "release wasm32 + simd128, wasm-bindgen {WASM_BINDGEN_VERSION}, {rustc}"
            ),
            dep_info: built.join("resize_lambda.d"),
            extra_inputs: &[shim],
            outputs: &files.map(|f| format!("edge/{f}")),
        },
    )
}

fn write_manifest(root: &Path, artifacts: &Path, m: &Manifest) -> Result<()> {
    let path = manifest::path(artifacts, m.component);
    let text = manifest::render(root, artifacts, m)?;
    write_if_changed(&path, text.as_bytes())?;
    let sources = text
        .lines()
        .find_map(|l| l.strip_prefix("sources "))
        .context("a manifest has sources")?;
    eprintln!("  {}: sources {}", path.display(), &sources[..12]);
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
    let artifacts = root.join("target/artifacts");
    let out = artifacts.join("regional");
    std::fs::create_dir_all(&out)?;
    write_if_changed(&out.join("bootstrap"), &std::fs::read(&built)?)?;
    set_executable(&out.join("bootstrap"))?;
    eprintln!(
        "  bootstrap: {} bytes, newest glibc symbol version 2.{}",
        std::fs::metadata(out.join("bootstrap"))?.len(),
        newest.unwrap_or(0)
    );
    let (rustc, host) = rustc_version()?;
    let profile = if dev { "debug" } else { "release" };
    write_manifest(
        &root,
        &artifacts,
        &Manifest {
            component: "regional",
            build: format!("{profile} {host}, symbols stripped, {rustc}"),
            dep_info: built.with_extension("d"),
            extra_inputs: &[],
            outputs: &["regional/bootstrap".to_string()],
        },
    )
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> Result<()> {
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
