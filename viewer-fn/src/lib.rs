//! The rule spec, the native viewer-request rewrite, the variant key, and the CloudFront Function
//! generator. Pure (no I/O but [`Spec::load`]), builds for `wasm32-unknown-unknown`.
//!
//! ```text
//! scalefront.toml ──Spec::from_toml──▶ Spec ──generate──▶ viewer-request.js (CloudFront, QuickJS)
//!                                        └──rewrite────▶ the same decisions, natively
//!                                        └──Variant::parse── origin-side check of every key (I2)
//! ```
//!
//! # The rules (in the order they apply; the JS and the Rust apply them identically)
//!
//! Limits first — every size an attacker controls is bounded (I4):
//! 1. `uri` longer than 4096 UTF-16 units → **414**. `uri` not starting with `/` → 400.
//! 2. More than 64 query values (each repeat of a name counts) → 400.
//!
//! The path, for every request:
//! 3. The path is %-decoded **once**, strictly: a `%` not followed by two hex digits, or bytes that
//!    are not UTF-8 (overlong forms, surrogates), → 400. `%2F` decodes to `/` and `%2e%2e` to `..`:
//!    the rules see the key S3 will see, so no spelling reaches another key.
//! 4. A control character (U+0000–U+001F, U+007F) in the decoded path → 400.
//! 5. A `.` or `..` segment → 400, for every request (no hop may resolve it into another key,
//!    such as one under the variant prefix).
//! 6. The variant namespace (first decoded segment = `prefix`): the request passes **unchanged** if
//!    its URI is exactly the canonical URI of a variant the spec produces ([`Variant::parse`]);
//!    anything else there → 400. Its query string is ignored.
//! 7. No transform parameter (width, height, box, quality, format, preset — `fit` and `dpr` alone
//!    only modify) → the request is for the original: its URI becomes the canonical encoding (rule 15)
//!    of the decoded path, query and headers untouched (`originals = "deny"`: 403 instead, so only
//!    variants are public). `/%70hotos/a.jpg` and `/photos/a.jpg`
//!    name one S3 key, so they share one cache entry and one origin trip.
//!
//! A transform:
//! 8. The source key: an empty segment (`//`, a trailing `/`) → 400; longer than 900 UTF-8 bytes
//!    → 414; its extension (after the last `.` of the last segment, ASCII case-insensitive) must
//!    be in `[extensions]`, which also gives the source's own format; anything else (`.pdf`, no
//!    extension) → 400 "not an image" — a page asking to resize a PDF has a bug worth seeing.
//! 9. Query names are matched in ASCII lower case against `[params]` (`W=` is `w=`); unknown names
//!    are dropped. Values are at most 32 units, %-decoded once, ASCII lower-cased, then parsed
//!    strictly: sizes `1`-`99999` (leading zeros allowed), `d=N` (an N×N box) or `d=WxH`,
//!    quality `1`-`100`, format `auto|jpeg|jpg|png|webp|avif`, fit as sharp, dpr `D`, `D.d` or
//!    `D.dd` in `1..=max_dpr`. An empty or malformed value → 400 naming the parameter.
//! 10. **Repeated parameters** (`w=600&w=600`, `w=600&width=600`, `d=600x400&w=600`): every value
//!    given for one role must be equal after parsing, else 400 "conflicting values". One rule, no
//!    dependence on order (CloudFront's object order is not the URL's order).
//! 11. Size: `ceil(size × dpr)` in integer hundredths, then snapped: `snap = "up"` takes the next
//!    allowed size (the largest above them all), `snap = "reject"` answers 400 unless it is one.
//!    A side not given is 0 (free); a height alone snaps in `heights` (empty by default: 400).
//!    Both sides (or `d=`): the request's shape must be within 1 % of one of `ratios` (else 400
//!    "…is not an allowed shape; use a preset"); the width snaps, the height is the width × the
//!    shape, rounded half up; a fit other than the default → 400 "fit X needs a preset".
//!    A preset (`p=NAME`, an unknown name → 400) is the whole transform: with it any of d, w, h,
//!    q, fit, dpr → 400 "preset X takes no …", and f only if the preset fixes no format.
//!    `presets_only = true`: any other transform → 400 "only presets are enabled".
//! 12. Quality (default `quality`) snaps up to the next allowed quality (the largest above them all).
//! 13. Format: an explicit format must be in `formats` (else 400). `f=auto` or none: the `auto`
//!    format with the highest q-value in `Accept` (ties in spec order); only explicit types count
//!    (`*/*` and `image/*` do not: browsers send them without decoding AVIF); `;q=0` refuses a
//!    type; a type listed twice takes its lowest q; a malformed q-value counts as 0; several
//!    `Accept` headers are joined with `,`; an `Accept` longer than 4096 units is ignored. No
//!    acceptable `auto` format → the source's own format (by extension). AVIF only when the
//!    output's longest known side is at most `avif_max_side` (no size given: never).
//! 14. Canonical form (I1): the fit is the default when a side is free (it cannot change the
//!    output); lossless PNG gets the default quality. One output ⇔ one key.
//! 15. The URI becomes `/` + the canonical %-encoding ([`encode_key`]: UTF-8 bytes outside
//!    `A-Z a-z 0-9 - _ . ! ~ * ' ( ) /` as upper-case `%XX`) of the variant key; the query
//!    string is cleared; headers are left as they are.
//! 16. `signed = true` ([`sign`]): a variant request (a transform, or a canonical variant URI)
//!    must carry `s=` (one value, any alias agreeing): malformed → 400, missing or not made with
//!    a key of the KeyValueStore → 403, checked last, after every rule above.
//!
//! Unicode is not normalised: S3 keys are byte strings, so NFC and NFD spellings are two
//! originals, each with its own variants. Spaces arrive as `%20` (or raw, in hand-made events)
//! and leave as `%20`; `+` in a path is a plus. Errors are `text/plain`, `Cache-Control: no-store`,
//! and never echo request text.
//!
//! # API
//! As agreed in the team's interfaces, with these additions and precisions:
//! - [`resolve`] gives the decision as an [`Outcome`] (`Original`, `Canonical`, `Transform`,
//!   `Reject`); [`rewrite`] turns it into the function's return value, [`ViewerResult`]
//!   (`Request(`[`Request`]`)` or `Response(`[`Response`]`)`, serialised exactly as the JS returns it).
//! - [`ViewerRequestEvent::from_http`] builds the event CloudFront would for `path?query` + headers.
//! - [`Variant::parse`] takes a key or a URI; a URI may use any %-spelling of a canonical key (the
//!   viewer function alone insists on the canonical spelling). [`KeyError`] wraps a reason string.
//! - `Fit`/`Format` `FromStr` take the canonical lower-case names only (`jpeg`, not the URL alias
//!   `jpg`); `Err = ()`.
//! - [`Spec`] is valid by construction (private fields, accessors for every setting); its serde
//!   `Deserialize` re-validates; [`Spec::from_toml`] also refuses a spec whose generated function
//!   would exceed CloudFront's 10 KB. [`encode_key`]/[`decode_path`] are the URI rules.

pub mod budget;
pub mod cdn;
mod event;
mod generate;
mod key;
pub mod purge;
mod rewrite;
pub mod sign;
mod spec;

pub use event::{Body, Field, Request, Response, Value1, ViewerRequestEvent, ViewerResult};
pub use generate::{as_script, generate, LOCAL_MODULES, MAX_FUNCTION_BYTES};
pub use key::{
    decode_path, encode_key, fnv1a64, is_generation, variants_of, KeyError, StoredKey, Variant,
    GENERATION, MAX_SOURCE_KEY_BYTES,
};
pub use rewrite::{
    resolve, resolve_for_signing, rewrite, rewrite_with, signing_message, Outcome, MAX_ACCEPT_LEN,
    MAX_QUERY_VALUES, MAX_URI_LEN, MAX_VALUE_LEN,
};
pub use spec::{
    Fit, Format, Originals, Params, Preset, Ratio, Role, Snap, Spec, SpecError, MAX_DIMENSION,
    MAX_DPR, MAX_PREFIX_LEN,
};
