//! The canonical variant key, and the path rules shared by the rewrite and the key parser.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::spec::{Fit, Format, Spec};

/// Longest source key, in UTF-8 bytes. S3 keys stop at 1024 bytes; a variant key adds at most
/// 32 (prefix) + 1 + 9 (`/g1234567`) + 30 (`/w8192-h8192-outside-q100.avif`) bytes, so 900 leaves
/// room with margin.
pub const MAX_SOURCE_KEY_BYTES: usize = 900;

/// image-core's recipe: its codec versions and a digest of what its fixture corpus encodes to
/// (written by image-core's corpus test, `SCALEFRONT_BLESS=1`). Everything that shapes a
/// variant's bytes besides its key is in there, so it names the generation.
const IMAGE_CORE_RECIPE: &str = include_str!("../../wasm/recipe.txt");

/// The generation segment of every variant key: `g` + 7 hex digits of the recipe's FNV-1a.
/// A new encoder, decoder or calibration writes new keys instead of serving old bytes under
/// unchanged ones (the stored old generation is removed by `scalefront purge
/// --all-generations-but-current`). Computed at compile time: the same in every host.
pub const GENERATION: &str = match std::str::from_utf8(&generation_bytes(IMAGE_CORE_RECIPE)) {
    Ok(g) => g,
    Err(_) => panic!("hex is ASCII"),
};

/// FNV-1a, 64 bits: the project's one non-cryptographic fingerprint (the generation, cache tags,
/// invalidation caller references). `const`, so the generation is computed at compile time.
pub const fn fnv1a64(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    let mut i = 0;
    while i < b.len() {
        h = (h ^ b[i] as u64).wrapping_mul(0x100000001b3);
        i += 1;
    }
    h
}

const fn generation_bytes(recipe: &str) -> [u8; 8] {
    let h = fnv1a64(recipe.as_bytes());
    let mut out = [b'g'; 8];
    let mut j = 1;
    while j < 8 {
        out[j] = b"0123456789abcdef"[((h >> (64 - 4 * j)) & 15) as usize];
        j += 1;
    }
    out
}

/// `g` + 7 lower-case hex digits: the shape of a generation segment (any generation, for purges).
pub fn is_generation(s: &str) -> bool {
    s.len() == 8
        && s.starts_with('g')
        && s.bytes()
            .skip(1)
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// One canonical variant. Key layout (S3 key, no leading slash): the source first, so all the
/// variants of one original share the prefix `{prefix}/{source key}/` (listed with the `/`
/// delimiter, so `x.jpg/` does not take in the variants of `x.jpg/y.jpg`); then the generation;
/// then the transform, as a file name with the output's extension.
///
/// ```text
/// {prefix}/{source key}/{generation}/w{W}-h{H}-{fit}-q{Q}.{format}
/// _sf/photos/Further.jpg/g1a2b3c4/w640-h0-inside-q75.webp
/// ```
///
/// `W` or `H` = 0: that side is not constrained. Canonical means: the fit is the spec's default
/// when a side is free (it cannot change the output then), the quality is the spec's default for
/// lossless formats, numbers have no leading zeros, the generation is the current one, the source
/// key is not itself under the prefix. Parsing splits from the end, so a source key may hold any
/// segment (`x.jpg/g1234567/w1-h0-inside-q75.webp` is a source like any other).
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

/// The folder of one original's variants, every generation: `{prefix}/{source key}/`.
pub fn variants_of(spec: &Spec, source_key: &str) -> String {
    format!("{}/{}/", spec.prefix(), source_key)
}

/// A stored key split by the layout alone, whatever its generation (no check against the spec
/// beyond the prefix): what a purge needs to tell whose variant an object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey<'a> {
    pub source_key: &'a str,
    pub generation: &'a str,
    /// `w640-h0-inside-q75.webp`
    pub name: &'a str,
}

