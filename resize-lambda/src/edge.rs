//! Lambda@Edge glue (pure): origin-response event → flow, flow answer → CloudFront result.

use crate::event::{self, BodyEncoding, OriginResponseEvent, READ_ONLY_HEADERS};
use crate::flow::{Clock, Flow, Step};
use crate::response::{reason, Answer, Body};
use crate::Settings;
use base64::Engine;

/// Starts the flow for an origin-response event. Errs only on an event that is not one.
pub fn start(
    settings: &Settings,
    event: &OriginResponseEvent,
    clock: Clock,
) -> Result<(Flow, Step), String> {
    let cf = event
        .cf()
        .ok_or("the event has no Records[0].cf: not a CloudFront event")?;
    if cf.config.event_type != "origin-response" {
        return Err(format!(
            "this function handles origin-response events, not {:?}: check the cache behaviour's association",
            cf.config.event_type
        ));
    }
    let status = cf
        .response
        .status_code()
        .ok_or_else(|| format!("origin status {:?} is not a number", cf.response.status))?;
    Ok(Flow::start(
        settings,
        &cf.request.method,
        &cf.request.uri,
        status,
        clock,
    ))
}

/// The function's result: the origin's response untouched, or the flow's own response. CloudFront
/// answers 502 when a result drops a read-only header the origin sent, so those are carried over.
pub fn result(origin: &event::Response, answer: &Answer) -> event::Response {
    let response = match answer {
        Answer::PassThrough => return origin.clone(),
        Answer::Respond(r) => r,
    };
    let mut headers: event::Headers = response
        .headers
        .iter()
        .map(|(name, value)| event::header(name, value.clone()))
        .collect();
    for name in READ_ONLY_HEADERS {
        if let Some(values) = origin.headers.get(name) {
            headers.insert(name.to_string(), values.clone());
        }
    }
    let (body, body_encoding) = match &response.body {
        Body::Empty => (None, None),
        Body::Text(text) => (Some(text.clone()), Some(BodyEncoding::Text)),
        Body::Image(bytes) => (
            Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            Some(BodyEncoding::Base64),
        ),
    };
    event::Response {
        status: response.status.to_string(),
        status_description: Some(reason(response.status).to_string()),
        headers,
        body,
        body_encoding,
        extra: Default::default(),
    }
}
