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

/// Ask the host to store the variant (a PUT; the key is always under the variant prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// [`viewer_fn::cdn::variant_cache_control`].
    pub cache_control: String,
    /// User metadata (S3 `x-amz-meta-*`): `source-etag`.
    pub metadata: Vec<(&'static str, String)>,
    /// The server-side encryption the PUT asks for ([`Encryption::headers`]); `None`: no header,
    /// the bucket's default encryption applies. Every host that PUTs to S3 sends it; a folder
    /// has nothing to encrypt with.
    pub encryption: Option<Encryption>,
}

/// The server-side encryption the origin asks for when it PUTs a variant: `config.json`'s
/// `putEncryption` (`{"algorithm": "AES256"}` or `{"algorithm": "aws:kms", "kmsKeyId": ARN,
/// "bucketKey": true|false}`), `serve --sse`. Absent, the PUT carries no encryption header.
///
/// Why it exists: a bucket policy may deny `s3:PutObject` unless the request names an
/// encryption (`"Null": {"s3:x-amz-server-side-encryption": "true"}`), a given one
/// (`StringNotEquals` `aws:kms`), or a given key
/// (`s3:x-amz-server-side-encryption-aws-kms-key-id`); then every plain PUT is refused and every
/// variant a 502 `write-failed`.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html>,
/// <https://docs.amazonaws.cn/en_us/organizations/latest/userguide/orgs_manage_policies_scps_examples_s3.html>,
/// <https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-server-side-encryption-enabled.html>
///
/// `aws:kms` needs the key: "If you specify `aws:kms` … but do not provide
/// `x-amz-server-side-encryption-aws-kms-key-id`, Amazon S3 uses the AWS managed key (`aws/s3`)"
/// (PutObject, `SSEKMSKeyId`:
/// <https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/s3/aws.sdk.kotlin.services.s3.model/-put-object-request/ssekms-key-id.html>),
/// not the bucket's default key, and an AWS managed key's policy cannot be changed
/// (<https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying.html>), so it
/// can never allow CloudFront's origin access to decrypt: every stored variant would be
/// unreadable to CloudFront. So the key is required, as its ARN (what a policy's condition and
/// another account's key need).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "EncryptionFields", into = "EncryptionFields")]
pub struct Encryption {
    algorithm: SseAlgorithm,
    kms_key_id: Option<String>,
    bucket_key: Option<bool>,
}

/// `x-amz-server-side-encryption`'s values scalefront asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SseAlgorithm {
    /// SSE-S3.
    #[serde(rename = "AES256")]
    Aes256,
    /// SSE-KMS.
    #[serde(rename = "aws:kms")]
    AwsKms,
}

impl SseAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            SseAlgorithm::Aes256 => "AES256",
            SseAlgorithm::AwsKms => "aws:kms",
        }
    }

    /// `AES256` or `aws:kms`, as the header (and `get-bucket-encryption`'s `SSEAlgorithm`) spell it.
    pub fn parse(s: &str) -> Result<SseAlgorithm, String> {
        match s {
            "AES256" => Ok(SseAlgorithm::Aes256),
            "aws:kms" => Ok(SseAlgorithm::AwsKms),
            other => Err(format!(
                "encryption {other:?}: scalefront asks for AES256 (SSE-S3) or aws:kms (SSE-KMS)"
            )),
        }
    }
}

/// [`Encryption`] as `config.json` spells it, checked on the way in.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EncryptionFields {
    algorithm: SseAlgorithm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bucket_key: Option<bool>,
}

impl TryFrom<EncryptionFields> for Encryption {
    type Error = String;
    fn try_from(f: EncryptionFields) -> Result<Encryption, String> {
        Encryption::new(f.algorithm, f.kms_key_id, f.bucket_key)
    }
}

impl From<Encryption> for EncryptionFields {
    fn from(e: Encryption) -> EncryptionFields {
        EncryptionFields {
            algorithm: e.algorithm,
            kms_key_id: e.kms_key_id,
            bucket_key: e.bucket_key,
        }
    }
}

