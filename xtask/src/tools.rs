//! What every task needs: the workspace root, cargo, running a command, the pinned wasm-bindgen CLI.
use anyhow::{ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The CLI must match the `wasm-bindgen` crate pin exactly, or the glue it writes fails at load.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// The cargo that runs xtask, in the workspace root.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    ensure!(status.success(), "{cmd:?} failed with {status}");
    Ok(())
}

/// The compiler's version (`rustc 1.95.0`) and host triple, for the artifacts' manifests.
pub fn rustc_version() -> Result<(String, String)> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .arg("-vV")
        .output()
        .with_context(|| format!("running {rustc} -vV"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap_or("unknown host");
    // `rustc 1.95.0 (59807616e 2026-04-14)` → `rustc 1.95.0`
    let version: Vec<&str> = text.split_whitespace().take(2).collect();
    Ok((version.join(" "), host.to_string()))
}

/// `wasm-bindgen` with the pinned version, or an error saying how to install it.
pub fn wasm_bindgen() -> Result<Command> {
    let version = Command::new("wasm-bindgen").arg("--version").output().with_context(|| {
        format!("wasm-bindgen is not installed: cargo install wasm-bindgen-cli --version {WASM_BINDGEN_VERSION} (or run scripts/setup.sh)")
    })?;
    let version = String::from_utf8_lossy(&version.stdout);
    ensure!(
        version.split_whitespace().nth(1) == Some(WASM_BINDGEN_VERSION),
        "wasm-bindgen CLI is {}, the crate pins {WASM_BINDGEN_VERSION}: cargo install wasm-bindgen-cli --version {WASM_BINDGEN_VERSION}",
        version.trim()
    );
    Ok(Command::new("wasm-bindgen"))
}

/// A release wasm32 build with simd128 (Node 20+ and current browsers have it: ~30 % faster
/// resizing). Each caller passes its own target dir so these RUSTFLAGS never invalidate the
/// plain wasm32 builds elsewhere. `args` follow `cargo`, e.g. `["build", "-p", "image-core"]`.
pub fn wasm_release(args: &[&str], target_dir: &Path) -> Result<PathBuf> {
    run(cargo()
        .args(args)
        .args(["--release", "--target", "wasm32-unknown-unknown"])
        .arg("--target-dir")
        .arg(target_dir)
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            "-C target-feature=+simd128",
        ))?;
    Ok(target_dir.join("wasm32-unknown-unknown/release"))
}

/// `wasm-bindgen --target <target>` of `wasm` into `out`, through the staging directory
/// `staging`: `out` takes only the files whose bytes changed. Unchanged outputs keep their
/// modification time, so what embeds them (the local edge's preview, the functions' code) is not
/// rebuilt by cargo after every `cargo xtask wasm` (that was a minute of each test step).
pub fn bindgen_into(target: &str, wasm: &Path, staging: &Path, out: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(staging);
    run(wasm_bindgen()?
        .args(["--target", target, "--out-dir"])
        .arg(staging)
        .arg(wasm))?;
    std::fs::create_dir_all(out)?;
    for entry in std::fs::read_dir(staging)? {
        let entry = entry?;
        let bytes = std::fs::read(entry.path())?;
        crate::manifest::write_if_changed(&out.join(entry.file_name()), &bytes)?;
    }
    Ok(())
}
