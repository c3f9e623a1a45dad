//! The function code a `scalefront` embeds (`cargo xtask install` → cli/build.rs) must be what
//! this binary's own sources build. Stale code — built from other sources than the binary's, e.g.
//! a resize-lambda change compiled into the binary while the embedded wasm module predates it —
//! fails here, naming the files that differ. Without embedded code (a plain build), `package`
//! must fail naming the command that provides it.
//!
//! CI (tests/steps/30-origin.sh) builds this with SCALEFRONT_EMBED_PACKAGES set right after
//! `cargo xtask artifacts`; a plain `cargo test` runs the plain-build half.
use sha2::{Digest, Sha256};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The manifests cli/build.rs embedded in this build (empty: nothing embedded).
const EMBEDDED: &str = include_str!(concat!(env!("OUT_DIR"), "/embedded.manifests"));

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Each `in` file of the manifests whose bytes in `root` are not the ones it was built from, as
/// `component: path changed`.
fn stale_inputs(root: &Path, manifests: &str) -> Vec<String> {
    let mut component = "";
    let mut stale = Vec::new();
    for line in manifests.lines() {
        if let Some(c) = line.strip_prefix("component ") {
            component = c;
        }
        let Some((sha, path)) = line.strip_prefix("in ").and_then(|l| l.split_once(' ')) else {
            continue;
        };
        match std::fs::read(root.join(path)) {
            Ok(bytes) if sha256_hex(&bytes) == sha => {}
            Ok(_) => stale.push(format!("{component}: {path} changed")),
            Err(e) => stale.push(format!("{component}: {path}: {e}")),
        }
    }
    stale
}

#[test]
fn embedded_code_was_built_from_this_binarys_sources() {
    if EMBEDDED.is_empty() {
        eprintln!("no function code embedded in this build (SCALEFRONT_EMBED_PACKAGES unset): nothing to check");
        return;
    }
    assert_eq!(
        EMBEDDED
            .lines()
            .filter(|l| l.starts_with("component "))
            .count(),
        2,
        "edge and regional"
    );
    let stale = stale_inputs(&root(), EMBEDDED);
    assert!(
        stale.is_empty(),
        "the function code embedded in this scalefront is stale: it was built from other sources \
         than the binary's ({}); rebuild with `cargo xtask install`, or `cargo xtask artifacts` before \
         building with SCALEFRONT_EMBED_PACKAGES",
        stale.join(", ")
    );
}

/// The check above can fail: a manifest that names other bytes for a source, or a source that is
/// gone, is stale.
#[test]
fn a_source_with_other_bytes_is_stale() {
    let root = root();
    let toml = sha256_hex(&std::fs::read(root.join("Cargo.toml")).unwrap());
    let manifest = format!(
        "component edge\nsources x\nout {0} edge/x.wasm\nin {toml} Cargo.toml\nin {0} Cargo.lock\nin {toml} gone.rs\n",
        "0".repeat(64)
    );
    let stale = stale_inputs(&root, &manifest);
    assert_eq!(stale.len(), 2, "{stale:?}");
    assert_eq!(stale[0], "edge: Cargo.lock changed");
    assert!(stale[1].starts_with("edge: gone.rs: "), "{stale:?}");
}

fn scratch(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("scalefront-embedded-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `package` with no --artifacts and no SCALEFRONT_ARTIFACTS, from an empty directory.
fn package_alone(dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scalefront"))
        .args(["package", "--bucket", "my-photos", "--region", "eu-west-1"])
        .args(["--out", "dist"])
        .current_dir(dir)
        .env_remove("SCALEFRONT_ARTIFACTS")
        .output()
        .unwrap()
}

#[test]
fn package_uses_the_embedded_code_or_names_the_command_that_embeds_it() {
    let dir = scratch("alone");
    let r = package_alone(&dir);
    let stderr = String::from_utf8_lossy(&r.stderr);
    if EMBEDDED.is_empty() {
        assert!(!r.status.success());
        for needle in [
            "no function code embedded",
            "`cargo xtask install`",
            "--artifacts",
        ] {
            assert!(stderr.contains(needle), "{needle}: {stderr}");
        }
        assert!(!dir.join("dist").exists(), "nothing written on failure");
        return;
    }
    assert!(r.status.success(), "{stderr}");
    assert!(
        stderr.contains("function code: embedded in this binary"),
        "{stderr}"
    );
    // Every file the manifests name is in its zip with the bytes they name.
    for (sha, name) in EMBEDDED
        .lines()
        .filter_map(|l| l.strip_prefix("out ")?.split_once(' '))
    {
        let (zip, entry) = match name.split_once('/').unwrap() {
            ("edge", f) => ("origin-response.zip", f),
            ("regional", f) => ("regional.zip", f),
            other => panic!("unexpected {other:?}"),
        };
        let file = std::fs::File::open(dir.join("dist").join(zip)).unwrap();
        let mut archive = zip::ZipArchive::new(file).unwrap();
        let mut bytes = Vec::new();
        archive
            .by_name(entry)
            .unwrap_or_else(|e| panic!("{zip}: {entry}: {e}"))
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(sha256_hex(&bytes), sha, "{zip}: {entry}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
