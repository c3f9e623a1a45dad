//! S3 I/O for native hosts (feature `s3`): the regional Lambda and `serve --s3` read originals and
//! write variants the same way, so a 403/404 means the same thing in both.
use crate::Write;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use std::time::SystemTime;

pub use aws_sdk_s3::Client;

#[derive(Debug, Clone)]
pub struct Object {
    pub body: bytes::Bytes,
    pub content_type: String,
    pub etag: Option<String>,
    pub last_modified: Option<SystemTime>,
    pub cache_control: Option<String>,
}

#[derive(Debug)]
pub enum Get {
    Found(Object),
    /// 404, or 403: without `s3:ListBucket` S3 says 403 for a missing key. `code` is S3's error code.
    Missing {
        status: u16,
        code: String,
    },
    TooLarge {
        size: u64,
    },
    Failed {
        cause: String,
    },
}

/// GetObject, refusing bodies over `max_bytes` (from `Content-Length` before reading, and again after).
pub async fn get(client: &Client, bucket: &str, key: &str, max_bytes: u64) -> Get {
    let object = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) => return get_error(key, e),
    };
    let size = object.content_length().unwrap_or(0).max(0) as u64;
    if size > max_bytes {
        return Get::TooLarge { size };
    }
    let content_type = object
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_string();
    let etag = object.e_tag().map(str::to_string);
    let cache_control = object.cache_control().map(str::to_string);
    let last_modified = object
        .last_modified()
        .and_then(|t| SystemTime::try_from(*t).ok());
    match object.body.collect().await {
        Ok(body) => {
            let body = body.into_bytes();
            if body.len() as u64 > max_bytes {
                return Get::TooLarge {
                    size: body.len() as u64,
                };
            }
            Get::Found(Object {
                body,
                content_type,
                etag,
                last_modified,
                cache_control,
            })
        }
        Err(e) => Get::Failed {
            cause: format!("S3 GetObject {key} body: {e}"),
        },
    }
}

/// PutObject of a variant the flow asked for, with its headers and metadata.
pub async fn put(client: &Client, bucket: &str, write: &Write) -> Result<(), String> {
    let mut put = client
        .put_object()
        .bucket(bucket)
        .key(&write.key)
        .content_type(write.content_type)
        .cache_control(write.cache_control);
    for (name, value) in &write.metadata {
        put = put.metadata(*name, value);
    }
    put.body(ByteStream::from(write.body.clone()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("S3 PutObject {}: {}", write.key, DisplayErrorContext(&e)))
}

fn get_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    key: &str,
    e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Get {
    match e.raw_response().map(|r| r.status().as_u16()) {
        Some(status @ (403 | 404)) => Get::Missing {
            status,
            code: e.code().unwrap_or("").to_string(),
        },
        _ => Get::Failed {
            cause: format!("S3 GetObject {key}: {}", DisplayErrorContext(&e)),
        },
    }
}