impl Encryption {
    /// SSE-S3: `x-amz-server-side-encryption: AES256`.
    pub fn aes256() -> Encryption {
        Encryption {
            algorithm: SseAlgorithm::Aes256,
            kms_key_id: None,
            bucket_key: None,
        }
    }

    /// SSE-KMS with the key `kms_key_id` (its ARN); `bucket_key`: ask for an S3 Bucket Key or
    /// not (`None`: the bucket's own setting applies).
    pub fn new(
        algorithm: SseAlgorithm,
        kms_key_id: Option<String>,
        bucket_key: Option<bool>,
    ) -> Result<Encryption, String> {
        match (algorithm, &kms_key_id) {
            (SseAlgorithm::Aes256, Some(_)) => {
                return Err("kmsKeyId is for aws:kms, not AES256".into())
            }
            (SseAlgorithm::Aes256, None) if bucket_key.is_some() => {
                return Err("bucketKey is for aws:kms, not AES256".into())
            }
            (SseAlgorithm::AwsKms, None) => {
                return Err("aws:kms needs the KMS key's ARN (kmsKeyId; serve --sse-kms-key-id): without it S3 encrypts with the AWS managed key aws/s3, whose key policy can never let CloudFront decrypt the variants".into())
            }
            (SseAlgorithm::AwsKms, Some(arn)) => check_key_arn(arn)?,
            (SseAlgorithm::Aes256, None) => {}
        }
        Ok(Encryption {
            algorithm,
            kms_key_id,
            bucket_key,
        })
    }

    pub fn algorithm(&self) -> SseAlgorithm {
        self.algorithm
    }

    pub fn kms_key_id(&self) -> Option<&str> {
        self.kms_key_id.as_deref()
    }

    pub fn bucket_key(&self) -> Option<bool> {
        self.bucket_key
    }

    /// The PUT's request headers (S3 API Reference, PutObject): each is an `x-amz-*` header,
    /// so a SigV4 request signs it with the rest
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![(
            "x-amz-server-side-encryption",
            self.algorithm.as_str().to_string(),
        )];
        if let Some(k) = &self.kms_key_id {
            h.push(("x-amz-server-side-encryption-aws-kms-key-id", k.clone()));
        }
        if let Some(b) = self.bucket_key {
            h.push((
                "x-amz-server-side-encryption-bucket-key-enabled",
                b.to_string(),
            ));
        }
        h
    }

    /// The same request as the AWS SDKs' PutObject input members (`ServerSideEncryption`,
    /// `SSEKMSKeyId`, `BucketKeyEnabled`), for the Node shim's `PutObjectCommand`, which signs
    /// the headers they become.
    pub fn sdk_input(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert(
            "ServerSideEncryption".into(),
            self.algorithm.as_str().into(),
        );
        if let Some(k) = &self.kms_key_id {
            m.insert("SSEKMSKeyId".into(), k.as_str().into());
        }
        if let Some(b) = self.bucket_key {
            m.insert("BucketKeyEnabled".into(), b.into());
        }
        m
    }
}

