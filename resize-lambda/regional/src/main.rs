//! `bootstrap` for provided.al2023: the regional origin-side Lambda behind a function URL.
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = regional::load_config()?;
    let app = Arc::new(regional::App::from_config(&config).await?);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<LambdaFunctionUrlRequest>| {
            let app = app.clone();
            async move { Ok::<_, Error>(app.handle(&event.payload).await) }
        },
    ))
    .await
}
