//! `scalefront serve`: the local edge (crate `local-edge`).
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use local_edge::{Config, Source};
use viewer_fn::Spec;

#[derive(clap::Args)]
#[command(
    about = "Run a local edge: the generated viewer function, an edge cache and the resize flow over a folder or S3 bucket",
    long_about = "Run a local edge on this machine: each request goes through the generated CloudFront Function \
(in embedded QuickJS), an in-memory edge cache, then the folder or S3 bucket; a missing variant is made by the \
same origin-side flow as Lambda and stored back under the variant prefix. With no folder it serves bundled sample \
photos. The in-browser resize preview is at /_scalefront/.",
    after_help = "Examples:\n  scalefront serve                          # the bundled sample photos on http://127.0.0.1:8080\n  scalefront serve ~/Pictures --port 9000\n  scalefront serve --s3 s3://my-photos --s3-endpoint http://127.0.0.1:9100\n\nThen open http://127.0.0.1:8080/cups.jpg?w=600 or http://127.0.0.1:8080/_scalefront/"
)]
pub struct Args {
    /// Folder of photos to serve (variants are written under its prefix folder, e.g. _sf/) [default: bundled samples]
    #[arg(value_name = "DIR", conflicts_with = "s3")]
    dir: Option<PathBuf>,
    /// The rule spec [default: ./scalefront.toml if present, else the built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on (0.0.0.0 exposes the edge to your network)
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Serve an S3 bucket instead of a folder (credentials from the usual AWS chain)
    #[arg(long, value_name = "s3://BUCKET")]
    s3: Option<String>,
    /// S3-compatible endpoint (path-style), e.g. http://127.0.0.1:9100
    #[arg(long, value_name = "URL", requires = "s3")]
    s3_endpoint: Option<String>,
    /// Server-side encryption each variant's PUT asks for (x-amz-server-side-encryption), for a
    /// bucket policy that refuses a PUT without it: AES256 or aws:kms (with --sse-kms-key-id)
    /// [default: no header, the bucket's default encryption applies]
    #[arg(long, value_name = "AES256|aws:kms", requires = "s3")]
    sse: Option<String>,
    /// With --sse aws:kms: the KMS key's ARN (x-amz-server-side-encryption-aws-kms-key-id)
    #[arg(long, value_name = "ARN", requires = "sse")]
    sse_kms_key_id: Option<String>,
    /// With --sse aws:kms: ask for an S3 Bucket Key, or not [default: the bucket's setting]
    #[arg(long, value_name = "true|false", requires = "sse")]
    sse_bucket_key: Option<bool>,
    /// Edge cache size in MiB
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    cache_mb: usize,
    /// Over a folder, do not watch originals (by default a changed or deleted photo's variants
    /// leave the folder and the edge cache within a second, as the deployed stack's purge does)
    #[arg(long)]
    no_watch: bool,
    /// A host name to answer besides IP addresses and localhost, e.g. photos.test (repeatable);
    /// other `Host` headers get 403, so a web page cannot reach the edge by DNS rebinding
    #[arg(long, value_name = "NAME")]
    allow_host: Vec<String>,
    /// Signing keys (KeyValueStore import format, `scalefront sign --new-keys`) for a spec with
    /// `signed = true` [default: fresh random keys for this run]
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.keys.is_some() && !Spec::load(args.config.as_deref())?.signed() {
        anyhow::bail!("--keys is for a spec with `signed = true`");
    }
    let spec = Spec::load(args.config.as_deref())?;
    let source = match args.s3 {
        Some(url) => {
            let bucket = url
                .strip_prefix("s3://")
                .map(|b| b.trim_end_matches('/'))
                .filter(|b| !b.is_empty() && !b.contains('/'))
                .ok_or_else(|| anyhow::anyhow!("--s3 wants s3://BUCKET, got {url:?}"))?;
            Source::S3 {
                bucket: bucket.to_string(),
                endpoint: args.s3_endpoint,
            }
        }
        None => Source::Folder(args.dir),
    };
    // The same type and checks as a package's putEncryption.
    let put_encryption = match &args.sse {
        Some(a) => Some(
            resize_lambda::SseAlgorithm::parse(a)
                .and_then(|a| {
                    resize_lambda::Encryption::new(
                        a,
                        args.sse_kms_key_id.clone(),
                        args.sse_bucket_key,
                    )
                })
                .map_err(|e| anyhow::anyhow!("--sse: {e}"))?,
        ),
        None => None,
    };
    let config = Config {
        source,
        spec,
        addr: SocketAddr::new(args.bind, args.port),
        cache_bytes: args.cache_mb << 20,
        watch: !args.no_watch,
        allow_hosts: args.allow_host,
        limits: Default::default(),
        keys: match &args.keys {
            Some(p) => Some(
                viewer_fn::sign::Keys::from_kvs_json(&std::fs::read_to_string(p)?)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            ),
            None => None,
        },
        put_encryption,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(local_edge::run(config))
}
