//! The origin-side flow as a state machine the host drives:
//!
//! ```text
//! decide ──S3 200/304/5xx, other methods──────────────────────────────▶ Done(PassThrough)
//!   │ ──original key (not a variant): HEAD it with the role ─404──────▶ 404 missing
//!   │                                                       ─found────▶ 502 origin-access
//!   │                                                       ─else─────▶ PassThrough
//!   │ ──forged variant key (no storage traffic) ──────────────────────▶ 400 forged-key
//!   ▼ a variant the spec produces
//! read the stored variant ─found, fits──────────────────────────────▶ 200 stored (no second resize)
//!   │                     ─too big: fresh ▶ 302 to it · older ▶ 502 stored-unreadable
//!   ▼ missing
//! read the original's header (ranged, on until complete) ─missing─▶ 404 · over a limit─▶ 400/415
//!   ▼ header within the limits
//! read the rest (If-Match: the same upload) → transform ─refused─▶ 415/400 (nothing written)
//!   ▼
//! write the variant (under the prefix only; with the encryption the settings ask for) ─failed─▶ 502
//!   ▼
//! Done(200 inline | 302 to the stored variant when too big for the host's response limit)
//! ```
//!
//! Every failure answers through the error table ([`Failure`]); every answer to a HEAD is
//! body-less and `no-store` ([`Response::for_head`]). The flow never does I/O: each [`Step`]
//! tells the host what to read or write, and the host feeds the outcome back with
//! [`Flow::resume`]. Every path ends in [`Done`], which carries the answer and the request's one
//! structured log line.

use crate::log::Log;
use crate::response::{Answer, Failure, Lifetimes, Response};
use crate::storage::{Encryption, Meta, Read, ReadResult, Write};
use crate::Settings;
use viewer_fn::purge::{cache_tag, CACHE_TAG_HEADER, CACHE_TAG_METADATA};
use viewer_fn::Variant;

/// The host's clocks (wasm has no `Instant`): monotonic milliseconds for the log's timings,
/// Unix milliseconds to tell how old a stored object is.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub monotonic_ms: fn() -> f64,
    pub unix_ms: fn() -> f64,
}

/// The first ranged read of an original: enough for the header of nearly every photo (EXIF with a
/// thumbnail and an ICC profile included); a header that runs on is read in doubling steps.
pub const HEADER_READ_BYTES: u64 = 64 << 10;

/// A stored variant younger than this may just have been written by a concurrent request that
/// CloudFront has not seen yet: redirect to it. Older, and CloudFront was still refused it, so it
/// cannot read it at all: answer 502 instead of a redirect that would come straight back.
pub const STORED_GRACE_MS: f64 = 5_000.0;

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

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Read(ReadResult),
    /// The ETag storage gave the stored variant (S3's PutObject answer: not an MD5 with SSE-KMS,
    /// so it is taken, not computed), or `Err(cause)` when the PUT failed.
    Written(Result<Option<String>, String>),
}

/// Everything the flow needs after `decide`, computed up front (a pure geometry pass), so the
/// flow owns its data and outlives the host's borrow of [`Settings`].
#[derive(Debug, Clone)]
struct Plan {
    variant_key: String,
    source_key: String,
    location: String,
    transform: image_core::Transform,
    limits: image_core::Limits,
    vary_accept: bool,
    max_response_bytes: usize,
    /// Of every variant response and stored object.
    cache_control: String,
    /// What the variant's PUT asks for ([`Write::encryption`]).
    encryption: Option<Encryption>,
}

#[derive(Debug)]
enum State {
    /// HEAD of an original CloudFront was refused (not a variant).
    CheckingOriginal,
    ReadingStored,
    ReadingHeader {
        head: Vec<u8>,
    },
    ReadingRest {
        head: Vec<u8>,
        meta: Meta,
    },
    Writing {
        response: Response,
    },
    Done,
}

