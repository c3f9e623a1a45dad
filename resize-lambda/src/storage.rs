//! One storage vocabulary for every host — the Node shim's S3 client, aws-sdk-s3 (regional Lambda,
//! `serve --s3`) and a folder (`serve`): the flow asks to [`Read`] and [`Write`]; each host answers
//! in the same words ([`ReadResult`]), so a 403, a 404 or a size means the same everywhere.

/// What storage says about an object, whatever the host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    /// The whole object's size in bytes (S3: `Content-Length`, or the total of `Content-Range`).
    pub size: u64,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    /// Last modification, milliseconds since the Unix epoch.
    pub last_modified_ms: Option<f64>,
    /// User metadata (S3 `x-amz-meta-*`, names in lower case): a variant's `source-etag` and
    /// `cache-tag`.
    pub metadata: Vec<(String, String)>,
}

/// Ask the host to read part of an object (S3: `GetObject` with `Range`; `HeadObject` when `len`
/// is `Some(0)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The S3 key (decoded, no leading slash).
    pub key: String,
    /// First byte to read.
    pub start: u64,
    /// Bytes to read from `start` (fewer when the object ends first); `None`: to the end;
    /// `Some(0)`: metadata only.
    pub len: Option<u64>,
    /// When the whole object is larger, answer [`ReadResult::TooLarge`] without reading its body.
    pub max_bytes: u64,
    /// Read only this version (S3 `If-Match`): the parts of one original come from one upload.
    pub if_match: Option<String>,
}

impl Read {
    /// The `Range` header value for this read, if it is a partial one.
    pub fn range_header(&self) -> Option<String> {
        match self.len {
            Some(0) => None,
            Some(n) => Some(format!("bytes={}-{}", self.start, self.start + n - 1)),
            None if self.start > 0 => Some(format!("bytes={}-", self.start)),
            None => None,
        }
    }

    /// Whether this read wants the metadata only.
    pub fn is_head(&self) -> bool {
        self.len == Some(0)
    }
}

/// What the host found.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadResult {
    /// The requested bytes (all of them, or the range asked for).
    Found { meta: Meta, body: Vec<u8> },
    /// 404, or 403 (S3 says 403 for a missing key when the caller may not list the bucket).
    /// `detail` says which, for the log.
    Missing { status: u16, detail: String },
    /// The object is larger than [`Read::max_bytes`]; its body was not read.
    TooLarge { meta: Meta },
    /// Network, throttling, 5xx, a failed `If-Match`: the cause goes to the log.
    Failed { cause: String },
}

/// Ask the host to store the variant (a plain PUT; the key is always under the variant prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// [`viewer_fn::cdn::variant_cache_control`].
    pub cache_control: String,
    /// User metadata (S3 `x-amz-meta-*`): `source-etag`.
    pub metadata: Vec<(&'static str, String)>,
}

/// A read of `body` as a host holding the whole object answers it: the requested range of the
/// bytes, the size check first. Hosts that hold objects whole (a folder, a test double) use it,
/// so their ranges behave as S3's do.
pub fn answer_from_whole(read: &Read, meta: Meta, body: &[u8]) -> ReadResult {
    if meta.size > read.max_bytes {
        return ReadResult::TooLarge { meta };
    }
    if let (Some(want), Some(have)) = (&read.if_match, &meta.etag) {
        if want != have {
            return ReadResult::Failed {
                cause: format!(
                    "{} changed while it was being read (If-Match {want}, now {have})",
                    read.key
                ),
            };
        }
    }
    let start = (read.start as usize).min(body.len());
    let end = match read.len {
        None => body.len(),
        Some(n) => start.saturating_add(n as usize).min(body.len()),
    };
    ReadResult::Found {
        meta,
        body: body[start..end].to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(start: u64, len: Option<u64>) -> Read {
        Read {
            key: "k".into(),
            start,
            len,
            max_bytes: 100,
            if_match: None,
        }
    }

    #[test]
    fn ranges_as_s3_spells_them() {
        assert_eq!(read(0, None).range_header(), None);
        assert_eq!(read(0, Some(0)).range_header(), None);
        assert!(read(0, Some(0)).is_head());
        assert_eq!(
            read(0, Some(65536)).range_header().as_deref(),
            Some("bytes=0-65535")
        );
        assert_eq!(
            read(100, None).range_header().as_deref(),
            Some("bytes=100-")
        );
    }

    #[test]
    fn whole_objects_answer_ranges_and_refuse_sizes() {
        let meta = |size| Meta {
            size,
            etag: Some("\"a\"".into()),
            ..Meta::default()
        };
        let body = b"0123456789";
        let got = |r: ReadResult| match r {
            ReadResult::Found { body, .. } => body,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            got(answer_from_whole(&read(2, Some(3)), meta(10), body)),
            b"234"
        );
        assert_eq!(
            got(answer_from_whole(&read(8, Some(30)), meta(10), body)),
            b"89"
        );
        assert_eq!(
            got(answer_from_whole(&read(4, None), meta(10), body)),
            b"456789"
        );
        assert!(got(answer_from_whole(&read(0, Some(0)), meta(10), body)).is_empty());
        assert!(matches!(
            answer_from_whole(&read(0, None), meta(1000), body),
            ReadResult::TooLarge { .. }
        ));
        let mut changed = read(0, None);
        changed.if_match = Some("\"b\"".into());
        assert!(matches!(
            answer_from_whole(&changed, meta(10), body),
            ReadResult::Failed { .. }
        ));
    }
}