impl<'a> StoredKey<'a> {
    /// `None` unless `key` is `{prefix}/{source}/{generation}/{name}` with a generation-shaped
    /// segment and a name of the variant shape.
    pub fn split(spec: &Spec, key: &'a str) -> Option<StoredKey<'a>> {
        StoredKey::split_under(spec.prefix(), key)
    }

    /// The same, for a host that knows the prefix but not the spec (a folder origin).
    pub fn split_under(prefix: &str, key: &'a str) -> Option<StoredKey<'a>> {
        let rest = key.strip_prefix(prefix)?.strip_prefix('/')?;
        let mut it = rest.rsplitn(3, '/');
        let (name, generation, source_key) = (it.next()?, it.next()?, it.next()?);
        (is_generation(generation) && !source_key.is_empty() && name_fields(name).is_some())
            .then_some(StoredKey {
                source_key,
                generation,
                name,
            })
    }
}

/// `w640-h0-inside-q75.webp` → ("w640", "h0", "inside", "q75", "webp").
fn name_fields(name: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let (stem, format) = name.rsplit_once('.')?;
    let mut it = stem.split('-');
    let fields = (it.next()?, it.next()?, it.next()?, it.next()?, format);
    it.next().is_none().then_some(fields)
}

impl Variant {
    /// The S3 key, without a leading slash.
    pub fn key(&self, spec: &Spec) -> String {
        format!(
            "{}{}/w{}-h{}-{}-q{}.{}",
            variants_of(spec, &self.source_key),
            spec.generation(),
            self.width,
            self.height,
            self.fit,
            self.quality,
            self.format,
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
    let Some(rest) = key
        .strip_prefix(spec.prefix())
        .and_then(|r| r.strip_prefix('/'))
    else {
        return bad(format!("not under the variant prefix {}/", spec.prefix()));
    };
    let mut it = rest.rsplitn(3, '/');
    let (name, generation, source_key) = (
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
    );
    if source_key.is_empty() {
        return bad("expected {prefix}/{source}/{generation}/{transform}.{format}");
    }
    if generation != spec.generation() {
        return bad(format!(
            "{generation:?} is not the current generation {}",
            spec.generation()
        ));
    }
    let Some((w, h, fit, q, format)) = name_fields(name) else {
        return bad(format!(
            "{name:?} is not w{{W}}-h{{H}}-{{fit}}-q{{Q}}.{{format}}"
        ));
    };
    let number = |s: &str, tag: char, digits: usize| {
        s.strip_prefix(tag)
            .filter(|d| canonical_number(d, digits))
            .and_then(|d| d.parse::<u32>().ok())
    };
    let width = number(w, 'w', 5).ok_or_else(|| KeyError(format!("{w:?} is not w{{N}}")))?;
    let height = number(h, 'h', 5).ok_or_else(|| KeyError(format!("{h:?} is not h{{N}}")))?;
    let fit: Fit = fit
        .parse()
        .map_err(|_| KeyError(format!("{fit:?} is not a fit")))?;
    let quality = number(q, 'q', 3)
        .filter(|&q| (1..=100).contains(&q))
        .ok_or_else(|| KeyError(format!("{q:?} is not q1-q100")))? as u8;
    let format: Format = format
        .parse()
        .map_err(|_| KeyError(format!("{format:?} is not a format")))?;
    let v = Variant {
        width,
        height,
        fit,
        quality,
        format,
        source_key: source_key.to_string(),
    };
    spec.produces(&v).map_err(KeyError)?;
    if source_key.split('/').next() == Some(spec.prefix()) {
        return bad("the source is itself under the variant prefix");
    }
    check_source(spec, source_key).map_err(|(_, why)| KeyError(why))?;
    Ok(v)
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

    /// `{g}` in a test key stands for the current generation.
    fn g(k: &str) -> String {
        k.replace("{g}", GENERATION)
    }

    #[test]
    fn key_layout_and_uri() {
        let s = Spec::default();
        let x = v(
            640,
            0,
            Fit::Cover,
            75,
            Format::Webp,
            "photos/My Photo é.jpg",
        );
        assert_eq!(
            x.key(&s),
            g("_sf/photos/My Photo é.jpg/{g}/w640-h0-cover-q75.webp")
        );
        assert_eq!(
            x.uri(&s),
            g("/_sf/photos/My%20Photo%20%C3%A9.jpg/{g}/w640-h0-cover-q75.webp")
        );
        assert_eq!(Variant::parse(&s, &x.key(&s)), Ok(x.clone()));
        assert_eq!(Variant::parse(&s, &x.uri(&s)), Ok(x.clone()));
        assert!(is_generation(GENERATION), "{GENERATION}");
        assert_eq!(variants_of(&s, &x.source_key), "_sf/photos/My Photo é.jpg/");
        // A source may hold segments that look like the layout's: parsing splits from the end.
        let tricky = v(
            640,
            0,
            Fit::Cover,
            75,
            Format::Webp,
            "x.jpg/g1234567/w1-h0-cover-q75.webp",
        );
        assert_eq!(Variant::parse(&s, &tricky.key(&s)), Ok(tricky));
    }

    #[test]
    fn a_change_of_rules_makes_new_keys() {
        // Another recipe (a codec bumped, the corpus's bytes changed): another generation.
        let g1 = generation_bytes("image-core 0.1.0\ncorpus 1\n");
        let g2 = generation_bytes("image-core 0.1.0\ncorpus 2\n");
        assert_ne!(g1, g2);
        assert!(is_generation(std::str::from_utf8(&g1).unwrap()));
        // A spec change that shapes the bytes shows in the key: a new default quality.
        let a = Spec::default();
        let b = Spec::from_toml("qualities = [50, 80, 90]\nquality = 80").unwrap();
        let req = crate::ViewerRequestEvent::from_http("/a.jpg?w=640", &[]);
        let key = |s: &Spec| match crate::resolve(s, &req.request) {
            crate::Outcome::Transform(v) => v.key(s),
            other => panic!("{other:?}"),
        };
        assert_ne!(key(&a), key(&b));
    }

    #[test]
    fn stored_keys_split_by_layout_alone() {
        let s = Spec::default();
        let k = "_sf/a/b.jpg/g0000000/w1-h0-cover-q1.gif";
        assert_eq!(
            StoredKey::split(&s, k),
            Some(StoredKey {
                source_key: "a/b.jpg",
                generation: "g0000000",
                name: "w1-h0-cover-q1.gif"
            })
        );
        for not in [
            "_sf/a.jpg/w640-h0-cover-q75.webp",      // no generation
            "_sf/a.jpg/g123/w640-h0-cover-q75.webp", // not generation-shaped
            "_sf/a.jpg/g0000000/photo.webp",         // not a variant name
            "_sf/g0000000/w640-h0-cover-q75.webp",   // no source
            "other/a.jpg/g0000000/w640-h0-cover-q75.webp",
        ] {
            assert_eq!(StoredKey::split(&s, not), None, "{not}");
        }
    }

    #[test]
    fn parse_refuses_what_the_spec_cannot_produce_or_is_not_canonical() {
        let s = Spec::default();
        for bad in [
            "_sf/a.jpg/{g}/w9999-h0-cover-q75.webp",  // width not allowed
            "_sf/a.jpg/{g}/w0640-h0-cover-q75.webp",  // leading zero
            "_sf/a.jpg/{g}/w640-h481-cover-q75.webp", // not a shape of `ratios`
            "_sf/a.jpg/{g}/w640-h480-inside-q75.webp", // a box in another fit (presets only)
            "_sf/a.jpg/{g}/w0-h640-cover-q75.webp",   // a height alone (heights = [])
            "_sf/a.jpg/{g}/w650-h650-cover-q75.webp", // a box of a width not in the list
            "_sf/a.jpg/{g}/w640-h0-inside-q75.webp",  // fit on a free side
            "_sf/a.jpg/{g}/w640-h640-crop-q75.webp",  // not a fit
            "_sf/a.jpg/{g}/w640-h0-cover-q80.webp",   // quality not allowed
            "_sf/a.jpg/{g}/w640-h0-cover-q075.webp",  // leading zero
            "_sf/a.png/{g}/w640-h0-cover-q90.png",    // png with non-default quality
            "_sf/a.jpg/{g}/w640-h0-cover-q75.gif",    // not a format
            "_sf/a.jpg/{g}/w640-h0-cover-q75.jpg",    // alias, not the canonical name
            "_sf/a.jpg/{g}/w640-h0-cover-q75-x.webp", // a fifth field
            "_sf/a.jpg/{g}/w640-h0-cover.webp",       // a field short
            "_sf/a.jpg/{g}/w640-h0-cover-q75",        // no format
            "_sf/a.jpg/g0000000/w640-h0-cover-q75.webp", // another generation
            "_sf/a.jpg/w640-h0-cover-q75.webp",       // no generation
            "_sf/a.pdf/{g}/w640-h0-cover-q75.webp",   // not an image
            "_sf/a//b.jpg/{g}/w640-h0-cover-q75.webp", // empty segment
            "_sf/../a.jpg/{g}/w640-h0-cover-q75.webp", // dot segment
            "_sf/a\u{0}.jpg/{g}/w640-h0-cover-q75.webp", // control character
            "_sf/_sf/x.jpg/{g}/w640-h0-cover-q75.webp", // variant of a variant
            "_sf/{g}/w640-h0-cover-q75.webp",         // no source
            "other/a.jpg/{g}/w640-h0-cover-q75.webp", // not under the prefix
            "/_sf/%e9.jpg/{g}/w640-h0-cover-q75.webp", // malformed UTF-8
        ] {
            assert!(Variant::parse(&s, &g(bad)).is_err(), "{bad} parsed");
        }
        let long = g(&format!(
            "_sf/{}.jpg/{{g}}/w640-h0-cover-q75.webp",
            "k".repeat(MAX_SOURCE_KEY_BYTES)
        ));
        assert!(Variant::parse(&s, &long).is_err());
        for ok in [
            "_sf/a.jpg/{g}/w0-h0-cover-q75.avif",
            "_sf/a.jpg/{g}/w640-h480-cover-q75.webp", // 4:3
            "_sf/a.jpg/{g}/w640-h360-cover-q75.webp", // 16:9
            "_sf/a.jpg/{g}/w16-h21-cover-q75.webp",   // 3:4, rounded half up
        ] {
            assert!(Variant::parse(&s, &g(ok)).is_ok(), "{ok}");
        }
        // Any %-spelling of a canonical key names the same object: the origin side accepts it.
        for spelling in [
            "/_sf/a b.jpg/{g}/w640-h0-cover-q75.webp",
            "/_sf/a%20b.jpg/{g}/w640-h0-cover-q75.webp",
            "/%5Fsf/a%20b.jpg/{g}/w640-h0-cover-q75.webp",
        ] {
            assert_eq!(
                Variant::parse(&s, &g(spelling)).unwrap().source_key,
                "a b.jpg"
            );
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
