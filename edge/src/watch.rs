//! `serve` over a folder keeps up with its originals: when one changes or goes, its stored
//! variants leave the folder and the edge cache at once — what the event-driven purge does for a
//! deployed stack. Polling (size and modification time, every [`INTERVAL`]) rather than OS file
//! events: it behaves the same on every file system, network mounts included.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use viewer_fn::purge::Target;

use crate::edge::Edge;

/// How often the folder is scanned (longer when a scan itself takes long).
pub const INTERVAL: Duration = Duration::from_secs(1);

type Snapshot = HashMap<String, (u64, Option<SystemTime>)>;

/// Runs until the process ends.
pub async fn watch_folder(edge: Arc<Edge>, root: PathBuf) {
    let prefix = edge.spec.prefix().to_string();
    let scan_root = root.clone();
    let scan = move || scan(&scan_root, &prefix);
    let Ok(mut before) = tokio::task::spawn_blocking(scan.clone()).await else {
        return;
    };
    loop {
        let started = std::time::Instant::now();
        let Ok(now) = tokio::task::spawn_blocking(scan.clone()).await else {
            return;
        };
        let changed = changed(&edge, &before, &now);
        if !changed.is_empty() {
            match edge.purge(Target::Originals(changed.clone()), false).await {
                Ok(r) => println!(
                    "scalefront serve: {} changed: {}",
                    changed.join(", "),
                    r.summary()
                ),
                Err(e) => eprintln!("scalefront serve: purging {}: {e}", changed.join(", ")),
            }
        }
        before = now;
        tokio::time::sleep(INTERVAL.max(started.elapsed() * 2)).await;
    }
}

/// Transformable originals that changed, went or came between two scans (one that came may
/// have a cached 404, as S3's "Object Created" purges on a deployed stack).
fn changed(edge: &Edge, before: &Snapshot, now: &Snapshot) -> Vec<String> {
    let gone_or_changed = before.iter().filter(|(k, v)| now.get(*k) != Some(v));
    let came = now.iter().filter(|(k, _)| !before.contains_key(*k));
    let mut keys: Vec<String> = gone_or_changed
        .chain(came)
        .map(|(k, _)| k.clone())
        .filter(|k| edge.spec.source_format(k).is_some())
        .collect();
    keys.sort();
    keys
}

/// Every file outside the variant prefix and dot files: its size and modification time.
fn scan(root: &Path, prefix: &str) -> Snapshot {
    let mut out = Snapshot::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = e.path();
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let key = rel.to_string_lossy().replace('\\', "/");
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                let folder = format!("{key}/");
                if crate::origin::namespace(prefix, &folder) == crate::origin::Namespace::Originals
                {
                    stack.push(path);
                }
            } else if meta.is_file() {
                out.insert(key, (meta.len(), meta.modified().ok()));
            }
        }
    }
    out
}
