//! The S3 origin (`serve --s3 s3://BUCKET [--s3-endpoint URL]`): the bucket CloudFront would
//! read, with the credentials of the usual AWS chain.

use aws_sdk_s3::error::DisplayErrorContext;
use resize_lambda::{s3, Read, ReadResult, Write};
use viewer_fn::purge::{Delete, List, Listing};

use crate::origin::{is_image_key, Listed};

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

    /// A 403 stays a 403: CloudFront hands S3's status on, and so does the local edge.
    pub async fn read(&self, read: &Read) -> ReadResult {
        s3::read(&self.client, &self.bucket, read).await
    }

    pub async fn put(&self, write: &Write) -> Result<Option<String>, String> {
        s3::put(&self.client, &self.bucket, write).await
    }

    pub async fn list_page(&self, list: &List) -> Result<Listing, String> {
        s3::list_page(&self.client, &self.bucket, list).await
    }

    pub async fn delete(&self, delete: &Delete) -> Result<Vec<(String, String)>, String> {
        s3::delete(&self.client, &self.bucket, delete).await
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
