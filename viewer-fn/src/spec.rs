//! The rule spec: `scalefront.toml` as a validated Rust value.
//!
//! Parsing goes through [`Raw`], a mirror of the file whose every value carries its byte span, so
//! a refused spec is reported with the key *and* the line it sits on.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// Widths and heights a spec may allow (I4: the origin never renders more than 8192 px a side).
pub const MAX_DIMENSION: u32 = 8192;
/// Longest variant prefix: keeps every variant key under S3's 1024-byte limit (see `MAX_SOURCE_KEY_BYTES`).
pub const MAX_PREFIX_LEN: usize = 32;
/// Longest list of widths, heights or qualities: bounds the generated function's size.
pub const MAX_LIST_LEN: usize = 128;
/// Highest `max_dpr` a spec may set (the dpr grammar has one integer digit).
pub const MAX_DPR: u8 = 8;
/// Longest `error_max_age` (seconds): a day, so a fixed photo is served again within one.
pub const MAX_ERROR_MAX_AGE: u32 = 86_400;
/// Longest `missing_max_age` (seconds): a page that links a photo before it is uploaded heals within a minute.
pub const MAX_MISSING_MAX_AGE: u32 = 60;
/// Longest `browser_max_age` and `cdn_max_age` (seconds): a year, CloudFront's MaxTTL.
pub const MAX_VARIANT_MAX_AGE: u32 = 31_536_000;

/// How the image fills the requested box, as in sharp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    Cover,
    Contain,
    Fill,
    Inside,
    Outside,
}

impl Fit {
    pub const ALL: [Fit; 5] = [
        Fit::Cover,
        Fit::Contain,
        Fit::Fill,
        Fit::Inside,
        Fit::Outside,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fit::Cover => "cover",
            Fit::Contain => "contain",
            Fit::Fill => "fill",
            Fit::Inside => "inside",
            Fit::Outside => "outside",
        }
    }
}

impl FromStr for Fit {
    type Err = ();
    fn from_str(s: &str) -> Result<Fit, ()> {
        Fit::ALL.into_iter().find(|f| f.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Fit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An output (or source) image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Avif,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Jpeg, Format::Png, Format::Webp, Format::Avif];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Avif => "avif",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Avif => "image/avif",
        }
    }

    /// Lossless output: quality does not change the bytes, so variant keys pin it to the default.
    pub fn ignores_quality(self) -> bool {
        self == Format::Png
    }
}

impl FromStr for Format {
    type Err = ();
    /// The canonical names only (`jpeg`, not `jpg`): the URL alias `jpg` is a rewrite rule.
    fn from_str(s: &str) -> Result<Format, ()> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request without a transform gets: the original (`serve`), or 403 (`deny`: only
/// variants are public, so backups, PDFs and originals with GPS EXIF are not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Originals {
    Serve,
    Deny,
}

/// What a requested size that is not in the allowed list becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Snap {
    /// The next allowed size up (the largest if the request is above them all).
    Up,
    /// 400 Bad Request.
    Reject,
}

/// The aspect ratio of a box a request may ask for with both `w` and `h` (`"4:3"`). A box of
/// any other shape needs a preset: free boxes multiply the variants of every photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ratio {
    pub w: u32,
    pub h: u32,
}

/// Largest term of a ratio (`99:1`), and the widest shape either way.
pub const MAX_RATIO_TERM: u32 = 99;
pub const MAX_RATIO_SPREAD: u32 = 8;

impl Ratio {
    /// Whether a requested `w`×`h` has this shape, within 1 % (`300x169` is 16:9): pages round.
    /// Integer arithmetic, so JavaScript's doubles give the same answer.
    pub fn matches(self, w: u32, h: u32) -> bool {
        let (w, h, rw, rh) = (w as u64, h as u64, self.w as u64, self.h as u64);
        100 * (w * rh).abs_diff(h * rw) <= h * rw
    }

    /// The height of a box `width` px wide with this shape: rounded half up, at least 1.
    pub fn height(self, width: u32) -> u32 {
        let (w, rw, rh) = (width as u64, self.w as u64, self.h as u64);
        ((2 * w * rh + rw) / (2 * rw)).max(1) as u32
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.w, self.h)
    }
}

impl FromStr for Ratio {
    type Err = String;
    fn from_str(s: &str) -> Result<Ratio, String> {
        let term = |t: &str| {
            t.parse::<u32>()
                .ok()
                .filter(|v| (1..=MAX_RATIO_TERM).contains(v) && !t.starts_with('0'))
        };
        let shape = format!("expected W:H, whole numbers 1-{MAX_RATIO_TERM}");
        let (w, h) = s.split_once(':').ok_or_else(|| shape.clone())?;
        let r = Ratio {
            w: term(w).ok_or_else(|| shape.clone())?,
            h: term(h).ok_or(shape)?,
        };
        if r.w > MAX_RATIO_SPREAD * r.h || r.h > MAX_RATIO_SPREAD * r.w {
            return Err(format!("wider than {MAX_RATIO_SPREAD}:1 either way"));
        }
        Ok(r)
    }
}

impl Serialize for Ratio {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ratio, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A named transform (`[presets.thumb]`, asked for as `?p=thumb`): stands for the variant key of
/// its canonical transform, never a key of its own. 0 = a free side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preset {
    pub width: u32,
    pub height: u32,
    pub fit: Fit,
    pub quality: u8,
    /// `None`: negotiated (`f=auto`) or named by the request, as for any transform.
    pub format: Option<Format>,
}

/// Most presets a spec may name (each adds to the generated function and to every photo's variants).
pub const MAX_PRESETS: usize = 64;

