//! The origin-side flow as a state machine the host drives:
//!
//! ```text
//! decide ──pass──────────────────────────────────────────────▶ Done(PassThrough)
//!   │ ──forged variant key (no S3 traffic) ─────────────────▶ Done(400)
//!   ▼ generate
//! Step::Read(original) ─missing─▶ 404 · too large─▶ 413 · S3 failure─▶ 502
//!   ▼ Input::Read(Found)
//! limits → transform ─unsupported/corrupt/over a limit─▶ 415/422/413 (nothing written)
//!   ▼
//! Step::Write(variant, under the prefix only) ─S3 failure─▶ 502
//!   ▼ Input::Written(Ok)
//! Done(200 inline | 302 to the stored variant when too big for the host's response limit)
//! ```
//!
//! The flow never does I/O: each [`Step`] tells the host what to read or write, and the host
//! feeds the outcome back with [`Flow::resume`]. Every path ends in [`Done`], which carries
//! the answer and the request's one structured log line.

use crate::log::Log;
use crate::response::{Answer, Response, IMMUTABLE};
use crate::Settings;
use viewer_fn::Variant;

/// Milliseconds on a monotonic clock; each host brings its own (wasm has no `Instant`).
pub type Clock = fn() -> f64;

/// Ask the host to read the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The original's S3 key (decoded, no leading slash).
    pub key: String,
    /// Refuse to read more than this: answer [`ReadResult::TooLarge`] (from `Content-Length`)
    /// instead, so an oversized original never sits in memory.
    pub max_bytes: u64,
}

/// What the host found when it read the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadResult {
    Found {
        body: Vec<u8>,
        etag: Option<String>,
    },
    /// 404, or 403 (S3 says 403 for a missing key when the caller may not list the bucket).
    /// `detail` says which, for the log.
    Missing {
        detail: String,
    },
    TooLarge {
        size: u64,
    },
    /// Network, throttling, 5xx, permissions: the cause goes to the log.
    Failed {
        cause: String,
    },
}

/// Ask the host to store the variant (a plain PUT; the key is always under the variant prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub cache_control: &'static str,
    /// User metadata (S3 `x-amz-meta-*`): `source-etag`.
    pub metadata: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub answer: Answer,
    pub log: Log,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Read(Read),
    Write(Write),
    Done(Done),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Read(ReadResult),
    /// `Err(cause)` when the PUT failed.
    Written(Result<(), String>),
}

/// Everything the flow needs after `decide`, computed up front (a pure geometry pass), so the
/// flow owns its data and outlives the host's borrow of [`Settings`].
#[derive(Debug, Clone)]
struct Plan {
    variant_key: String,
    location: String,
    transform: image_core::Transform,
    limits: image_core::Limits,
    vary_accept: bool,
    max_response_bytes: usize,
    head: bool,
}

#[derive(Debug)]
enum State {
    Reading,
    Writing { response: Response },
    Done,
}

/// One request's run through the flow. Create it with [`Flow::start`].
#[derive(Debug)]
pub struct Flow {
    plan: Option<Plan>,
    state: State,
    log: Log,
    clock: Clock,
    /// When the step the host is executing was handed out.
    step_started: f64,
}

impl Flow {
    /// Decides what to do about the origin's answer for `uri` (percent-encoded, as CloudFront
    /// has it) and returns the first step. `origin_status` is S3's status for that key; a host
    /// that only runs when the origin failed (regional mode) passes 404.
    pub fn start(
        settings: &Settings,
        method: &str,
        uri: &str,
        origin_status: u16,
        clock: Clock,
    ) -> (Flow, Step) {
        let t0 = clock();
        let mut flow = Flow {
            plan: None,
            state: State::Done,
            log: Log::new(uri, origin_status, t0),
            clock,
            step_started: t0,
        };
        let step = match decide(settings, method, uri, origin_status) {
            Decision::PassThrough => flow.finish(Answer::PassThrough),
            Decision::Reject(message) => {
                flow.log.error = Some(message.clone());
                flow.finish(Answer::Respond(Response::error(400, &message)))
            }
            Decision::Generate(variant) => {
                let plan = plan(settings, &variant, method == "HEAD");
                flow.log.variant = Some(plan.variant_key.clone());
                flow.log.source = Some(variant.source_key.clone());
                let read = Read {
                    key: variant.source_key,
                    max_bytes: plan.limits.max_input_bytes as u64,
                };
                flow.plan = Some(plan);
                flow.state = State::Reading;
                flow.lap("decide");
                Step::Read(read)
            }
        };
        (flow, step)
    }

    /// Feeds the outcome of the step the host just executed and returns the next one.
    pub fn resume(&mut self, input: Input) -> Step {
        match (std::mem::replace(&mut self.state, State::Done), input) {
            (State::Reading, Input::Read(result)) => {
                self.lap("read");
                self.after_read(result)
            }
            (State::Writing { response }, Input::Written(result)) => {
                self.lap("write");
                match result {
                    Ok(()) => self.answer(response),
                    Err(cause) => self.fail(502, "could not store the variant", cause),
                }
            }
            (state, input) => {
                let cause = format!("host protocol error: {input:?} while in state {state:?}");
                self.fail(500, "internal error", cause)
            }
        }
    }

