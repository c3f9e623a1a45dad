//! The local edge (`scalefront serve`): the CloudFront path on one machine.
//!
//! ```text
//! HTTP (http.rs) ─▶ viewer function: the generated JS in QuickJS (viewer.rs)
//!                ─▶ edge cache: rewritten URI, CloudFront's caching rules (cloudfront.rs),
//!                   LRU in bytes, single flight (cache.rs)
//!                ─▶ origin: folder or S3 bucket (origin.rs, s3.rs)
//!                ─▶ origin-side flow on 403/404: resize-lambda's Flow, variant stored back (edge.rs)
//! ```
//! `/_scalefront/` is the local edge's own namespace: the in-browser resize preview (preview.rs).

pub mod cache;
pub mod cloudfront;
pub mod edge;
pub mod http;
pub mod limits;
pub mod object;
pub mod origin;
pub mod preview;
#[cfg(feature = "s3")]
pub mod s3;
pub mod sample;
pub mod srcset;
pub mod viewer;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use edge::Edge;

/// Where originals come from.
pub enum Source {
    /// A folder; `None` = the bundled sample photos.
    Folder(Option<PathBuf>),
    /// `s3://bucket` with an optional endpoint (an S3-compatible server).
    S3 {
        bucket: String,
        endpoint: Option<String>,
    },
}

pub struct Config {
    pub source: Source,
    pub spec: viewer_fn::Spec,
    pub addr: SocketAddr,
    pub cache_bytes: usize,
    /// Over a folder: drop a changed or deleted original's variants at once ([`watch`]).
    pub watch: bool,
    /// Host names to serve besides IP addresses and `localhost` (DNS rebinding guard).
    pub allow_hosts: Vec<String>,
    /// Connections, header size, timeouts, origin reads, resizes ([`limits`]).
    pub limits: limits::Limits,
    /// Signing keys for a spec with `signed = true` (`serve --keys`); `None`: fresh random keys
    /// for this run (the pages `serve` shows are signed on the server either way).
    pub keys: Option<viewer_fn::sign::Keys>,
    /// The encryption each variant's PUT asks for (`serve --s3 … --sse`), as a package's
    /// `putEncryption`; `None`: no header.
    pub put_encryption: Option<resize_lambda::Encryption>,
}

/// Builds the edge, binds, prints where to look, and serves until Ctrl-C (or SIGTERM).
pub async fn run(config: Config) -> anyhow::Result<()> {
    let prefix = config.spec.prefix().to_string();
    let (origin, sample, watched) = match config.source {
        Source::Folder(dir) => {
            let sample = dir.is_none();
            let dir = match dir {
                Some(d) => d,
                None => sample::extract(&sample::default_dir())?,
            };
            let cache_control = viewer_fn::cdn::variant_cache_control(&config.spec);
            let folder = origin::Folder::new(&dir, &prefix, &cache_control)
                .map_err(|e| anyhow::anyhow!("cannot serve folder {}: {e}", dir.display()))?;
            let watched = config.watch.then(|| folder.root().to_path_buf());
            (origin::Origin::Folder(folder), sample, watched)
        }
        #[cfg(feature = "s3")]
        Source::S3 { bucket, endpoint } => (
            origin::Origin::S3(s3::S3Origin::new(&bucket, endpoint.as_deref(), &prefix).await?),
            false,
            None,
        ),
        #[cfg(not(feature = "s3"))]
        Source::S3 { .. } => {
            anyhow::bail!("this scalefront was built without S3 support (cargo feature `s3`)")
        }
    };
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e} (try --port)", config.addr))?;
    let addr = listener.local_addr()?;
    let mut edge = Edge::with_limits(config.spec, origin, config.cache_bytes, config.limits)?;
    edge.allowed_hosts = config.allow_hosts;
    edge.set_encryption(config.put_encryption);
    if edge.spec.signed() {
        let keys = match config.keys {
            Some(k) => k,
            None => {
                eprintln!("scalefront serve: signed spec without --keys: signing with fresh keys for this run");
                viewer_fn::sign::Keys::random(
                    &['a', 'o'],
                    &mut std::fs::File::open("/dev/urandom")?,
                )?
            }
        };
        edge.set_keys(keys)?;
    }
    let edge = Arc::new(edge);
    if let Some(root) = watched {
        tokio::spawn(watch::watch_folder(edge.clone(), root));
    }
    print_banner(&edge, addr, sample).await;
    http::serve(listener, edge, shutdown_signal()).await?;
    eprintln!("scalefront serve: stopped");
    Ok(())
}

async fn print_banner(edge: &Edge, addr: SocketAddr, sample: bool) {
    let base = format!("http://{addr}");
    println!(
        "scalefront serve: local edge on {base} — origin: {}{}",
        edge.origin.describe(),
        if sample {
            " (bundled sample photos)"
        } else {
            ""
        }
    );
    println!("  preview page   {base}/_scalefront/");
    println!(
        "  rule spec      {}",
        viewer_fn::budget::Budget::of(&edge.spec).summary()
    );
    let photos = edge.origin.list(3).await.unwrap_or_default();
    let w = edge
        .spec
        .widths()
        .iter()
        .copied()
        .find(|&w| w >= 600)
        .unwrap_or(640);
    for (i, p) in photos.iter().enumerate() {
        let path = srcset::path_of(&p.key);
        match i {
            0 => println!("  original       {base}{path}\n  resized        {base}{path}?w={w}"),
            1 => println!("  as WebP        {base}{path}?w={w}&f=webp"),
            _ => println!("  cropped square {base}{path}?w=400&h=400&fit=cover"),
        }
    }
    if photos.is_empty() {
        println!("  (no photos found: add .jpg/.png/.webp files to the folder)");
    }
    if !preview::has_wasm() {
        println!("  note: built without the wasm web build; the preview page cannot resize in the browser (run `cargo xtask wasm` and rebuild)");
    }
    println!("  Ctrl-C stops.");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    eprintln!("scalefront serve: shutting down (finishing requests in flight)");
}
