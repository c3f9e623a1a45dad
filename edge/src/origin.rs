//! The origin: where originals are read and variants written — a folder, or an S3 bucket.
//!
//! Keys are S3 keys (decoded, no leading slash). The folder origin maps them onto paths one
//! checked segment at a time, so no key can name a file outside the folder (no `..`, no dot
//! files, no symlink out of the root), and it writes only under the variant prefix (I3), never
//! through a symlink. A first segment that a case-insensitive file system takes for the prefix
//! (`_SF`, `_Sf` on macOS or Windows) is the variant namespace too: never read as an original.

use std::path::{Component, Path, PathBuf};

use resize_lambda::storage::answer_from_whole;
use resize_lambda::{Meta, Read, ReadResult, Write};
use viewer_fn::purge::{Delete, List, Listing};

/// One original, for the preview page's listing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    pub key: String,
    pub bytes: u64,
}

pub enum Origin {
    Folder(Folder),
    #[cfg(feature = "s3")]
    S3(crate::s3::S3Origin),
}

impl Origin {
    /// The storage vocabulary every host shares ([`resize_lambda::storage`]). The edge reads
    /// through [`crate::Edge::read`], which holds the read limits.
    pub async fn read(&self, read: &Read) -> ReadResult {
        match self {
            Origin::Folder(f) => f.read(read).await,
            #[cfg(feature = "s3")]
            Origin::S3(s) => s.read(read).await,
        }
    }

    pub async fn put(&self, write: &Write) -> Result<Option<String>, String> {
        match self {
            Origin::Folder(f) => f.put(write).await,
            #[cfg(feature = "s3")]
            Origin::S3(s) => s.put(write).await,
        }
    }

    /// Up to `max` originals (keys outside the variant prefix), for the preview page.
    pub async fn list(&self, max: usize) -> Result<Vec<Listed>, String> {
        match self {
            Origin::Folder(f) => f.list(max).await,
            #[cfg(feature = "s3")]
            Origin::S3(s) => s.list(max).await,
        }
    }

    /// One page of keys under `list.prefix` (S3 `ListObjectsV2`, `/` as the delimiter when asked).
    pub async fn list_page(&self, list: &List) -> Result<Listing, String> {
        match self {
            Origin::Folder(f) => f.list_page(list).await,
            #[cfg(feature = "s3")]
            Origin::S3(s) => s.list_page(list).await,
        }
    }

    /// Deletes stored variants; the keys that could not be deleted come back with their cause.
    pub async fn delete(&self, delete: &Delete) -> Result<Vec<(String, String)>, String> {
        match self {
            Origin::Folder(f) => f.delete(delete).await,
            #[cfg(feature = "s3")]
            Origin::S3(s) => s.delete(delete).await,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Origin::Folder(f) => format!("folder {}", f.root.display()),
            #[cfg(feature = "s3")]
            Origin::S3(s) => s.describe(),
        }
    }
}

