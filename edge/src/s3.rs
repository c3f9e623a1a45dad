//! The S3 origin (`serve --s3 s3://BUCKET [--s3-endpoint URL]`): the bucket CloudFront would
//! read, with the credentials of the usual AWS chain.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use resize_lambda::Write;

use crate::origin::{is_image_key, Fetch, Listed, Stored};

pub struct S3Origin {
    client: aws_sdk_s3::Client,
    bucket: String,
    endpoint: Option<String>,
    /// The variant prefix: the listing for the preview page skips it.
    prefix: String,
}

impl S3Origin {
    pub async fn new(
        bucket: &str,
        endpoint: Option<&str>,
        prefix: &str,
    ) -> anyhow::Result<S3Origin> {
        let shared = aws_config::from_env().load().await;
        let mut conf = aws_sdk_s3::config::Builder::from(&shared);
        if shared.region().is_none() {
            conf = conf.region(aws_sdk_s3::config::Region::new("us-east-1"));
        }
        if let Some(endpoint) = endpoint {
            conf = conf.endpoint_url(endpoint).force_path_style(true);
        }
        let origin = S3Origin {
            client: aws_sdk_s3::Client::from_conf(conf.build()),
            bucket: bucket.to_string(),
            endpoint: endpoint.map(str::to_string),
            prefix: prefix.trim_matches('/').to_string(),
        };
        // Fail at start-up, with the SDK's reason, rather than on the first request.
        origin
            .client
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot reach bucket {bucket}: {}", DisplayErrorContext(&e))
            })?;
        Ok(origin)
    }

    pub fn describe(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("s3://{} at {e}", self.bucket),
            None => format!("s3://{}", self.bucket),
        }
    }

    pub async fn get(&self, key: &str, max_bytes: u64) -> Fetch {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => return get_error(key, e),
        };
        let size = object.content_length().unwrap_or(0).max(0) as u64;
        if size > max_bytes {
            return Fetch::TooLarge { size };
        }
        let content_type = object
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_string();
        let etag = object.e_tag().map(str::to_string);
        let cache_control = object.cache_control().map(str::to_string);
        let last_modified = object
            .last_modified()
            .and_then(|t| std::time::SystemTime::try_from(*t).ok());
        match object.body.collect().await {
            Ok(body) => {
                let body = body.into_bytes();
                if body.len() as u64 > max_bytes {
                    return Fetch::TooLarge {
                        size: body.len() as u64,
                    };
                }
                Fetch::Found(Stored {
                    body,
                    content_type,
                    etag,
                    last_modified,
                    cache_control,
                })
            }
            Err(e) => Fetch::Failed {
                cause: format!("S3 GetObject {key} body: {e}"),
            },
        }
    }

    pub async fn put(&self, write: &Write) -> Result<(), String> {
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
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

    pub async fn list(&self, max: usize) -> Result<Vec<Listed>, String> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .set_continuation_token(token)
                .max_keys(1000)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "S3 ListObjectsV2 {}: {}",
                        self.bucket,
                        DisplayErrorContext(&e)
                    )
                })?;
            for o in page.contents() {
                let Some(key) = o.key() else { continue };
                if key.starts_with(&format!("{}/", self.prefix)) || !is_image_key(key) {
                    continue;
                }
                out.push(Listed {
                    key: key.to_string(),
                    bytes: o.size().unwrap_or(0).max(0) as u64,
                });
                if out.len() >= max {
                    return Ok(out);
                }
            }
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}

fn get_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    key: &str,
    e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Fetch {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().unwrap_or("").to_string();
    match status {
        Some(404) => Fetch::Missing {
            status: 404,
            detail: format!("S3 404 {code}"),
        },
        // Without s3:ListBucket S3 says 403 for a missing key; CloudFront hands that 403 on.
        Some(403) => Fetch::Missing {
            status: 403,
            detail: format!("S3 403 {code}"),
        },
        _ => Fetch::Failed {
            cause: format!("S3 GetObject {key}: {}", DisplayErrorContext(&e)),
        },
    }
}
