//! The bundled sample photos (edge/sample/photos, ~700 KB, licences in edge/sample/LICENSES),
//! shipped inside the binary so `scalefront serve` works from anywhere with no argument.

use std::path::{Path, PathBuf};

/// (key, bytes). `nature/ladybird.jpg` is stored sideways with EXIF Orientation 6.
pub const PHOTOS: &[(&str, &[u8])] = &[
    (
        "by-the-water.jpg",
        include_bytes!("../sample/photos/by-the-water.jpg"),
    ),
    ("cups.jpg", include_bytes!("../sample/photos/cups.jpg")),
    ("storm.jpg", include_bytes!("../sample/photos/storm.jpg")),
    (
        "nature/ladybird.jpg",
        include_bytes!("../sample/photos/nature/ladybird.jpg"),
    ),
];

/// Writes the sample photos into `dir` (a scratch folder the edge may also write variants into)
/// unless they are already there, and returns it.
pub fn extract(dir: &Path) -> std::io::Result<PathBuf> {
    for (key, bytes) in PHOTOS {
        let path = dir.join(key);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
            continue;
        }
        std::fs::create_dir_all(path.parent().expect("keys have a parent"))?;
        std::fs::write(&path, bytes)?;
    }
    Ok(dir.to_path_buf())
}

/// Where the sample lives by default: a per-user scratch folder.
pub fn default_dir() -> PathBuf {
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    std::env::temp_dir().join(format!("scalefront-sample-{user}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn extracts_idempotently() {
        let dir = std::env::temp_dir().join(format!("sf-sample-test-{}", std::process::id()));
        super::extract(&dir).unwrap();
        super::extract(&dir).unwrap();
        for (key, bytes) in super::PHOTOS {
            assert_eq!(std::fs::read(dir.join(key)).unwrap(), *bytes);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