/// A name as a case-insensitive file system compares it, for names spelled in ASCII: ASCII case
/// folded; the four letters whose simple Unicode case mapping is ASCII folded with it (`İ` and
/// `ı` to `i`, `ſ` (long s) to `s`, `K` (Kelvin sign) to `k`: NTFS upper-cases `ſ` to `S`, APFS
/// case-folds it to `s`); the code points HFS+ ignores in names dropped (git's list for
/// `.git`, `is_hfs_dotgit` in git's utf8.c: U+200C–U+200F, U+202A–U+202E, U+206A–U+206F,
/// U+FEFF); and trailing dots and spaces dropped, as Windows drops them from a path.
pub fn fold_name(name: &str) -> String {
    let folded: String = name
        .chars()
        .filter(|c| {
            !matches!(c, '\u{200C}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{206A}'..='\u{206F}' | '\u{FEFF}')
        })
        .map(|c| match c {
            '\u{130}' | '\u{131}' => 'i',
            '\u{17F}' => 's',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    folded.trim_end_matches(['.', ' ']).to_string()
}

/// Where a key falls in the folder.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Namespace {
    /// Under the variant prefix, spelled exactly.
    Variants,
    /// Under a spelling of the prefix a case-insensitive file system takes for the same folder
    /// (`_SF/…`): refused, neither an original nor a variant.
    LookAlike,
    Originals,
}

/// The namespace of `key` (`prefix` without slashes), by its first segment.
pub fn namespace(prefix: &str, key: &str) -> Namespace {
    let first = key.split('/').next().unwrap_or("");
    if first == prefix && key.len() > first.len() {
        Namespace::Variants
    } else if fold_name(first) == fold_name(prefix) {
        Namespace::LookAlike
    } else {
        Namespace::Originals
    }
}

/// The source key of a stored variant's key, by the one layout rule ([`viewer_fn::StoredKey`]).
fn variant_source<'a>(prefix: &str, key: &'a str) -> Option<&'a str> {
    viewer_fn::StoredKey::split_under(prefix, key).map(|s| s.source_key)
}

/// Image extensions the preview page lists.
pub fn is_image_key(key: &str) -> bool {
    let ext = key
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "jpg" | "jpeg" | "png" | "webp" | "gif" | "avif"
    )
}

/// Content type from the bytes themselves: the folder keeps no metadata, and a variant's key
/// ends in its original's extension (`…/webp/photo.jpg` holds WebP).
pub fn sniff_content_type(head: &[u8], key: &str) -> &'static str {
    match head {
        [0xFF, 0xD8, 0xFF, ..] => return "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => return "image/png",
        [b'G', b'I', b'F', b'8', ..] => return "image/gif",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => return "image/webp",
        [_, _, _, _, b'f', b't', b'y', b'p', b'a', b'v', b'i', b'f', ..] => return "image/avif",
        _ => {}
    }
    let ext = key
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" | "md" => "text/plain; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "gif" => "image/gif",
        _ => "application/octet-stream",
    }
}

