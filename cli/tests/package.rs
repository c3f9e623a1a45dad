//! `scalefront package` as a user runs it: a clear error naming the build step when artifacts are
//! missing; otherwise zips with `index.mjs`/`bootstrap` at the root and the settings baked in.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scalefront-package-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn package(artifacts: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    package_as("my-photos", "eu-west-1", artifacts, out, extra)
}

fn package_as(
    bucket: &str,
    region: &str,
    artifacts: &Path,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scalefront"))
        .args([
            "package",
            "--bucket",
            bucket,
            "--region",
            region,
            "--artifacts",
        ])
        .arg(artifacts)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn missing_artifacts_name_the_build_command_and_write_nothing() {
    let dir = scratch("missing");
    let out = dir.join("dist");
    let r = package(&dir.join("nothing-here"), &out, &[]);
    assert!(!r.status.success());
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(stderr.contains("cargo xtask edge-wasm"), "{stderr}");
    assert!(!out.exists(), "nothing written on failure");
}

#[test]
fn bad_bucket_region_and_endpoint_are_refused() {
    let dir = scratch("bad");
    let out = dir.join("dist");
    let none: &[&str] = &[];
    for (bucket, region, extra, needle) in [
        ("My_Photos", "eu-west-1", none, "not a valid S3 bucket name"),
        ("my-photos", "Frankfurt", none, "not an AWS region name"),
        (
            "my-photos",
            "eu-west-1",
            &["--s3-endpoint", "localhost:9000"][..],
            "http:// or https://",
        ),
    ] {
        let r = package_as(bucket, region, &dir, &out, extra);
        assert!(!r.status.success());
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(stderr.contains(needle), "{stderr}");
    }
    assert!(!out.exists());
}

#[test]
fn writes_the_three_packages_with_the_config_baked_in() {
    let dir = scratch("ok");
    let artifacts = dir.join("artifacts");
    std::fs::create_dir_all(artifacts.join("edge")).unwrap();
    std::fs::create_dir_all(artifacts.join("regional")).unwrap();
    for f in ["index.mjs", "resize_lambda.js", "resize_lambda_bg.wasm"] {
        std::fs::write(artifacts.join("edge").join(f), format!("stand-in {f}")).unwrap();
    }
    std::fs::write(artifacts.join("regional/bootstrap"), "stand-in bootstrap").unwrap();
    let spec = dir.join("scalefront.toml");
    std::fs::write(&spec, "qualities = [90]\nquality = 90\n").unwrap();
    let out = dir.join("dist");
    let args = [
        "--config",
        spec.to_str().unwrap(),
        "--s3-endpoint",
        "http://127.0.0.1:9000",
    ];
    let r = package(&artifacts, &out, &args);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));

    let js = std::fs::read_to_string(out.join("viewer-fn.js")).unwrap();
    assert!(js.contains("function handler"));

    let mut edge =
        zip::ZipArchive::new(std::fs::File::open(out.join("origin-response.zip")).unwrap())
            .unwrap();
    let mut names: Vec<_> = edge.file_names().map(|n| n.unwrap().into_owned()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "config.json",
            "index.mjs",
            "resize_lambda.js",
            "resize_lambda_bg.wasm"
        ]
    );
    let mut config = String::new();
    edge.by_name("config.json")
        .unwrap()
        .read_to_string(&mut config)
        .unwrap();
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["bucket"], "my-photos");
    assert_eq!(config["region"], "eu-west-1");
    assert_eq!(config["s3Endpoint"], "http://127.0.0.1:9000");
    assert_eq!(config["spec"], "qualities = [90]\nquality = 90\n");

    let mut regional =
        zip::ZipArchive::new(std::fs::File::open(out.join("regional.zip")).unwrap()).unwrap();
    let bootstrap = regional.by_name("bootstrap").unwrap();
    assert_eq!(
        bootstrap.unix_mode().map(|m| m & 0o777),
        Some(0o755),
        "Lambda runs bootstrap: executable"
    );
    drop(bootstrap);
    assert!(regional.by_name("config.json").is_ok());

    // Reproducible: the same inputs give the same bytes.
    let first = std::fs::read(out.join("origin-response.zip")).unwrap();
    let again = package(&artifacts, &out, &args);
    assert!(again.status.success());
    assert_eq!(
        std::fs::read(out.join("origin-response.zip")).unwrap(),
        first
    );
}
