//! The generated function: committed for the default spec and fresh, within CloudFront's 10 KB,
//! deterministic; the commented `scalefront.toml` at the repository root is the default spec.

mod common;

use viewer_fn::{generate, Spec, MAX_FUNCTION_BYTES};

/// The default spec's function, and the same spec with `signed = true` (an ES module with an
/// async handler): committed, so the syntax gate and the size check run on both.
const COMMITTED: [(&str, &str); 2] = [
    ("generated/viewer-request.js", ""),
    ("generated/viewer-request-signed.js", "signed = true\n"),
];

/// `SCALEFRONT_BLESS=1 cargo test -p viewer-fn --test generated` rewrites the committed files.
#[test]
fn committed_functions_are_fresh() {
    for (file, toml) in COMMITTED {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let fresh = generate(&Spec::from_toml(toml).unwrap());
        if std::env::var_os("SCALEFRONT_BLESS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "viewer-fn/{file} is stale: run `SCALEFRONT_BLESS=1 cargo test -p viewer-fn --test generated` and commit it"
        );
    }
}

#[test]
fn fits_cloudfront_limit_for_default_and_64_width_specs() {
    for name in ["default", "wide", "signed", "presets-only"] {
        let spec = common::load_spec(name);
        let js = generate(&spec);
        println!(
            "generated function, {name} spec ({} widths): {} bytes",
            spec.widths().len(),
            js.len()
        );
        assert!(
            js.len() <= MAX_FUNCTION_BYTES,
            "{name}: {} bytes > {MAX_FUNCTION_BYTES}",
            js.len()
        );
    }
    assert_eq!(common::load_spec("wide").widths().len(), 64);
}

#[test]
fn generation_is_deterministic_and_spec_driven() {
    let a = generate(&Spec::default());
    assert_eq!(a, generate(&Spec::default()));
    let wide = generate(&common::load_spec("wide"));
    assert_ne!(a, wide);
    assert!(wide.contains("\"img-v1\"") && wide.contains("3200"));
}

#[test]
fn root_scalefront_toml_is_the_default_spec() {
    let path = common::repo_root().join("scalefront.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    assert_eq!(Spec::from_toml(&src).unwrap(), Spec::default());
    // Every top-level key and every [params] key is written out (documented), not left implicit.
    for key in [
        "prefix",
        "snap",
        "widths",
        "heights",
        "ratios",
        "presets_only",
        "signed",
        "originals",
        "qualities",
        "quality",
        "fit",
        "max_dpr",
        "formats",
        "auto",
        "avif_max_side",
        "[extensions]",
        "[params]",
        "width",
        "height",
        "box",
        "format",
        "dpr",
        "preset",
        "signature",
    ] {
        assert!(
            src.lines().any(|l| l.trim_start().starts_with(key)),
            "scalefront.toml does not set {key}"
        );
    }
    assert_eq!(Spec::load(Some(&path)).unwrap(), Spec::default());
}