/// The query parameter names (aliases) for each role, in the order a page may use them.
/// The first name of each list is the one error messages use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub width: Vec<String>,
    pub height: Vec<String>,
    /// The box form: `d=WxH` or `d=N` (an N×N box).
    #[serde(rename = "box")]
    pub box_: Vec<String>,
    pub quality: Vec<String>,
    pub format: Vec<String>,
    pub fit: Vec<String>,
    pub dpr: Vec<String>,
    /// A named transform from `[presets]`: `p=thumb`.
    pub preset: Vec<String>,
    /// The signature of a signed URL (`signed = true`): `s=a…`.
    pub signature: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        let v = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        Params {
            width: v(&["w", "width"]),
            height: v(&["h", "height"]),
            box_: v(&["d"]),
            quality: v(&["q", "quality"]),
            format: v(&["f", "format"]),
            fit: v(&["fit"]),
            dpr: v(&["dpr"]),
            preset: v(&["p", "preset"]),
            signature: v(&["s"]),
        }
    }
}

/// A parameter's role in the URL API. The order is the order in which values are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Box,
    Width,
    Height,
    Quality,
    Format,
    Fit,
    Dpr,
    Preset,
    Signature,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Box,
        Role::Width,
        Role::Height,
        Role::Quality,
        Role::Format,
        Role::Fit,
        Role::Dpr,
        Role::Preset,
        Role::Signature,
    ];

    /// Short code used in the generated JavaScript.
    pub fn code(self) -> &'static str {
        match self {
            Role::Box => "d",
            Role::Width => "w",
            Role::Height => "h",
            Role::Quality => "q",
            Role::Format => "f",
            Role::Fit => "t",
            Role::Dpr => "r",
            Role::Preset => "p",
            Role::Signature => "s",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Role::Box => "box",
            Role::Width => "width",
            Role::Height => "height",
            Role::Quality => "quality",
            Role::Format => "format",
            Role::Fit => "fit",
            Role::Dpr => "dpr",
            Role::Preset => "preset",
            Role::Signature => "signature",
        }
    }
}

impl Params {
    pub fn names(&self, role: Role) -> &[String] {
        match role {
            Role::Box => &self.box_,
            Role::Width => &self.width,
            Role::Height => &self.height,
            Role::Quality => &self.quality,
            Role::Format => &self.format,
            Role::Fit => &self.fit,
            Role::Dpr => &self.dpr,
            Role::Preset => &self.preset,
            Role::Signature => &self.signature,
        }
    }

    /// The name error messages use for a role.
    pub fn primary(&self, role: Role) -> &str {
        &self.names(role)[0]
    }

    /// The role of a (lower-cased) query parameter name.
    pub fn role_of(&self, name: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|&r| self.names(r).iter().any(|n| n == name))
    }
}

/// The rule spec. Build it with [`Spec::from_toml`], [`Spec::load`] or [`Spec::default`]: every
/// `Spec` value is valid (the fields are private so it stays so).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawOwned")]
pub struct Spec {
    prefix: String,
    snap: Snap,
    widths: Vec<u32>,
    heights: Vec<u32>,
    ratios: Vec<Ratio>,
    qualities: Vec<u8>,
    quality: u8,
    fit: Fit,
    max_dpr: u8,
    formats: Vec<Format>,
    auto: Vec<Format>,
    avif_max_side: u32,
    extensions: BTreeMap<String, Format>,
    presets: BTreeMap<String, Preset>,
    presets_only: bool,
    signed: bool,
    originals: Originals,
    params: Params,
    error_max_age: u32,
    missing_max_age: u32,
    browser_max_age: u32,
    cdn_max_age: u32,
    variant_expiry_days: u32,
}

/// Longest `variant_expiry_days`: ten years (S3 lifecycle takes any positive number of days).
const MAX_VARIANT_EXPIRY_DAYS: u32 = 3_650;

/// Why an `avif` source extension is refused. Decoding AVIF in the edge's wasm was measured
/// (rav1d, the one pure-Rust AV1 decoder, 2026-12-06): it does not build for wasm32 without a
/// patched fork, adds 1.3 MB (444 KB gzipped) to the module and 85-110 MiB of memory for a 15 MP
/// photo, for a format photos are rarely uploaded in. image-core refuses AVIF input with 415.
const AVIF_SOURCE: &str = "AVIF originals cannot be transformed (image-core decodes JPEG, PNG, WebP and GIF): \
    take the extension out of [extensions] (requests without a transform still get the file as it is) \
    and store the photos as JPEG, PNG or WebP to have variants made";

/// Next.js' default `deviceSizes` and `imageSizes` together: the widths real layouts ask for.
const DEFAULT_SIZES: [u32; 16] = [
    16, 32, 48, 64, 96, 128, 256, 384, 640, 750, 828, 1080, 1200, 1920, 2048, 3840,
];

/// The longest output side `f=auto` makes AVIF for: 828 (Next.js' 414 pt × 2), the widest at which
/// every shape of `ratios` stays within 1.5 s from a 15 MP photo in the edge's wasm. Measured
/// 2026-12-06 (CPU ms, calibrated q75, one core; wasm/README.md "AVIF"): 640 w 0.44 s, 828 w
/// 0.66 s, 828×828 0.94 s, 1080 w 1.01 s, 1200 w 1.26 s, 1080×1080 1.86 s, 1200×1200 2.08 s.
/// Where it picks AVIF the file is 0.5-0.75× the WebP of equal DSSIM. Larger outputs get WebP.
const DEFAULT_AVIF_MAX_SIDE: u32 = 828;

/// The shapes of photos and of the boxes pages crop them to: square, the 4:3 of phone cameras,
/// the 3:2 of other cameras, 16:9 video frames, and phone portraits (3:4).
const DEFAULT_RATIOS: [(u32, u32); 5] = [(1, 1), (4, 3), (3, 2), (16, 9), (3, 4)];

