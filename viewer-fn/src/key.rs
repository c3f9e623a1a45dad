//! The canonical variant key, and the path rules shared by the rewrite and the key parser.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::spec::{Fit, Format, Spec};

/// Longest source key, in UTF-8 bytes. S3 keys stop at 1024 bytes; a variant key adds at most
/// 32 (prefix) + 31 (`/w8192/h8192/outside/q100/avif/`) bytes, so 900 leaves room with margin.
pub const MAX_SOURCE_KEY_BYTES: usize = 900;

/// One canonical variant. Key layout (S3 key, no leading slash):
///
/// ```text
/// {prefix}/w{W}/h{H}/{fit}/q{Q}/{format}/{source key}
/// _sf/w640/h0/inside/q75/webp/photos/Further.jpg
/// ```
///
/// `W` or `H` = 0: that side is not constrained. Canonical means: the fit is the spec's default
/// when a side is free (it cannot change the output then), the quality is the spec's default for
/// lossless formats, numbers have no leading zeros, the source key is not itself under the prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Variant {
    pub width: u32,
    pub height: u32,
    pub fit: Fit,
    pub quality: u8,
    pub format: Format,
    /// The original's S3 key, decoded (`photos/My Photo.jpg`).
    pub source_key: String,
}

/// Why a key or URI is not a variant this spec produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

fn bad<T>(why: impl Into<String>) -> Result<T, KeyError> {
    Err(KeyError(why.into()))
}

impl Variant {
    /// The S3 key, without a leading slash.
    pub fn key(&self, spec: &Spec) -> String {
        format!(
            "{}/w{}/h{}/{}/q{}/{}/{}",
            spec.prefix(),
            self.width,
            self.height,
            self.fit,
            self.quality,
            self.format,
            self.source_key
        )
    }

    /// The URI the viewer function writes: a leading slash and [`encode_key`] of the key.
    pub fn uri(&self, spec: &Spec) -> String {
        format!("/{}", encode_key(&self.key(spec)))
    }

    /// Parses an S3 key (no leading slash, decoded) or a URI (leading slash, %-encoded).
    /// `Err` unless the key is canonical and the spec can produce it (invariant I2).
    ///
    /// A URI may use any %-spelling of the key: every spelling names the same S3 object, and the
    /// origin side must not depend on how a hop re-encodes. The viewer function is stricter: it
    /// passes only the canonical spelling ([`Variant::uri`]), so the cache holds one copy.
    pub fn parse(spec: &Spec, key_or_uri: &str) -> Result<Variant, KeyError> {
        let key = match key_or_uri.strip_prefix('/') {
            Some(raw) => decode_path(raw).ok_or_else(|| KeyError("malformed %-escape".into()))?,
            None => key_or_uri.to_string(),
        };
        if let Some(why) = path_refusal(&key) {
            return bad(why);
        }
        parse_segments(spec, &key)
    }
}

fn parse_segments(spec: &Spec, key: &str) -> Result<Variant, KeyError> {
    let mut it = key.splitn(7, '/');
    let mut next = || it.next().unwrap_or("");
    let (p, w, h, fit, q, format) = (next(), next(), next(), next(), next(), next());
    let source_key = next().to_string();
    if p != spec.prefix() {
        return bad(format!("not under the variant prefix {}/", spec.prefix()));
    }
    let width = dimension(w, 'w', spec.widths())
        .ok_or_else(|| KeyError(format!("{w:?} is not w0 or an allowed width")))?;
    let height = dimension(h, 'h', spec.heights())
        .ok_or_else(|| KeyError(format!("{h:?} is not h0 or an allowed height")))?;
    let fit: Fit = fit
        .parse()
        .map_err(|_| KeyError(format!("{fit:?} is not a fit")))?;
    let quality = q
        .strip_prefix('q')
        .filter(|d| canonical_number(d, 3) && !d.starts_with('0'))
        .and_then(|d| d.parse::<u8>().ok())
        .filter(|q| spec.qualities().contains(q))
        .ok_or_else(|| KeyError(format!("{q:?} is not an allowed quality")))?;
    let format: Format = format
        .parse()
        .ok()
        .filter(|f| spec.formats().contains(f))
        .ok_or_else(|| KeyError(format!("{format:?} is not an enabled format")))?;
    if (width == 0 || height == 0) && fit != spec.default_fit() {
        return bad(format!(
            "a variant with a free side has fit {}",
            spec.default_fit()
        ));
    }
    if format.ignores_quality() && quality != spec.default_quality() {
        return bad(format!(
            "a {format} variant has quality {}",
            spec.default_quality()
        ));
    }
    if source_key.split('/').next() == Some(spec.prefix()) {
        return bad("the source is itself under the variant prefix");
    }
    check_source(spec, &source_key).map_err(|(_, why)| KeyError(why))?;
    Ok(Variant {
        width,
        height,
        fit,
        quality,
        format,
        source_key,
    })
}

