//! The synchronous driver: a host that can read and write its origin in blocking calls (a folder,
//! a blocking S3 client, a test double over a `HashMap`) implements [`Origin`] and calls [`run`].

use crate::flow::{Clock, Done, Flow, Input, Step};
use crate::storage::{Read, ReadResult, Write};
use crate::Settings;

/// Where originals are read and variants written.
pub trait Origin {
    /// Reads what `read` asks for ([`crate::storage::answer_from_whole`] does it for whole objects).
    fn read(&mut self, read: &Read) -> ReadResult;
    /// Stores the variant: the ETag storage gave it, or `Err(cause)`. `write.key` is always
    /// under the variant prefix.
    fn put(&mut self, write: &Write) -> Result<Option<String>, String>;
}

/// Runs the whole flow for one request against `origin`. `origin_status` is the origin's status
/// for `uri` (a host that calls this only after the origin failed passes 404).
///
/// ```text
/// let done = resize_lambda::run(&settings, "GET", "/_sf/a.jpg/g1a2b3c4/w600-h0-cover-q75.webp", 404,
///                               &mut folder, resize_lambda::NATIVE_CLOCK);
/// println!("{}", done.log.to_json_line());
/// match done.answer { Answer::PassThrough => serve_origin_response(), Answer::Respond(r) => send(r) }
/// ```
pub fn run<O: Origin + ?Sized>(
    settings: &Settings,
    method: &str,
    uri: &str,
    origin_status: u16,
    origin: &mut O,
    clock: Clock,
) -> Done {
    let (mut flow, mut step) = Flow::start(settings, method, uri, origin_status, clock);
    loop {
        step = match step {
            Step::Read(read) => flow.resume(Input::Read(origin.read(&read))),
            Step::Write(write) => flow.resume(Input::Written(origin.put(&write))),
            Step::Done(done) => return done,
        };
    }
}