impl Default for Spec {
    fn default() -> Spec {
        Spec {
            prefix: "_sf".into(),
            snap: Snap::Up,
            widths: DEFAULT_SIZES.to_vec(),
            heights: Vec::new(),
            ratios: DEFAULT_RATIOS
                .iter()
                .map(|&(w, h)| Ratio { w, h })
                .collect(),
            qualities: vec![75],
            quality: 75,
            fit: Fit::Cover,
            max_dpr: 4,
            formats: vec![Format::Avif, Format::Webp, Format::Jpeg, Format::Png],
            auto: vec![Format::Avif, Format::Webp],
            avif_max_side: DEFAULT_AVIF_MAX_SIDE,
            extensions: [
                ("jpeg", Format::Jpeg),
                ("jpg", Format::Jpeg),
                ("png", Format::Png),
                ("webp", Format::Webp),
            ]
            .into_iter()
            .map(|(e, f)| (e.to_string(), f))
            .collect(),
            presets: BTreeMap::new(),
            presets_only: false,
            signed: false,
            originals: Originals::Serve,
            params: Params::default(),
            error_max_age: 300,
            missing_max_age: 30,
            browser_max_age: 3_600,
            cdn_max_age: 31_536_000,
            // Off: a stored variant costs storage only, making it again costs a Lambda run and a
            // slow first view; replaced and deleted originals are purged by event, and old
            // generations by `scalefront purge --all-generations-but-current`.
            variant_expiry_days: 0,
        }
    }
}

impl Spec {
    /// Parses and validates a `scalefront.toml`. Missing keys take their defaults.
    pub fn from_toml(src: &str) -> Result<Spec, SpecError> {
        let raw: Raw = toml::from_str(src).map_err(|e| SpecError::from_toml(src, &e))?;
        let spec = raw.validate().map_err(|(key, span, message)| SpecError {
            file: None,
            key,
            line: span.map(|s| line_of(src, s.start)),
            message,
        })?;
        // Every valid spec must be deployable: its function within CloudFront's code limit.
        let size = crate::generate(&spec).len();
        if size > crate::MAX_FUNCTION_BYTES {
            return Err(SpecError {
                file: None,
                key: String::new(),
                line: None,
                message: format!(
                    "the generated CloudFront Function would be {size} bytes, over CloudFront's {}: list fewer widths, heights, qualities, parameter names or extensions",
                    crate::MAX_FUNCTION_BYTES
                ),
            });
        }
        Ok(spec)
    }

    /// Reads the spec from `path`; with `None`, from `./scalefront.toml` if present, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<Spec, SpecError> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("scalefront.toml"), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(src) => Spec::from_toml(&src).map_err(|e| SpecError {
                file: Some(path),
                ..e
            }),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(Spec::default()),
            Err(e) => Err(SpecError {
                file: Some(path),
                key: String::new(),
                line: None,
                message: format!("cannot read the rule spec: {e}"),
            }),
        }
    }

    /// The first path segment of every variant key (default `_sf`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
    /// Allowed output widths, ascending (a page's `srcset` uses them).
    pub fn widths(&self) -> &[u32] {
        &self.widths
    }
    /// Allowed output heights of a request that gives no width, ascending (may be empty).
    pub fn heights(&self) -> &[u32] {
        &self.heights
    }
    /// Shapes a request that gives both width and height may have (the height then follows
    /// from the snapped width), in spec order.
    pub fn ratios(&self) -> &[Ratio] {
        &self.ratios
    }
    /// Named transforms, by name.
    pub fn presets(&self) -> &BTreeMap<String, Preset> {
        &self.presets
    }
    /// Whether a request without a transform reaches the original (`originals = "serve"`).
    pub fn serves_originals(&self) -> bool {
        self.originals == Originals::Serve
    }
    /// Whether transforms and variant URIs must carry a signature ([`crate::sign`]).
    pub fn signed(&self) -> bool {
        self.signed
    }
    /// Whether presets are the only transforms accepted (by the viewer function and the origin).
    pub fn presets_only(&self) -> bool {
        self.presets_only
    }
    /// Allowed qualities, ascending.
    pub fn qualities(&self) -> &[u8] {
        &self.qualities
    }
    /// The quality of a request that names none (and of every lossless variant).
    pub fn default_quality(&self) -> u8 {
        self.quality
    }
    /// The fit of a request that names none (and of every variant with a free side).
    pub fn default_fit(&self) -> Fit {
        self.fit
    }
    pub fn snap(&self) -> Snap {
        self.snap
    }
    /// Highest device pixel ratio a request may give.
    pub fn max_dpr(&self) -> u8 {
        self.max_dpr
    }
    /// Output formats a request may name (and the variant namespace may hold).
    pub fn formats(&self) -> &[Format] {
        &self.formats
    }
    /// Formats `f=auto` may choose from `Accept`, best first.
    pub fn auto_formats(&self) -> &[Format] {
        &self.auto
    }
    /// The longest output side `f=auto` picks AVIF for (0: never); a larger or unknown output
    /// (no size given) gets the next `auto` format. An explicit `f=avif` is not limited by it.
    pub fn avif_max_side(&self) -> u32 {
        self.avif_max_side
    }
    /// Transformable source extensions (lower case) and the format each source is in.
    pub fn extensions(&self) -> &BTreeMap<String, Format> {
        &self.extensions
    }
    pub fn params(&self) -> &Params {
        &self.params
    }
    /// Seconds caches keep a failure caused by the original (corrupt, unsupported, over a limit)
    /// or by a forged variant key: the site owner fixes those by replacing the photo or the spec.
    pub fn error_max_age(&self) -> u32 {
        self.error_max_age
    }
    /// Seconds caches keep "the original does not exist" (at most [`MAX_MISSING_MAX_AGE`]).
    pub fn missing_max_age(&self) -> u32 {
        self.missing_max_age
    }
    /// Seconds a browser keeps a variant before it revalidates (its ETag makes that a 304):
    /// how soon a visitor who saw a photo sees its replacement.
    pub fn browser_max_age(&self) -> u32 {
        self.browser_max_age
    }
    /// Seconds CloudFront keeps a variant (`s-maxage`): long, because a replaced or deleted
    /// original's variants are purged (`scalefront purge`, the bucket's events).
    pub fn cdn_max_age(&self) -> u32 {
        self.cdn_max_age
    }

    /// Days after which S3 deletes a stored variant (an S3 lifecycle rule on the variant prefix
    /// that deploy maintains); `None`: never (the default). An expired variant is made again on
    /// its next request.
    pub fn variant_expiry_days(&self) -> Option<u32> {
        (self.variant_expiry_days > 0).then_some(self.variant_expiry_days)
    }

    /// Whether the format of a variant may depend on `Accept` (f=auto can pick a modern format):
    /// then every variant response carries `Vary: Accept`.
    pub fn negotiates_format(&self) -> bool {
        !self.auto.is_empty()
    }

    /// The generation segment of this spec's variant keys ([`crate::GENERATION`]). No spec value
    /// shapes a variant's bytes beyond what its key spells (size, fit, quality, format), so today
    /// it is image-core's alone; a setting that did (an encoder effort, say) would join it here.
    pub fn generation(&self) -> &'static str {
        crate::key::GENERATION
    }

    /// Whether this spec produces a variant of this size, fit, quality and format (I2): the one
    /// rule the origin's check, the budget and the tests share. `Err` says why not.
    pub fn produces(&self, v: &crate::Variant) -> Result<(), String> {
        let (w, h) = (v.width, v.height);
        let preset = self.presets.values().any(|p| {
            (p.width, p.height, p.fit) == (w, h, v.fit)
                && p.format
                    .map_or(self.formats.contains(&v.format), |f| f == v.format)
                && v.quality
                    == if v.format.ignores_quality() {
                        self.quality
                    } else {
                        p.quality
                    }
        });
        if preset {
            return Ok(());
        }
        if self.presets_only {
            return Err("not the variant of a preset (presets_only)".into());
        }
        if !self.formats.contains(&v.format) {
            return Err(format!("{} is not an enabled format", v.format));
        }
        if v.format.ignores_quality() && v.quality != self.quality {
            return Err(format!(
                "a {} variant has quality {}",
                v.format, self.quality
            ));
        }
        if !self.qualities.contains(&v.quality) {
            return Err(format!("q{} is not an allowed quality", v.quality));
        }
        if v.fit != self.fit {
            return Err(format!(
                "fit {} needs a preset (sizes from the lists have fit {})",
                v.fit, self.fit
            ));
        }
        let ok = match (w, h) {
            (0, 0) => true,
            (w, 0) => self.widths.contains(&w),
            (0, h) => self.heights.contains(&h),
            (w, h) => self.widths.contains(&w) && self.ratios.iter().any(|r| r.height(w) == h),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("w{w}-h{h} is not a size of this spec"))
        }
    }

    /// The format of a source key, from its extension (case-insensitive); `None`: not transformable.
    pub fn source_format(&self, key: &str) -> Option<Format> {
        let last = key.rsplit('/').next().unwrap_or(key);
        let ext = last.rsplit_once('.')?.1.to_ascii_lowercase();
        self.extensions.get(&ext).copied()
    }
}

