//! Regional mode: CloudFront's origin group fails over to this Lambda's function URL when S3 says
//! 403/404, and it runs the same flow as Lambda@Edge natively, with S3 I/O through aws-sdk-s3.
//! Its response limit is a function URL's 6 MB (redirect above).
//!
//! This is also the reference for driving [`resize_lambda::Flow`] from an async host: a loop
//! that executes each step and feeds its outcome back ([`App::run`]).
//!
//! The same binary is also the automatic purge ([`purge`]): which handler runs is the function's
//! `Handler` setting ([`Handler`]).

pub mod cloudfront;
pub mod purge;

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use aws_lambda_events::http::{HeaderName, HeaderValue};
use base64::Engine;
use resize_lambda::s3;
use resize_lambda::{
    Answer, Body, Done, Flow, Input, PackageConfig, Response, Settings, Step, Write, NATIVE_CLOCK,
    REGIONAL_MAX_RESPONSE_BYTES,
};
use std::path::{Path, PathBuf};

/// The flow's settings plus the bucket it reads and writes.
pub struct App {
    pub settings: Settings,
    pub bucket: String,
    pub s3: aws_sdk_s3::Client,
}

impl App {
    /// An S3 client from the standard credential chain (the function's role in Lambda) and the
    /// package's baked region and optional endpoint.
    pub async fn from_config(config: &PackageConfig) -> anyhow::Result<App> {
        let settings = config
            .settings(REGIONAL_MAX_RESPONSE_BYTES)
            .map_err(anyhow::Error::msg)?;
        let shared = sdk_config(config).await;
        Ok(App {
            settings,
            bucket: config.bucket.clone(),
            s3: s3_client(&shared, config),
        })
    }

    /// One function URL invocation: log line to stdout, response to the caller.
    pub async fn handle(&self, request: &LambdaFunctionUrlRequest) -> LambdaFunctionUrlResponse {
        let method = request
            .request_context
            .http
            .method
            .as_deref()
            .unwrap_or("GET");
        let path = request.raw_path.as_deref().unwrap_or("/");
        let done = self
            .run(method, &canonical_uri(&self.settings.spec, path))
            .await;
        println!("{}", done.log.to_json_line());
        function_url_response(done.answer)
    }

    /// The flow for one request. CloudFront only fails over here when S3 said 403/404, hence 404.
    pub async fn run(&self, method: &str, uri: &str) -> Done {
        let (mut flow, mut step) = Flow::start(&self.settings, method, uri, 404, NATIVE_CLOCK);
        loop {
            step = match step {
                Step::Read(read) => {
                    flow.resume(Input::Read(s3::read(&self.s3, &self.bucket, &read).await))
                }
                Step::Write(write) => flow.resume(Input::Written(self.put(write).await)),
                Step::Done(done) => return done,
            };
        }
    }

    async fn put(&self, write: Write) -> Result<Option<String>, String> {
        s3::put(&self.s3, &self.bucket, &write).await
    }
}

/// The standard credential chain (the function's role in Lambda) in the package's region.
pub async fn sdk_config(config: &PackageConfig) -> aws_config::SdkConfig {
    aws_config::from_env()
        .region(aws_config::Region::new(config.region.clone()))
        .load()
        .await
}

/// The bucket's S3 client, at the package's endpoint when it names one (tests).
pub fn s3_client(shared: &aws_config::SdkConfig, config: &PackageConfig) -> aws_sdk_s3::Client {
    let mut s3 = aws_sdk_s3::config::Builder::from(shared);
    if let Some(endpoint) = &config.s3_endpoint {
        s3 = s3.endpoint_url(endpoint).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(s3.build())
}

/// Which handler the `bootstrap` runs: the function's `Handler` setting, which a custom runtime
/// reads from the `_HANDLER` environment variable ("_HANDLER – The location to the handler,
/// from the function's configuration": Lambda Developer Guide, "Building a custom runtime for
/// AWS Lambda", https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// The function URL's origin-side flow (the regional resize).
    Resize,
    /// The automatic purge, on S3's EventBridge events ([`purge`]).
    Purge,
}

impl Handler {
    pub const ENV: &'static str = "_HANDLER";

    /// `resize` or `purge`; `bootstrap` (what functions deployed before the purge name) and no
    /// setting at all are the resize, as before.
    pub fn from_setting(setting: Option<&str>) -> Result<Handler, String> {
        match setting.map(str::trim) {
            None | Some("" | "bootstrap" | "resize") => Ok(Handler::Resize),
            Some("purge") => Ok(Handler::Purge),
            Some(other) => Err(format!(
                "unknown handler {other:?} ({}, the function's Handler setting): resize or purge",
                Handler::ENV
            )),
        }
    }

    /// From this process's environment.
    pub fn from_env() -> Result<Handler, String> {
        Handler::from_setting(std::env::var(Handler::ENV).ok().as_deref())
    }
}

/// The function URL's `rawPath` as the URI CloudFront had: a variant path that only parses in its
/// decoded form (should the URL service hand it over decoded) is re-encoded canonically; anything
/// else is left for the flow to judge.
pub fn canonical_uri(spec: &viewer_fn::Spec, raw_path: &str) -> String {
    if viewer_fn::Variant::parse(spec, raw_path).is_err() {
        if let Ok(v) = viewer_fn::Variant::parse(spec, raw_path.trim_start_matches('/')) {
            return v.uri(spec);
        }
    }
    raw_path.to_string()
}

/// The flow's answer as a function URL response. A pass-through here means S3's own 403 for an
/// original the role may not read either (the flow answered a missing one with the error table's
/// 404): CloudFront failed over, so there is no S3 response to hand on; say 403 as S3 did.
pub fn function_url_response(answer: Answer) -> LambdaFunctionUrlResponse {
    let response = match answer {
        Answer::Respond(r) => r,
        Answer::PassThrough => Response {
            status: 403,
            headers: vec![("content-type", "text/plain; charset=utf-8".into())],
            body: Body::Text("403 Forbidden: access denied\n".into()),
        },
    };
    let mut out = LambdaFunctionUrlResponse::default();
    out.status_code = i64::from(response.status);
    for (name, value) in &response.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            out.headers.insert(HeaderName::from_static(name), value);
        }
    }
    match response.body {
        Body::Empty => {}
        Body::Text(text) => out.body = Some(text),
        Body::Image(bytes) => {
            out.body = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
            out.is_base64_encoded = true;
        }
    }
    out
}

/// `config.json` beside the binary (`$LAMBDA_TASK_ROOT`), or the file `$SCALEFRONT_CONFIG` names.
pub fn load_config() -> anyhow::Result<PackageConfig> {
    let path = match std::env::var_os("SCALEFRONT_CONFIG") {
        Some(p) => PathBuf::from(p),
        None => Path::new(&std::env::var("LAMBDA_TASK_ROOT").unwrap_or_else(|_| ".".into()))
            .join("config.json"),
    };
    let src = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "reading {}: {e} (the package bakes config.json next to bootstrap)",
            path.display()
        )
    })?;
    PackageConfig::from_json(&src).map_err(anyhow::Error::msg)
}