pub struct Folder {
    root: PathBuf,
    /// The variant prefix (`_sf`): the only place writes may go.
    prefix: String,
    /// `Cache-Control` the folder reports for variants (S3 keeps the one the flow wrote).
    variant_cache_control: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum KeyError {
    Empty,
    BadSegment(String),
}

impl Folder {
    /// `variant_cache_control`: what S3 would have stored with each variant
    /// ([`viewer_fn::cdn::variant_cache_control`]; the folder keeps no metadata).
    pub fn new(root: &Path, prefix: &str, variant_cache_control: &str) -> std::io::Result<Folder> {
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is not a folder",
                root.display()
            )));
        }
        Ok(Folder {
            root,
            prefix: prefix.trim_matches('/').to_string(),
            variant_cache_control: variant_cache_control.to_string(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path for a key, refusing any key that could leave the folder or name a dot file.
    pub fn path_for(&self, key: &str) -> Result<PathBuf, KeyError> {
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        let mut path = self.root.clone();
        for seg in key.split('/') {
            let bad = seg.is_empty()
                || seg.starts_with('.')
                || seg.contains(['\\', '\0', ':'])
                || !matches!(
                    Path::new(seg).components().next(),
                    Some(Component::Normal(_))
                )
                || Path::new(seg).components().count() != 1;
            if bad {
                return Err(KeyError::BadSegment(seg.to_string()));
            }
            path.push(seg);
        }
        Ok(path)
    }

    async fn read(&self, read: &Read) -> ReadResult {
        let key = read.key.as_str();
        let missing = |detail: String| ReadResult::Missing {
            status: 404,
            detail,
        };
        let failed = |cause: String| ReadResult::Failed { cause };
        let is_variant = match namespace(&self.prefix, key) {
            Namespace::Variants => true,
            Namespace::Originals => false,
            Namespace::LookAlike => {
                return missing(format!(
                    "key {key:?} spells the variant prefix {:?} another way (one folder on a case-insensitive file system): neither an original nor a variant",
                    self.prefix
                ))
            }
        };
        let path = match self.path_for(key) {
            Ok(p) => p,
            Err(e) => return missing(format!("key {key:?} is not a file name here: {e:?}")),
        };
        // Symlinks may point anywhere; what they resolve to must still be inside the root.
        let real = match tokio::fs::canonicalize(&path).await {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return missing(format!("no file {}", path.display()))
            }
            Err(e) => return failed(format!("{}: {e}", path.display())),
        };
        if !real.starts_with(&self.root) {
            return missing(format!("{} resolves outside the folder", path.display()));
        }
        let fs_meta = match tokio::fs::metadata(&real).await {
            Ok(m) if m.is_file() => m,
            Ok(_) => return missing(format!("{} is not a file", path.display())),
            Err(e) => return failed(format!("{}: {e}", path.display())),
        };
        let mut meta = Meta {
            size: fs_meta.len(),
            etag: None,
            content_type: None,
            cache_control: is_variant.then(|| self.variant_cache_control.clone()),
            last_modified_ms: fs_meta.modified().ok().and_then(resize_lambda::unix_ms),
            // The folder keeps no metadata; a variant's tag follows from its key, as the flow
            // wrote it (`cache-tag`).
            metadata: variant_source(&self.prefix, key)
                .map(|source| {
                    let tag = viewer_fn::purge::cache_tag(source);
                    (viewer_fn::purge::CACHE_TAG_METADATA.to_string(), tag)
                })
                .into_iter()
                .collect(),
        };
        if meta.size > read.max_bytes || read.is_head() {
            return answer_from_whole(read, meta, &[]);
        }
        let body = match tokio::fs::read(&real).await {
            Ok(b) => b,
            Err(e) => return failed(format!("reading {}: {e}", path.display())),
        };
        // The folder keeps no metadata: type from the bytes, tag from the content.
        meta.size = body.len() as u64;
        meta.content_type = Some(sniff_content_type(&body[..body.len().min(16)], key).to_string());
        meta.etag = Some(crate::edge::etag_of(&body));
        answer_from_whole(read, meta, &body)
    }

    async fn put(&self, write: &Write) -> Result<Option<String>, String> {
        if namespace(&self.prefix, &write.key) != Namespace::Variants {
            return Err(format!(
                "refusing to write {:?} outside the variant prefix {:?}",
                write.key, self.prefix
            ));
        }
        let path = self
            .path_for(&write.key)
            .map_err(|e| format!("variant key {:?}: {e:?}", write.key))?;
        if !self.made_from_current(write).await {
            // The original changed or went while this variant was made (the watcher has purged
            // it already): store nothing; this one answer is all the old bytes get.
            return Ok(None);
        }
        let dir = path.parent().expect("a key has at least one segment");
        self.real_dirs(dir, true).await?;
        // Write then rename, so a reader never sees half a variant. The temporary file is made
        // new (O_EXCL: a link planted under its name is refused, not followed); the rename
        // replaces whatever is at the variant's name, a symlink included, without following it.
        static TMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let tmp = dir.join(format!(
            ".{}.{}.{}.tmp",
            path.file_name().unwrap().to_string_lossy(),
            std::process::id(),
            TMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let written = async {
            use tokio::io::AsyncWriteExt;
            let mut f = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .await?;
            f.write_all(&write.body).await?;
            f.flush().await
        };
        if let Err(e) = written.await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(format!("writing {}: {e}", tmp.display()));
        }
        if let Err(e) = tokio::fs::rename(&tmp, &path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(format!("renaming to {}: {e}", path.display()));
        }
        // The tag a read of this file answers with (the folder derives it from the content).
        Ok(Some(crate::edge::etag_of(&write.body)))
    }

    /// Checks (and with `create`, makes) each folder from the root down to `dir`, refusing one
    /// that is a symlink or not a folder: a write or delete never goes through a link, whether
    /// it points out of the folder or into the originals. `Ok(false)`: `dir` does not exist
    /// (and `create` is off).
    async fn real_dirs(&self, dir: &Path, create: bool) -> Result<bool, String> {
        let rel = dir
            .strip_prefix(&self.root)
            .map_err(|_| format!("{} is outside the folder", dir.display()))?;
        let mut at = self.root.clone();
        for part in rel.components() {
            at.push(part);
            loop {
                match tokio::fs::symlink_metadata(&at).await {
                    Ok(m) if m.file_type().is_symlink() => {
                        return Err(format!(
                            "refusing to write through the symlink {} (serve never follows a link under its variant prefix; remove it)",
                            at.display()
                        ))
                    }
                    Ok(m) if m.is_dir() => break,
                    Ok(_) => return Err(format!("{} is not a folder", at.display())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => {
                        return Ok(false)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        match tokio::fs::create_dir(&at).await {
                            Ok(()) => break,
                            // Made meanwhile (another write, or a planted link): look again.
                            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                            Err(e) => return Err(format!("creating {}: {e}", at.display())),
                        }
                    }
                    Err(e) => return Err(format!("{}: {e}", at.display())),
                }
            }
        }
        Ok(true)
    }

    /// Whether the original a variant was made from (its `source-etag`) is still the one in the
    /// folder. A write without that metadata is taken as current.
    async fn made_from_current(&self, write: &Write) -> bool {
        let made_from = write
            .metadata
            .iter()
            .find(|(n, _)| *n == "source-etag")
            .map(|(_, v)| v);
        let (Some(made_from), Some(source)) = (made_from, variant_source(&self.prefix, &write.key))
        else {
            return true;
        };
        let Ok(path) = self.path_for(source) else {
            return true;
        };
        match tokio::fs::read(&path).await {
            Ok(bytes) => &crate::edge::etag_of(&bytes) == made_from,
            Err(_) => false,
        }
    }

    /// The variant namespace as S3 would list it: every file under the prefix's folder whose key
    /// starts with `list.prefix`, rolled up at the next `/` with a delimiter; one page.
    async fn list_page(&self, list: &List) -> Result<Listing, String> {
        if namespace(&self.prefix, &list.prefix) != Namespace::Variants {
            return Err(format!("the folder lists only under {}/", self.prefix));
        }
        // Start at the deepest folder the prefix names whole (checked like any key).
        let dir_key = &list.prefix[..list.prefix.rfind('/').unwrap_or(0)];
        let start = self
            .path_for(dir_key)
            .map_err(|e| format!("listing {:?}: {e:?}", list.prefix))?;
        // A purge deletes what it lists: never list through a link.
        self.real_dirs(&start, false).await?;
        let root = self.root.clone();
        let list = list.clone();
        tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            let mut stack = vec![start];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => continue,
                    Err(e) => return Err(format!("listing {}: {e}", dir.display())),
                };
                for e in entries.filter_map(Result::ok) {
                    if e.file_name().to_string_lossy().starts_with('.') {
                        continue;
                    }
                    let Ok(ft) = e.file_type() else { continue };
                    if ft.is_dir() {
                        stack.push(e.path());
                    } else if ft.is_file() {
                        let key = e
                            .path()
                            .strip_prefix(&root)
                            .unwrap()
                            .to_string_lossy()
                            .replace('\\', "/");
                        if key.starts_with(&list.prefix) {
                            keys.push(key);
                        }
                    }
                }
            }
            keys.sort();
            let mut out = Listing::default();
            for key in keys {
                let rest = &key[list.prefix.len()..];
                match rest.find('/').filter(|_| list.delimiter) {
                    Some(i) => {
                        let folder = format!("{}{}", list.prefix, &rest[..=i]);
                        if out.folders.last() != Some(&folder) {
                            out.folders.push(folder);
                        }
                    }
                    None => out.keys.push(key),
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Deletes variant files (never outside the prefix), then the folders they leave empty.
    async fn delete(&self, delete: &Delete) -> Result<Vec<(String, String)>, String> {
        let variants_dir = self.root.join(&self.prefix);
        let mut failed = Vec::new();
        for key in &delete.keys {
            if namespace(&self.prefix, key) != Namespace::Variants {
                failed.push((key.clone(), "not under the variant prefix".to_string()));
                continue;
            }
            let path = match self.path_for(key) {
                Ok(p) => p,
                Err(e) => {
                    failed.push((key.clone(), format!("{e:?}")));
                    continue;
                }
            };
            match self
                .real_dirs(path.parent().expect("a key has a segment"), false)
                .await
            {
                Ok(true) => {}
                Ok(false) => continue, // already gone
                Err(e) => {
                    failed.push((key.clone(), e));
                    continue;
                }
            }
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    failed.push((key.clone(), e.to_string()));
                    continue;
                }
            }
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| d.starts_with(&variants_dir) && *d != variants_dir) {
                if tokio::fs::remove_dir(d).await.is_err() {
                    break; // not empty
                }
                dir = d.parent();
            }
        }
        Ok(failed)
    }

    async fn list(&self, max: usize) -> Result<Vec<Listed>, String> {
        let root = self.root.clone();
        let prefix = self.prefix.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut stack = vec![root.clone()];
            while let Some(dir) = stack.pop() {
                let mut entries: Vec<_> = std::fs::read_dir(&dir)
                    .map_err(|e| format!("listing {}: {e}", dir.display()))?
                    .filter_map(Result::ok)
                    .collect();
                entries.sort_by_key(|e| e.file_name());
                for e in entries {
                    let name = e.file_name().to_string_lossy().to_string();
                    if name.starts_with('.') {
                        continue;
                    }
                    let path = e.path();
                    let key = path
                        .strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    let Ok(ft) = e.file_type() else { continue };
                    if ft.is_dir() {
                        if namespace(&prefix, &format!("{key}/")) == Namespace::Originals {
                            stack.push(path);
                        }
                    } else if ft.is_file() && is_image_key(&key) {
                        out.push(Listed {
                            key,
                            bytes: e.metadata().map(|m| m.len()).unwrap_or(0),
                        });
                        if out.len() >= max {
                            return Ok(out);
                        }
                    }
                }
            }
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> (tempdir::Dir, Folder) {
        let d = tempdir::Dir::new();
        std::fs::write(d.0.join("a.jpg"), b"\xFF\xD8\xFFjpeg").unwrap();
        std::fs::create_dir_all(d.0.join("sub")).unwrap();
        std::fs::write(d.0.join("sub/b.png"), b"\x89PNG....").unwrap();
        std::fs::write(d.0.join(".secret"), b"x").unwrap();
        let f = Folder::new(&d.0, "_sf", "public, max-age=60, s-maxage=600").unwrap();
        (d, f)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "sf-origin-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn keys_cannot_leave_the_folder() {
        let (_d, f) = folder();
        for bad in [
            "",
            "../etc/passwd",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            ".secret",
            "sub/.git/config",
            "a\\..\\b",
            "C:x",
            "a/./b",
            "a\0b",
        ] {
            assert!(f.path_for(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            f.path_for("sub/b.png").unwrap(),
            f.root().join("sub").join("b.png")
        );
        assert!(f.path_for("photos/Further café.jpg").is_ok());
    }

    fn whole(key: &str, max_bytes: u64) -> Read {
        Read {
            key: key.into(),
            start: 0,
            len: None,
            max_bytes,
            if_match: None,
        }
    }

    #[tokio::test]
    async fn read_sniffs_refuses_and_serves_ranges() {
        let (d, f) = folder();
        let ReadResult::Found { meta, body } = f.read(&whole("a.jpg", 100)).await else {
            panic!()
        };
        assert_eq!(meta.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!((meta.size, body.len()), (7, 7));
        assert!(
            meta.cache_control.is_none(),
            "originals carry no Cache-Control"
        );
        assert!(
            matches!(f.read(&whole("sub/b.png", 100)).await, ReadResult::Found { meta, .. } if meta.content_type.as_deref() == Some("image/png"))
        );
        let range = Read {
            start: 2,
            len: Some(3),
            ..whole("a.jpg", 100)
        };
        assert!(
            matches!(f.read(&range).await, ReadResult::Found { meta, body } if meta.size == 7 && body == b"\xFFjp")
        );
        assert!(matches!(
            f.read(&whole("a.jpg", 3)).await,
            ReadResult::TooLarge { meta } if meta.size == 7
        ));
        assert!(matches!(
            f.read(&whole("nope.jpg", 100)).await,
            ReadResult::Missing { status: 404, .. }
        ));
        assert!(matches!(
            f.read(&whole(".secret", 100)).await,
            ReadResult::Missing { .. }
        ));
        assert!(matches!(
            f.read(&whole("sub", 100)).await,
            ReadResult::Missing { .. }
        ));
        // A symlink out of the root is not followed.
        let outside = tempdir::Dir::new();
        std::fs::write(outside.0.join("x.jpg"), b"secret").unwrap();
        std::os::unix::fs::symlink(outside.0.join("x.jpg"), d.0.join("link.jpg")).unwrap();
        assert!(matches!(
            f.read(&whole("link.jpg", 100)).await,
            ReadResult::Missing { .. }
        ));
    }

    #[tokio::test]
    async fn put_only_under_the_prefix_and_list_skips_it() {
        let (_d, f) = folder();
        let w = |key: &str| Write {
            key: key.into(),
            body: b"RIFF\0\0\0\0WEBPVP8 ".to_vec(),
            content_type: "image/webp",
            cache_control: "public, max-age=60, s-maxage=600".into(),
            metadata: vec![],
            encryption: None,
        };
        assert!(
            f.put(&w("a.jpg")).await.is_err(),
            "an original is never overwritten"
        );
        assert!(f.put(&w("_sf/../a.jpg")).await.is_err());
        f.put(&w("_sf/a.jpg/g0000000/w600-h0-cover-q75.webp"))
            .await
            .unwrap();
        let ReadResult::Found { meta, .. } = f
            .read(&whole("_sf/a.jpg/g0000000/w600-h0-cover-q75.webp", 100))
            .await
        else {
            panic!()
        };
        assert_eq!(meta.content_type.as_deref(), Some("image/webp"));
        assert_eq!(
            meta.cache_control.as_deref(),
            Some("public, max-age=60, s-maxage=600")
        );
        let keys: Vec<_> = f
            .list(100)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.key)
            .collect();
        assert_eq!(keys, vec!["a.jpg", "sub/b.png"]);
    }

    /// What a case-insensitive file system (APFS, NTFS) compares: one folder for all of these.
    #[test]
    fn names_fold_as_a_case_insensitive_file_system_folds_them() {
        for same in [
            "_sf",
            "_SF",
            "_Sf",
            "_sF",
            "_\u{17F}f",
            "_\u{17F}F",
            "_sf.",
            "_sf ",
            "_SF. .",
            "_s\u{200C}f",
            "\u{FEFF}_sf",
            "_s\u{202E}F",
        ] {
            assert_eq!(fold_name(same), "_sf", "{same:?}");
            assert_eq!(
                namespace("_sf", &format!("{same}/a.jpg/g0/w1.webp")),
                if same == "_sf" {
                    Namespace::Variants
                } else {
                    Namespace::LookAlike
                },
                "{same:?}"
            );
        }
        assert_eq!(fold_name("\u{212A}EY"), "key");
        assert_eq!(fold_name("\u{130}MG"), "img");
        assert_eq!(fold_name("\u{131}mg"), "img");
        for other in ["_sff", "sf", "_s", "_šf", "_sf_", "photos"] {
            assert_eq!(
                namespace("_sf", &format!("{other}/a.jpg")),
                Namespace::Originals,
                "{other:?}"
            );
        }
        // Only the first segment is the namespace; the prefix alone is no key.
        assert_eq!(namespace("_sf", "photos/_SF/a.jpg"), Namespace::Originals);
        assert_eq!(namespace("_sf", "_sf"), Namespace::LookAlike);
        assert_eq!(namespace("_sf", "_SF"), Namespace::LookAlike);
        assert_eq!(namespace("_sf", "_sf/"), Namespace::Variants);
    }

    #[tokio::test]
    async fn a_key_spelling_the_prefix_another_way_is_neither_original_nor_variant() {
        let (d, f) = folder();
        // On this (case-sensitive) file system `_SF` is a folder of its own; on macOS it is the
        // variant folder. Either way the edge refuses it, so both behave the same.
        let key = "_sf/a.jpg/g0000000/w600-h0-cover-q75.webp";
        for spelled in ["_SF", "_Sf", "_\u{17F}f"] {
            let other = key.replacen("_sf", spelled, 1);
            std::fs::create_dir_all(d.0.join(&other).parent().unwrap()).unwrap();
            std::fs::write(d.0.join(&other), b"RIFF\0\0\0\0WEBPVP8 ").unwrap();
            let read = f.read(&whole(&other, 100)).await;
            let ReadResult::Missing {
                status: 404,
                detail,
            } = read
            else {
                panic!("{spelled}: {read:?}")
            };
            assert!(detail.contains("another way"), "{detail}");
            let w = Write {
                key: other.clone(),
                body: b"x".to_vec(),
                content_type: "image/webp",
                cache_control: "public".into(),
                metadata: vec![],
                encryption: None,
            };
            assert!(f.put(&w).await.is_err(), "{spelled}: written");
            let gone = f
                .delete(&Delete {
                    keys: vec![other.clone()],
                })
                .await
                .unwrap();
            assert_eq!(gone.len(), 1, "{spelled}: deleted");
        }
        // Nor are they listed as originals, nor does the exact prefix stop working.
        let keys: Vec<_> = f
            .list(100)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.key)
            .collect();
        assert_eq!(keys, vec!["a.jpg", "sub/b.png"]);
        std::fs::create_dir_all(d.0.join(key).parent().unwrap()).unwrap();
        std::fs::write(d.0.join(key), b"RIFF\0\0\0\0WEBPVP8 ").unwrap();
        assert!(matches!(
            f.read(&whole(key, 100)).await,
            ReadResult::Found { .. }
        ));
    }

    fn variant_write(key: &str) -> Write {
        Write {
            key: key.into(),
            body: b"RIFF\0\0\0\0WEBPVP8 new".to_vec(),
            content_type: "image/webp",
            cache_control: "public, max-age=60".into(),
            metadata: vec![],
            encryption: None,
        }
    }

    #[tokio::test]
    async fn no_write_or_delete_goes_through_a_symlink() {
        use std::os::unix::fs::symlink;
        let key = "_sf/a.jpg/g0000000/w600-h0-cover-q75.webp";
        let files = |dir: &Path| -> Vec<String> {
            let mut out = Vec::new();
            let mut stack = vec![dir.to_path_buf()];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).unwrap().flatten() {
                    if e.file_type().unwrap().is_dir() {
                        stack.push(e.path());
                    } else {
                        out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
                    }
                }
            }
            out.sort();
            out
        };

        // The prefix folder itself, a folder under it, and one pointing back into the originals.
        for link in ["_sf", "_sf/a.jpg", "_sf/a.jpg/g0000000"] {
            for into_originals in [false, true] {
                let (d, f) = folder();
                let outside = tempdir::Dir::new();
                let target = if into_originals {
                    d.0.join("sub")
                } else {
                    outside.0.clone()
                };
                std::fs::create_dir_all(d.0.join(link).parent().unwrap()).unwrap();
                symlink(&target, d.0.join(link)).unwrap();
                let before = files(&target);
                let err = f.put(&variant_write(key)).await.unwrap_err();
                assert!(err.contains("symlink"), "{link}: {err}");
                assert_eq!(files(&target), before, "{link}: written through the link");
                // A purge does not delete or list through it either.
                let planted = target.join(key.strip_prefix(&format!("{link}/")).unwrap());
                std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
                std::fs::write(&planted, b"keep").unwrap();
                let kept = files(&target);
                let failed = f
                    .delete(&Delete {
                        keys: vec![key.to_string()],
                    })
                    .await
                    .unwrap();
                assert!(
                    failed.len() == 1 && failed[0].1.contains("symlink"),
                    "{link}: {failed:?}"
                );
                assert_eq!(files(&target), kept, "{link}: deleted through the link");
                let list = List {
                    prefix: format!("{link}/"),
                    delimiter: false,
                    token: None,
                };
                assert!(f.list_page(&list).await.is_err(), "{link}: listed through");
            }
        }

        // A link planted at the variant's own name is replaced, never written through.
        let (d, f) = folder();
        let outside = tempdir::Dir::new();
        std::fs::write(outside.0.join("x"), b"precious").unwrap();
        std::fs::create_dir_all(d.0.join(key).parent().unwrap()).unwrap();
        symlink(outside.0.join("x"), d.0.join(key)).unwrap();
        f.put(&variant_write(key)).await.unwrap();
        assert_eq!(std::fs::read(outside.0.join("x")).unwrap(), b"precious");
        let stored = std::fs::symlink_metadata(d.0.join(key)).unwrap();
        assert!(stored.is_file(), "the link was replaced by the variant");
        // The same for a planted link at any temporary name: made new (O_EXCL), never opened.
        let dir = d.0.join(key).parent().unwrap().to_path_buf();
        for n in 0..4 {
            let name = format!(".w600-h0-cover-q75.webp.{}.{n}.tmp", std::process::id());
            let _ = symlink(outside.0.join("x"), dir.join(name));
        }
        let _ = f.put(&variant_write(key)).await;
        assert_eq!(std::fs::read(outside.0.join("x")).unwrap(), b"precious");
    }

    #[tokio::test]
    async fn a_variant_of_an_original_since_replaced_or_deleted_is_not_stored() {
        let (d, f) = folder();
        let key = "_sf/a.jpg/g0000000/w600-h0-cover-q75.webp";
        let w = |etag: String| Write {
            key: key.into(),
            body: b"RIFF\0\0\0\0WEBPVP8 ".to_vec(),
            content_type: "image/webp",
            cache_control: "public, max-age=60".into(),
            metadata: vec![("source-etag", etag)],
            encryption: None,
        };
        let current = crate::edge::etag_of(b"\xFF\xD8\xFFjpeg");
        std::fs::write(d.0.join("a.jpg"), b"\xFF\xD8\xFFnewer").unwrap();
        assert_eq!(f.put(&w(current.clone())).await, Ok(None));
        assert!(!d.0.join(key).exists(), "made from the replaced bytes");
        std::fs::write(d.0.join("a.jpg"), b"\xFF\xD8\xFFjpeg").unwrap();
        assert!(f.put(&w(current.clone())).await.unwrap().is_some());
        assert!(d.0.join(key).exists());
        std::fs::remove_file(d.0.join(key)).unwrap();
        std::fs::remove_file(d.0.join("a.jpg")).unwrap();
        assert_eq!(f.put(&w(current)).await, Ok(None), "the original is gone");
        assert!(!d.0.join(key).exists());
    }
}