/// A refused rule spec: which key, on which line, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub file: Option<PathBuf>,
    /// Dotted key path (`params.width`, `widths`); empty for syntax and I/O errors.
    pub key: String,
    /// 1-based line in the file.
    pub line: Option<usize>,
    pub message: String,
}

impl SpecError {
    fn from_toml(src: &str, e: &toml::de::Error) -> SpecError {
        let span = e.span();
        let message = e.message().trim().to_string();
        let key = span
            .as_ref()
            .map(|s| key_at(src, s.start))
            .unwrap_or_default();
        SpecError {
            file: None,
            key,
            line: span.map(|s| line_of(src, s.start)),
            message,
        }
    }
}

/// The dotted key whose value covers `offset`: the nearest `key =` line at or above it, under
/// the nearest `[table]` header above that (toml's own errors give a span, not a key).
fn key_at(src: &str, offset: usize) -> String {
    let mut end = offset.min(src.len());
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    let upto = &src[..end];
    let line_end = src[upto.len()..]
        .find('\n')
        .map_or(src.len(), |i| upto.len() + i);
    let mut key = None;
    for line in src[..line_end].lines().rev() {
        let line = line.trim();
        if let Some(table) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            let table = table.trim_matches(['[', ' ']).trim();
            return match key {
                Some(k) => format!("{table}.{k}"),
                None => table.to_string(),
            };
        }
        if key.is_none() {
            if let Some((k, _)) = line.split_once('=') {
                let k = k.trim().trim_matches('"');
                if !k.is_empty()
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
                {
                    key = Some(k.to_string());
                }
            }
        }
    }
    key.unwrap_or_default()
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.as_deref().map(|p| p.display().to_string());
        match (file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: ")?,
            (Some(file), None) => write!(f, "{file}: ")?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecError {}

fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

// ---------------------------------------------------------------------------------------------
// Parsing: the file as written, with spans.

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    prefix: Option<S<String>>,
    snap: Option<S<Snap>>,
    widths: Option<S<Vec<S<u32>>>>,
    heights: Option<S<Vec<S<u32>>>>,
    ratios: Option<S<Vec<S<String>>>>,
    qualities: Option<S<Vec<S<u8>>>>,
    quality: Option<S<u8>>,
    fit: Option<S<Fit>>,
    max_dpr: Option<S<u8>>,
    formats: Option<S<Vec<S<Format>>>>,
    auto: Option<S<Vec<S<Format>>>>,
    avif_max_side: Option<S<u32>>,
    extensions: Option<S<BTreeMap<String, S<Format>>>>,
    presets: Option<S<BTreeMap<String, S<RawPreset>>>>,
    presets_only: Option<S<bool>>,
    signed: Option<S<bool>>,
    originals: Option<S<Originals>>,
    params: Option<S<RawParams>>,
    error_max_age: Option<S<u32>>,
    missing_max_age: Option<S<u32>>,
    browser_max_age: Option<S<u32>>,
    cdn_max_age: Option<S<u32>>,
    variant_expiry_days: Option<S<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParams {
    width: Option<S<Vec<S<String>>>>,
    height: Option<S<Vec<S<String>>>>,
    #[serde(rename = "box")]
    box_: Option<S<Vec<S<String>>>>,
    quality: Option<S<Vec<S<String>>>>,
    format: Option<S<Vec<S<String>>>>,
    fit: Option<S<Vec<S<String>>>>,
    dpr: Option<S<Vec<S<String>>>>,
    preset: Option<S<Vec<S<String>>>>,
    signature: Option<S<Vec<S<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreset {
    width: Option<S<u32>>,
    height: Option<S<u32>>,
    fit: Option<S<Fit>>,
    quality: Option<S<u8>>,
    format: Option<S<Format>>,
}

/// A validation failure: dotted key, span of the offending value, message.
type Refusal = (String, Option<Range<usize>>, String);

fn refuse<T>(
    key: &str,
    span: Option<Range<usize>>,
    message: impl Into<String>,
) -> Result<T, Refusal> {
    Err((key.to_string(), span, message.into()))
}

/// A list that must be non-empty and free of duplicates; returned sorted when `sort`.
fn list<T: Ord + Copy + fmt::Display>(
    key: &str,
    raw: Option<S<Vec<S<T>>>>,
    default: &[T],
    max_len: usize,
    check: impl Fn(T) -> Result<(), String>,
    sort: bool,
) -> Result<Vec<T>, Refusal> {
    let Some(raw) = raw else {
        return Ok(default.to_vec());
    };
    let span = raw.span();
    let items = raw.into_inner();
    if items.is_empty() {
        return refuse(key, Some(span), "must not be empty");
    }
    if items.len() > max_len {
        return refuse(key, Some(span), format!("at most {max_len} entries"));
    }
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        let (s, v) = (item.span(), *item.get_ref());
        if let Err(m) = check(v) {
            return refuse(key, Some(s), format!("{v}: {m}"));
        }
        if out.contains(&v) {
            return refuse(key, Some(s), format!("{v} is listed twice"));
        }
        out.push(v);
    }
    if sort {
        out.sort();
    }
    Ok(out)
}

fn range<T: PartialOrd + fmt::Display + Copy>(lo: T, hi: T) -> impl Fn(T) -> Result<(), String> {
    move |v| {
        if v >= lo && v <= hi {
            Ok(())
        } else {
            Err(format!("outside {lo}..={hi}"))
        }
    }
}

/// An optional number of the file within `lo..=hi` (`unit` follows it in the refusal), or
/// `default` when the key is absent.
fn bounded<T: PartialOrd + fmt::Display + Copy>(
    key: &str,
    raw: Option<S<T>>,
    default: T,
    lo: T,
    hi: T,
    unit: &str,
) -> Result<T, Refusal> {
    let Some(v) = raw else {
        return Ok(default);
    };
    let (span, v) = (v.span(), v.into_inner());
    match range(lo, hi)(v) {
        Ok(()) => Ok(v),
        Err(m) => refuse(key, Some(span), format!("{v}: {m}{unit}")),
    }
}

fn is_name(s: &str, max: usize, extra: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
}

impl Raw {
    fn validate(self) -> Result<Spec, Refusal> {
        let d = Spec::default();

        let prefix = match self.prefix {
            None => d.prefix.clone(),
            Some(p) => {
                let (span, p) = (p.span(), p.into_inner());
                let safe = !p.is_empty()
                    && p.len() <= MAX_PREFIX_LEN
                    && p != "."
                    && p != ".."
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
                if !safe {
                    return refuse(
                        "prefix",
                        Some(span),
                        format!("must be one path segment of 1-{MAX_PREFIX_LEN} characters from A-Z a-z 0-9 . _ - (not . or ..)"),
                    );
                }
                p
            }
        };
        let snap = self.snap.map_or(d.snap, |s| s.into_inner());
        let dims = range(1, MAX_DIMENSION);
        let widths = list("widths", self.widths, &d.widths, MAX_LIST_LEN, &dims, true)?;
        // Empty is allowed: then a height alone is refused (the default: pages size by width).
        let heights = match self.heights {
            Some(h) if h.get_ref().is_empty() => Vec::new(),
            h => list("heights", h, &d.heights, MAX_LIST_LEN, &dims, true)?,
        };
        let ratios = match self.ratios {
            None => d.ratios.clone(),
            Some(raw) => {
                let span = raw.span();
                let raw = raw.into_inner();
                if raw.len() > 16 {
                    return refuse("ratios", Some(span), "at most 16 entries");
                }
                let mut out: Vec<Ratio> = Vec::new();
                for r in raw {
                    let (s, r) = (r.span(), r.into_inner());
                    let ratio: Ratio = match r.parse() {
                        Ok(v) => v,
                        Err(m) => return refuse("ratios", Some(s), format!("{r:?}: {m}")),
                    };
                    if let Some(o) = out.iter().find(|o| o.w * ratio.h == o.h * ratio.w) {
                        return refuse("ratios", Some(s), format!("{r:?} is the shape of {o}"));
                    }
                    // I4: no box side over MAX_DIMENSION, whatever the widest width.
                    let widest = widths.last().copied().unwrap_or(0);
                    if ratio.height(widest) > MAX_DIMENSION {
                        return refuse(
                            "ratios",
                            Some(s),
                            format!("{r:?}: a {widest} px wide box would be {} px high, over {MAX_DIMENSION}", ratio.height(widest)),
                        );
                    }
                    out.push(ratio);
                }
                out
            }
        };
        let qualities = list(
            "qualities",
            self.qualities,
            &d.qualities,
            MAX_LIST_LEN,
            range(1, 100),
            true,
        )?;
        let quality = match self.quality {
            None if qualities.contains(&d.quality) => d.quality,
            None => {
                return refuse(
                    "quality",
                    None,
                    format!(
                        "the default quality {} is not in `qualities`; set `quality`",
                        d.quality
                    ),
                )
            }
            Some(q) => {
                let (span, q) = (q.span(), q.into_inner());
                if !qualities.contains(&q) {
                    return refuse(
                        "quality",
                        Some(span),
                        format!("{q} is not one of `qualities`"),
                    );
                }
                q
            }
        };
        let fit = self.fit.map_or(d.fit, |f| f.into_inner());
        let max_dpr = bounded("max_dpr", self.max_dpr, d.max_dpr, 1, MAX_DPR, "")?;
        let ok = |_| Ok(());
        let formats = list("formats", self.formats, &d.formats, 4, ok, false)?;
        let auto = match self.auto {
            None => d
                .auto
                .iter()
                .copied()
                .filter(|f| formats.contains(f))
                .collect(),
            // An empty list is allowed here: it turns negotiation off.
            Some(a) if a.get_ref().is_empty() => Vec::new(),
            Some(a) => list("auto", Some(a), &[], 4, ok, false)?,
        };
        // Re-walk for spans of entries not in `formats` is not needed: report the list.
        if let Some(f) = auto.iter().find(|f| !formats.contains(f)) {
            return refuse("auto", None, format!("{f} is not one of `formats`"));
        }
        let avif_max_side = bounded(
            "avif_max_side",
            self.avif_max_side,
            d.avif_max_side,
            0,
            MAX_DIMENSION,
            "",
        )?;
        let extensions = match self.extensions {
            None => d.extensions.clone(),
            Some(e) => {
                let (span, e) = (e.span(), e.into_inner());
                if e.is_empty() {
                    return refuse("extensions", Some(span), "must not be empty");
                }
                let mut out = BTreeMap::new();
                for (ext, f) in e {
                    let (fspan, f) = (f.span(), f.into_inner());
                    if !is_name(&ext, 16, b"") {
                        return refuse(
                            &format!("extensions.{ext}"),
                            Some(fspan),
                            "an extension is 1-16 characters from a-z 0-9, without the dot",
                        );
                    }
                    if !formats.contains(&f) {
                        return refuse(
                            &format!("extensions.{ext}"),
                            Some(fspan),
                            format!("{f} is not one of `formats`"),
                        );
                    }
                    if f == Format::Avif {
                        return refuse(&format!("extensions.{ext}"), Some(fspan), AVIF_SOURCE);
                    }
                    out.insert(ext, f);
                }
                out
            }
        };
        for (ext, f) in &extensions {
            if !formats.contains(f) {
                return refuse(
                    &format!("extensions.{ext}"),
                    None,
                    format!("{f} is not one of `formats`"),
                );
            }
        }
        let mut presets = BTreeMap::new();
        if let Some(raw) = self.presets {
            let span = raw.span();
            let raw = raw.into_inner();
            if raw.len() > MAX_PRESETS {
                return refuse(
                    "presets",
                    Some(span),
                    format!("at most {MAX_PRESETS} presets"),
                );
            }
            for (name, p) in raw {
                let key = format!("presets.{name}");
                let (pspan, p) = (p.span(), p.into_inner());
                // Starting with a letter or digit keeps `__proto__` out of the function's object.
                if !is_name(&name, 32, b"_-") || !name.as_bytes()[0].is_ascii_alphanumeric() {
                    return refuse(
                        &key,
                        Some(pspan),
                        "a preset name is 1-32 characters from a-z 0-9 _ -, starting with a letter or digit",
                    );
                }
                let side =
                    |v, what: &str| bounded(&format!("{key}.{what}"), v, 0, 1, MAX_DIMENSION, "");
                let (width, height) = (side(p.width, "width")?, side(p.height, "height")?);
                let pq = bounded(&format!("{key}.quality"), p.quality, quality, 1, 100, "")?;
                let format = match p.format {
                    None => None,
                    Some(f) => {
                        let (s, f) = (f.span(), f.into_inner());
                        if !formats.contains(&f) {
                            return refuse(
                                &format!("{key}.format"),
                                Some(s),
                                format!("{f} is not one of `formats`"),
                            );
                        }
                        Some(f)
                    }
                };
                // Canonical at once (I1): a free side takes the default fit, a lossless format
                // the default quality — as the rewrite does for any transform.
                let fit = match p.fit {
                    Some(f) if width != 0 && height != 0 => f.into_inner(),
                    _ => fit,
                };
                let quality = if format.is_some_and(Format::ignores_quality) {
                    quality
                } else {
                    pq
                };
                presets.insert(
                    name,
                    Preset {
                        width,
                        height,
                        fit,
                        quality,
                        format,
                    },
                );
            }
        }
        let presets_only = match self.presets_only {
            None => false,
            Some(b) => {
                let (s, b) = (b.span(), b.into_inner());
                if b && presets.is_empty() {
                    return refuse("presets_only", Some(s), "no [presets] are defined");
                }
                b
            }
        };
        let signed = self.signed.is_some_and(|b| b.into_inner());
        let originals = self.originals.map_or(d.originals, |o| o.into_inner());
        let params = match self.params {
            None => d.params.clone(),
            Some(p) => p.into_inner().validate()?,
        };
        let seconds = |key: &str, raw, default, max| bounded(key, raw, default, 1, max, " seconds");
        let error_max_age = seconds(
            "error_max_age",
            self.error_max_age,
            d.error_max_age,
            MAX_ERROR_MAX_AGE,
        )?;
        let missing_max_age = seconds(
            "missing_max_age",
            self.missing_max_age,
            d.missing_max_age,
            MAX_MISSING_MAX_AGE,
        )?;
        let browser_max_age = seconds(
            "browser_max_age",
            self.browser_max_age,
            d.browser_max_age,
            MAX_VARIANT_MAX_AGE,
        )?;
        let cdn_max_age = seconds(
            "cdn_max_age",
            self.cdn_max_age,
            d.cdn_max_age,
            MAX_VARIANT_MAX_AGE,
        )?;
        let variant_expiry_days = bounded(
            "variant_expiry_days",
            self.variant_expiry_days,
            d.variant_expiry_days,
            0,
            MAX_VARIANT_EXPIRY_DAYS,
            " days (0: stored variants never expire)",
        )?;
        Ok(Spec {
            prefix,
            snap,
            widths,
            heights,
            ratios,
            qualities,
            quality,
            fit,
            max_dpr,
            formats,
            auto,
            avif_max_side,
            extensions,
            presets,
            presets_only,
            signed,
            originals,
            params,
            error_max_age,
            missing_max_age,
            browser_max_age,
            cdn_max_age,
            variant_expiry_days,
        })
    }
}

impl RawParams {
    fn validate(self) -> Result<Params, Refusal> {
        let d = Params::default();
        let mut seen: BTreeMap<String, &'static str> = BTreeMap::new();
        let mut take = |role: Role,
                        raw: Option<S<Vec<S<String>>>>|
         -> Result<Vec<String>, Refusal> {
            let key = format!("params.{}", role.key());
            // Defaults go through the same checks: a custom name may clash with a default one.
            let names: Vec<(Option<Range<usize>>, String)> = match raw {
                None => d.names(role).iter().map(|n| (None, n.clone())).collect(),
                Some(raw) => {
                    let span = raw.span();
                    let names = raw.into_inner();
                    if names.is_empty() {
                        return refuse(&key, Some(span), "must not be empty");
                    }
                    names
                        .into_iter()
                        .map(|n| (Some(n.span()), n.into_inner()))
                        .collect()
                }
            };
            let mut out = Vec::new();
            for (s, n) in names {
                // Starting with a letter or digit keeps `__proto__` out of the function's objects.
                if !is_name(&n, 32, b"_-.") || !n.as_bytes()[0].is_ascii_alphanumeric() {
                    return refuse(
                        &key,
                        s,
                        format!("{n:?}: a parameter name is 1-32 characters from a-z 0-9 _ - ., starting with a letter or digit"),
                    );
                }
                if let Some(other) = seen.insert(n.clone(), role.key()) {
                    return refuse(&key, s, format!("{n:?} is already a name for `{other}`"));
                }
                out.push(n);
            }
            Ok(out)
        };
        Ok(Params {
            width: take(Role::Width, self.width)?,
            height: take(Role::Height, self.height)?,
            box_: take(Role::Box, self.box_)?,
            quality: take(Role::Quality, self.quality)?,
            format: take(Role::Format, self.format)?,
            fit: take(Role::Fit, self.fit)?,
            dpr: take(Role::Dpr, self.dpr)?,
            preset: take(Role::Preset, self.preset)?,
            signature: take(Role::Signature, self.signature)?,
        })
    }
}

/// serde's `try_from` route (no line numbers; [`Spec::from_toml`] has them).
#[derive(Deserialize)]
struct RawOwned(toml::Value);

impl TryFrom<RawOwned> for Spec {
    type Error = String;
    fn try_from(v: RawOwned) -> Result<Spec, String> {
        let src = toml::to_string(&v.0).map_err(|e| e.to_string())?;
        Spec::from_toml(&src).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> SpecError {
        Spec::from_toml(src).expect_err(src)
    }

    #[test]
    fn empty_file_is_the_default_spec() {
        assert_eq!(Spec::from_toml("").unwrap(), Spec::default());
        let d = Spec::default();
        assert!(d.widths().windows(2).all(|w| w[0] < w[1]));
        assert!(d.qualities().contains(&d.default_quality()));
        assert!(d.negotiates_format());
    }

    #[test]
    fn partial_file_keeps_other_defaults_and_sorts_lists() {
        let s =
            Spec::from_toml("widths = [800, 400]\nqualities = [90, 60]\nquality = 60\n").unwrap();
        assert_eq!(s.widths(), &[400, 800]);
        assert_eq!(s.qualities(), &[60, 90]);
        assert_eq!(s.heights(), Spec::default().heights());
        assert_eq!(s.prefix(), "_sf");
    }

    #[test]
    fn refusals_name_key_and_line() {
        let cases: &[(&str, &str, usize, &str)] = &[
            (
                "prefix = \"_sf\"\nwidht = [1]\n",
                "widht",
                2,
                "unknown field",
            ),
            (
                "\n\nwidths = [100, 9000]\n",
                "widths",
                3,
                "outside 1..=8192",
            ),
            ("widths = [0]\n", "widths", 1, "outside"),
            ("widths = []\n", "widths", 1, "must not be empty"),
            ("avif_max_side = 9000\n", "avif_max_side", 1, "outside 0..=8192"),
            ("ratios = [\"4/3\"]\n", "ratios", 1, "expected W:H"),
            ("ratios = [\"0:1\"]\n", "ratios", 1, "expected W:H"),
            ("ratios = [\"9:1\"]\n", "ratios", 1, "wider than 8:1"),
            ("ratios = [\"1:1\", \"2:2\"]\n", "ratios", 1, "the shape of 1:1"),
            ("ratios = [\"1:3\"]\n", "ratios", 1, "over 8192"),
            ("[params]\nwidth = [\"__proto__\"]\n", "params.width", 2, "starting with a letter"),
            ("[presets.Thumb]\nwidth = 1\n", "presets.Thumb", 1, "a preset name is"),
            ("[presets.__proto__]\nwidth = 1\n", "presets.__proto__", 1, "a preset name is"),
            ("[presets.t]\nwidth = 9000\n", "presets.t.width", 2, "outside 1..=8192"),
            ("[presets.t]\nquality = 0\n", "presets.t.quality", 2, "outside 1..=100"),
            ("[presets.t]\nformat = \"avif\"\nformats = [\"webp\"]\n", "presets.t.formats", 3, "unknown field"),
            ("formats = [\"webp\", \"jpeg\"]\n[extensions]\njpg = \"jpeg\"\n[presets.t]\nformat = \"avif\"\n", "presets.t.format", 5, "not one of `formats`"),
            ("[presets.t]\nwidht = 1\n", "presets.t.widht", 2, "unknown field"),
            ("presets_only = true\n", "presets_only", 1, "no [presets]"),
            ("originals = \"hide\"\n", "originals", 1, "unknown variant"),
            ("qualities = [50,\n 50]\n", "qualities", 2, "listed twice"),
            ("qualities = [101]\n", "qualities", 1, "outside 1..=100"),
            ("quality = 80\n", "quality", 1, "not one of `qualities`"),
            ("prefix = \"a/b\"\n", "prefix", 1, "one path segment"),
            ("prefix = \"..\"\n", "prefix", 1, "one path segment"),
            ("prefix = \"\"\n", "prefix", 1, "one path segment"),
            ("max_dpr = 9\n", "max_dpr", 1, "outside 1..=8"),
            ("snap = \"down\"\n", "snap", 1, "unknown variant"),
            ("fit = \"crop\"\n", "fit", 1, "unknown variant"),
            ("formats = [\"gif\"]\n", "formats", 1, "unknown variant"),
            (
                "formats = [\"webp\", \"webp\"]\n",
                "formats",
                1,
                "listed twice",
            ),
            (
                "formats = [\"jpeg\"]\nauto = [\"webp\"]\n",
                "auto",
                0,
                "not one of `formats`",
            ),
            (
                "[extensions]\nJPG = \"jpeg\"\n",
                "extensions.JPG",
                2,
                "an extension is",
            ),
            (
                "formats = [\"jpeg\", \"webp\"]\n[extensions]\npng = \"png\"\n",
                "extensions.png",
                3,
                "not one of `formats`",
            ),
            ("[extensions]\n", "extensions", 1, "must not be empty"),
            ("[extensions]\navif = \"avif\"\n", "extensions.avif", 2, "AVIF originals cannot be transformed"),
            (
                "[params]\nwidth = [\"w\"]\nheight = [\"w\"]\n",
                "params.height",
                3,
                "already a name for `width`",
            ),
            (
                "[params]\nquality = [\"w\"]\n",
                "params.quality",
                2,
                "already a name",
            ),
            ("[params]\nfit = []\n", "params.fit", 2, "must not be empty"),
            (
                "[params]\nfit = [\"Fit\"]\n",
                "params.fit",
                2,
                "a parameter name is",
            ),
            (
                "[params]\nwidht = [\"x\"]\n",
                "params.widht",
                2,
                "unknown field",
            ),
            ("widths = \"640\"\n", "widths", 1, "invalid type"),
            (
                "missing_max_age = 61\n",
                "missing_max_age",
                1,
                "outside 1..=60",
            ),
            (
                "browser_max_age = 31536001\n",
                "browser_max_age",
                1,
                "outside 1..=31536000",
            ),
            (
                "cdn_max_age = 0\n",
                "cdn_max_age",
                1,
                "outside 1..=31536000",
            ),
            (
                "error_max_age = 0\n",
                "error_max_age",
                1,
                "outside 1..=86400",
            ),
        ];
        for &(src, key, line, msg) in cases {
            let e = err(src);
            assert_eq!(e.key, key, "{src:?} → {e}");
            if line > 0 {
                assert_eq!(e.line, Some(line), "{src:?} → {e}");
            }
            assert!(e.message.contains(msg), "{src:?} → {e}");
            assert!(e.to_string().contains(&format!("`{key}`")), "{e}");
        }
    }

    #[test]
    fn a_spec_whose_function_would_not_fit_is_refused() {
        let names: Vec<String> = (0..400)
            .map(|i| format!("\"width-alias-number-{i}\""))
            .collect();
        let e = err(&format!("[params]\nwidth = [{}]\n", names.join(", ")));
        assert!(
            e.message.contains("would be") && e.message.contains("10240"),
            "{e}"
        );
    }

    #[test]
    fn presets_are_canonical_and_ratios_give_heights() {
        let s = Spec::from_toml(
            "[presets.hero]\nwidth = 1600\nfit = \"contain\"\nquality = 60\n[presets.icon]\nwidth = 64\nheight = 64\nfit = \"contain\"\nformat = \"png\"\nquality = 90\n",
        )
        .unwrap();
        // A free side takes the default fit; a lossless format the default quality (I1).
        let hero = s.presets()["hero"];
        assert_eq!(
            (hero.width, hero.height, hero.fit, hero.quality),
            (1600, 0, Fit::Cover, 60)
        );
        let icon = s.presets()["icon"];
        assert_eq!(
            (icon.fit, icon.quality, icon.format),
            (Fit::Contain, 75, Some(Format::Png))
        );
        let r: Ratio = "16:9".parse().unwrap();
        assert_eq!((r.height(640), r.height(16), r.height(1)), (360, 9, 1));
        assert!(r.matches(300, 169) && r.matches(1920, 1080) && !r.matches(300, 200));
        assert_eq!(s.heights(), &[] as &[u32]);
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let e = err("prefix = \"_sf\"\nwidths = [1, 2\n");
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn serde_round_trip_through_json_revalidates() {
        let s = Spec::from_toml(
            "snap = \"reject\"\nwidths = [10, 20]\n[params]\nbox = [\"d\", \"box\"]\n",
        )
        .unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: Spec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let bad = json.replace("[10,20]", "[10,10]");
        assert!(serde_json::from_str::<Spec>(&bad)
            .unwrap_err()
            .to_string()
            .contains("listed twice"));
    }

    #[test]
    fn source_format_by_extension() {
        let s = Spec::default();
        assert_eq!(s.source_format("photos/a.JPG"), Some(Format::Jpeg));
        assert_eq!(s.source_format("a.b/c.webp"), Some(Format::Webp));
        assert_eq!(s.source_format("a.pdf"), None);
        assert_eq!(s.source_format("a.jpg/readme"), None);
        assert_eq!(s.source_format("jpg"), None);
    }

    #[test]
    fn load_without_a_file_is_the_default_and_with_a_missing_file_an_error() {
        let e = Spec::load(Some(Path::new("/nonexistent/scalefront.toml"))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/scalefront.toml: cannot read"),
            "{e}"
        );
    }
}