/// `w0` or `w{N}` with N allowed, no leading zeros.
fn dimension(s: &str, tag: char, allowed: &[u32]) -> Option<u32> {
    let digits = s.strip_prefix(tag)?;
    if !canonical_number(digits, 5) {
        return None;
    }
    let v: u32 = digits.parse().ok()?;
    (v == 0 || allowed.contains(&v)).then_some(v)
}

/// 1..=max ASCII digits without a leading zero (except "0" itself).
fn canonical_number(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'))
}

/// Refusals that apply to every request's decoded path: a control character, or a `.`/`..`
/// segment (which some hop could resolve into another key, e.g. into the variant namespace).
pub(crate) fn path_refusal(key: &str) -> Option<&'static str> {
    if key.chars().any(|c| c < ' ' || c == '\u{7f}') {
        return Some("control character in the path");
    }
    if key.split('/').any(|s| s == "." || s == "..") {
        return Some("dot segment in the path");
    }
    None
}

/// A source key that may be transformed: its format, or the (status, reason) it is refused with.
pub(crate) fn check_source(spec: &Spec, key: &str) -> Result<Format, (u16, String)> {
    if key.split('/').any(|s| s.is_empty()) {
        return Err((400, "empty path segment".into()));
    }
    if key.len() > MAX_SOURCE_KEY_BYTES {
        return Err((414, format!("key longer than {MAX_SOURCE_KEY_BYTES} bytes")));
    }
    spec.source_format(key)
        .ok_or_else(|| (400, not_an_image(spec)))
}

pub(crate) fn not_an_image(spec: &Spec) -> String {
    let exts: Vec<String> = spec.extensions().keys().map(|e| format!(".{e}")).collect();
    format!("not an image; transformable: {}", exts.join(" "))
}

/// Bytes that stay raw in a canonical URI: exactly those JavaScript's `encodeURIComponent`
/// leaves alone, plus `/` (so the generated function can use it unchanged).
fn is_raw(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()/".contains(&b)
}

