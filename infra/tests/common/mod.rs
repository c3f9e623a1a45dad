//! A stand-in `aws` for calls moto lacks, answering from recorded responses shaped like AWS's
//! documented ones. Shared by infra's tests and, by path, the CLI's.
#![allow(dead_code)]
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use infra::aws::Aws;

/// A moto server, stopped when dropped.
pub struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The checkout's root (`../` from either crate that uses this file).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A moto server on a free loopback port with `env` set (tests run in parallel, each with its
/// own server); its endpoint URL.
pub fn start_moto(env: &[(&str, &str)]) -> (Moto, String) {
    let bin = root().join(".tools/venv/bin/moto_server");
    assert!(
        bin.exists(),
        "{} missing: run scripts/setup.sh",
        bin.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .envs(env.iter().copied())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (moto, format!("http://127.0.0.1:{port}"))
}

/// The aws CLI of the checkout's venv, pointed at one moto server with test credentials.
pub fn aws_cli(endpoint: &str) -> Aws {
    Aws::with_program(root().join(".tools/venv/bin/aws"))
        .with_env("AWS_ENDPOINT_URL", endpoint)
        .with_env("AWS_ACCESS_KEY_ID", "testing")
        .with_env("AWS_SECRET_ACCESS_KEY", "testing")
        .with_env("AWS_PROFILE", "")
        .with_env("AWS_CONFIG_FILE", "/dev/null")
}

/// The recorded KeyValueStore responses (`describe-stacks`, `describe-key-value-store`,
/// `put-key`).
pub fn kvs_fixtures() -> PathBuf {
    // `../infra` from either crate that uses this file.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/tests/kvs")
}

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An executable `dir/aws` that appends its arguments to `dir/calls.log`, then answers with
/// `cases`: the arms of a `case "$1 $2" in … esac` (`$log` names the log, `$f` the fixtures).
/// Anything else is an error, as AWS answers an unknown call.
pub fn stand_in(dir: &Path, cases: &str) -> PathBuf {
    let script = dir.join("aws");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nlog={log}\nf={f}\necho \"$*\" >> \"$log\"\ncase \"$1 $2\" in\n{cases}\n  *) echo \"An error occurred (InvalidAction) when calling the $1 operation: unexpected\" >&2; exit 254 ;;\nesac\n",
            log = dir.join("calls.log").display(),
            f = kvs_fixtures().display(),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// The stand-in's arms for a stack with signed URLs and its KeyValueStore; `put-key`'s input
/// file is copied into the log (it is deleted after the call).
pub const KVS: &str = r#"  "cloudformation describe-stacks") cat "$f/describe-stacks.json" ;;
  "cloudfront-keyvaluestore describe-key-value-store") cat "$f/describe-key-value-store.json" ;;
  "cloudfront-keyvaluestore put-key")
    input=$(echo "$4" | sed 's|^file://||'); cat "$input" >> "$log"; echo >> "$log"
    cat "$f/put-key.json" ;;"#;

/// The photo bucket the moto tests deploy over.
pub const PHOTO_BUCKET: &str = "example-photos";

/// Deploy's options for `stack` over [`PHOTO_BUCKET`], as the command line's defaults make them.
pub fn deploy_options(stack: &str, mode: infra::Mode) -> infra::deploy::Options {
    infra::deploy::Options {
        stack: stack.into(),
        mode,
        bucket: PHOTO_BUCKET.into(),
        region: None,
        scope: String::new(),
        variant_prefix: "_sf".into(),
        yes: false,
        domain: None,
        log_retention_days: 30,
        variant_expiry_days: None,
    }
}

/// Template parameters for `stack` over [`PHOTO_BUCKET`]: `package` is the mode's own package
/// (Lambda@Edge's zip in edge mode, the regional bootstrap's in regional mode).
pub fn params(
    stack: &str,
    mode: infra::Mode,
    bucket_region: &str,
    artifact_bucket: Option<String>,
    package: &[u8],
    spec: &str,
) -> infra::Params {
    let (edge, regional): (&[u8], &[u8]) = match mode {
        infra::Mode::Edge => (package, REGIONAL_PACKAGE),
        infra::Mode::Regional => (b"unused", package),
    };
    infra::Params {
        stack_name: stack.into(),
        bucket: PHOTO_BUCKET.into(),
        bucket_region: bucket_region.into(),
        create_bucket: false,
        prefix: "_sf".into(),
        viewer_function_code: "function handler(event) { return event.request; }\n".into(),
        spec_fingerprint: spec.into(),
        artifact_bucket,
        edge_package: infra::Artifact::of("origin-response", edge),
        regional_package: infra::Artifact::of("regional", regional),
        memory_mb: 1769,
        test_key: "photos/a.jpg".into(),
        negotiates_format: true,
        origin_shield: None,
        signing_keys_object: None,
        read_scope: String::new(),
        kms_key_arn: None,
        domain: None,
    }
}

/// The regional package's bytes in edge mode (the purge's code next to the bucket).
pub const REGIONAL_PACKAGE: &[u8] = b"regional package";

/// `deploy::run` for `stack` in `mode` with `package` (see [`params`]) and its templates written
/// under `dir`, as the CLI's package step makes them. Returns the result (as text) and every line.
pub fn deploy(
    aws: &Aws,
    dir: &Path,
    stack: &str,
    mode: infra::Mode,
    package: &[u8],
    spec: &str,
) -> (Result<(), String>, Vec<String>) {
    let mut ctx = infra::deploy::Ctx::new(deploy_options(stack, mode));
    let mut build = |ctx: &infra::deploy::Ctx| -> anyhow::Result<infra::deploy::Built> {
        let p = params(
            stack,
            mode,
            &ctx.bucket_region(),
            ctx.artifact_bucket(),
            package,
            spec,
        );
        let write = |name: String, bytes: &[u8]| -> std::io::Result<PathBuf> {
            let path = dir.join(format!("{stack}-{name}"));
            std::fs::write(&path, bytes)?;
            Ok(path)
        };
        let template = infra::render(mode, &p)?;
        let region_template = infra::template::render_region(mode, &p)?;
        let package_file = write("package.zip".into(), package)?;
        let region_package_file = match mode {
            infra::Mode::Edge => write("regional.zip".into(), REGIONAL_PACKAGE)?,
            infra::Mode::Regional => package_file.clone(),
        };
        Ok(infra::deploy::Built {
            package: match mode {
                infra::Mode::Edge => p.edge_package.clone(),
                infra::Mode::Regional => p.regional_package.clone(),
            },
            package_size: package.len() as u64,
            package_file,
            template_file: write(mode.file_name().into(), template.as_bytes())?,
            template,
            signing_keys: None,
            region_template_file: write(
                mode.region_file_name().into(),
                region_template.as_bytes(),
            )?,
            region_package_file,
            region_package: p.regional_package.clone(),
            edge_version: None,
            verify_path: None,
        })
    };
    let mut lines = Vec::new();
    let r = infra::deploy::run(aws, &mut ctx, false, &mut build, &mut |l| {
        lines.push(l.to_owned())
    })
    .map_err(|e| format!("{e:#}"));
    (r, lines)
}