/// One request's run through the flow. Create it with [`Flow::start`].
#[derive(Debug)]
pub struct Flow {
    plan: Option<Plan>,
    /// The spec's error lifetimes (every failure answers through the table with them).
    ages: Lifetimes,
    head: bool,
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
        let t0 = (clock.monotonic_ms)();
        let mut flow = Flow {
            plan: None,
            ages: Lifetimes::of(&settings.spec),
            head: method == "HEAD",
            state: State::Done,
            log: Log::new(uri, origin_status, t0),
            clock,
            step_started: t0,
        };
        let step = match decide(settings, method, uri, origin_status) {
            Decision::PassThrough => flow.finish(Answer::PassThrough),
            Decision::CheckOriginal(key) => {
                flow.log.source = Some(key.clone());
                flow.state = State::CheckingOriginal;
                Step::Read(Read {
                    key,
                    start: 0,
                    len: Some(0),
                    max_bytes: u64::MAX,
                    if_match: None,
                })
            }
            Decision::Reject(message) => flow.failure(Failure::Forged, message),
            Decision::Generate(variant) => {
                let plan = plan(settings, &variant);
                flow.log.variant = Some(plan.variant_key.clone());
                flow.log.source = Some(plan.source_key.clone());
                // No second resize: a variant already in storage is answered as it is (a HEAD
                // needs its metadata only).
                let read = Read {
                    key: plan.variant_key.clone(),
                    start: 0,
                    len: flow.head.then_some(0),
                    max_bytes: inline_bytes(plan.max_response_bytes),
                    if_match: None,
                };
                flow.plan = Some(plan);
                flow.state = State::ReadingStored;
                flow.lap("decide");
                Step::Read(read)
            }
        };
        (flow, step)
    }

    /// Feeds the outcome of the step the host just executed and returns the next one.
    pub fn resume(&mut self, input: Input) -> Step {
        match (std::mem::replace(&mut self.state, State::Done), input) {
            (State::CheckingOriginal, Input::Read(result)) => self.after_check(result),
            (State::ReadingStored, Input::Read(result)) => {
                self.lap("stored");
                self.after_stored(result)
            }
            (State::ReadingHeader { head }, Input::Read(result)) => {
                self.lap("header");
                self.after_header(head, result)
            }
            (State::ReadingRest { head, meta }, Input::Read(result)) => {
                self.lap("read");
                self.after_rest(head, meta, result)
            }
            (State::Writing { response }, Input::Written(result)) => {
                self.lap("write");
                match result {
                    Ok(etag) => {
                        // The same validator the stored object answers with: a browser holding
                        // the generated response revalidates to a 304.
                        let mut response = response;
                        if let Some(etag) = etag {
                            response.set_header("etag", &etag);
                        }
                        self.answer(response)
                    }
                    Err(cause) => self.failure(Failure::WriteFailed, cause),
                }
            }
            (state, input) => {
                let cause = format!("host protocol error: {input:?} while in state {state:?}");
                self.failure(Failure::Internal, cause)
            }
        }
    }

    /// CloudFront was refused an original; the role, which may list the bucket, tells why.
    fn after_check(&mut self, result: ReadResult) -> Step {
        match result {
            ReadResult::Missing {
                status: 404,
                detail,
            } => self.failure(Failure::MissingOriginal, detail),
            ReadResult::Found { .. } | ReadResult::TooLarge { .. } => self.failure(
                Failure::OriginalUnreadable,
                "the role reads the original, CloudFront was refused it".into(),
            ),
            // Denied to the role too, or storage failing: S3's own answer stands.
            ReadResult::Missing { detail, .. } | ReadResult::Failed { cause: detail } => {
                self.log.error = Some(detail);
                self.finish(Answer::PassThrough)
            }
        }
    }

    fn after_stored(&mut self, result: ReadResult) -> Step {
        let plan = self.plan.clone().expect("a flow that reads has a plan");
        match result {
            ReadResult::Found { meta, body } => {
                self.log.bytes_out = Some(body.len() as u64);
                let planned = plan.transform.format.content_type();
                let content_type = meta.content_type.as_deref().unwrap_or(planned);
                let cache_control = meta.cache_control.as_deref().unwrap_or(&plan.cache_control);
                let response =
                    Response::stored(body, content_type, cache_control, plan.vary_accept);
                if response.wire_size() > plan.max_response_bytes {
                    return self.stored_too_big(&meta);
                }
                self.log.outcome = "stored";
                self.respond(response)
            }
            ReadResult::TooLarge { meta } => self.stored_too_big(&meta),
            ReadResult::Missing { status: 404, .. } => {
                self.state = State::ReadingHeader { head: Vec::new() };
                Step::Read(Read {
                    key: plan.source_key,
                    start: 0,
                    len: Some(HEADER_READ_BYTES),
                    max_bytes: plan.limits.max_input_bytes as u64,
                    if_match: None,
                })
            }
            // The role may list the bucket, so a 403 is a refusal: making the variant again
            // would only be refused (or repeated) next time too.
            ReadResult::Missing { detail, .. } => self.failure(Failure::RoleDenied, detail),
            ReadResult::Failed { cause } => self.failure(Failure::ReadFailed, cause),
        }
    }

    fn stored_too_big(&mut self, meta: &Meta) -> Step {
        let age_ms = meta
            .last_modified_ms
            .map(|t| (self.clock.unix_ms)() - t)
            .unwrap_or(0.0);
        if age_ms > STORED_GRACE_MS {
            let cause = format!(
                "the stored variant ({} bytes, {:.0} s old) is over the response limit and CloudFront was refused it",
                meta.size,
                age_ms / 1000.0
            );
            return self.failure(Failure::StoredUnreadable, cause);
        }
        self.redirect()
    }

    fn after_header(&mut self, mut head: Vec<u8>, result: ReadResult) -> Step {
        let plan = self.plan.clone().expect("a flow that reads has a plan");
        let (meta, body) = match result {
            ReadResult::Found { meta, body } => (meta, body),
            other => return self.original_unread(other),
        };
        head.extend_from_slice(&body);
        self.log.bytes_in = Some(meta.size);
        if head.len() as u64 >= meta.size {
            return self.transform(head, meta);
        }
        // Limits from the header alone, before the rest is read and any pixel decoded (I4).
        match image_core::probe_prefix(&head, meta.size, &plan.limits) {
            Err(e) => self.image_error(e),
            Ok(header) => {
                let len = match header {
                    image_core::Header::Complete(_) => None,
                    image_core::Header::NeedMore => Some(head.len() as u64),
                };
                let read = Read {
                    key: plan.source_key,
                    start: head.len() as u64,
                    len,
                    max_bytes: plan.limits.max_input_bytes as u64,
                    if_match: meta.etag.clone(),
                };
                self.state = match header {
                    image_core::Header::Complete(_) => State::ReadingRest { head, meta },
                    image_core::Header::NeedMore => State::ReadingHeader { head },
                };
                Step::Read(read)
            }
        }
    }

    fn after_rest(&mut self, mut head: Vec<u8>, meta: Meta, result: ReadResult) -> Step {
        match result {
            ReadResult::Found { body, .. } => {
                head.extend_from_slice(&body);
                if head.len() as u64 != meta.size {
                    let cause = format!(
                        "read {} bytes of an original of {} bytes",
                        head.len(),
                        meta.size
                    );
                    return self.failure(Failure::ReadFailed, cause);
                }
                self.transform(head, meta)
            }
            other => self.original_unread(other),
        }
    }

    /// Any read of the original that brought no bytes: the role may list the bucket, so 404 is
    /// missing and 403 a refusal; over the byte limit is the image core's too-large.
    fn original_unread(&mut self, result: ReadResult) -> Step {
        match result {
            ReadResult::Missing {
                status: 404,
                detail,
            } => self.failure(Failure::MissingOriginal, detail),
            ReadResult::Missing { detail, .. } => self.failure(Failure::RoleDenied, detail),
            ReadResult::TooLarge { meta } => {
                self.log.bytes_in = Some(meta.size);
                let plan = self.plan.as_ref().expect("a flow that reads has a plan");
                let e = plan
                    .limits
                    .check_size(meta.size)
                    .expect_err("over the limit");
                self.image_error(e)
            }
            ReadResult::Failed { cause } => self.failure(Failure::ReadFailed, cause),
            ReadResult::Found { .. } => {
                let cause = "host protocol error: bytes handed to the no-bytes path".to_string();
                self.failure(Failure::Internal, cause)
            }
        }
    }

    fn transform(&mut self, input: Vec<u8>, meta: Meta) -> Step {
        let plan = self
            .plan
            .clone()
            .expect("a flow that transforms has a plan");
        self.log.bytes_in = Some(input.len() as u64);
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
        let tag = cache_tag(&plan.source_key);
        let write = Write {
            key: plan.variant_key.clone(),
            body: output.data.clone(),
            content_type,
            cache_control: plan.cache_control.clone(),
            // The original's version (serve checks it) and the tag a purge invalidates.
            metadata: meta
                .etag
                .map(|e| ("source-etag", e))
                .into_iter()
                .chain([(CACHE_TAG_METADATA, tag.clone())])
                .collect(),
            encryption: plan.encryption.clone(),
        };
        let response = Response::stored(
            output.data,
            content_type,
            &plan.cache_control,
            plan.vary_accept,
        );
        self.state = State::Writing { response };
        Step::Write(write)
    }

    /// The variant is stored: answer inline if the host's response limit allows, else redirect.
    fn answer(&mut self, response: Response) -> Step {
        let plan = self.plan.as_ref().expect("a flow that writes has a plan");
        if response.wire_size() > plan.max_response_bytes {
            return self.redirect();
        }
        self.log.outcome = "generated";
        self.respond(response)
    }

    fn redirect(&mut self) -> Step {
        let plan = self
            .plan
            .as_ref()
            .expect("a flow that redirects has a plan");
        let location = plan.location.clone();
        self.log.outcome = "redirect";
        self.respond(Response::redirect(&location))
    }

    fn image_error(&mut self, e: image_core::Error) -> Step {
        self.failure(Failure::Image(e.kind), e.message)
    }

    /// A row of the error table: its response, and the kind and cause in the log (I6).
    fn failure(&mut self, failure: Failure, cause: String) -> Step {
        let response = failure.response(self.ages, Some(&cause));
        self.log.kind = Some(failure.kind());
        self.log.outcome = match failure {
            Failure::Forged => "rejected",
            f if f.status() >= 500 => "failed",
            _ => "client-error",
        };
        self.log.error = Some(cause);
        self.respond(response)
    }

    fn respond(&mut self, mut response: Response) -> Step {
        // Every answer for a variant carries its original's cache tag (CacheTagConfig reads the
        // header), so purging the original reaches what CloudFront keeps of it: the generated
        // image before it is stored, and a cached error (a corrupt photo since replaced).
        if let Some(plan) = &self.plan {
            response.set_header(CACHE_TAG_HEADER, &cache_tag(&plan.source_key));
        }
        let response = if self.head {
            response.for_head()
        } else {
            response
        };
        self.finish(Answer::Respond(response))
    }

    fn finish(&mut self, answer: Answer) -> Step {
        self.state = State::Done;
        let now = (self.clock.monotonic_ms)();
        self.log.finish(&answer, now);
        Step::Done(Done {
            answer,
            log: self.log.clone(),
        })
    }

    /// Times the step just done; a step repeated in a row (the header's reads) adds up.
    fn lap(&mut self, step: &'static str) {
        let now = (self.clock.monotonic_ms)();
        let ms = now - self.step_started;
        match self.log.ms.last_mut() {
            Some((last, total)) if *last == step => *total += ms,
            _ => self.log.ms.push((step, ms)),
        }
        self.step_started = now;
    }
}