/// A KMS key's ARN (`arn:aws:kms:eu-west-1:111122223333:key/1234abcd-…`): what a bucket
/// policy's key condition names, a key in another account needs, and the role's IAM policy
/// grants `kms:GenerateDataKey` on (an alias is resolved first: `aws kms describe-key`).
fn check_key_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "kms"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].len() > 4
        && parts[5].starts_with("key/")
        && arn.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "kmsKeyId {arn:?} is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID; resolve an alias or a bare key id with aws kms describe-key)"
        ))
    }
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

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn encryption_becomes_the_put_headers_and_the_sdk_input_alike() {
        let kms = Encryption::new(SseAlgorithm::AwsKms, Some(KEY.into()), Some(true)).unwrap();
        assert_eq!(
            kms.headers(),
            vec![
                ("x-amz-server-side-encryption", "aws:kms".to_string()),
                (
                    "x-amz-server-side-encryption-aws-kms-key-id",
                    KEY.to_string()
                ),
                (
                    "x-amz-server-side-encryption-bucket-key-enabled",
                    "true".to_string()
                ),
            ]
        );
        assert_eq!(
            serde_json::Value::Object(kms.sdk_input()),
            serde_json::json!({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KEY, "BucketKeyEnabled": true})
        );
        let s3 = Encryption::aes256();
        assert_eq!(
            s3.headers(),
            vec![("x-amz-server-side-encryption", "AES256".to_string())]
        );
        assert_eq!(
            serde_json::Value::Object(s3.sdk_input()),
            serde_json::json!({"ServerSideEncryption": "AES256"})
        );
        // The bucket's own Bucket Key setting applies when none is asked for.
        let plain = Encryption::new(SseAlgorithm::AwsKms, Some(KEY.into()), None).unwrap();
        assert_eq!(plain.headers().len(), 2);
        assert_eq!(plain.sdk_input().len(), 2);
    }

    #[test]
    fn encryption_reads_and_writes_as_config_json_spells_it() {
        let read = |json: &str| serde_json::from_str::<Encryption>(json);
        let kms = read(&format!(
            r#"{{"algorithm": "aws:kms", "kmsKeyId": "{KEY}", "bucketKey": false}}"#
        ))
        .unwrap();
        assert_eq!(kms.algorithm(), SseAlgorithm::AwsKms);
        assert_eq!(kms.kms_key_id(), Some(KEY));
        assert_eq!(kms.bucket_key(), Some(false));
        assert_eq!(
            serde_json::to_string(&kms).unwrap(),
            format!(r#"{{"algorithm":"aws:kms","kmsKeyId":"{KEY}","bucketKey":false}}"#)
        );
        assert_eq!(
            read(r#"{"algorithm": "AES256"}"#).unwrap(),
            Encryption::aes256()
        );
        assert_eq!(
            serde_json::to_string(&Encryption::aes256()).unwrap(),
            r#"{"algorithm":"AES256"}"#
        );
        let refused = |json: &str| read(json).unwrap_err().to_string();
        assert!(refused(r#"{"algorithm": "aws:kms"}"#).contains("aws/s3"));
        assert!(refused(r#"{"algorithm": "aws:kms:dsse"}"#).contains("unknown variant"));
        assert!(refused(r#"{"algorithm": "none"}"#).contains("unknown variant"));
        assert!(refused(&format!(
            r#"{{"algorithm": "AES256", "kmsKeyId": "{KEY}"}}"#
        ))
        .contains("kmsKeyId is for aws:kms"));
        assert!(refused(r#"{"algorithm": "AES256", "bucketKey": true}"#).contains("bucketKey"));
        assert!(refused(r#"{"algorithm": "AES256", "kmsKeyID": "x"}"#).contains("unknown field"));
        for bad in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/photos",
            "arn:aws:kms:eu-west-1:111122223333:alias/photos",
            "arn:aws:kms:eu-west-1:1111:key/1234",
            "arn:aws:s3:eu-west-1:111122223333:key/1234",
            "arn:aws:kms:eu-west-1:111122223333:key/",
            "arn:aws:kms:eu-west-1:111122223333:key/12 34",
        ] {
            let e = Encryption::new(SseAlgorithm::AwsKms, Some(bad.into()), None).unwrap_err();
            assert!(e.contains("not a KMS key ARN"), "{bad}: {e}");
        }
        assert!(Encryption::new(
            SseAlgorithm::AwsKms,
            Some("arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd".into()),
            None
        )
        .is_ok());
        assert_eq!(SseAlgorithm::parse("AES256"), Ok(SseAlgorithm::Aes256));
        assert!(SseAlgorithm::parse("aes256")
            .unwrap_err()
            .contains("AES256"));
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
