//! Embeds the image core's wasm `web` build (wasm/pkg/web, made by `cargo xtask wasm`) for the
//! preview page. Without it the binary still builds — the rest of the edge does not need it — and
//! the page and `serve` say how to build it; `SCALEFRONT_REQUIRE_PREVIEW=1` (set by
//! scripts/run.sh) makes a missing build a hard error instead.
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let out = std::env::var("OUT_DIR").unwrap();
    let pkg = Path::new(&manifest).join("../wasm/pkg/web");
    println!("cargo:rerun-if-env-changed=SCALEFRONT_REQUIRE_PREVIEW");
    println!("cargo:rerun-if-changed={}", pkg.display());
    let files = ["image_core.js", "image_core_bg.wasm"];
    let mut present = true;
    for f in files {
        let src = pkg.join(f);
        println!("cargo:rerun-if-changed={}", src.display());
        match std::fs::read(&src) {
            Ok(bytes) => std::fs::write(Path::new(&out).join(f), bytes).unwrap(),
            Err(_) => {
                present = false;
                std::fs::write(Path::new(&out).join(f), b"").unwrap();
            }
        }
    }
    if !present {
        let msg = format!(
            "the preview page's wasm is not built ({} is missing): run `cargo xtask wasm`, then rebuild",
            pkg.join(files[1]).display()
        );
        if std::env::var("SCALEFRONT_REQUIRE_PREVIEW").is_ok_and(|v| v == "1") {
            eprintln!("error: {msg}");
            std::process::exit(1);
        }
        println!("cargo:warning={msg}");
    }
}
