//! `scalefront rewrite`: what the viewer function returns for a request, computed natively.
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use viewer_fn::sign::Keys;
use viewer_fn::{rewrite_with, Spec, ViewerRequestEvent};

#[derive(clap::Args)]
#[command(
    about = "Print what the viewer function returns for a request (the rewritten request or a response), as one line of JSON",
    after_help = "Examples:\n  scalefront rewrite '/photos/Further.jpg?w=600' --header 'accept: image/avif,image/webp,*/*'\n  scalefront rewrite --events events.jsonl     # one CloudFront Functions event per line in, one result per line out"
)]
pub struct Args {
    /// Path and query as a browser sends them, e.g. '/photos/a.jpg?w=600&f=auto'
    #[arg(
        value_name = "PATH?QUERY",
        required_unless_present = "events",
        conflicts_with = "events"
    )]
    request: Option<String>,
    /// A request header, 'name: value' (repeatable)
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Read CloudFront Functions viewer-request events, one JSON object per line ('-': stdin)
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// The rule spec [default: ./scalefront.toml if present, else the built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Signing keys (KeyValueStore import format) for a spec with `signed = true`; without
    /// them every variant request of such a spec is refused, as with an empty store
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let spec = Spec::load(args.config.as_deref())?;
    let keys = match &args.keys {
        None => Keys::new(),
        Some(p) => Keys::from_kvs_json(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
    };
    let out = std::io::stdout().lock();
    let mut out = BufWriter::new(out);
    if let Some(path) = &args.events {
        let input: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            let f =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            Box::new(std::io::BufReader::new(f))
        };
        for (i, line) in input.lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let event: ViewerRequestEvent = serde_json::from_str(&line).with_context(|| {
                format!("{}:{}: not a viewer-request event", path.display(), i + 1)
            })?;
            serde_json::to_writer(&mut out, &rewrite_with(&spec, &keys, &event))?;
            out.write_all(b"\n")?;
        }
    } else {
        let mut headers = Vec::new();
        for h in &args.headers {
            let (name, value) = h
                .split_once(':')
                .with_context(|| format!("--header {h:?}: expected 'name: value'"))?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        let request = args.request.as_deref().unwrap_or("/");
        let event = ViewerRequestEvent::from_http(request, &headers);
        serde_json::to_writer(&mut out, &rewrite_with(&spec, &keys, &event))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