/// The canonical %-encoding of a key: UTF-8 bytes outside `A-Z a-z 0-9 - _ . ! ~ * ' ( ) /`
/// become `%XX` with upper-case hex. Browsers send these URIs back unchanged.
pub fn encode_key(key: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(key.len());
    for &b in key.as_bytes() {
        if is_raw(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

/// Decodes every `%XX` (either case); `None` if a `%` does not start two hex digits or the bytes
/// are not UTF-8 — the same strings JavaScript's `decodeURIComponent` refuses.
pub fn decode_path(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let hi = b.get(i + 1).and_then(|&c| hex(c))?;
            let lo = b.get(i + 2).and_then(|&c| hex(c))?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(w: u32, h: u32, fit: Fit, q: u8, format: Format, key: &str) -> Variant {
        Variant {
            width: w,
            height: h,
            fit,
            quality: q,
            format,
            source_key: key.into(),
        }
    }

    #[test]
    fn key_layout_and_uri() {
        let s = Spec::default();
        let x = v(
            640,
            0,
            Fit::Inside,
            75,
            Format::Webp,
            "photos/My Photo é.jpg",
        );
        assert_eq!(
            x.key(&s),
            "_sf/w640/h0/inside/q75/webp/photos/My Photo é.jpg"
        );
        assert_eq!(
            x.uri(&s),
            "/_sf/w640/h0/inside/q75/webp/photos/My%20Photo%20%C3%A9.jpg"
        );
        assert_eq!(Variant::parse(&s, &x.key(&s)), Ok(x.clone()));
        assert_eq!(Variant::parse(&s, &x.uri(&s)), Ok(x));
    }

    #[test]
    fn parse_refuses_what_the_spec_cannot_produce_or_is_not_canonical() {
        let s = Spec::default();
        for bad in [
            "_sf/w9999/h0/inside/q75/webp/a.jpg",     // width not allowed
            "_sf/w0640/h0/inside/q75/webp/a.jpg",     // leading zero
            "_sf/w640/h0/cover/q75/webp/a.jpg",       // fit on a free side
            "_sf/w640/h640/crop/q75/webp/a.jpg",      // not a fit
            "_sf/w640/h0/inside/q80/webp/a.jpg",      // quality not allowed
            "_sf/w640/h0/inside/q075/webp/a.jpg",     // leading zero
            "_sf/w640/h0/inside/q90/png/a.png",       // png with non-default quality
            "_sf/w640/h0/inside/q75/gif/a.jpg",       // not a format
            "_sf/w640/h0/inside/q75/jpg/a.jpg",       // alias, not the canonical name
            "_sf/w640/h0/inside/q75/webp/a.pdf",      // not an image
            "_sf/w640/h0/inside/q75/webp/a//b.jpg",   // empty segment
            "_sf/w640/h0/inside/q75/webp/../a.jpg",   // dot segment
            "_sf/w640/h0/inside/q75/webp/a\u{0}.jpg", // control character
            "_sf/w640/h0/inside/q75/webp/_sf/x.jpg",  // variant of a variant
            "_sf/w640/h0/inside/q75/webp",            // no source
            "other/w640/h0/inside/q75/webp/a.jpg",    // not under the prefix
            "/_sf/w640/h0/inside/q75/webp/%e9.jpg",   // malformed UTF-8
        ] {
            assert!(Variant::parse(&s, bad).is_err(), "{bad} parsed");
        }
        let long = format!(
            "_sf/w640/h0/inside/q75/webp/{}.jpg",
            "k".repeat(MAX_SOURCE_KEY_BYTES)
        );
        assert!(Variant::parse(&s, &long).is_err());
        assert!(Variant::parse(&s, "_sf/w0/h0/inside/q50/avif/a.jpg").is_ok());
        // Any %-spelling of a canonical key names the same object: the origin side accepts it.
        for spelling in [
            "/_sf/w640/h0/inside/q75/webp/a b.jpg",
            "/_sf/w640/h0/inside/q75/webp/a%20b.jpg",
            "/%5Fsf/w640/h0/inside/q75/webp/a%20b.jpg",
        ] {
            assert_eq!(Variant::parse(&s, spelling).unwrap().source_key, "a b.jpg");
        }
    }

    #[test]
    fn encoding_matches_encode_uri_component_plus_slash() {
        assert_eq!(
            encode_key("a-_.!~*'()/b c+%é"),
            "a-_.!~*'()/b%20c%2B%25%C3%A9"
        );
        assert_eq!(encode_key("😀"), "%F0%9F%98%80");
    }

    #[test]
    fn decoding_is_strict_like_decode_uri_component() {
        assert_eq!(decode_path("a%20b%2Fc%c3%a9").as_deref(), Some("a b/cé"));
        for bad in ["%", "%2", "%zz", "%C3", "%C0%AF", "%ED%A0%80", "%FF"] {
            assert_eq!(decode_path(bad), None, "{bad}");
        }
        // Decoded once: %2541 is "%41", not "A".
        assert_eq!(decode_path("%2541").as_deref(), Some("%41"));
    }
}
