//! `cargo xtask install [--dev] [--root DIR]`: a `scalefront` that deploys from the binary alone,
//! from any directory, with no checkout. It builds the function packages (`cargo xtask
//! artifacts`), then runs `cargo install --locked --path cli` with `SCALEFRONT_EMBED_PACKAGES`
//! naming them, so that `cli/build.rs` embeds them with their manifests; then it runs the
//! installed binary's `package` in an empty directory and checks that it used the packages just
//! built. `--dev` builds debug (the regional bootstrap and the CLI; the wasm module is always
//! release), which is what CI does to reuse its debug build; `--root` is `cargo install --root`.
use crate::manifest;
use crate::origin;
use crate::tools::{cargo, root, run};
use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Read by cli/build.rs: the directory whose packages to embed.
pub const EMBED_VAR: &str = "SCALEFRONT_EMBED_PACKAGES";
const COMPONENTS: [&str; 2] = ["edge", "regional"];

pub fn install(args: &[String]) -> Result<()> {
    let mut dev = false;
    let mut install_root = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dev" => dev = true,
            "--root" => install_root = Some(PathBuf::from(it.next().context("--root DIR")?)),
            other => bail!("install: unknown argument {other:?} (install [--dev] [--root DIR])"),
        }
    }
    origin::edge_wasm()?;
    origin::regional(dev)?;
    let artifacts = root().join("target/artifacts");
    let mut cmd = cargo();
    cmd.args(["install", "--locked", "--path", "cli"])
        .env(EMBED_VAR, &artifacts);
    if dev {
        cmd.arg("--debug");
    }
    if let Some(r) = &install_root {
        cmd.arg("--root").arg(r);
    }
    run(&mut cmd)?;
    let bin = installed(install_root.as_deref());
    if !bin.is_file() {
        eprintln!(
            "installed, but not at {} (cargo's install.root config?): not checked",
            bin.display()
        );
        return Ok(());
    }
    let used = check(&bin, &artifacts)?;
    eprintln!(
        "installed {} with the function packages embedded ({used})",
        bin.display()
    );
    Ok(())
}

/// Where `cargo install` put the binary: --root, else $CARGO_INSTALL_ROOT, else $CARGO_HOME,
/// else ~/.cargo.
fn installed(install_root: Option<&Path>) -> PathBuf {
    let home = || std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo"));
    let dir = install_root
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("CARGO_INSTALL_ROOT").map(PathBuf::from))
        .or_else(|| std::env::var_os("CARGO_HOME").map(PathBuf::from))
        .or_else(home)
        .unwrap_or_default();
    dir.join("bin")
        .join(format!("scalefront{}", std::env::consts::EXE_SUFFIX))
}

/// Runs `bin package` in an empty directory, with no artifacts directory named: it must use
/// the embedded packages, and they must be the ones `artifacts` holds (their `sources`).
fn check(bin: &Path, artifacts: &Path) -> Result<String> {
    let dir = std::env::temp_dir().join(format!("scalefront-install-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let out = Command::new(bin)
        .args([
            "package",
            "--bucket",
            "install-check",
            "--region",
            "us-east-1",
            "--out",
            "dist",
        ])
        .current_dir(&dir)
        .env_remove("SCALEFRONT_ARTIFACTS")
        .env_remove(EMBED_VAR)
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success(),
        "{} package failed: {stderr}",
        bin.display()
    );
    let mut used = Vec::new();
    for c in COMPONENTS {
        let path = manifest::path(artifacts, c);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let sources = text
            .lines()
            .find_map(|l| l.strip_prefix("sources "))
            .with_context(|| format!("{} has no sources line", path.display()))?;
        let want = format!("{c} sources {}", &sources[..12]);
        ensure!(
            stderr.contains(&want),
            "{} did not use the packages just built ({want}): {stderr}",
            bin.display()
        );
        used.push(want);
    }
    Ok(used.join(", "))
}
