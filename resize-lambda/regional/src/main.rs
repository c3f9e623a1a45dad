//! `bootstrap` for provided.al2023, two handlers chosen by the function's `Handler` setting
//! (`_HANDLER`, see [`regional::Handler`]): `resize` (also `bootstrap` or none) — the regional
//! origin-side Lambda behind a function URL — and `purge`, on S3's EventBridge events.
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use regional::Handler;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let handler = Handler::from_env()?;
    let config = regional::load_config()?;
    match handler {
        Handler::Resize => {
            let app = Arc::new(regional::App::from_config(&config).await?);
            lambda_runtime::run(service_fn(
                move |event: LambdaEvent<LambdaFunctionUrlRequest>| {
                    let app = app.clone();
                    async move { Ok::<_, Error>(app.handle(&event.payload).await) }
                },
            ))
            .await
        }
        Handler::Purge => {
            let purger = Arc::new(regional::purge::Purger::from_config(&config).await?);
            lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
                let purger = purger.clone();
                async move {
                    let outcome = purger
                        .handle(&event.payload, event.context.deadline())
                        .await;
                    println!("{}", outcome.to_json_line());
                    // An error goes back to the runtime, so Lambda retries the event (twice,
                    // for EventBridge's asynchronous invocation) and counts it in Errors.
                    if outcome.failed() {
                        return Err(Error::from(outcome.errors.join("; ")));
                    }
                    Ok(serde_json::to_value(&outcome)?)
                }
            }))
            .await
        }
    }
}
