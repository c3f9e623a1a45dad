//! S3 I/O for native hosts (feature `s3`): the regional Lambda and `serve --s3` read originals and
//! write variants the same way, so a 403/404 means the same thing in both.
use crate::storage::{Meta, Read, ReadResult, Write};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use std::time::SystemTime;
use viewer_fn::purge::{Delete, List, Listing};

pub use aws_sdk_s3::Client;

/// The flow's read: `HeadObject` for metadata, else `GetObject` with its `Range` and `If-Match`;
/// an object over `max_bytes` is refused from its size before the body is read.
pub async fn read(client: &Client, bucket: &str, read: &Read) -> ReadResult {
    let key = read.key.as_str();
    if read.is_head() {
        return match client.head_object().bucket(bucket).key(key).send().await {
            Ok(o) => {
                let meta = Meta {
                    size: o.content_length().unwrap_or(0).max(0) as u64,
                    etag: o.e_tag().map(str::to_string),
                    content_type: o.content_type().map(str::to_string),
                    cache_control: o.cache_control().map(str::to_string),
                    last_modified_ms: o.last_modified().and_then(unix_ms),
                    metadata: user_metadata(o.metadata()),
                };
                ReadResult::Found {
                    meta,
                    body: Vec::new(),
                }
            }
            Err(e) => read_error("HeadObject", key, e),
        };
    }
    let object = match client
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_range(read.range_header())
        .set_if_match(read.if_match.clone())
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => return read_error("GetObject", key, e),
    };
    let length = object.content_length().unwrap_or(0).max(0) as u64;
    // A ranged answer names the whole size after the slash: `bytes 0-65535/4161230`.
    let size = object
        .content_range()
        .and_then(|r| r.rsplit_once('/'))
        .and_then(|(_, total)| total.parse().ok())
        .unwrap_or(length);
    let meta = Meta {
        size,
        etag: object.e_tag().map(str::to_string),
        content_type: object.content_type().map(str::to_string),
        cache_control: object.cache_control().map(str::to_string),
        last_modified_ms: object.last_modified().and_then(unix_ms),
        metadata: user_metadata(object.metadata()),
    };
    if size > read.max_bytes {
        return ReadResult::TooLarge { meta };
    }
    // Capped as it streams: a body without Content-Length is bounded all the same.
    let mut stream = object.body;
    let mut body = Vec::with_capacity(length.min(read.max_bytes) as usize);
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) if (body.len() + bytes.len()) as u64 > read.max_bytes => {
                let meta = Meta {
                    size: read.max_bytes + 1,
                    ..meta
                };
                return ReadResult::TooLarge { meta };
            }
            Ok(bytes) => body.extend_from_slice(&bytes),
            Err(e) => {
                return ReadResult::Failed {
                    cause: format!("S3 GetObject {key} body: {e}"),
                }
            }
        }
    }
    ReadResult::Found { meta, body }
}

fn user_metadata(m: Option<&std::collections::HashMap<String, String>>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = m
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    v.sort();
    v
}

fn unix_ms(t: &aws_sdk_s3::primitives::DateTime) -> Option<f64> {
    SystemTime::try_from(*t).ok().and_then(crate::unix_ms)
}

/// PutObject of a variant the flow asked for, with its headers, metadata and encryption (the SDK
/// turns these into [`crate::Encryption::headers`] and signs them with the rest).
pub async fn put(client: &Client, bucket: &str, write: &Write) -> Result<Option<String>, String> {
    let mut put = client
        .put_object()
        .bucket(bucket)
        .key(&write.key)
        .content_type(write.content_type)
        .cache_control(&write.cache_control);
    for (name, value) in &write.metadata {
        put = put.metadata(*name, value);
    }
    if let Some(e) = &write.encryption {
        put = put
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::from(
                e.algorithm().as_str(),
            ))
            .set_ssekms_key_id(e.kms_key_id().map(str::to_string))
            .set_bucket_key_enabled(e.bucket_key());
    }
    put.body(ByteStream::from(write.body.clone()))
        .send()
        .await
        .map(|out| out.e_tag().map(str::to_string))
        .map_err(|e| format!("S3 PutObject {}: {}", write.key, DisplayErrorContext(&e)))
}

/// One page of `ListObjectsV2`, `/` as the delimiter when the purge asks for it.
pub async fn list_page(client: &Client, bucket: &str, list: &List) -> Result<Listing, String> {
    let page = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&list.prefix)
        .set_delimiter(list.delimiter.then(|| "/".to_string()))
        .set_continuation_token(list.token.clone())
        .send()
        .await
        .map_err(|e| {
            format!(
                "S3 ListObjectsV2 {}: {}",
                list.prefix,
                DisplayErrorContext(&e)
            )
        })?;
    Ok(Listing {
        keys: page
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .map(str::to_string)
            .collect(),
        folders: page
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .map(str::to_string)
            .collect(),
        next: page.next_continuation_token().map(str::to_string),
    })
}

/// `DeleteObject` per key: S3 answers 204 for a key already gone, so a retry is harmless.
pub async fn delete(
    client: &Client,
    bucket: &str,
    delete: &Delete,
) -> Result<Vec<(String, String)>, String> {
    let mut failed = Vec::new();
    for key in &delete.keys {
        if let Err(e) = client.delete_object().bucket(bucket).key(key).send().await {
            failed.push((key.clone(), DisplayErrorContext(&e).to_string()));
        }
    }
    Ok(failed)
}

fn read_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    call: &str,
    key: &str,
    e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> ReadResult {
    match e.raw_response().map(|r| r.status().as_u16()) {
        // The role may list the bucket (both templates grant it), so a 403 is a refusal.
        Some(403) => ReadResult::Missing {
            status: 403,
            detail: format!(
                "S3 {call} {key}: 403 {}: the role was refused (its policy, a KMS key, a deny)",
                e.code().unwrap_or("")
            ),
        },
        Some(404) => ReadResult::Missing {
            status: 404,
            detail: format!("S3 404 {}", e.code().unwrap_or("NoSuchKey")),
        },
        // An empty object has no byte 0 to start a range at.
        Some(416) => ReadResult::Found {
            meta: Meta::default(),
            body: Vec::new(),
        },
        _ => ReadResult::Failed {
            cause: format!("S3 {call} {key}: {}", DisplayErrorContext(&e)),
        },
    }
}
