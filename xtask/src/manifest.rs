//! What went into a function package: `target/artifacts/<component>.manifest`, written by the
//! task that built it (`edge-wasm`, `regional`). `cli/build.rs` embeds the files it lists when
//! `cargo xtask install` asks it to; the CLI checks the embedded bytes against it and prints its
//! `sources`; `cli/tests/embedded.rs` fails when an `in` file no longer has the hash it had, i.e.
//! when the embedded packages were built from other sources than the binary's. One line each:
//!
//! ```text
//! component edge
//! build release wasm32 + simd128, wasm-bindgen 0.2.130, rustc 1.95.0
//! sources <sha256 of the `in` lines>
//! out <sha256> edge/resize_lambda_bg.wasm      (path under target/artifacts)
//! in <sha256> resize-lambda/src/lib.rs         (path under the workspace)
//! ```
//!
//! The `in` files are every workspace file the compiler read (cargo's dep-info for the built
//! artifact: sources, `include_str!`/`include_bytes!` files), the manifests of the crates they
//! belong to, the workspace's `Cargo.toml`, `Cargo.lock` and `.cargo/config.toml`, and any extra
//! input the task copies (the Node.js shim). Registry crates are pinned by `Cargo.lock`.
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

pub fn path(artifacts: &Path, component: &str) -> PathBuf {
    artifacts.join(format!("{component}.manifest"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub struct Manifest<'a> {
    pub component: &'a str,
    /// How it was built (profile, target, tools), for people; not part of `sources`.
    pub build: String,
    /// cargo's dep-info file for the built artifact (`<target dir>/<profile>/<name>.d`).
    pub dep_info: PathBuf,
    /// Inputs the compiler does not see, relative to the workspace (e.g. the shim the task copies).
    pub extra_inputs: &'a [&'a str],
    /// The outputs, relative to the artifacts directory.
    pub outputs: &'a [String],
}

/// Renders the manifest text (outputs and inputs hashed as they are now).
pub fn render(root: &Path, artifacts: &Path, m: &Manifest) -> Result<String> {
    let dep_info = std::fs::read_to_string(&m.dep_info)
        .with_context(|| format!("reading cargo's dep-info {}", m.dep_info.display()))?;
    let inputs = inputs(root, &dep_info, m.extra_inputs);
    let mut in_lines = String::new();
    for rel in &inputs {
        let bytes = std::fs::read(root.join(rel)).with_context(|| format!("reading {rel}"))?;
        in_lines += &format!("in {} {rel}\n", sha256_hex(&bytes));
    }
    let mut text = format!(
        "component {}\nbuild {}\nsources {}\n",
        m.component,
        m.build,
        sha256_hex(in_lines.as_bytes())
    );
    for rel in m.outputs {
        let bytes = std::fs::read(artifacts.join(rel))
            .with_context(|| format!("reading {}", artifacts.join(rel).display()))?;
        text += &format!("out {} {rel}\n", sha256_hex(&bytes));
    }
    Ok(text + &in_lines)
}

/// The workspace files among a dep-info's dependencies (build-script outputs under `target/`
/// excluded: they are made from inputs listed anyway), plus the crate manifests, the workspace's
/// own files and `extra`: sorted, relative, `/`-separated.
fn inputs(root: &Path, dep_info: &str, extra: &[&str]) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for line in dep_info.lines() {
        // `target: dep dep …`, spaces inside a path escaped as `\ `.
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        let deps = deps.replace("\\ ", "\u{0}");
        for dep in deps.split_whitespace() {
            let dep = normalize(Path::new(&dep.replace('\u{0}', " ")));
            let Ok(rel) = dep.strip_prefix(root) else {
                continue;
            };
            if rel.starts_with("target") {
                continue;
            }
            // The crate's Cargo.toml: the nearest one above the file, inside the workspace.
            let mut dir = rel.parent();
            while let Some(d) = dir {
                if root.join(d).join("Cargo.toml").is_file() {
                    files.insert(slash(&d.join("Cargo.toml")));
                    break;
                }
                dir = d.parent();
            }
            files.insert(slash(rel));
        }
    }
    for f in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        if root.join(f).is_file() {
            files.insert(f.to_string());
        }
    }
    files.extend(extra.iter().map(|f| f.to_string()));
    files
}

/// `a/b/../c` → `a/c`, lexically (dep-info paths like `viewer-fn/src/../../wasm/recipe.txt`).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Writes `text` unless the file already holds it, so that rebuilding unchanged artifacts leaves
/// their times alone and cargo does not rebuild what embeds them.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-manifest-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// What keeps cargo from rebuilding whatever embeds wasm/pkg or the artifacts after every
    /// `cargo xtask wasm`: equal bytes leave the file (and its modification time) alone.
    #[test]
    fn write_if_changed_leaves_equal_files_untouched() {
        let dir = scratch("write");
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.wasm");
        write_if_changed(&f, b"one").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"one");
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(old)
            .unwrap();
        write_if_changed(&f, b"one").unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().modified().unwrap(), old);
        write_if_changed(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        assert_ne!(std::fs::metadata(&f).unwrap().modified().unwrap(), old);
        assert!(!dir.join("a.wasm.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn inputs_are_the_workspace_files_of_the_dep_info_with_their_crate_manifests() {
        let root = scratch("inputs");
        for f in [
            "Cargo.toml",
            "Cargo.lock",
            "lib a/Cargo.toml",
            "lib a/src/lib.rs",
            "lib a/src/x.js",
            "node/shim.mjs",
        ] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), f).unwrap();
        }
        let r = root.display();
        let dep_info = format!(
            "{r}/target/out.wasm: {r}/lib\\ a/src/lib.rs {r}/lib\\ a/src/../src/x.js \
             {r}/target/release/build/x/out/gen.rs /home/u/.cargo/registry/src/dep/lib.rs\n"
        );
        let got: Vec<_> = inputs(&root, &dep_info, &["node/shim.mjs"])
            .into_iter()
            .collect();
        assert_eq!(
            got,
            [
                "Cargo.lock",
                "Cargo.toml",
                "lib a/Cargo.toml",
                "lib a/src/lib.rs",
                "lib a/src/x.js",
                "node/shim.mjs"
            ]
        );

        // The rendered manifest: `sources` is the hash of the `in` lines, so any input's change
        // changes it.
        let artifacts = root.join("target/artifacts");
        std::fs::create_dir_all(artifacts.join("edge")).unwrap();
        std::fs::write(artifacts.join("edge/out.wasm"), "wasm").unwrap();
        std::fs::write(root.join("out.d"), &dep_info).unwrap();
        let m = Manifest {
            component: "edge",
            build: "test".into(),
            dep_info: root.join("out.d"),
            extra_inputs: &["node/shim.mjs"],
            outputs: &["edge/out.wasm".to_string()],
        };
        let first = render(&root, &artifacts, &m).unwrap();
        assert!(first.starts_with("component edge\nbuild test\nsources "));
        assert!(first.contains(&format!("\nout {} edge/out.wasm\n", sha256_hex(b"wasm"))));
        assert!(first.contains(&format!(
            "\nin {} lib a/src/lib.rs\n",
            sha256_hex(b"lib a/src/lib.rs")
        )));
        std::fs::write(root.join("lib a/src/x.js"), "changed").unwrap();
        let second = render(&root, &artifacts, &m).unwrap();
        let sources = |t: &str| t.lines().nth(2).unwrap().to_string();
        assert_ne!(sources(&first), sources(&second));
        let _ = std::fs::remove_dir_all(&root);
    }
}