/// Largest body that can still be answered inline under `max_response_bytes` (base64 at 4/3,
/// less room for the headers).
fn inline_bytes(max_response_bytes: usize) -> u64 {
    (max_response_bytes.saturating_sub(4096) / 4 * 3) as u64
}

#[derive(Debug)]
enum Decision {
    PassThrough,
    /// CloudFront was refused an original (not a variant key): find out whether it is missing.
    CheckOriginal(String),
    /// The URI is in the variant namespace but the spec cannot produce it.
    Reject(String),
    Generate(Variant),
}

/// The one rule for which origin answers the flow acts on; [`crate::ShimConfig`] bakes the same
/// rule into the Lambda@Edge shim, which decides before it loads the wasm.
pub fn acts_on(method: &str, origin_status: u16) -> bool {
    ACTS_ON_STATUSES.contains(&origin_status) && ACTS_ON_METHODS.contains(&method)
}

/// What S3 says for a key it does not have (403 to a caller that may not list the bucket).
pub const ACTS_ON_STATUSES: [u16; 2] = [403, 404];
/// The methods CloudFront caches and the flow answers.
pub const ACTS_ON_METHODS: [&str; 2] = ["GET", "HEAD"];

fn decide(settings: &Settings, method: &str, uri: &str, origin_status: u16) -> Decision {
    // S3's 200/304 (and its errors other than "not there") are the right answer already.
    if !acts_on(method, origin_status) {
        return Decision::PassThrough;
    }
    let namespace = format!("/{}/", settings.spec.prefix());
    if !uri.starts_with(&namespace) {
        return match crate::key_of(uri) {
            Some(key) if !key.is_empty() => Decision::CheckOriginal(key),
            _ => Decision::PassThrough,
        };
    }
    let variant = match Variant::parse(&settings.spec, uri) {
        Ok(v) => v,
        Err(e) => return Decision::Reject(e.to_string()),
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

fn plan(settings: &Settings, variant: &Variant) -> Plan {
    Plan {
        variant_key: variant.key(&settings.spec),
        source_key: variant.source_key.clone(),
        location: location(settings, variant),
        transform: crate::transform_for(variant),
        limits: settings.limits,
        vary_accept: settings.spec.negotiates_format(),
        max_response_bytes: settings.max_response_bytes,
        cache_control: viewer_fn::cdn::variant_cache_control(&settings.spec),
        encryption: settings.encryption.clone(),
    }
}

/// Where a too-large variant is fetched from: its own URI, signed with the origin's key when the
/// spec signs (without the key every signed request would be refused: the 403 says so).
fn location(settings: &Settings, variant: &viewer_fn::Variant) -> String {
    use viewer_fn::sign::{message, ORIGIN_SLOT};
    let uri = variant.uri(&settings.spec);
    let signature = settings
        .spec
        .signed()
        .then(|| {
            settings
                .signing
                .sign(ORIGIN_SLOT, &message(variant, variant.format.as_str()))
        })
        .flatten();
    match signature {
        Some(s) => format!(
            "{uri}?{}={s}",
            settings.spec.params().primary(viewer_fn::Role::Signature)
        ),
        None => uri,
    }
}