    fn after_read(&mut self, result: ReadResult) -> Step {
        let plan = self.plan.clone().expect("a flow that reads has a plan");
        let (input, etag) = match result {
            ReadResult::Found { body, etag } => (body, etag),
            ReadResult::Missing { detail } => {
                self.log.error = Some(detail);
                return self.respond(Response::error(404, "the original image does not exist"));
            }
            ReadResult::TooLarge { size } => {
                let message = format!(
                    "the original is {size} bytes, over the {} byte limit",
                    plan.limits.max_input_bytes
                );
                self.log.bytes_in = Some(size);
                self.log.error = Some(message.clone());
                return self.respond(Response::error(413, &message));
            }
            ReadResult::Failed { cause } => {
                return self.fail(502, "could not read the original", cause)
            }
        };
        self.log.bytes_in = Some(input.len() as u64);

        // Limits from the header alone, before any pixel is decoded (I4).
        let checked = image_core::probe(&input, &plan.limits);
        self.lap("limits");
        if let Err(e) = checked {
            return self.image_error(e);
        }
        let output = image_core::process(&input, &plan.transform, &plan.limits);
        drop(input);
        self.lap("transform");
        let output = match output {
            Ok(output) => output,
            Err(e) => return self.image_error(e),
        };
        self.log.bytes_out = Some(output.data.len() as u64);
        self.log.width = Some(output.width);
        self.log.height = Some(output.height);

        let content_type = output.format.content_type();
        let write = Write {
            key: plan.variant_key.clone(),
            body: output.data.clone(),
            content_type,
            cache_control: IMMUTABLE,
            metadata: etag.map(|e| ("source-etag", e)).into_iter().collect(),
        };
        let response = Response::image(output.data, content_type, plan.vary_accept);
        self.state = State::Writing { response };
        Step::Write(write)
    }

    /// The variant is stored: answer inline if the host's response limit allows, else redirect.
    fn answer(&mut self, mut response: Response) -> Step {
        let plan = self.plan.as_ref().expect("a flow that writes has a plan");
        if response.wire_size() > plan.max_response_bytes {
            self.log.outcome = "redirect";
            let location = plan.location.clone();
            return self.respond(Response::redirect(&location));
        }
        if plan.head {
            response.body = crate::response::Body::Empty;
        }
        self.log.outcome = "generated";
        self.respond(response)
    }

    fn image_error(&mut self, e: image_core::Error) -> Step {
        let status = e.status();
        if status >= 500 {
            return self.fail(status, "could not process the image", e.message);
        }
        self.log.error = Some(e.message.clone());
        self.respond(Response::error(status, &e.message))
    }

    /// A server-side failure: the public body says what failed, the log says why.
    fn fail(&mut self, status: u16, public: &str, cause: String) -> Step {
        self.log.error = Some(cause);
        self.respond(Response::error(status, public))
    }

    fn respond(&mut self, response: Response) -> Step {
        self.finish(Answer::Respond(response))
    }

    fn finish(&mut self, answer: Answer) -> Step {
        self.state = State::Done;
        let now = (self.clock)();
        self.log.finish(&answer, now);
        Step::Done(Done {
            answer,
            log: self.log.clone(),
        })
    }

    fn lap(&mut self, step: &'static str) {
        let now = (self.clock)();
        self.log.ms.push((step, now - self.step_started));
        self.step_started = now;
    }
}

#[derive(Debug)]
enum Decision {
    PassThrough,
    /// The URI is in the variant namespace but the spec cannot produce it.
    Reject(String),
    Generate(Variant),
}

fn decide(settings: &Settings, method: &str, uri: &str, origin_status: u16) -> Decision {
    // S3's 200/304 (and its errors other than "not there") are the right answer already.
    if !matches!(origin_status, 403 | 404) || !matches!(method, "GET" | "HEAD") {
        return Decision::PassThrough;
    }
    let namespace = format!("/{}/", settings.spec.prefix());
    if !uri.starts_with(&namespace) {
        // A missing original: S3's own 403/404 stands.
        return Decision::PassThrough;
    }
    let variant = match Variant::parse(&settings.spec, uri) {
        Ok(v) => v,
        Err(e) => return Decision::Reject(format!("not a variant this site produces: {e}")),
    };
    // I3: never write outside the prefix, never derive a variant from a variant.
    let key = variant.key(&settings.spec);
    let prefix = &namespace[1..];
    if !key.starts_with(prefix) || variant.source_key.starts_with(prefix) {
        return Decision::Reject(format!(
            "a variant's source may not live under the variant prefix {prefix:?}"
        ));
    }
    Decision::Generate(variant)
}

fn plan(settings: &Settings, variant: &Variant, head: bool) -> Plan {
    Plan {
        variant_key: variant.key(&settings.spec),
        location: variant.uri(&settings.spec),
        transform: crate::transform_for(variant),
        limits: settings.limits,
        vary_accept: settings.spec.negotiates_format(),
        max_response_bytes: settings.max_response_bytes,
        head,
    }
}
